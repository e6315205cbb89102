'use strict'
// What the Node benches (echo_bench.js, payload_bench.js) share: the echo servers each runs in
// a child process (the bench's own file started with `serve-hms`/`serve-grpc` and a URI, or
// `serve-raw` and a socket path), the grpc-js client of the same service, the raw
// length-prefixed socket client, and sequential latencies.
//
// A bench is described by `{ proto, file, method, loaderOptions }`: the .proto text, its file
// name, the echoed method (`package.Service/Method`) and the @grpc/proto-loader options
// (undefined for the loader's defaults).

const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')

/** @grpc/grpc-js and the bench's service as proto-loader builds it (from a copy of the .proto
 * in the temp dir). */
function grpcService (bench) {
  const grpc = require('@grpc/grpc-js')
  const loader = require('@grpc/proto-loader')
  const file = path.join(os.tmpdir(), `hms-bench-${bench.file}`)
  fs.writeFileSync(file, bench.proto)
  const def = grpc.loadPackageDefinition(loader.loadSync(file, bench.loaderOptions))
  const service = bench.method.split('/')[0].split('.').reduce((ns, name) => ns[name], def)
  return { grpc, Service: service }
}

/** The short name of the bench's method (`Echo`), as grpc-js services and stubs know it. */
function rpcName (bench) {
  return bench.method.split('/')[1]
}

async function serveHms (bench, uri) {
  const hms = require('hms-ffi')
  const server = new hms.Server(hms.Schema.fromSource(bench.file, bench.proto))
  server.method(bench.method, (req) => req)
  await server.listen(uri)
  process.once('SIGTERM', () => server.shutdown({ graceMs: 100 }))
}

function serveGrpc (bench, uri) {
  const { grpc, Service } = grpcService(bench)
  const server = new grpc.Server()
  server.addService(Service.service, { [rpcName(bench)]: (call, cb) => cb(null, call.request) })
  server.bindAsync(uri, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) throw err
    console.log('ready')
  })
  process.once('SIGTERM', () => server.forceShutdown())
}

/** A 'data' listener that cuts a byte stream into frames (a 4-byte big-endian length, then the
 * body), however reads split or join them, and calls `onFrame` with each whole frame, header
 * included. */
function frameReader (onFrame) {
  let buf = Buffer.alloc(0)
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
    while (buf.length >= 4) {
      const end = 4 + buf.readUInt32BE(0)
      if (buf.length < end) break
      onFrame(buf.subarray(0, end))
      buf = buf.subarray(end)
    }
  }
}

/** `body` with its 4-byte big-endian length in front. */
function rawFrame (body) {
  const frame = Buffer.allocUnsafe(4 + body.length)
  frame.writeUInt32BE(body.length, 0)
  body.copy(frame, 4)
  return frame
}

/** The raw echo: every length-prefixed frame read on a connection is written back as is. */
function serveRaw (path) {
  const sockets = new Set()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.on('data', frameReader((frame) => socket.write(frame)))
  })
  server.listen(path, () => console.log('ready'))
  process.once('SIGTERM', () => {
    server.close()
    for (const socket of sockets) socket.destroy()
  })
}

/** One connection to the raw echo at `path`: `call(frame)` writes a frame made by rawFrame and
 * resolves with the body of its reply. Calls may overlap: the server answers in order, so the
 * replies settle the calls first in, first out. */
async function rawClient (path) {
  const socket = net.connect(path)
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const waiting = []
  socket.on('data', frameReader((frame) => waiting.shift().resolve(frame.subarray(4))))
  socket.on('error', (e) => {
    for (const w of waiting.splice(0)) w.reject(e)
  })
  const call = (frame) => new Promise((resolve, reject) => {
    waiting.push({ resolve, reject })
    socket.write(frame)
  })
  return { call, close: () => socket.destroy() }
}

/** Serves the bench when this process was started as one of its servers (argv: mode, URI);
 * false when it was not. */
function runChildServer (bench) {
  const [mode, uri] = process.argv.slice(2)
  if (mode === 'serve-hms') {
    serveHms(bench, uri).then(() => console.log('ready'))
  } else if (mode === 'serve-grpc') {
    serveGrpc(bench, uri)
  } else if (mode === 'serve-raw') {
    serveRaw(uri)
  } else {
    return false
  }
  return true
}

/** Starts `script` as the server of `mode` on `uri` in a child process; resolves once it is ready. */
function startServer (script, mode, uri) {
  const child = spawn(process.execPath, [script, mode, uri], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve(child))
    child.once('exit', (code) => reject(new Error(`${mode} exited with ${code}`)))
  })
}

/** The URIs of the two servers' unix sockets and the raw echo's socket path, in a new temp dir. */
function unixUris () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-bench-'))
  return { hmsUri: `unix://${dir}/hms.sock`, grpcUri: `unix://${dir}/grpc.sock`, rawPath: `${dir}/raw.sock` }
}

/** A grpc-js client of the bench's service: `call(request)` resolves with the reply. */
function grpcClient (bench, uri) {
  const { grpc, Service } = grpcService(bench)
  const stub = new Service(uri, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'localhost' })
  const name = rpcName(bench)
  const call = (req) => new Promise((resolve, reject) => stub[name](req, (e, r) => (e ? reject(e) : resolve(r))))
  return { call, close: () => stub.close() }
}

/** `calls` sequential calls after `warmup` untimed ones: their latencies in µs, sorted. */
async function latency (call, calls, warmup) {
  for (let i = 0; i < warmup; i++) await call()
  const times = new Float64Array(calls)
  for (let i = 0; i < calls; i++) {
    const t = process.hrtime.bigint()
    await call()
    times[i] = Number(process.hrtime.bigint() - t) / 1000
  }
  times.sort()
  return times
}

/** The `q` quantile (0.5, 0.99) of sorted latencies. */
function pct (times, q) {
  return times[Math.floor(times.length * q)]
}

module.exports = { frameReader, grpcService, grpcClient, rawClient, rawFrame, runChildServer, startServer, unixUris, latency, pct }
