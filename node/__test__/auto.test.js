'use strict'
// auto://NAME from Node (issue 18): a server announces a name; a client finds it (in-process
// when it can, else over shared memory or the transport it is told) and says which transport
// it picked. Node only passes the URI: the choice is the core's.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const hms = require('..')

// This file's own runtime directory (node --test runs each file in a process of its own).
const RUN = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-auto-'))
process.env.XDG_RUNTIME_DIR = RUN

const PROTO = `
syntax = "proto3";
package nodeauto.v1;
message Msg { string text = 1; string transport = 2; }
service Echo { rpc Say(Msg) returns (Msg); }`
const SAY = 'nodeauto.v1.Echo/Say'

test('a client finds a server by name and says which transport it picked', async () => {
  const server = new hms.Server(hms.Schema.fromSource('auto.proto', PROTO))
  server.method(SAY, (req, ctx) => ({ text: req.text, transport: ctx.transport }))
  assert.equal(await server.listen('auto://nodeauto'), 'auto://nodeauto')
  assert.ok(fs.existsSync(path.join(RUN, 'hms-ffi', 'auto', 'nodeauto.json')))
  const sock = `unix://${path.join(RUN, 'hms-ffi', 'auto', 'nodeauto.sock')}`
  const cases = [
    ['auto://nodeauto', 'inproc://nodeauto', 'inproc'],
    ['auto://nodeauto?transports=shm', 'shm://nodeauto', 'shm'],
    ['auto://nodeauto?transports=unix', sock, 'unix']
  ]
  for (const [uri, picked, transport] of cases) {
    const client = await hms.connect(uri)
    assert.equal(client.transport, picked, uri)
    assert.deepEqual(await client.call(SAY, { text: uri }, { timeoutMs: 5000 }), { text: uri, transport })
    assert.equal(client.endpoints()[0].connected, picked)
    client.close()
    assert.equal(client.transport, null)
  }
  await server.shutdown({ graceMs: 0 })
  assert.ok(!fs.existsSync(path.join(RUN, 'hms-ffi', 'auto', 'nodeauto.json')))
  await assert.rejects(hms.connect('auto://nodeauto'), hms.Unavailable)
  await assert.rejects(hms.connect('auto://a/b'), hms.InvalidArgument)
  await assert.rejects(hms.connect('auto://x?transports=pigeon'), hms.InvalidArgument)
})
