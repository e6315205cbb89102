package io.github.hmsffi

import io.github.hmsffi.ffi.HmsException
import java.nio.file.Files
import java.time.Duration
import java.util.Collections
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/**
 * Versions at connect from Kotlin (issue 21, docs/evolution.md): a client built against v1 of a
 * schema learns at connect which methods a v2 server breaks; the core refuses calls to them with
 * `HmsException.FailedPrecondition` (reason `INCOMPATIBLE_SCHEMA`) and lets the others through.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VersionsTest {
    private val dir = Files.createTempDirectory("hms-kotlin-versions-")
    private val timeout = Duration.ofSeconds(10)

    private val v1 = """
        syntax = "proto3";
        package shop.v1;
        message Item { int32 count = 1; }
        message GetRequest { string id = 1; }
        message ListRequest {}
        service Shop { rpc Get(GetRequest) returns (Item); rpc List(ListRequest) returns (Item); }
    """.trimIndent()

    // GetRequest.id becomes an int64 (Get breaks), Item gains a field (List keeps working).
    private val v2 = v1.replace("string id = 1", "int64 id = 1")
        .replace("int32 count = 1;", "int32 count = 1; string name = 2;")

    @AfterAll
    fun cleanUp() {
        dir.toFile().deleteRecursively()
    }

    @Test
    fun `a client built against v1 learns at connect what a v2 server breaks`() {
        val seen = Collections.synchronizedList(mutableListOf<String>())
        Server(Schema.fromSource("shop.proto", v2)).use { server ->
            server.method("shop.v1.Shop/Get") { _, _ -> seen.add("Get"); mapOf("count" to 1) }
            server.method("shop.v1.Shop/List") { _, _ -> seen.add("List"); mapOf("count" to 2, "name" to "pen") }
            val uri = server.listen("unix://${dir.resolve("shop.sock")}")
            server.setSchemaVersion("shop.v1", 2)
            Client.connect(listOf(uri), expectSchema = Schema.fromSource("shop.proto", v1)).use { client ->
                assertEquals(server.schemaVersion, client.schemaVersion)
                val version = client.schemaVersion!!
                assertEquals("shop.v1" to 2u, version.subject to version.version)
                assertTrue(version.fingerprint.startsWith("sha256:"), version.fingerprint)
                val broken = client.incompatibleMethods()
                assertEquals(setOf("shop.v1.Shop/Get"), broken.keys)
                assertTrue(broken.getValue("shop.v1.Shop/Get")[0].contains("FIELD_WIRE_JSON_COMPATIBLE_TYPE"))
                val e = assertThrows<HmsException.FailedPrecondition> {
                    client.call("shop.v1.Shop/Get", mapOf("id" to "7"), timeout)
                }
                assertEquals("INCOMPATIBLE_SCHEMA", e.details.errorInfo?.reason)
                assertTrue(e.msg.contains("FIELD_WIRE_JSON_COMPATIBLE_TYPE"), e.msg)
                assertEquals(2L, client.call("shop.v1.Shop/List", emptyMap<String, Any>(), timeout)["count"])
                assertEquals(listOf("List"), seen.toList())
            }
        }
    }

    @Test
    fun `a client given its schema has no announced version`() {
        val schema = Schema.fromSource("shop.proto", v1)
        Server(schema).use { server ->
            val uri = server.listen("unix://${dir.resolve("given.sock")}")
            assertEquals("" to 0u, server.schemaVersion.subject to server.schemaVersion.version)
            Client.connect(uri, schema).use { client ->
                assertNull(client.schemaVersion)
                assertEquals(emptyMap<String, List<String>>(), client.incompatibleMethods())
            }
        }
    }
}
