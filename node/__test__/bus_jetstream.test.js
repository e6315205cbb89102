'use strict'
// Durable events from Node (JetStream, docs/messaging.md): a bus connected with
// `?jetstream=STREAM` stores what it publishes; `subscribeDurable` reads through a named consumer
// with explicit acknowledgements (Promises), redelivery and replay, and resumes when another bus
// opens the same name. Each test starts a nats-server of its own with JetStream in a temporary
// store (skipped, saying so, only when nats-server is not installed). The rules are the core's.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const hms = require('..')
const { natsServer } = require('./nats')

const PROTO = `
  syntax = "proto3"; package shop.v1;
  import "hms/ffi/v1/options.proto";
  message OrderPlaced { option (hms.ffi.v1.topic) = "orders.>"; string id = 1; int64 cents = 2; }
  message Refund { string id = 1; }
`

const schema = () => hms.Schema.fromSource('shop.proto', PROTO)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** `nats://…/events?jetstream=SHOP` on a nats-server of the test's own, or null (skipped). */
async function jsUri (t) {
  const address = await natsServer(t, { jetstream: true })
  return address === null ? null : `nats://${address}/events?jetstream=SHOP`
}

test('acknowledged once, redelivered otherwise', { timeout: 30000 }, async (t) => {
  const uri = await jsUri(t)
  if (uri === null) return
  const bus = await hms.Bus.connect(uri, schema())
  for (let i = 1; i <= 3; i++) await bus.publish('orders.eu', { id: `o${i}`, cents: i })
  const sub = await bus.subscribeDurable('orders.>', 'billing', { ackWaitMs: 400 })
  const first = await sub.next({ timeoutMs: 5000 })
  assert.ok(first instanceof hms.Delivery)
  assert.deepEqual([first.topic, first.message, first.sequence, first.delivered], ['orders.eu', { id: 'o1', cents: 1n }, 1, 1])
  await first.ack()
  await (await sub.next({ timeoutMs: 5000 })).nak()
  await (await sub.next({ timeoutMs: 5000 })).ack()
  const again = await sub.next({ timeoutMs: 5000 })
  assert.deepEqual([again.message.id, again.delivered], ['o2', 2])
  // Not answered: after ackWaitMs it comes a third time.
  const late = await sub.next({ timeoutMs: 5000 })
  assert.deepEqual([late.message.id, late.delivered], ['o2', 3])
  await late.inProgress()
  await late.ack()
  assert.equal(await sub.next({ timeoutMs: 1000 }), null)
  // close ends a next that waits with no timeout.
  const waiting = sub.next()
  await sleep(100)
  sub.close()
  assert.equal(await waiting, null)
  assert.equal(sub.closed, true)
  assert.equal(await sub.next(), null)
})

test('a named consumer resumes and replays from a sequence or time', { timeout: 30000 }, async (t) => {
  const uri = await jsUri(t)
  if (uri === null) return
  const bus = await hms.Bus.connect(uri, schema())
  await bus.publish('orders.eu', { id: 'old' })
  await sleep(50)
  const since = new Date()
  await sleep(50)
  for (let i = 1; i <= 3; i++) await bus.publish('orders.eu', { id: `n${i}` })
  const sub = await bus.subscribeDurable('orders.>', 'audit', { batch: 1 })
  const seen = []
  for await (const d of sub) {
    seen.push(d.message.id)
    await d.ack()
    if (seen.length === 2) sub.close()
  }
  assert.deepEqual(seen, ['old', 'n1'])
  // Another process (here: another bus) resumes the consumer after the acknowledged ones.
  const other = await hms.Bus.connect(uri, schema())
  const resumed = await other.subscribeDurable('orders.>', 'audit', { batch: 1 })
  assert.equal((await resumed.next({ timeoutMs: 5000 })).message.id, 'n2')
  resumed.close()
  const fromSeq = await other.subscribeDurable('orders.>', { deliver: 3n })
  assert.equal((await fromSeq.next({ timeoutMs: 5000 })).message.id, 'n2')
  fromSeq.close()
  const fromTime = await other.subscribeDurable('orders.>', null, { deliver: since })
  assert.equal((await fromTime.next({ timeoutMs: 5000 })).message.id, 'n1')
  fromTime.close()
  const onlyNew = await other.subscribeDurable('orders.>', { deliver: 'new' })
  assert.equal(await onlyNew.next({ timeoutMs: 300 }), null)
  onlyNew.close()
})

test('an event that fails its check is its typed error and the subscription goes on', { timeout: 30000 }, async (t) => {
  const uri = await jsUri(t)
  if (uri === null) return
  const publisher = (await hms.Bus.connect(uri, schema())).declare('refunds.*', 'shop.v1.Refund')
  const reader = (await hms.Bus.connect(uri, schema())).declare('refunds.*', 'shop.v1.OrderPlaced')
  await publisher.publish('refunds.eu', { id: 'r1' })
  await publisher.publish('orders.eu', { id: 'o1' })
  const sub = await reader.subscribeDurable('>', 'all', { ackWaitMs: 300 })
  await assert.rejects(sub.next({ timeoutMs: 5000 }), (e) => e instanceof hms.InvalidArgument && e.details.reason === 'WRONG_MESSAGE_TYPE')
  const good = await sub.next({ timeoutMs: 5000 })
  assert.equal(good.message.id, 'o1')
  await good.ack()
  // Terminated by the core: not delivered again after ackWaitMs.
  assert.equal(await sub.next({ timeoutMs: 900 }), null)
  sub.close()
})

test('durable subscriptions report typed errors', { timeout: 30000 }, async (t) => {
  const uri = await jsUri(t)
  if (uri === null) return
  const plain = await hms.Bus.connect(uri.split('?')[0], schema())
  await assert.rejects(plain.subscribeDurable('orders.>', 'x'), (e) => e instanceof hms.FailedPrecondition && /jetstream/.test(e.message))
  await assert.rejects(hms.Bus.connect(uri.replace('jetstream=SHOP', 'stream=SHOP'), schema()), hms.InvalidArgument)
  const bus = await hms.Bus.connect(uri, schema())
  await assert.rejects(bus.subscribeDurable('orders..eu', 'x'), hms.InvalidArgument)
  await assert.rejects(bus.subscribeDurable('orders.>', { deliver: 'sometime' }), (e) => e instanceof hms.InvalidArgument && /deliver/.test(e.message))
  await assert.rejects(bus.subscribeDurable('orders.>', { deliver: -1 }), hms.InvalidArgument)
  await assert.rejects(bus.subscribeDurable('orders.>', { deliver: {} }), TypeError)
  await assert.rejects(new hms.Bus(schema()).subscribeDurable('orders.>'), hms.FailedPrecondition)
})
