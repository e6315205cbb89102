'use strict'
// Server streaming over a unix socket, Node client -> Node server in another process: one call
// streaming N 64-byte messages, hms-ffi against @grpc/grpc-js, in one run, and the floor: a raw
// socket stream (the server writes N length-prefixed frames, the client reads them). Messages
// per second, best of three.
//
//   make bench-node-streams     (NODE_PATH points at the installed hms-ffi package)
//   node stream_bench.js [messages]

const net = require('node:net')
const { frameReader, grpcService, rawFrame, startServer, unixUris } = require('./common')

const PROTO = 'syntax = "proto3"; package bench.v1; message Blob { bytes data = 1; int64 n = 2; } service Stream { rpc Many(Blob) returns (stream Blob); }'
const METHOD = 'bench.v1.Stream/Many'
const PAYLOAD = Buffer.alloc(64, 120)
const BENCH = { proto: PROTO, file: 'stream.proto', method: METHOD, loaderOptions: { longs: Number } }

async function serveHms (uri) {
  const hms = require('hms-ffi')
  const server = new hms.Server(hms.Schema.fromSource(BENCH.file, PROTO), { int64: 'number' })
  server.method(METHOD, function * (req) {
    const reply = { data: req.data }
    for (let i = 0; i < req.n; i++) yield reply
  })
  await server.listen(uri)
  console.log('ready')
  process.once('SIGTERM', () => server.shutdown({ graceMs: 100 }))
}

function serveGrpc (uri) {
  const { grpc, Service } = grpcService(BENCH)
  const server = new grpc.Server()
  server.addService(Service.service, {
    Many: (call) => {
      const reply = { data: call.request.data }
      let i = 0
      const pump = () => {
        while (i < call.request.n) {
          i++
          if (!call.write(reply)) return call.once('drain', pump) // backpressure
        }
        call.end()
      }
      pump()
    }
  })
  server.bindAsync(uri, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) throw err
    console.log('ready')
  })
  process.once('SIGTERM', () => server.forceShutdown())
}

/** The raw stream: each 4-byte count read is answered with that many frames. */
function serveRaw (path) {
  const frame = rawFrame(PAYLOAD)
  const server = net.createServer((socket) => {
    socket.on('error', () => {})
    socket.on('data', frameReader((f) => {
      let left = f.readUInt32BE(4)
      const pump = () => {
        while (left > 0) {
          left--
          if (!socket.write(frame)) return socket.once('drain', pump)
        }
      }
      pump()
    }))
  })
  server.listen(path, () => console.log('ready'))
  process.once('SIGTERM', () => server.close())
}

/** Best of three runs of `stream()` (resolving with the messages it read): messages/s. */
async function rate (label, n, stream) {
  let best = 0
  for (let run = 0; run < 3; run++) {
    const t = process.hrtime.bigint()
    const got = await stream()
    if (got !== n) throw new Error(`${label}: ${got} messages, expected ${n}`)
    best = Math.max(best, n / (Number(process.hrtime.bigint() - t) / 1e9))
  }
  console.log(`${label.padEnd(22)} ${Math.round(best).toString().padStart(9)} msg/s`)
  return best
}

async function main () {
  const n = Number(process.argv[2] || 100000)
  const { hmsUri, grpcUri, rawPath } = unixUris()
  const servers = [
    await startServer(__filename, 'serve-hms', hmsUri),
    await startServer(__filename, 'serve-grpc', grpcUri),
    await startServer(__filename, 'serve-raw', rawPath)
  ]
  try {
    const hms = require('hms-ffi')
    const client = await hms.connect(hmsUri, { int64: 'number' })
    const a = await rate('hms-ffi unix', n, async () => {
      let got = 0
      for await (const _ of client.stream(METHOD, { data: PAYLOAD, n })) got++ // eslint-disable-line no-unused-vars
      return got
    })
    client.close()

    const { grpc, Service } = grpcService(BENCH)
    const stub = new Service(grpcUri, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'localhost' })
    const b = await rate('@grpc/grpc-js unix', n, () => new Promise((resolve, reject) => {
      let got = 0
      const call = stub.Many({ data: PAYLOAD, n })
      call.on('data', () => got++)
      call.on('end', () => resolve(got))
      call.on('error', reject)
    }))
    stub.close()

    const socket = net.connect(rawPath)
    await new Promise((resolve) => socket.once('connect', resolve))
    let onFrame = null
    socket.on('data', frameReader(() => onFrame()))
    const c = await rate('raw unix', n, () => new Promise((resolve) => {
      let got = 0
      onFrame = () => { if (++got === n) resolve(got) }
      const req = Buffer.alloc(8)
      req.writeUInt32BE(4, 0)
      req.writeUInt32BE(n, 4)
      socket.write(req)
    }))
    socket.destroy()
    console.log(`\nratios: hms-ffi / grpc-js ${(a / b).toFixed(2)}x   hms-ffi / raw ${(a / c).toFixed(2)}x`)
  } finally {
    for (const s of servers) s.kill('SIGTERM')
  }
}

const [mode, uri] = process.argv.slice(2)
if (mode === 'serve-hms') serveHms(uri)
else if (mode === 'serve-grpc') serveGrpc(uri)
else if (mode === 'serve-raw') serveRaw(uri)
else main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })
