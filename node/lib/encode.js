'use strict'
// JavaScript values as CBOR for the core (lib/cbor.js), with the core's own errors for what
// does not convert: nesting past the core's ceiling (`RESOURCE_EXHAUSTED`, `NESTING_TOO_DEEP`,
// with the path) and a converter that throws (its path). A request or event that does not
// convert is the caller's `InvalidArgument`; a handler's reply that does not is `INTERNAL`.

const binding = require('../binding.js')
const cbor = require('./cbor')
const conv = require('./converters')
const errors = require('./errors')

/** `value` as CBOR for the core, through `convs`; `reply`: a handler's reply. */
function encodeValue (value, convs = null, reply = true) {
  try {
    return cbor.encode(value ?? {}, binding.NATIVE_MAX_DEPTH, convs)
  } catch (e) {
    if (e instanceof cbor.TooDeep) throw errors.fromNative(binding.nestingTooDeep(e.outward))
    throw conv.failed(e, reply)
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

module.exports = { encodeValue, encodeRequest }
