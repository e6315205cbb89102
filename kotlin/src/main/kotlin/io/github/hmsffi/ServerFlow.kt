package io.github.hmsffi

import io.github.hmsffi.ffi.CallContext
import io.github.hmsffi.ffi.Code
import io.github.hmsffi.ffi.ServerStream
import io.github.hmsffi.ffi.StreamHandler
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking

/**
 * Suspending streaming handlers: the requests as a cold [Flow] (each read suspends until the next
 * request comes), the replies as a [Flow] the server collects, each reply sent as the caller
 * reads (the collecting coroutine suspends while the caller's window is full). Used by
 * [Server.serverStreamFlow], [Server.clientStreamFlow] and [Server.bidiStreamFlow].
 *
 * The handler's coroutine runs on the thread hms-ffi gives the call (as a blocking handler's body
 * does), in a `runBlocking` event loop of its own; it may launch children, `delay` and call
 * other suspending code. Calls it makes, also from `withContext(Dispatchers.IO)` or a coroutine
 * it launches elsewhere, inherit the call's deadline, cancellation and trace ([CallScope]). When
 * the call is cancelled (the caller cancels or goes away, the deadline passes, the server stops)
 * the coroutine is cancelled at once, wherever it suspends; what it throws ends the call with
 * its error after the replies sent before; the stream rules (flow control, the one request of a
 * server-streaming call, no send after the end) are the core's, as for every binding.
 */
internal object ServerFlow {
    /**
     * A [StreamHandler] running [body] in a coroutine for the whole call, with the call's
     * [CallScope] in its context: calls made in it or in coroutines it starts, on any
     * dispatcher, inherit the call's deadline, cancellation and trace.
     */
    fun handler(body: suspend (ServerStream, CallContext) -> Unit): StreamHandler =
        streamHandler { stream, ctx -> runBlocking(ctx.scope()) { runCall(stream, ctx, body) } }

    /**
     * Runs [body], cancelled when the call is: a watcher waits for the call's cancellation
     * (`CallContext.cancelled`, no polling) and cancels the body's coroutine.
     */
    private suspend fun runCall(
        stream: ServerStream,
        ctx: CallContext,
        body: suspend (ServerStream, CallContext) -> Unit,
    ) = kotlinx.coroutines.coroutineScope {
        val work = async { body(stream, ctx) }
        val watch = launch {
            ctx.cancelled()
            work.cancel(CancellationException("the call was cancelled"))
        }
        try {
            work.await()
        } catch (e: CancellationException) {
            // The call ended under the handler: CANCELLED, not the coroutine's own exception
            // (an INTERNAL error with a stack the caller has no use for).
            if (ctx.isCancelled()) throw hmsError(Code.CANCELLED, "the call was cancelled") else throw e
        } finally {
            watch.cancel()
        }
    }

    /** The requests of a streaming call as a cold [Flow]; collect it once. */
    fun requests(stream: ServerStream, conv: ConverterSet): Flow<Map<String, Any?>> = flow {
        while (true) emit(decoded(stream.recvAsync() ?: break, conv))
    }

    /** The one request of a server-streaming call (`INVALID_ARGUMENT` when none came). */
    suspend fun first(stream: ServerStream, conv: ConverterSet): Map<String, Any?> =
        decoded(stream.recvFirstAsync(), conv)

    /** Sends each reply of [replies] as the caller reads them. */
    suspend fun sendAll(stream: ServerStream, replies: Flow<Any?>, conv: ConverterSet) =
        replies.collect { stream.sendAsync(conv.encode(it, reply = true)) }

    /** Sends the one reply of a client-streaming call. */
    suspend fun sendOne(stream: ServerStream, reply: Any?, conv: ConverterSet) =
        stream.sendAsync(conv.encode(reply, reply = true))
}

/**
 * Serves the server-streaming [method] with a suspending [handler]: it gets the one request and
 * returns its replies as a [Flow] (`flow { emit(…) }`), collected as the caller reads them. A
 * throw ends the stream with its error, after the replies sent before it.
 */
fun Server.serverStreamFlow(method: String, handler: suspend (Map<String, Any?>, CallContext) -> Flow<Any?>) =
    native.handleStream(
        method,
        ServerFlow.handler { s, ctx -> ServerFlow.sendAll(s, handler(ServerFlow.first(s, conv), ctx), conv) },
    )

/**
 * Serves the client-streaming [method] with a suspending [handler]: it collects the requests (a
 * [Flow], read as it is collected) and returns the one reply.
 */
fun Server.clientStreamFlow(method: String, handler: suspend (Flow<Map<String, Any?>>, CallContext) -> Any?) =
    native.handleStream(
        method,
        ServerFlow.handler { s, ctx -> ServerFlow.sendOne(s, handler(ServerFlow.requests(s, conv), ctx), conv) },
    )

/**
 * Serves the bidirectional-streaming [method] with a suspending [handler]: requests in as a
 * [Flow], replies out as a [Flow] (`requests.map { … }`, or `flow { … }` that collects the
 * requests and emits as it goes: requests and replies interleave).
 */
fun Server.bidiStreamFlow(method: String, handler: suspend (Flow<Map<String, Any?>>, CallContext) -> Flow<Any?>) =
    native.handleStream(
        method,
        ServerFlow.handler { s, ctx -> ServerFlow.sendAll(s, handler(ServerFlow.requests(s, conv), ctx), conv) },
    )
