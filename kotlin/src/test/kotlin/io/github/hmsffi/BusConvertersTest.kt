package io.github.hmsffi

import io.github.hmsffi.ffi.HmsException
import java.io.File
import java.math.BigDecimal
import java.nio.file.Path
import java.time.Duration
import java.time.LocalDate
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/**
 * Converters on the bus (docs/converters.md, "On the bus"): the events a [Bus] publishes and
 * receives, and the deliveries of its durable subscriptions, go through its converters (the
 * built-ins by default, as for [Client.connect]), in process and over a nats-server of the
 * test's own. A converter that throws is `InvalidArgument` with the value's path, and the
 * subscription goes on with the next event.
 */
@Timeout(60)
class BusConvertersTest {
    private val schema = Schema.load(listOf(File(Conformance.root, "tests/converters/shop.proto").path), listOf())
    private val wait = Duration.ofSeconds(5)

    /** The built-in Decimal, except that it refuses to make 13 on the way in. */
    private val picky = Converter.message<BigDecimal>(
        "google.type.Decimal",
        { mapOf("value" to it.toPlainString()) },
        { m -> (m["value"] as String).let { if (it == "13") throw IllegalArgumentException("unlucky") else BigDecimal(it) } },
    )
    private val convs = Converters.BUILTINS + picky

    @TempDir
    lateinit var store: Path

    private fun order(id: String, last: String = "0.25"): Map<String, Any?> = mapOf(
        "items" to listOf(mapOf("sku" to id, "price" to BigDecimal("1")), mapOf("sku" to "b", "price" to BigDecimal(last))),
        "total" to Money(BigDecimal("12.345"), "EUR"),
        "due" to LocalDate.of(2026, 12, 24),
    )

    /** [message] is [order] ([id]) with its Kotlin types. */
    private fun assertConverted(message: Map<String, Any?>, id: String) {
        val items = message["items"] as List<*>
        assertEquals(id, (items[0] as Map<*, *>)["sku"])
        assertEquals(BigDecimal("0.25"), (items[1] as Map<*, *>)["price"])
        assertEquals(Money(BigDecimal("12.345"), "EUR"), message["total"])
        assertEquals(LocalDate.of(2026, 12, 24), message["due"])
    }

    private fun assertRefused(e: HmsException.InvalidArgument) {
        assertEquals("items[1].price", e.violationPaths.single())
        assertTrue(e.details.fieldViolations[0].description.contains("unlucky"), e.details.fieldViolations[0].description)
    }

    private fun declared(bus: Bus): Bus = bus.apply { declare("orders.>", "shop.v1.Order") }

    /** A good event, one [consumer]'s converter refuses, another good one. */
    private fun convertBothWays(publisher: Bus, consumer: Bus) {
        consumer.subscribe("orders.*").use { sub ->
            val tooFine = order("x") + ("total" to Money(BigDecimal("0.0000000001"), "EUR"))
            val e = assertThrows<HmsException.InvalidArgument> { publisher.publish("orders.eu", tooFine) }
            assertEquals("total", e.violationPaths.single())
            publisher.publish("orders.eu", order("o1"))
            publisher.publish("orders.eu", order("o2", last = "13"))
            publisher.publish("orders.eu", order("o3"))
            val first = sub.next(wait)!!
            assertEquals("orders.eu", first.topic)
            assertConverted(first.message, "o1")
            assertRefused(assertThrows { sub.next(wait) })
            assertConverted(sub.next(wait)!!.message, "o3")
        }
    }

    @Test
    fun `events convert both ways in process`() {
        declared(Bus(schema, convs)).use { convertBothWays(it, it) }
    }

    @Test
    fun `events convert both ways over NATS`(): Unit = withNats { uri ->
        declared(Bus.connect(uri, schema)).use { publisher ->
            declared(Bus.connect(uri, schema, convs)).use { consumer -> convertBothWays(publisher, consumer) }
        }
    }

    @Test
    fun `durable deliveries convert and a refused one does not stop them`(): Unit =
        withNats("-js", "-sd", store.toString()) { nats ->
            val uri = "$nats?jetstream=PRICES"
            declared(Bus.connect(uri, schema)).use { publisher ->
                publisher.publish("orders.eu", order("d1"))
                publisher.publish("orders.eu", order("d2", last = "13"))
                publisher.publish("orders.eu", order("d3"))
            }
            declared(Bus.connect(uri, schema, convs)).use { bus ->
                bus.subscribeDurable("orders.>", "billing", ackWait = Duration.ofSeconds(1)).use { sub ->
                    val first = sub.next(wait)!!
                    assertConverted(first.message, "d1")
                    first.ack()
                    assertRefused(assertThrows { sub.next(wait) })
                    val third = sub.next(wait)!!
                    assertEquals(3L, third.sequence)
                    assertConverted(third.message, "d3")
                    third.ack()
                }
            }
            // A reader without converters gets the refused one again (never answered) as maps.
            declared(Bus.connect(uri, schema, emptyList())).use { raw ->
                raw.subscribeDurable("orders.>", "billing").use { sub ->
                    val again = sub.next(Duration.ofSeconds(10))
                    assertNotNull(again)
                    val items = again!!.message["items"] as List<*>
                    assertEquals(mapOf("value" to "13"), (items[1] as Map<*, *>)["price"])
                    assertEquals(2, again.delivered)
                    again.ack()
                }
            }
        }
}
