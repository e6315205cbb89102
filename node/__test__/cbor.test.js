'use strict'
// The addon's JavaScript CBOR (lib/cbor.js, lib/cbor_read.js): exact bytes for RFC 8949's
// examples and the core's tags, the shortcuts (short ASCII text, the one-byte map head written
// after the entries, the key cache, small bignums as numbers) agreeing with the general paths,
// and truncated input refused. The conformance and API tests check the same values against the
// Rust core end to end.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { encode, decode, TooDeep } = require('../lib/cbor')
const { Duration } = require('../lib/time')

const hex = (v) => Buffer.from(encode(v)).toString('hex')
const bytes = (h) => Buffer.from(h, 'hex')

test('integers in the shortest head, unsafe integers as floats, 64-bit and wider as bigint', () => {
  assert.equal(hex(0), '00')
  assert.equal(hex(23), '17')
  assert.equal(hex(24), '1818')
  assert.equal(hex(1000), '1903e8')
  assert.equal(hex(1000000), '1a000f4240')
  assert.equal(hex(2 ** 32), '1b0000000100000000')
  assert.equal(hex(Number.MAX_SAFE_INTEGER), '1b001fffffffffffff')
  assert.equal(hex(-1), '20')
  assert.equal(hex(-1000), '3903e7')
  assert.equal(hex(-0), 'fb8000000000000000')
  assert.equal(hex(2 ** 53), 'fb4340000000000000')
  assert.equal(hex(1.5), 'fb3ff8000000000000')
  assert.equal(hex(18446744073709551615n), '1bffffffffffffffff')
  assert.equal(hex(-18446744073709551616n), '3bffffffffffffffff')
  assert.equal(hex(18446744073709551616n), 'c249010000000000000000')
  assert.equal(hex(-18446744073709551617n), 'c349010000000000000000')
  assert.equal(hex(5n), '05')
})

test('text: short ASCII, short and long non-ASCII, lone surrogates as U+FFFD', () => {
  assert.equal(hex('a'), '6161')
  assert.equal(hex(''), '60')
  assert.equal(hex('\u00fc'), '62c3bc')
  assert.equal(hex('\ud800'), '63efbfbd')
  assert.equal(hex('ab\u6c34'), '656162e6b0b4')
  const long = 'x'.repeat(63) + '\u00e9'
  assert.equal(hex(long), '7841' + '78'.repeat(63) + 'c3a9')
  const ascii = 'y'.repeat(300)
  assert.equal(hex(ascii), '79012c' + '79'.repeat(300))
  for (const s of ['', 'a', '\u00fc', 'ab\u6c34', long, ascii, 'x'.repeat(24), 'x'.repeat(25)]) {
    assert.equal(decode(encode(s)), s)
  }
})

test('objects: undefined entries left out, small and large key counts, keys in order', () => {
  assert.equal(hex({ a: 1, b: undefined, c: 2 }), 'a2616101616302')
  const wide = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i]))
  wide.skip = undefined
  const out = encode(wide)
  assert.equal(out[0], 0xb8)
  assert.equal(out[1], 30)
  assert.deepEqual(decode(out), Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i])))
  const at23 = Object.fromEntries(Array.from({ length: 23 }, (_, i) => [`k${i}`, i]))
  assert.equal(encode(at23)[0], 0xb7)
  assert.deepEqual(decode(encode(at23)), at23)
})

test('map keys: the cache never confuses keys that share a hash, nor long or non-ASCII keys', () => {
  // Same length, first, middle and last byte: the same slot of the cache.
  const value = { aXca: 1, aYca: 2, 'a\u00e9ca': 3, ['k'.repeat(40)]: 4, aXcb: 5 }
  for (let round = 0; round < 3; round++) assert.deepEqual(decode(encode(value)), value)
  assert.deepEqual(decode(encode({ aYca: 7 })), { aYca: 7 })
  assert.deepEqual(decode(encode(new Map([[1, 'one'], [-2, 'minus two']]))), { 1: 'one', '-2': 'minus two' })
})

test('bytes come back as views of the reply, equal to what was sent', () => {
  const blob = Buffer.from([0, 1, 2, 255])
  const reply = encode({ blob, more: Buffer.alloc(0) })
  const out = decode(reply)
  assert.deepEqual([...out.blob], [0, 1, 2, 255])
  assert.equal(out.blob.buffer, reply.buffer)
  assert.equal(out.more.length, 0)
  const sub = new Uint8Array([9, 8, 7, 6]).subarray(1, 3)
  assert.equal(hex(sub), '420807')
})

test('bignums: int64 as bigint or number, small ones through the number path', () => {
  assert.equal(decode(bytes('c243010000')), 65536n)
  assert.equal(decode(bytes('c243010000'), 'number'), 65536)
  assert.equal(decode(bytes('c343010000')), -65537n)
  assert.equal(decode(bytes('c246ffffffffffff')), 281474976710655n)
  assert.equal(decode(bytes('c2470fffffffffffff')), 4503599627370495n)
  assert.equal(decode(bytes('c2470fffffffffffff'), 'number'), 4503599627370495)
  assert.equal(decode(bytes('c2482000000000000000'), 'number'), 2n ** 61n)
  assert.equal(decode(bytes('c240')), 0n)
  assert.equal(decode(bytes('1b0020000000000000')), 2n ** 53n)
  assert.equal(decode(bytes('1b001fffffffffffff')), Number.MAX_SAFE_INTEGER)
  assert.equal(decode(bytes('3b001fffffffffffff')), -(2 ** 53))
})

test('durations and dates keep their tags', () => {
  const d = decode(encode(new Duration(-5n, -250)))
  assert.ok(d instanceof Duration)
  assert.equal(d.seconds, -5n)
  assert.equal(d.nanos, -250)
  const t = decode(encode(new Date('2024-01-02T03:04:05.678Z')))
  assert.equal(t.toISOString(), '2024-01-02T03:04:05.678Z')
})

test('truncated input is an error, not a value read past the end', () => {
  for (const h of ['62', '6261', '4301', '8201', 'a1616101ff'.slice(0, 6), '']) {
    assert.throws(() => decode(bytes(h)), RangeError, h)
  }
})

test('nesting deeper than the limit throws TooDeep with the path', () => {
  const deep = { a: [{ b: [1] }] }
  const err = (() => { try { encode(deep, 3) } catch (e) { return e } })()
  assert.ok(err instanceof TooDeep)
  assert.deepEqual(err.outward, [{ key: 'b' }, { index: 0 }, { key: 'a' }])
})
