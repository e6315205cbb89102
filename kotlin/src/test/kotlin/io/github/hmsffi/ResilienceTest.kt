package io.github.hmsffi

import io.github.hmsffi.ffi.EndpointStatus
import io.github.hmsffi.ffi.HmsException
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.time.Duration
import java.util.concurrent.ConcurrentHashMap
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/**
 * Client resilience and the admin listener from Kotlin (issues 23 and 20): the core reconnects,
 * retries by a gRPC service config (idempotent methods only) and balances endpoints; Kotlin only
 * passes the options (`Client.connect(uris, resilience)`). `Server.admin` serves /metrics,
 * /healthz, the monitoring page and its /api/stats.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResilienceTest {
    private val dir = Files.createTempDirectory("hms-kotlin-res-")
    private val runs = ConcurrentHashMap<String, Int>()
    private val timeout = Duration.ofSeconds(5)

    @AfterAll
    fun cleanUp() {
        dir.toFile().deleteRecursively()
    }

    private fun socket(name: String) = "unix://${dir.resolve(name)}"

    /** The Counter of [pkg] as [name]; it fails the first `fail_first` runs of each id. */
    private fun counter(name: String, uri: String, pkg: String = "ktres.v1", serviceConfig: String? = null): Server {
        val schema = counterSchema(pkg)
        val server = Server(schema, serviceConfig = serviceConfig)
        for (method in listOf("Get", "Add")) {
            server.method("$pkg.Counter/$method") { req, ctx ->
                val id = req["id"] as String
                val run = runs.merge(id, 1, Int::plus)!!
                if (run <= ((req["fail_first"] as? Number)?.toInt() ?: 0)) {
                    throw hmsError(Code.UNAVAILABLE, "run $run fails")
                }
                val previous = ctx.header("grpc-previous-rpc-attempts")?.toInt() ?: 0
                mapOf("id" to id, "previous" to previous, "server" to name)
            }
        }
        server.listen(uri)
        return server
    }

    private fun counterSchema(pkg: String) =
        Schema.fromSource(
            "res.proto",
            """
            syntax = "proto3"; package $pkg;
            message Req { string id = 1; int32 fail_first = 2; }
            message Rep { string id = 1; int32 previous = 2; string server = 3; }
            service Counter {
              rpc Get(Req) returns (Rep) { option idempotency_level = IDEMPOTENT; }
              rpc Add(Req) returns (Rep);
            }
            """.trimIndent(),
        )

    private val retryConfig = """
        {"methodConfig": [{"name": [{"service": "ktres.v1.Counter"}],
          "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
                          "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
    """.trimIndent()
    private val retry = """{"serviceConfig": $retryConfig}"""

    @Test
    fun `a service config retries idempotent methods only`() {
        val uri = socket("p.sock")
        counter("one", uri).use {
            Client.connect(listOf(uri), retry).use { client ->
                val reply = client.call("ktres.v1.Counter/Get", mapOf("id" to "g", "fail_first" to 2), timeout)
                assertEquals(3, runs["g"])
                assertEquals(2L, (reply["previous"] as Number).toLong())
                assertThrows<HmsException.Unavailable> {
                    client.call("ktres.v1.Counter/Add", mapOf("id" to "a", "fail_first" to 1), timeout)
                }
                assertEquals(1, runs["a"])
            }
            for (bad in listOf("""{"serviceConfig": {"methodConfg": []}}""", """{"backoff": """)) {
                assertThrows<HmsException.InvalidArgument> { Client.connect(listOf(uri), bad) }
            }
            assertThrows<HmsException.InvalidArgument> { Client.connect(emptyList()) }
        }
    }

    @Test
    fun `a served service config retries for a client given none`() {
        val uri = socket("served.sock")
        counter("one", uri, serviceConfig = retryConfig).use {
            Client.connect(listOf(uri)).use { client ->
                val reply = client.call("ktres.v1.Counter/Get", mapOf("id" to "s", "fail_first" to 1), timeout)
                assertEquals(2, runs["s"])
                assertEquals(1L, (reply["previous"] as Number).toLong())
            }
            // A config given at connect wins: this one has no retry policy.
            val own = """{"serviceConfig": {"methodConfig": [{"name": [{}], "timeout": "5s"}]}}"""
            Client.connect(listOf(uri), own).use { client ->
                assertThrows<HmsException.Unavailable> {
                    client.call("ktres.v1.Counter/Get", mapOf("id" to "o", "fail_first" to 1), timeout)
                }
                assertEquals(1, runs["o"])
            }
        }
        val bad = """{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 1}}]}"""
        for (config in listOf(bad, """{"methodConfig": """)) {
            assertThrows<HmsException.InvalidArgument> { Server(counterSchema("ktres.v1"), serviceConfig = config) }
        }
    }

    @Test
    fun `a client reconnects and waits for ready`() {
        val uri = socket("r.sock")
        val fast = """{"backoff": {"initial": "0.02s", "max": "0.1s", "minConnectTimeout": "1s"}, "waitForReady": true}"""
        val first = counter("one", uri)
        Client.connect(listOf(uri), fast).use { client ->
            assertEquals("ready", client.state)
            first.close()
            var second: Server? = null
            val later = Thread {
                Thread.sleep(200)
                second = counter("two", uri)
            }.apply { start() }
            // Every call waits for a connection ("waitForReady": true) instead of failing at once.
            val reply = client.call("ktres.v1.Counter/Add", mapOf("id" to "c"), timeout)
            later.join(10_000)
            assertEquals("two", reply["server"])
            assertEquals(listOf(EndpointStatus(uri, "ready", false, uri)), client.endpoints)
            client.disconnect()
            assertEquals("shutdown", client.state)
            second?.close()
        }
    }

    /** Per call (issue 23): waitForReady waits for a server started later, or until its deadline. */
    @Test
    fun `a call waits for ready when it asks to`() {
        val uri = socket("w.sock")
        val fast = """{"backoff": {"initial": "0.02s", "max": "0.1s", "minConnectTimeout": "1s"}}"""
        val first = counter("one", uri)
        Client.connect(listOf(uri), fast).use { client ->
            first.close()
            val long = Duration.ofSeconds(10)
            assertThrows<HmsException.Unavailable> { client.call("ktres.v1.Counter/Add", mapOf("id" to "f"), long) }
            var second: Server? = null
            val later = Thread {
                Thread.sleep(300)
                second = counter("two", uri)
            }.apply { start() }
            val reply = client.call("ktres.v1.Counter/Add", mapOf("id" to "w"), long, waitForReady = true)
            later.join(10_000)
            assertEquals("two", reply["server"])
            second?.close()
            // Once the client saw its connection go (a call written to it just before could not know).
            for (i in 0 until 500) {
                if (client.state != "ready") break
                Thread.sleep(10)
            }
            assertThrows<HmsException.DeadlineExceeded> {
                client.call("ktres.v1.Counter/Add", mapOf("id" to "d"), Duration.ofMillis(300), waitForReady = true)
            }
        }
    }

    @Test
    fun `several endpoints are balanced round robin`() {
        val uris = listOf(socket("a.sock"), socket("b.sock"))
        val servers = listOf(counter("one", uris[0]), counter("two", uris[1]))
        Client.connect(uris, """{"loadBalancing": "round_robin"}""").use { client ->
            val seen = (0 until 6).map { client.call("ktres.v1.Counter/Get", mapOf("id" to "rr$it"), timeout)["server"] }
            assertEquals(setOf("one", "two"), seen.toSet())
            assertEquals(uris, client.endpoints.map { it.uri })
        }
        servers.forEach { it.close() }
    }

    /** A handler's call inherits its call's deadline and trace, unless detached. */
    @Test
    fun `a handlers call inherits its deadline and trace`() {
        val schema = Schema.fromSource(
            "peek.proto",
            """
            syntax = "proto3"; package ktpeek.v1;
            message Req { bool detach = 1; }
            message Rep { int64 left_ms = 1; bool has_deadline = 2; string trace_id = 3; }
            service Peek { rpc Peek(Req) returns (Rep); rpc Relay(Req) returns (Rep); }
            """.trimIndent(),
        )
        val inner = Server(schema)
        inner.method("ktpeek.v1.Peek/Peek") { _, ctx ->
            val left = ctx.remainingMs()
            mapOf("left_ms" to (left?.toLong() ?: -1L), "has_deadline" to (left != null), "trace_id" to ctx.traceId())
        }
        val innerUri = inner.listen(socket("peek-inner.sock"))
        val outer = Server(schema)
        outer.method("ktpeek.v1.Peek/Relay") { req, ctx ->
            Client.connect(innerUri).use { c ->
                val reply = c.call("ktpeek.v1.Peek/Peek", emptyMap<String, Any>(), detach = req["detach"] == true)
                reply + mapOf("trace_id" to if (reply["trace_id"] == ctx.traceId()) "same" else "other")
            }
        }
        val outerUri = outer.listen(socket("peek-outer.sock"))
        Client.connect(outerUri).use { client ->
            val got = client.call("ktpeek.v1.Peek/Relay", emptyMap<String, Any>(), Duration.ofSeconds(2))
            assertEquals(true, got["has_deadline"], got.toString())
            val left = (got["left_ms"] as Number).toLong()
            assertTrue(left in 501..2000, "left $left ms")
            assertEquals("same", got["trace_id"])
            val detached = client.call("ktpeek.v1.Peek/Relay", mapOf("detach" to true), Duration.ofSeconds(2))
            assertEquals(false, detached["has_deadline"] ?: false, detached.toString())
        }
        inner.close()
        outer.close()
    }

    @Test
    fun `server admin serves metrics, health and the page`() {
        val uri = socket("m.sock")
        counter("one", uri, "ktadmin.v1").use { server ->
            val admin = server.admin("http://127.0.0.1:0")
            assertTrue(Regex("""http://127\.0\.0\.1:\d+""").matches(admin), admin)
            assertThrows<HmsException.InvalidArgument> { server.admin("ftp://nowhere") }
            val get = "ktadmin.v1.Counter/Get"
            Client.connect(uri).use { client ->
                repeat(3) { client.call(get, mapOf("id" to "m$it"), timeout) }
                assertThrows<HmsException.Unavailable> { client.call(get, mapOf("id" to "bad", "fail_first" to 1), timeout) }
            }
            val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
            fun fetch(path: String): String = http.send(
                HttpRequest.newBuilder(URI.create(admin + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString(),
            ).body()
            val started = "grpc_server_call_started_total{grpc_method=\"$get\",hms_transport=\"unix\"} 4"
            assertTrue(fetch("/metrics").contains(started), started)
            assertEquals("ok\n", fetch("/healthz"))
            assertTrue(fetch("/").contains("<title>hms-ffi monitor</title>"))
            @Suppress("UNCHECKED_CAST")
            val stats = TypedJson.decode(fetch("/api/stats")) as Map<String, Any?>
            @Suppress("UNCHECKED_CAST")
            val row = (stats["methods"] as List<Map<String, Any?>>).first { it["method"] == get && it["side"] == "server" }
            @Suppress("UNCHECKED_CAST")
            val finished = row["finished"] as Map<String, Any?>
            assertEquals(listOf(4L, 3L, 1L), listOf(row["started"], finished["OK"], finished["UNAVAILABLE"]))
        }
    }
}
