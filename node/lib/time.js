'use strict'
// Timestamps and durations with every nanosecond: `google.protobuf.Timestamp` arrives as a
// `Timestamp` (a `Date` that also keeps its nanoseconds) and any `Date` may be sent;
// `google.protobuf.Duration` is a `Duration`.

const NS_PER_S = 1000000000n

/** A `Date` that keeps nanoseconds: what Timestamp fields arrive as. */
class Timestamp extends Date {
  /**
   * @param {bigint|number} seconds seconds since the Unix epoch
   * @param {number} nanos 0..999999999
   */
  constructor (seconds = 0n, nanos = 0) {
    const s = BigInt(seconds)
    super(Number(s) * 1000 + Math.floor(nanos / 1e6))
    this.seconds = s
    this.nanos = nanos
  }

  /** A timestamp from a `Date` (millisecond precision). */
  static fromDate (date) {
    const ms = date.getTime()
    const seconds = Math.floor(ms / 1000)
    return new Timestamp(BigInt(seconds), (ms - seconds * 1000) * 1e6)
  }

  /** Parses RFC 3339 text with up to nine fractional digits and any UTC offset. */
  static fromRFC3339 (text) {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(text)
    if (!m) throw new TypeError(`not an RFC 3339 timestamp: ${JSON.stringify(text)}`)
    const whole = Date.parse(m[1] + (m[3].toUpperCase() === 'Z' ? 'Z' : m[3]))
    const nanos = m[2] ? Number(m[2].padEnd(9, '0')) : 0
    return new Timestamp(BigInt(Math.floor(whole / 1000)), nanos)
  }

  /** RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits. */
  toRFC3339 () {
    const base = new Date(Number(this.seconds) * 1000).toISOString().slice(0, 19)
    return base + fraction(this.nanos) + 'Z'
  }

  toJSON () {
    return this.toRFC3339()
  }
}

/** A signed span of time with nanosecond precision (`google.protobuf.Duration`). */
class Duration {
  /**
   * @param {bigint|number} seconds whole seconds
   * @param {number} nanos nanoseconds, with the same sign as `seconds`
   */
  constructor (seconds = 0n, nanos = 0) {
    this.seconds = BigInt(seconds)
    this.nanos = nanos
  }

  /** A duration of `ms` milliseconds. */
  static fromMillis (ms) {
    const seconds = Math.trunc(ms / 1000)
    return new Duration(BigInt(seconds), Math.round((ms - seconds * 1000) * 1e6))
  }

  /** The total in nanoseconds. */
  toNanos () {
    return this.seconds * NS_PER_S + BigInt(this.nanos)
  }

  /** The total in milliseconds (as a float). */
  toMillis () {
    return Number(this.seconds) * 1000 + this.nanos / 1e6
  }

  /** The protobuf JSON form: `1.500s`, `-2s`. */
  toString () {
    const negative = this.seconds < 0n || this.nanos < 0
    const s = this.seconds < 0n ? -this.seconds : this.seconds
    return (negative ? '-' : '') + s + fraction(Math.abs(this.nanos)) + 's'
  }

  toJSON () {
    return this.toString()
  }
}

function fraction (nanos) {
  if (nanos === 0) return ''
  const digits = String(nanos).padStart(9, '0')
  if (nanos % 1000000 === 0) return '.' + digits.slice(0, 3)
  if (nanos % 1000 === 0) return '.' + digits.slice(0, 6)
  return '.' + digits
}

module.exports = { Timestamp, Duration }
