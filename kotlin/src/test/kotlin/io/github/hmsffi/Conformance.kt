package io.github.hmsffi

import io.github.hmsffi.ffi.HmsException
import java.io.File
import java.math.BigInteger
import java.time.Duration
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long

/** The shared conformance vectors (tests/conformance) from Kotlin: cases, checks, the service. */
object Conformance {
    const val SERVICE = "hms.conformance.v1.Conformance"

    /** The repository root (the working directory is kotlin/ under Maven). */
    val root: File = generateSequence(File("").absoluteFile) { it.parentFile }
        .first { File(it, "tests/conformance/conformance.proto").exists() }

    val proto: String get() = File(root, "tests/conformance/conformance.proto").path

    /** One vector. */
    class Case(val id: String, val method: String, val request: Any?, val timeout: Duration, val expect: JsonObject) {
        override fun toString() = id
    }

    /** Every vector of every file, in file order. */
    fun cases(): List<Case> = File(root, "tests/conformance/vectors").listFiles()!!
        .filter { it.name.endsWith(".json") }.sortedBy { it.name }
        .flatMap { file ->
            Json.parseToJsonElement(file.readText()).jsonObject.getValue("cases").jsonArray.map { c ->
                val o = c.jsonObject
                Case(
                    id = file.nameWithoutExtension + "/" + o.getValue("name").jsonPrimitive.content,
                    method = o.getValue("method").jsonPrimitive.content,
                    request = TypedJson.fromJson(o.getValue("request")),
                    timeout = Duration.ofMillis(o["timeout_ms"]?.jsonPrimitive?.long ?: 30_000),
                    expect = o.getValue("expect").jsonObject,
                )
            }
        }

    /** Runs one case as a client; null when it passes, else why not. */
    fun check(case: Case, client: Client): String? {
        val outcome = try {
            Result.success(client.call(case.method, case.request, timeout = case.timeout))
        } catch (e: HmsException) {
            Result.failure(e)
        }
        case.expect["reply"]?.let { want ->
            val reply = outcome.getOrElse { return "expected a reply, got ${it.message}" }
            return same(reply, TypedJson.fromJson(want), "")
        }
        val exp = case.expect.getValue("error").jsonObject
        val code = exp.getValue("code").jsonPrimitive.content
        val err = outcome.exceptionOrNull() as HmsException? ?: return "expected $code, got ${outcome.getOrNull()}"
        return checkError(err, exp)
    }

    /** An error against a case's expected one; null when it matches, else why not. */
    fun checkError(err: HmsException, exp: JsonObject): String? {
        val code = exp.getValue("code").jsonPrimitive.content
        if (err.code.name != code) return "expected $code, got ${err.code}: ${err.msg}"
        exp["message_contains"]?.jsonPrimitive?.content?.let {
            if (!err.msg.contains(it)) return "message ${err.msg} lacks $it"
        }
        (exp["violations"] as JsonArray?)?.let { paths ->
            val want = paths.map { it.jsonPrimitive.content }.toSet()
            if (err.violationPaths.toSet() != want) return "violations ${err.violationPaths}, expected $want (${err.msg})"
        }
        return null
    }

    private fun number(v: Any?): BigInteger? = when (v) {
        is Long -> BigInteger.valueOf(v)
        is BigInteger -> v
        else -> null
    }

    /** Compares a reply with the expected value by the vectors' rules; null when equal. */
    fun same(actual: Any?, expected: Any?, path: String): String? {
        val differ = "at $path: got ${show(actual)}, expected ${show(expected)}"
        return when (expected) {
            is Map<*, *> -> {
                if (actual !is Map<*, *>) return differ
                if (actual.size != expected.size) return "at $path: ${actual.size} entries, expected ${expected.size}"
                expected.entries.firstNotNullOfOrNull { (k, v) ->
                    if (!actual.containsKey(k)) "at $path: missing $k" else same(actual[k], v, "$path.$k")
                }
            }
            is List<*> -> {
                if (actual !is List<*> || actual.size != expected.size) return differ
                expected.indices.firstNotNullOfOrNull { same(actual[it], expected[it], "$path[$it]") }
            }
            is Double -> if (actual is Double && (actual == expected || (actual.isNaN() && expected.isNaN()))) null else differ
            is ByteArray -> if (actual is ByteArray && actual.contentEquals(expected)) null else differ
            is Long, is BigInteger -> if (number(actual) == number(expected)) null else differ
            else -> if (actual == expected) null else differ
        }
    }

    private fun show(v: Any?): String = when (v) {
        is ByteArray -> "bytes(${v.size})"
        is String -> if (v.length > 80) "str(${v.length})" else "\"$v\""
        else -> v.toString().take(200)
    }

    /** A server implementing the conformance service with Kotlin handlers. */
    /** The conformance server; [flows]: its streaming methods served by suspending `Flow` handlers. */
    fun server(flows: Boolean = false): Server {
        val server = Server(Schema.load(listOf(proto), listOf()))
        for (m in listOf("Echo", "EchoScalars")) server.method("$SERVICE/$m") { req, _ -> req }
        server.method("$SERVICE/Fail") { req, _ -> throw Semantics.failError(req) }
        server.method("$SERVICE/Sleep") { req, ctx ->
            val until = System.nanoTime() + (req["millis"] as Long) * 1_000_000
            while (System.nanoTime() < until) {
                if (ctx.isCancelled()) throw hmsError(Code.CANCELLED, "sleep cancelled")
                Thread.sleep(5)
            }
            emptyMap<String, Any?>()
        }
        Semantics.serve(server)
        if (flows) StreamVectors.serveFlows(server) else StreamVectors.serve(server)
        return server
    }
}
