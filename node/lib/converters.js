'use strict'
// Converters for custom domain types (docs/converters.md): `{ message | format, type?,
// toMessage?, fromMessage }`. The core decides where a received value converts (it tags the
// value, lib/cbor_read.js calls `fromMessage`); a sent object of a converter's `type` is
// converted where the encoder meets it (lib/cbor.js), as a `Date` is sent as a Timestamp. A
// converter that throws is the core's error with the value's path. Values are encoded here for
// every sender (requests, replies, events): nesting past the core's ceiling is the core's
// `RESOURCE_EXHAUSTED` (`NESTING_TOO_DEEP`, with the path); a request or event that does not
// convert is the caller's `InvalidArgument`, a handler's reply that does not is `INTERNAL`.

const binding = require('../binding.js')
const cbor = require('./cbor')
const errors = require('./errors')

if (binding.CONVERTED_TAG !== cbor.CONVERTED_TAG) {
  throw new Error('hms-ffi: the addon and lib/cbor_read.js disagree on CONVERTED_TAG')
}

/** `options.converters` checked: the list the codecs take (null for none) and the targets the
 * addon takes (converter i is tagged CONVERTED_TAG + i). */
function converters (list) {
  if (list === undefined || list === null) return { convs: null, targets: null }
  if (!Array.isArray(list)) throw new TypeError('converters must be an array')
  for (const c of list) {
    if (!c || (c.message === undefined) === (c.format === undefined)) {
      throw new TypeError('a converter targets one message type (message) or one format (format)')
    }
    if (typeof c.fromMessage !== 'function') throw new TypeError('a converter needs fromMessage')
    if (c.type !== undefined && typeof c.toMessage !== 'function') {
      throw new TypeError('a converter with a type needs toMessage')
    }
  }
  const targets = list.map((c) => (c.message !== undefined ? { message: c.message } : { format: c.format }))
  return { convs: list.length ? list : null, targets }
}

/** The core's error for a converter that threw (`reply`: a handler's reply, `INTERNAL`). */
function failed (e, reply) {
  if (!(e instanceof cbor.ConvertFailed)) return e
  return errors.fromNative(binding.converterFailedAt(e.outward, e.target, e.why, reply))
}

/** CBOR from the core as JavaScript values, through `convs`. */
function decodeWith (buf, int64, convs) {
  try {
    return cbor.decode(buf, int64, convs)
  } catch (e) {
    throw failed(e, false)
  }
}

/** `value` as CBOR for the core, through `convs`; `reply`: a handler's reply. */
function encodeValue (value, convs = null, reply = true) {
  try {
    return cbor.encode(value ?? {}, binding.NATIVE_MAX_DEPTH, convs)
  } catch (e) {
    if (e instanceof cbor.TooDeep) throw errors.fromNative(binding.nestingTooDeep(e.outward))
    throw failed(e, reply)
  }
}

/** A request (or a published event) as CBOR; what does not convert is `InvalidArgument`. */
function encodeRequest (value, convs = null) {
  try {
    return encodeValue(value, convs, false)
  } catch (e) {
    if (e instanceof errors.HmsError) throw e
    throw new errors.InvalidArgument(e.message)
  }
}

module.exports = { converters, failed, decodeWith, encodeValue, encodeRequest }
