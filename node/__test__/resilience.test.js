'use strict'
// Client resilience and the admin listener from Node (issues 23 and 20): the core reconnects,
// retries by a gRPC service config (idempotent methods only), waits for ready and balances
// endpoints; Node only passes the options (`connect(uri, { resilience })`, `waitForReady`).
// `server.admin(uri)` serves /metrics, /healthz, the monitoring page and its /api/stats.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const hms = require('..')

const PROTO = (pkg) => `
syntax = "proto3";
package ${pkg};
message Req { string id = 1; int32 fail_first = 2; }
message Rep { string id = 1; int32 previous = 2; string server = 3; }
service Counter {
  rpc Get(Req) returns (Rep) { option idempotency_level = IDEMPOTENT; }
  rpc Add(Req) returns (Rep);
}`
const GET = 'noderes.v1.Counter/Get'
const ADD = 'noderes.v1.Counter/Add'
const RETRY = {
  methodConfig: [{
    name: [{ service: 'noderes.v1.Counter' }],
    retryPolicy: {
      maxAttempts: 3,
      initialBackoff: '0.01s',
      maxBackoff: '0.05s',
      backoffMultiplier: 2,
      retryableStatusCodes: ['UNAVAILABLE']
    }
  }]
}
const FAST = { backoff: { initial: '0.02s', max: '0.1s', minConnectTimeout: '1s' } }

// Metrics are process-wide: the admin test serves a package of its own.
function counterServer (name, runs, pkg = 'noderes.v1', options = {}) {
  const server = new hms.Server(hms.Schema.fromSource('res.proto', PROTO(pkg)), options)
  const counted = (req, ctx) => {
    runs[req.id] = (runs[req.id] || 0) + 1
    if (runs[req.id] <= (req.fail_first || 0)) throw new hms.Unavailable(`run ${runs[req.id]} fails`)
    const previous = Number(ctx.metadata['grpc-previous-rpc-attempts'] || '0')
    return { id: req.id, previous, server: name }
  }
  server.method(GET.replace('noderes.v1', pkg), counted)
  server.method(ADD.replace('noderes.v1', pkg), counted)
  return server
}

function socket (name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-res-'))
  return `unix://${path.join(dir, name)}`
}

async function get (url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(10000) })
  return { status: res.status, text: await res.text() }
}

test('a service config retries idempotent methods only; bad options are InvalidArgument', async () => {
  const runs = {}
  const server = counterServer('one', runs)
  const uri = await server.listen(socket('p.sock'))
  const client = await hms.connect(uri, { resilience: { serviceConfig: RETRY } })
  const reply = await client.call(GET, { id: 'g', fail_first: 2 }, { timeoutMs: 5000 })
  assert.deepEqual([runs.g, reply.previous], [3, 2])
  await assert.rejects(client.call(ADD, { id: 'a', fail_first: 1 }, { timeoutMs: 5000 }), hms.Unavailable)
  assert.equal(runs.a, 1)
  await assert.rejects(hms.connect(uri, { resilience: { serviceConfig: { methodConfg: [] } } }), hms.InvalidArgument)
  await assert.rejects(hms.connect(uri, { resilience: '{"backoff": ' }), hms.InvalidArgument)
  await assert.rejects(hms.connect(uri, { resilience: { keepalive: { interval: 10n } } }), hms.InvalidArgument)
  // The same options as JSON text.
  const again = await hms.connect(uri, { resilience: JSON.stringify({ serviceConfig: RETRY }) })
  assert.equal((await again.call(GET, { id: 'h', fail_first: 1 }, { timeoutMs: 5000 })).previous, 1)
  await server.shutdown({ graceMs: 0 })
})

test('a service config served in discovery retries for a client given none', async () => {
  const runs = {}
  const server = counterServer('one', runs, 'noderes.v1', { serviceConfig: RETRY })
  const uri = await server.listen(socket('served.sock'))
  const client = await hms.connect(uri)
  const reply = await client.call(GET, { id: 's', fail_first: 1 }, { timeoutMs: 5000 })
  assert.deepEqual([runs.s, reply.previous], [2, 1])
  // A config given at connect wins: this one has no retry policy.
  const own = { serviceConfig: { methodConfig: [{ name: [{}], timeout: '5s' }] } }
  const plain = await hms.connect(uri, { resilience: own })
  await assert.rejects(plain.call(GET, { id: 'o', fail_first: 1 }, { timeoutMs: 5000 }), hms.Unavailable)
  assert.equal(runs.o, 1)
  await server.shutdown({ graceMs: 0 })
  const bad = { methodConfig: [{ name: [{}], retryPolicy: { maxAttempts: 1 } }] }
  assert.throws(() => counterServer('bad', {}, 'noderes.v1', { serviceConfig: bad }), hms.InvalidArgument)
  assert.throws(() => counterServer('bad', {}, 'noderes.v1', { serviceConfig: '{"methodConfig": ' }), hms.InvalidArgument)
})

test('a client reconnects, shows its state and waits for ready', async () => {
  const runs = {}
  const uri = socket('r.sock')
  const first = counterServer('one', runs)
  await first.listen(uri)
  const client = await hms.connect(uri, { resilience: FAST })
  assert.equal(client.state, 'ready')
  assert.equal((await client.call(GET, { id: 'a' }, { timeoutMs: 5000 })).server, 'one')
  await first.shutdown({ graceMs: 0 })
  await assert.rejects(client.call(ADD, { id: 'b' }, { timeoutMs: 5000 }), hms.Unavailable)
  assert.ok(['idle', 'transient_failure'].includes(client.state), client.state)
  const second = counterServer('two', runs)
  const later = setTimeout(() => { second.listen(uri) }, 200)
  try {
    // Waits for the server to come back instead of failing at once.
    const reply = await client.call(ADD, { id: 'c' }, { timeoutMs: 5000, waitForReady: true })
    assert.equal(reply.server, 'two')
    assert.equal(client.state, 'ready')
    assert.deepEqual(client.endpoints(), [{ uri, state: 'ready', ejected: false, connected: uri }])
    client.close()
    assert.equal(client.state, 'shutdown')
  } finally {
    clearTimeout(later)
    await second.shutdown({ graceMs: 0 })
  }
})

test('several endpoints are balanced round robin', async () => {
  const runs = {}
  const servers = [counterServer('one', runs), counterServer('two', runs)]
  const uris = [await servers[0].listen(socket('a.sock')), await servers[1].listen(socket('b.sock'))]
  const client = await hms.connect(uris, { resilience: { loadBalancing: 'round_robin' } })
  const seen = new Set()
  for (let i = 0; i < 6; i++) seen.add((await client.call(GET, { id: `rr${i}` }, { timeoutMs: 5000 })).server)
  assert.deepEqual([...seen].sort(), ['one', 'two'])
  assert.deepEqual(client.endpoints().map((e) => e.uri), uris)
  for (const s of servers) await s.shutdown({ graceMs: 0 })
})

test('server.admin serves metrics, health and the monitoring page', async () => {
  const runs = {}
  const server = counterServer('one', runs, 'nodeadmin.v1')
  const GET = 'nodeadmin.v1.Counter/Get'
  const uri = await server.listen(socket('m.sock'))
  const admin = server.admin('http://127.0.0.1:0')
  assert.match(admin, /^http:\/\/127\.0\.0\.1:\d+$/)
  assert.throws(() => server.admin('ftp://nowhere'), hms.InvalidArgument)
  const client = await hms.connect(uri)
  for (let i = 0; i < 3; i++) await client.call(GET, { id: `m${i}` }, { timeoutMs: 5000 })
  await assert.rejects(client.call(GET, { id: 'bad', fail_first: 1 }, { timeoutMs: 5000 }), hms.Unavailable)
  const metrics = await get(`${admin}/metrics`)
  assert.equal(metrics.status, 200)
  const line = metrics.text.split('\n').find((l) => l.startsWith('grpc_server_call_started_total{') &&
    l.includes(`grpc_method="${GET}"`) && l.includes('hms_transport="unix"'))
  assert.ok(line, metrics.text)
  assert.equal(Number(line.split(' ').pop()), 4)
  assert.deepEqual(await get(`${admin}/healthz`), { status: 200, text: 'ok\n' })
  assert.match((await get(`${admin}/`)).text, /<title>hms-ffi monitor<\/title>/)
  const stats = JSON.parse((await get(`${admin}/api/stats`)).text)
  const row = stats.methods.find((r) => r.method === GET && r.side === 'server')
  assert.deepEqual([row.started, row.finished.OK, row.finished.UNAVAILABLE], [4, 3, 1])
  assert.deepEqual(stats.endpoints, [uri])
  await server.shutdown({ graceMs: 0 })
})

test("a handler's call inherits its deadline, cancellation and trace, unless detached", async () => {
  const schema = hms.Schema.fromSource('peek.proto', `
    syntax = "proto3"; package nodepeek.v1;
    message Req { bool detach = 1; int32 sleep_ms = 2; }
    message Rep { double left = 1; bool has_deadline = 2; string trace_id = 3; bool cancelled = 4; }
    service Peek { rpc Peek(Req) returns (Rep); rpc Relay(Req) returns (Rep); }`)
  const inner = new hms.Server(schema)
  let cancelled = null
  inner.method('nodepeek.v1.Peek/Peek', async (req, ctx) => {
    if (req.sleep_ms) {
      await new Promise((resolve) => {
        const t = setTimeout(resolve, req.sleep_ms)
        ctx.signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
      })
      cancelled = ctx.cancelled
    }
    return { left: ctx.timeRemainingMs() ?? -1, has_deadline: ctx.deadline !== null, trace_id: ctx.traceId }
  })
  const innerClient = await hms.connect(await inner.listen('inproc://node-peek-inner'))
  const outer = new hms.Server(schema)
  outer.method('nodepeek.v1.Peek/Relay', async (req, ctx) => {
    // An await before the call: the handler's context is kept across it.
    await new Promise((resolve) => setImmediate(resolve))
    const reply = await innerClient.call('nodepeek.v1.Peek/Peek', { sleep_ms: req.sleep_ms }, { detach: req.detach })
    return { ...reply, trace_id: reply.trace_id === ctx.traceId ? 'same' : 'other' }
  })
  const client = await hms.connect(await outer.listen('inproc://node-peek-outer'))
  const got = await client.call('nodepeek.v1.Peek/Relay', {}, { timeoutMs: 2000 })
  assert.ok(got.has_deadline, JSON.stringify(got))
  assert.ok(got.left > 500 && got.left <= 2000, JSON.stringify(got))
  assert.equal(got.trace_id, 'same')
  const detached = await client.call('nodepeek.v1.Peek/Relay', { detach: true }, { timeoutMs: 2000 })
  assert.equal(detached.has_deadline, false, JSON.stringify(detached))
  // The outer call's deadline ends the inner handler's wait too.
  const start = Date.now()
  await assert.rejects(client.call('nodepeek.v1.Peek/Relay', { sleep_ms: 5000 }, { timeoutMs: 300 }), hms.DeadlineExceeded)
  const deadline = Date.now() + 5000
  while (cancelled === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.equal(cancelled, true)
  assert.ok(Date.now() - start < 2000, `${Date.now() - start} ms`)
  await outer.shutdown({ graceMs: 0 })
  await inner.shutdown({ graceMs: 0 })
})
