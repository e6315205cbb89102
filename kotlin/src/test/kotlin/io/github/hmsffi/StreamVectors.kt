package io.github.hmsffi

import io.github.hmsffi.ffi.CallContext
import io.github.hmsffi.ffi.HmsException
import java.io.File
import java.time.Duration
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.withIndex
import kotlinx.serialization.json.Json
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.withIndex
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long

/**
 * The streaming conformance vectors (tests/conformance/streams) from Kotlin: the server's
 * streaming methods as tests/conformance/README.md ("Streaming") specifies them, and a client
 * that runs each case. Used by StreamsTest and by the matrix.
 */
object StreamVectors {
    private const val SERVICE = Conformance.SERVICE

    /** One case. */
    class Case(
        val name: String,
        val method: String,
        val requests: List<Any?>,
        val timeout: Duration,
        val cancelAfter: Int?,
        val expect: JsonObject,
    ) {
        override fun toString() = "streams/$name"
    }

    fun cases(): List<Case> =
        Json.parseToJsonElement(File(Conformance.root, "tests/conformance/streams/streams.json").readText())
            .jsonObject.getValue("cases").jsonArray.map { c ->
                val o = c.jsonObject
                Case(
                    name = o.getValue("name").jsonPrimitive.content,
                    method = o.getValue("method").jsonPrimitive.content,
                    requests = o.getValue("requests").jsonArray.map { TypedJson.fromJson(it) },
                    timeout = Duration.ofMillis(o["timeout_ms"]?.jsonPrimitive?.long ?: 30_000),
                    cancelAfter = o["cancel_after_replies"]?.jsonPrimitive?.int,
                    expect = o.getValue("expect").jsonObject,
                )
            }

    private fun aborted(sent: Int) = hmsError(Code.ABORTED, "failed after $sent replies")

    private fun count(req: Map<String, Any?>, key: String): Long? = (req["counts"] as Map<*, *>)[key] as Long?

    private fun pause(ctx: CallContext, millis: Long) {
        val until = System.nanoTime() + millis * 1_000_000
        while (System.nanoTime() < until) {
            if (ctx.isCancelled()) throw hmsError(Code.CANCELLED, "cancelled while streaming")
            Thread.sleep(2)
        }
    }

    /** ServerStream, ClientStream and Bidi on [server]. */
    fun serve(server: Server) {
        server.serverStream("$SERVICE/ServerStream") { req, ctx ->
            sequence {
                for (i in 0 until (count(req, "repeat") ?: 3)) {
                    if (i == count(req, "fail_after")) throw aborted(i.toInt())
                    pause(ctx, count(req, "sleep_ms") ?: 0)
                    yield(req + ("weight_mg" to i))
                }
            }
        }
        server.clientStream("$SERVICE/ClientStream") { requests, _ ->
            var last = emptyMap<String, Any?>()
            var n = 0L
            for (r in requests) {
                last = r
                n++
            }
            last + ("weight_mg" to n)
        }
        server.bidiStream("$SERVICE/Bidi") { requests, _ ->
            requests.asSequence().mapIndexed { i, r ->
                if (count(r, "fail") != null) throw aborted(i)
                r + ("weight_mg" to i.toLong())
            }
        }
    }

    /**
     * The same three methods with suspending handlers ([Server.serverStreamFlow],
     * [Server.clientStreamFlow], [Server.bidiStreamFlow]): requests in as a `Flow`, replies out as
     * a `Flow`, pauses as `delay` (which the call's cancellation interrupts).
     */
    fun serveFlows(server: Server) {
        server.serverStreamFlow("$SERVICE/ServerStream") { req, _ ->
            flow {
                for (i in 0 until (count(req, "repeat") ?: 3)) {
                    if (i == count(req, "fail_after")) throw aborted(i.toInt())
                    delay(count(req, "sleep_ms") ?: 0)
                    emit(req + ("weight_mg" to i))
                }
            }
        }
        server.clientStreamFlow("$SERVICE/ClientStream") { requests, _ ->
            var last = emptyMap<String, Any?>()
            var n = 0L
            requests.collect {
                last = it
                n++
            }
            last + ("weight_mg" to n)
        }
        server.bidiStreamFlow("$SERVICE/Bidi") { requests, _ ->
            requests.withIndex().map { (i, r) ->
                if (count(r, "fail") != null) throw aborted(i)
                r + ("weight_mg" to i.toLong())
            }
        }
    }

    /** Whether the server streams (a binding without streams answers UNIMPLEMENTED). */
    fun serverStreams(client: Client): Boolean = try {
        client.stream("$SERVICE/ServerStream", mapOf("counts" to mapOf("repeat" to 0L))).use { it.forEach { } }
        true
    } catch (e: HmsException.Unimplemented) {
        false
    }

    /** Runs one case as a client; null when it passes, else why not. */
    fun check(case: Case, client: Client): String? {
        val sent: Any? = if (case.method.endsWith("/ServerStream")) case.requests[0] else case.requests
        val started = System.nanoTime()
        val replies = mutableListOf<Map<String, Any?>>()
        val error = try {
            client.stream(case.method, sent, timeout = case.timeout).use { stream ->
                for (reply in stream) {
                    replies.add(reply)
                    if (replies.size == case.cancelAfter) stream.cancel()
                }
            }
            null
        } catch (e: HmsException) {
            e
        }
        val exp = case.expect["error"]?.jsonObject
        if (exp != null) {
            val code = exp.getValue("code").jsonPrimitive.content
            if (error == null) return "expected $code, the stream ended with ${replies.size} replies"
            Conformance.checkError(error, exp)?.let { return it }
        } else if (error != null) {
            return "expected the stream to end, got ${error.code}: ${error.msg}"
        }
        if (case.cancelAfter != null && System.nanoTime() - started > 5_000_000_000) return "a cancelled stream did not end promptly"
        case.expect["count"]?.jsonPrimitive?.int?.let { if (replies.size != it) return "${replies.size} replies, expected $it" }
        case.expect["replies"]?.jsonArray?.let { want ->
            if (replies.size != want.size) return "${replies.size} replies, expected ${want.size}"
            want.forEachIndexed { i, w -> Conformance.same(replies[i], TypedJson.fromJson(w), "[$i]")?.let { return it } }
        }
        return null
    }

    /** Every case against [client]: (passed, failed, skipped), printing FAIL lines, or one SKIP line. */
    fun run(client: Client): Triple<Int, Int, Int> {
        val cases = cases()
        if (!serverStreams(client)) {
            println("SKIP streams: the server answers UNIMPLEMENTED (its binding does not stream yet); ${cases.size} cases")
            return Triple(0, 0, cases.size)
        }
        var failed = 0
        for (case in cases) {
            val why = check(case, client) ?: continue
            failed++
            println("FAIL $case: $why")
        }
        return Triple(cases.size - failed, failed, 0)
    }
}
