// The three stream kinds and the oneof of hms.conformance.v1.Conformance, typed by
// `hms-ffi gen --lang typescript`: a generated client calls a generated service over inproc —
// a server stream read with `for await`, a client stream sent from an iterable and read with
// `result()`, a bidirectional stream sent and read by hand — and each case of the oneof
// `choice` (one member set, or none) round-trips through a unary call.
//
//   node streams_typed.js      # prints a line per check; exits non-zero when one fails
//
// `make test-gen` (scripts/check-typed.sh) compiles it with `tsc --strict` (tsconfig.json here),
// checks that a request literal setting two members of the oneof fails to compile, and runs it.
import { strict as assert } from 'node:assert'
import { connect, InvalidArgument, Schema, Server, Unimplemented } from 'hms-ffi'
import { AllTypes, AllTypesInit, Color, ConformanceClient, ConformanceService, Item, registerConformance, Scalars } from '../../../gen/typescript/hms_conformance_v1_hms'

/** Which member of the oneof `choice` is set: each check narrows the union for the next. */
function choice (m: AllTypes): string {
  if (m.text !== null) {
    const others: [null, null] = [m.number, m.item] // the other members are null here
    return `text ${m.text}${others.join('')}`
  }
  if (m.number !== null) return `number ${m.number}`
  if (m.item !== null) return `item ${m.item.name}`
  const none: { text: null, number: null, item: null } = m // no case is left
  return `none ${String(none.text)}`
}

const sum = (xs: bigint[]): bigint => xs.reduce((a, b) => a + b, 0n)

/** The typed server: the oneof echoed, and the three streaming methods. */
class Streams implements ConformanceService {
  echo (request: AllTypes): AllTypesInit {
    return request
  }

  fail (): Record<string, never> {
    throw new Unimplemented('Fail is not served by this example')
  }

  sleep (): Record<string, never> {
    return {}
  }

  echoScalars (request: Scalars): Scalars {
    return request
  }

  /** One reply per tag of the request, numbered: the oneof's `number` set. */
  async * serverStream (request: AllTypes): AsyncIterable<AllTypesInit> {
    for (const [i, tag] of request.tags.entries()) yield { tags: [tag], number: BigInt(i), color: Color.COLOR_GREEN }
  }

  /** Every request's items in one reply, with the quantity of each by name. */
  async clientStream (requests: AsyncIterable<AllTypes>): Promise<AllTypesInit> {
    const items: Item[] = []
    for await (const r of requests) items.push(...r.items)
    return { items, counts: Object.fromEntries(items.map((i) => [i.name, BigInt(i.qty)])) }
  }

  /** A reply to each request as it comes: its text upper-cased (or its item's name), its numbers summed. */
  async * bidi (requests: AsyncIterable<AllTypes>): AsyncIterable<AllTypesInit> {
    for await (const r of requests) {
      if (r.text !== null) yield { text: r.text.toUpperCase(), wrapped_int: sum(r.numbers) }
      else if (r.item !== null) yield { item: { name: r.item.name.toUpperCase() }, wrapped_int: sum(r.numbers) }
      else yield { wrapped_int: sum(r.numbers) }
    }
  }
}

function ok (what: string, got: unknown, want: unknown): void {
  assert.deepEqual(got, want, what)
  console.log(`${what}: ok`)
}

async function run (client: ConformanceClient): Promise<void> {
  const cases: Array<[AllTypesInit, string]> = [
    [{ text: 'hi' }, 'text hi'], [{ number: 7 }, 'number 7'], [{ item: { name: 'tea' } }, 'item tea'], [{}, 'none null']
  ]
  for (const [request, want] of cases) ok(`oneof, ${want.split(' ')[0]}`, choice(await client.echo(request)), want)
  // The types stop two members in a literal; the core's rule stops them at run time too.
  const two: object = { text: 'hi', number: 7 }
  await assert.rejects(client.client.call('hms.conformance.v1.Conformance/Echo', two), InvalidArgument)
  console.log('oneof, two members set (untyped call): INVALID_ARGUMENT: ok')

  const numbered: Array<[string[], string]> = []
  for await (const r of client.serverStream({ tags: ['a', 'b', 'c'] })) numbered.push([r.tags, choice(r)])
  ok('server streaming', numbered, [[['a'], 'number 0'], [['b'], 'number 1'], [['c'], 'number 2']])

  const orders: AllTypesInit[] = [{ items: [{ name: 'tea', price: 2.5, qty: 2 }] }, { items: [{ name: 'cake', price: 4, qty: 1 }] }]
  const total = await client.clientStream(orders).result()
  ok('client streaming', [total.items.map((i) => i.name), total.counts], [['tea', 'cake'], { tea: 2n, cake: 1n }])

  const stream = client.bidi()
  const replies: Array<[string, bigint | null]> = []
  for (const said of [{ text: 'hi', numbers: [1, 2] }, { item: { name: 'cake' }, numbers: [40n, 2n] }, { numbers: [5] }] satisfies AllTypesInit[]) {
    await stream.send(said)
    const r = await stream.next()
    assert(r.done !== true, 'bidi: the stream ended early')
    replies.push([choice(r.value), r.value.wrapped_int])
  }
  await stream.closeSend()
  assert((await stream.next()).done, 'bidi: a reply after the requests ended')
  ok('bidi streaming', replies, [['text HI', 3n], ['item CAKE', 42n], ['none null', 5n]])
}

async function main (): Promise<void> {
  const schema = Schema.load('tests/conformance/conformance.proto')
  const server = registerConformance(new Server(schema), new Streams())
  await server.listen('inproc://typed-streams-ts')
  const client = await connect('inproc://typed-streams-ts')
  try {
    await run(new ConformanceClient(client, { timeoutMs: 10000 }))
  } finally {
    client.close()
    await server.shutdown()
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1) })
