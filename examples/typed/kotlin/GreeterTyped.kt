// A typed Kotlin client and server of demo.v1.Greeter, from `hms-ffi gen --lang kotlin`.
//
//   GreeterTypedKt serve unix:///tmp/g.sock   # a typed server, until SIGTERM
//   GreeterTypedKt call unix:///tmp/g.sock    # a typed client of any greeter server
//   GreeterTypedKt both                       # both, in one process (inproc://)
//
// `make test-gen` compiles it with the generated code (warnings as errors) and runs it against
// the typed server of every language, the server-streaming Chatter included.
package demo.typed

import demo.v1.GreeterClient
import demo.v1.GreeterService
import demo.v1.HelloReply
import demo.v1.HelloRequest
import io.github.hmsffi.CallContext
import io.github.hmsffi.Client
import io.github.hmsffi.Schema
import io.github.hmsffi.Server
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import java.time.Duration

/** The typed server: two methods of demo.v1.Greeter, one unary and one server-streaming. */
class Greeter : GreeterService {
    override fun sayHello(request: HelloRequest, ctx: CallContext): HelloReply =
        HelloReply(message = "Hello ${request.name} from Kotlin")

    override fun chatter(request: HelloRequest, ctx: CallContext): Flow<HelloReply> = flow {
        for (i in 0 until request.times) emit(HelloReply(message = "#$i hi ${request.name}"))
    }
}

fun newServer(): Server {
    val server = Server(Schema.load(listOf("examples/protos/greeter.proto"), listOf()))
    GreeterService.register(server, Greeter())
    return server
}

fun call(uri: String) {
    Client.connect(uri).use { client ->
        val greeter = GreeterClient(client, timeout = Duration.ofSeconds(5))
        println(greeter.sayHello(HelloRequest(name = "Ada")).message)
        greeter.chatter(HelloRequest(name = "Ada", times = 2)).use { replies ->
            replies.forEach { println(it.message) }
        }
    }
}

fun main(args: Array<String>) {
    when (args.getOrNull(0)) {
        "serve" -> {
            val server = newServer()
            println(server.listen(args[1]))
            Thread.sleep(Long.MAX_VALUE)
        }
        "call" -> call(args[1])
        else -> newServer().use { server ->
            server.listen("inproc://typed-greeter-kt")
            call("inproc://typed-greeter-kt")
        }
    }
}
