'use strict'
// The Node.js side of the cross-language matrix (tests/matrix/run.py).
//
//   node conformance.js serve unix:///tmp/x.sock      # the conformance and semantics services
//                                                     # until SIGTERM/SIGINT
//   node conformance.js client unix:///tmp/x.sock     # every vector (streaming ones when the
//                                                     # server streams) and every call-semantics
//                                                     # case as a client (skipping only cases
//                                                     # with Node's written client reason), then
//                                                     # one "N passed, M failed, K skipped"
//   node conformance.js streams grpc://127.0.0.1:P    # every streaming vector against a server
//                                                     # without hms-ffi discovery (stock gRPC)

const path = require('node:path')
const hms = require(path.resolve(__dirname, '..', '..', '..', 'node'))
const TESTS = path.resolve(__dirname, '..', '..', '..', 'node', '__test__')
const { conformanceServer, runAll, runSemantics, semanticsSkips } = require(path.join(TESTS, 'vectors'))
const { runStreams } = require(path.join(TESTS, 'stream_vectors'))

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
  if (mode === 'streams') {
    // Against a server without hms-ffi discovery (a stock gRPC server): the schema is ours.
    const { PROTO } = require(path.join(TESTS, 'vectors'))
    const client = await hms.connect(uri, { schema: hms.Schema.load(PROTO) })
    const streams = await runStreams(client)
    for (const [id, message] of streams.failures) console.log(`FAIL ${id}: ${message}`)
    console.log(`${streams.passed} passed, ${streams.failures.length} failed`)
    client.close()
    return streams.failures.length === 0 ? 0 : 1
  }
  const client = await hms.connect(uri)
  const vectors = await runAll(client)
  const semantics = await runSemantics(client, semanticsSkips('client'))
  const streams = await runStreams(client)
  for (const [id, message] of [...vectors.failures, ...streams.failures]) console.log(`FAIL ${id}: ${message}`)
  if (streams.skipped) console.log(`SKIP streams: the server answers UNIMPLEMENTED (its binding does not stream yet); ${streams.skipped} cases`)
  for (const [name, why] of semantics.failures) console.log(`FAIL semantics/${name}: ${why}`)
  for (const [name, reason] of semantics.skipped) console.log(`SKIP semantics/${name}: ${reason}`)
  const passed = vectors.passed + semantics.passed + streams.passed
  const failed = vectors.failures.length + semantics.failures.length + streams.failures.length
  console.log(`${passed} passed, ${failed} failed, ${semantics.skipped.length + streams.skipped} skipped`)
  client.close()
  return failed === 0 ? 0 : 1
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (e) => {
  console.error(e)
  process.exitCode = 1
})
