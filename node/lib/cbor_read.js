'use strict'
// The decoding half of lib/cbor.js: CBOR from the core (its CBOR form, docs/types.md) into
// JavaScript values, in one pass over the Buffer. Byte strings come back as views of that
// Buffer (the core hands it over, nobody else holds it), so a reply is not copied twice.

const { Timestamp, Duration } = require('./time')

// The tags of the core's CBOR form.
const TAG_RFC3339 = 0
const TAG_EPOCH = 1
const TAG_POS_BIGNUM = 2
const TAG_NEG_BIGNUM = 3
const TAG_DURATION = 1002

// Converter i's values come tagged CONVERTED_TAG + i (the addon's CONVERTED_TAG, checked by
// index.js when it loads).
const CONVERTED_TAG = 0x48460000

/** A converter's `toMessage` or `fromMessage` threw: gathers the path on the way out, as `TooDeep`. */
class ConvertFailed extends Error {
  constructor (target, cause) {
    super(`converter for ${target} failed: ${cause && cause.name ? cause.name + ': ' : ''}${cause && cause.message !== undefined ? cause.message : cause}`)
    this.target = target
    this.why = this.message.slice(`converter for ${target} failed: `.length)
    this.outward = []
  }
}

/** The target of a converter (`message` or `format "…"`), as errors name it. */
function targetOf (c) {
  return c.message !== undefined ? c.message : `format ${c.format}`
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)

/** Short ASCII map keys decoded before, by a hash of their bytes. */
const KEYS = new Array(1024)

class Reader {
  constructor (buf, int64, convs) {
    this.buf = buf
    this.pos = 0
    this.int64 = int64
    this.convs = convs && convs.length ? convs : null
  }

  /** A head's argument: a number, or a `bigint` above 2^53 - 1. */
  arg (info) {
    const b = this.buf
    const p = this.pos
    if (info < 24) return info
    switch (info) {
      case 24: this.pos = p + 1; return b[p]
      case 25: this.pos = p + 2; return (b[p] << 8) | b[p + 1]
      case 26: this.pos = p + 4; return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3])
      case 27: {
        const hi = b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3])
        const lo = b[p + 4] * 0x1000000 + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7])
        this.pos = p + 8
        if (hi < 0x200000) return hi * 0x100000000 + lo
        return (BigInt(hi) << 32n) | BigInt(lo)
      }
      default: throw new Error(`unsupported CBOR length encoding ${info}`)
    }
  }

  /** `n` bytes from the buffer, past its end being an error as in Buffer's own reads. */
  span (n) {
    const start = this.pos
    const end = start + Number(n)
    if (end > this.buf.length) throw new RangeError('CBOR item runs past the end of the buffer')
    this.pos = end
    return start
  }

  value () {
    const b = this.buf
    if (this.pos >= b.length) throw new RangeError('CBOR item runs past the end of the buffer')
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
        // A view of the reply's own Buffer (which the core handed over): no copy.
        const start = this.span(this.arg(info))
        return b.subarray(start, this.pos)
      }
      case 3: return this.text(this.span(this.arg(info)))
      case 4: {
        const n = Number(this.arg(info))
        const out = new Array(n)
        if (this.convs !== null) return this.items(out)
        for (let i = 0; i < n; i++) out[i] = this.value()
        return out
      }
      case 5: {
        const n = Number(this.arg(info))
        const out = {}
        for (let i = 0; i < n; i++) {
          const k = (b[this.pos] & 0xe0) === 0x60 ? this.key() : this.value()
          if (this.convs !== null) this.entry(out, typeof k === 'string' ? k : String(k))
          else out[typeof k === 'string' ? k : String(k)] = this.value()
        }
        return out
      }
      case 6: return this.tagged(Number(this.arg(info)))
      default: return this.simple(info)
    }
  }

  /** The text from `start` to the read position: short ASCII a byte at a time, the rest by
   * Buffer's UTF-8 decoder. */
  text (start) {
    const b = this.buf
    const end = this.pos
    if (end - start > 24) return b.toString('utf8', start, end)
    let s = ''
    for (let i = start; i < end; i++) {
      const c = b[i]
      if (c >= 0x80) return b.toString('utf8', start, end)
      s += String.fromCharCode(c)
    }
    return s
  }

  /** A text key. Short ASCII keys come from a cache of the keys seen before (field names
   * repeat in every message), checked byte by byte. */
  key () {
    const b = this.buf
    const info = b[this.pos++] & 31
    const start = this.span(this.arg(info))
    const end = this.pos
    const n = end - start
    if (n === 0 || n > 24) return this.text(start)
    const h = ((n << 7) ^ (b[start] << 3) ^ (b[end - 1] << 1) ^ b[start + (n >> 1)]) & 1023
    const hit = KEYS[h]
    if (hit !== undefined && hit.length === n) {
      let i = 0
      while (i < n && hit.charCodeAt(i) === b[start + i]) i++
      if (i === n) return hit
    }
    let s = ''
    for (let i = start; i < end; i++) {
      const c = b[i]
      if (c >= 0x80) return b.toString('utf8', start, end)
      s += String.fromCharCode(c)
    }
    KEYS[h] = s
    return s
  }

  /** A list's items, with converters: a converter's failure gathers its path on the way out. */
  items (out) {
    for (let i = 0; i < out.length; i++) {
      try {
        out[i] = this.value()
      } catch (e) {
        if (e instanceof ConvertFailed) e.outward.push({ index: i })
        throw e
      }
    }
    return out
  }

  /** An entry's value, with converters (as `items`). */
  entry (out, k) {
    try {
      out[k] = this.value()
    } catch (e) {
      if (e instanceof ConvertFailed) e.outward.push({ key: k })
      throw e
    }
  }

  tagged (tag) {
    const inner = this.value()
    const c = this.convs !== null ? this.convs[tag - CONVERTED_TAG] : undefined
    if (c !== undefined) {
      try {
        return c.fromMessage(inner)
      } catch (e) {
        throw new ConvertFailed(targetOf(c), e)
      }
    }
    switch (tag) {
      case TAG_RFC3339: return Timestamp.fromRFC3339(inner)
      case TAG_EPOCH: return new Date(Number(inner) * 1000)
      case TAG_POS_BIGNUM:
      case TAG_NEG_BIGNUM: {
        const negative = tag === TAG_NEG_BIGNUM
        if (inner.length <= 6) {
          // Up to 48 bits: exact as a number, one BigInt made at the end.
          let m = 0
          for (let i = 0; i < inner.length; i++) m = m * 256 + inner[i]
          const x = negative ? -1 - m : m
          return this.int64 === 'number' ? x : BigInt(x)
        }
        let n = 0n
        for (let i = 0; i < inner.length; i++) n = (n << 8n) | BigInt(inner[i])
        if (negative) n = -1n - n
        return this.int64 === 'number' && n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n
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
function decode (buf, int64 = 'bigint', convs = null) {
  return new Reader(buf, int64, convs).value()
}

module.exports = { decode, ConvertFailed, targetOf, CONVERTED_TAG, TAG_RFC3339, TAG_POS_BIGNUM, TAG_NEG_BIGNUM, TAG_DURATION }
