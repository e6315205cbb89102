package io.github.hmsffi

import io.github.hmsffi.ffi.HmsException
import java.nio.file.Files
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.Arguments
import org.junit.jupiter.params.provider.MethodSource

/**
 * Every call-semantics case (tests/conformance/semantics/calls.json), Kotlin client against the
 * Kotlin server over inproc and unix (a case is skipped only with its written reason in
 * skips.json), and the features behind them: what a handler reads, response metadata, cancel.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SemanticsTest {
    private val server = Conformance.server()
    private val dir = Files.createTempDirectory("hms-kotlin-sem-")
    private lateinit var uris: Map<String, String>
    private lateinit var clients: Map<String, Client>

    @BeforeAll
    fun start() {
        uris = mapOf("inproc" to server.listen("inproc://kotlin-semantics"), "unix" to server.listen("unix://$dir/sem.sock"))
        clients = uris.mapValues { Client.connect(it.value) }
    }

    @AfterAll
    fun stop() {
        clients.values.forEach { it.close() }
        server.close()
        dir.toFile().deleteRecursively()
    }

    fun cases(): List<Arguments> = listOf("inproc", "unix").flatMap { t -> Semantics.cases().map { Arguments.of(t, it) } }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    fun semantics(transport: String, case: Semantics.Case) {
        val reason = Semantics.skips("client")[case.name] ?: Semantics.skips("server")[case.name]
        assumeTrue(reason == null) { "skipped: $reason" }
        assertNull(Semantics.check(case, clients.getValue(transport), uris.getValue(transport)))
    }

    @Test
    fun `a handler reads its call and sets headers and trailers, with a reply and with an error`() {
        val seen = CompletableFuture<List<Any?>>()
        Server(Schema.load(listOf(Conformance.proto), listOf())).use { srv ->
            srv.method("${Conformance.SERVICE}/Echo") { req, ctx ->
                val reserved = runCatching { ctx.setHeader("grpc-status", "0") }.exceptionOrNull()
                seen.complete(listOf(ctx.method(), ctx.header("x-user"), ctx.traceId(), ctx.remainingMs() != null,
                    ctx.identity(), ctx.peerCredentials() != null, ctx.peerCertificate(), ctx.transport(), reserved?.javaClass))
                ctx.setHeader("x-h", "head")
                ctx.setTrailer("x-t", "tail")
                if ((req["tags"] as List<*>?)?.firstOrNull() == "fail") throw hmsError(Code.NOT_FOUND, "no such thing")
                req
            }
            Client.connect(srv.listen("unix://$dir/md.sock")).use { c ->
                val metadata = mapOf("x-user" to "ada", "x-trace-id" to "4bf92f3577b34da6a3ce929d0e0e4736")
                val reply = c.callWithMetadata("${Conformance.SERVICE}/Echo", mapOf("tags" to listOf("ok")), Duration.ofSeconds(10), metadata)
                val s = seen.get(10, TimeUnit.SECONDS)
                assertEquals(listOf("${Conformance.SERVICE}/Echo", "ada", "4bf92f3577b34da6a3ce929d0e0e4736", true), s.take(4))
                assertTrue((s[4] as String).startsWith("uid:")) { "identity ${s[4]}" }
                assertEquals(listOf(true, null, "unix", HmsException.InvalidArgument::class.java), s.drop(5))
                assertEquals(listOf("ok"), reply.message["tags"])
                assertEquals("head", reply.header("x-h"))
                assertEquals("tail", reply.trailer("x-t"))
                val err = assertThrows<HmsException.NotFound> { c.callWithMetadata("${Conformance.SERVICE}/Echo", mapOf("tags" to listOf("fail"))) }
                assertEquals("no such thing", err.msg)
                assertEquals("tail", err.trailers.firstValue("x-t"))
                assertEquals("head", err.headers.firstValue("x-h"))
            }
        }
    }

    @Test
    fun `a cancel token and a cancelled coroutine end a call in flight`() {
        val client = clients.getValue("unix")
        val token = CancelToken()
        Thread { Thread.sleep(100); token.cancel() }.start()
        val started = System.nanoTime()
        assertThrows<HmsException.Cancelled> {
            client.callWithMetadata("${Conformance.SERVICE}/Sleep", mapOf("millis" to 5000L), cancel = token)
        }
        assertTrue(System.nanoTime() - started < 3_000_000_000L)
        runBlocking {
            val call = async { client.callWithMetadataAsync("${Conformance.SERVICE}/Sleep", mapOf("millis" to 5000L)) }
            delay(100)
            call.cancel()
            runCatching { call.await() }
        }
        // The cancelled coroutine cancelled the native call too: the server's Sleep handler
        // ended long before its 5 s.
        val until = System.nanoTime() + 3_000_000_000L
        while (server.inflight > 0L && System.nanoTime() < until) Thread.sleep(20)
        assertEquals(0L, server.inflight)
    }

    @Test
    fun `a closed client's calls are Cancelled`() {
        Client.connect(uris.getValue("unix")).use { c ->
            c.disconnect()
            assertThrows<HmsException.Cancelled> { c.call("${Conformance.SERVICE}/Echo", emptyMap<String, Any?>()) }
        }
    }
}
