package io.github.hmsffi

import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.Arguments
import org.junit.jupiter.params.provider.MethodSource
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue

/**
 * Every shared vector, with the Kotlin client against the Kotlin conformance server, over
 * inproc and unix: Kotlin as client and as server. (The matrix also drives the Kotlin server from
 * the Rust, Python and Go clients, and the Kotlin client against theirs.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConformanceTest {
    private val served = Served("conformance")
    private val server = served.server
    private val clients = served.clients

    @AfterAll
    fun stop() = served.close()

    fun cases(): List<Arguments> = listOf("inproc", "unix").flatMap { transport ->
        Conformance.cases().map { Arguments.of(transport, it) }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    fun vector(transport: String, case: Conformance.Case) {
        assertNull(Conformance.check(case, clients.getValue(transport)))
    }

    @org.junit.jupiter.api.Test
    fun `the vectors are all there and the server discovered them`() {
        assertTrue(Conformance.cases().size >= 200) { "found ${Conformance.cases().size} vectors" }
        assertTrue("${Conformance.SERVICE}/EchoScalars" in clients.getValue("unix").methods)
        assertEquals(0, server.inflight)
    }
}
