package io.github.hmsffi

import io.github.hmsffi.ffi.HmsException
import java.nio.file.Files
import java.time.Duration
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.map
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.Arguments
import org.junit.jupiter.params.provider.MethodSource

/**
 * Suspending `Flow` handlers on the server: every streaming vector against a server whose
 * streaming methods are `Flow` handlers (inproc and unix), requests read lazily (a reply before
 * the next request is sent), the call's cancellation interrupting a suspended handler, and
 * headers sent ahead of the first reply.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class ServerFlowTest {
    private val service = Conformance.SERVICE
    private val served = Served("flows", flows = true)
    private val dir = Files.createTempDirectory("hms-kotlin-flow-")

    /** A second server with handlers of this test's own on the same methods. */
    private val own = Server(Schema.load(listOf(Conformance.proto), listOf()))
    private val client: Client

    /** Counted when the suspended ServerStream handler's coroutine ends. */
    private val stopped = CountDownLatch(1)

    init {
        // Replies to each request as it comes: the next request is read only after.
        own.bidiStreamFlow("$service/Bidi") { requests, _ ->
            var n = 0L
            requests.map { r -> r + ("weight_mg" to ++n) }
        }
        // Sends its headers at once, then suspends for a minute before its one reply.
        own.serverStreamFlow("$service/ServerStream") { req, ctx ->
            ctx.setHeader("x-early", "yes")
            ctx.sendHeaders()
            flow {
                try {
                    delay(60_000)
                    emit(req)
                } finally {
                    stopped.countDown()
                }
            }
        }
        client = Client.connect(own.listen("unix://$dir/own.sock"))
    }

    @AfterAll
    fun stop() {
        client.close()
        own.close()
        served.close()
        dir.toFile().deleteRecursively()
    }

    fun cases(): List<Arguments> = listOf("inproc", "unix").flatMap { transport ->
        StreamVectors.cases().map { Arguments.of(transport, it) }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    fun vector(transport: String, case: StreamVectors.Case) {
        assertNull(StreamVectors.check(case, served.clients.getValue(transport)))
    }

    @Test
    fun requestsAreReadAsTheHandlerCollectsThem() {
        client.stream("$service/Bidi", timeout = Duration.ofSeconds(10)).use { s ->
            for (i in 1..5) {
                s.send(mapOf("unicode_text" to "r$i"))
                // The reply to request i comes before request i + 1 is sent.
                assertTrue(s.hasNext())
                val reply = s.next()
                assertEquals("r$i", reply["unicode_text"])
                assertEquals(i.toLong(), reply["weight_mg"])
            }
            s.closeSend()
            assertTrue(!s.hasNext())
        }
    }

    @Test
    fun headersComeBeforeTheFirstReplyAndCancelStopsTheSuspendedHandler() {
        val stream = client.stream("$service/ServerStream", mapOf("unicode_text" to "x"))
        val until = System.nanoTime() + 5_000_000_000
        while (stream.headers == null && System.nanoTime() < until) Thread.sleep(5)
        val headers = stream.headers ?: error("no headers before the first reply")
        assertEquals("yes", headers.first { it.key == "x-early" }.value)
        assertTrue(own.inflight >= 1, "the handler is not running")
        val started = System.nanoTime()
        stream.cancel()
        assertThrows(HmsException.Cancelled::class.java) { stream.hasNext() }
        // The handler was suspended in a minute's delay: the cancellation ends its coroutine at
        // once (the call's end alone would leave it running on its thread).
        assertTrue(stopped.await(5, TimeUnit.SECONDS), "the suspended handler still runs after the cancel")
        assertTrue(System.nanoTime() - started < 5_000_000_000)
        while (own.inflight > 0 && System.nanoTime() - started < 5_000_000_000) Thread.sleep(5)
        assertEquals(0L, own.inflight)
    }
}
