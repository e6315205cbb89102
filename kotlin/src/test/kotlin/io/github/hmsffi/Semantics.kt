package io.github.hmsffi

import io.github.hmsffi.ffi.CallContext
import io.github.hmsffi.ffi.CallReply
import io.github.hmsffi.ffi.ErrorInfo
import io.github.hmsffi.ffi.FieldViolation
import io.github.hmsffi.ffi.Handler
import io.github.hmsffi.ffi.HmsException
import java.io.File
import java.time.Duration
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long

/** The call-semantics cases (tests/conformance/semantics) from Kotlin: cases, checks, the service. */
object Semantics {
    const val SERVICE = "hms.conformance.v1.Semantics"
    private val dir get() = File(Conformance.root, "tests/conformance/semantics")

    /** One case, as written in calls.json. */
    class Case(val name: String, val o: JsonObject) {
        val method = o.getValue("method").jsonPrimitive.content
        val expect = o.getValue("expect").jsonObject
        override fun toString() = name
    }

    fun cases(): List<Case> = Json.parseToJsonElement(File(dir, "calls.json").readText())
        .jsonObject.getValue("cases").jsonArray.map { Case(it.jsonObject.getValue("name").jsonPrimitive.content, it.jsonObject) }

    /** The written reasons Kotlin skips cases with in [role] (`client`, `server`). */
    fun skips(role: String): Map<String, String> =
        (Json.parseToJsonElement(File(dir, "skips.json").readText()).jsonObject["kotlin"]?.jsonObject?.get(role) as JsonObject?)
            ?.mapValues { it.value.jsonPrimitive.content } ?: emptyMap()

    /** An empty list inside [n] lists, as JSON text, built without recursion. */
    fun nestText(n: Int): String = "[".repeat(n + 1) + "]".repeat(n + 1)

    /** The request as typed JSON text: `"$self"` is [self], `{"$nest_list": N}` N lists deep. */
    fun requestText(request: JsonElement, self: String): String {
        val nests = mutableListOf<Int>()
        fun walk(j: JsonElement): JsonElement = when {
            j is JsonPrimitive && j.isString && j.content == "\$self" -> JsonPrimitive(self)
            j is JsonObject && j.size == 1 && j.containsKey("\$nest_list") -> {
                nests += j.getValue("\$nest_list").jsonPrimitive.long.toInt()
                JsonPrimitive("@nest${nests.size - 1}@")
            }
            j is JsonObject -> JsonObject(j.mapValues { walk(it.value) })
            j is JsonArray -> JsonArray(j.map { walk(it) })
            else -> j
        }
        var text = walk(request).toString()
        nests.forEachIndexed { i, n -> text = text.replace("\"@nest$i@\"", nestText(n)) }
        return text
    }

    private val timer = Executors.newSingleThreadScheduledExecutor { r -> Thread(r).apply { isDaemon = true } }

    /** Runs one case as a client of [uri]; null when it passes, else why not. */
    fun check(case: Case, client: Client, uri: String): String? {
        val o = case.o
        val metadata = (o["metadata"] as JsonObject?)?.mapValues { it.value.jsonPrimitive.content } ?: emptyMap()
        val timeout = o["timeout_ms"]?.jsonPrimitive?.long?.let { Duration.ofMillis(it) }
        val cancel = o["cancel_after_ms"]?.jsonPrimitive?.long?.let { ms ->
            CancelToken().also { t -> timer.schedule({ t.cancel() }, ms, TimeUnit.MILLISECONDS) }
        }
        val on = if (o["client"]?.jsonPrimitive?.content == "closed") Client.connect(uri).also { it.disconnect() } else client
        val outcome: Result<CallReply> = try {
            Result.success(on.native.callWithMetadata(case.method, requestText(o.getValue("request"), uri),
                options(timeout, metadata, cancel)))
        } catch (e: HmsException) {
            Result.failure(e)
        } finally {
            if (on !== client) on.close()
        }
        val err = outcome.exceptionOrNull() as HmsException?
        val headers = outcome.getOrNull()?.headers ?: err!!.headers
        val trailers = outcome.getOrNull()?.trailers ?: err!!.trailers
        checkOutcome(case.expect, outcome.getOrNull(), err)?.let { return it }
        for ((key, got) in listOf("headers" to headers, "trailers" to trailers)) {
            (case.expect[key] as JsonObject?)?.forEach { (k, v) ->
                if (got.firstValue(k) != v.jsonPrimitive.content) return "$key[$k] = ${got.firstValue(k)}, expected $v (all: $got)"
            }
        }
        return null
    }

    private fun checkOutcome(expect: JsonObject, reply: CallReply?, err: HmsException?): String? {
        expect["reply"]?.let { want ->
            if (reply == null) return "expected a reply, got ${err!!.message}"
            return Conformance.same(TypedJson.decode(reply.message), TypedJson.fromJson(want), "")
        }
        val exp = expect.getValue("error").jsonObject
        val code = exp.getValue("code").jsonPrimitive.content
        if (err == null) return "expected $code, got ${reply!!.message.take(200)}"
        if (err.code.name != code) return "expected $code, got ${err.code}: ${err.msg}"
        exp["message_contains"]?.jsonPrimitive?.content?.let { if (!err.msg.contains(it)) return "message ${err.msg} lacks $it" }
        (exp["violations"] as JsonArray?)?.let { paths ->
            val want = paths.map { it.jsonPrimitive.content }
            if (err.violationPaths != want) return "violations ${err.violationPaths}, expected $want"
        }
        exp["reason"]?.jsonPrimitive?.content?.let {
            if (err.details.errorInfo?.reason != it) return "reason ${err.details.errorInfo}, expected $it"
        }
        (exp["origin"] as JsonObject?)?.let { want ->
            val origin = err.details.origin
            if (origin?.service != want["service"]?.jsonPrimitive?.content || origin?.method != want["method"]?.jsonPrimitive?.content) {
                return "origin $origin, expected $want"
            }
        }
        return null
    }

    /** Every case against [uri]: FAIL/SKIP lines and "N passed, M failed, K skipped"; the failures. */
    /** Runs every case; prints the last line with `passed0`/`failed0` (earlier cases) added. */
    fun run(uri: String, passed0: Int = 0, failed0: Int = 0, skipped0: Int = 0): Int {
        val skips = skips("client")
        var (passed, failed, skipped) = Triple(passed0, failed0, skipped0)
        Client.connect(uri).use { client ->
            for (case in cases()) {
                val reason = skips[case.name]
                val why = if (reason != null) null else check(case, client, uri)
                when {
                    reason != null -> { skipped++; println("SKIP semantics/${case.name}: $reason") }
                    why != null -> { failed++; println("FAIL semantics/${case.name}: $why") }
                    else -> passed++
                }
            }
        }
        println("$passed passed, $failed failed, $skipped skipped")
        return failed
    }

    /** Conformance/Fail's error: code, message, violations, and an ErrorInfo when a reason is given. */
    fun failError(req: Map<String, Any?>): HmsException {
        val code = codeOf(req["code"] as String) ?: Code.UNKNOWN
        val paths = (req["violation_paths"] as List<*>? ?: emptyList<Any>()).map { it as String }
        val reason = req["reason"] as String? ?: ""
        val d = ErrorDetails(
            fieldViolations = paths.map { FieldViolation(it, "rejected by the handler") },
            errorInfo = if (reason.isEmpty()) null else ErrorInfo(reason, "conformance.example", mapOf("case" to reason)),
        )
        return hmsError(code, req["message"] as String, d)
    }

    /**
     * Serves Semantics/Context and Semantics/Relay on [server], and the revision conformance-rev
     * (tests/conformance/revision.proto), whose Echo fails with ABORTED.
     */
    fun serve(server: Server) {
        val revision = File(Conformance.root, "tests/conformance/revision.proto").path
        server.addRevision("conformance-rev", Schema.load(listOf(revision), listOf()))
        server.revision("conformance-rev").use { rev ->
            rev.method("${Conformance.SERVICE}/Echo") { req, _ ->
                throw hmsError(Code.ABORTED, "revision ${req["unicode_text"]}")
            }
        }
        server.native.handle("$SERVICE/Context", object : Handler {
            override fun handle(request: String, ctx: CallContext): String = ctx.use { context(request, it) }
        })
        val clients = ConcurrentHashMap<String, Client>()
        server.method("$SERVICE/Relay") { req, _ ->
            val target = clients.computeIfAbsent(req["target"] as String) { Client.connect(it) }
            target.call("${Conformance.SERVICE}/Fail", req["fail"])
        }
    }

    @Suppress("UNCHECKED_CAST")
    private fun context(request: String, ctx: CallContext): String {
        val req = TypedJson.decode(request) as Map<String, Any?>
        (req["set_headers"] as Map<String, Any?>? ?: emptyMap()).forEach { (k, v) -> ctx.setHeader(k, v as String) }
        (req["set_trailers"] as Map<String, Any?>? ?: emptyMap()).forEach { (k, v) -> ctx.setTrailer(k, v as String) }
        val fail = req["fail_code"] as String? ?: ""
        if (fail.isNotEmpty()) throw hmsError(codeOf(fail) ?: Code.UNKNOWN, req["fail_message"] as String? ?: "")
        val nest = (req["nest_reply"] as Long? ?: 0).toInt()
        if (nest > 0) return """{"nested": ${nestText(nest)}}"""
        val md = ctx.metadata().filter { it.key.startsWith("x-conf-") }.groupBy { it.key }.mapValues { it.value.first().value }
        return TypedJson.encode(mapOf("method" to ctx.method(), "metadata" to md,
            "has_deadline" to (ctx.remainingMs() != null), "has_trace_id" to ctx.traceId().isNotEmpty()))
    }
}
