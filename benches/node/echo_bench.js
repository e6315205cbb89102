'use strict'
// 64-byte unary echo over a unix socket, Node client -> Node server in another process:
// hms-ffi against @grpc/grpc-js, in one run. Sequential p50/p99, then 16 calls in flight.
//
//   make bench-node        (NODE_PATH points at the installed hms-ffi package)
//   node echo_bench.js [calls]
//
// The server of each side runs in a child process (this file with `serve-hms`/`serve-grpc`).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')

const PROTO = 'syntax = "proto3"; package bench.v1; message Blob { bytes data = 1; } service Echo { rpc Echo(Blob) returns (Blob); }'
const METHOD = 'bench.v1.Echo/Echo'
const PAYLOAD = Buffer.alloc(64, 120)

function grpcService () {
  const grpc = require('@grpc/grpc-js')
  const loader = require('@grpc/proto-loader')
  const file = path.join(os.tmpdir(), 'hms-bench-echo.proto')
  fs.writeFileSync(file, PROTO)
  const def = grpc.loadPackageDefinition(loader.loadSync(file))
  return { grpc, Echo: def.bench.v1.Echo }
}

async function serveHms (uri) {
  const hms = require('hms-ffi')
  const server = new hms.Server(hms.Schema.fromSource('echo.proto', PROTO))
  server.method(METHOD, (req) => req)
  await server.listen(uri)
  process.once('SIGTERM', () => server.shutdown({ graceMs: 100 }))
}

function serveGrpc (uri) {
  const { grpc, Echo } = grpcService()
  const server = new grpc.Server()
  server.addService(Echo.service, { Echo: (call, cb) => cb(null, call.request) })
  server.bindAsync(uri, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) throw err
    console.log('ready')
  })
  process.once('SIGTERM', () => server.forceShutdown())
}

function startServer (mode, uri) {
  const child = spawn(process.execPath, [__filename, mode, uri], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve(child))
    child.once('exit', (code) => reject(new Error(`${mode} exited with ${code}`)))
  })
}

async function measure (label, call, calls) {
  for (let i = 0; i < 200; i++) await call() // warm-up
  const times = new Float64Array(calls)
  for (let i = 0; i < calls; i++) {
    const t = process.hrtime.bigint()
    await call()
    times[i] = Number(process.hrtime.bigint() - t) / 1000
  }
  times.sort()
  const inFlight = 16
  const total = calls * 2
  let next = 0
  const t = process.hrtime.bigint()
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next++ < total) await call()
  }))
  const seconds = Number(process.hrtime.bigint() - t) / 1e9
  const r = { label, p50: times[Math.floor(calls * 0.5)], p99: times[Math.floor(calls * 0.99)], perSec: total / seconds }
  console.log(`${label.padEnd(22)} p50 ${r.p50.toFixed(1).padStart(8)} µs   p99 ${r.p99.toFixed(1).padStart(8)} µs   16 in flight: ${Math.round(r.perSec).toString().padStart(7)} calls/s`)
  return r
}

async function main () {
  const calls = Number(process.argv[2] || 3000)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-bench-'))
  const hmsUri = `unix://${dir}/hms.sock`
  const grpcUri = `unix://${dir}/grpc.sock`
  const hmsServer = await startServer('serve-hms', hmsUri)
  const grpcServer = await startServer('serve-grpc', grpcUri)
  try {
    const hms = require('hms-ffi')
    const client = await hms.connect(hmsUri)
    const a = await measure('hms-ffi unix', () => client.call(METHOD, { data: PAYLOAD }), calls)

    const { grpc, Echo } = grpcService()
    const stub = new Echo(grpcUri, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'localhost' })
    const echo = () => new Promise((resolve, reject) => stub.Echo({ data: PAYLOAD }, (e, r) => (e ? reject(e) : resolve(r))))
    const b = await measure('@grpc/grpc-js unix', echo, calls)
    stub.close()

    console.log(`\nratios hms-ffi / grpc-js: p50 ${(a.p50 / b.p50).toFixed(3)}  p99 ${(a.p99 / b.p99).toFixed(3)}  throughput ${(a.perSec / b.perSec).toFixed(2)}x`)
  } finally {
    hmsServer.kill('SIGTERM')
    grpcServer.kill('SIGTERM')
  }
}

const [mode, uri] = process.argv.slice(2)
if (mode === 'serve-hms') {
  serveHms(uri).then(() => console.log('ready'))
} else if (mode === 'serve-grpc') {
  serveGrpc(uri)
} else {
  main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })
}
