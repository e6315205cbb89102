'use strict'
// The Node.js side of the cross-language matrix (tests/matrix/run.py).
//
//   node conformance.js serve unix:///tmp/x.sock      # the conformance and semantics services
//                                                     # until SIGTERM/SIGINT
//   node conformance.js client unix:///tmp/x.sock     # every vector as a client
//   node conformance.js semantics unix:///tmp/x.sock [server-language]
//                                                     # every call-semantics case as a client,
//                                                     # skipping only those with a written reason
//                                                     # (Node's client skips, and the server's)

const path = require('node:path')
const hms = require(path.resolve(__dirname, '..', '..', '..', 'node'))
const { conformanceServer, runAll, runSemantics, semanticsSkips } = require(path.resolve(__dirname, '..', '..', '..', 'node', '__test__', 'vectors'))

async function main ([mode, uri, serverLanguage]) {
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
  if (mode === 'semantics') {
    const { passed, failures, skipped } = await runSemantics(client, semanticsSkips('client', serverLanguage))
    for (const [name, why] of failures) console.log(`FAIL ${name}: ${why}`)
    for (const [name, reason] of skipped) console.log(`SKIP ${name}: ${reason}`)
    console.log(`${passed} passed, ${failures.length} failed, ${skipped.length} skipped`)
    client.close()
    return failures.length === 0 ? 0 : 1
  }
  const { passed, failures } = await runAll(client)
  for (const [id, message] of failures) console.log(`FAIL ${id}: ${message}`)
  console.log(`${passed} passed, ${failures.length} failed`)
  client.close()
  return failures.length === 0 ? 0 : 1
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (e) => {
  console.error(e)
  process.exitCode = 1
})
