'use strict'
// Streams as async iterables: the client's `Stream` (`for await` over the replies, `send`,
// `closeSend`, `cancel`, `result`) and the runner of streaming handlers. Every wait is the
// native side's Promise; the stream rules (flow control, deadlines, cancellation, one reply
// for a client-streaming call) are the core's. `codec` is `{ encode, decode }` for messages.

const errors = require('./errors')

/** The most replies one read takes at once. */
const BATCH = 256

/** A sent or read outcome's error as the matching `HmsError`. */
function check (outcome) {
  if (outcome.error) throw errors.fromNative(outcome.error)
  return outcome
}

function isIterable (x) {
  return x != null && typeof x !== 'string' &&
    (typeof x[Symbol.iterator] === 'function' || typeof x[Symbol.asyncIterator] === 'function')
}

/** The client side of a streaming call; `client.stream()` makes it. */
class Stream {
  constructor (opening, codec, requests) {
    this._codec = codec
    this._failure = null
    this._done = false
    this._headers = null
    this._trailers = {}
    this._native = null
    this._queue = []
    this._at = 0
    this._last = null
    this._opening = opening.then((native) => {
      this._native = native
      if (this._done) native.cancel()
      else if (requests !== undefined) this._feed(native, requests)
      return native
    })
    // Reported where it is awaited; never an unhandled rejection on its own.
    this._opening.catch(() => {})
  }

  /** `server_streaming`, `client_streaming` or `bidi_streaming`, once open. */
  get kind () {
    return this._native ? this._native.kind : null
  }

  async _feed (native, requests) {
    try {
      if (native.kind === 'server_streaming' && !isIterable(requests)) requests = [requests]
      if (!isIterable(requests)) {
        throw new TypeError(`a ${native.kind} call takes an iterable of requests, not one request`)
      }
      for await (const request of requests) {
        if (this._done) return
        check(await native.send(this._codec.encode(request)))
      }
      native.closeSend()
    } catch (e) {
      // What broke the requests is the call's outcome, not the reading side's CANCELLED.
      this._failure = e
      native.cancel()
    }
  }

  /** Sends one request (a stream opened without requests); waits while the server's window
   * is full, which is how a slow server slows this side. */
  async send (request) {
    const native = await this._opening
    check(await native.send(this._codec.encode(request)))
  }

  /** Half-closes: no more requests. */
  async closeSend () {
    (await this._opening).closeSend()
  }

  /** Cancels the call: the server's handler sees it; a pending read rejects with `Cancelled`. */
  cancel () {
    this._done = true
    if (this._native) this._native.cancel()
  }

  _ended (outcome) {
    this._done = true
    this._headers = outcome.headers ?? this._headers
    this._trailers = outcome.trailers ?? this._trailers
    if (this._failure) throw this._failure
    check(outcome)
  }

  async next () {
    if (this._done && this._native === null) return { done: true, value: undefined }
    if (this._queue.length === 0 && !this._last) {
      // Every reply already here comes in one Promise: a fast stream pays one event-loop
      // wake-up per batch, not per message.
      const batch = await (await this._opening).recvBatch(BATCH)
      this._queue = batch.replies
      this._at = 0
      if (batch.end) this._last = batch
    }
    if (this._at < this._queue.length) {
      const reply = this._queue[this._at]
      this._queue[this._at++] = undefined
      if (this._at === this._queue.length) this._queue = []
      return { done: false, value: this._codec.decode(reply) }
    }
    this._ended(this._last)
    return { done: true, value: undefined }
  }

  /** Leaving a `for await` loop early cancels the call. */
  async return () {
    if (!this._done) this.cancel()
    return { done: true, value: undefined }
  }

  [Symbol.asyncIterator] () {
    return this
  }

  /** The one reply of a client-streaming call, read to the end (`Internal` when the server
   * sent none or more than one). */
  async result () {
    const native = await this._opening
    const outcome = await native.recvOnly()
    this._ended(outcome)
    return this._codec.decode(outcome.reply)
  }

  /** The response headers once they have arrived: before the first reply when the handler
   * sent them early (`ctx.sendHeaders()`), else with it or at the end (`null` before). */
  get headers () {
    return this._headers ?? this._native?.headers ?? null
  }

  /** The response trailers, complete once the stream has ended. */
  get trailers () {
    return this._trailers
  }
}

/** The requests of a streaming call, as the handler reads them. */
async function * requestsOf (stream, codec) {
  for (;;) {
    const outcome = check(await stream.recv())
    if (!outcome.reply) return
    yield codec.decode(outcome.reply)
  }
}

/** Sends every reply of `replies` (an iterable or async iterable), each once the caller's
 * window has room. */
async function sendAll (kind, replies, stream, codec) {
  if (!isIterable(replies)) {
    throw new TypeError(`a ${kind} handler yields its replies (a generator or iterable), not one reply`)
  }
  for await (const reply of replies) {
    const body = codec.encode(reply)
    // At once while the caller's window has room; a Promise only when it must wait.
    check(stream.trySend(body) ?? await stream.send(body))
  }
}

/**
 * Runs a streaming handler on one call: server-streaming `(request, ctx) => replies`,
 * client-streaming `(requests, ctx) => reply`, bidi `(requests, ctx) => replies`, where
 * `requests` is an async iterable and `replies` an iterable or async iterable (an async
 * generator, usually). Resolves when the call has ended; throws what the handler threw.
 */
async function runStream (kind, handler, ctx, stream, codec) {
  if (kind === 'server_streaming') {
    const request = codec.decode(check(await stream.recvFirst()).reply)
    return sendAll(kind, await handler(request, ctx), stream, codec)
  }
  const replies = await handler(requestsOf(stream, codec), ctx)
  if (kind === 'client_streaming') {
    check(await stream.send(codec.encode(replies)))
    return
  }
  return sendAll(kind, replies, stream, codec)
}

module.exports = { Stream, runStream }
