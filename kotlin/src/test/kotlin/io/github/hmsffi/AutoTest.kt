package io.github.hmsffi

import com.sun.jna.Library
import com.sun.jna.Native
import io.github.hmsffi.ffi.HmsException
import java.nio.file.Files
import java.time.Duration
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The C library's `setenv`: the JVM cannot change its own environment, the native core reads it. */
private interface LibC : Library {
    fun setenv(name: String, value: String, overwrite: Int): Int
    fun unsetenv(name: String): Int
}

/**
 * `auto://NAME` from Kotlin (issue 18): a server announces a name; a client finds it (in-process
 * when it can, else over shared memory or the transport it is told) and says which transport it
 * picked. Kotlin only passes the URI: the choice is the core's.
 */
class AutoTest {
    @Test
    fun `a client finds a server by name and says which transport it picked`() {
        val run = Files.createTempDirectory("hms-kotlin-auto-")
        val libc = Native.load("c", LibC::class.java)
        val saved = System.getenv("XDG_RUNTIME_DIR")
        libc.setenv("XDG_RUNTIME_DIR", run.toString(), 1)
        try {
            val schema = Schema.fromSource(
                "auto.proto",
                """
                syntax = "proto3"; package ktauto.v1;
                message Msg { string text = 1; string transport = 2; }
                service Echo { rpc Say(Msg) returns (Msg); }
                """.trimIndent(),
            )
            val server = Server(schema)
            server.method("ktauto.v1.Echo/Say") { req, ctx ->
                mapOf("text" to req["text"], "transport" to ctx.transport())
            }
            assertEquals("auto://ktauto", server.listen("auto://ktauto"))
            val record = run.resolve("hms-ffi/auto/ktauto.json")
            assertTrue(Files.exists(record))
            val cases = mapOf(
                "auto://ktauto" to ("inproc://ktauto" to "inproc"),
                "auto://ktauto?transports=shm" to ("shm://ktauto" to "shm"),
                "auto://ktauto?transports=unix" to ("unix://${run.resolve("hms-ffi/auto/ktauto.sock")}" to "unix"),
            )
            for ((uri, expected) in cases) {
                val (picked, transport) = expected
                Client.connect(uri).use { client ->
                    assertEquals(picked, client.transport, uri)
                    val reply = client.call("ktauto.v1.Echo/Say", mapOf("text" to uri), Duration.ofSeconds(5))
                    assertEquals(mapOf("text" to uri, "transport" to transport), reply)
                    assertEquals(picked, client.endpoints[0].connected)
                    client.disconnect()
                    assertNull(client.transport)
                }
            }
            server.close()
            assertTrue(!Files.exists(record))
            assertThrows<HmsException.Unavailable> { Client.connect("auto://ktauto") }
            assertThrows<HmsException.InvalidArgument> { Client.connect("auto://a/b") }
            assertThrows<HmsException.InvalidArgument> { Client.connect("auto://x?transports=pigeon") }
        } finally {
            if (saved == null) libc.unsetenv("XDG_RUNTIME_DIR") else libc.setenv("XDG_RUNTIME_DIR", saved, 1)
            run.toFile().deleteRecursively()
        }
    }
}
