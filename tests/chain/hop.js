'use strict'
// Node's link of the chain (chain.proto): `node hop.js URI` serves chain.v1.Chain/Call until
// SIGTERM, prints "ready"; events go to $HMS_CHAIN_LOG as JSON lines.
const fs = require('node:fs')
const path = require('node:path')
const hms = require(path.resolve(__dirname, '..', '..', 'node'))

const log = (event) => fs.appendFileSync(process.env.HMS_CHAIN_LOG, JSON.stringify({ lang: 'node', ...event }) + '\n')
const clients = new Map()
const client = async (uri) => {
  if (!clients.has(uri)) clients.set(uri, await hms.connect(uri))
  return clients.get(uri)
}

async function main (uri) {
  const server = new hms.Server(hms.Schema.load(path.join(__dirname, 'chain.proto')))
  server.method('chain.v1.Chain/Call', async (req, ctx) => {
    const start = Date.now()
    const left = ctx.timeRemainingMs() ?? -1
    const [next, ...rest] = req.next || []
    if (!next) {
      await new Promise((resolve) => {
        const t = setTimeout(resolve, req.sleep_ms)
        ctx.signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
      })
      log({ tag: req.tag, event: 'last', left_ms: left, cancelled: ctx.cancelled, elapsed_ms: Date.now() - start })
      return { lang: 'node', left_ms: left, cancelled: ctx.cancelled }
    }
    try {
      // Nothing of this call's deadline or cancellation is passed: the call inherits them.
      return await (await client(next)).call('chain.v1.Chain/Call', { next: rest, sleep_ms: req.sleep_ms, tag: req.tag })
    } catch (e) {
      log({ tag: req.tag, event: 'hop', left_ms: left, code: e.code, elapsed_ms: Date.now() - start })
      throw e
    }
  })
  await server.listen(uri)
  console.log('ready')
  process.on('SIGTERM', () => server.shutdown({ graceMs: 0 }).then(() => process.exit(0)))
}

main(process.argv[2])
