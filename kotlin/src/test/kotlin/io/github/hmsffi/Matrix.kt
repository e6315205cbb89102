/**
 * The Kotlin side of the cross-language matrix (tests/matrix/run.py, through
 * tests/matrix/kotlin/conformance.sh):
 *
 *     conformance serve unix:///tmp/x.sock    # the conformance service until SIGTERM, its
 *                                             # streams served by suspending Flow handlers
 *                                             # (the blocking Sequence ones run in StreamsTest)
 *     conformance client unix:///tmp/x.sock   # every vector (streaming ones too) and semantics case;
 *                                             # "N passed, M failed, K skipped"
 *     conformance semantics unix:///tmp/x.sock  # every call-semantics case; "…, K skipped"
 *     conformance streams grpc://127.0.0.1:P    # every streaming vector (schema given)
 */
package io.github.hmsffi

import java.util.concurrent.CountDownLatch
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    if (args.size != 2) {
        System.err.println("usage: conformance serve|client|semantics URI")
        exitProcess(2)
    }
    val (mode, uri) = args
    when (mode) {
        "serve" -> {
            val server = Conformance.server(flows = true)
            server.listen(uri)
            val stopped = CountDownLatch(1)
            Runtime.getRuntime().addShutdownHook(Thread {
                server.shutdown()
                stopped.countDown()
            })
            println("ready")
            System.out.flush()
            stopped.await()
        }
        "semantics" -> exitProcess(if (Semantics.run(uri) == 0) 0 else 1)
        "streams" -> {
            // Every streaming vector, with the conformance schema given (a server without discovery).
            val (passed, failed, _) = Client.connect(uri, Schema.load(listOf(Conformance.proto), listOf())).use {
                StreamVectors.run(it)
            }
            println("$passed passed, $failed failed")
            exitProcess(if (failed == 0) 0 else 1)
        }
        "client" -> {
            var passed = 0
            var failed = 0
            var skipped = 0
            Client.connect(uri).use { client ->
                for (case in Conformance.cases()) {
                    val why = Conformance.check(case, client)
                    if (why == null) passed++ else {
                        failed++
                        println("FAIL ${case.id}: $why")
                    }
                }
                val (sp, sf, ss) = StreamVectors.run(client)
                passed += sp
                failed += sf
                skipped += ss
            }
            // Then every call-semantics case; the last line totals all.
            exitProcess(if (Semantics.run(uri, passed, failed, skipped) == 0) 0 else 1)
        }
        else -> {
            System.err.println("unknown mode $mode")
            exitProcess(2)
        }
    }
}
