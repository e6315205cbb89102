package io.github.hmsffi

import com.sun.security.auth.module.UnixSystem
import io.github.hmsffi.ffi.HmsException
import io.github.hmsffi.ffi.PeerCredentials
import java.io.File
import java.nio.file.Files
import java.nio.file.attribute.PosixFilePermissions
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** Security from Kotlin: a security file's policy and limits, the caller's identity and unix
 * credentials in the handler, typed errors for refused calls and for a bad file. */
class SecurityTest {
    private val service = "hms.conformance.v1.Conformance"
    private val echo = "$service/Echo"
    private val scalars = "$service/EchoScalars"
    private val schema = Schema.load(listOf(File(Conformance.root, "tests/conformance/conformance.proto").path), listOf())

    private fun write(dir: File, name: String, text: String): String = File(dir, name).apply { writeText(text) }.path

    @Test
    fun `a policy denies a method and the handler sees identity and peer credentials`() {
        val dir = Files.createTempDirectory("hms-kotlin-sec-").toFile()
        val security = write(
            dir, "security.toml",
            """
            [limits]
            max_message_bytes = 2048
            [policy]
            [[policy.rule]]
            identities = ["uid:*"]
            deny = ["$echo"]
            """.trimIndent(),
        )
        val seen = LinkedBlockingQueue<Pair<String?, PeerCredentials?>>()
        val echoed = AtomicInteger()
        Server(schema, security = security).use { server ->
            server.method(scalars) { req, ctx -> seen.add(ctx.identity() to ctx.peerCredentials()); req }
            server.method(echo) { req, _ -> echoed.incrementAndGet(); req }
            val uri = server.listen("unix://${dir.path}/sec.sock")
            val mode = Files.getPosixFilePermissions(File(dir, "sec.sock").toPath())
            assertEquals("rw-------", PosixFilePermissions.toString(mode))
            // With a policy, discovery lists only what the caller may call; a client given the
            // schema reaches the server, which refuses the denied method.
            val names = Client.connect(uri).use { it.methods }
            assertTrue(scalars in names && echo !in names) { names.toString() }
            Client.connect(uri, schema).use { client ->
                assertEquals("hi", client.call(scalars, mapOf("string_v" to "hi"))["string_v"])
                val unix = UnixSystem()
                val me = PeerCredentials(unix.uid.toUInt(), unix.gid.toUInt(), ProcessHandle.current().pid().toInt())
                assertEquals("uid:${unix.uid}" to me, seen.poll(5, TimeUnit.SECONDS))
                val denied = assertThrows<HmsException.PermissionDenied> { client.call(echo, mapOf("tags" to listOf("no"))) }
                assertEquals("POLICY_DENIED", denied.details.errorInfo?.reason)
                assertEquals(0, echoed.get())
                assertThrows<HmsException.ResourceExhausted> { client.call(scalars, mapOf("string_v" to "x".repeat(4096))) }
                assertNull(seen.poll())
            }
        }
        dir.deleteRecursively()
    }

    @Test
    fun `inproc callers have no identity and no peer credentials`() {
        val seen = LinkedBlockingQueue<List<Any?>>()
        Server(schema).use { server ->
            server.method(scalars) { req, ctx -> seen.add(listOf(ctx.identity(), ctx.peerCredentials())); req }
            Client.connect(server.listen("inproc://kotlin-sec")).use { it.call(scalars, mapOf<String, Any>()) }
        }
        assertEquals(listOf(null, null), seen.poll(5, TimeUnit.SECONDS))
    }

    @Test
    fun `a bad security file is InvalidArgument`() {
        val dir = Files.createTempDirectory("hms-kotlin-sec-").toFile()
        val bad = write(dir, "bad.toml", "[policy]\ndefault_network = 'sometimes'\n")
        assertThrows<HmsException.InvalidArgument> { Server(schema, security = bad) }
        val unknown = write(dir, "unknown.toml", "[limits]\nmax_mesage_bytes = 10\n")
        val e = assertThrows<HmsException.InvalidArgument> { Server(schema, security = unknown) }
        assertEquals("BAD_SECURITY_CONFIG", e.details.errorInfo?.reason)
        dir.deleteRecursively()
    }
}
