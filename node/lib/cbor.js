'use strict'
// Values across the native boundary, as CBOR (RFC 8949) in the core's CBOR form
// (docs/types.md): JavaScript values in, one Buffer out, and back. The core maps the tree onto
// the method's schema and reports every violation with its path; this file only encodes
// (decoding is lib/cbor_read.js).
// The encoder counts depth as it walks and stops at the core's ceiling (`NATIVE_MAX_DEPTH`)
// with `TooDeep`, which gathers the path on the way out for the core to turn into its error:
// no value, however deep, can exhaust the stack.

const { Timestamp, Duration } = require('./time')
const { decode, ConvertFailed, targetOf, CONVERTED_TAG, TAG_RFC3339, TAG_POS_BIGNUM, TAG_NEG_BIGNUM, TAG_DURATION } = require('./cbor_read')

const U64_MAX = (1n << 64n) - 1n

/** A value nesting deeper than the encoder's limit; `outward` lists the containers it was in,
 * innermost first (`{ index }` for an array item, `{ key }` or `{ intKey }` for an entry). */
class TooDeep extends Error {
  constructor () {
    super('value nests too deep')
    this.outward = []
  }
}

/** Where an entry's key goes in a path: a text key by name, an integer key as a number. */
function keySegment (k) {
  if (typeof k === 'bigint' || (typeof k === 'number' && Number.isSafeInteger(k))) return { intKey: Number(k) }
  return { key: String(k) }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

class Writer {
  constructor (maxDepth, convs) {
    this.buf = Buffer.allocUnsafe(256)
    this.len = 0
    this.convs = convs && convs.length ? convs : null
    this.maxDepth = maxDepth
  }

  room (n) {
    if (this.len + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(bigger, 0, 0, this.len)
    this.buf = bigger
  }

  /** A head whose argument is a safe integer `n >= 0`, written byte by byte (shortest form). */
  head (major, n) {
    this.room(9)
    const b = this.buf
    let p = this.len
    const m = major << 5
    if (n < 24) {
      b[p++] = m | n
    } else if (n < 0x100) {
      b[p++] = m | 24
      b[p++] = n
    } else if (n < 0x10000) {
      b[p++] = m | 25
      b[p++] = n >>> 8
      b[p++] = n & 0xff
    } else if (n < 0x100000000) {
      b[p++] = m | 26
      b[p++] = n >>> 24
      b[p++] = (n >>> 16) & 0xff
      b[p++] = (n >>> 8) & 0xff
      b[p++] = n & 0xff
    } else {
      b[p++] = m | 27
      const hi = Math.floor(n / 0x100000000)
      const lo = n - hi * 0x100000000
      b[p++] = hi >>> 24
      b[p++] = (hi >>> 16) & 0xff
      b[p++] = (hi >>> 8) & 0xff
      b[p++] = hi & 0xff
      b[p++] = lo >>> 24
      b[p++] = (lo >>> 16) & 0xff
      b[p++] = (lo >>> 8) & 0xff
      b[p++] = lo & 0xff
    }
    this.len = p
  }

  /** A head whose argument is a `bigint` in 0..2^64. */
  bigHead (major, n) {
    if (n <= MAX_SAFE) return this.head(major, Number(n))
    this.room(9)
    this.buf[this.len++] = (major << 5) | 27
    this.buf.writeBigUInt64BE(n, this.len)
    this.len += 8
  }

  bytes (major, data) {
    this.head(major, data.length)
    this.room(data.length)
    this.buf.set(data, this.len)
    this.len += data.length
  }

  /** A text string: short ASCII text is copied a code unit at a time; anything else is
   * measured and written by Buffer's UTF-8 encoder (lone surrogates become U+FFFD, as
   * `Buffer.from` makes them). */
  text (s) {
    const n = s.length
    if (n < 64) {
      const start = this.len
      this.head(3, n)
      this.room(n)
      const b = this.buf
      let p = this.len
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        b[p++] = c
      }
      if (i === n) {
        this.len = p
        return
      }
      this.len = start
    }
    const size = Buffer.byteLength(s, 'utf8')
    this.head(3, size)
    this.room(size)
    this.len += this.buf.write(s, this.len, size, 'utf8')
  }

  float (x) {
    this.room(9)
    this.buf[this.len++] = 0xfb
    this.buf.writeDoubleBE(x, this.len)
    this.len += 8
  }

  bigint (n) {
    if (n >= 0n && n <= U64_MAX) return this.bigHead(0, n)
    if (n < 0n && -1n - n <= U64_MAX) return this.bigHead(1, -1n - n)
    const tag = n < 0n ? TAG_NEG_BIGNUM : TAG_POS_BIGNUM
    let magnitude = n < 0n ? -1n - n : n
    const out = []
    while (magnitude > 0n) {
      out.unshift(Number(magnitude & 0xffn))
      magnitude >>= 8n
    }
    this.head(6, tag)
    this.bytes(2, Buffer.from(out))
  }

  value (v, depth) {
    switch (typeof v) {
      case 'undefined':
        this.room(1)
        this.buf[this.len++] = 0xf6
        return
      case 'boolean':
        this.room(1)
        this.buf[this.len++] = v ? 0xf5 : 0xf4
        return
      case 'number':
        if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
          return v >= 0 ? this.head(0, v) : this.head(1, -1 - v)
        }
        return this.float(v)
      case 'bigint':
        return this.bigint(v)
      case 'string':
        return this.text(v)
      case 'object':
        return this.object(v, depth)
      default:
        throw new TypeError(`a ${typeof v} cannot be sent`)
    }
  }

  /** Enters one more container, or throws `TooDeep` at the limit. */
  enter (depth) {
    if (depth >= this.maxDepth) throw new TooDeep()
    return depth + 1
  }

  /** An instance of a converter's `type` as its `toMessage` makes it (a JavaScript object
   * carries its class, so it is converted where it is met, as a `Date` is). */
  converted (v, depth) {
    for (const c of this.convs) {
      if (typeof c.type !== 'function' || !(v instanceof c.type)) continue
      let m
      try {
        m = c.toMessage(v)
      } catch (e) {
        throw new ConvertFailed(targetOf(c), e)
      }
      this.value(m === undefined ? null : m, depth)
      return true
    }
    return false
  }

  object (v, depth) {
    if (v === null) {
      this.room(1)
      this.buf[this.len++] = 0xf6
    } else if (this.convs !== null && this.converted(v, depth)) {
      // written by its converter
    } else if (Array.isArray(v)) {
      const inner = this.enter(depth)
      this.head(4, v.length)
      for (let i = 0; i < v.length; i++) {
        const item = v[i]
        try {
          this.value(item === undefined ? null : item, inner)
        } catch (e) {
          if (e instanceof TooDeep || e instanceof ConvertFailed) e.outward.push({ index: i })
          throw e
        }
      }
    } else if (ArrayBuffer.isView(v)) {
      this.bytes(2, new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
    } else if (v instanceof ArrayBuffer) {
      this.bytes(2, new Uint8Array(v))
    } else if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) throw new TypeError('an invalid Date cannot be sent')
      this.head(6, TAG_RFC3339)
      this.text(v instanceof Timestamp ? v.toRFC3339() : v.toISOString())
    } else if (v instanceof Duration) {
      this.head(6, TAG_DURATION)
      this.head(5, 2)
      this.head(0, 1)
      this.bigint(v.seconds)
      this.head(1, 8) // key -9
      this.value(v.nanos, depth)
    } else if (v instanceof Map) {
      const inner = this.enter(depth)
      this.head(5, v.size)
      for (const [k, item] of v) {
        try {
          this.value(k, inner)
          this.value(item, inner)
        } catch (e) {
          if (e instanceof TooDeep || e instanceof ConvertFailed) e.outward.push(keySegment(k))
          throw e
        }
      }
    } else {
      this.record(v, this.enter(depth))
    }
  }

  /** A plain object: its own enumerable keys whose values are not `undefined`. The count goes
   * in a one-byte head written after the entries when fewer than 24 keys are possible. */
  record (v, inner) {
    const keys = Object.keys(v)
    let at = -1
    if (keys.length < 24) {
      this.room(1)
      at = this.len++
    } else {
      let count = 0
      for (let i = 0; i < keys.length; i++) if (v[keys[i]] !== undefined) count++
      this.head(5, count)
    }
    let count = 0
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]
      const item = v[k]
      if (item === undefined) continue
      count++
      this.text(k)
      try {
        this.value(item, inner)
      } catch (e) {
        if (e instanceof TooDeep || e instanceof ConvertFailed) e.outward.push({ key: k })
        throw e
      }
    }
    if (at >= 0) this.buf[at] = 0xa0 | count
  }
}

/** Encodes a JavaScript value as CBOR. Throws a TypeError for what cannot be sent, and
 * `TooDeep` for containers nested deeper than `maxDepth`. */
function encode (value, maxDepth = Infinity, convs = null) {
  const w = new Writer(maxDepth, convs)
  w.value(value, 0)
  return w.buf.subarray(0, w.len)
}

module.exports = { encode, decode, TooDeep, ConvertFailed, CONVERTED_TAG }
