package io.github.hmsffi

import java.time.Duration
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import io.github.hmsffi.ffi.Bus as NativeBus
import io.github.hmsffi.ffi.BusEvent as NativeEvent
import io.github.hmsffi.ffi.BusSubscription as NativeSubscription
import io.github.hmsffi.ffi.Schema as NativeSchema

/** One event a [Subscription] received: its topic and its message. */
data class Event(val topic: String, val message: Map<String, Any?>)

/**
 * Publish/subscribe with typed topics (docs/messaging.md, "Publish/subscribe"): `Bus(schema)`
 * in one process, [Bus.connect] (`nats://host:port/PREFIX`) between processes and machines.
 * Each topic pattern is declared with a message type of the schema, and both ends check events
 * against their own declaration; failures throw the `HmsException` subclass of their code
 * (`InvalidArgument` for a bad topic or a wrong field, `NotFound` for an undeclared topic). The
 * rules are the core's. Safe to use from any thread.
 *
 * ```kotlin
 * Bus(schema).use { bus ->
 *     bus.declare("orders.>", "shop.v1.OrderPlaced")
 *     bus.subscribe("orders.*").use { sub ->
 *         bus.publish("orders.eu", mapOf("id" to "A1", "cents" to 250L))
 *         sub.next(Duration.ofSeconds(5))   // Event(topic=orders.eu, message={id=A1, cents=250})
 *     }
 * }
 * ```
 */
class Bus private constructor(val native: NativeBus, private val conv: ConverterSet) : AutoCloseable {
    /** An in-process bus over [schema]'s message types; [converters] as for [Client.connect]. */
    constructor(schema: NativeSchema, converters: List<Converter> = Converters.BUILTINS) :
        this(schema, ConverterSet(converters))

    private constructor(schema: NativeSchema, conv: ConverterSet) : this(NativeBus(schema, conv.targets), conv)

    companion object {
        /** A bus over NATS: [uri] is `nats://host:port/PREFIX` (blocking until connected). */
        fun connect(uri: String, schema: NativeSchema, converters: List<Converter> = Converters.BUILTINS): Bus {
            val conv = ConverterSet(converters)
            return Bus(NativeBus.connect(uri, schema, conv.targets), conv)
        }
    }

    /** Events on topics matching [pattern] (`*` one token, a final `>` the rest) are [messageType] messages. */
    fun declare(pattern: String, messageType: String) = native.declare(pattern, messageType)

    /** Publishes [message] (usually a `Map`, converted as a call's request) on [topic]. */
    fun publish(topic: String, message: Any?) = native.publish(topic, conv.encode(message))

    /**
     * Publishes a message's protobuf bytes (a generated class's `toByteArray()`) on [topic]:
     * [messageType] is its full name (`InvalidArgument`, reason `WRONG_MESSAGE_TYPE`, when the
     * topic is declared another type).
     */
    fun publishRaw(topic: String, messageType: String, message: ByteArray) = native.publishRaw(topic, messageType, message)

    /**
     * Subscribes to [pattern]; with [queue], shares the events with the queue group's other
     * members (each event to one). It holds at most [pending] events (default 512 Ki) and drops
     * and counts ([Subscription.dropped]) what comes while it is full.
     */
    fun subscribe(pattern: String, queue: String? = null, pending: Int? = null): Subscription {
        if (pending != null && pending < 0) throw hmsError(Code.INVALID_ARGUMENT, "pending must not be negative")
        return Subscription(native.subscribe(pattern, queue, pending?.toULong()), conv)
    }

    /**
     * Subscribes to [pattern] through the durable consumer [name] (null: an ephemeral one, a
     * replay no one resumes) of the bus's JetStream stream (a bus connected with
     * `?jetstream=STREAM`; docs/messaging.md, "Durable events"): created on first use at
     * [deliver], resumed afterwards by this process or another; subscriptions of one name share
     * its events, each to one. [ackWait] (default 30 s): how long an event may stay unanswered
     * before it comes again; [maxDeliver] (default no limit); [batch] (default 64): events
     * fetched ahead of `next`. `FailedPrecondition` (reason `NO_JETSTREAM`) on a bus without
     * JetStream, `InvalidArgument` for a bad pattern.
     */
    fun subscribeDurable(
        pattern: String,
        name: String? = null,
        deliver: Deliver = Deliver.All,
        ackWait: Duration? = null,
        maxDeliver: Int? = null,
        batch: Int? = null,
    ): DurableSubscription {
        if ((maxDeliver ?: 1) < 1 || (batch ?: 1) < 1) {
            throw hmsError(Code.INVALID_ARGUMENT, "maxDeliver and batch must be positive")
        }
        val sub = native.subscribeDurable(
            pattern, name, deliver.native(), ackWait?.millis(), maxDeliver?.toUInt(), batch?.toUInt(),
        )
        return DurableSubscription(sub, conv)
    }

    /** Frees the native bus; its subscriptions go on until they are closed. */
    override fun close() = native.close()
}

/**
 * The events of a topic pattern: [next] (blocking, with a timeout), [nextAsync] (suspending),
 * [flow] (a `Flow`), or `for (event in subscription)` (blocking). An event that fails the
 * subscriber's check (another type than the topic's declared one: `InvalidArgument`, reason
 * `WRONG_MESSAGE_TYPE`) throws its `HmsException` from the read that meets it; the
 * subscription goes on, so the next read gets the next event (`flow().retry { it is
 * HmsException }` keeps collecting). [close] unsubscribes and ends every read, from any thread.
 */
class Subscription internal constructor(val native: NativeSubscription, private val conv: ConverterSet) :
    Iterable<Event>, AutoCloseable {
    /** The next event, or null when [timeout] passes (null: no timeout) or once closed ([isClosed] says which). */
    fun next(timeout: Duration? = null): Event? =
        native.next(timeout?.toMillis()?.coerceAtLeast(0)?.toULong())?.let(::event)

    /** The next event without blocking the thread; null once closed. Cancelling the coroutine loses no event. */
    suspend fun nextAsync(): Event? = native.nextAsync()?.let(::event)

    /** The events as a cold [Flow] over this subscription, ending when it is closed. */
    fun flow(): Flow<Event> = flow {
        while (true) emit(nextAsync() ?: break)
    }

    /** Blocking iteration until the subscription is closed. */
    override fun iterator(): Iterator<Event> = untilClosed { next() }

    /** Events dropped because the subscription's queue was full (a slow consumer). */
    val dropped: Long get() = native.dropped().toLong()

    /** Whether [close] was called. */
    val isClosed: Boolean get() = native.isClosed()

    /** Unsubscribes: a read waiting on another thread returns null at once; then frees the native object. */
    override fun close() {
        native.unsubscribe()
        native.close()
    }

    private fun event(e: NativeEvent): Event = Event(e.topic, decoded(e.message, conv))
}

/** Blocking iteration over a subscription's reads, [read] giving null once it is closed. */
internal fun <T : Any> untilClosed(read: () -> T?): Iterator<T> = object : Iterator<T> {
    private var ahead: T? = null

    override fun hasNext(): Boolean {
        ahead = ahead ?: read()
        return ahead != null
    }

    override fun next(): T {
        if (!hasNext()) throw NoSuchElementException("the subscription is closed")
        return ahead!!.also { ahead = null }
    }
}
