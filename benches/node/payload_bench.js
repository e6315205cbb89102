'use strict'
// Nested messages of 64 B, 1 KiB and 64 KiB: Node client -> Node server over a unix socket,
// hms-ffi against @grpc/grpc-js, and hms-ffi's value path against the stock protobufjs library
// (what benches/python/payload_bench.py measures in Python: the same .proto and Orders).
//
//   make bench-node-payloads   (NODE_PATH points at the installed hms-ffi package)
//   node payload_bench.js [calls]   (timed sequential calls per row and size, default 1000;
//                                    at 64 KiB a fifth of them, but no fewer than min(200, calls))
//
// Every row starts from the same plain object a Node program holds, `order(size)`: int64 as a
// bigint (what hms-ffi gives back by default), bytes as Buffer, the map field as an object.
//
//   * hms-ffi unix: `client.call(METHOD, order)`, the server in a child process echoing it;
//   * grpc-js unix: @grpc/grpc-js with @grpc/proto-loader, loader options LOADER below (those of
//     the grpc-js examples: keepCase, longs: String, enums: String, defaults, oneofs; bytes keep
//     the default, Buffer). proto-loader's objects carry int64 as decimal text, so this row
//     starts from the object it gives back for the order (bigints turned to text). The client
//     serializes with Type.fromObject + encode, the server deserializes with decode + toObject
//     and echoes `call.request` (in a child process), the client decodes the reply the same way;
//   * hms-ffi inproc: the same call to a server in this process (`inproc://`; no socket, both
//     ends' value walks: object -> protobuf -> object -> handler -> object -> protobuf -> object);
//   * protobufjs walk x2: what that inproc call does with the stock library, without any call:
//     twice object -> Type.fromObject -> encode().finish() -> decode -> toObject (LOADER), the
//     .proto parsed by protobuf.parse, starting from grpc-js's object.
//
//   * hms-ffi JS CBOR x2: the addon's JavaScript CBOR encoder and decoder alone on the same
//     object, twice each way, as the inproc call runs them (its share of that row is printed).
//
// Sequential p50/p99 of one caller per size. Each row's echo is checked once before timing.

const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { grpcClient, runChildServer, startServer, unixUris, latency, pct } = require('./common')

const PROTO = fs.readFileSync(path.join(__dirname, '..', 'protos', 'orders.proto'), 'utf8')
const METHOD = 'bench.v1.Orders/Echo'
const LOADER = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }
const BENCH = { proto: PROTO, file: 'orders.proto', method: METHOD, loaderOptions: LOADER }

/** An Order of about `size` bytes on the wire: items of about 100 bytes (strings, an int64, a
 * double, repeated strings, bytes) and string labels; below 100 bytes, no items. */
function order (size) {
  if (size < 100) return { id: 'order-0001', payload: Buffer.alloc(size - 16), status: 2 }
  return {
    id: 'order-0001',
    items: Array.from({ length: Math.floor(size / 100) }, (_, i) => ({
      name: `item number ${i}`,
      id: BigInt(1000000 + i),
      price: 9.99 + i,
      tags: ['red', 'large', `t${i}`],
      blob: Buffer.from(Array.from({ length: 48 }, (_, j) => (i % 7) + j))
    })),
    labels: { region: 'eu-west', tier: 'gold' },
    payload: Buffer.alloc(16),
    status: 2
  }
}

/** The object as proto-loader (`longs: String`) holds it: 64-bit integers as decimal text. */
function loaderForm (v) {
  if (typeof v === 'bigint') return String(v)
  if (Array.isArray(v)) return v.map(loaderForm)
  if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, loaderForm(x)]))
  }
  return v
}

/** A value in one form for comparing the echoes of every row: 64-bit integers as text, bytes as
 * Buffer, and proto3 defaults (empty text, bytes, lists and maps, zero) left out. */
function normal (v) {
  if (typeof v === 'bigint') return String(v)
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  if (Array.isArray(v)) return v.map(normal)
  if (v !== null && typeof v === 'object') {
    const out = {}
    for (const [k, x] of Object.entries(v)) {
      const isDefault = x === '' || x === 0 || x === false || x === null || x === undefined ||
        (Array.isArray(x) || ArrayBuffer.isView(x) ? x.length === 0 : typeof x === 'object' && Object.keys(x).length === 0)
      if (!isDefault) out[k] = normal(x)
    }
    return out
  }
  return v
}

function checkEcho (name, sent, received) {
  assert.deepStrictEqual(normal(received), normal(sent), `${name}: the echo differs`)
}

async function main () {
  const calls = Number(process.argv[2] || 1000)
  const hms = require('hms-ffi')
  // The addon's own JavaScript CBOR walk, timed alone: what the inproc row spends in JavaScript.
  const cbor = require('hms-ffi/lib/cbor')
  const protobuf = require('protobufjs')
  const Order = protobuf.parse(PROTO, { keepCase: true }).root.lookupType('bench.v1.Order')

  const { hmsUri, grpcUri } = unixUris()
  const servers = []
  const local = new hms.Server(hms.Schema.fromSource('orders.proto', PROTO))
  local.method(METHOD, (req) => req)
  try {
    servers.push(await startServer(__filename, 'serve-hms', hmsUri))
    servers.push(await startServer(__filename, 'serve-grpc', grpcUri))
    await local.listen('inproc://bench-orders')
    const client = await hms.connect(hmsUri)
    const inproc = await hms.connect('inproc://bench-orders')
    const stub = grpcClient(BENCH, grpcUri)

    const walk = (data) => {
      let out = data
      for (let i = 0; i < 2; i++) out = Order.toObject(Order.decode(Order.encode(Order.fromObject(out)).finish()), LOADER)
      return out
    }

    console.log(`${'size'.padStart(7)} ${'row'.padEnd(18)} ${'p50 µs'.padStart(9)} ${'p99 µs'.padStart(9)}`)
    for (const [label, size] of [['64 B', 64], ['1 KiB', 1024], ['64 KiB', 64 * 1024]]) {
      const data = order(size)
      // grpc-js starts from the object proto-loader would give back for the order.
      const asLoader = Order.toObject(Order.fromObject(loaderForm(data)), LOADER)
      const wire = Order.encode(Order.fromObject(asLoader)).finish().length
      const rows = [
        ['hms-ffi unix', () => client.call(METHOD, data), data],
        ['grpc-js unix', () => stub.call(asLoader), asLoader],
        ['hms-ffi inproc', () => inproc.call(METHOD, data), data],
        ['protobufjs walk x2', () => walk(asLoader), asLoader],
        // Not an echo of the message (no schema: int64 that fit come back as numbers), so unchecked.
        ['hms-ffi JS CBOR x2', () => cbor.decode(cbor.encode(cbor.decode(cbor.encode(data)))), null]
      ]
      for (const [name, fn, sent] of rows) {
        if (sent === null) continue
        checkEcho(name, sent, await fn())
        checkEcho(name, data, sent)
      }
      const n = size < 65536 ? calls : Math.max(Math.min(200, calls), Math.floor(calls / 5))
      const p50 = {}
      for (const [name, fn] of rows) {
        const times = await latency(fn, n, Math.min(100, n))
        p50[name] = pct(times, 0.5)
        console.log(`${label.padStart(7)} ${name.padEnd(18)} ${pct(times, 0.5).toFixed(1).padStart(9)} ${pct(times, 0.99).toFixed(1).padStart(9)}   (${wire} bytes on the wire)`)
      }
      console.log(`${label.padStart(7)} ratios: unix hms/grpc-js p50 = ${(p50['hms-ffi unix'] / p50['grpc-js unix']).toFixed(3)}, ` +
        `inproc hms / protobufjs walk = ${(p50['hms-ffi inproc'] / p50['protobufjs walk x2']).toFixed(2)}, ` +
        `JS CBOR share of inproc = ${(p50['hms-ffi JS CBOR x2'] / p50['hms-ffi inproc']).toFixed(2)}`)
    }
    stub.close()
    client.close()
    inproc.close()
  } finally {
    await local.shutdown()
    for (const server of servers) server.kill('SIGTERM')
  }
}

if (!runChildServer(BENCH)) {
  main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })
}
