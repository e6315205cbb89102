// The three stream kinds of hms.conformance.v1.Conformance, typed by `hms-ffi gen --lang kotlin`:
// a generated client calls a generated service over inproc, with its blocking methods (a typed
// iterator, an `Iterable` of requests, a typed bidirectional stream) and its coroutine ones
// (`Flow` in, `Flow` out), and a method left unimplemented fails with UNIMPLEMENTED. Each case
// of the oneof `choice` (a sealed interface: `AllTypes.Choice.Text`, …, or null) round-trips
// through the unary Echo, read with an exhaustive `when`.
//
//   StreamsTypedKt     # exits non-zero, with what differed, when a check fails
//
// `make test-gen` (scripts/check-typed.sh) compiles it with the generated code (warnings as
// errors) and runs it.
package demo.typed

import hms.conformance.v1.AllTypes
import hms.conformance.v1.AllTypes.Choice
import hms.conformance.v1.Color
import hms.conformance.v1.ConformanceClient
import hms.conformance.v1.ConformanceService
import hms.conformance.v1.Item
import io.github.hmsffi.CallContext
import io.github.hmsffi.Client
import io.github.hmsffi.Schema
import io.github.hmsffi.Server
import io.github.hmsffi.ffi.HmsException
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.asFlow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import java.time.Duration

/** The typed server: the three streaming methods of the Conformance service. */
class Streams : ConformanceService {
    /** The request as it came: its oneof included. */
    override fun echo(request: AllTypes, ctx: CallContext): AllTypes = request

    /** One reply per tag of the request, numbered. */
    override fun serverStream(request: AllTypes, ctx: CallContext): Flow<AllTypes> = flow {
        for ((i, tag) in request.tags.withIndex()) emit(AllTypes(tags = listOf(tag), choice = Choice.Number(i.toLong()), color = Color.COLOR_GREEN))
    }

    /** Every request's items in one reply, with the quantity of each by name. */
    override suspend fun clientStream(requests: Flow<AllTypes>, ctx: CallContext): AllTypes {
        val items = requests.toList().flatMap { it.items }
        return AllTypes(items = items, counts = items.associate { it.name to it.qty.toLong() })
    }

    /** A reply to each request as it comes: its text upper-cased, its numbers summed. */
    override fun bidi(requests: Flow<AllTypes>, ctx: CallContext): Flow<AllTypes> =
        requests.map { AllTypes(choice = (it.choice as? Choice.Text)?.let { t -> Choice.Text(t.text.uppercase()) }, wrappedInt = it.numbers.sum(), colors = it.colors.reversed()) }
}

/** Which member of the oneof `choice` is set: the `when` is exhaustive over the sealed interface. */
fun choice(m: AllTypes): String = when (val c = m.choice) {
    is Choice.Text -> "text ${c.text}"
    is Choice.Number -> "number ${c.number}"
    is Choice.Item -> "item ${c.item.name}"
    null -> "none"
}

/** One empty `ByteArray` for every message compared: a data class compares arrays by identity. */
private val noBytes = ByteArray(0)

fun comparable(x: Any?): Any? = when (x) {
    is AllTypes -> x.copy(blob = noBytes)
    is List<*> -> x.map(::comparable)
    else -> x
}

fun expect(what: String, got: Any?, want: Any?) {
    check(comparable(got) == comparable(want)) { "$what: got $got, want $want" }
    println("$what: ok")
}

fun streams(client: ConformanceClient) {
    val tagged = AllTypes(tags = listOf("a", "b", "c"))
    val cases = listOf(Choice.Text("hi") to "text hi", Choice.Number(7L) to "number 7", Choice.Item(Item(name = "tea")) to "item tea", null to "none")
    for ((set, want) in cases) expect("oneof, ${want.substringBefore(' ')}", choice(client.echo(AllTypes(choice = set, tags = listOf("x")))), want)
    val numbered = listOf("a", "b", "c").mapIndexed { i, t -> AllTypes(tags = listOf(t), choice = Choice.Number(i.toLong()), color = Color.COLOR_GREEN) }
    expect("server streaming, blocking", client.serverStream(tagged).use { it.asSequence().toList() }, numbered)
    expect("server streaming, Flow", runBlocking { client.serverStreamFlow(tagged).toList() }, numbered)

    val orders = listOf(AllTypes(items = listOf(Item(name = "tea", price = 2.5, qty = 2))), AllTypes(items = listOf(Item(name = "cake", price = 4.0, qty = 1))))
    val total = AllTypes(items = orders.flatMap { it.items }, counts = mapOf("tea" to 2L, "cake" to 1L))
    expect("client streaming, blocking", client.clientStream(orders), total)
    expect("client streaming, suspend", runBlocking { client.clientStreamAsync(orders.asFlow()) }, total)

    val said = listOf(AllTypes(choice = Choice.Text("hi"), numbers = listOf(1L, 2L), colors = listOf(Color.COLOR_RED, Color.COLOR_BLUE)), AllTypes(choice = Choice.Text("bye"), numbers = listOf(40L, 2L)))
    val answers = listOf(AllTypes(choice = Choice.Text("HI"), wrappedInt = 3L, colors = listOf(Color.COLOR_BLUE, Color.COLOR_RED)), AllTypes(choice = Choice.Text("BYE"), wrappedInt = 42L))
    val pingPong = client.bidi().use { stream ->
        val replies = said.map { stream.send(it); stream.next() }
        stream.closeSend()
        check(!stream.hasNext()) { "bidi: a reply after the requests ended" }
        replies
    }
    expect("bidi, blocking (send one, read one)", pingPong, answers)
    expect("bidi, Flow", runBlocking { client.bidiFlow(said.asFlow()).toList() }, answers)
}

fun unimplemented(client: ConformanceClient) {
    val failed = runCatching { client.serverStream(AllTypes()).use { it.hasNext() } }.exceptionOrNull()
    expect("a stream left unimplemented fails with", failed?.javaClass?.simpleName, HmsException.Unimplemented::class.simpleName)
}

fun main() {
    val schema = Schema.load(listOf("tests/conformance/conformance.proto"), listOf())
    Server(schema).use { server ->
        ConformanceService.register(server, Streams())
        server.listen("inproc://typed-streams-kt")
        Client.connect("inproc://typed-streams-kt").use { streams(ConformanceClient(it, timeout = Duration.ofSeconds(5))) }
    }
    Server(schema).use { server ->
        ConformanceService.register(server, object : ConformanceService {})
        server.listen("inproc://typed-streams-unimplemented-kt")
        Client.connect("inproc://typed-streams-unimplemented-kt").use { unimplemented(ConformanceClient(it, timeout = Duration.ofSeconds(5))) }
    }
}
