/**
 * Kotlin's client of the fault proof of issue 23 (tests/faults/test_faults.py, run through
 * kotlin/run.sh like the matrix program):
 *
 *     faults PROTO RESILIENCE PREFIX CALLS CALLERS URI...
 *
 * CALLERS threads make CALLS / CALLERS calls each of res.v1.Counter/Get (IDEMPOTENT), then of
 * res.v1.Counter/Add, with ids PREFIX-KIND-CALLER-N; each reply must carry its own id. Prints one
 * JSON line: per method the calls that succeeded and those that failed UNAVAILABLE, replies that
 * were not the caller's own, and any other error.
 */
package io.github.hmsffi

import io.github.hmsffi.ffi.HmsException
import java.io.File
import java.time.Duration
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import kotlin.system.exitProcess

private class Tally {
    val ok = AtomicInteger()
    val unavailable = AtomicInteger()
    fun json() = """{"ok": ${ok.get()}, "unavailable": ${unavailable.get()}}"""
}

private fun quoted(s: String) = "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\""

fun main(args: Array<String>) {
    if (args.size < 6) {
        System.err.println("usage: faults PROTO RESILIENCE PREFIX CALLS CALLERS URI...")
        exitProcess(2)
    }
    val (proto, resilience, prefix) = args
    val callers = args[4].toInt()
    val per = args[3].toInt() / callers
    val schema = Schema.fromSource("counter.proto", File(proto).readText())
    val client = Client.connect(args.drop(5), resilience = resilience, schema = schema)
    val tallies = mapOf("get" to Tally(), "add" to Tally())
    val wrong = AtomicInteger()
    val other = AtomicInteger()
    val errors = java.util.Collections.synchronizedList(mutableListOf<String>())
    for ((kind, tally) in tallies) {
        val method = if (kind == "get") "res.v1.Counter/Get" else "res.v1.Counter/Add"
        (0 until callers).map { t ->
            thread {
                for (n in 0 until per) {
                    val id = "$prefix-$kind-$t-$n"
                    try {
                        val reply = client.call(method, mapOf("id" to id), Duration.ofSeconds(20))
                        if (reply["id"] == id) {
                            tally.ok.incrementAndGet()
                        } else {
                            wrong.incrementAndGet()
                            if (errors.size < 10) errors.add("$id: got the reply of ${reply["id"]}")
                        }
                    } catch (e: HmsException.Unavailable) {
                        tally.unavailable.incrementAndGet()
                    } catch (e: Exception) {
                        other.incrementAndGet()
                        if (errors.size < 10) errors.add("$id: ${e.javaClass.simpleName}: ${e.message}")
                    }
                }
            }
        }.forEach { it.join() }
    }
    client.close()
    val shown = errors.toList().joinToString(", ") { quoted(it) }
    println(
        """{"get": ${tallies.getValue("get").json()}, "add": ${tallies.getValue("add").json()}, """ +
            """"wrong": ${wrong.get()}, "other": ${other.get()}, "errors": [$shown]}""",
    )
    System.out.flush()
    exitProcess(0)
}
