package io.github.hmsffi

import java.math.BigInteger
import java.time.Duration
import java.time.Instant
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** Kotlin values to typed JSON and back, in the forms the core reads and writes. */
class TypedJsonTest {
    @Test
    fun `numbers keep their kind and integers beyond 2^53 are tagged`() {
        assertEquals("""{"i":7,"f":1.0,"big":{"${'$'}int":"9007199254740993"},"u":{"${'$'}int":"18446744073709551615"}}""",
            TypedJson.encode(mapOf("i" to 7, "f" to 1.0, "big" to 9007199254740993L, "u" to BigInteger("18446744073709551615"))))
        val back = TypedJson.decode("""{"i":7,"f":1.0,"e":1e39,"big":{"${'$'}int":"-9223372036854775808"},"u":{"${'$'}int":"18446744073709551615"}}""") as Map<*, *>
        assertEquals(7L, back["i"])
        assertEquals(1.0, back["f"])
        assertEquals(1e39, back["e"])
        assertEquals(Long.MIN_VALUE, back["big"])
        assertEquals(BigInteger("18446744073709551615"), back["u"])
    }

    @Test
    fun `floats that JSON cannot hold are tagged`() {
        assertEquals("""[{"${'$'}float":"nan"},{"${'$'}float":"inf"},{"${'$'}float":"-inf"}]""",
            TypedJson.encode(listOf(Double.NaN, Double.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY)))
        assertTrue((TypedJson.decode("""{"${'$'}float":"nan"}""") as Double).isNaN())
    }

    @Test
    fun `bytes, timestamps and durations round-trip`() {
        val bytes = byteArrayOf(0, -1, 64)
        assertArrayEquals(bytes, TypedJson.decode(TypedJson.encode(bytes)) as ByteArray)
        val t = Instant.parse("2024-02-29T12:34:56.789Z")
        assertEquals("""{"${'$'}timestamp":"2024-02-29T12:34:56.789Z"}""", TypedJson.encode(t))
        assertEquals(t, TypedJson.decode(TypedJson.encode(t)))
        for ((d, text) in listOf(
            Duration.ofMillis(1500) to "1.500s", Duration.ofMillis(-250) to "-0.250s",
            Duration.ofSeconds(2) to "2s", Duration.ofNanos(1) to "0.000000001s",
        )) {
            assertEquals("""{"${'$'}duration":"$text"}""", TypedJson.encode(d))
            assertEquals(d, TypedJson.decode(TypedJson.encode(d)))
        }
    }

    @Test
    fun `compact fills and unknown tags`() {
        assertArrayEquals(ByteArray(3) { 120 }, TypedJson.decode("""{"${'$'}bytes_fill":{"byte":120,"len":3}}""") as ByteArray)
        assertEquals("abab", TypedJson.decode("""{"${'$'}string_fill":{"text":"ab","count":2}}"""))
        assertThrows<IllegalArgumentException> { TypedJson.decode("""{"${'$'}nope":1}""") }
    }
}
