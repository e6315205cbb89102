package io.github.hmsffi

import java.io.File
import java.net.ServerSocket
import java.net.Socket
import java.util.concurrent.TimeUnit
import org.junit.jupiter.api.Assumptions.assumeTrue

/** The bus tests' schema: orders and refunds of a shop. */
internal val shopProto = """
    syntax = "proto3"; package shop.v1;
    message OrderPlaced { string id = 1; int64 cents = 2; }
    message Refund { string id = 1; bool full = 2; }
""".trimIndent()

/** [bus] with `orders.>` declared as `OrderPlaced` and `refunds.*` as `Refund`. */
internal fun shopDeclared(bus: Bus): Bus = bus.apply {
    declare("orders.>", "shop.v1.OrderPlaced")
    declare("refunds.*", "shop.v1.Refund")
}

/** An `OrderPlaced` as a map. */
internal fun shopOrder(id: String) = mapOf("id" to id, "cents" to 5L)

/**
 * Runs [body] with `nats://127.0.0.1:PORT/shop` of a nats-server of its own on a free port,
 * started with [args] (`-js -sd DIR` for JetStream) and killed when [body] ends; the test is
 * skipped, saying so, when scripts/install-nats.sh has not installed it.
 */
internal fun withNats(vararg args: String, body: (String) -> Unit) {
    val bin = File(System.getenv("HMS_FFI_NATS_SERVER") ?: "../target/tools/nats/bin/nats-server")
    assumeTrue(bin.isFile, "SKIPPED: nats-server is not installed ($bin): run scripts/install-nats.sh")
    val port = ServerSocket(0).use { it.localPort }
    val proc = ProcessBuilder(bin.path, "-a", "127.0.0.1", "-p", "$port", *args)
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
    try {
        val deadline = System.nanoTime() + 10_000_000_000
        while (runCatching { Socket("127.0.0.1", port).close() }.isFailure) {
            check(proc.isAlive && System.nanoTime() < deadline) { "nats-server did not start" }
            Thread.sleep(20)
        }
        body("nats://127.0.0.1:$port/shop")
    } finally {
        proc.destroyForcibly().waitFor(10, TimeUnit.SECONDS)
    }
}
