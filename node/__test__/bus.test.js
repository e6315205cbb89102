'use strict'
// Publish/subscribe from Node (`Bus`, docs/messaging.md): typed topics, wildcards, queue groups,
// drop counting and close, on the in-process bus and over a nats-server of the test's own
// (skipped, saying so, only when nats-server is not installed: scripts/install-nats.sh), with
// an event a Python process publishes. The rules are the core's.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFile } = require('node:child_process')
const hms = require('..')
const { natsServer } = require('./nats')

const ROOT = path.resolve(__dirname, '..', '..')
const PYTHON = path.join(ROOT, 'target/py-venv/bin/python')
const PROTO = `
  syntax = "proto3"; package shop.v1;
  message OrderPlaced { string id = 1; int64 cents = 2; }
  message Refund { string id = 1; bool full = 2; }
`

const schema = () => hms.Schema.fromSource('shop.proto', PROTO)

function declared (bus) {
  return bus.declare('orders.>', 'shop.v1.OrderPlaced').declare('refunds.*', 'shop.v1.Refund')
}

/** Events until none comes within `waitMs`. */
async function collect (sub, waitMs = 200) {
  const out = []
  for (let e = await sub.next({ timeoutMs: waitMs }); e !== null; e = await sub.next({ timeoutMs: waitMs })) out.push(e)
  return out
}

test('wildcards and queue groups share events in process', { timeout: 20000 }, async () => {
  const bus = declared(new hms.Bus(schema()))
  const one = await bus.subscribe('orders.*')
  const all = await bus.subscribe('orders.>')
  const q1 = await bus.subscribe('orders.>', { queue: 'w' })
  const q2 = await bus.subscribe('orders.>', { queue: 'w' })
  for (let i = 0; i < 10; i++) await bus.publish(i % 2 ? 'orders.eu' : 'orders.eu.paris', { id: String(i), cents: i })
  assert.deepEqual((await collect(one)).map((e) => e.message.id), ['1', '3', '5', '7', '9'])
  const first = (await collect(all))[0]
  assert.deepEqual(first, { topic: 'orders.eu.paris', message: { id: '0', cents: 0n } })
  const [n1, n2] = [(await collect(q1)).length, (await collect(q2)).length]
  assert.deepEqual([n1 + n2, n1 > 0, n2 > 0], [10, true, true])
  for (const s of [one, all, q1, q2]) s.close()
})

test('bad topic, undeclared topic and wrong field are typed errors', { timeout: 20000 }, async () => {
  const bus = declared(new hms.Bus(schema()))
  await assert.rejects(bus.publish('orders.*', { id: 'x' }), (e) => e instanceof hms.InvalidArgument && e.details.reason === 'BAD_TOPIC')
  await assert.rejects(bus.publish('invoices.eu', { id: 'x' }), (e) => e instanceof hms.NotFound && e.details.reason === 'UNDECLARED_TOPIC')
  await assert.rejects(bus.publish('orders.eu', { cents: 'ten' }), (e) => e instanceof hms.InvalidArgument && e.fieldViolations[0].field === 'cents')
  assert.throws(() => bus.declare('orders.>.x', 'shop.v1.OrderPlaced'), hms.InvalidArgument)
  assert.throws(() => bus.declare('x.*', 'shop.v1.Nope'), hms.NotFound)
  await assert.rejects(bus.subscribe('orders..eu'), hms.InvalidArgument)
})

test('a slow subscriber drops and counts; close ends the iteration and a waiting next', { timeout: 20000 }, async () => {
  const bus = declared(new hms.Bus(schema()))
  const slow = await bus.subscribe('orders.>', { pending: 2 })
  for (let i = 0; i < 5; i++) await bus.publish('orders.eu', { id: String(i) })
  assert.equal(slow.dropped, 3)
  assert.equal((await collect(slow)).length, 2)
  const sub = await bus.subscribe('orders.>')
  const seen = []
  const iterating = (async () => {
    for await (const { topic, message } of sub) seen.push(`${topic}:${message.id}`)
  })()
  await bus.publish('orders.n1', { id: 'a' })
  const waiting = sub.next()
  await new Promise((resolve) => setTimeout(resolve, 100))
  sub.close()
  assert.equal(await waiting, null)
  await iterating
  assert.equal(sub.closed, true)
  assert.equal(await sub.next(), null)
  assert.ok(seen.length <= 1, 'the iteration ended at close')
  slow.close()
})

test('a handler gets each event; its errors go to onError', { timeout: 20000 }, async () => {
  const bus = declared(new hms.Bus(schema(), { int64: 'number' }))
  const got = []
  const errors = []
  let done
  const finished = new Promise((resolve) => { done = resolve })
  const sub = await bus.subscribe('refunds.*', async (topic, message) => {
    if (message.id === 'bad') throw new Error('handler failed')
    got.push(`${topic}:${message.id}:${message.full}`)
    if (got.length === 2) done()
  }, { onError: (e) => errors.push(e.message) })
  await bus.publish('refunds.eu', { id: 'r1', full: true })
  await bus.publish('refunds.eu', { id: 'bad' })
  await bus.publish('refunds.us', { id: 'r2' })
  await finished
  sub.close()
  assert.deepEqual(got, ['refunds.eu:r1:true', 'refunds.us:r2:false'])
  assert.deepEqual(errors, ['handler failed'])
})

test('converters apply to published and received events', { timeout: 20000 }, async () => {
  class Point {
    constructor (lat, lng) { this.lat = lat; this.lng = lng }
  }
  const geo = hms.Schema.fromSource('geo.proto', `
    syntax = "proto3"; package geo.v1;
    message Point { double lat = 1; double lng = 2; }
    message Moved { string id = 1; Point at = 2; }`)
  const converters = [{ message: 'geo.v1.Point', type: Point, toMessage: (p) => ({ lat: p.lat, lng: p.lng }), fromMessage: (m) => new Point(m.lat, m.lng) }]
  const bus = new hms.Bus(geo, { converters }).declare('moves.*', 'geo.v1.Moved')
  const sub = await bus.subscribe('moves.*')
  await bus.publish('moves.car', { id: 'c', at: new Point(1.5, 2) })
  const { message } = await sub.next({ timeoutMs: 5000 })
  assert.ok(message.at instanceof Point)
  assert.deepEqual([message.id, message.at.lat, message.at.lng], ['c', 1.5, 2])
  sub.close()
})

test('over NATS events are checked by the subscriber\'s declaration', { timeout: 30000 }, async (t) => {
  const address = await natsServer(t)
  if (address === null) return
  await assert.rejects(hms.Bus.connect(`grpc://${address}`, schema()), hms.InvalidArgument)
  const publisher = declared(await hms.Bus.connect(`nats://${address}/shop`, schema()))
  const consumer = await hms.Bus.connect(`nats://${address}/shop`, schema())
  consumer.declare('orders.>', 'shop.v1.OrderPlaced').declare('refunds.*', 'shop.v1.OrderPlaced')
  const sub = await consumer.subscribe('>')
  const q1 = await consumer.subscribe('orders.*', { queue: 'w' })
  const q2 = await consumer.subscribe('orders.*', { queue: 'w' })
  await publisher.publish('orders.eu', { id: 'o1', cents: 5 })
  await publisher.publish('refunds.eu', { id: 'r1', full: true })
  assert.deepEqual(await sub.next({ timeoutMs: 5000 }), { topic: 'orders.eu', message: { id: 'o1', cents: 5n } })
  await assert.rejects(sub.next({ timeoutMs: 5000 }), (e) => e instanceof hms.InvalidArgument && e.details.reason === 'WRONG_MESSAGE_TYPE')
  const shared = (await collect(q1, 500)).length + (await collect(q2, 500)).length
  assert.equal(shared, 1)
  for (const s of [sub, q1, q2]) s.close()
})

test('over NATS a Node subscriber receives what a Python process published', { timeout: 30000 }, async (t) => {
  const address = await natsServer(t)
  if (address === null) return
  if (!fs.existsSync(PYTHON)) {
    t.skip(`the Python package is not installed (${PYTHON}): run make py-install`)
    return
  }
  const bus = declared(await hms.Bus.connect(`nats://${address}/shop`, schema()))
  const sub = await bus.subscribe('orders.*')
  const script = [
    'import sys, hms_ffi',
    'bus = hms_ffi.Bus.connect(sys.argv[1], hms_ffi.Schema.from_source("shop.proto", sys.argv[2]))',
    'bus.declare("orders.>", "shop.v1.OrderPlaced")',
    'bus.publish("orders.py", {"id": "from-python", "cents": 7})'
  ].join('\n')
  await new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', script, `nats://${address}/shop`, PROTO], { timeout: 20000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`python failed: ${err.message} ${stderr}`))
      else resolve()
    })
  })
  assert.deepEqual(await sub.next({ timeoutMs: 5000 }), { topic: 'orders.py', message: { id: 'from-python', cents: 7n } })
  sub.close()
})
