package io.github.hmsffi

import io.github.hmsffi.ffi.HmsException
import java.io.File
import java.nio.file.Files
import java.util.concurrent.TimeUnit
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/**
 * `Schema.fromRegistry` from Kotlin (issue 21): a version of a schema named by a registry
 * reference (`registry+URI#SUBJECT[@N|@latest|@sha256:…]`), fetched from a registry of the test's
 * own (the CLI's `hms-ffi registry serve`, killed at the end) and checked by the core.
 */
class RegistryTest {
    private val target = File(System.getenv("CARGO_TARGET_DIR") ?: "../target")
    private val cli = File(target, "debug/hms-ffi")

    private fun run(vararg args: String) {
        val p = ProcessBuilder(cli.path, *args).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
        check(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) { "hms-ffi ${args.toList()} failed" }
    }

    private fun withRegistry(body: (String) -> Unit) {
        check(cli.isFile) { "$cli is missing: cargo build -p hms-ffi-cli (make test-kotlin does)" }
        val dir = Files.createTempDirectory("hms-kotlin-registry-").toFile()
        val sock = File(dir, "r.sock")
        val uri = "unix://${sock.path}"
        val serve = ProcessBuilder(cli.path, "registry", "serve", "--db", File(dir, "r.db").path, "--listen", uri)
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
        try {
            val deadline = System.nanoTime() + 10_000_000_000
            while (!sock.exists()) {
                check(serve.isAlive && System.nanoTime() < deadline) { "hms-ffi registry serve did not start" }
                Thread.sleep(20)
            }
            for (v in listOf("shop_v1.proto", "shop_v2.proto")) {
                run("registry", "register", "--registry", uri, "../tests/registry/$v")
            }
            body(uri)
        } finally {
            serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS)
            dir.deleteRecursively()
        }
    }

    @Test
    fun aReferenceNamesAVersionAndErrorsAreTyped() = withRegistry { uri ->
        val v1 = Schema.fromRegistry("registry+$uri#shop.v1@1")
        assertEquals(listOf("shop.v1.Shop/Get"), v1.methodNames().sorted())
        val latest = Schema.fromRegistry("registry+$uri#shop.v1", 5_000UL)
        assertEquals(listOf("shop.v1.Shop/Get", "shop.v1.Shop/List"), latest.methodNames().sorted())
        assertThrows<HmsException.InvalidArgument> { Schema.fromRegistry("shop/v1") }
        assertThrows<HmsException.NotFound> { Schema.fromRegistry("registry+$uri#shop.v1@9") }
        val e = assertThrows<HmsException.Unavailable> {
            Schema.fromRegistry("registry+unix:///nonexistent/r.sock#shop.v1", 2_000UL)
        }
        assertTrue(e.message.orEmpty().isNotEmpty())
    }
}
