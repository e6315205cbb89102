package io.github.hmsffi

import io.github.hmsffi.ffi.HmsException
import java.nio.file.Files
import java.time.Duration
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/**
 * Two versions side by side from Kotlin (docs/evolution.md): a server serving two revisions of
 * one package, clients choosing theirs at connect or with the `hms-schema-revision` metadata
 * entry, and a v1 handler answering v2 callers through a bridge.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RevisionsTest {
    private val dir = Files.createTempDirectory("hms-kotlin-revisions-")
    private val timeout = Duration.ofSeconds(10)
    private val hello = "acme.v1.Greeter/SayHello"

    private val rev1 = """
        syntax = "proto3";
        package acme.v1;
        message HelloRequest { string name = 1; }
        message HelloReply { string message = 1; }
        service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
    """.trimIndent()

    // The fields renamed (the same numbers) and new ones added.
    private val rev2 = rev1.replace("string name = 1;", "string full_name = 1; string locale = 2;")
        .replace("string message = 1;", "string text = 1; int32 length = 2;")

    private fun schema(text: String) = Schema.fromSource("acme/v1/greeter.proto", text)

    @AfterAll
    fun cleanUp() {
        dir.toFile().deleteRecursively()
    }

    @Test
    fun `a server serves two revisions and bridges one`() {
        Server(schema(rev2)).use { server ->
            server.method(hello) { req, _ -> mapOf("text" to "v2 ${req["full_name"]}") }
            val fingerprint = server.addRevision("rev1", schema(rev1))
            assertEquals(mapOf("rev1" to fingerprint), server.revisions)
            server.revision("rev1").use { rev ->
                rev.method(hello) { req, _ -> mapOf("message" to "v1 ${req["name"]}") }
            }
            assertThrows<HmsException.AlreadyExists> { server.addRevision("rev1", schema(rev1)) }
            assertThrows<HmsException.NotFound> { server.revision("nope") }
            val uri = server.listen("unix://${dir.resolve("rev.sock")}")

            Client.connect(listOf(uri)).use { main ->
                assertNull(main.revision)
                assertEquals(mapOf("rev1" to fingerprint), main.revisions)
                assertEquals("v2 Ada", main.call(hello, mapOf("full_name" to "Ada"), timeout)["text"])
                Client.connect(listOf(uri), revision = "rev1").use { v1 ->
                    assertEquals(fingerprint, v1.revision)
                    assertEquals("v1 Ada", v1.call(hello, mapOf("name" to "Ada"), timeout)["message"])
                }
                Client.connect(listOf(uri), expectSchema = schema(rev1)).use { built ->
                    assertEquals(fingerprint, built.revision)
                    assertEquals(emptyMap<String, List<String>>(), built.incompatibleMethods())
                }
                Client.connect(uri, schema(rev1)).use { given ->
                    val chosen = mapOf("hms-schema-revision" to "rev1")
                    assertEquals("v1 Bo", given.call(hello, mapOf("name" to "Bo"), timeout, chosen)["message"])
                    val e = assertThrows<HmsException.FailedPrecondition> {
                        given.call(hello, mapOf("name" to "Bo"), timeout, mapOf("hms-schema-revision" to "rev9"))
                    }
                    assertEquals("UNKNOWN_SCHEMA_REVISION", e.details.errorInfo?.reason)
                    assertTrue(e.msg.contains("rev1 sha256:"), e.msg)
                }
                // The bridge: the v1 handler answers v2 callers, the renamed fields matched by number.
                server.bridge("rev1", hello)
                val reply = main.call(hello, mapOf("full_name" to "Ada", "locale" to "en"), timeout)
                assertEquals("v1 Ada", reply["text"])
            }
        }
    }
}
