// The greeter example in Kotlin: the same service as examples/rust/greeter.rs, on the
// io.github.hmsffi:hms-ffi jar (whose native library is inside it: no -Djna.library.path).
//
//   java -cp CLASSPATH GreeterKt serve unix:///tmp/greeter.sock   # a server (Ctrl-C stops)
//   java -cp CLASSPATH GreeterKt call unix:///tmp/greeter.sock Ada
//   java -cp CLASSPATH GreeterKt both                             # one process, inproc://
//
// scripts/test-dist/kotlin.sh compiles it in a new Maven project that depends on the jar and
// runs `call` against the Rust greeter server.
import io.github.hmsffi.Client
import io.github.hmsffi.Schema
import io.github.hmsffi.Server
import io.github.hmsffi.ffi.HmsException
import io.github.hmsffi.hmsError
import io.github.hmsffi.msg
import io.github.hmsffi.violationPaths
import java.time.Duration
import java.time.Instant

/** A greeter server; [proto] is examples/protos/greeter.proto. */
fun makeServer(proto: String): Server {
    val server = Server(Schema.load(listOf(proto), listOf()))
    server.method("demo.v1.Greeter/SayHello") { req, ctx ->
        val name = req["name"] as String
        if (name.isEmpty()) {
            throw hmsError(io.github.hmsffi.Code.INVALID_ARGUMENT, "name must not be empty", mapOf("name" to "empty"))
        }
        println("[kotlin server] ${ctx.method()} from ${ctx.peer()}")
        val times = (req["times"] as? Number)?.toInt() ?: 0
        mapOf("message" to List(maxOf(1, times)) { "Hello $name from Kotlin" }.joinToString(", "), "at" to Instant.now())
    }
    server.method("demo.v1.Greeter/Echo") { req, _ -> req }
    // A server-streaming handler returns a Sequence: each item is sent as the caller reads it.
    server.serverStream("demo.v1.Greeter/Chatter") { req, _ ->
        val times = (req["times"] as? Number)?.toInt() ?: 0
        (0 until maxOf(3, times)).asSequence().map { i ->
            mapOf("message" to "#$i hi ${req["name"]} from Kotlin", "at" to Instant.now())
        }
    }
    return server
}

/** The client side: discovery, a unary call, a server stream and two typed errors. */
fun call(uri: String, name: String) {
    Client.connect(uri).use { client ->
        println("[kotlin client] methods: ${client.methods}")
        val timeout = Duration.ofSeconds(5)
        val reply = client.call("demo.v1.Greeter/SayHello", mapOf("name" to name, "times" to 2), timeout)
        println("[kotlin client] SayHello -> '${reply["message"]}' at ${reply["at"]}")
        try {
            client.stream("demo.v1.Greeter/Chatter", mapOf("name" to name, "times" to 2), timeout).use { stream ->
                for (item in stream) println("[kotlin client] Chatter -> '${item["message"]}'")
            }
        } catch (e: HmsException.Unimplemented) { // a server in a language without streams yet
            println("[kotlin client] Chatter: ${e.msg}")
        }
        try {
            client.call("demo.v1.Greeter/SayHello", mapOf("name" to 42), timeout)
        } catch (e: HmsException.InvalidArgument) {
            println("[kotlin client] a wrong type is refused: ${e.msg} ${e.violationPaths}")
        }
        try {
            client.call("demo.v1.Greeter/SayHello", mapOf("name" to ""), timeout)
        } catch (e: HmsException) {
            println("[kotlin client] the handler's error comes back typed: ${e::class.simpleName}: ${e.msg}")
        }
    }
}

fun main(args: Array<String>) {
    val proto = System.getProperty("greeter.proto", "examples/protos/greeter.proto")
    when (args.getOrElse(0) { "both" }) {
        "serve" -> {
            val uri = args.getOrElse(1) { "unix:///tmp/hms-greeter.sock" }
            val server = makeServer(proto)
            server.listen(uri)
            Runtime.getRuntime().addShutdownHook(Thread { server.close() })
            println("[kotlin server] listening on $uri; Ctrl-C stops")
            Thread.sleep(Long.MAX_VALUE)
        }
        "call" -> call(args.getOrElse(1) { "unix:///tmp/hms-greeter.sock" }, args.getOrElse(2) { "Ada" })
        "both" -> makeServer(proto).use { server ->
            server.listen("inproc://kt-greeter")
            call("inproc://kt-greeter", "Ada")
        }
        else -> {
            System.err.println("usage: GreeterKt serve|call|both [URI] [NAME]")
            kotlin.system.exitProcess(2)
        }
    }
}
