'use strict'
// The handler's view of its call.

const { native } = require('./errors')

/** A string stays a string; bytes become the Buffer the native side takes for `-bin` keys. */
function metadataValue (value) {
  if (typeof value === 'string' || Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  throw new TypeError('a metadata value is a string, or a Buffer/Uint8Array for a -bin key')
}

/** What a handler knows about its call. */
class Context {
  constructor (info, signal, response) {
    this._response = response
    /** `package.Service/Method`. */
    this.method = info.method
    /** The caller's metadata (lower-case keys). */
    this.metadata = info.metadata
    /** Who is calling. */
    this.peer = info.peer
    /** `inproc`, `unix`, `grpc`, … */
    this.transport = info.transport
    /** The call's trace id. */
    this.traceId = info.traceId
    /** The authenticated caller, or `null`. */
    this.identity = info.identity ?? null
    /** The kernel's `{ uid, gid, pid }` of a unix caller, or `null` on other transports. */
    this.peerCredentials = info.peerCredentials
      ? { uid: info.peerCredentials.uid, gid: info.peerCredentials.gid, pid: info.peerCredentials.pid ?? null }
      : null
    /** A mutual-TLS caller's certificate `{ identity, subject, der }`, or `null`. */
    this.peerCertificate = info.peerCertificate ?? null
    /** When the caller stops waiting, or `null`. */
    this.deadline = info.timeRemainingMs == null ? null : new Date(Date.now() + info.timeRemainingMs)
    /** Aborted when the caller cancels or its deadline passes. */
    this.signal = signal
  }

  /** Milliseconds left before the deadline, or `null` without one. */
  timeRemainingMs () {
    return this.deadline == null ? null : Math.max(0, this.deadline.getTime() - Date.now())
  }

  /**
   * Adds a response header (gRPC initial metadata): a string, or a `Buffer`/`Uint8Array` for a
   * `-bin` key. Protocol keys (`grpc-*`, `content-type`, …) throw `InvalidArgument`.
   */
  setHeader (key, value) {
    native(() => this._response.setHeader(key, metadataValue(value)))
  }

  /**
   * Sends the response headers set so far now, ahead of any reply (gRPC's `SendHeader`): a
   * streaming caller sees them before the first one. Later `setHeader` calls throw
   * `FailedPrecondition`; a second call does nothing.
   */
  sendHeaders () {
    this._response.sendHeaders()
  }

  /** Adds a response trailer (gRPC trailing metadata), sent with the reply or the error. */
  setTrailer (key, value) {
    native(() => this._response.setTrailer(key, metadataValue(value)))
  }

  /** Whether the call was cancelled. */
  get cancelled () {
    return this.signal.aborted
  }
}

module.exports = { Context }
