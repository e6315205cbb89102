'use strict'
// The error model: `HmsError` with the gRPC code name in `.code` and structured `.details`,
// and one subclass per code, so `instanceof NotFound` and `err.code === 'NOT_FOUND'` both work.

const CODES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
  'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED',
  'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'
]

const emptyDetails = () => ({ fieldViolations: [] })

/** An hms-ffi error: a gRPC code name, a message and structured details. */
class HmsError extends Error {
  /**
   * @param {string} code a gRPC code name such as `'NOT_FOUND'` (what a handler throws to fail
   *   a call with that code)
   * @param {string} message
   * @param {object} [details] `{ fieldViolations, reason, domain, metadata, stack, debug, origin }`
   *   (an error a call received also has `headers` and `trailers`)
   */
  constructor (code, message, details) {
    super(message)
    // A handler that throws code OK reaches its caller as UNKNOWN: the core refuses OK.
    this.code = CODES.includes(code) ? code : 'UNKNOWN'
    this.details = { ...emptyDetails(), ...(details || {}) }
  }

  /** The numeric gRPC status code. */
  get grpcCode () {
    return CODES.indexOf(this.code)
  }

  /** Field violations (`google.rpc.BadRequest`): `[{ field, description }]`. */
  get fieldViolations () {
    return this.details.fieldViolations
  }

  /** The response headers that came with the error (first value of each key; `-bin` values in
   * base64); `{}` for an error raised locally. */
  get headers () {
    return this.details.headers ?? {}
  }

  /** The response trailers that came with the error (as `headers`). */
  get trailers () {
    return this.details.trailers ?? {}
  }
}

const byCode = {}
const classes = {}
for (const code of CODES.slice(1)) {
  const name = code.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c) => c.toUpperCase())
  // A named class per code, e.g. `class NotFound extends HmsError`.
  const cls = {
    [name]: class extends HmsError {
      constructor (message, details) {
        super(code, message, details)
      }
    }
  }[name]
  Object.defineProperty(cls.prototype, 'name', { value: name })
  byCode[code] = cls
  classes[name] = cls
}
Object.defineProperty(HmsError.prototype, 'name', { value: 'HmsError' })

/** The subclass for a code name. */
function errorClass (code) {
  return byCode[code] || classes.Unknown
}

/** A native error object `{ code, message, details }` as the matching subclass. */
function fromNative (e) {
  return new (errorClass(e.code))(e.message, e.details)
}

/** A thrown native error (`CODE: message`, a NUL, the details as JSON) as the matching
 * subclass with its details; others pass through. */
function fromThrown (e) {
  const m = e instanceof Error && /^([A-Z_]+): ([^\0]*)(?:\0([\s\S]*))?$/.exec(e.message)
  if (!m || !byCode[m[1]]) return e
  let details
  try {
    details = m[3] ? JSON.parse(m[3]) : undefined
  } catch {
    details = undefined
  }
  return new byCode[m[1]](m[2], details)
}

/** Runs `f`, rethrowing native errors as `HmsError` subclasses. */
function native (f) {
  try {
    return f()
  } catch (e) {
    throw fromThrown(e)
  }
}

/** What the addon reads off a handler's exception: for an `HmsError` its code, message and
 * details, and for every exception its class and stack. The core decides what they become (any
 * other exception is `INTERNAL` with its class, message and stack). */
function toNative (e) {
  const typeName = (e && e.constructor && e.constructor.name) || typeof e
  const stack = e instanceof Error && typeof e.stack === 'string'
    ? e.stack.split('\n').slice(1).map((l) => l.trim())
    : []
  const raised = { typeName, stack }
  if (e instanceof HmsError) {
    return { code: e.code, message: e.message, details: e.details, raised }
  }
  const message = e instanceof Error ? e.message : String(e)
  return { code: '', message, details: emptyDetails(), raised }
}

module.exports = { CODES, HmsError, ...classes, errorClass, fromNative, fromThrown, native, toNative }
