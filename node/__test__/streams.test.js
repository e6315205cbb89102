'use strict'
// Streams from Node.js: every streaming vector with Node as client and server (inproc, unix),
// Node against the Rust conformance program, and the idioms: async iterables both ways,
// backpressure, AbortSignal, a handler that throws, a consumer that stops early, headers sent
// ahead of the first reply (ctx.sendHeaders()).

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const hms = require('..')
const { conformanceServer, SERVICE } = require('./vectors')
const { runStreams } = require('./stream_vectors')

const RUST = path.resolve(__dirname, '..', '..', 'target', 'debug', 'examples', 'conformance')

function tmpSocket (name) {
  return `unix://${fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-'))}/${name}.sock`
}

async function withServer (uri, body) {
  const server = conformanceServer()
  const bound = await server.listen(uri)
  const client = await hms.connect(bound)
  try {
    return await body(client, server)
  } finally {
    client.close()
    await server.shutdown({ graceMs: 100 })
  }
}

for (const transport of ['inproc', 'unix']) {
  test(`every streaming vector: node client -> node server over ${transport}`, { timeout: 120000 }, async () => {
    const uri = transport === 'inproc' ? 'inproc://node-streams' : tmpSocket('streams')
    await withServer(uri, async (client) => {
      const { passed, failures, skipped } = await runStreams(client)
      assert.deepEqual(failures, [])
      assert.equal(skipped, 0)
      assert.ok(passed >= 16, `only ${passed} streaming cases ran`)
    })
  })
}

test('every streaming vector: node client -> rust server over unix', { timeout: 120000, skip: !fs.existsSync(RUST) && 'build the Rust conformance example first (make test-node does)' }, async () => {
  const uri = tmpSocket('rust-streams')
  const child = spawn(RUST, ['serve', uri], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    await new Promise((resolve, reject) => {
      child.stdout.once('data', resolve)
      child.once('exit', (code) => reject(new Error(`the Rust server exited with ${code}`)))
    })
    const client = await hms.connect(uri)
    const { passed, failures } = await runStreams(client)
    client.close()
    assert.deepEqual(failures, [])
    assert.ok(passed >= 16)
  } finally {
    child.kill('SIGTERM')
  }
})

test('an AbortSignal cancels a stream, and the handler sees it', { timeout: 30000 }, async () => {
  await withServer('inproc://node-streams-abort', async (client, server) => {
    const controller = new AbortController()
    const slow = { counts: { repeat: 1000, sleep_ms: 20 } }
    const replies = []
    await assert.rejects(async () => {
      for await (const reply of client.stream(`${SERVICE}/ServerStream`, slow, { signal: controller.signal })) {
        replies.push(reply)
        if (replies.length === 2) controller.abort()
      }
    }, hms.Cancelled)
    assert.equal(replies.length, 2)
    // The cancel reaches the handler's ctx.signal; its call ends soon after.
    const deadline = Date.now() + 5000
    while (server._calls.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(server._calls.size, 0, 'the handler still runs')
  })
})

test('send, closeSend and result: a client stream fed by hand', { timeout: 30000 }, async () => {
  await withServer('inproc://node-streams-send', async (client) => {
    const stream = client.stream(`${SERVICE}/ClientStream`)
    for (let i = 0; i < 5; i++) await stream.send({ unicode_text: `r${i}` })
    await stream.closeSend()
    const reply = await stream.result()
    assert.equal(reply.unicode_text, 'r4')
    assert.equal(reply.weight_mg, 5n)
    await assert.rejects(stream.send({}), hms.FailedPrecondition)
  })
})

test('a handler that returns one reply where replies are due fails the call with its reason', { timeout: 30000 }, async () => {
  const server = new hms.Server(hms.Schema.load(require('./vectors').PROTO))
  server.method(`${SERVICE}/ServerStream`, () => ({ unicode_text: 'not a stream' }))
  const uri = await server.listen('inproc://node-streams-one')
  const client = await hms.connect(uri)
  try {
    await assert.rejects(async () => {
      for await (const _ of client.stream(`${SERVICE}/ServerStream`, {})) ; // eslint-disable-line no-unused-vars, no-empty
    }, (e) => e instanceof hms.Internal && /yields its replies/.test(e.message))
  } finally {
    client.close()
    await server.shutdown({ graceMs: 100 })
  }
})

test('a fast producer waits for a slow consumer (backpressure)', { timeout: 60000 }, async () => {
  // A handler that counts what it has produced: with the caller reading one 64 KiB reply and
  // then pausing, the core's 1 MiB window holds the handler at about 16 replies, not all 200.
  const server = new hms.Server(hms.Schema.load(require('./vectors').PROTO))
  let produced = 0
  server.method(`${SERVICE}/ServerStream`, async function * () {
    for (let i = 0; i < 200; i++) {
      produced++
      yield { unicode_text: 'x'.repeat(65536) }
    }
  })
  const uri = await server.listen(tmpSocket('node-backpressure'))
  const client = await hms.connect(uri)
  try {
    const stream = client.stream(`${SERVICE}/ServerStream`, {}, { timeoutMs: 30000 })
    const first = await stream.next()
    assert.equal(first.value.unicode_text.length, 65536)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.ok(produced <= 40, `the handler produced ${produced} replies for a reader that took one`)
    let n = 1
    for await (const reply of stream) {
      assert.equal(reply.unicode_text.length, 65536)
      n++
    }
    assert.equal(n, 200)
    assert.equal(produced, 200)
  } finally {
    client.close()
    await server.shutdown({ graceMs: 100 })
  }
})

for (const transport of ['inproc', 'unix']) {
  test(`a stream handler sends its headers before any reply over ${transport}`, { timeout: 30000 }, async () => {
    // The handler sends its headers, then waits until this side has seen them: they come on
    // their own, ahead of every reply.
    let seen
    const headersSeen = new Promise((resolve) => { seen = resolve })
    const late = []
    const server = new hms.Server(hms.Schema.load(require('./vectors').PROTO))
    server.method(`${SERVICE}/ServerStream`, async function * (req, ctx) {
      ctx.setHeader('x-early', 'yes')
      ctx.sendHeaders()
      ctx.sendHeaders()
      try {
        ctx.setHeader('x-late', '1')
      } catch (e) {
        late.push(e)
      }
      let timer
      await Promise.race([headersSeen, new Promise((resolve) => { timer = setTimeout(resolve, 10000) })])
      clearTimeout(timer)
      yield { unicode_text: req.unicode_text }
    })
    const uri = await server.listen(transport === 'inproc' ? 'inproc://node-early-headers' : tmpSocket('early'))
    const client = await hms.connect(uri)
    try {
      const stream = client.stream(`${SERVICE}/ServerStream`, { unicode_text: 'a' }, { timeoutMs: 20000 })
      const deadline = Date.now() + 5000
      while (stream.headers === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
      assert.notEqual(stream.headers, null, 'no headers before a reply')
      assert.equal(stream.headers['x-early'], 'yes')
      assert.equal(stream.headers['x-late'], undefined)
      seen()
      const replies = []
      for await (const reply of stream) replies.push(reply.unicode_text)
      assert.deepEqual(replies, ['a'])
      assert.equal(late.length, 1)
      assert.ok(late[0] instanceof hms.FailedPrecondition, `${late[0]}`)
    } finally {
      client.close()
      await server.shutdown({ graceMs: 100 })
    }
  })
}
