package io.github.hmsffi

import java.nio.file.Files
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeUnit
import kotlin.coroutines.EmptyCoroutineContext
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.completeWith
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.flowOf
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.ValueSource

/**
 * A call a Kotlin handler makes after its coroutine moved to another dispatcher keeps the
 * handler's trace (same trace, a span of its own under the caller's), deadline and cancellation
 * ([CallScope]): a suspending handler hopping to `Dispatchers.IO` (blocking `call`) or launching
 * on `Dispatchers.Default` (suspending `callAsync`), and a blocking handler's own `runBlocking`
 * given `ctx.scope()`. The front server's handlers call a back server over unix, whose handler
 * reports what it saw; every call and wait is bounded.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class TraceContextTest {
    private val proto = """
        syntax = "proto3";
        package ktrace.v1;
        message Req { bool wait = 1; bool detach = 2; string tag = 3; }
        message Seen { string trace_id = 1; string traceparent = 2; bool has_deadline = 3; int64 remaining_ms = 4; }
        message Pair { Seen outer = 1; Seen inner = 2; bool hopped = 3; bool scoped = 4; }
        service Back { rpc Inner(Req) returns (Seen); }
        service Front {
          rpc HopIo(Req) returns (stream Pair);
          rpc LaunchDefault(Req) returns (stream Pair);
          rpc BlockingScoped(Req) returns (Pair);
          rpc BlockingBare(Req) returns (Pair);
        }
    """.trimIndent()
    private val dir = Files.createTempDirectory("hms-kotlin-ktrace-")
    private val schema = Schema.fromSource("ktrace.proto", proto)
    private val backServer = Server(schema)
    private val frontServer = Server(schema)

    /** Per request tag: the inner handler started waiting; it saw its call cancelled. */
    private val started = ConcurrentHashMap<String, CompletableFuture<Unit>>()
    private val cancelled = ConcurrentHashMap<String, CompletableFuture<Boolean>>()

    private val back: Client
    private val front: Client

    private fun seen(ctx: CallContext): Map<String, Any?> = mapOf(
        "trace_id" to ctx.traceId(),
        "traceparent" to (ctx.header("traceparent") ?: ""),
        "has_deadline" to (ctx.remainingMs() != null),
        "remaining_ms" to (ctx.remainingMs()?.toLong() ?: 0L),
    )

    private fun future(map: ConcurrentHashMap<String, CompletableFuture<Boolean>>, tag: Any?) =
        map.computeIfAbsent(tag as String) { CompletableFuture() }

    /** What a front handler reports: both sides, whether it ran off [here], and its scope. */
    private fun pair(outer: Map<String, Any?>, inner: Map<String, Any?>, here: Thread) = mapOf(
        "outer" to outer,
        "inner" to inner,
        "hopped" to (Thread.currentThread() != here),
        "scoped" to (CallScope.current() != null),
    )

    private fun inner(req: Map<String, Any?>): Map<String, Any?> =
        back.call("ktrace.v1.Back/Inner", req, detach = req["detach"] == true)

    init {
        backServer.method("ktrace.v1.Back/Inner") { req, ctx ->
            if (req["wait"] == true) {
                started.computeIfAbsent(req["tag"] as String) { CompletableFuture() }.complete(Unit)
                val seenCancel = runBlocking { withTimeoutOrNull(10_000) { ctx.cancelled(); true } ?: false }
                future(cancelled, req["tag"]).complete(seenCancel)
            }
            seen(ctx)
        }
        val back = Client.connect(backServer.listen("unix://$dir/back.sock"))
        this.back = back
        frontServer.serverStreamFlow("ktrace.v1.Front/HopIo") { req, ctx ->
            val outer = seen(ctx)
            val here = Thread.currentThread()
            val pair = withContext(Dispatchers.IO) { pair(outer, inner(req), here) }
            flowOf(pair)
        }
        frontServer.serverStreamFlow("ktrace.v1.Front/LaunchDefault") { req, ctx ->
            val outer = seen(ctx)
            val here = Thread.currentThread()
            val pair = CompletableDeferred<Map<String, Any?>>()
            coroutineScope {
                // NonCancellable when waiting: only the inherited cancellation can end the inner
                // call, not the cancelled handler coroutine cancelling its child.
                launch(Dispatchers.Default + if (req["wait"] == true) NonCancellable else EmptyCoroutineContext) {
                    pair.completeWith(
                        runCatching {
                            pair(outer, back.callAsync("ktrace.v1.Back/Inner", req, detach = req["detach"] == true), here)
                        },
                    )
                }
            }
            flowOf(pair.await())
        }
        frontServer.method("ktrace.v1.Front/BlockingScoped") { req, ctx ->
            val here = Thread.currentThread()
            runBlocking(ctx.scope()) {
                withContext(Dispatchers.IO) { pair(seen(ctx), inner(req), here) }
            }
        }
        frontServer.method("ktrace.v1.Front/BlockingBare") { req, ctx ->
            val here = Thread.currentThread()
            runBlocking {
                withContext(Dispatchers.IO) { pair(seen(ctx), inner(req), here) }
            }
        }
        front = Client.connect(frontServer.listen("unix://$dir/front.sock"))
    }

    @AfterAll
    fun stop() {
        front.close()
        back.close()
        frontServer.close()
        backServer.close()
        dir.toFile().deleteRecursively()
    }

    private val callerSpan = "00f067aa0ba902b7"

    /** Calls [method] of the front server in the trace [traceId]; returns its `Pair`. */
    private fun hop(method: String, traceId: String, req: Map<String, Any?> = emptyMap()): Map<String, Any?> {
        val metadata = mapOf("traceparent" to "00-$traceId-$callerSpan-01")
        val timeout = Duration.ofSeconds(20)
        return if (method == "BlockingScoped" || method == "BlockingBare") {
            front.call("ktrace.v1.Front/$method", req, timeout = timeout, metadata = metadata)
        } else {
            front.stream("ktrace.v1.Front/$method", req, timeout = timeout, metadata = metadata).use { it.next() }
        }
    }

    @Suppress("UNCHECKED_CAST")
    private fun Map<String, Any?>.part(key: String) = this[key] as Map<String, Any?>

    @ParameterizedTest
    @ValueSource(strings = ["HopIo", "LaunchDefault", "BlockingScoped"])
    fun `a call after a hop is a child in the handler's trace with its deadline`(method: String) {
        val traceId = "4bf92f3577b34da6a3ce929d0e0e47" + method.length.toString().padStart(2, '0')
        val pair = hop(method, traceId)
        val outer = pair.part("outer")
        val inner = pair.part("inner")
        assertEquals(true, pair["hopped"], "the inner call was made on another thread")
        assertEquals(true, pair["scoped"], "CallScope.current() there")
        assertEquals(traceId, outer["trace_id"])
        assertEquals(traceId, inner["trace_id"], "same trace")
        // The inner call's traceparent names the span that made it: a client span of the
        // handler's, not the test's own span forwarded.
        val parts = (inner["traceparent"] as String).split("-")
        assertEquals(listOf("00", traceId), parts.take(2))
        assertTrue(parts[2].matches(Regex("[0-9a-f]{16}")) && parts[2] != callerSpan, "a span of its own: $parts")
        // The inner call gave no timeout: it carries the outer call's deadline.
        assertEquals(true, outer["has_deadline"])
        assertEquals(true, inner["has_deadline"], "the deadline is inherited")
        assertTrue((inner["remaining_ms"] as Long) <= (outer["remaining_ms"] as Long), "$inner vs $outer")
    }

    @ParameterizedTest
    @ValueSource(strings = ["HopIo", "LaunchDefault", "BlockingScoped"])
    fun `a detached call after a hop keeps the trace and drops the deadline`(method: String) {
        val traceId = "5bf92f3577b34da6a3ce929d0e0e47" + method.length.toString().padStart(2, '0')
        val pair = hop(method, traceId, mapOf("detach" to true))
        val inner = pair.part("inner")
        assertEquals(true, pair["hopped"])
        assertEquals(traceId, inner["trace_id"])
        assertNotEquals(true, inner["has_deadline"], "detached: no deadline")
    }

    @ParameterizedTest
    @ValueSource(strings = ["HopIo", "LaunchDefault", "BlockingScoped"])
    fun `cancelling the outer call cancels the call made after a hop`(method: String) {
        val tag = "cancel-$method"
        val token = CancelToken()
        val req = mapOf("wait" to true, "tag" to tag)
        val caller = Thread {
            runCatching {
                if (method == "BlockingScoped") {
                    front.callWithMetadata("ktrace.v1.Front/$method", req, Duration.ofSeconds(20), cancel = token)
                } else {
                    front.stream("ktrace.v1.Front/$method", req, Duration.ofSeconds(20), cancel = token).use { it.next() }
                }
            }
        }.apply { isDaemon = true; start() }
        started.computeIfAbsent(tag) { CompletableFuture() }.get(10, TimeUnit.SECONDS)
        token.cancel()
        assertTrue(future(cancelled, tag).get(15, TimeUnit.SECONDS), "the inner handler saw its call cancelled")
        caller.join(10_000)
        assertFalse(caller.isAlive)
    }

    @Test
    fun `a coroutine a blocking handler starts without its scope starts a new trace`() {
        // What `ctx.scope()` is for: runBlocking from a plain thread carries no thread-locals.
        val traceId = "6bf92f3577b34da6a3ce929d0e0e4736"
        val pair = hop("BlockingBare", traceId)
        val inner = pair.part("inner")
        assertEquals(true, pair["hopped"])
        assertNotEquals(traceId, inner["trace_id"])
        assertNotEquals(true, inner["has_deadline"])
        assertNotEquals(true, pair["scoped"])
        assertEquals(null, CallScope.current(), "no handler runs on the test's thread")
    }
}
