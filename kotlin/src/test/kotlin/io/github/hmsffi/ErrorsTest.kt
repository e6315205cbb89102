package io.github.hmsffi

import io.github.hmsffi.ffi.AnyDetail
import io.github.hmsffi.ffi.ErrorDetails
import io.github.hmsffi.ffi.ErrorInfo
import io.github.hmsffi.ffi.HmsException
import io.github.hmsffi.ffi.Origin
import java.nio.file.Files
import java.time.Duration
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/** Errors both ways, bad input, raw bytes, async calls and cancellation, over a unix socket. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ErrorsTest {
    private val dir = Files.createTempDirectory("hms-kotlin-")
    private val schema = Schema.fromSource(
        "demo.proto",
        """
        syntax = "proto3"; package demo.v1;
        message Ping { string text = 1; int64 n = 2; repeated double prices = 3; }
        service Demo {
          rpc Echo(Ping) returns (Ping);
          rpc Throw(Ping) returns (Ping);
          rpc Missing(Ping) returns (Ping);
          rpc Wait(Ping) returns (Ping);
          rpc Raw(Ping) returns (Ping);
          rpc BadReply(Ping) returns (Ping);
        }
        """.trimIndent(),
    )
    private val server = Server(schema)
    private lateinit var client: Client
    @Volatile private var sawCancel = false

    @AfterAll
    fun stop() {
        client.close()
        server.close()
        dir.toFile().deleteRecursively()
    }

    init {
        server.method("demo.v1.Demo/Echo") { req, ctx ->
            req + mapOf("text" to "${req["text"]}|${ctx.header("x-who") ?: ""}")
        }
        server.method("demo.v1.Demo/Throw") { req, _ ->
            if (req["n"] == 1L) throw hmsError(Code.NOT_FOUND, "no user 1", reason = "NO_USER")
            // As a handler re-throws an error it got from another service: every detail is kept.
            if (req["n"] == 3L) {
                throw HmsException.NotFound(
                    Code.NOT_FOUND, "no user 3",
                    ErrorDetails(
                        errorInfo = ErrorInfo("NO_USER", "users.example", mapOf("id" to "3")),
                        origin = Origin("go", "users.v1.Users", "Get"),
                        other = listOf(AnyDetail("type.googleapis.com/test.v1.Extra", byteArrayOf(8, 3))),
                    ),
                )
            }
            throw IllegalStateException("boom ${req["n"]}")
        }
        server.method("demo.v1.Demo/Wait") { _, ctx ->
            while (!ctx.isCancelled()) Thread.sleep(2)
            sawCancel = true
            throw hmsError(Code.CANCELLED, "gave up")
        }
        server.method("demo.v1.Demo/BadReply") { _, _ -> mapOf("n" to "not a number") }
        // Ping{text: "hi", n: 7} as protobuf bytes: field 1 (len 2) "hi", field 2 varint 7.
        server.rawMethod("demo.v1.Demo/Raw") { req, _ -> req + byteArrayOf(0x10, 0x08) }
        client = Client.connect(server.listen("unix://$dir/errors.sock"))
    }

    @Test
    fun `values and metadata round-trip`() {
        val big = Long.MAX_VALUE
        val reply = client.call(
            "demo.v1.Demo/Echo", mapOf("text" to "héllo", "n" to big, "prices" to listOf(1, 2.5)),
            metadata = mapOf("x-who" to "ada"),
        )
        assertEquals("héllo|ada", reply["text"])
        assertEquals(big, reply["n"])
        assertEquals(listOf(1.0, 2.5), reply["prices"])
    }

    @Test
    fun `a bad request is InvalidArgument with every path, and the server keeps serving`() {
        val e = assertThrows<HmsException.InvalidArgument> {
            client.call("demo.v1.Demo/Echo", mapOf("n" to "seven", "prices" to listOf(1.0, "x"), "nope" to 1))
        }
        assertEquals(Code.INVALID_ARGUMENT, e.code)
        assertEquals(setOf("n", "prices[1]", "nope"), e.violationPaths.toSet())
        assertEquals(7L, client.call("demo.v1.Demo/Echo", mapOf("n" to 7))["n"])
    }

    @Test
    fun `a handler's hms error keeps its code, message and reason`() {
        val e = assertThrows<HmsException.NotFound> { client.call("demo.v1.Demo/Throw", mapOf("n" to 1)) }
        assertEquals("no user 1", e.msg)
        assertEquals("NO_USER", e.details.errorInfo?.reason)
        assertEquals("kotlin", e.details.origin?.language)
        assertEquals("Throw", e.details.origin?.method)
    }

    @Test
    fun `a re-thrown hms error keeps its error info, origin and other details`() {
        val e = assertThrows<HmsException.NotFound> { client.call("demo.v1.Demo/Throw", mapOf("n" to 3)) }
        assertEquals(ErrorInfo("NO_USER", "users.example", mapOf("id" to "3")), e.details.errorInfo)
        assertEquals(Origin("go", "users.v1.Users", "Get"), e.details.origin)
        assertEquals(listOf("type.googleapis.com/test.v1.Extra"), e.details.other.map { it.typeUrl })
        assertArrayEquals(byteArrayOf(8, 3), e.details.other[0].value)
    }

    @Test
    fun `any other exception is Internal with class, message and stack`() {
        val e = assertThrows<HmsException.Internal> { client.call("demo.v1.Demo/Throw", mapOf("n" to 2)) }
        assertEquals("java.lang.IllegalStateException: boom 2", e.msg)
        val debug = assertNotNull(e.details.debugInfo).let { e.details.debugInfo!! }
        assertEquals("java.lang.IllegalStateException: boom 2", debug.detail)
        assertTrue(debug.stackEntries.any { it.contains("ErrorsTest") }) { debug.stackEntries.toString() }
        assertEquals(2L, client.call("demo.v1.Demo/Echo", mapOf("n" to 2))["n"])
    }

    @Test
    fun `a reply that does not fit the schema is Internal`() {
        val e = assertThrows<HmsException.Internal> { client.call("demo.v1.Demo/BadReply", mapOf<String, Any>()) }
        assertTrue(e.msg.contains("n")) { e.msg }
    }

    @Test
    fun `unknown and unserved methods are Unimplemented`() {
        assertThrows<HmsException.Unimplemented> { client.call("demo.v1.Demo/Nope", mapOf<String, Any>()) }
        assertThrows<HmsException.Unimplemented> { client.call("demo.v1.Demo/Missing", mapOf<String, Any>()) }
    }

    @Test
    fun `a deadline is DeadlineExceeded and the handler sees the cancellation`() {
        sawCancel = false
        val e = assertThrows<HmsException.DeadlineExceeded> {
            client.call("demo.v1.Demo/Wait", mapOf<String, Any>(), timeout = Duration.ofMillis(100))
        }
        assertEquals(Code.DEADLINE_EXCEEDED, e.code)
        val until = System.nanoTime() + 5_000_000_000
        while (!sawCancel && System.nanoTime() < until) Thread.sleep(5)
        assertTrue(sawCancel)
    }

    @Test
    fun `raw protobuf bytes cross untouched`() {
        val ping = byteArrayOf(0x0a, 0x02, 'h'.code.toByte(), 'i'.code.toByte())
        assertArrayEquals(ping + byteArrayOf(0x10, 0x08), client.callRaw("demo.v1.Demo/Raw", ping))
        assertArrayEquals(ping + byteArrayOf(0x10, 0x08), runBlocking { client.callRawAsync("demo.v1.Demo/Raw", ping) })
        // The raw handler's reply is decoded as the method's message by the typed client.
        assertEquals(mapOf("text" to "hi", "n" to 8L, "prices" to listOf<Double>()), client.call("demo.v1.Demo/Raw", mapOf("text" to "hi")))
    }

    @Test
    fun `async calls return values and errors`() = runBlocking {
        assertEquals(5L, client.callAsync("demo.v1.Demo/Echo", mapOf("n" to 5))["n"])
        val e = assertThrows<HmsException.NotFound> { runBlocking { client.callAsync("demo.v1.Demo/Throw", mapOf("n" to 1)) } }
        assertEquals("no user 1", e.msg)
    }

    @Test
    fun `cancelling the coroutine cancels the call on the server`() = runBlocking {
        sawCancel = false
        assertNull(withTimeoutOrNull(200) { client.callAsync("demo.v1.Demo/Wait", mapOf<String, Any>()) })
        val until = System.nanoTime() + 5_000_000_000
        while (!sawCancel && System.nanoTime() < until) Thread.sleep(5)
        assertTrue(sawCancel)
    }

    @Test
    fun `connecting nowhere is Unavailable and bad typed JSON is InvalidArgument`() {
        assertThrows<HmsException.Unavailable> { Client.connect("unix://$dir/nobody.sock") }
        val e = assertThrows<HmsException.InvalidArgument> { client.native.call("demo.v1.Demo/Echo", "{\"\$nope\": 1}", io.github.hmsffi.ffi.CallOptions()) }
        assertTrue(e.msg.contains("\$nope")) { e.msg }
    }

    @Test
    fun `the comparison of the conformance runner can fail`() {
        assertNotNull(Conformance.same(mapOf("a" to 1L), mapOf("a" to 2L), ""))
        assertNotNull(Conformance.same(listOf(Double.NaN), listOf(1.0), ""))
        assertNull(Conformance.same(mapOf("b" to byteArrayOf(1)), mapOf("b" to byteArrayOf(1)), ""))
    }
}
