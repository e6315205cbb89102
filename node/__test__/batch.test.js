'use strict'
// Batched calls (`client.batch`): one entry per call in order, a failed call typed while the
// others succeed, one deadline for the whole batch, cancellation by AbortSignal, and the
// oversized batch refused whole. The rules are the core's (docs/messaging.md, "Batched calls").

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const hms = require('..')
const { PROTO, SERVICE } = require('./vectors')

const ECHO = `${SERVICE}/EchoScalars`
const SLEEP = `${SERVICE}/Sleep`
const FAIL = `${SERVICE}/Fail`

async function serveUnix (t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-batch-'))
  const server = new hms.Server(hms.Schema.load(PROTO))
  server.method(ECHO, (req) => req)
  server.method(FAIL, (req) => { throw new hms.NotFound(`no ${req.message}`) })
  server.method(SLEEP, (req, ctx) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve({}), Number(req.millis))
    ctx.signal.addEventListener('abort', () => { clearTimeout(timer); resolve({}) })
  }))
  const uri = await server.listen(`unix://${path.join(dir, 's.sock')}`)
  const client = await hms.connect(uri)
  t.after(async () => {
    client.close()
    await server.shutdown()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return client
}

test('a batch answers every call in order, a failed call typed while the others succeed', { timeout: 20000 }, async (t) => {
  const client = await serveUnix(t)
  const calls = []
  for (let i = 0; i < 200; i++) calls.push([ECHO, { int32_v: i }])
  calls[5] = [FAIL, { message: 'widget' }]
  calls[6] = [`${SERVICE}/Nope`, {}]
  calls[7] = [ECHO, { int32_v: 'seven' }]
  calls[8] = [ECHO, { string_v: () => 1 }]
  const entries = await client.batch(calls, { timeoutMs: 10000 })
  assert.equal(entries.length, 200)
  assert.ok(entries[5] instanceof hms.NotFound, String(entries[5]))
  assert.equal(entries[5].message, 'no widget')
  assert.ok(entries[6] instanceof hms.Unimplemented, String(entries[6]))
  assert.ok(entries[7] instanceof hms.InvalidArgument, String(entries[7]))
  assert.deepEqual(entries[7].fieldViolations.map((v) => v.field), ['int32_v'])
  assert.ok(entries[8] instanceof hms.InvalidArgument, String(entries[8]))
  entries.forEach((e, i) => {
    if (i < 5 || i > 8) assert.equal(e.int32_v, i, `entry ${i}: ${e}`)
  })
  assert.deepEqual(await client.batch([]), [])
})

test('one deadline bounds the whole batch: a slow call DeadlineExceeded, a quick one answered', { timeout: 20000 }, async (t) => {
  const client = await serveUnix(t)
  const start = Date.now()
  const entries = await client.batch([
    [SLEEP, { millis: 5000 }],
    [ECHO, { int32_v: 1 }],
    [SLEEP, { millis: 10 }]
  ], { timeoutMs: 300 })
  assert.ok(entries[0] instanceof hms.DeadlineExceeded, String(entries[0]))
  assert.equal(entries[1].int32_v, 1)
  assert.ok(!(entries[2] instanceof Error), String(entries[2]))
  assert.ok(Date.now() - start < 4000)
})

test('aborting the signal cancels every call not finished', { timeout: 20000 }, async (t) => {
  const client = await serveUnix(t)
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 200)
  const entries = await client.batch([
    [ECHO, { int32_v: 1 }],
    [SLEEP, { millis: 10000 }]
  ], { timeoutMs: 15000, signal: controller.signal })
  assert.equal(entries[0].int32_v, 1)
  assert.ok(entries[1] instanceof hms.Cancelled, String(entries[1]))
  const aborted = await client.batch([[ECHO, {}]], { signal: AbortSignal.abort() })
  assert.ok(aborted[0] instanceof hms.Cancelled, String(aborted[0]))
})

test('a batch of more than 100 000 calls is refused whole with InvalidArgument', { timeout: 60000 }, async (t) => {
  const client = await serveUnix(t)
  const calls = new Array(100001).fill([ECHO, { int32_v: 1 }])
  const err = await client.batch(calls).catch((e) => e)
  assert.ok(err instanceof hms.InvalidArgument, String(err))
  assert.match(err.message, /at most/)
})

test('a request that does not convert still counts: 100 000 sendable calls and one refused are refused whole', { timeout: 60000 }, async (t) => {
  const client = await serveUnix(t)
  const calls = new Array(100001).fill([ECHO, { int32_v: 1 }])
  calls[50000] = [ECHO, { string_v: () => 1 }]
  const err = await client.batch(calls).catch((e) => e)
  assert.ok(err instanceof hms.InvalidArgument, String(err))
  assert.match(err.message, /at most 100000 calls; this one has 100001/)
})

test('a request the encoder refuses keeps its place and its field path; the others are sent', { timeout: 20000 }, async (t) => {
  const client = await serveUnix(t)
  let deep = []
  for (let i = 0; i < 300; i++) deep = [deep]
  const entries = await client.batch([
    [ECHO, { int32_v: 1 }],
    [ECHO, { string_v: deep }],
    [ECHO, { int32_v: 3 }]
  ], { timeoutMs: 10000 })
  assert.equal(entries[0].int32_v, 1)
  assert.ok(entries[1] instanceof hms.ResourceExhausted, String(entries[1]))
  assert.match(entries[1].fieldViolations[0].field, /^string_v\[0\]\[0\]/)
  assert.equal(entries[2].int32_v, 3)
})
