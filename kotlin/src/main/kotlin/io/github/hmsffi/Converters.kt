package io.github.hmsffi

import io.github.hmsffi.ffi.ConverterTarget
import io.github.hmsffi.ffi.PathSegment
import io.github.hmsffi.ffi.converterError
import java.math.BigDecimal
import java.math.BigInteger
import java.time.LocalDate
import java.util.UUID

/**
 * A converter between a protobuf message type (or the `string` fields declared with a format,
 * `[(hms.ffi.v1.format) = "uuid"]`) and a Kotlin type of your own (docs/converters.md):
 *
 * ```kotlin
 * val point = Converter.message<Point>("geo.v1.Point",
 *     toMessage = { mapOf("lat" to it.lat, "lng" to it.lng) },
 *     fromMessage = { Point(it["lat"] as Double, it["lng"] as Double) })
 * val client = Client.connect(uri, converters = Converters.BUILTINS + point)
 * ```
 *
 * The core decides where a received value converts (a value of the message type, or a field
 * declared with the format, at any depth, in lists and map values): [fromMessage] gets the
 * message as a `Map` (the text, for a format). A sent object of [type] goes through [toMessage].
 * One that throws is `HmsException.InvalidArgument` with the value's path in its field
 * violations (`Internal` for a handler's reply).
 */
class Converter(
    /** What it applies to. */
    val target: ConverterTarget,
    /** The Kotlin type it makes; sent instances of it convert. */
    val type: Class<*>,
    /** A [type] value as the message's `Map` (or the field's text). */
    val toMessage: (Any) -> Any?,
    /** The message's `Map` (or the text) as a [type] value. */
    val fromMessage: (Any?) -> Any,
) {
    /** How errors name it: the message type, or `format uuid`. */
    val targetName: String
        get() = when (val t = target) {
            is ConverterTarget.Message -> t.name
            is ConverterTarget.Format -> "format ${t.name}"
        }

    companion object {
        /** A converter for the message type [name] (`google.type.Decimal`). */
        inline fun <reified T : Any> message(
            name: String,
            noinline toMessage: (T) -> Map<String, Any?>,
            noinline fromMessage: (Map<String, Any?>) -> T,
        ): Converter = Converter(
            ConverterTarget.Message(name),
            T::class.java,
            { toMessage(it as T) },
            {
                @Suppress("UNCHECKED_CAST")
                fromMessage(it as Map<String, Any?>)
            },
        )

        /** A converter for the `string` fields declared with the format [name] (`uuid`). */
        inline fun <reified T : Any> format(
            name: String,
            noinline toMessage: (T) -> String,
            noinline fromMessage: (String) -> T,
        ): Converter = Converter(ConverterTarget.Format(name), T::class.java, { toMessage(it as T) }, { fromMessage(it as String) })
    }
}

/** A `google.type.Money`: one exact [amount] (up to nine decimal places) and its ISO 4217 [currency]. */
data class Money(val amount: BigDecimal, val currency: String)

/**
 * The built-in converters, on by default in [Client.connect] and [Server]: `google.type.Decimal`
 * ⇄ [BigDecimal], `google.type.Money` ⇄ [Money], `google.type.Date` ⇄ [LocalDate] (full dates;
 * partial ones fail to convert) and the `uuid` format ⇄ [UUID]. `emptyList()` turns them off.
 */
object Converters {
    private val NANOS = BigDecimal.valueOf(1_000_000_000L)

    val DECIMAL = Converter.message<BigDecimal>(
        "google.type.Decimal",
        { mapOf("value" to it.toPlainString()) },
        { BigDecimal((it["value"] as String?).orEmpty().ifEmpty { "0" }) },
    )

    val MONEY = Converter.message<Money>(
        "google.type.Money",
        { m ->
            val units = m.amount.toBigInteger() // toward zero: units and nanos share the sign
            val nanos = (m.amount - BigDecimal(units)) * NANOS
            require(nanos.stripTrailingZeros().scale() <= 0) { "${m.amount} has more than nine decimal places" }
            mapOf("currency_code" to m.currency, "units" to units.longValueExact(), "nanos" to nanos.intValueExact())
        },
        { m ->
            val units = BigDecimal(BigInteger.valueOf((m["units"] as Number).toLong()))
            Money(units + BigDecimal.valueOf((m["nanos"] as Number).toLong()).divide(NANOS), m["currency_code"] as String)
        },
    )

    val DATE = Converter.message<LocalDate>(
        "google.type.Date",
        { mapOf("year" to it.year, "month" to it.monthValue, "day" to it.dayOfMonth) },
        { LocalDate.of((it["year"] as Number).toInt(), (it["month"] as Number).toInt(), (it["day"] as Number).toInt()) },
    )

    val UUID_FORMAT = Converter.format<UUID>("uuid", { it.toString() }, { UUID.fromString(it) })

    /** The four built-ins. */
    val BUILTINS: List<Converter> = listOf(DECIMAL, MONEY, DATE, UUID_FORMAT)
}

/**
 * The converters of a client or server as its values cross: [encode] makes sent objects of a
 * converter's type message-shaped, [decode] hands each value the core marked to its converter.
 * A failure is the core's error at the value's path ([converterError]).
 */
internal class ConverterSet(val list: List<Converter>) {
    /** The targets, in order: converter `i` is the core's mark `i`. */
    val targets: List<ConverterTarget> get() = list.map { it.target }

    /** [value] as typed JSON text; a handler's [reply] failing to convert is `Internal`. */
    fun encode(value: Any?, reply: Boolean = false): String =
        if (list.isEmpty()) TypedJson.encode(value) else TypedJson.toJson(value, Walk(reply)).toString()

    /** The Kotlin value of typed JSON text, converted values made native. */
    fun decode(text: String): Any? =
        if (list.isEmpty()) TypedJson.decode(text) else TypedJson.fromJson(kotlinx.serialization.json.Json.parseToJsonElement(text), Walk(false))

    /** One walk over a value: the path so far, to report a failure at. */
    inner class Walk(private val reply: Boolean) {
        private val path = ArrayDeque<PathSegment>()

        /** Runs [body] inside the map entry or field [key]. */
        fun <T> at(key: String, body: () -> T): T = inside(PathSegment.Key(key), body)

        /** Runs [body] inside item [index] of a list. */
        fun <T> at(index: Int, body: () -> T): T = inside(PathSegment.Index(index.toULong()), body)

        private fun <T> inside(seg: PathSegment, body: () -> T): T {
            path.addLast(seg)
            try {
                return body()
            } finally {
                path.removeLast()
            }
        }

        /** The converter of [value]'s type, or null. */
        fun of(value: Any): Converter? = list.firstOrNull { it.type.isInstance(value) }

        /** [value] made message-shaped by [c]. */
        fun toMessage(c: Converter, value: Any): Any? = run(c) { c.toMessage(value) }

        /** The read [value] made native by converter [index]. */
        fun fromMessage(index: Int, value: Any?): Any? = list.getOrNull(index)?.let { c -> run(c) { c.fromMessage(value) } } ?: value

        private fun <T> run(c: Converter, body: () -> T): T = try {
            body()
        } catch (t: Exception) {
            converterError(c.targetName, "${t.javaClass.name}: ${t.message ?: ""}", path.reversed(), reply)
            throw IllegalStateException("converterError returned") // never: it always throws
        }
    }
}
