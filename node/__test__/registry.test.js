'use strict'
// Schema.fromRegistry from Node (issue 21): a version of a schema named by a registry
// reference (`registry+URI#SUBJECT[@N|@latest|@sha256:…]`), fetched from a registry of the
// test's own (the CLI's `hms-ffi registry serve`, killed at the end) and checked by the core.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync, spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const hms = require('..')

const ROOT = path.resolve(__dirname, '..', '..')
const CLI = path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'hms-ffi')

async function registry (t) {
  assert.ok(fs.existsSync(CLI), `${CLI} is missing: cargo build -p hms-ffi-cli (make test-node does)`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-registry-'))
  const uri = `unix://${path.join(dir, 'r.sock')}`
  const proc = spawn(CLI, ['registry', 'serve', '--db', path.join(dir, 'r.db'), '--listen', uri], { stdio: 'ignore' })
  t.after(() => proc.kill('SIGKILL'))
  const deadline = Date.now() + 10000
  while (!fs.existsSync(path.join(dir, 'r.sock'))) {
    assert.ok(Date.now() < deadline, 'hms-ffi registry serve did not start')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  for (const v of ['shop_v1.proto', 'shop_v2.proto']) {
    execFileSync(CLI, ['registry', 'register', '--registry', uri, path.join(ROOT, 'tests', 'registry', v)], { timeout: 30000, stdio: 'ignore' })
  }
  return uri
}

const names = (schema) => schema.methods().map((m) => m.name).sort()

test('a schema named by a registry reference is that version, typed errors otherwise', async (t) => {
  const uri = await registry(t)
  const v1 = await hms.Schema.fromRegistry(`registry+${uri}#shop.v1@1`)
  assert.ok(v1 instanceof hms.Schema)
  assert.deepEqual(names(v1), ['shop.v1.Shop/Get'])
  const latest = await hms.Schema.fromRegistry(`registry+${uri}#shop.v1`, { timeoutMs: 5000 })
  assert.deepEqual(names(latest), ['shop.v1.Shop/Get', 'shop.v1.Shop/List'])
  await assert.rejects(hms.Schema.fromRegistry('shop/v1'), hms.InvalidArgument)
  await assert.rejects(hms.Schema.fromRegistry(`registry+${uri}#shop.v1@9`), hms.NotFound)
  await assert.rejects(hms.Schema.fromRegistry(`registry+unix:///nonexistent/r.sock#shop.v1`, { timeoutMs: 2000 }), hms.Unavailable)
  // Usable as the schema a client expects.
  const server = new hms.Server(latest)
  server.method('shop.v1.Shop/Get', () => ({ count: 3 }))
  const bound = await server.listen('inproc://node-registry')
  const client = await hms.connect(bound, { expectSchema: v1 })
  assert.equal((await client.call('shop.v1.Shop/Get', { id: 'x' })).count, 3)
  assert.deepEqual(client.incompatibleMethods(), {})
  client.close()
  await server.shutdown()
})
