'use strict'
// Versions at connect from Node (issue 21, docs/evolution.md): a client built against v1 of a
// schema learns at connect which methods a v2 server breaks; the core refuses calls to them with
// `FailedPrecondition` (reason `INCOMPATIBLE_SCHEMA`) and lets the others through. Node only
// passes `expectSchema` and reads what the core found.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const hms = require('..')

const V1 = `
syntax = "proto3";
package shop.v1;
message Item { int32 count = 1; }
message GetRequest { string id = 1; }
message ListRequest {}
service Shop { rpc Get(GetRequest) returns (Item); rpc List(ListRequest) returns (Item); }
`
// GetRequest.id becomes an int64 (Get breaks), Item gains a field (List keeps working).
const V2 = V1.replace('string id = 1', 'int64 id = 1').replace('int32 count = 1;', 'int32 count = 1; string name = 2;')
const TIMEOUT = 10000

test('a client built against v1 learns at connect what a v2 server breaks', { timeout: 30000 }, async () => {
  const server = new hms.Server(hms.Schema.fromSource('shop.proto', V2))
  const seen = []
  server.method('shop.v1.Shop/Get', () => { seen.push('Get'); return { count: 1 } })
  server.method('shop.v1.Shop/List', () => { seen.push('List'); return { count: 2, name: 'pen' } })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-versions-'))
  const uri = await server.listen(`unix://${dir}/shop.sock`)
  server.setSchemaVersion('shop.v1', 2)
  try {
    const client = await hms.connect(uri, { expectSchema: hms.Schema.fromSource('shop.proto', V1) })
    assert.deepEqual(client.schemaVersion, server.schemaVersion)
    assert.equal(client.schemaVersion.subject, 'shop.v1')
    assert.equal(client.schemaVersion.version, 2)
    assert.match(client.schemaVersion.fingerprint, /^sha256:/)
    const broken = client.incompatibleMethods()
    assert.deepEqual(Object.keys(broken), ['shop.v1.Shop/Get'])
    assert.match(broken['shop.v1.Shop/Get'][0], /FIELD_WIRE_JSON_COMPATIBLE_TYPE/)
    await assert.rejects(client.call('shop.v1.Shop/Get', { id: '7' }, { timeoutMs: TIMEOUT }), (e) => {
      assert.ok(e instanceof hms.FailedPrecondition, `${e.constructor.name}: ${e.message}`)
      assert.equal(e.details.reason, 'INCOMPATIBLE_SCHEMA')
      assert.match(e.message, /FIELD_WIRE_JSON_COMPATIBLE_TYPE/)
      return true
    })
    assert.equal((await client.call('shop.v1.Shop/List', {}, { timeoutMs: TIMEOUT })).count, 2)
    assert.deepEqual(seen, ['List'])
    client.close()
  } finally {
    await server.shutdown({ graceMs: 1000 })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('a client given its schema has no announced version and nothing incompatible', { timeout: 30000 }, async () => {
  const schema = hms.Schema.fromSource('shop.proto', V1)
  const server = new hms.Server(schema)
  server.method('shop.v1.Shop/List', () => ({ count: 3 }))
  const uri = await server.listen('inproc://node-versions-given')
  try {
    assert.equal(server.schemaVersion.subject, '')
    assert.equal(server.schemaVersion.version, 0)
    const client = await hms.connect(uri, { schema })
    assert.equal(client.schemaVersion, null)
    assert.deepEqual(client.incompatibleMethods(), {})
    client.close()
  } finally {
    await server.shutdown({ graceMs: 1000 })
  }
})
