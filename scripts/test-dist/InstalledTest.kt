// What a user of the hms-ffi jar sees (run by scripts/test-dist/kotlin.sh with JUnit in a new
// Maven project outside the checkout, against the Rust greeter server at $HMS_GREETER; the
// native library comes from the jar: no jna.library.path, no LD_LIBRARY_PATH).
import io.github.hmsffi.Client
import io.github.hmsffi.ffi.HmsException
import java.time.Duration
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

class InstalledTest {
    private val uri = System.getenv("HMS_GREETER")
    private val timeout = Duration.ofSeconds(10)

    @Test
    fun theNativeLibraryComesFromTheJar() {
        assertEquals(null, System.getProperty("jna.library.path"))
        val jar = Client::class.java.protectionDomain.codeSource.location.path
        assertTrue(jar.endsWith(".jar"), jar)
        assertTrue(Client::class.java.classLoader.getResource("linux-x86-64/libhms_ffi_uniffi.so") != null)
    }

    @Test
    fun aCallAndAStreamToTheRustServer() {
        Client.connect(uri).use { client ->
            val reply = client.call("demo.v1.Greeter/SayHello", mapOf("name" to "Ada", "times" to 2), timeout)
            assertTrue((reply["message"] as String).startsWith("Hello Ada"), reply.toString())
            val replies = client.stream("demo.v1.Greeter/Chatter", mapOf("name" to "Ada", "times" to 3), timeout).use { it.asSequence().toList() }
            assertEquals(3, replies.size)
        }
    }

    @Test
    fun errorsKeepTheirType() {
        Client.connect(uri).use { client ->
            assertThrows<HmsException.InvalidArgument> { client.call("demo.v1.Greeter/SayHello", mapOf("name" to ""), timeout) }
            assertThrows<HmsException.Unimplemented> { client.call("demo.v1.Greeter/Nope", mapOf<String, Any?>(), timeout) }
        }
    }
}
