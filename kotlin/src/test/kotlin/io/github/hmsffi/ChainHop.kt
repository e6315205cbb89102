package io.github.hmsffi

import java.io.File
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch

/**
 * Kotlin's link of the chain (tests/chain/chain.proto, tests/interop/test_chain_trace.py):
 * `kotlin/run.sh io.github.hmsffi.ChainHopKt PROTO URI` serves `chain.v1.Chain/Call` until
 * stopped and prints "ready". A hop calls `next[0]` from inside its handler with the rest of the
 * chain, passing nothing of the incoming call by hand: the call inherits its deadline,
 * cancellation and trace. The last link answers with what it saw.
 */
fun main(args: Array<String>) {
    val (proto, uri) = args
    val clients = ConcurrentHashMap<String, Client>()
    val server = Server(Schema.load(listOf(File(proto).path), listOf(File(proto).parent)))
    server.method("chain.v1.Chain/Call") { req, ctx ->
        @Suppress("UNCHECKED_CAST")
        val next = (req["next"] as? List<String>).orEmpty()
        if (next.isEmpty()) {
            mapOf("lang" to "kotlin", "left_ms" to (ctx.remainingMs()?.toDouble() ?: -1.0), "cancelled" to ctx.isCancelled())
        } else {
            val client = clients.computeIfAbsent(next[0]) { Client.connect(it) }
            client.call("chain.v1.Chain/Call", mapOf("next" to next.drop(1), "sleep_ms" to (req["sleep_ms"] ?: 0), "tag" to (req["tag"] ?: "")))
        }
    }
    server.listen(uri)
    val done = CountDownLatch(1)
    Runtime.getRuntime().addShutdownHook(Thread { server.shutdown(); done.countDown() })
    println("ready")
    System.out.flush()
    done.await()
}
