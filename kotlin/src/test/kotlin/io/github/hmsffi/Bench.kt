/**
 * 64-byte echo, Kotlin client -> Kotlin server over a unix socket (run by benches/kotlin/bench.py
 * through `make bench-kotlin`, next to the Python and Go figures):
 *
 *     bench serve unix:///tmp/b.sock        # the echo server until SIGTERM ("ready" once up)
 *     bench client unix:///tmp/b.sock N     # N sequential calls per form; p50/p99 lines
 */
package io.github.hmsffi

import java.util.concurrent.CountDownLatch
import kotlin.system.exitProcess

private const val PROTO = """syntax = "proto3"; package bench.v1; message Blob { bytes data = 1; }
service Echo { rpc Echo(Blob) returns (Blob); rpc EchoRaw(Blob) returns (Blob); }"""

/** Warms up, then `n` sequential calls; prints `kotlin NAME p50 .. µs p99 .. µs` (the line
 * bench.py reads). Shared with RawBench.kt and GrpcBench.kt, so every row is timed alike. */
internal fun measure(name: String, n: Int, call: () -> Unit) {
    repeat(minOf(2000, n)) { call() }
    val lat = LongArray(n)
    for (i in 0 until n) {
        val t = System.nanoTime()
        call()
        lat[i] = System.nanoTime() - t
    }
    lat.sort()
    val p50 = lat[n / 2] / 1e3
    val p99 = lat[n * 99 / 100] / 1e3
    println("kotlin %-20s p50 %8.1f µs  p99 %8.1f µs".format(name, p50, p99))
}

fun main(args: Array<String>) {
    when (args.getOrNull(0)) {
        "serve" -> {
            val server = Server(Schema.fromSource("echo.proto", PROTO))
            server.method("bench.v1.Echo/Echo") { req, _ -> req }
            server.rawMethod("bench.v1.Echo/EchoRaw") { req, _ -> req }
            server.listen(args[1])
            val done = CountDownLatch(1)
            Runtime.getRuntime().addShutdownHook(Thread { server.shutdown(); done.countDown() })
            println("ready")
            System.out.flush()
            done.await()
        }
        "client" -> {
            val n = args.getOrNull(2)?.toInt() ?: 20000
            val payload = ByteArray(64) { it.toByte() }
            val wire = byteArrayOf(0x0a, 0x40) + payload // Blob{data: payload}
            Client.connect(args[1]).use { client ->
                check((client.call("bench.v1.Echo/Echo", mapOf("data" to payload))["data"] as ByteArray).contentEquals(payload))
                check(client.callRaw("bench.v1.Echo/EchoRaw", wire).contentEquals(wire))
                measure("unix map", n) { client.call("bench.v1.Echo/Echo", mapOf("data" to payload)) }
                measure("unix raw-bytes", n) { client.callRaw("bench.v1.Echo/EchoRaw", wire) }
            }
        }
        else -> {
            System.err.println("usage: bench serve URI | bench client URI [N]")
            exitProcess(2)
        }
    }
}
