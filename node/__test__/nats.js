'use strict'
// A nats-server of the test's own on a free port, stopped when the test ends (skipped, saying
// so, only when nats-server is not installed: scripts/install-nats.sh). With `jetstream`, it
// stores streams in a temporary directory removed at the end.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')

const ROOT = path.resolve(__dirname, '..', '..')
const NATS_BIN = process.env.HMS_FFI_NATS_SERVER || path.join(ROOT, 'target/tools/nats/bin/nats-server')

function freePort () {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

/** `host:port` of a nats-server started for the test `t` (JetStream on with `jetstream`), or
 * null (the test skipped, saying why). Waits at most 10 s for it to listen. */
async function natsServer (t, { jetstream = false } = {}) {
  if (!fs.existsSync(NATS_BIN)) {
    t.skip(`nats-server is not installed (${NATS_BIN}): run scripts/install-nats.sh`)
    return null
  }
  const port = await freePort()
  const args = ['-a', '127.0.0.1', '-p', String(port)]
  if (jetstream) {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-js-'))
    t.after(() => fs.rmSync(store, { recursive: true, force: true }))
    args.push('-js', '-sd', store)
  }
  const proc = spawn(NATS_BIN, args, { stdio: 'ignore' })
  t.after(() => proc.kill('SIGTERM'))
  const deadline = Date.now() + 10000
  for (;;) {
    const up = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true) })
      c.on('error', () => resolve(false))
    })
    if (up) return `127.0.0.1:${port}`
    assert.ok(Date.now() < deadline && proc.exitCode === null, 'nats-server did not start')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

module.exports = { natsServer }
