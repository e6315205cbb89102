'use strict'
// What a user of the installed `hms-ffi` npm package sees (run by scripts/test-dist/node.sh in a
// new project outside the checkout, against the Rust greeter server at $HMS_GREETER).
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const hms = require('hms-ffi')

test('the package is the installed one', () => {
  // Installed into this project (or, for `npm install ./dir`, linked to that copy): never the
  // checkout the test runs from.
  const main = require.resolve('hms-ffi')
  assert.ok(!main.startsWith(process.env.HMS_CHECKOUT + path.sep), main)
  assert.equal(require('hms-ffi/package.json').license, 'Apache-2.0')
})

test('a call and a stream to the Rust server', async () => {
  const client = await hms.connect(process.env.HMS_GREETER)
  const reply = await client.call('demo.v1.Greeter/SayHello', { name: 'Ada', times: 2 }, { timeoutMs: 10000 })
  assert.match(reply.message, /^Hello Ada/)
  const got = []
  for await (const item of client.stream('demo.v1.Greeter/Chatter', { name: 'Ada', times: 3 }, { timeoutMs: 10000 })) {
    got.push(item.message)
  }
  assert.equal(got.length, 3)
  client.close()
})

test('errors keep their type', async () => {
  const client = await hms.connect(process.env.HMS_GREETER)
  await assert.rejects(client.call('demo.v1.Greeter/SayHello', { name: '' }, { timeoutMs: 10000 }), hms.InvalidArgument)
  await assert.rejects(client.call('demo.v1.Greeter/Nope', {}, { timeoutMs: 10000 }), hms.Unimplemented)
  client.close()
})
