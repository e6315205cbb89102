'use strict'
// Custom domain types (docs/converters.md): converters of the caller and of the handler, on
// requests and replies, over inproc and unix; a converter that throws is InvalidArgument with
// the value's path (Internal for a handler's reply).

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const hms = require('..')

const SCHEMA = hms.Schema.fromSource('shop.proto', `
  syntax = "proto3";
  package shop.v1;
  import "google/type/decimal.proto";
  import "hms/ffi/v1/options.proto";
  message Item { string sku = 1; google.type.Decimal price = 2; }
  message Point { double lat = 1; double lng = 2; }
  message Order {
    string id = 1 [(hms.ffi.v1.format) = "uuid"];
    repeated Item items = 2;
    map<string, google.type.Decimal> rates = 3;
    Point at = 4;
    repeated string refs = 5 [(hms.ffi.v1.format) = "uuid"];
  }
  service Shop { rpc Echo(Order) returns (Order); rpc Bad(Order) returns (Order); }`)

/** A decimal of our own (JavaScript has none): its digits. */
class Dec {
  constructor (digits) {
    if (!/^-?\d+(\.\d+)?$/.test(digits)) throw new RangeError(`not a decimal: ${digits}`)
    this.digits = digits
  }
}
class Uuid {
  constructor (text) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text)) throw new TypeError(`not a uuid: ${text}`)
    this.text = text
  }
}
class Point {
  constructor (lat, lng) { this.lat = lat; this.lng = lng }
}

const CONVERTERS = [
  { message: 'google.type.Decimal', type: Dec, toMessage: (d) => ({ value: d.digits }), fromMessage: (m) => new Dec(m.value) },
  { format: 'uuid', type: Uuid, toMessage: (u) => u.text, fromMessage: (t) => new Uuid(t) },
  { message: 'shop.v1.Point', type: Point, toMessage: (p) => ({ lat: p.lat, lng: p.lng }), fromMessage: (m) => new Point(m.lat, m.lng) }
]
/** A `Dec` whose digits cannot be read: its `toMessage` throws. */
const broken = () => Object.create(Dec.prototype, { digits: { get () { throw new TypeError('no digits') } } })
const ID = new Uuid('6f1c1a52-3f0e-4d8e-9a43-1f2b6c7d8e9f')
const REF = new Uuid('00000000-0000-4000-8000-000000000001')

function order () {
  return {
    id: ID,
    items: [{ sku: 'a', price: new Dec('1.50') }, { sku: 'b', price: new Dec('-2') }],
    rates: { eur: new Dec('1'), usd: new Dec('108.73') },
    at: new Point(1.5, 2),
    refs: [REF, ID]
  }
}

let n = 0
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-conv-'))
const URIS = () => [`inproc://node-conv-${n++}`, `unix://${dir}/conv-${n++}.sock`]

async function serve (uri, seen) {
  const server = new hms.Server(SCHEMA, { converters: CONVERTERS })
  server.method('shop.v1.Shop/Echo', (req) => { seen.push(req); return req })
  server.method('shop.v1.Shop/Bad', () => ({ items: [{ price: new Dec('1') }, { price: broken() }] }))
  await server.listen(uri)
  return server
}

test('converters round-trip both ways, on inproc and unix', { timeout: 30000 }, async () => {
  for (const uri of URIS()) {
    const seen = []
    const server = await serve(uri, seen)
    const client = await hms.connect(uri, { converters: CONVERTERS })
    try {
      const reply = await client.call('shop.v1.Shop/Echo', order(), { timeoutMs: 10000 })
      assert.deepEqual(reply, order())
      assert.ok(reply.items[0].price instanceof Dec && reply.id instanceof Uuid && reply.at instanceof Point)
      assert.deepEqual(seen[0], order())
      assert.ok(seen[0].rates.usd instanceof Dec)
      // Without converters the same reply is its messages.
      const plain = await hms.connect(uri)
      const raw = await plain.call('shop.v1.Shop/Echo', { id: ID.text, items: [{ price: { value: '3' } }] }, { timeoutMs: 10000 })
      assert.deepEqual(raw.items[0].price, { value: '3' })
      assert.equal(raw.id, ID.text)
      assert.equal(seen[1].items[0].price.digits, '3')
      plain.close()
      // An unset uuid field is null.
      assert.equal((await client.call('shop.v1.Shop/Echo', {}, { timeoutMs: 10000 })).id, null)
    } finally {
      client.close()
      await server.shutdown({ graceMs: 1000 })
    }
  }
})

test('a converter that throws is InvalidArgument with the path', { timeout: 30000 }, async () => {
  const uri = URIS()[0]
  const server = await serve(uri, [])
  const client = await hms.connect(uri, { converters: CONVERTERS })
  const plain = await hms.connect(uri)
  try {
    // Sending: toMessage throws at items[1].price.
    const bad = order()
    bad.items[1].price = broken()
    let err = await client.call('shop.v1.Shop/Echo', bad).catch((e) => e)
    assert.ok(err instanceof hms.InvalidArgument, String(err))
    assert.equal(err.fieldViolations[0].field, 'items[1].price')
    assert.equal(err.fieldViolations[0].description, 'converter for google.type.Decimal failed: TypeError: no digits')
    // Sent without converters, refused by the handler's: fromMessage throws at items[0].price.
    err = await plain.call('shop.v1.Shop/Echo', { items: [{ price: { value: 'one' } }] }).catch((e) => e)
    assert.ok(err instanceof hms.InvalidArgument, String(err))
    assert.equal(err.fieldViolations[0].field, 'items[0].price')
    // Received by the handler: fromMessage throws (the core tagged the value at refs[1]).
    err = await plain.call('shop.v1.Shop/Echo', { refs: [REF.text, 'nope'] }).catch((e) => e)
    assert.ok(err instanceof hms.InvalidArgument, String(err))
    assert.equal(err.fieldViolations[0].field, 'refs[1]')
    assert.match(err.fieldViolations[0].description, /converter for format uuid failed: TypeError: not a uuid: nope/)
    // A reply the caller's converter refuses, from a server without converters (JavaScript
    // objects do not tell a map from a message: the key reads as a field).
    const other = new hms.Server(SCHEMA)
    other.method('shop.v1.Shop/Echo', () => ({ rates: { x: { value: '1,5' } } }))
    const otherUri = await other.listen(`inproc://node-conv-${n++}`)
    const toOther = await hms.connect(otherUri, { converters: CONVERTERS })
    err = await toOther.call('shop.v1.Shop/Echo', {}).catch((e) => e)
    toOther.close()
    await other.shutdown({ graceMs: 1000 })
    assert.ok(err instanceof hms.InvalidArgument, String(err))
    assert.equal(err.fieldViolations[0].field, 'rates.x')
    // A handler's reply whose converter throws is the handler's fault.
    err = await client.call('shop.v1.Shop/Bad', {}).catch((e) => e)
    assert.ok(err instanceof hms.Internal, String(err))
    assert.equal(err.fieldViolations[0].field, 'items[1].price')
  } finally {
    client.close()
    plain.close()
    await server.shutdown({ graceMs: 1000 })
  }
})
