'use strict'
// The Node.js side of the cross-language matrix (tests/matrix/run.py).
//
//   node conformance.js serve unix:///tmp/x.sock    # the conformance service until SIGTERM/SIGINT
//   node conformance.js client unix:///tmp/x.sock   # every vector as a client

const path = require('node:path')
const hms = require(path.resolve(__dirname, '..', '..', '..', 'node'))
const { conformanceServer, runAll } = require(path.resolve(__dirname, '..', '..', '..', 'node', '__test__', 'vectors'))

async function main ([mode, uri]) {
  if (mode === 'serve') {
    const server = conformanceServer()
    await server.listen(uri)
    const stop = () => server.shutdown({ graceMs: 1000 })
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
    console.log('ready')
    return 0
  }
  const client = await hms.connect(uri)
  const { passed, failures } = await runAll(client)
  for (const [id, message] of failures) console.log(`FAIL ${id}: ${message}`)
  console.log(`${passed} passed, ${failures.length} failed`)
  return failures.length === 0 ? 0 : 1
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (e) => {
  console.error(e)
  process.exitCode = 1
})
