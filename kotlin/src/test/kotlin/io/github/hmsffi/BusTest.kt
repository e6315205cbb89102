package io.github.hmsffi

import io.github.hmsffi.ffi.HmsException
import java.io.File
import java.math.BigDecimal
import java.time.Duration
import java.time.LocalDate
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.retry
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.assertThrows

/**
 * Publish/subscribe (docs/messaging.md): wildcards, queue groups, typed errors, drop counting
 * and close on the in-process bus; over a nats-server of the test's own (skipped, saying so,
 * when scripts/install-nats.sh has not installed it): the subscriber's own declaration checks
 * each event, and an event a Python process published arrives.
 */
@Timeout(60)
class BusTest {
    private val proto = shopProto
    private val schema = Schema.fromSource("shop.proto", proto)
    private val wait = Duration.ofMillis(200)

    private fun declared(bus: Bus): Bus = shopDeclared(bus)

    private fun order(id: String) = shopOrder(id)

    /** "topic:id" of the events that come within [wait] of each other. */
    private fun collect(sub: Subscription): List<String> =
        generateSequence { sub.next(wait) }.map { "${it.topic}:${it.message["id"]}" }.toList()

    @Test
    fun `wildcards and queue groups`(): Unit = declared(Bus(schema)).use { bus ->
        val all = bus.subscribe("orders.>")
        val eu = bus.subscribe("orders.eu.*")
        val q1 = bus.subscribe("orders.>", queue = "workers")
        val q2 = bus.subscribe("orders.>", queue = "workers")
        for (t in listOf("orders.eu.paris", "orders.us", "orders.eu.rome")) bus.publish(t, order(t.takeLast(2)))
        assertEquals(listOf("orders.eu.paris:is", "orders.us:us", "orders.eu.rome:me"), collect(all))
        assertEquals(listOf("orders.eu.paris:is", "orders.eu.rome:me"), collect(eu))
        assertEquals(3, collect(q1).size + collect(q2).size)
        listOf(all, eu, q1, q2).forEach { it.close() }
    }

    @Test
    fun `typed errors for a bad topic, an undeclared one and a wrong field`(): Unit = declared(Bus(schema)).use { bus ->
        assertThrows<HmsException.InvalidArgument> { bus.publish("orders.*", order("a")) }
        val undeclared = assertThrows<HmsException.NotFound> { bus.publish("nowhere.eu", order("a")) }
        assertEquals("UNDECLARED_TOPIC", undeclared.details.errorInfo?.reason)
        val wrong = assertThrows<HmsException.InvalidArgument> { bus.publish("orders.eu", mapOf("cents" to "many")) }
        assertEquals(listOf("cents"), wrong.details.fieldViolations.map { it.field })
        assertThrows<HmsException.InvalidArgument> { bus.subscribe("a.>.b") }
        assertThrows<HmsException.NotFound> { bus.declare("x.*", "shop.v1.Nope") }
        val raw = assertThrows<HmsException.InvalidArgument> { bus.publishRaw("orders.eu", "shop.v1.Refund", byteArrayOf()) }
        assertEquals("WRONG_MESSAGE_TYPE", raw.details.errorInfo?.reason)
        assertThrows<HmsException.InvalidArgument> { bus.subscribe("orders.>", pending = -1) }
        Unit
    }

    @Test
    fun `a slow subscriber drops and counts`(): Unit = declared(Bus(schema)).use { bus ->
        bus.subscribe("orders.>", pending = 2).use { slow ->
            repeat(5) { bus.publish("orders.eu", order("$it")) }
            assertEquals(3L, slow.dropped)
            assertEquals(listOf("orders.eu:0", "orders.eu:1"), collect(slow))
        }
    }

    @Test
    fun `close ends a blocking next, the iteration and the flow`(): Unit = declared(Bus(schema)).use { bus ->
        val sub = bus.subscribe("orders.>")
        bus.publish("orders.eu", order("x"))
        val seen = mutableListOf<String>()
        val reader = Thread { for (e in sub) seen += e.topic }.apply { start() }
        Thread.sleep(100)
        sub.close() // from another thread than the one iterating
        reader.join(5_000)
        assertTrue(!reader.isAlive && seen == listOf("orders.eu"), "iteration ended after $seen")
        val other = bus.subscribe("orders.>")
        runBlocking {
            val events = async { other.flow().toList() }
            bus.publish("orders.us", order("y"))
            delay(100) // the collector takes the event, then waits for the next

            other.native.unsubscribe()
            assertEquals(listOf("orders.us"), withTimeout(5_000) { events.await() }.map { it.topic })
        }
        assertNull(other.next(Duration.ofSeconds(5)))
        assertTrue(other.isClosed)
        other.close()
    }

    @Test
    fun `the built-in converters apply to events both ways`(): Unit {
        val shop = Schema.load(listOf(File(Conformance.root, "tests/converters/shop.proto").path), listOf())
        Bus(shop).use { bus ->
            bus.declare("orders.*", "shop.v1.Order")
            bus.subscribe("orders.*").use { sub ->
                val order = mapOf("items" to listOf(mapOf("sku" to "a", "price" to BigDecimal("1.50"))), "due" to LocalDate.of(2026, 12, 24))
                bus.publish("orders.eu", order)
                val got = sub.next(Duration.ofSeconds(5))!!.message
                assertEquals(order["due"], got["due"])
                assertEquals(BigDecimal("1.50"), ((got["items"] as List<*>).single() as Map<*, *>)["price"])
            }
        }
    }

    @Test
    fun `over NATS each event is checked by the subscriber declaration`(): Unit = withNats { uri ->
        declared(Bus.connect(uri, schema)).use { publisher ->
            Bus.connect(uri, schema).use { consumer ->
                consumer.declare("orders.>", "shop.v1.OrderPlaced")
                consumer.declare("refunds.*", "shop.v1.OrderPlaced") // believes refunds are orders
                consumer.subscribe(">").use { sub ->
                    publisher.publish("orders.eu", order("o1"))
                    publisher.publish("refunds.eu", mapOf("id" to "r1", "full" to true))
                    publisher.publish("orders.us", order("o2"))
                    assertEquals(Event("orders.eu", order("o1")), sub.next(Duration.ofSeconds(5)))
                    val e = assertThrows<HmsException.InvalidArgument> { sub.next(Duration.ofSeconds(5)) }
                    assertEquals("WRONG_MESSAGE_TYPE", e.details.errorInfo?.reason)
                    // The flow meets no error here; `retry` would go on past one.
                    val rest = runBlocking { withTimeout(5_000) { sub.flow().retry(1) { it is HmsException }.take(1).toList() } }
                    assertEquals(listOf(Event("orders.us", order("o2"))), rest)
                }
            }
        }
    }

    @Test
    fun `an event a Python process published arrives`(): Unit = withNats { uri ->
        val python = File("../target/py-venv/bin/python")
        assumeTrue(python.isFile, "SKIPPED: the Python package is not installed ($python): run make py-install")
        declared(Bus.connect(uri, schema)).use { bus ->
            bus.subscribe("orders.>").use { sub ->
                val script = """
                    import sys, hms_ffi
                    bus = hms_ffi.Bus.connect(sys.argv[1], hms_ffi.Schema.from_source("shop.proto", sys.argv[2]))
                    bus.declare("orders.>", "shop.v1.OrderPlaced")
                    bus.publish("orders.py", {"id": "from-python", "cents": 42})
                """.trimIndent()
                val proc = ProcessBuilder(python.path, "-c", script, uri, proto).redirectErrorStream(true).start()
                val finished = proc.waitFor(60, TimeUnit.SECONDS)
                val output = proc.inputStream.bufferedReader().readText()
                if (!finished) proc.destroyForcibly()
                assertTrue(finished && proc.exitValue() == 0, "python publisher: $output")
                assertEquals(Event("orders.py", mapOf("id" to "from-python", "cents" to 42L)), sub.next(Duration.ofSeconds(10)))
            }
        }
    }
}
