'use strict'
// Security from Node.js: one `security` file gives the server its policy and limits; the handler
// sees the caller's identity and unix credentials; refused calls are typed errors.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const hms = require('..')
const { PROTO, SERVICE } = require('./vectors')

const ECHO = `${SERVICE}/Echo`
const SCALARS = `${SERVICE}/EchoScalars`

function tempDir () {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-sec-'))
}

test('a security file: policy denies a method, the handler sees identity and peer credentials', async () => {
  const dir = tempDir()
  const security = path.join(dir, 'security.toml')
  fs.writeFileSync(security, `
[limits]
max_message_bytes = 2048
[policy]
[[policy.rule]]
identities = ["uid:*"]
deny = ["${ECHO}"]
`)
  const server = new hms.Server(hms.Schema.load(PROTO), { security })
  const seen = []
  let echoed = 0
  server.method(SCALARS, (req, ctx) => {
    seen.push({ identity: ctx.identity, peerCredentials: ctx.peerCredentials })
    return req
  })
  server.method(ECHO, (req) => { echoed++; return req })
  const uri = await server.listen(`unix://${dir}/sec.sock`)
  assert.equal(fs.statSync(path.join(dir, 'sec.sock')).mode & 0o777, 0o600)
  // With a policy, discovery lists only what the caller may call: a discovering client does not
  // even see the denied method; a client given the schema is refused by the server.
  const discovering = await hms.connect(uri)
  const names = discovering.methods().map((m) => m.name)
  assert.ok(names.includes(SCALARS) && !names.includes(ECHO), String(names))
  discovering.close()
  const client = await hms.connect(uri, { schema: hms.Schema.load(PROTO) })
  assert.equal((await client.call(SCALARS, { string_v: 'hi' })).string_v, 'hi')
  assert.deepEqual(seen, [{
    identity: `uid:${process.getuid()}`,
    peerCredentials: { uid: process.getuid(), gid: process.getgid(), pid: process.pid }
  }])
  const denied = await client.call(ECHO, { unicode_text: 'no' }).catch((e) => e)
  assert.ok(denied instanceof hms.PermissionDenied, String(denied))
  assert.equal(denied.details.reason, 'POLICY_DENIED')
  assert.equal(echoed, 0)
  const big = await client.call(SCALARS, { string_v: 'x'.repeat(4096) }).catch((e) => e)
  assert.ok(big instanceof hms.ResourceExhausted, String(big))
  assert.equal(seen.length, 1)
  client.close()
  await server.shutdown({ graceMs: 1000 })
})

test('inproc callers have no identity and no peer credentials', async () => {
  const server = new hms.Server(hms.Schema.load(PROTO))
  let seen
  server.method(SCALARS, (req, ctx) => { seen = [ctx.identity, ctx.peerCredentials]; return req })
  const client = await hms.connect(await server.listen('inproc://node-sec-inproc'))
  await client.call(SCALARS, {})
  assert.deepEqual(seen, [null, null])
  await server.shutdown()
})

test('a bad security file is InvalidArgument at construction', () => {
  const dir = tempDir()
  const bad = path.join(dir, 'bad.toml')
  fs.writeFileSync(bad, "[policy]\ndefault_network = 'sometimes'\n")
  assert.throws(() => new hms.Server(hms.Schema.load(PROTO), { security: bad }), hms.InvalidArgument)
  const unknown = path.join(dir, 'unknown.toml')
  fs.writeFileSync(unknown, '[limits]\nmax_mesage_bytes = 10\n')
  const err = (() => { try { new hms.Server(hms.Schema.load(PROTO), { security: unknown }) } catch (e) { return e } })() // eslint-disable-line no-new
  assert.ok(err instanceof hms.InvalidArgument, String(err))
  assert.match(err.message, /max_mesage_bytes/)
  assert.doesNotMatch(err.message, /\0/, 'the details are not part of the message')
  assert.equal(err.details.reason, 'BAD_SECURITY_CONFIG', 'errors thrown synchronously keep their details')
  assert.deepEqual(err.details.fieldViolations, [])
  assert.throws(() => new hms.Server(hms.Schema.load(PROTO), { security: path.join(dir, 'missing.toml') }), hms.HmsError)
})
