package io.github.hmsffi

import io.github.hmsffi.ffi.CallContext
import io.github.hmsffi.ffi.HmsException
import io.github.hmsffi.ffi.MetadataEntry
import io.github.hmsffi.ffi.ServerStream
import io.github.hmsffi.ffi.StreamHandler
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.launch
import io.github.hmsffi.ffi.ClientStream as NativeStream

/**
 * A streaming call ([Client.stream]): an [Iterator] over the replies, read as it is iterated
 * (blocking). Requests given to [Client.stream] are sent from a thread of their own while the
 * replies are read; without them, [send] and [closeSend] do it by hand. [close] (or leaving a
 * `use` block early) cancels a call that has not ended. The stream rules — flow control,
 * deadlines, cancellation, one reply for a client-streaming call — are the core's.
 */
class Stream internal constructor(val native: NativeStream, requests: Any?, private val conv: ConverterSet) :
    Iterator<Map<String, Any?>>, AutoCloseable {
    @Volatile private var failure: Throwable? = null
    private var pending: Map<String, Any?>? = null
    private var done = false

    init {
        if (requests != null) feed(requests)
    }

    /** `server_streaming`, `client_streaming` or `bidi_streaming`. */
    val kind: String get() = native.kind()

    /** Sends one request; blocks while the server's window is full. */
    fun send(request: Any?) = native.send(conv.encode(request))

    /** Half-closes: no more requests. */
    fun closeSend() = native.closeSend()

    /** Cancels the call: the handler sees it; the next read throws `HmsException.Cancelled`. */
    fun cancel() = native.cancel()

    /** The one reply of a client-streaming call, read to the end (`Internal` when the server sent none or more). */
    fun result(): Map<String, Any?> {
        done = true
        return try {
            decoded(native.recvOnly(), conv)
        } catch (e: HmsException) {
            throw failure ?: e
        }
    }

    /** The response headers, once they have arrived. */
    val headers: List<MetadataEntry>? get() = native.headers()

    /** The response trailers, complete once the replies have ended. */
    val trailers: List<MetadataEntry> get() = native.trailers()

    override fun hasNext(): Boolean {
        if (pending != null) return true
        if (done) return false
        val text = try {
            native.recv()
        } catch (e: HmsException) {
            done = true
            throw failure ?: e
        }
        if (text == null) {
            done = true
            failure?.let { throw it }
            return false
        }
        pending = decoded(text, conv)
        return true
    }

    override fun next(): Map<String, Any?> {
        if (!hasNext()) throw NoSuchElementException("the stream has ended")
        return pending!!.also { pending = null }
    }

    override fun close() {
        if (!done) native.cancel()
    }

    private fun feed(requests: Any?) {
        val all: Iterable<Any?> = when {
            requests is Iterable<*> -> requests
            requests is Sequence<*> -> requests.asIterable()
            kind == "server_streaming" -> listOf(requests)
            else -> throw IllegalArgumentException("a $kind call takes an Iterable or Sequence of requests")
        }
        Thread {
            try {
                for (r in all) native.send(conv.encode(r))
                native.closeSend()
            } catch (t: Throwable) {
                // What broke the requests is the call's outcome, not the reader's CANCELLED.
                failure = t
                native.cancel()
            }
        }.apply { isDaemon = true; name = "hms-ffi-stream-feeder" }.start()
    }
}

/**
 * A [Stream] with typed requests and replies, for the clients `hms-ffi gen --lang kotlin`
 * generates (docs/codegen.md): [encode] turns a request into the value the binding sends and
 * [decode] a reply the binding gives into its type. Everything else is the [Stream]'s: iterate
 * it for the replies (blocking), [send] and [closeSend] by hand, [close] (or leaving a `use`
 * block early) cancels a call that has not ended.
 */
class TypedStream<Req, Rep>(
    val stream: Stream,
    private val encode: (Req) -> Any?,
    private val decode: (Map<String, Any?>) -> Rep,
) : Iterator<Rep>, AutoCloseable {
    /** Sends one request; blocks while the server's window is full. */
    fun send(request: Req) = stream.send(encode(request))

    /** Half-closes: no more requests. */
    fun closeSend() = stream.closeSend()

    /** Cancels the call from any thread. */
    fun cancel() = stream.cancel()

    /** The one reply of a client-streaming call ([Stream.result]). */
    fun result(): Rep = decode(stream.result())

    /** The response headers, once they have arrived. */
    val headers: List<MetadataEntry>? get() = stream.headers

    /** The response trailers, complete once the replies have ended. */
    val trailers: List<MetadataEntry> get() = stream.trailers

    override fun hasNext(): Boolean = stream.hasNext()

    override fun next(): Rep = decode(stream.next())

    override fun close() = stream.close()
}

/** A message's typed JSON as a `Map`, its converted values made native by [conv]. */
@Suppress("UNCHECKED_CAST")
internal fun decoded(text: String, conv: ConverterSet): Map<String, Any?> = conv.decode(text) as Map<String, Any?>

/**
 * A cold [Flow] of a streaming call's replies: collecting it opens the call, sends [requests]
 * (if any) from a coroutine of its own, emits each reply, and cancels the call when collection
 * stops early; a failed request is the flow's error.
 */
internal fun replyFlow(
    open: suspend () -> NativeStream,
    requests: Flow<Any?>?,
    conv: ConverterSet,
): Flow<Map<String, Any?>> = flow {
    val stream = open()
    coroutineScope {
        var failure: Throwable? = null
        val feeder = requests?.let {
            launch {
                try {
                    it.collect { r -> stream.sendAsync(conv.encode(r)) }
                    stream.closeSend()
                } catch (e: CancellationException) {
                    throw e
                } catch (t: Throwable) {
                    failure = t
                    stream.cancel()
                }
            }
        }
        try {
            while (true) {
                val text = try {
                    stream.recvAsync()
                } catch (e: HmsException) {
                    feeder?.join()
                    throw failure ?: e
                } ?: break
                emit(decoded(text, conv))
            }
            feeder?.join()
            failure?.let { throw it }
        } finally {
            feeder?.cancel()
            stream.cancel()
        }
    }
}

/** The requests of a streaming call as a handler reads them: each read waits for the next. */
private class Requests(private val stream: ServerStream, private val conv: ConverterSet) : Iterator<Map<String, Any?>> {
    private var pending: Map<String, Any?>? = null
    private var done = false

    override fun hasNext(): Boolean {
        if (pending != null) return true
        if (done) return false
        val text = stream.recv()
        if (text == null) done = true else pending = decoded(text, conv)
        return !done
    }

    override fun next(): Map<String, Any?> {
        if (!hasNext()) throw NoSuchElementException("the client has sent every request")
        return pending!!.also { pending = null }
    }
}

/** A Kotlin streaming handler: `body` reads and sends on the native stream. */
internal fun streamHandler(body: (ServerStream, CallContext) -> Unit): StreamHandler = object : StreamHandler {
    override fun handle(stream: ServerStream, ctx: CallContext) = guarded(ctx) { body(stream, ctx) }
}

/** Sends each reply of [replies] (a [Sequence] or [Iterable]), converted by [conv]. */
internal fun sendAll(stream: ServerStream, replies: Sequence<Any?>, conv: ConverterSet) {
    for (reply in replies) stream.send(conv.encode(reply, reply = true))
}

internal fun requestsOf(stream: ServerStream, conv: ConverterSet): Iterator<Map<String, Any?>> = Requests(stream, conv)

internal fun firstOf(stream: ServerStream, conv: ConverterSet): Map<String, Any?> = decoded(stream.recvFirst(), conv)
