'use strict'
// Values across the native boundary, as CBOR (RFC 8949) in the core's CBOR form
// (docs/types.md): JavaScript values in, one Buffer out, and back. The core maps the tree onto
// the method's schema and reports every violation with its path; this file only encodes.
// The encoder counts depth as it walks and stops at the core's ceiling (`NATIVE_MAX_DEPTH`)
// with `TooDeep`, which gathers the path on the way out for the core to turn into its error:
// no value, however deep, can exhaust the stack.

const { Timestamp, Duration } = require('./time')

const TAG_RFC3339 = 0
const TAG_EPOCH = 1
const TAG_POS_BIGNUM = 2
const TAG_NEG_BIGNUM = 3
const TAG_DURATION = 1002
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

class Writer {
  constructor (maxDepth) {
    this.buf = Buffer.allocUnsafe(256)
    this.len = 0
    this.maxDepth = maxDepth
  }

  room (n) {
    if (this.len + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(bigger, 0, 0, this.len)
    this.buf = bigger
  }

  head (major, n) {
    this.room(9)
    const m = major << 5
    if (typeof n === 'bigint') {
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
        this.buf[this.len++] = m | 27
        this.buf.writeBigUInt64BE(n, this.len)
        this.len += 8
        return
      }
      n = Number(n)
    }
    if (n < 24) {
      this.buf[this.len++] = m | n
    } else if (n < 0x100) {
      this.buf[this.len++] = m | 24
      this.buf[this.len++] = n
    } else if (n < 0x10000) {
      this.buf[this.len++] = m | 25
      this.buf.writeUInt16BE(n, this.len)
      this.len += 2
    } else if (n < 0x100000000) {
      this.buf[this.len++] = m | 26
      this.buf.writeUInt32BE(n, this.len)
      this.len += 4
    } else {
      this.buf[this.len++] = m | 27
      this.buf.writeBigUInt64BE(BigInt(n), this.len)
      this.len += 8
    }
  }

  bytes (major, data) {
    this.head(major, data.length)
    this.room(data.length)
    if (typeof data === 'string') {
      this.len += this.buf.write(data, this.len, 'utf8')
    } else {
      this.buf.set(data, this.len)
      this.len += data.length
    }
  }

  text (s) {
    this.bytes(3, Buffer.from(s, 'utf8'))
  }

  float (x) {
    this.room(9)
    this.buf[this.len++] = 0xfb
    this.buf.writeDoubleBE(x, this.len)
    this.len += 8
  }

  bigint (n) {
    if (n >= 0n && n <= U64_MAX) return this.head(0, n)
    if (n < 0n && -1n - n <= U64_MAX) return this.head(1, -1n - n)
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

  object (v, depth) {
    if (v === null) {
      this.room(1)
      this.buf[this.len++] = 0xf6
    } else if (Array.isArray(v)) {
      const inner = this.enter(depth)
      this.head(4, v.length)
      for (let i = 0; i < v.length; i++) {
        const item = v[i]
        try {
          this.value(item === undefined ? null : item, inner)
        } catch (e) {
          if (e instanceof TooDeep) e.outward.push({ index: i })
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
          if (e instanceof TooDeep) e.outward.push(keySegment(k))
          throw e
        }
      }
    } else {
      const inner = this.enter(depth)
      const keys = Object.keys(v).filter((k) => v[k] !== undefined)
      this.head(5, keys.length)
      for (const k of keys) {
        this.text(k)
        try {
          this.value(v[k], inner)
        } catch (e) {
          if (e instanceof TooDeep) e.outward.push({ key: k })
          throw e
        }
      }
    }
  }
}

/** Encodes a JavaScript value as CBOR. Throws a TypeError for what cannot be sent, and
 * `TooDeep` for containers nested deeper than `maxDepth`. */
function encode (value, maxDepth = Infinity) {
  const w = new Writer(maxDepth)
  w.value(value, 0)
  return w.buf.subarray(0, w.len)
}

class Reader {
  constructor (buf, int64) {
    this.buf = buf
    this.pos = 0
    this.int64 = int64
  }

  arg (info) {
    const b = this.buf
    if (info < 24) return info
    let n
    switch (info) {
      case 24: n = b[this.pos]; this.pos += 1; return n
      case 25: n = b.readUInt16BE(this.pos); this.pos += 2; return n
      case 26: n = b.readUInt32BE(this.pos); this.pos += 4; return n
      case 27: {
        const big = b.readBigUInt64BE(this.pos)
        this.pos += 8
        return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
      }
      default: throw new Error(`unsupported CBOR length encoding ${info}`)
    }
  }

  value () {
    const b = this.buf
    const first = b[this.pos++]
    const major = first >> 5
    const info = first & 31
    switch (major) {
      case 0: return this.arg(info)
      case 1: {
        const n = this.arg(info)
        return typeof n === 'bigint' ? -1n - n : -1 - n
      }
      case 2: {
        const n = Number(this.arg(info))
        const out = Buffer.from(b.subarray(this.pos, this.pos + n))
        this.pos += n
        return out
      }
      case 3: {
        const n = Number(this.arg(info))
        const s = b.toString('utf8', this.pos, this.pos + n)
        this.pos += n
        return s
      }
      case 4: {
        const n = Number(this.arg(info))
        const out = new Array(n)
        for (let i = 0; i < n; i++) out[i] = this.value()
        return out
      }
      case 5: {
        const n = Number(this.arg(info))
        const out = {}
        for (let i = 0; i < n; i++) {
          const k = this.value()
          out[String(k)] = this.value()
        }
        return out
      }
      case 6: return this.tagged(Number(this.arg(info)))
      default: return this.simple(info)
    }
  }

  tagged (tag) {
    const inner = this.value()
    switch (tag) {
      case TAG_RFC3339: return Timestamp.fromRFC3339(inner)
      case TAG_EPOCH: return new Date(Number(inner) * 1000)
      case TAG_POS_BIGNUM:
      case TAG_NEG_BIGNUM: {
        let n = 0n
        for (const byte of inner) n = (n << 8n) | BigInt(byte)
        if (tag === TAG_NEG_BIGNUM) n = -1n - n
        return this.int64 === 'number' && n >= BigInt(Number.MIN_SAFE_INTEGER) &&
          n <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(n)
          : n
      }
      case TAG_DURATION: return new Duration(BigInt(inner['1'] ?? 0), Number(inner['-9'] ?? 0))
      default: return inner
    }
  }

  simple (info) {
    const b = this.buf
    switch (info) {
      case 20: return false
      case 21: return true
      case 22: case 23: return null
      case 25: { const x = halfToFloat(b.readUInt16BE(this.pos)); this.pos += 2; return x }
      case 26: { const x = b.readFloatBE(this.pos); this.pos += 4; return x }
      case 27: { const x = b.readDoubleBE(this.pos); this.pos += 8; return x }
      default: throw new Error(`unsupported CBOR simple value ${info}`)
    }
  }
}

function halfToFloat (h) {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024)
  if (exp === 31) return frac ? NaN : sign * Infinity
  return sign * 2 ** (exp - 15) * (1 + frac / 1024)
}

/**
 * Decodes CBOR from the core. 64-bit integer fields (CBOR bignums) become `bigint`, or
 * `number` when `int64` is `'number'` and the value is safe.
 */
function decode (buf, int64 = 'bigint') {
  return new Reader(buf, int64).value()
}

module.exports = { encode, decode, TooDeep }
