package io.github.hmsffi

import io.github.hmsffi.ffi.CallOptions
import io.github.hmsffi.ffi.MetadataEntry
import io.github.hmsffi.ffi.connectAsync
import java.time.Duration
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
class Client private constructor(val native: NativeClient) : AutoCloseable {
    companion object {
        /** Connects to [uri]; the schema is discovered from the server. */
        fun connect(uri: String): Client = Client(NativeClient.connect(uri))

        /** Connects to [uri] with a given schema (stock gRPC servers without discovery). */
        fun connect(uri: String, schema: NativeSchema): Client =
            Client(NativeClient.connectWithSchema(uri, schema))

        /** [connect] without blocking the coroutine's thread. */
        suspend fun connectSuspending(uri: String): Client = Client(connectAsync(uri))
    }

    /** The methods the server offers, `package.Service/Method`. */
    val methods: List<String> get() = native.methods()

    /** Calls a unary method with a value (usually a `Map`); returns the reply as a `Map`. */
    fun call(
        method: String,
        request: Any?,
        timeout: Duration? = null,
        metadata: Map<String, String> = emptyMap(),
    ): Map<String, Any?> = reply(native.call(method, TypedJson.encode(request), options(timeout, metadata)))

    /** [call] as a suspending function: the thread is free while waiting; cancelling cancels the call. */
    suspend fun callAsync(
        method: String,
        request: Any?,
        timeout: Duration? = null,
        metadata: Map<String, String> = emptyMap(),
    ): Map<String, Any?> =
        reply(native.callAsync(method, TypedJson.encode(request), options(timeout, metadata)))

    /** Calls a unary method with the request's protobuf bytes; returns the reply's bytes. */
    fun callRaw(method: String, request: ByteArray, timeout: Duration? = null): ByteArray =
        native.callRaw(method, request, options(timeout, emptyMap()))

    /** [callRaw] as a suspending function. */
    suspend fun callRawAsync(method: String, request: ByteArray, timeout: Duration? = null): ByteArray =
        native.callRawAsync(method, request, options(timeout, emptyMap()))

    /** Closes the connection and frees the native client. */
    override fun close() {
        native.disconnect()
        native.destroy()
    }
}

@Suppress("UNCHECKED_CAST")
private fun reply(text: String): Map<String, Any?> = TypedJson.decode(text) as Map<String, Any?>

private fun options(timeout: Duration?, metadata: Map<String, String>) = CallOptions(
    timeoutMs = timeout?.toMillis()?.toULong(),
    metadata = metadata.map { (k, v) -> MetadataEntry(k, v) },
)
