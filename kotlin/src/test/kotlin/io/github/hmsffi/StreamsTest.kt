package io.github.hmsffi

import io.github.hmsffi.ffi.CancelToken
import io.github.hmsffi.ffi.HmsException
import java.time.Duration
import kotlinx.coroutines.flow.asFlow
import kotlinx.coroutines.flow.flowOf
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
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
 * Streams in Kotlin: every streaming vector, Kotlin client against the Kotlin server over inproc
 * and unix, and the idioms: an Iterator (blocking) and a Flow (suspending) of replies, requests
 * from an Iterable or a Flow, cancellation, `result()`.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class StreamsTest {
    private val service = Conformance.SERVICE
    private val served = Served("streams")
    private val server = served.server
    private val clients = served.clients

    @AfterAll
    fun stop() = served.close()

    fun cases(): List<Arguments> = listOf("inproc", "unix").flatMap { transport ->
        StreamVectors.cases().map { Arguments.of(transport, it) }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    fun vector(transport: String, case: StreamVectors.Case) {
        assertNull(StreamVectors.check(case, clients.getValue(transport)))
    }

    @Test
    fun everyCaseIsLoaded() = assertTrue(StreamVectors.cases().size >= 16)

    private val client get() = clients.getValue("inproc")

    @Test
    fun aFlowOfRepliesWithAFlowOfRequests() = runBlocking {
        val requests = (1..20).map { mapOf("unicode_text" to "n$it") }.asFlow()
        val weights = client.streamFlow("$service/Bidi", requests).toList().map { it["weight_mg"] }
        assertEquals((0L until 20L).toList(), weights)
    }

    @Test
    fun stoppingAFlowEarlyCancelsTheCall() = runBlocking {
        val slow = flowOf<Any?>(mapOf("counts" to mapOf("repeat" to 1000L, "sleep_ms" to 10L)))
        val two = client.streamFlow("$service/ServerStream", slow).take(2).toList()
        assertEquals(listOf(0L, 1L), two.map { it["weight_mg"] })
        val deadline = System.nanoTime() + 5_000_000_000
        while (server.inflight > 0 && System.nanoTime() < deadline) Thread.sleep(10)
        assertEquals(0L, server.inflight, "the handler still runs after the collector stopped")
    }

    @Test
    fun aCancelTokenEndsAStreamFromAnotherThread() {
        val token = CancelToken()
        val slow = mapOf("counts" to mapOf("repeat" to 1000L, "sleep_ms" to 10L))
        val stream = client.stream("$service/ServerStream", slow, cancel = token)
        Thread { Thread.sleep(100); token.cancel() }.start()
        assertThrows(HmsException.Cancelled::class.java) { stream.forEach { } }
    }

    @Test
    fun sendByHandThenResult() {
        val stream = client.stream("$service/ClientStream", timeout = Duration.ofSeconds(10))
        for (i in 0 until 5) stream.send(mapOf("unicode_text" to "r$i"))
        stream.closeSend()
        val reply = stream.result()
        assertEquals("r4", reply["unicode_text"])
        assertEquals(5L, reply["weight_mg"])
        assertThrows(HmsException.FailedPrecondition::class.java) { stream.send(emptyMap<String, Any?>()) }
    }
}
