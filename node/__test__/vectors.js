'use strict'
// The shared conformance vectors (tests/conformance) from Node.js: read them, run each as a
// client, and serve the conformance service. Used by the node tests and by the matrix.

const fs = require('node:fs')
const path = require('node:path')
const hms = require('..')

const ROOT = path.resolve(__dirname, '..', '..')
const PROTO = path.join(ROOT, 'tests', 'conformance', 'conformance.proto')
const SERVICE = 'hms.conformance.v1.Conformance'
const SEMANTICS = 'hms.conformance.v1.Semantics'
const SEMANTICS_DIR = path.join(ROOT, 'tests', 'conformance', 'semantics')

// JSON with the integer/float distinction kept: numbers with a '.' or exponent become floats.
function parseJson (text) {
  let i = 0
  const ws = () => { while (/\s/.test(text[i])) i++ }
  const value = () => {
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const out = {}
      ws()
      if (text[i] === '}') { i++; return out }
      for (;;) {
        ws()
        const k = value()
        ws(); i++ // ':'
        out[k] = value()
        ws()
        if (text[i++] === '}') return out
      }
    }
    if (c === '[') {
      i++
      const out = []
      ws()
      if (text[i] === ']') { i++; return out }
      for (;;) {
        out.push(value())
        ws()
        if (text[i++] === ']') return out
      }
    }
    if (c === '"') {
      const start = i
      i++
      while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1
      i++
      return JSON.parse(text.slice(start, i))
    }
    const m = /^(true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 400))
    i += m[0].length
    if (m[1] === 'true') return true
    if (m[1] === 'false') return false
    if (m[1] === 'null') return null
    return m[2] || m[3] ? { $float: m[1] } : Number(m[1])
  }
  return value()
}

function float (text) {
  return { nan: NaN, inf: Infinity, '-inf': -Infinity }[text] ?? Number(text)
}

function duration (text) {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text)
  const seconds = BigInt(m[2])
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0
  return m[1] ? new hms.Duration(-seconds, -nanos) : new hms.Duration(seconds, nanos)
}

/** An empty list inside `n` lists, built without recursion. */
function nestList (n) {
  let v = []
  for (let i = 1; i < n; i++) v = [v]
  return v
}

/** Vector notation → JavaScript values; `self` is what `"$self"` stands for (semantics cases). */
function notation (v, self) {
  if (Array.isArray(v)) return v.map((item) => notation(item, self))
  if (v === '$self' && self !== undefined) return self
  if (v === null || typeof v !== 'object') return v
  const keys = Object.keys(v)
  if (keys.length === 1 && keys[0].startsWith('$')) {
    const x = v[keys[0]]
    switch (keys[0]) {
      case '$nest_list': return nestList(x)
      case '$int': return BigInt(x)
      case '$float': return float(x)
      case '$bytes': return Buffer.from(x, 'base64')
      case '$bytes_fill': return Buffer.alloc(x.len, x.byte)
      case '$string_fill': return x.text.repeat(x.count)
      case '$timestamp': return hms.Timestamp.fromRFC3339(x)
      case '$duration': return duration(x)
    }
  }
  const out = {}
  for (const k of keys) out[k] = notation(v[k], self)
  return out
}

/** Loads every case: `{ id, method, request, timeoutMs, expect }`. */
function loadCases () {
  const dir = path.join(ROOT, 'tests', 'conformance', 'vectors')
  const cases = []
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const doc = parseJson(fs.readFileSync(path.join(dir, file), 'utf8'))
    for (const c of doc.cases) {
      cases.push({
        id: `${file.replace(/\.json$/, '')}/${c.name}`,
        method: c.method,
        request: notation(c.request),
        timeoutMs: c.timeout_ms ?? 30000,
        expect: c.expect
      })
    }
  }
  return cases
}

// One comparable form for actual and expected values: numbers and bigints by value.
function canonical (v) {
  if (v === null || v === undefined) return null
  if (typeof v === 'bigint') return `n:${v}`
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'n:NaN'
    return Number.isInteger(v) && Math.abs(v) < 1e21 ? `n:${BigInt(v)}` : `n:${v}`
  }
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `b:${Buffer.from(v).toString('base64')}`
  if (v instanceof hms.Timestamp) return `t:${v.toRFC3339()}`
  if (v instanceof Date) return `t:${hms.Timestamp.fromDate(v).toRFC3339()}`
  if (v instanceof hms.Duration) return `d:${v.toNanos()}`
  if (Array.isArray(v)) return v.map(canonical)
  if (typeof v === 'object') {
    const out = {}
    for (const k of Object.keys(v).sort()) out[k] = canonical(v[k])
    return out
  }
  return v
}

function same (actual, expected) {
  return JSON.stringify(canonical(actual)) === JSON.stringify(canonical(expected))
}

/** Runs one case; throws an Error describing a mismatch. */
async function check (c, client) {
  let reply
  let error
  try {
    reply = await client.call(c.method, c.request, { timeoutMs: c.timeoutMs })
  } catch (e) {
    error = e
  }
  verify(c.expect, reply, error)
}

/** Checks a reply or an error against `expect`; throws an Error describing a mismatch. */
function verify (expect, reply, error) {
  const c = { expect }
  if ('reply' in c.expect) {
    if (error) throw new Error(`expected a reply, got ${error.code}: ${error.message}`)
    const want = notation(c.expect.reply)
    if (!same(reply, want)) {
      throw new Error(`reply ${JSON.stringify(canonical(reply))} != ${JSON.stringify(canonical(want))}`)
    }
    return
  }
  const exp = c.expect.error
  if (!error) throw new Error(`expected ${exp.code}, got a reply`)
  if (!(error instanceof hms.HmsError)) throw new Error(`not an HmsError: ${error}`)
  if (error.code !== exp.code) throw new Error(`code ${error.code} (${error.message}), expected ${exp.code}`)
  if (exp.message_contains && !error.message.includes(exp.message_contains)) {
    throw new Error(`message ${JSON.stringify(error.message)} lacks ${JSON.stringify(exp.message_contains)}`)
  }
  if (exp.violations) {
    const got = error.fieldViolations.map((v) => v.field).sort()
    const want = [...exp.violations].sort()
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      throw new Error(`violations ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`)
    }
  }
  if (exp.reason !== undefined && error.details.reason !== exp.reason) {
    throw new Error(`reason ${JSON.stringify(error.details.reason)}, expected ${JSON.stringify(exp.reason)}`)
  }
  for (const [k, want] of Object.entries(exp.origin || {})) {
    const got = error.details.origin ? error.details.origin[k] : undefined
    if (got !== want) {
      throw new Error(`origin.${k} ${JSON.stringify(got)}, expected ${JSON.stringify(want)} (origin ${JSON.stringify(error.details.origin)})`)
    }
  }
}

/** A server implementing the conformance and semantics services in JavaScript
 * (tests/conformance/README.md). */
function conformanceServer () {
  const server = new hms.Server(hms.Schema.load(PROTO))
  server.method(`${SERVICE}/Echo`, (req) => req)
  server.method(`${SERVICE}/EchoScalars`, (req) => req)
  server.method(`${SERVICE}/Fail`, (req) => {
    const violations = (req.violation_paths || []).map((field) => ({
      field, description: 'rejected by the handler'
    }))
    const details = { fieldViolations: violations }
    if (req.reason) {
      Object.assign(details, { reason: req.reason, domain: 'conformance.example', metadata: { case: req.reason } })
    }
    throw new (hms.errorClass(req.code))(req.message, details)
  })
  server.method(`${SEMANTICS}/Context`, (req, ctx) => {
    for (const [k, v] of Object.entries(req.set_headers || {})) ctx.setHeader(k, v)
    for (const [k, v] of Object.entries(req.set_trailers || {})) ctx.setTrailer(k, v)
    if (req.fail_code) throw new (hms.errorClass(req.fail_code))(req.fail_message)
    if (req.nest_reply > 0) return { nested: nestList(req.nest_reply) }
    const metadata = {}
    for (const [k, v] of Object.entries(ctx.metadata)) if (k.startsWith('x-conf-')) metadata[k] = v
    return {
      method: ctx.method,
      metadata,
      has_deadline: ctx.deadline !== null,
      has_trace_id: Boolean(ctx.traceId)
    }
  })
  // The revision conformance-rev (tests/conformance/revision.proto): its Echo fails with ABORTED.
  server.addRevision('conformance-rev', hms.Schema.load(path.join(ROOT, 'tests', 'conformance', 'revision.proto')))
  server.method(`${SERVICE}/Echo`, (req) => {
    throw new (hms.errorClass('ABORTED'))(`revision ${req.unicode_text}`)
  }, { revision: 'conformance-rev' })
  server.method(`${SEMANTICS}/Relay`, async (req) => {
    const target = await hms.connect(req.target)
    try {
      await target.call(`${SERVICE}/Fail`, req.fail)
    } finally {
      target.close()
    }
    // The error Fail raised propagates unchanged; a reply here would be a broken Fail.
    return {}
  })
  server.method(`${SERVICE}/Sleep`, (req, ctx) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve({}), Number(req.millis))
    ctx.signal.addEventListener('abort', () => { clearTimeout(timer); resolve({}) }, { once: true })
  }))
  require('./stream_vectors').serveStreams(server)
  return server
}

/** Runs every case against `client`; returns `{ passed, failures: [[id, message]] }`. */
async function runAll (client) {
  let passed = 0
  const failures = []
  for (const c of loadCases()) {
    try {
      await check(c, client)
      passed++
    } catch (e) {
      failures.push([c.id, e.message])
    }
  }
  return { passed, failures }
}

/** The call-semantics cases (tests/conformance/semantics/calls.json), as written. */
function loadSemantics () {
  return parseJson(fs.readFileSync(path.join(SEMANTICS_DIR, 'calls.json'), 'utf8')).cases
}

/** The written reasons to skip semantics cases: `{ case: reason }` for Node as `role` and, when
 * `server` names the other side's language, for that server. */
function semanticsSkips (role, server) {
  const all = JSON.parse(fs.readFileSync(path.join(SEMANTICS_DIR, 'skips.json'), 'utf8'))
  const mine = (all.node && all.node[role]) || {}
  const theirs = (server && all[server] && all[server].server) || {}
  return { ...theirs, ...mine }
}

// A case without `timeout_ms` has no deadline (the handler must see none); this is how long the
// runner waits before it cancels such a call and fails the case.
const WATCHDOG_MS = 30000

/** Runs one semantics case; throws an Error describing a mismatch. */
async function checkSemantics (c, client) {
  let target = client
  if (c.client === 'closed') {
    target = await hms.connect(client.endpoint)
    target.close()
  }
  const controller = new AbortController()
  const options = { signal: controller.signal }
  if (c.metadata) options.metadata = c.metadata
  if (c.timeout_ms != null) options.timeoutMs = c.timeout_ms
  let watchdog = false
  const timers = [setTimeout(() => { watchdog = true; controller.abort() }, WATCHDOG_MS)]
  if (c.cancel_after_ms != null) timers.push(setTimeout(() => controller.abort(), c.cancel_after_ms))
  let out
  let error
  try {
    out = await target.callWithMetadata(c.method, notation(c.request, client.endpoint), options)
  } catch (e) {
    error = e
  } finally {
    for (const t of timers) clearTimeout(t)
  }
  if (watchdog) throw new Error(`no outcome within ${WATCHDOG_MS} ms`)
  verify(c.expect, out && out.reply, error)
  const got = error ? { headers: error.headers, trailers: error.trailers } : out
  for (const kind of ['headers', 'trailers']) {
    for (const [k, want] of Object.entries(c.expect[kind] || {})) {
      if ((got[kind] || {})[k] !== want) {
        throw new Error(`${kind} ${JSON.stringify(got[kind])} lack ${k}: ${JSON.stringify(want)}`)
      }
    }
  }
}

/** Runs every semantics case against `client`, skipping those in `skips` (`{ case: reason }`);
 * returns `{ passed, failures: [[name, why]], skipped: [[name, reason]] }`. */
async function runSemantics (client, skips = {}) {
  let passed = 0
  const failures = []
  const skipped = []
  for (const c of loadSemantics()) {
    if (skips[c.name]) {
      skipped.push([c.name, skips[c.name]])
      continue
    }
    try {
      await checkSemantics(c, client)
      passed++
    } catch (e) {
      failures.push([c.name, e.message])
    }
  }
  return { passed, failures, skipped }
}

module.exports = {
  PROTO,
  SERVICE,
  SEMANTICS,
  loadCases,
  check,
  verify,
  same,
  canonical,
  conformanceServer,
  runAll,
  notation,
  loadSemantics,
  semanticsSkips,
  checkSemantics,
  runSemantics
}
