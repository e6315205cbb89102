package io.github.hmsffi

import io.github.hmsffi.ffi.CallContext
import io.github.hmsffi.ffi.Handler
import io.github.hmsffi.ffi.RawHandler
import io.github.hmsffi.ffi.SchemaVersion
import java.time.Duration
import io.github.hmsffi.ffi.Schema as NativeSchema
import io.github.hmsffi.ffi.Server as NativeServer

/**
 * A server for a schema's methods, with Kotlin handlers. Handlers run on hms-ffi's threads (any
 * thread, several at once) and may block.
 *
 * ```kotlin
 * val server = Server(Schema.load(listOf("greeter.proto"), listOf()))
 * server.method("demo.v1.Greeter/SayHello") { req, _ -> mapOf("message" to "Hello ${req["name"]}") }
 * server.listen("unix:///tmp/greeter.sock")
 * ```
 *
 * [security] is the path of a security file (policy, bearer tokens, limits, audit; see
 * docs/security.md); a bad file throws `HmsException.InvalidArgument`. [serviceConfig] is the
 * JSON text of a gRPC service config announced in discovery: clients that discover the schema
 * and were given no config of their own call by it (docs/resilience.md); a bad one throws
 * `HmsException.InvalidArgument`. Handlers read the caller with `ctx.identity()` and, over unix,
 * `ctx.peerCredentials()`. [converters]: the custom domain types of requests and replies
 * (docs/converters.md); the built-ins ([Converters.BUILTINS]) by default, `emptyList()` for none.
 */
class Server private constructor(
    /** The generated server this wraps. */
    val native: NativeServer,
    /** False for a [revision] handle, whose [close] leaves the server running. */
    private val owner: Boolean,
    /** The handlers' converters (requests made native, replies message-shaped). */
    internal val conv: ConverterSet,
) : AutoCloseable {
    constructor(
        schema: NativeSchema,
        security: String? = null,
        serviceConfig: String? = null,
        converters: List<Converter> = Converters.BUILTINS,
    ) : this(schema, security, serviceConfig, ConverterSet(converters))

    private constructor(schema: NativeSchema, security: String?, serviceConfig: String?, conv: ConverterSet) :
        this(NativeServer(schema, "kotlin", security, serviceConfig, conv.targets), true, conv)

    private companion object {
        init {
            // Handlers run on hms-ffi's own threads. JNA attaches such a thread to the JVM for
            // each callback and detaches it after, unless told to keep it attached: attaching
            // costs more than the rest of a local call, and the threads are few and long-lived.
            for (callback in listOf<com.sun.jna.Callback>(
                io.github.hmsffi.ffi.uniffiCallbackInterfaceHandler.`handle`,
                io.github.hmsffi.ffi.uniffiCallbackInterfaceRawHandler.`handle`,
                io.github.hmsffi.ffi.uniffiCallbackInterfaceStreamHandler.`handle`,
            )) {
                com.sun.jna.Native.setCallbackThreadInitializer(
                    callback,
                    com.sun.jna.CallbackThreadInitializer(true, false, "hms-ffi-handler"),
                )
            }
        }
    }

    /**
     * Serves the unary [method] with [handler], which gets the request as a `Map` and returns the
     * reply (a `Map`). Throw [hmsError] to fail with a code; any other exception reaches the caller
     * as `INTERNAL` with its class, message and stack.
     */
    fun method(method: String, handler: (Map<String, Any?>, CallContext) -> Any?) {
        native.handle(method, object : Handler {
            override fun handle(request: String, ctx: CallContext): String = guarded(ctx) {
                conv.encode(handler(decoded(request, conv), ctx), reply = true)
            }
        })
    }

    /** Serves the unary [method] over protobuf bytes (for generated message classes). */
    fun rawMethod(method: String, handler: (ByteArray, CallContext) -> ByteArray) {
        native.handleRaw(method, object : RawHandler {
            override fun handle(request: ByteArray, ctx: CallContext): ByteArray =
                guarded(ctx) { handler(request, ctx) }
        })
    }

    /**
     * Serves the server-streaming [method]: [handler] gets the one request and returns its
     * replies as a [Sequence] (`sequence { yield(…) }`), each sent as the caller reads it (the
     * thread waits while the caller's window is full). A throw ends the stream with its error,
     * after the replies sent before it.
     */
    fun serverStream(method: String, handler: (Map<String, Any?>, CallContext) -> Sequence<Any?>) =
        native.handleStream(method, streamHandler { s, ctx -> sendAll(s, handler(firstOf(s, conv), ctx), conv) })

    /** Serves the client-streaming [method]: [handler] iterates the requests (each read waits for the next) and returns the one reply. */
    fun clientStream(method: String, handler: (Iterator<Map<String, Any?>>, CallContext) -> Any?) =
        native.handleStream(method, streamHandler { s, ctx -> s.send(conv.encode(handler(requestsOf(s, conv), ctx), reply = true)) })

    /** Serves the bidirectional-streaming [method]: requests in as an [Iterator], replies out as a [Sequence]. */
    fun bidiStream(method: String, handler: (Iterator<Map<String, Any?>>, CallContext) -> Sequence<Any?>) =
        native.handleStream(method, streamHandler { s, ctx -> sendAll(s, handler(requestsOf(s, conv), ctx), conv) })

    /** Listens on [uri]; returns the endpoint as bound. May be called for several URIs. */
    fun listen(uri: String): String = native.listen(uri)

    /**
     * Starts the admin listener on [uri] (`http://127.0.0.1:9464`; port 0 picks a free one):
     * `/metrics`, `/healthz` and the live monitoring page at `/`. Returns the URI bound.
     */
    fun admin(uri: String): String = native.admin(uri)

    /**
     * The schema version discovery announces (the fingerprint; subject and version once
     * [setSchemaVersion] recorded them).
     */
    val schemaVersion: SchemaVersion get() = native.schemaVersion()

    /**
     * Records the schema registry [subject] and [version] of the schema served; discovery
     * announces them from now on, and clients see them as `Client.schemaVersion`.
     */
    fun setSchemaVersion(subject: String, version: Int) = native.setSchemaVersion(subject, version.toUInt())

    /**
     * Serves [schema] beside the main one as the revision [label] and returns its fingerprint.
     * A call whose `hms-schema-revision` metadata names its label or fingerprint speaks it
     * (`Client.connect(uris, revision = label)` sends it); a label or schema already served
     * throws `HmsException.AlreadyExists` (docs/evolution.md, "Two versions side by side").
     */
    fun addRevision(label: String, schema: NativeSchema): String = native.addRevision(label, schema)

    /**
     * A handle on this server whose `method`, `rawMethod` and stream registrations serve the
     * revision [label] (or fingerprint); everything else acts on the whole server, and closing
     * it leaves the server running. Throws `HmsException.NotFound` for an unknown revision.
     */
    fun revision(label: String): Server = Server(native.revision(label), false, conv)

    /** The revisions served beside the main schema, label → fingerprint. */
    val revisions: Map<String, String> get() = native.revisions()

    /**
     * Serves the main schema's [method] with the handler registered for it in [revision]: a v1
     * handler answers v2 callers. Throws `HmsException.FailedPrecondition` (reason
     * `INCOMPATIBLE_SCHEMA`) unless the method reads alike on the wire in both.
     */
    fun bridge(revision: String, method: String) = native.bridge(revision, method)

    /** Calls in flight. */
    val inflight: Long get() = native.inflight().toLong()

    /** Graceful stop: lets calls in flight finish for up to [grace], then cancels the rest. */
    fun shutdown(grace: Duration = Duration.ofSeconds(1)) = native.shutdown(grace.toMillis().toULong())

    /** Shuts down and frees the native server (a [revision] handle: frees only the handle). */
    override fun close() {
        if (owner) shutdown()
        native.destroy()
    }
}

internal inline fun <T> guarded(ctx: CallContext, body: () -> T): T =
    try {
        ctx.use { body() }
    } catch (t: Throwable) {
        throw fromThrowable(t)
    }
