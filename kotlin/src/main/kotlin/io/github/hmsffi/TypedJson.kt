package io.github.hmsffi

import java.math.BigInteger
import java.time.Instant
import java.util.Base64
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long

/**
 * Kotlin values ⇄ the typed JSON text that crosses the boundary (docs/uniffi.md).
 *
 * | Kotlin | typed JSON |
 * | --- | --- |
 * | `null`, `Boolean`, `String` | `null`, `true`, `"text"` |
 * | `Int`, `Long`, `Short`, `Byte`, `BigInteger` | integer, or `{"$int": "…"}` beyond ±2^53 |
 * | `Double`, `Float` | number with a fraction or exponent, `{"$float": "nan"}` … |
 * | `ByteArray` | `{"$bytes": "<base64>"}` |
 * | `Instant` | `{"$timestamp": "2024-02-29T12:34:56.789Z"}` |
 * | `java.time.Duration` | `{"$duration": "1.500s"}` |
 * | `List`, `Array`, `Map` (keys as text) | array, object |
 *
 * Replies come back as `Long` (or `BigInteger` beyond 64 bits), `Double`, `String`, `Boolean`,
 * `ByteArray`, `Instant`, `java.time.Duration`, `List<Any?>` and `Map<String, Any?>`. The core
 * checks every value against the method's schema; this file only converts.
 */
object TypedJson {
    private const val EXACT = 1L shl 53

    /** The typed JSON text of a Kotlin value. */
    fun encode(value: Any?): String = toJson(value).toString()

    /** The Kotlin value of typed JSON text. */
    fun decode(text: String): Any? = fromJson(Json.parseToJsonElement(text))

    private fun tag(name: String, text: String) = JsonObject(mapOf("\$$name" to JsonPrimitive(text)))

    private fun integer(n: BigInteger): JsonElement =
        if (n.bitLength() <= 53) JsonPrimitive(n.toLong()) else tag("int", n.toString())

    /** A Kotlin value as a JSON tree. */
    fun toJson(value: Any?): JsonElement = toJson(value, null)

    /** [toJson] with a converter walk: a sent object of a converter's type goes through it. */
    internal fun toJson(value: Any?, walk: ConverterSet.Walk?): JsonElement {
        val c = if (walk != null && value != null) walk.of(value) else null
        if (c != null) return toJson(walk!!.toMessage(c, value!!), walk)
        return when (value) {
            null -> JsonNull
            is JsonElement -> value
            is Boolean -> JsonPrimitive(value)
            is String -> JsonPrimitive(value)
            is Byte, is Short, is Int -> JsonPrimitive((value as Number).toLong())
            is Long -> if (value in -EXACT..EXACT) JsonPrimitive(value) else tag("int", value.toString())
            is BigInteger -> integer(value)
            is Float -> float(value.toDouble())
            is Double -> float(value)
            is ByteArray -> tag("bytes", Base64.getEncoder().encodeToString(value))
            is Instant -> tag("timestamp", value.toString())
            is java.time.Duration -> tag("duration", durationText(value))
            is Map<*, *> -> JsonObject(
                value.entries.associate { (k, v) ->
                    val key = k.toString()
                    key to if (walk == null) toJson(v, null) else walk.at(key) { toJson(v, walk) }
                },
            )
            is Iterable<*> -> JsonArray(items(value.toList(), walk))
            is Array<*> -> JsonArray(items(value.toList(), walk))
            // Anything else is sent as its text, so the core reports it at its path.
            else -> JsonPrimitive(value.toString())
        }
    }

    private fun items(list: List<Any?>, walk: ConverterSet.Walk?): List<JsonElement> =
        list.mapIndexed { i, v -> if (walk == null) toJson(v, null) else walk.at(i) { toJson(v, walk) } }

    private fun float(x: Double): JsonElement = when {
        x.isNaN() -> tag("float", "nan")
        x == Double.POSITIVE_INFINITY -> tag("float", "inf")
        x == Double.NEGATIVE_INFINITY -> tag("float", "-inf")
        else -> JsonPrimitive(x) // Double.toString keeps a fraction or an exponent: 1.0, 1.0E39
    }

    private fun durationText(d: java.time.Duration): String {
        val negative = d.isNegative
        val abs = d.abs()
        val nanos = abs.nano
        val frac = when {
            nanos == 0 -> ""
            nanos % 1_000_000 == 0 -> ".%03d".format(nanos / 1_000_000)
            nanos % 1_000 == 0 -> ".%06d".format(nanos / 1_000)
            else -> ".%09d".format(nanos)
        }
        return (if (negative) "-" else "") + abs.seconds + frac + "s"
    }

    private fun parseDuration(s: String): java.time.Duration {
        val negative = s.startsWith("-")
        val body = s.removePrefix("-").removeSuffix("s")
        val whole = body.substringBefore('.')
        val frac = body.substringAfter('.', "").padEnd(9, '0')
        val d = java.time.Duration.ofSeconds(whole.toLong(), frac.toLong())
        return if (negative) d.negated() else d
    }

    /** A JSON tree as a Kotlin value (tags resolved). */
    fun fromJson(j: JsonElement): Any? = fromJson(j, null)

    /**
     * [fromJson] with a converter walk: a value the core converted (`$converted`) goes through
     * its converter (without a walk, it stays the message).
     */
    internal fun fromJson(j: JsonElement, walk: ConverterSet.Walk?): Any? = when (j) {
        is JsonNull -> null
        is JsonPrimitive -> when {
            j.isString -> j.content
            j.content == "true" -> true
            j.content == "false" -> false
            j.content.any { it == '.' || it == 'e' || it == 'E' } -> j.content.toDouble()
            else -> j.content.toBigInteger().let { if (it.bitLength() < 64) it.toLong() else it }
        }
        is JsonArray -> j.mapIndexed { i, v -> if (walk == null) fromJson(v, null) else walk.at(i) { fromJson(v, walk) } }
        is JsonObject -> {
            val key = j.keys.singleOrNull()
            when {
                key == "\$converted" -> converted(j.getValue(key) as JsonObject, walk)
                key != null && key.startsWith("$") -> tagged(key.substring(1), j.getValue(key))
                else -> j.mapValues { (k, v) -> if (walk == null) fromJson(v, null) else walk.at(k) { fromJson(v, walk) } }
            }
        }
    }

    private fun converted(o: JsonObject, walk: ConverterSet.Walk?): Any? {
        val message = fromJson(o.getValue("value"), walk)
        return walk?.fromMessage(o.getValue("index").jsonPrimitive.long.toInt(), message) ?: message
    }

    private fun tagged(tag: String, v: JsonElement): Any? = when (tag) {
        "int" -> v.jsonPrimitive.content.toBigInteger().let { if (it.bitLength() < 64) it.toLong() else it }
        "float" -> when (val t = v.jsonPrimitive.content) {
            "nan" -> Double.NaN
            "inf" -> Double.POSITIVE_INFINITY
            "-inf" -> Double.NEGATIVE_INFINITY
            else -> t.toDouble()
        }
        "bytes" -> Base64.getDecoder().decode(v.jsonPrimitive.content)
        "bytes_fill" -> (v as JsonObject).let { o ->
            ByteArray(o.getValue("len").jsonPrimitive.long.toInt()) { o.getValue("byte").jsonPrimitive.long.toByte() }
        }
        "string_fill" -> (v as JsonObject).let { o ->
            o.getValue("text").jsonPrimitive.content.repeat(o.getValue("count").jsonPrimitive.long.toInt())
        }
        "timestamp" -> Instant.parse(v.jsonPrimitive.content)
        "duration" -> parseDuration(v.jsonPrimitive.content)
        else -> throw IllegalArgumentException("unknown typed JSON tag \$$tag")
    }
}
