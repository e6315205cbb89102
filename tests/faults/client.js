'use strict'
// Node's client of the fault proof (tests/faults/test_faults.py):
//   node client.js PROTO RESILIENCE PREFIX CALLS CALLERS URI...
// CALLERS concurrent callers (promises on one client) make CALLS / CALLERS calls each of
// res.v1.Counter/Get (IDEMPOTENT), then of res.v1.Counter/Add, with ids PREFIX-KIND-CALLER-N;
// each reply must carry its own id. Prints one JSON line (see client.py).
const path = require('node:path')
const hms = require(path.resolve(__dirname, '..', '..', 'node'))

const METHODS = { get: 'res.v1.Counter/Get', add: 'res.v1.Counter/Add' }

async function main ([proto, resilience, prefix, calls, callers, ...uris]) {
  const per = Math.floor(Number(calls) / Number(callers))
  const client = await hms.connect(uris, { schema: hms.Schema.load(proto), resilience })
  const summary = { get: { ok: 0, unavailable: 0 }, add: { ok: 0, unavailable: 0 }, wrong: 0, other: 0, errors: [] }
  const caller = async (kind, t) => {
    for (let n = 0; n < per; n++) {
      const id = `${prefix}-${kind}-${t}-${n}`
      let reply
      try {
        reply = await client.call(METHODS[kind], { id }, { timeoutMs: 20_000 })
      } catch (e) {
        if (e.code === 'UNAVAILABLE') {
          summary[kind].unavailable++
        } else {
          summary.other++
          if (summary.errors.length < 10) summary.errors.push(`${id}: ${e.code}: ${e.message}`)
        }
        continue
      }
      if (reply.id === id) {
        summary[kind].ok++
      } else {
        summary.wrong++
        if (summary.errors.length < 10) summary.errors.push(`${id}: got the reply of ${reply.id}`)
      }
    }
  }
  for (const kind of Object.keys(METHODS)) {
    await Promise.all(Array.from({ length: Number(callers) }, (_, t) => caller(kind, t)))
  }
  client.close()
  console.log(JSON.stringify(summary))
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e)
  process.exit(1)
})
