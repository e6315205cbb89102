package io.github.hmsffi

import io.github.hmsffi.ffi.BatchCall
import io.github.hmsffi.ffi.BatchResult
import io.github.hmsffi.ffi.CallOptions
import io.github.hmsffi.ffi.CallParent
import io.github.hmsffi.ffi.CallReply
import io.github.hmsffi.ffi.CancelToken
import io.github.hmsffi.ffi.EndpointStatus
import io.github.hmsffi.ffi.MetadataEntry
import io.github.hmsffi.ffi.SchemaVersion
import io.github.hmsffi.ffi.connectAsync
import java.time.Duration
import kotlinx.coroutines.flow.Flow
import io.github.hmsffi.ffi.Client as NativeClient
import io.github.hmsffi.ffi.Schema as NativeSchema

/**
 * A connection to an hms-ffi server (`inproc://`, `unix://`, `grpc://`). Calls may run
 * concurrently from any thread; failures throw the [io.github.hmsffi.ffi.HmsException] subclass
 * of their gRPC code.
 *
 * ```kotlin
 * Client.connect("unix:///tmp/greeter.sock").use { client ->
 *     val reply = client.call("demo.v1.Greeter/SayHello", mapOf("name" to "Ada"))
 * }
 * ```
 */
class Client private constructor(val native: NativeClient, private val conv: ConverterSet) : AutoCloseable {
    companion object {
        /**
         * Connects to [uri]; the schema is discovered from the server. [converters]: the
         * custom domain types of requests and replies (docs/converters.md); the built-ins
         * ([Converters.BUILTINS]: `BigDecimal`, [Money], `LocalDate`, `UUID`) by default,
         * `emptyList()` for none.
         */
        fun connect(uri: String, converters: List<Converter> = Converters.BUILTINS): Client =
            connect(listOf(uri), converters = converters)

        /** Connects to [uri] with a given schema (stock gRPC servers without discovery). */
        fun connect(uri: String, schema: NativeSchema, converters: List<Converter> = Converters.BUILTINS): Client =
            connect(listOf(uri), schema = schema, converters = converters)

        /**
         * Connects to [uris], one or several endpoints of one service. [resilience] is the
         * core's options as JSON (docs/resilience.md): reconnect backoff, retry and hedging
         * policies (a gRPC service config), keepalive, load balancing; bad options throw
         * `HmsException.InvalidArgument`. [schema]: as in [connect] (null: discover it).
         * [expectSchema]: the schema the caller was built against; the methods the server's
         * schema breaks are listed by [incompatibleMethods], and calling one throws
         * `HmsException.FailedPrecondition` (reason `INCOMPATIBLE_SCHEMA`) before anything is
         * sent (docs/evolution.md, "Versions at connect"). [converters]: as for the single URI.
         * [revision] (a label or fingerprint the server announces) chooses a schema revision it
         * serves beside its main one: every call then carries the `hms-schema-revision`
         * metadata entry.
         */
        fun connect(
            uris: List<String>,
            resilience: String? = null,
            schema: NativeSchema? = null,
            expectSchema: NativeSchema? = null,
            converters: List<Converter> = Converters.BUILTINS,
            revision: String? = null,
        ): Client {
            val conv = ConverterSet(converters)
            return Client(NativeClient.connectAll(uris, schema, resilience, expectSchema, conv.targets, revision), conv)
        }

        /** [connect] without blocking the coroutine's thread. */
        suspend fun connectSuspending(uri: String, converters: List<Converter> = Converters.BUILTINS): Client {
            val conv = ConverterSet(converters)
            return Client(connectAsync(uri, conv.targets), conv)
        }
    }

    /** The methods the server offers, `package.Service/Method`. */
    val methods: List<String> get() = native.methods()

    /**
     * Calls a unary method with a value (usually a `Map`); returns the reply as a `Map`. A call
     * made in a handler inherits that call's deadline (the earlier one wins), cancellation and
     * trace, also from a coroutine that moved to another dispatcher ([CallScope]); [detach]
     * keeps the trace and drops the deadline and cancellation. [waitForReady] `true` waits for a connection up to [timeout]
     * instead of failing `HmsException.Unavailable` at once while there is none (null: the
     * client's `waitForReady`).
     */
    fun call(
        method: String,
        request: Any?,
        timeout: Duration? = null,
        metadata: Map<String, String> = emptyMap(),
        detach: Boolean = false,
        waitForReady: Boolean? = null,
    ): Map<String, Any?> = reply(
        native.call(method, conv.encode(request), options(timeout, metadata, null, detach, waitForReady)),
    )

    /**
     * [call] as a suspending function: the thread is free while waiting; cancelling cancels the
     * call. It inherits from the [CallScope] in the coroutine's context.
     */
    suspend fun callAsync(
        method: String,
        request: Any?,
        timeout: Duration? = null,
        metadata: Map<String, String> = emptyMap(),
        detach: Boolean = false,
        waitForReady: Boolean? = null,
    ): Map<String, Any?> {
        val opts = options(timeout, metadata, null, detach, waitForReady, CallScope.inCoroutine())
        return reply(native.callAsync(method, conv.encode(request), opts))
    }

    /**
     * [call], returning the reply with the response headers and trailers the handler set (an
     * error's are in `details.headers`/`details.trailers`). [cancel], cancelled from any thread,
     * ends the call with `HmsException.Cancelled`.
     */
    fun callWithMetadata(
        method: String,
        request: Any?,
        timeout: Duration? = null,
        metadata: Map<String, String> = emptyMap(),
        cancel: CancelToken? = null,
        waitForReady: Boolean? = null,
    ): Reply = Reply(
        native.callWithMetadata(
            method, conv.encode(request), options(timeout, metadata, cancel, waitForReady = waitForReady),
        ),
        conv,
    )

    /** [callWithMetadata] as a suspending function; cancelling the coroutine cancels the call. */
    suspend fun callWithMetadataAsync(
        method: String,
        request: Any?,
        timeout: Duration? = null,
        metadata: Map<String, String> = emptyMap(),
        cancel: CancelToken? = null,
        waitForReady: Boolean? = null,
    ): Reply = Reply(
        native.callWithMetadataAsync(
            method,
            conv.encode(request),
            options(timeout, metadata, cancel, waitForReady = waitForReady, parent = CallScope.inCoroutine()),
        ),
        conv,
    )

    /**
     * Calls every `method to request` of [calls] as one batch and returns one [Result] per call,
     * in order: the reply as a `Map`, or a failure holding the call's
     * [io.github.hmsffi.ffi.HmsException] subclass (not thrown). [timeout] is one deadline for
     * the whole batch; a failed call does not stop the others; [metadata] and [waitForReady]
     * apply to every call; [cancel] ends every call not finished with `Cancelled`. Throws
     * `HmsException.InvalidArgument` only for a batch of more than 100 000 calls, or a request
     * whose converter throws (before anything is sent).
     */
    fun batch(
        calls: List<Pair<String, Any?>>,
        timeout: Duration? = null,
        metadata: Map<String, String> = emptyMap(),
        cancel: CancelToken? = null,
        waitForReady: Boolean? = null,
    ): List<Result<Map<String, Any?>>> =
        results(native.batch(batchCalls(calls), options(timeout, metadata, cancel, waitForReady = waitForReady)))

    /** [batch] as a suspending function; cancelling the coroutine cancels every call not finished. */
    suspend fun batchAsync(
        calls: List<Pair<String, Any?>>,
        timeout: Duration? = null,
        metadata: Map<String, String> = emptyMap(),
        waitForReady: Boolean? = null,
    ): List<Result<Map<String, Any?>>> =
        results(
            native.batchAsync(
                batchCalls(calls),
                options(timeout, metadata, waitForReady = waitForReady, parent = CallScope.inCoroutine()),
            ),
        )

    /** Calls a unary method with the request's protobuf bytes; returns the reply's bytes. */
    fun callRaw(method: String, request: ByteArray, timeout: Duration? = null): ByteArray =
        native.callRaw(method, request, options(timeout, emptyMap()))

    /** [callRaw] as a suspending function. */
    suspend fun callRawAsync(method: String, request: ByteArray, timeout: Duration? = null): ByteArray =
        native.callRawAsync(method, request, options(timeout, emptyMap(), parent = CallScope.inCoroutine()))

    /**
     * Opens a streaming call; iterate the returned [Stream] for the replies (blocking). [requests]
     * is the one request of a server-streaming call, or an [Iterable]/[Sequence] of requests sent
     * from a thread of their own as the server reads them; without it, [Stream.send] and
     * [Stream.closeSend]. [timeout] bounds the whole stream; [cancel] cancels it from any thread;
     * [waitForReady] as for [call].
     */
    fun stream(
        method: String,
        requests: Any? = null,
        timeout: Duration? = null,
        metadata: Map<String, String> = emptyMap(),
        cancel: CancelToken? = null,
        waitForReady: Boolean? = null,
    ): Stream =
        Stream(native.openStream(method, options(timeout, metadata, cancel, waitForReady = waitForReady)), requests, conv)

    /**
     * A streaming call as a cold [Flow] of replies (suspending): collecting it opens the call
     * and sends [requests] (for a server-streaming call, a flow of its one request) as the server
     * reads them; stopping the collection early, or cancelling its coroutine, cancels the call.
     */
    fun streamFlow(
        method: String,
        requests: Flow<Any?>? = null,
        timeout: Duration? = null,
        metadata: Map<String, String> = emptyMap(),
        waitForReady: Boolean? = null,
    ): Flow<Map<String, Any?>> = replyFlow(
        {
            val opts = options(timeout, metadata, waitForReady = waitForReady, parent = CallScope.inCoroutine())
            native.openStreamAsync(method, opts)
        },
        requests,
        conv,
    )

    /**
     * The connection's state: `idle` (lost; the next call reconnects), `connecting`, `ready`,
     * `transient_failure` (waiting to retry) or `shutdown`; with several endpoints, the best.
     */
    val state: String get() = native.state()

    /**
     * Where calls go now, while connected: for `auto://NAME` the transport it picked
     * (`inproc://NAME`, `shm://NAME`, a `unix://` socket or a network URI), else the endpoint
     * itself; null while no connection is up (the next call reconnects, and `auto://` resolves
     * the name again).
     */
    val transport: String? get() = native.transport()

    /**
     * The schema version the server announced in discovery (its fingerprint, and the registry
     * subject and version when it knows them); null when the schema was given, not discovered.
     */
    val schemaVersion: SchemaVersion? get() = native.schemaVersion()

    /**
     * The methods of `expectSchema` that the server's schema breaks, each with its findings
     * (`path:line:column:RULE_ID message`); calls to them throw `HmsException.FailedPrecondition`.
     */
    fun incompatibleMethods(): Map<String, List<String>> = native.incompatibleMethods()

    /** The fingerprint of the schema revision this client speaks; `null` for the main schema. */
    val revision: String? get() = native.revision()

    /** The revisions the server announced beside its main schema, label → fingerprint. */
    val revisions: Map<String, String> get() = native.revisions()

    /** Each endpoint given to [connect], in order, with its state and whether it is ejected. */
    val endpoints: List<EndpointStatus> get() = native.endpoints()

    /** Closes the connection: calls in flight and later ones fail with `HmsException.Cancelled`. */
    fun disconnect() = native.disconnect()

    /** Closes the connection and frees the native client. */
    override fun close() {
        native.disconnect()
        native.destroy()
    }

    private fun reply(text: String): Map<String, Any?> = decoded(text, conv)

    private fun batchCalls(calls: List<Pair<String, Any?>>): List<BatchCall> =
        calls.map { (method, request) -> BatchCall(method, conv.encode(request)) }

    private fun results(entries: List<BatchResult>): List<Result<Map<String, Any?>>> = entries.map {
        when (it) {
            is BatchResult.Reply -> runCatching { reply(it.reply.message) }
            is BatchResult.Failed -> Result.failure(it.error)
        }
    }
}

/** A reply with its response headers and trailers (keys lower-case; a key may repeat). */
class Reply internal constructor(native: CallReply, conv: ConverterSet) {
    val message: Map<String, Any?> = decoded(native.message, conv)
    val headers: List<MetadataEntry> = native.headers
    val trailers: List<MetadataEntry> = native.trailers

    /** The first response header [key], or null. */
    fun header(key: String): String? = headers.firstValue(key)

    /** The first response trailer [key], or null. */
    fun trailer(key: String): String? = trailers.firstValue(key)
}

/** The first value of [key] (case-insensitive), or null. */
fun List<MetadataEntry>.firstValue(key: String): String? =
    firstOrNull { it.key.equals(key, ignoreCase = true) }?.value

/** A call's options; [parent] by default: the [CallScope] of the coroutine running on this thread. */
internal fun options(
    timeout: Duration?,
    metadata: Map<String, String>,
    cancel: CancelToken? = null,
    detach: Boolean = false,
    waitForReady: Boolean? = null,
    parent: CallParent? = CallScope.onThread(),
) = CallOptions(
    timeoutMs = timeout?.toMillis()?.toULong(),
    metadata = metadata.map { (k, v) -> MetadataEntry(k, v) },
    cancel = cancel,
    detach = detach,
    waitForReady = waitForReady,
    parent = parent,
)
