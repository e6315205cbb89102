// Compiled by `tsc --noEmit --strict` in `make test-node`: the hand-written index.d.ts must
// describe the API as the tests and examples use it.
import { Schema, Server, Client, connect, HmsError, NotFound, Context, CodeName, Duration, Timestamp, ConnState, EndpointStatus, SchemaVersion, Converter, Bus, BusEvent, Subscription, DurableSubscription, Delivery } from '..'

async function main (): Promise<void> {
  const schema = Schema.load('greeter.proto', { includes: [] })
  const server = new Server(schema, { int64: 'bigint', security: 'security.toml' })
  server.method('demo.v1.Greeter/SayHello', async (req: { name: string }, ctx: Context) => {
    const left: number | null = ctx.timeRemainingMs()
    const who: string | null = ctx.identity
    const deadline: Date | null = ctx.deadline
    const user: string | undefined = ctx.metadata['x-user']
    console.log(ctx.method, ctx.traceId, deadline, user)
    const pid: number | null = ctx.peerCredentials?.pid ?? null
    console.log(who, pid, ctx.peerCredentials?.uid, ctx.peerCredentials?.gid)
    ctx.signal.addEventListener('abort', () => undefined)
    ctx.setHeader('x-cache', 'hit')
    ctx.setTrailer('x-sig-bin', new Uint8Array([1, 2]))
    return { message: `Hello ${req.name} ${left ?? ''}` }
  })
  server.method('demo.v1.Greeter/Chatter', async function * (requests: AsyncIterable<{ name: string }>, ctx: Context) {
    ctx.sendHeaders()
    for await (const r of requests) yield { message: `Hello ${r.name} ${ctx.method}` }
  })
  const uri: string = await server.listen('inproc://types')
  const client = await connect(uri, { int64: 'number' })
  const controller = new AbortController()
  try {
    const reply = await client.call<{ message: string }>('demo.v1.Greeter/SayHello', { name: 'Ada' }, {
      timeoutMs: 100, metadata: { k: 'v' }, signal: controller.signal
    })
    const chat = client.stream<{ message: string }>('demo.v1.Greeter/Chatter', [{ name: 'Ada' }], { signal: controller.signal })
    for await (const r of chat) console.log(r.message.length, chat.kind, chat.headers, chat.trailers)
    const manual = client.stream<{ message: string }, { name: string }>('demo.v1.Greeter/Chatter')
    await manual.send({ name: 'Bob' })
    await manual.closeSend()
    manual.cancel()
    const full = await client.callWithMetadata<{ message: string }>('demo.v1.Greeter/SayHello', { name: 'Ada' })
    const cache: string | undefined = full.headers['x-cache']
    console.log(full.reply.message, cache, full.trailers['x-sig-bin'])
    console.log(reply.message.length, client.methods()[0].kind, new Duration(1n, 5).toMillis(), Timestamp.fromRFC3339('1970-01-01T00:00:00Z').nanos)
  } catch (e) {
    if (e instanceof NotFound) {
      const code: 'NOT_FOUND' = e.code
      console.log(code)
    } else if (e instanceof HmsError) {
      const code: CodeName = e.code
      const trailer: string | undefined = e.trailers['x-t']
      const header: string | undefined = e.headers['x-h'] ?? e.details.headers?.['x-h']
      console.log(code, e.details.fieldViolations.map((v) => v.field), e.grpcCode, trailer, header)
    }
  }
  client.close()
  await server.shutdown({ graceMs: 10 })
}

void main()

// Resilience options, connection state and the admin listener (issues 23 and 20).
export async function resilient (server: Server): Promise<ConnState> {
  const admin: string = server.admin('http://127.0.0.1:0')
  const client = await connect(['unix:///tmp/a.sock', 'unix:///tmp/b.sock'], {
    resilience: { loadBalancing: 'round_robin', backoff: { initial: '0.1s' }, serviceConfig: {} }
  })
  await client.call('p.S/M', {}, { timeoutMs: 100, waitForReady: true })
  const ejected: boolean[] = client.endpoints().map((e: EndpointStatus) => e.ejected)
  void admin; void ejected
  return client.state
}

// Versions at connect (docs/evolution.md).
async function versions (server: Server, schema: Schema): Promise<void> {
  server.setSchemaVersion('shop.v1', 2)
  const announced: SchemaVersion = server.schemaVersion
  const client = await connect('inproc://x', { expectSchema: schema })
  const seen: SchemaVersion | null = client.schemaVersion
  const broken: Record<string, string[]> = client.incompatibleMethods()
  void announced; void seen; void broken
}
void versions

// Two versions side by side (docs/evolution.md).
async function revisions (server: Server, rev1: Schema): Promise<void> {
  const fingerprint: string = server.addRevision('rev1', rev1)
  server.method('acme.v1.Greeter/SayHello', (req: { name: string }) => ({ message: req.name }), { revision: 'rev1' })
  server.bridge('rev1', 'acme.v1.Greeter/SayHello')
  const served: Record<string, string> = server.revisions
  const client = await connect('inproc://x', { revision: 'rev1' })
  const spoken: string | null = client.revision
  const announced: Record<string, string> = client.revisions
  void fingerprint; void served; void spoken; void announced
}
void revisions

// Converters for custom domain types (docs/converters.md).
class Money { constructor (readonly units: bigint, readonly currency: string) {} }
async function converters (schema: Schema): Promise<void> {
  const money: Converter<Money> = {
    message: 'google.type.Money',
    type: Money,
    toMessage: (m) => ({ units: m.units, nanos: 0, currency_code: m.currency }),
    fromMessage: (m) => new Money(BigInt(m.units), m.currency_code)
  }
  const server = new Server(schema, { converters: [money] })
  const client = await connect('inproc://x', { converters: [money, { format: 'uuid', fromMessage: (t: string) => t.toUpperCase() }] })
  void server; void client
}
void converters
// Batched calls: each entry a reply or the call's error (docs/messaging.md, "Batched calls").
export async function batched (client: Client): Promise<number> {
  const entries = await client.batch<{ n: number }>([['p.S/M', {}], ['p.S/N', { a: 1 }]], {
    timeoutMs: 100,
    signal: new AbortController().signal
  })
  let total = 0
  for (const e of entries) total += e instanceof HmsError ? 0 : e.n
  return total
}

// Publish/subscribe (docs/messaging.md).
async function pubsub (schema: Schema): Promise<void> {
  const bus = new Bus(schema).declare('orders.>', 'shop.v1.OrderPlaced')
  const remote: Bus = await Bus.connect('nats://127.0.0.1:4222/shop', schema, { int64: 'number' })
  const sub: Subscription<{ id: string }> = await bus.subscribe<{ id: string }>('orders.*', { queue: 'w', pending: 8 })
  await bus.publish('orders.eu', { id: 'A1' })
  const one: BusEvent<{ id: string }> | null = await sub.next({ timeoutMs: 100 })
  for await (const { topic, message } of sub) console.log(topic, message.id, one)
  const n: number = sub.dropped
  const cb = await remote.subscribe('orders.>', (topic: string, message) => console.log(topic, message, n), { onError: (e) => console.error(e) })
  cb.close()
  const durable: DurableSubscription<{ id: string }> = await remote.subscribeDurable<{ id: string }>('orders.>', 'billing', { deliver: new Date(), ackWaitMs: 500, maxDeliver: 3, batch: 8 })
  const replay = await remote.subscribeDurable('orders.>', { deliver: 5n })
  const d: Delivery<{ id: string }> | null = await durable.next({ timeoutMs: 100 })
  if (d !== null) {
    const seq: number = d.sequence + d.delivered
    console.log(d.topic, d.message.id, seq)
    await d.nak(100)
    await d.inProgress()
    await d.term()
    await d.ack()
  }
  for await (const r of replay) await r.ack()
  durable.close()
}
void pubsub
