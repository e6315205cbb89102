package io.github.hmsffi

import io.github.hmsffi.ffi.CancelToken
import io.github.hmsffi.ffi.HmsException
import java.nio.file.Files
import java.time.Duration
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.assertThrows

/**
 * Batched calls (`client.batch`) over a unix socket: one result per call in order, a failed
 * call's typed error as a failure value while the others succeed, one deadline for the whole
 * batch, cancellation by token, and the oversized batch refused whole. The rules are the core's
 * (docs/messaging.md, "Batched calls").
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class BatchTest {
    private val dir = Files.createTempDirectory("hms-kotlin-batch-")
    private val schema = Schema.fromSource(
        "batch.proto",
        """
        syntax = "proto3"; package batch.v1;
        message Ping { string text = 1; int64 n = 2; }
        service Batch {
          rpc Echo(Ping) returns (Ping);
          rpc Fail(Ping) returns (Ping);
          rpc Wait(Ping) returns (Ping);
        }
        """.trimIndent(),
    )
    private val server = Server(schema)
    private lateinit var client: Client

    init {
        server.method("batch.v1.Batch/Echo") { req, _ -> req }
        server.method("batch.v1.Batch/Fail") { req, _ -> throw hmsError(Code.NOT_FOUND, "no ${req["text"]}") }
        server.method("batch.v1.Batch/Wait") { req, ctx ->
            val until = System.nanoTime() + (req["n"] as Long) * 1_000_000
            while (!ctx.isCancelled() && System.nanoTime() < until) Thread.sleep(2)
            req
        }
        client = Client.connect(server.listen("unix://$dir/batch.sock"))
    }

    @AfterAll
    fun stop() {
        client.close()
        server.close()
        dir.toFile().deleteRecursively()
    }

    @Test
    fun `entries come in order, a failed call typed while the others succeed`() {
        val calls = (0 until 50).map { "batch.v1.Batch/Echo" to mapOf<String, Any?>("n" to it) }.toMutableList()
        calls[5] = "batch.v1.Batch/Fail" to mapOf("text" to "widget")
        calls[6] = "batch.v1.Batch/Nope" to emptyMap()
        calls[7] = "batch.v1.Batch/Echo" to mapOf("n" to "seven")
        val results = client.batch(calls, timeout = Duration.ofSeconds(20))
        assertEquals(50, results.size)
        val notFound = results[5].exceptionOrNull()
        assertTrue(notFound is HmsException.NotFound, "$notFound")
        assertEquals("no widget", (notFound as HmsException.NotFound).msg)
        assertTrue(results[6].exceptionOrNull() is HmsException.Unimplemented, "${results[6]}")
        assertTrue(results[7].exceptionOrNull() is HmsException.InvalidArgument, "${results[7]}")
        results.forEachIndexed { i, r ->
            if (i !in 5..7) assertEquals(i.toLong(), r.getOrThrow()["n"], "entry $i")
        }
        assertEquals(emptyList<Result<Map<String, Any?>>>(), client.batch(emptyList()))
    }

    @Test
    fun `one deadline bounds the whole batch`() {
        val start = System.nanoTime()
        val results = client.batch(
            listOf("batch.v1.Batch/Wait" to mapOf("n" to 5000), "batch.v1.Batch/Echo" to mapOf("n" to 1)),
            timeout = Duration.ofMillis(300),
        )
        assertTrue(results[0].exceptionOrNull() is HmsException.DeadlineExceeded, "${results[0]}")
        assertEquals(1L, results[1].getOrThrow()["n"])
        assertTrue(System.nanoTime() - start < 4_000_000_000L)
    }

    @Test
    fun `a cancel token ends every call not finished, and batchAsync answers too`() {
        val token = CancelToken()
        Thread { Thread.sleep(200); token.cancel() }.start()
        val results = client.batch(
            listOf("batch.v1.Batch/Echo" to mapOf("n" to 1), "batch.v1.Batch/Wait" to mapOf("n" to 10_000)),
            timeout = Duration.ofSeconds(15),
            cancel = token,
        )
        assertEquals(1L, results[0].getOrThrow()["n"])
        assertTrue(results[1].exceptionOrNull() is HmsException.Cancelled, "${results[1]}")
        val async = runBlocking { client.batchAsync(listOf("batch.v1.Batch/Echo" to mapOf("n" to 2))) }
        assertEquals(2L, async[0].getOrThrow()["n"])
    }

    @Test
    fun `a batch of more than 100 000 calls is refused whole`() {
        val calls = List(100_001) { "batch.v1.Batch/Echo" to emptyMap<String, Any?>() }
        val e = assertThrows<HmsException.InvalidArgument> { client.batch(calls) }
        assertTrue(e.msg.contains("at most"), e.msg)
    }
}
