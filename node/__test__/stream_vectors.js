'use strict'
// The streaming conformance vectors (tests/conformance/streams) from Node.js: the server's
// streaming methods as tests/conformance/README.md ("Streaming") specifies them, and a client
// that runs each case. Used by the node tests and by the matrix.

const fs = require('node:fs')
const path = require('node:path')
const hms = require('..')
const { SERVICE, notation, verify, same, canonical } = require('./vectors')

const FILE = path.join(__dirname, '..', '..', 'tests', 'conformance', 'streams', 'streams.json')

const aborted = (sent) => new hms.Aborted(`failed after ${sent} replies`)

/** Waits `millis`, or throws `Cancelled` once the call is. */
function pause (ctx, millis) {
  if (!millis) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, millis)
    ctx.signal.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(new hms.Cancelled('cancelled while streaming'))
    }, { once: true })
  })
}

/** `ServerStream`, `ClientStream` and `Bidi` on `server`. */
function serveStreams (server) {
  server.method(`${SERVICE}/ServerStream`, async function * (req, ctx) {
    // Numbers from the request's map<string, int64>, which arrive as bigints.
    const count = (key, none) => (key in req.counts ? Number(req.counts[key]) : none)
    for (let i = 0; i < count('repeat', 3); i++) {
      if (i === count('fail_after', -1)) throw aborted(i)
      await pause(ctx, count('sleep_ms', 0))
      yield { ...req, weight_mg: i }
    }
  })
  server.method(`${SERVICE}/ClientStream`, async (requests) => {
    let last = {}
    let n = 0
    for await (const request of requests) {
      last = request
      n++
    }
    return { ...last, weight_mg: n }
  })
  server.method(`${SERVICE}/Bidi`, async function * (requests) {
    let i = 0
    for await (const request of requests) {
      if ('fail' in request.counts) throw aborted(i)
      yield { ...request, weight_mg: i++ }
    }
  })
}

/** Every streaming case: `{ id, method, requests, timeoutMs, cancelAfter, expect }`. */
function loadStreamCases () {
  return JSON.parse(fs.readFileSync(FILE, 'utf8')).cases.map((c) => ({
    id: `streams/${c.name}`,
    method: c.method,
    requests: c.requests.map((r) => notation(r)),
    timeoutMs: c.timeout_ms ?? 30000,
    cancelAfter: c.cancel_after_replies,
    expect: c.expect
  }))
}

/** Whether the server streams (a binding without streams answers UNIMPLEMENTED). */
async function serverStreams (client) {
  try {
    for await (const _ of client.stream(`${SERVICE}/ServerStream`, { counts: { repeat: 0 } }, { timeoutMs: 10000 })) break // eslint-disable-line no-unused-vars
    return true
  } catch (e) {
    if (e instanceof hms.Unimplemented) return false
    throw e
  }
}

/** Runs one streaming case; throws an Error describing a mismatch. */
async function checkStream (c, client) {
  const sent = c.method.endsWith('/ServerStream') ? c.requests[0] : c.requests
  const stream = client.stream(c.method, sent, { timeoutMs: c.timeoutMs })
  const replies = []
  let error
  const started = Date.now()
  try {
    for await (const reply of stream) {
      replies.push(reply)
      if (replies.length === c.cancelAfter) stream.cancel()
    }
  } catch (e) {
    error = e
  }
  if (c.expect.error) verify({ error: c.expect.error }, undefined, error)
  else if (error) throw new Error(`expected the stream to end, got ${error.code}: ${error.message}`)
  if (c.cancelAfter && Date.now() - started > 5000) throw new Error('a cancelled stream did not end promptly')
  if ('count' in c.expect && replies.length !== c.expect.count) {
    throw new Error(`${replies.length} replies, expected ${c.expect.count}`)
  }
  if (c.expect.replies) {
    const want = c.expect.replies.map((r) => notation(r))
    if (replies.length !== want.length) throw new Error(`${replies.length} replies, expected ${want.length}`)
    want.forEach((w, i) => {
      if (!same(replies[i], w)) {
        throw new Error(`[${i}] ${JSON.stringify(canonical(replies[i]))} != ${JSON.stringify(canonical(w))}`)
      }
    })
  }
}

/** Runs every streaming case, or skips them all when the server does not stream:
 * `{ passed, failures: [[id, message]], skipped }`. */
async function runStreams (client) {
  const cases = loadStreamCases()
  if (!await serverStreams(client)) return { passed: 0, failures: [], skipped: cases.length }
  let passed = 0
  const failures = []
  for (const c of cases) {
    try {
      await checkStream(c, client)
      passed++
    } catch (e) {
      failures.push([c.id, e.message])
    }
  }
  return { passed, failures, skipped: 0 }
}

module.exports = { serveStreams, loadStreamCases, checkStream, runStreams }
