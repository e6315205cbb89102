package io.github.hmsffi

import java.time.Duration
import java.time.Instant
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import io.github.hmsffi.ffi.Deliver as NativeDeliver
import io.github.hmsffi.ffi.Delivery as NativeDelivery
import io.github.hmsffi.ffi.DurableSubscription as NativeDurableSubscription

/** Where a new durable consumer starts ([Bus.subscribeDurable]); an existing one resumes where it was. */
sealed class Deliver {
    /** Every event the stream holds (the default). */
    data object All : Deliver()

    /** Only events published after the consumer is created. */
    data object New : Deliver()

    /** The last event the stream holds, then the new ones. */
    data object Last : Deliver()

    /** From the stream sequence [sequence] on ([Delivery.sequence]): a replay. */
    data class FromSequence(val sequence: Long) : Deliver()

    /** From the first event stored at or after [time]: a replay. */
    data class FromTime(val time: Instant) : Deliver()

    internal fun native(): NativeDeliver = when (this) {
        All -> NativeDeliver.All
        New -> NativeDeliver.New
        Last -> NativeDeliver.Last
        is FromSequence -> {
            if (sequence < 0) throw hmsError(Code.INVALID_ARGUMENT, "a stream sequence is not negative: $sequence")
            NativeDeliver.FromSequence(sequence.toULong())
        }
        is FromTime -> NativeDeliver.FromTime(time)
    }
}

/**
 * One delivery of an event by a [DurableSubscription], to be answered once: [ack] when
 * handled, [nak] to have it again, [term] to never have it again, [inProgress] to restart its
 * ack wait; one left unanswered comes again after the ack wait. Each answer returns once the
 * server has confirmed it (blocking; the `*Async` variants suspend instead).
 */
class Delivery internal constructor(val native: NativeDelivery, conv: ConverterSet) {
    /** The topic it was published on. */
    val topic: String = native.topic()

    /**
     * The message, decoded through the subscriber's declared type of the topic and the bus's
     * converters (a converter that throws makes `next` throw, as for an ordinary event).
     */
    val message: Map<String, Any?> = decoded(native.message(), conv)

    /** Its sequence in the stream (replay from it with [Deliver.FromSequence]). */
    val sequence: Long = native.sequence().toLong()

    /** How many times it has been delivered, this time included. */
    val delivered: Int = native.delivered().toInt()

    /** Done: it is not delivered again, even when the process stops right after. */
    fun ack() = native.ack()

    /** Not done: delivered again, after [delay] when given. */
    fun nak(delay: Duration? = null) = native.nak(delay?.millis())

    /** Never delivered again, though it was not handled. */
    fun term() = native.term()

    /** Still working on it: its ack wait starts again. */
    fun inProgress() = native.inProgress()

    /** [ack] without blocking the thread. */
    suspend fun ackAsync() = native.ackAsync()

    /** [nak] without blocking the thread. */
    suspend fun nakAsync(delay: Duration? = null) = native.nakAsync(delay?.millis())

    /** [term] without blocking the thread. */
    suspend fun termAsync() = native.termAsync()

    /** [inProgress] without blocking the thread. */
    suspend fun inProgressAsync() = native.inProgressAsync()

    override fun toString() = "Delivery(topic=$topic, sequence=$sequence, delivered=$delivered, message=$message)"
}

internal fun Duration.millis(): ULong = toMillis().coerceAtLeast(0).toULong()

/**
 * The deliveries of a durable consumer: [next] (blocking, with a timeout), [nextAsync]
 * (suspending), [flow], or `for (delivery in subscription)` (blocking). An event that fails the
 * subscriber's check throws its `HmsException` from the read that meets it (it was terminated:
 * never delivered again); the subscription goes on. [close] stops reading and ends every read,
 * from any thread; deliveries not answered come again after their ack wait.
 */
class DurableSubscription internal constructor(
    val native: NativeDurableSubscription,
    private val conv: ConverterSet,
) : Iterable<Delivery>, AutoCloseable {
    /** The next delivery, or null when [timeout] passes (null: no timeout) or once closed ([isClosed] says which). */
    fun next(timeout: Duration? = null): Delivery? = native.next(timeout?.millis())?.let { Delivery(it, conv) }

    /** The next delivery without blocking the thread; null once closed. */
    suspend fun nextAsync(): Delivery? = native.nextAsync()?.let { Delivery(it, conv) }

    /** The deliveries as a cold [Flow] over this subscription, ending when it is closed. */
    fun flow(): Flow<Delivery> = flow {
        while (true) emit(nextAsync() ?: break)
    }

    /** Blocking iteration until the subscription is closed. */
    override fun iterator(): Iterator<Delivery> = untilClosed { next() }

    /** Whether [close] was called. */
    val isClosed: Boolean get() = native.isClosed()

    /** Stops reading: a read waiting on another thread returns null at once; then frees the native object. */
    override fun close() {
        native.unsubscribe()
        native.close()
    }
}
