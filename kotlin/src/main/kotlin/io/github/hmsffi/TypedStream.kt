package io.github.hmsffi

import io.github.hmsffi.ffi.MetadataEntry

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
