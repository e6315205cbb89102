'use strict'
// The shared conformance vectors, with Node.js as client and as server, over inproc and unix;
// and against the Rust conformance program in both directions.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFile, spawn } = require('node:child_process')
const hms = require('..')
const { conformanceServer, runAll, runSemantics, semanticsSkips, loadSemantics } = require('./vectors')

const RUST = path.resolve(__dirname, '..', '..', 'target', 'debug', 'examples', 'conformance')

function tmpSocket (name) {
  return `unix://${fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-'))}/${name}.sock`
}

function assertAllPassed ({ passed, failures }) {
  assert.deepEqual(failures, [], `${failures.length} failed`)
  assert.ok(passed > 200, `only ${passed} cases ran`)
}

for (const transport of ['inproc', 'unix']) {
  test(`every vector: node client -> node server over ${transport}`, async () => {
    const server = conformanceServer()
    const uri = await server.listen(transport === 'inproc' ? 'inproc://node-conformance' : tmpSocket('conf'))
    try {
      const client = await hms.connect(uri)
      assertAllPassed(await runAll(client))
      client.close()
    } finally {
      await server.shutdown({ graceMs: 100 })
    }
  })
}

for (const transport of ['inproc', 'unix']) {
  test(`every call-semantics case: node client -> node server over ${transport}`, async () => {
    const server = conformanceServer()
    const uri = await server.listen(transport === 'inproc' ? 'inproc://node-semantics' : tmpSocket('sem'))
    try {
      const client = await hms.connect(uri)
      const skips = { ...semanticsSkips('server'), ...semanticsSkips('client') }
      const { passed, failures, skipped } = await runSemantics(client, skips)
      assert.deepEqual(failures, [], `${failures.length} failed`)
      assert.equal(passed + skipped.length, loadSemantics().length)
      assert.ok(skipped.every(([, reason]) => reason), 'a skip without a reason')
      client.close()
    } finally {
      await server.shutdown({ graceMs: 100 })
    }
  })
}

test('every vector: node client -> rust server over unix', { skip: !fs.existsSync(RUST) && 'build the Rust conformance example first (make test-node does)' }, async () => {
  const uri = tmpSocket('rust')
  const child = spawn(RUST, ['serve', uri], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    await new Promise((resolve, reject) => {
      child.stdout.once('data', (d) => (String(d).includes('ready') ? resolve() : reject(new Error(String(d)))))
      child.once('exit', (code) => reject(new Error(`rust server exited with ${code}`)))
    })
    const client = await hms.connect(uri)
    assertAllPassed(await runAll(client))
  } finally {
    child.kill('SIGTERM')
  }
})

test('every vector and semantics case: rust client -> node server over unix', { skip: !fs.existsSync(RUST) && 'build the Rust conformance example first' }, async () => {
  const server = conformanceServer()
  const uri = await server.listen(tmpSocket('node'))
  try {
    const out = await new Promise((resolve) => {
      execFile(RUST, ['client', uri], { maxBuffer: 1 << 24 }, (err, stdout, stderr) => resolve({ err, stdout, stderr }))
    })
    const m = /^(\d+) passed, (\d+) failed(?:, \d+ skipped)?$/m.exec(out.stdout)
    assert.ok(m, out.stdout + out.stderr)
    assert.equal(Number(m[2]), 0, out.stdout)
    assert.ok(Number(m[1]) > 200)
  } finally {
    await server.shutdown({ graceMs: 100 })
  }
})
