package io.github.hmsffi

import io.github.hmsffi.ffi.HmsException
import java.nio.file.Path
import java.time.Duration
import java.time.Instant
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/**
 * Durable events (JetStream, docs/messaging.md): a bus connected with `?jetstream=STREAM` stores
 * what it publishes; `subscribeDurable` reads through a named consumer with acknowledgements,
 * redelivery and replay, and resumes after its reader restarts. Each test starts a nats-server
 * of its own with JetStream in a temporary store (skipped, saying so, when it is not installed).
 */
@Timeout(60)
class BusJetStreamTest {
    private val schema = Schema.fromSource("shop.proto", shopProto)
    private val wait = Duration.ofSeconds(5)

    @TempDir
    lateinit var store: Path

    private fun withJetStream(body: (String) -> Unit) =
        withNats("-js", "-sd", store.toString()) { uri -> body("$uri?jetstream=SHOP") }

    private fun connect(uri: String): Bus = shopDeclared(Bus.connect(uri, schema))

    private fun order(id: String) = shopOrder(id)

    private fun DurableSubscription.id(): Any? = next(wait)!!.also { it.ack() }.message["id"]

    @Test
    fun `acknowledged once, redelivered otherwise`(): Unit = withJetStream { uri ->
        connect(uri).use { bus ->
            for (i in 1..3) bus.publish("orders.eu", order("o$i"))
            bus.subscribeDurable("orders.>", "billing", ackWait = Duration.ofMillis(400)).use { sub ->
                val first = sub.next(wait)!!
                assertEquals(listOf("orders.eu", order("o1"), 1L, 1), listOf(first.topic, first.message, first.sequence, first.delivered))
                first.ack()
                sub.next(wait)!!.nak()
                runBlocking { sub.nextAsync()!!.ackAsync() }
                val again = sub.next(wait)!!
                assertEquals("o2" to 2, again.message["id"] to again.delivered)
                // Not answered: after ackWait it comes a third time.
                val late = runBlocking { withTimeout(5_000) { sub.flow().first() } }
                assertEquals("o2" to 3, late.message["id"] to late.delivered)
                late.inProgress()
                late.ack()
                assertNull(sub.next(Duration.ofSeconds(1)))
            }
        }
    }

    @Test
    fun `a named consumer resumes and replays from a sequence or a time`(): Unit = withJetStream { uri ->
        val since = connect(uri).use { bus ->
            bus.publish("orders.eu", order("old"))
            Thread.sleep(50)
            val since = Instant.now()
            Thread.sleep(50)
            for (i in 1..3) bus.publish("orders.eu", order("n$i"))
            bus.subscribeDurable("orders.>", "audit", batch = 1).use { sub ->
                assertEquals(listOf("old", "n1"), listOf(sub.id(), sub.id()))
            }
            since
        }
        // Another bus (as another process would) resumes the consumer after the acknowledged ones.
        connect(uri).use { other ->
            other.subscribeDurable("orders.>", "audit", batch = 1).use { assertEquals("n2", it.id()) }
            other.subscribeDurable("orders.>", deliver = Deliver.FromSequence(3)).use { assertEquals("n2", it.id()) }
            other.subscribeDurable("orders.>", deliver = Deliver.FromTime(since)).use { assertEquals("n1", it.id()) }
            other.subscribeDurable("orders.>", deliver = Deliver.Last).use { assertEquals("n3", it.id()) }
            other.subscribeDurable("orders.>", deliver = Deliver.New).use { assertNull(it.next(Duration.ofMillis(300))) }
        }
    }

    @Test
    fun `typed errors, and an event of another type is terminated`(): Unit = withJetStream { uri ->
        Bus.connect(uri.substringBefore('?'), schema).use { plain ->
            val e = assertThrows<HmsException.FailedPrecondition> { plain.subscribeDurable("orders.>", "x") }
            assertEquals("NO_JETSTREAM", e.details.errorInfo?.reason)
        }
        connect(uri).use { bus ->
            assertThrows<HmsException.InvalidArgument> { bus.subscribeDurable("a.>.b") }
            assertThrows<HmsException.InvalidArgument> { bus.subscribeDurable("orders.>", batch = 0) }
            assertThrows<HmsException.InvalidArgument> { bus.subscribeDurable("orders.>", deliver = Deliver.FromSequence(-1)) }
            Bus.connect(uri, schema).use { consumer ->
                consumer.declare("orders.>", "shop.v1.OrderPlaced")
                consumer.declare("refunds.*", "shop.v1.OrderPlaced") // believes refunds are orders
                bus.publish("refunds.eu", mapOf("id" to "r1", "full" to true))
                bus.publish("orders.eu", order("o1"))
                consumer.subscribeDurable(">", ackWait = Duration.ofMillis(300)).use { sub ->
                    val e = assertThrows<HmsException.InvalidArgument> { sub.next(wait) }
                    assertEquals("WRONG_MESSAGE_TYPE", e.details.errorInfo?.reason)
                    assertEquals("o1", sub.id()) // the subscription goes on
                    assertNull(sub.next(Duration.ofSeconds(1))) // the bad event is not redelivered
                }
            }
        }
    }

    @Test
    fun `maxDeliver caps redelivery`(): Unit = withJetStream { uri ->
        connect(uri).use { bus ->
            bus.publish("orders.eu", order("o1"))
            bus.subscribeDurable("orders.>", "capped", maxDeliver = 2).use { sub ->
                assertEquals(listOf(1, 2), (1..2).map { sub.next(wait)!!.also { d -> d.nak() }.delivered })
                assertNull(sub.next(Duration.ofSeconds(1))) // delivered twice: no third time
            }
        }
    }

    @Test
    fun `close from another thread ends a waiting next`(): Unit = withJetStream { uri ->
        connect(uri).use { bus ->
            val sub = bus.subscribeDurable("orders.>", "idle")
            assertTrue(!sub.isClosed)
            val closer = Thread { Thread.sleep(100); sub.close() }.apply { start() }
            assertNull(sub.next())
            closer.join()
        }
    }
}
