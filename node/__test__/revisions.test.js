'use strict'
// Two revisions of one package served side by side from Node (docs/evolution.md, "Two versions
// side by side"): a call chooses its revision at connect or with the `hms-schema-revision`
// metadata entry, and a v1 handler serves v2 callers through a bridge. Node passes the
// revision along; the core routes, checks and transcodes.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const hms = require('..')

const REV1 = `
syntax = "proto3";
package acme.v1;
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; }
service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
`
// Fields renamed (the same numbers) and added: compatible on the wire, not in JSON.
const REV2 = `
syntax = "proto3";
package acme.v1;
message HelloRequest { string full_name = 1; string locale = 2; }
message HelloReply { string text = 1; int32 length = 2; }
service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
`
const BROKEN = REV1.replace('string name = 1', 'double name = 1')
const METHOD = 'acme.v1.Greeter/SayHello'
const TIMEOUT = { timeoutMs: 10000 }
const schema = (text) => hms.Schema.fromSource('acme/v1/greeter.proto', text)
const v1Handler = (req) => ({ message: `v1 ${req.name}` })

async function withServer (setup, body) {
  const server = new hms.Server(schema(REV2))
  setup(server)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-revisions-'))
  const uri = await server.listen(`unix://${dir}/rev.sock`)
  try {
    await body(server, uri)
  } finally {
    await server.shutdown({ graceMs: 1000 })
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

function twoRevisions (server) {
  server.method(METHOD, (req) => ({ text: `v2 ${req.full_name} ${req.locale}`, length: req.full_name.length }))
  server.addRevision('rev1', schema(REV1))
  server.method(METHOD, v1Handler, { revision: 'rev1' })
}

test('a client chooses its revision at connect', { timeout: 30000 }, async () => {
  await withServer(twoRevisions, async (server, uri) => {
    const fingerprint = server.revisions.rev1
    assert.match(fingerprint, /^sha256:/)
    const main = await hms.connect(uri)
    assert.equal(main.revision, null)
    assert.deepEqual(main.revisions, { rev1: fingerprint })
    assert.deepEqual(await main.call(METHOD, { full_name: 'Ada', locale: 'en' }, TIMEOUT), { text: 'v2 Ada en', length: 3 })
    const v1 = await hms.connect(uri, { revision: 'rev1' })
    assert.equal(v1.revision, fingerprint)
    assert.deepEqual(await v1.call(METHOD, { name: 'Ada' }, TIMEOUT), { message: 'v1 Ada' })
    // The schema the client was built against chooses the revision by itself.
    const built = await hms.connect(uri, { expectSchema: schema(REV1) })
    assert.equal(built.revision, fingerprint)
    assert.deepEqual(built.incompatibleMethods(), {})
    assert.deepEqual(await built.call(METHOD, { name: 'Bo' }, TIMEOUT), { message: 'v1 Bo' })
    for (const c of [main, v1, built]) c.close()
  })
})

test('a call chooses its revision with metadata; an unknown one is FailedPrecondition', { timeout: 30000 }, async () => {
  await withServer(twoRevisions, async (server, uri) => {
    const client = await hms.connect(uri, { schema: schema(REV1) })
    for (const key of ['rev1', server.revisions.rev1]) {
      const reply = await client.call(METHOD, { name: 'Ada' }, { ...TIMEOUT, metadata: { 'hms-schema-revision': key } })
      assert.deepEqual(reply, { message: 'v1 Ada' })
    }
    await assert.rejects(client.call(METHOD, { name: 'Ada' }, { ...TIMEOUT, metadata: { 'hms-schema-revision': 'rev9' } }), (e) => {
      assert.ok(e instanceof hms.FailedPrecondition, `${e.constructor.name}: ${e.message}`)
      assert.equal(e.details.reason, 'UNKNOWN_SCHEMA_REVISION')
      assert.match(e.message, /rev1 sha256:/)
      return true
    })
    await assert.rejects(hms.connect(uri, { revision: 'rev9' }), hms.FailedPrecondition)
    client.close()
    assert.throws(() => server.addRevision('rev1', schema(REV1)), hms.AlreadyExists)
    assert.throws(() => server.method(METHOD, v1Handler, { revision: 'nope' }), hms.NotFound)
  })
})

test('a v1 handler serves v2 callers through a bridge', { timeout: 30000 }, async () => {
  const setup = (server) => {
    server.addRevision('rev1', schema(REV1))
    server.method(METHOD, v1Handler, { revision: 'rev1' })
    server.bridge('rev1', METHOD)
    server.addRevision('broken', schema(BROKEN))
    server.method(METHOD, v1Handler, { revision: 'broken' })
    assert.throws(() => server.bridge('broken', METHOD), (e) => {
      assert.ok(e instanceof hms.FailedPrecondition, `${e.constructor.name}: ${e.message}`)
      assert.equal(e.details.reason, 'INCOMPATIBLE_SCHEMA')
      assert.match(e.message, /FIELD_WIRE_COMPATIBLE_TYPE/)
      return true
    })
  }
  await withServer(setup, async (server, uri) => {
    const v2 = await hms.connect(uri)
    // The renamed field reaches the v1 handler by number; the added one is dropped.
    assert.deepEqual(await v2.call(METHOD, { full_name: 'Ada', locale: 'en' }, TIMEOUT), { text: 'v1 Ada', length: 0 })
    v2.close()
  })
})
