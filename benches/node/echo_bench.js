'use strict'
// 64-byte unary echo over a unix socket, Node client -> Node server in another process:
// hms-ffi against @grpc/grpc-js, in one run, and the floor: a raw length-prefixed echo (4-byte
// big-endian length, then the body) over net sockets. Sequential p50/p99, then 16 calls in flight
// (the raw row pipelines them on its one connection).
//
//   make bench-node        (NODE_PATH points at the installed hms-ffi package)
//   node echo_bench.js [calls]
//
// The server of each row runs in a child process (this file with `serve-hms`/`serve-grpc`/
// `serve-raw`).

const assert = require('node:assert')
const { grpcClient, rawClient, rawFrame, runChildServer, startServer, unixUris, latency, pct } = require('./common')

const PROTO = 'syntax = "proto3"; package bench.v1; message Blob { bytes data = 1; } service Echo { rpc Echo(Blob) returns (Blob); }'
const METHOD = 'bench.v1.Echo/Echo'
const PAYLOAD = Buffer.alloc(64, 120)
const BENCH = { proto: PROTO, file: 'echo.proto', method: METHOD }
const FRAME = rawFrame(PAYLOAD)

async function measure (label, call, calls) {
  const times = await latency(call, calls, 200)
  const inFlight = 16
  const total = calls * 2
  let next = 0
  const t = process.hrtime.bigint()
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next++ < total) await call()
  }))
  const seconds = Number(process.hrtime.bigint() - t) / 1e9
  const r = { label, p50: pct(times, 0.5), p99: pct(times, 0.99), perSec: total / seconds }
  console.log(`${label.padEnd(22)} p50 ${r.p50.toFixed(1).padStart(8)} µs   p99 ${r.p99.toFixed(1).padStart(8)} µs   16 in flight: ${Math.round(r.perSec).toString().padStart(7)} calls/s`)
  return r
}

async function main () {
  const calls = Number(process.argv[2] || 3000)
  const { hmsUri, grpcUri, rawPath } = unixUris()
  const hmsServer = await startServer(__filename, 'serve-hms', hmsUri)
  const grpcServer = await startServer(__filename, 'serve-grpc', grpcUri)
  const rawServer = await startServer(__filename, 'serve-raw', rawPath)
  try {
    const hms = require('hms-ffi')
    const client = await hms.connect(hmsUri)
    const a = await measure('hms-ffi unix', () => client.call(METHOD, { data: PAYLOAD }), calls)

    const stub = grpcClient(BENCH, grpcUri)
    const b = await measure('@grpc/grpc-js unix', () => stub.call({ data: PAYLOAD }), calls)
    stub.close()

    const raw = await rawClient(rawPath)
    assert.deepStrictEqual(await raw.call(FRAME), PAYLOAD)
    const c = await measure('raw unix', () => raw.call(FRAME), calls)
    raw.close()

    console.log(`\nratios hms-ffi / grpc-js: p50 ${(a.p50 / b.p50).toFixed(3)}  p99 ${(a.p99 / b.p99).toFixed(3)}  throughput ${(a.perSec / b.perSec).toFixed(2)}x   hms-ffi/raw p50 ${(a.p50 / c.p50).toFixed(3)}`)
  } finally {
    hmsServer.kill('SIGTERM')
    grpcServer.kill('SIGTERM')
    rawServer.kill('SIGTERM')
  }
}

if (!runChildServer(BENCH)) {
  main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })
}
