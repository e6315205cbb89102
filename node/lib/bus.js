'use strict'
// Publish/subscribe with typed topics (docs/messaging.md): `new Bus(schema)` in one process,
// `await Bus.connect('nats://host:port/PREFIX', schema)` between processes and machines. Events
// are converted as a call's requests and replies are (lib/converters.js, converters included);
// every rule (topic checks, typing on both ends, queue groups, drop counting, what `close` does
// to a waiting `next`) is the core's. Every wait is a Promise of the native side's: the event
// loop never blocks.

const binding = require('../binding.js')
const conv = require('./converters')
const errors = require('./errors')
const { encodeRequest } = conv

const { native, fromThrown } = errors

function nativeSchema (schema, what) {
  if (!schema || !schema._native) throw new TypeError(`${what} needs a Schema`)
  return schema._native
}

/** Events on a topic pattern: `await sub.next()`, or `for await (const { topic, message } of
 * sub)`. An event that fails its type's check makes `next` throw its `HmsError` subclass (the
 * iteration ends there; a loop over `next` goes on); `close()` ends the iteration. */
class Subscription {
  constructor (handle, int64, convs) {
    this._native = handle
    this._int64 = int64
    this._convs = convs
  }

  /** The next `{ topic, message }`, or `null` once closed, or when `timeoutMs` passes. */
  async next (options = {}) {
    const event = await this._native.next(options.timeoutMs)
    if (event.error) throw errors.fromNative(event.error)
    if (event.topic === undefined || event.topic === null) return null
    return { topic: event.topic, message: conv.decodeWith(event.message, this._int64, this._convs) }
  }

  async * [Symbol.asyncIterator] () {
    for (let event = await this.next(); event !== null; event = await this.next()) yield event
  }

  /** Events dropped because this subscription's queue was full (a slow consumer). */
  get dropped () {
    return this._native.dropped
  }

  /** Whether `close()` was called. */
  get closed () {
    return this._native.closed
  }

  /** Unsubscribes; a `next` waiting resolves `null`, and so does every later one. */
  close () {
    this._native.close()
  }

  /** Calls `handler(topic, message)` for each event, one at a time (a Promise it returns is
   * awaited), until `close()`. `onError` gets an event that failed its check and what the
   * handler threw; without it they become process warnings. */
  async _run (handler, onError) {
    const report = onError ?? ((e) => process.emitWarning(e))
    for (;;) {
      let event
      try {
        event = await this.next()
      } catch (e) {
        report(e)
        continue
      }
      if (event === null) return
      try {
        await handler(event.topic, event.message)
      } catch (e) {
        report(e)
      }
    }
  }
}

/** One delivery of a durable event: `topic`, `message`, `sequence` (in the stream),
 * `delivered` (how many times, this one included); answered with `ack()`, `nak(delayMs?)`,
 * `term()` or `inProgress()`, each a Promise that settles once the server confirmed it.
 * Unanswered, it comes again after the subscription's `ackWaitMs`. */
class Delivery {
  constructor (handle, int64, convs) {
    this._native = handle
    this.topic = handle.topic
    this.message = conv.decodeWith(handle.message, int64, convs)
    this.sequence = handle.sequence
    this.delivered = handle.delivered
  }

  /** Done: never delivered again. */
  ack () { return answered(this._native.ack()) }
  /** Not done: delivered again, after `delayMs` when given. */
  nak (delayMs) { return answered(this._native.nak(delayMs ?? null)) }
  /** Never delivered again, though it was not handled. */
  term () { return answered(this._native.term()) }
  /** Still working on it: its `ackWaitMs` starts again. */
  inProgress () { return answered(this._native.inProgress()) }
}

async function answered (promise) {
  try {
    await promise
  } catch (e) {
    throw fromThrown(e)
  }
}

/** Deliveries of a JetStream consumer: `await sub.next()`, or `for await (const d of sub)`.
 * An event that fails its type's check makes `next` throw its `HmsError` subclass (it is never
 * delivered again; the iteration ends there, a loop over `next` goes on); `close()` ends the
 * iteration. */
class DurableSubscription {
  constructor (handle, int64, convs) {
    this._native = handle
    this._int64 = int64
    this._convs = convs
  }

  /** The next `Delivery`, or `null` once closed, or when `timeoutMs` passes. */
  async next (options = {}) {
    let handle
    try {
      handle = await this._native.next(options.timeoutMs)
    } catch (e) {
      throw fromThrown(e)
    }
    return handle === null ? null : new Delivery(handle, this._int64, this._convs)
  }

  async * [Symbol.asyncIterator] () {
    for (let d = await this.next(); d !== null; d = await this.next()) yield d
  }

  /** Whether `close()` was called. */
  get closed () {
    return this._native.closed
  }

  /** Stops reading; a `next` waiting resolves `null`, and so does every later one. What was
   * not acknowledged comes again to the consumer's other readers. */
  close () {
    this._native.close()
  }
}

/** The native form of `subscribeDurable`'s options. */
function durableConfig (options) {
  const { deliver, ackWaitMs, maxDeliver, batch } = options
  const config = { ackWaitMs, maxDeliver, batch }
  if (typeof deliver === 'string') config.deliver = deliver
  else if (typeof deliver === 'number' || typeof deliver === 'bigint') config.sequence = Number(deliver)
  else if (deliver instanceof Date) config.timeMs = deliver.getTime()
  else if (deliver !== undefined && deliver !== null) {
    throw new TypeError('deliver is "all", "new", "last", a sequence (number or bigint) or a Date')
  }
  return config
}

/** A publish/subscribe bus whose topics are typed by messages of a schema. */
class Bus {
  /**
   * An in-process bus (no server, no socket).
   * @param {Schema} schema
   * @param {{ int64?: 'bigint' | 'number', converters?: object[] }} [options] how subscribers
   *   receive 64-bit integers; converters for custom domain types (docs/converters.md)
   */
  constructor (schema, options = {}, handle = null) {
    const { convs, targets } = conv.converters(options.converters)
    this._int64 = options.int64 || 'bigint'
    this._convs = convs
    this._native = handle ?? native(() => new binding.Bus(nativeSchema(schema, 'new Bus(schema)'), targets))
  }

  /** A bus over NATS: `nats://host:port/PREFIX` (events on `PREFIX.TOPIC`); options as the
   * constructor's. Rejects with `Unavailable` when the server cannot be reached. */
  static async connect (uri, schema, options = {}) {
    const { targets } = conv.converters(options.converters)
    let handle
    try {
      handle = await binding.connectBus(uri, nativeSchema(schema, 'Bus.connect(uri, schema)'), targets)
    } catch (e) {
      throw fromThrown(e)
    }
    return new Bus(schema, options, handle)
  }

  /** Events on topics matching `pattern` (`*` one token, a final `>` the rest) are
   * `messageType` messages (a full name from the schema); the first declaration a topic
   * matches gives its type. */
  declare (pattern, messageType) {
    native(() => this._native.declare(pattern, messageType))
    return this
  }

  /** Publishes `message` on `topic`, checked against the topic's declared type: rejects with
   * `InvalidArgument` for a bad topic or a wrong field (with its path), `NotFound` for an
   * undeclared topic. */
  async publish (topic, message) {
    const outcome = await native(() => this._native.publish(topic, encodeRequest(message, this._convs)))
    if (outcome.error) throw errors.fromNative(outcome.error)
  }

  /**
   * Subscribes to `pattern`. With `queue`, the subscription shares the events with the other
   * members of that queue group (each goes to one); `pending` is how many events it holds
   * before it drops new ones. With a `handler`, it is called as `handler(topic, message)` for
   * each event until `close()`; `onError` gets the errors (else they are process warnings).
   * @param {string} pattern
   * @param {((topic: string, message: any) => any) | { queue?: string, pending?: number }} [handler]
   * @param {{ queue?: string, pending?: number, onError?: (e: Error) => void }} [options]
   */
  async subscribe (pattern, handler, options) {
    if (typeof handler !== 'function') {
      options = handler
      handler = null
    }
    const { queue, pending, onError } = options ?? {}
    let handle
    try {
      handle = await this._native.subscribe(pattern, queue ?? null, pending ?? null)
    } catch (e) {
      throw fromThrown(e)
    }
    const sub = new Subscription(handle, this._int64, this._convs)
    if (handler !== null) sub._run(handler, onError)
    return sub
  }

  /**
   * Reads `pattern` through the JetStream consumer `name` (bus connected with
   * `?jetstream=STREAM`): created on first use and resumed afterwards by any process; readers
   * of one name share its events. Without a name the consumer is ephemeral (a replay). Rejects
   * with `FailedPrecondition` on a bus without JetStream, `InvalidArgument` for a bad pattern.
   * @param {string} pattern
   * @param {string | null | { deliver?: any, ackWaitMs?: number, maxDeliver?: number, batch?: number }} [name]
   * @param {{ deliver?: 'all' | 'new' | 'last' | number | bigint | Date, ackWaitMs?: number,
   *   maxDeliver?: number, batch?: number }} [options] where a new consumer starts (default
   *   'all'), how long an event may stay unanswered (default 30000), most deliveries of one
   *   event, most events fetched ahead
   */
  async subscribeDurable (pattern, name, options) {
    if (name !== null && typeof name === 'object') {
      options = name
      name = null
    }
    const config = durableConfig(options ?? {})
    let handle
    try {
      handle = await this._native.subscribeDurable(pattern, name ?? null, config)
    } catch (e) {
      throw fromThrown(e)
    }
    return new DurableSubscription(handle, this._int64, this._convs)
  }
}

module.exports = { Bus, Subscription, DurableSubscription, Delivery }
