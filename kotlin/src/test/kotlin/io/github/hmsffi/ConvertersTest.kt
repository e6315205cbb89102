package io.github.hmsffi

import io.github.hmsffi.ffi.HmsException
import java.io.File
import java.math.BigDecimal
import java.nio.file.Files
import java.time.Duration
import java.time.LocalDate
import java.util.UUID
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/**
 * Custom domain types (docs/converters.md): the built-ins (`BigDecimal`, [Money], `LocalDate`,
 * `UUID`) and a converter of one's own, on requests and replies, caller and handler side, unary
 * and streamed, over inproc and unix; a converter that throws is `InvalidArgument` with the
 * value's path (`Internal` for a handler's reply).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConvertersTest {
    data class Point(val lat: Double, val lng: Double)

    private val point = Converter.message<Point>(
        "shop.v1.Point",
        { mapOf("lat" to it.lat, "lng" to it.lng) },
        { Point(it["lat"] as Double, it["lng"] as Double) },
    )
    private val all = Converters.BUILTINS + point
    private val dir = Files.createTempDirectory("hms-kotlin-conv-")
    private val schema = Schema.load(listOf(File(Conformance.root, "tests/converters/shop.proto").path), listOf())
    private val seen = java.util.Collections.synchronizedList(mutableListOf<Map<String, Any?>>())
    private val server = shop(all)
    private val plain = shop(emptyList())
    private val uris = listOf(server.listen("inproc://kotlin-conv"), server.listen("unix://$dir/conv.sock"))
    private val plainUri = plain.listen("inproc://kotlin-conv-plain")
    private val timeout = Duration.ofSeconds(10)
    private val id = UUID.fromString("6f1c1a52-3f0e-4d8e-9a43-1f2b6c7d8e9f")

    private fun shop(converters: List<Converter>) = Server(schema, converters = converters).apply {
        method("shop.v1.Shop/Echo") { req, _ -> seen.add(req); req }
        method("shop.v1.Shop/Locate") { req, _ -> seen.add(req); req }
        method("shop.v1.Shop/Bad") { _, _ -> mapOf("items" to listOf(mapOf("price" to BigDecimal("1")), mapOf("price" to Money(BigDecimal("0.0000000001"), "EUR")))) }
        bidiStream("shop.v1.Shop/Chat") { requests, _ ->
            requests.asSequence().map { seen.add(it); it + ("due" to (it["due"] as LocalDate).plusDays(1)) }
        }
    }

    @AfterAll
    fun stop() {
        server.close()
        plain.close()
        dir.toFile().deleteRecursively()
    }

    private fun order(): Map<String, Any?> = mapOf(
        "id" to id,
        "items" to listOf(mapOf("sku" to "a", "price" to BigDecimal("1.50")), mapOf("sku" to "b", "price" to BigDecimal("-0.000000001"))),
        "total" to Money(BigDecimal("12.345"), "EUR"),
        "due" to LocalDate.of(2026, 12, 24),
        "rates" to mapOf("eur" to BigDecimal("1"), "usd" to BigDecimal("108.73")),
        "refs" to listOf(id),
        "shipped" to null,
    )

    private fun assertNative(o: Map<String, Any?>) {
        val want = order()
        for (k in listOf("id", "due", "refs", "shipped")) assertEquals(want[k], o[k], k)
        @Suppress("UNCHECKED_CAST")
        val prices = (o["items"] as List<Map<String, Any?>>).map { it["price"] }
        assertEquals(listOf(BigDecimal("1.50"), BigDecimal("-1E-9")), prices)
        assertEquals(Money(BigDecimal("12.345"), "EUR"), o["total"])
        assertEquals(mapOf("eur" to BigDecimal("1"), "usd" to BigDecimal("108.73")), o["rates"])
    }

    @Test
    fun `the built-ins round-trip both ways on inproc and unix`() {
        for (uri in uris) {
            Client.connect(uri, converters = all).use { client ->
                seen.clear()
                assertNative(client.call("shop.v1.Shop/Echo", order(), timeout))
                assertNative(seen.single())
                assertNative(client.callWithMetadata("shop.v1.Shop/Echo", order(), timeout).message)
                val place = mapOf("name" to "x", "at" to Point(1.5, 2.0), "path" to listOf(Point(0.0, 1.0), Point(3.0, 4.0)))
                assertEquals(place, client.call("shop.v1.Shop/Locate", place, timeout))
                assertEquals(place, seen.last())
            }
        }
    }

    @Test
    fun `the wire carries the messages`() {
        Client.connect(plainUri).use { client ->
            seen.clear()
            val reply = client.call("shop.v1.Shop/Echo", order(), timeout)
            val got = seen.single()
            @Suppress("UNCHECKED_CAST")
            assertEquals(mapOf("value" to "1.50"), (got["items"] as List<Map<String, Any?>>)[0]["price"])
            assertEquals(mapOf("currency_code" to "EUR", "units" to 12L, "nanos" to 345000000L), got["total"])
            assertEquals(mapOf("year" to 2026L, "month" to 12L, "day" to 24L), got["due"])
            assertEquals(id.toString(), got["id"])
            assertNative(reply)
        }
        // Without converters the replies are the messages.
        Client.connect(uris[0], converters = emptyList()).use { client ->
            val reply = client.call("shop.v1.Shop/Echo", mapOf("due" to mapOf("year" to 2026, "month" to 1, "day" to 2)), timeout)
            assertEquals(mapOf("year" to 2026L, "month" to 1L, "day" to 2L), reply["due"])
            assertEquals("", reply["id"])
        }
    }

    @Test
    fun `streams convert both ways`() {
        Client.connect(uris[1], converters = all).use { client ->
            seen.clear()
            val replies = client.stream("shop.v1.Shop/Chat", listOf(order(), order()), timeout).asSequence().toList()
            assertEquals(2, replies.size)
            assertEquals(LocalDate.of(2026, 12, 25), replies[1]["due"])
            assertNative(seen[1])
        }
    }

    @Test
    fun `a converter that throws is InvalidArgument at the value's path`() {
        Client.connect(uris[0], converters = all).use { client ->
            val bad = order() + ("total" to Money(BigDecimal("0.0000000001"), "EUR"))
            val e = assertThrows<HmsException.InvalidArgument> { client.call("shop.v1.Shop/Echo", bad, timeout) }
            assertEquals("total", e.violationPaths.single())
            assertTrue(e.details.fieldViolations[0].description.startsWith("converter for google.type.Money failed: java.lang.IllegalArgumentException"))
            val nested = order() + ("rates" to mapOf("usd" to Money(BigDecimal("0.0000000001"), "USD")))
            val e2 = assertThrows<HmsException.InvalidArgument> { client.call("shop.v1.Shop/Echo", nested, timeout) }
            assertEquals("rates.usd", e2.violationPaths.single())
            // A handler's reply whose converter throws is the handler's fault.
            val e3 = assertThrows<HmsException.Internal> { client.call("shop.v1.Shop/Bad", emptyMap<String, Any?>(), timeout) }
            assertEquals("items[1].price", e3.violationPaths.single())
        }
        // A received value the native type refuses: a partial date from a server without converters.
        Client.connect(plainUri).use { client ->
            val partial = mapOf("due" to mapOf("year" to 2026, "month" to 0, "day" to 0))
            val e = assertThrows<HmsException.InvalidArgument> { client.call("shop.v1.Shop/Echo", partial, timeout) }
            assertEquals("due", e.violationPaths.single())
            assertTrue(e.details.fieldViolations[0].description.contains("java.time.DateTimeException"))
        }
    }
}
