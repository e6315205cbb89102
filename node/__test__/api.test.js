'use strict'
// Behaviour of the Node.js API: errors, cancellation, deadlines, nested calls, types, the event
// loop and the process lifetime.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFile } = require('node:child_process')
const hms = require('..')
const { PROTO, SERVICE } = require('./vectors')

const ECHO = `${SERVICE}/EchoScalars`
const SLEEP = `${SERVICE}/Sleep`
const FAIL = `${SERVICE}/Fail`
let n = 0

async function serve (setup) {
  const server = new hms.Server(hms.Schema.load(PROTO))
  setup(server)
  const uri = await server.listen(`inproc://node-api-${n++}`)
  return { server, client: await hms.connect(uri), uri }
}

test('typed errors: HmsError subclasses with code, details and instanceof', async () => {
  const { server, client } = await serve((s) => s.method(FAIL, (req) => {
    throw new hms.NotFound(`no ${req.message}`, { reason: 'GONE', domain: 'test', metadata: { k: 'v' } })
  }))
  const err = await client.call(FAIL, { message: 'widget' }).catch((e) => e)
  assert.ok(err instanceof hms.NotFound && err instanceof hms.HmsError && err instanceof Error)
  assert.equal(err.code, 'NOT_FOUND')
  assert.equal(err.grpcCode, 5)
  assert.equal(err.message, 'no widget')
  assert.equal(err.details.reason, 'GONE')
  assert.deepEqual(err.details.metadata, { k: 'v' })
  assert.equal(err.details.origin.language, 'node')
  await server.shutdown()
})

test('a wrong type is InvalidArgument with the field path, and nothing reaches the handler', async () => {
  let calls = 0
  const { server, client } = await serve((s) => s.method(ECHO, (req) => { calls++; return req }))
  const err = await client.call(ECHO, { int32_v: 'seven', bool_v: 1 }).catch((e) => e)
  assert.ok(err instanceof hms.InvalidArgument)
  assert.deepEqual(err.fieldViolations.map((v) => v.field).sort(), ['bool_v', 'int32_v'])
  const unsendable = await client.call(ECHO, { string_v: () => 1 }).catch((e) => e)
  assert.ok(unsendable instanceof hms.InvalidArgument, String(unsendable))
  assert.equal(calls, 0)
  assert.equal((await client.call(ECHO, { int32_v: 7 })).int32_v, 7)
  await server.shutdown()
})

test('a JS exception or a rejected Promise is Internal with the stack, and the server keeps serving', async () => {
  const { server, client } = await serve((s) => {
    s.method(FAIL, async (req) => {
      if (req.message === 'reject') return Promise.reject(new RangeError('bad range'))
      throw new TypeError('bad type')
    })
    s.method(ECHO, (req) => req)
  })
  for (const [message, cls] of [['throw', 'TypeError'], ['reject', 'RangeError']]) {
    const err = await client.call(FAIL, { message }).catch((e) => e)
    assert.ok(err instanceof hms.Internal, String(err))
    assert.match(err.message, new RegExp(`^${cls}: `))
    assert.ok(err.details.stack.some((l) => l.includes('api.test.js')), err.details.stack.join('\n'))
  }
  assert.equal((await client.call(ECHO, { string_v: 'still here' })).string_v, 'still here')
  await server.shutdown()
})

test('unknown methods and unknown schema names are typed errors', async () => {
  const { server, client } = await serve((s) => s.method(ECHO, (req) => req))
  const err = await client.call(`${SERVICE}/Nope`, {}).catch((e) => e)
  assert.ok(err instanceof hms.HmsError && ['NOT_FOUND', 'UNIMPLEMENTED'].includes(err.code), String(err))
  assert.throws(() => server.method(`${SERVICE}/Nope`, () => ({})), hms.HmsError)
  assert.throws(() => hms.Schema.fromSource('bad.proto', 'syntax = "proto3"; message {'), hms.InvalidArgument)
  assert.throws(() => hms.Schema.load('/no/such/file.proto'), hms.HmsError)
  await assert.rejects(hms.connect('unix:///no/such/hms.sock'), hms.Unavailable)
  await server.shutdown()
})

test('an AbortSignal cancels the call and the handler sees ctx.signal abort', async () => {
  let aborted
  const { server, client } = await serve((s) => s.method(SLEEP, (req, ctx) => new Promise((resolve) => {
    ctx.signal.addEventListener('abort', () => { aborted = true; resolve({}) })
  })))
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 50)
  const err = await client.call(SLEEP, { millis: 60000 }, { signal: controller.signal }).catch((e) => e)
  assert.ok(err instanceof hms.Cancelled, String(err))
  for (let i = 0; i < 50 && !aborted; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.ok(aborted, 'the handler was not told')
  const already = await client.call(SLEEP, { millis: 1 }, { signal: AbortSignal.abort() }).catch((e) => e)
  assert.ok(already instanceof hms.Cancelled)
  await server.shutdown()
})

test('a deadline reaches the handler and ends the call with DeadlineExceeded', async () => {
  let remaining
  const { server, client } = await serve((s) => s.method(SLEEP, (req, ctx) => {
    remaining = ctx.timeRemainingMs()
    return new Promise((resolve) => setTimeout(() => resolve({}), Number(req.millis)))
  }))
  const err = await client.call(SLEEP, { millis: 2000 }, { timeoutMs: 100 }).catch((e) => e)
  assert.ok(err instanceof hms.DeadlineExceeded, String(err))
  assert.ok(remaining > 0 && remaining <= 100, `remaining ${remaining}`)
  await server.shutdown()
})

test('metadata reaches the handler; a handler calls another server', async () => {
  const inner = await serve((s) => s.method(ECHO, (req, ctx) => ({ ...req, string_v: `${req.string_v}+${ctx.metadata['x-tenant']}` })))
  const outer = await serve((s) => s.method(ECHO, async (req, ctx) => {
    const reply = await inner.client.call(ECHO, req, { metadata: { 'x-tenant': ctx.metadata['x-tenant'] } })
    return { ...reply, int32_v: reply.int32_v + 1 }
  }))
  const reply = await outer.client.call(ECHO, { string_v: 'a', int32_v: 1 }, { metadata: { 'x-tenant': 'acme' } })
  assert.equal(reply.string_v, 'a+acme')
  assert.equal(reply.int32_v, 2)
  await outer.server.shutdown()
  await inner.server.shutdown()
})

test('a handler sets response headers and trailers; callWithMetadata reads them on each transport', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-md-'))
  const server = new hms.Server(hms.Schema.load(PROTO))
  const refused = []
  server.method(ECHO, (req, ctx) => {
    ctx.setHeader('x-cache', 'hit')
    ctx.setHeader('x-sig-bin', new Uint8Array([1, 2, 255]))
    ctx.setTrailer('x-took', '5ms')
    for (const bad of [() => ctx.setHeader('grpc-status', '0'), () => ctx.setTrailer('x-raw', Buffer.from([1]))]) {
      try { bad() } catch (e) { refused.push(e) }
    }
    assert.throws(() => ctx.setHeader('x-n', 5), TypeError)
    return req
  })
  for (const uri of ['inproc://node-api-md', `unix://${dir}/md.sock`, `grpc+unix://${dir}/md-grpc.sock`]) {
    await server.listen(uri)
    const client = await hms.connect(uri)
    refused.length = 0
    const { reply, headers, trailers } = await client.callWithMetadata(ECHO, { string_v: 'x' })
    assert.equal(reply.string_v, 'x', uri)
    assert.equal(headers['x-cache'], 'hit', uri)
    assert.deepEqual(Buffer.from(headers['x-sig-bin'], 'base64'), Buffer.from([1, 2, 255]), uri)
    assert.equal(trailers['x-took'], '5ms', uri)
    assert.equal(refused.length, 2, uri)
    assert.ok(refused.every((e) => e instanceof hms.InvalidArgument), refused.map(String).join('; '))
    assert.equal((await client.call(ECHO, { string_v: 'y' })).string_v, 'y', uri)
    client.close()
  }
  await server.shutdown()
  fs.rmSync(dir, { recursive: true, force: true })
})

test('an error carries the response headers and trailers the handler set, on each transport', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-err-md-'))
  const server = new hms.Server(hms.Schema.load(PROTO))
  server.method(FAIL, (req, ctx) => {
    ctx.setHeader('x-h', 'head')
    ctx.setTrailer('x-t', 'why')
    ctx.setTrailer('x-t', 'second value')
    throw new hms.NotFound(req.message)
  })
  for (const uri of ['inproc://node-api-err-md', `unix://${dir}/e.sock`, `grpc+unix://${dir}/e-grpc.sock`]) {
    await server.listen(uri)
    const client = await hms.connect(uri)
    for (const how of ['call', 'callWithMetadata']) {
      const err = await client[how](FAIL, { message: 'gone' }).catch((e) => e)
      assert.ok(err instanceof hms.NotFound, `${uri} ${how}: ${err}`)
      assert.equal(err.message, 'gone')
      assert.equal(err.trailers['x-t'], 'why', `${uri} ${how}: ${JSON.stringify(err.trailers)}`)
      // gRPC fails a call with a trailers-only response: there the core delivers the headers
      // the handler set before failing among the trailers (a core matter, not this binding's).
      const head = uri.startsWith('grpc') ? err.headers['x-h'] ?? err.trailers['x-h'] : err.headers['x-h']
      assert.equal(head, 'head', `${uri} ${how}: ${JSON.stringify(err.headers)} ${JSON.stringify(err.trailers)}`)
      assert.deepEqual(err.details.trailers, err.trailers)
    }
    client.close()
  }
  // An error raised before anything was sent has none.
  const local = new hms.Unavailable('down')
  assert.deepEqual([local.headers, local.trailers], [{}, {}])
  await server.shutdown()
  fs.rmSync(dir, { recursive: true, force: true })
})

test('close() ends calls in flight and every later call with Cancelled (CLIENT_CLOSED)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-close-'))
  const server = new hms.Server(hms.Schema.load(PROTO))
  server.method(SLEEP, (req, ctx) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve({}), Number(req.millis))
    ctx.signal.addEventListener('abort', () => { clearTimeout(timer); resolve({}) })
  }))
  server.method(ECHO, (req) => req)
  for (const uri of ['inproc://node-api-close', `unix://${dir}/c.sock`, `grpc+unix://${dir}/c-grpc.sock`]) {
    await server.listen(uri)
    const client = await hms.connect(uri)
    assert.equal((await client.call(ECHO, { int32_v: 1 })).int32_v, 1)
    const inFlight = client.call(SLEEP, { millis: 30000 }).catch((e) => e)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const started = Date.now()
    client.close()
    const err = await inFlight
    assert.ok(err instanceof hms.Cancelled, `${uri}: ${err}`)
    assert.equal(err.details.reason, 'CLIENT_CLOSED', uri)
    assert.ok(Date.now() - started < 5000, `${uri}: the call in flight was not ended`)
    const later = await client.call(ECHO, {}).catch((e) => e)
    assert.ok(later instanceof hms.Cancelled, `${uri}: ${later}`)
    assert.equal(later.details.reason, 'CLIENT_CLOSED', uri)
    client.close()
    assert.equal(client.endpoint, uri)
  }
  // On unix the core's close() does not reach the server, whose Sleep handler runs on: no grace.
  await server.shutdown({ graceMs: 100 })
  fs.rmSync(dir, { recursive: true, force: true })
})

test('the handler sees its method, the request metadata, a trace id and the deadline', async () => {
  const seen = []
  const { server, client } = await serve((s) => s.method(ECHO, (req, ctx) => {
    seen.push({ method: ctx.method, metadata: ctx.metadata, traceId: ctx.traceId, deadline: ctx.deadline })
    return req
  }))
  await client.call(ECHO, {}, { metadata: { 'x-user': 'ada', 'x-n': '7' } })
  const before = Date.now()
  await client.call(ECHO, {}, { timeoutMs: 30000 })
  assert.equal(seen[0].method, ECHO)
  assert.equal(seen[0].metadata['x-user'], 'ada')
  assert.equal(seen[0].metadata['x-n'], '7')
  assert.ok(seen[0].traceId.length > 0)
  assert.equal(seen[0].deadline, null)
  assert.ok(seen[1].deadline instanceof Date)
  const left = seen[1].deadline.getTime() - before
  assert.ok(left > 25000 && left <= 30100, `deadline ${left} ms away`)
  assert.notEqual(seen[0].traceId, seen[1].traceId)
  await server.shutdown()
})

test('a value nested too deep is ResourceExhausted with its path, as a request and as a reply', async () => {
  let deep = []
  for (let i = 0; i < 100000; i++) deep = [deep]
  let handled = 0
  const { server, client } = await serve((s) => s.method(`${SERVICE}/Echo`, (req) => {
    handled++
    return req.tags && req.tags[0] === 'deep' ? { meta: { x: deep } } : req
  }))
  const sent = await client.call(`${SERVICE}/Echo`, { meta: { x: deep } }).catch((e) => e)
  assert.ok(sent instanceof hms.ResourceExhausted, String(sent))
  assert.equal(sent.details.reason, 'NESTING_TOO_DEEP')
  assert.match(sent.fieldViolations[0].field, /^meta\.x(\[0\])+$/)
  assert.equal(handled, 0, 'nothing reached the handler')
  const replied = await client.call(`${SERVICE}/Echo`, { tags: ['deep'] }).catch((e) => e)
  assert.ok(replied instanceof hms.ResourceExhausted, String(replied))
  assert.equal(replied.details.reason, 'NESTING_TOO_DEEP')
  assert.match(replied.fieldViolations[0].field, /^meta\.x(\[0\])+$/)
  // Within the limit is fine, and the server keeps serving.
  assert.deepEqual((await client.call(`${SERVICE}/Echo`, { tags: ['ok'] })).tags, ['ok'])
  await server.shutdown()
})

test('a relay keeps every detail: violations, reason, origin and details of unmodelled types', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-relay-'))
  const other = [{ typeUrl: 'type.googleapis.com/test.v1.Extra', value: Buffer.from([8, 1, 255]) }]
  const inner = new hms.Server(hms.Schema.load(PROTO))
  inner.method(FAIL, (req) => {
    throw new hms.InvalidArgument(req.message, {
      fieldViolations: [{ field: 'items[2].price', description: 'negative' }], reason: 'BAD', domain: 'test', other
    })
  })
  const innerUri = await inner.listen(`unix://${dir}/inner.sock`)
  const outer = new hms.Server(hms.Schema.load(PROTO))
  const relay = await hms.connect(innerUri)
  // The relay serves another method, so the origin shows where the error was first raised.
  outer.method(`${SERVICE}/Echo`, (req) => relay.call(FAIL, { message: req.tags[0] }))
  const client = await hms.connect(await outer.listen(`unix://${dir}/outer.sock`))
  const err = await client.call(`${SERVICE}/Echo`, { tags: ['relayed'] }).catch((e) => e)
  assert.ok(err instanceof hms.InvalidArgument, String(err))
  assert.equal(err.message, 'relayed')
  assert.deepEqual(err.fieldViolations, [{ field: 'items[2].price', description: 'negative' }])
  assert.equal(err.details.reason, 'BAD')
  assert.deepEqual({ ...err.details.origin }, { language: 'node', service: SERVICE, method: 'Fail' })
  assert.equal(err.details.other.length, 1)
  assert.equal(err.details.other[0].typeUrl, other[0].typeUrl)
  assert.deepEqual(Buffer.from(err.details.other[0].value), other[0].value)
  client.close()
  relay.close()
  await outer.shutdown({ graceMs: 100 })
  await inner.shutdown({ graceMs: 100 })
  fs.rmSync(dir, { recursive: true, force: true })
})

test('types: bigint for 64-bit fields (number on request), Buffer bytes, Date timestamps', async () => {
  const { server, client, uri } = await serve((s) => {
    s.method(`${SERVICE}/Echo`, (req) => req)
    s.method(ECHO, (req) => req)
  })
  const ts = new Date('2024-02-29T12:34:56.789Z')
  const reply = await client.call(`${SERVICE}/Echo`, {
    scalars: { int64_v: 9007199254740993n, uint64_v: 18446744073709551615n, bytes_v: new Uint8Array([1, 2]) },
    at: ts
  })
  assert.equal(reply.scalars.int64_v, 9007199254740993n)
  assert.equal(reply.scalars.uint64_v, 18446744073709551615n)
  assert.equal(typeof reply.scalars.int32_v, 'number')
  assert.deepEqual([...reply.scalars.bytes_v], [1, 2])
  assert.ok(Buffer.isBuffer(reply.scalars.bytes_v))
  assert.ok(reply.at instanceof Date && reply.at.getTime() === ts.getTime())
  const asNumber = await hms.connect(uri, { int64: 'number' })
  const small = await asNumber.call(ECHO, { int64_v: 42n })
  assert.equal(small.int64_v, 42)
  const tooBig = await client.call(ECHO, { int64_v: 2n ** 64n }).catch((e) => e)
  assert.ok(tooBig instanceof hms.InvalidArgument, String(tooBig))
  await server.shutdown()
})

test('the event loop keeps running while calls are in flight', async () => {
  const { server, client } = await serve((s) => s.method(SLEEP, (req) => new Promise((resolve) => setTimeout(() => resolve({}), 200))))
  let ticks = 0
  const timer = setInterval(() => ticks++, 10)
  await Promise.all(Array.from({ length: 8 }, () => client.call(SLEEP, { millis: 200 })))
  clearInterval(timer)
  assert.ok(ticks >= 10, `only ${ticks} ticks in 200 ms`)
  await server.shutdown()
})

test('a process with only a server stays alive while listening and exits after shutdown()', async () => {
  const script = `
    const hms = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    const server = new hms.Server(hms.Schema.load(${JSON.stringify(PROTO)}))
    server.method(${JSON.stringify(ECHO)}, (r) => r)
    server.listen('inproc://alive').then(() => {
      setTimeout(() => { console.log('still alive'); server.shutdown() }, 300)
    })`
  // A server the program no longer references keeps serving until shutdown().
  const unreferenced = `
    const hms = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    async function start () {
      const server = new hms.Server(hms.Schema.load(${JSON.stringify(PROTO)}))
      server.method(${JSON.stringify(ECHO)}, (r) => r)
      await server.listen('inproc://unreferenced')
    }
    start().then(async () => {
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)) }
      const client = await hms.connect('inproc://unreferenced')
      console.log((await client.call(${JSON.stringify(ECHO)}, { int32_v: 5 })).int32_v)
      process.exit(0)
    })`
  const out2 = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', '-e', unreferenced], { timeout: 10000 }, (err, stdout) => err ? reject(err) : resolve(stdout))
  })
  assert.equal(out2.trim(), '5')
  const started = Date.now()
  const out = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { timeout: 10000 }, (err, stdout) => err ? reject(err) : resolve(stdout))
  })
  assert.equal(out.trim(), 'still alive')
  assert.ok(Date.now() - started < 8000)
})
