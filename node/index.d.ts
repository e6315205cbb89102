// Types of the `hms-ffi` package (hand-written for the idiomatic layer in index.js; the native
// addon's own declarations are generated into binding.d.ts by `npm run build`).

/// <reference types="node" />

/** The gRPC code names. */
export type CodeName =
  | 'CANCELLED' | 'UNKNOWN' | 'INVALID_ARGUMENT' | 'DEADLINE_EXCEEDED' | 'NOT_FOUND'
  | 'ALREADY_EXISTS' | 'PERMISSION_DENIED' | 'RESOURCE_EXHAUSTED' | 'FAILED_PRECONDITION'
  | 'ABORTED' | 'OUT_OF_RANGE' | 'UNIMPLEMENTED' | 'INTERNAL' | 'UNAVAILABLE' | 'DATA_LOSS'
  | 'UNAUTHENTICATED'

export declare const CODES: readonly ('OK' | CodeName)[]

/** A message as JavaScript sees it: fields by their `.proto` names. */
export type Message = { [field: string]: Value }
/** A field value: 64-bit integers are `bigint` (or `number` with `int64: 'number'`), bytes are
 * `Buffer`/`Uint8Array`, Timestamps are `Date` (`Timestamp` when received), enums are names. */
export type Value =
  | null | undefined | boolean | number | bigint | string | Uint8Array | Date | Duration
  | Value[] | Map<Value, Value> | Message

export interface FieldViolation { field: string; description: string }
export interface ErrorOrigin { language: string; service: string; method: string }
/** A detail of a type the core does not model, kept so that a relay forwards it. */
export interface OtherDetail { typeUrl: string; value: Uint8Array }
export interface ErrorDetails {
  fieldViolations: FieldViolation[]
  reason?: string
  domain?: string
  metadata?: Record<string, string>
  stack?: string[]
  debug?: string
  origin?: ErrorOrigin
  /** Details of types the core does not model (a relay keeps them). */
  other?: OtherDetail[]
  /** The response headers that came with an error a call received (first value of each key;
   * `-bin` values in base64). */
  headers?: Record<string, string>
  /** The response trailers that came with an error a call received. */
  trailers?: Record<string, string>
}

/** An hms-ffi error: a gRPC code name, a message and structured details. */
export declare class HmsError extends Error {
  constructor (code: CodeName, message: string, details?: Partial<ErrorDetails>)
  readonly code: CodeName
  readonly details: ErrorDetails
  /** The numeric gRPC status code. */
  readonly grpcCode: number
  readonly fieldViolations: FieldViolation[]
  /** The response headers that came with the error (`{}` for an error raised locally). */
  readonly headers: Record<string, string>
  /** The response trailers that came with the error (`{}` for an error raised locally). */
  readonly trailers: Record<string, string>
}
type CodeError<C extends CodeName> = HmsError & { readonly code: C }
interface CodeErrorClass<C extends CodeName> {
  new (message: string, details?: Partial<ErrorDetails>): CodeError<C>
}
export declare const Cancelled: CodeErrorClass<'CANCELLED'>
export declare const Unknown: CodeErrorClass<'UNKNOWN'>
export declare const InvalidArgument: CodeErrorClass<'INVALID_ARGUMENT'>
export declare const DeadlineExceeded: CodeErrorClass<'DEADLINE_EXCEEDED'>
export declare const NotFound: CodeErrorClass<'NOT_FOUND'>
export declare const AlreadyExists: CodeErrorClass<'ALREADY_EXISTS'>
export declare const PermissionDenied: CodeErrorClass<'PERMISSION_DENIED'>
export declare const ResourceExhausted: CodeErrorClass<'RESOURCE_EXHAUSTED'>
export declare const FailedPrecondition: CodeErrorClass<'FAILED_PRECONDITION'>
export declare const Aborted: CodeErrorClass<'ABORTED'>
export declare const OutOfRange: CodeErrorClass<'OUT_OF_RANGE'>
export declare const Unimplemented: CodeErrorClass<'UNIMPLEMENTED'>
export declare const Internal: CodeErrorClass<'INTERNAL'>
export declare const Unavailable: CodeErrorClass<'UNAVAILABLE'>
export declare const DataLoss: CodeErrorClass<'DATA_LOSS'>
export declare const Unauthenticated: CodeErrorClass<'UNAUTHENTICATED'>
/** The error class for a code name. */
export declare function errorClass (code: CodeName): CodeErrorClass<CodeName>

/** A `Date` that keeps nanoseconds: what Timestamp fields arrive as. */
export declare class Timestamp extends Date {
  constructor (seconds?: bigint | number, nanos?: number)
  readonly seconds: bigint
  readonly nanos: number
  static fromDate (date: Date): Timestamp
  static fromRFC3339 (text: string): Timestamp
  toRFC3339 (): string
}

/** A signed span of time with nanosecond precision (`google.protobuf.Duration`). */
export declare class Duration {
  constructor (seconds?: bigint | number, nanos?: number)
  readonly seconds: bigint
  readonly nanos: number
  static fromMillis (ms: number): Duration
  toNanos (): bigint
  toMillis (): number
  toString (): string
}

export type StreamingKind = 'unary' | 'server_streaming' | 'client_streaming' | 'bidi_streaming'
export interface MethodDescription { name: string; kind: StreamingKind | string; input: string; output: string }

/** A compiled set of `.proto` files. */
export declare class Schema {
  private constructor ()
  static load (path: string, options?: { includes?: string[] }): Schema
  static fromSource (name: string, text: string): Schema
  /** One version of a schema in a registry: `registry+URI#SUBJECT[@N|@latest|@sha256:HEX]`. */
  static fromRegistry (reference: string, options?: { timeoutMs?: number }): Promise<Schema>
  methods (): MethodDescription[]
}

/** What a handler knows about its call. */
export declare class Context {
  /** `package.Service/Method`. */
  readonly method: string
  /** The request metadata (lower-case keys, first value of each). */
  readonly metadata: Record<string, string>
  readonly peer: string
  readonly transport: string
  /** The call's trace id (never empty). */
  readonly traceId: string
  readonly identity: string | null
  /** The kernel's credentials of a unix caller; `null` on other transports. */
  readonly peerCredentials: PeerCredentials | null
  /** A mutual-TLS caller's certificate (`der` is the whole certificate); `null` without one. */
  readonly peerCertificate: { identity: string; subject: string; der: Buffer } | null
  /** When the caller stops waiting; `null` when it set no deadline. */
  readonly deadline: Date | null
  /** Aborted when the caller cancels or its deadline passes. */
  readonly signal: AbortSignal
  readonly cancelled: boolean
  timeRemainingMs (): number | null
  /** Adds a response header: a string, or bytes for a `-bin` key; protocol keys
   * (`grpc-*`, `content-type`, …) throw `InvalidArgument`. */
  setHeader (key: string, value: string | Uint8Array): void
  /** Sends the response headers set so far now, ahead of any reply (gRPC's `SendHeader`);
   * later `setHeader` calls throw `FailedPrecondition`, a second call does nothing. */
  sendHeaders (): void
  /** Adds a response trailer, sent with the reply or the error. */
  setTrailer (key: string, value: string | Uint8Array): void
}

/** The uid, gid and pid of a unix caller, as the kernel reports them. */
export interface PeerCredentials {
  uid: number
  gid: number
  pid: number | null
}

export type Int64Form = 'bigint' | 'number'
export type Handler<Req = any, Rep = any> = (request: Req, ctx: Context) => Rep | Promise<Rep>
/** Replies a streaming handler gives: an iterable or async iterable (an `async function *`),
 * sent as the caller reads them. */
export type Replies<Rep> = Iterable<Rep> | AsyncIterable<Rep>
/** A server-streaming handler: one request, many replies. */
export type ServerStreamHandler<Req = any, Rep = any> = (request: Req, ctx: Context) => Replies<Rep> | Promise<Replies<Rep>>
/** A client-streaming handler: the requests as an async iterable, one reply. */
export type ClientStreamHandler<Req = any, Rep = any> = (requests: AsyncIterable<Req>, ctx: Context) => Rep | Promise<Rep>
/** A bidirectional-streaming handler: requests in, replies out, interleaved as it likes. */
export type BidiStreamHandler<Req = any, Rep = any> = (requests: AsyncIterable<Req>, ctx: Context) => Replies<Rep> | Promise<Replies<Rep>>

/** A server: register handlers, then listen on one or more URIs. */
export declare class Server {
  /** `security`: the path of a security file (policy, tokens, limits, audit); a bad file
   * throws `InvalidArgument`. `serviceConfig`: a gRPC service config (an object or its JSON
   * text) announced in discovery, which clients that discover the schema and were given no
   * config of their own call by; a bad one throws `InvalidArgument`. `converters`: custom
   * domain types (docs/converters.md). */
  constructor (schema: Schema, options?: { int64?: Int64Form; security?: string; serviceConfig?: object | string; converters?: Converter[] })
  /** Registers a handler; a streaming method's handler takes or gives (async) iterables, by
   * the method's kind in the schema. `revision`: a schema revision's handler (`addRevision`). */
  method<Req = any, Rep = any> (name: string, handler: Handler<Req, Rep> | ServerStreamHandler<Req, Rep> | ClientStreamHandler<Req, Rep> | BidiStreamHandler<Req, Rep>, options?: { revision?: string }): this
  /** Serves `schema` beside the main one as the revision `label`; returns its fingerprint.
   * Calls choose it with the `hms-schema-revision` metadata entry (docs/evolution.md). */
  addRevision (label: string, schema: Schema): string
  /** The revisions served beside the main schema, label → fingerprint. */
  readonly revisions: Record<string, string>
  /** Serves the main schema's `method` with `revision`'s handler, after a WIRE check. */
  bridge (revision: string, method: string): void
  listen (uri: string): Promise<string>
  /** Starts the admin listener (`http://host:port`, port 0 for a free one): `/metrics`,
   * `/healthz` and the live monitoring page at `/`. Returns the URI bound. */
  admin (uri: string): string
  endpoints (): string[]
  /** The schema version discovery announces (subject and version once set). */
  readonly schemaVersion: SchemaVersion
  /** Records the registry subject and version of the schema served; discovery announces them. */
  setSchemaVersion (subject: string, version: number): void
  shutdown (options?: { graceMs?: number }): Promise<void>
}

/** A reply with its response metadata (the first value of each key; `-bin` values in base64). */
export interface CallReply<Rep = any> {
  reply: Rep
  headers: Record<string, string>
  trailers: Record<string, string>
}

export interface CallOptions {
  /** The deadline, in milliseconds from now: the handler sees it (`ctx.deadline`), and the call
   * fails with `DeadlineExceeded` when it passes. */
  timeoutMs?: number
  /** Request metadata the handler reads as `ctx.metadata` (lower-case keys). */
  metadata?: Record<string, string>
  /** Aborting it ends the call with `Cancelled` (and aborts the handler's `ctx.signal`). */
  signal?: AbortSignal
  /** Wait for a connection up to the deadline instead of failing with `Unavailable` at once. */
  waitForReady?: boolean
  /** A call made while a handler runs inherits that call's deadline, cancellation and trace;
   * `true` opts out. */
  detach?: boolean
}

/** A client's connection state (with several endpoints, the best of theirs). */
export type ConnState = 'idle' | 'connecting' | 'ready' | 'transient_failure' | 'shutdown'

/** One endpoint of a client. */
export interface EndpointStatus {
  uri: string
  state: ConnState
  /** Taken out of the rotation after failing (readmitted after a while). */
  ejected: boolean
  /** Where its connection goes while it is up (for `auto://NAME` the transport it picked). */
  connected?: string | null
}

/** The core's client options (docs/resilience.md); given as an object or its JSON text. */
export interface Resilience {
  /** Reconnect backoff: durations as gRPC's JSON writes them (`"0.5s"`). */
  backoff?: { initial?: string; max?: string; multiplier?: number; jitter?: number; minConnectTimeout?: string }
  /** A gRPC service config: `methodConfig` (retryPolicy, hedgingPolicy, waitForReady, timeout),
   * `retryThrottling`. */
  serviceConfig?: object
  /** Every call waits for a connection (as `CallOptions.waitForReady`). */
  waitForReady?: boolean
  keepalive?: { interval?: string; timeout?: string }
  /** With several endpoints. */
  loadBalancing?: 'pick_first' | 'round_robin'
  ejection?: { consecutiveFailures?: number; baseTime?: string; maxTime?: string }
  healthCheck?: { interval?: string; timeout?: string }
}

/** A streaming call: `for await` over the replies. */
export declare class Stream<Req = any, Rep = any> implements AsyncIterableIterator<Rep> {
  private constructor ()
  /** `server_streaming`, `client_streaming` or `bidi_streaming`, once open (`null` before). */
  readonly kind: StreamingKind | null
  /** Sends one request; waits while the server's window is full (backpressure). */
  send (request: Req): Promise<void>
  /** Half-closes: no more requests. */
  closeSend (): Promise<void>
  /** Cancels the call; a pending read rejects with `Cancelled`. */
  cancel (): void
  /** The one reply of a client-streaming call (`Internal` when the server sent none or more). */
  result (): Promise<Rep>
  /** The response headers once they have arrived: before the first reply when the handler
   * sent them early (`ctx.sendHeaders()`), else with it or at the end (`null` before). */
  readonly headers: Record<string, string> | null
  /** The response trailers, complete once the stream has ended. */
  readonly trailers: Record<string, string>
  next (): Promise<IteratorResult<Rep>>
  return (): Promise<IteratorResult<Rep>>
  [Symbol.asyncIterator] (): AsyncIterableIterator<Rep>
}

/** A connection to a server; calls may run concurrently. */
export declare class Client {
  private constructor ()
  call<Rep = any> (method: string, request: object, options?: CallOptions): Promise<Rep>
  /** `call`, with the response headers and trailers the handler set (on failure, the error's
   * `headers` and `trailers`). */
  callWithMetadata<Rep = any> (method: string, request: object, options?: CallOptions): Promise<CallReply<Rep>>
  /** Calls every `[method, request]` as one batch; one entry per call, in order: the reply, or
   * the call's `HmsError` subclass as a value (not thrown). `timeoutMs` is one deadline for the
   * whole batch; `signal` cancels every call not finished. A request that does not convert is
   * its call's `InvalidArgument`, in its place. Rejects with `InvalidArgument` only for a batch
   * of more than 100 000 calls, every call counted (one whose request did not convert too). */
  batch<Rep = any> (calls: ReadonlyArray<readonly [method: string, request: object]>, options?: CallOptions): Promise<Array<Rep | HmsError>>
  /** Opens a streaming call. `requests`: the one request of a server-streaming call, or an
   * (async) iterable of requests sent as the server reads them; without it, `send()` and
   * `closeSend()`. `timeoutMs` bounds the whole stream; `signal` cancels it. */
  stream<Rep = any, Req = any> (method: string, requests?: Req | Iterable<Req> | AsyncIterable<Req>, options?: CallOptions): Stream<Req, Rep>
  methods (): MethodDescription[]
  /** The schema version the server announced in discovery; `null` when the schema was given. */
  readonly schemaVersion: SchemaVersion | null
  /** The methods of `expectSchema` the server's schema breaks, each with its findings
   * (`path:line:column:RULE_ID message`); calls to them reject with `FailedPrecondition`. */
  incompatibleMethods (): Record<string, string[]>
  /** The fingerprint of the schema revision spoken; `null` for the server's main schema. */
  readonly revision: string | null
  /** The revisions the server serves beside its main schema, label → fingerprint. */
  readonly revisions: Record<string, string>
  readonly endpoint: string
  /** The connection's state: `idle` (lost; the next call reconnects), `connecting`, `ready`,
   * `transient_failure` (waiting to retry) or `shutdown` (closed). */
  readonly state: ConnState
  /** Where calls go now, while connected: for `auto://NAME` the transport it picked
   * (`shm://NAME`, …), else the endpoint itself; `null` while no connection is up. */
  readonly transport: string | null
  /** Each endpoint given to `connect`, in order. */
  endpoints (): EndpointStatus[]
  /** Closes the connection, the same way on every transport: calls in flight and every later
   * call fail with `Cancelled` (reason `CLIENT_CLOSED`). Closing twice is harmless. */
  close (): void
}

/** What a server announces about its schema in discovery (docs/evolution.md). */
export interface SchemaVersion {
  /** `sha256:…` of the whole schema, as the schema registry computes it. */
  fingerprint: string
  /** The registry subject, empty when unknown. */
  subject: string
  /** The registry version, 0 when unknown. */
  version: number
}

/** A converter between a message type (or a string field's declared format) and a type of
 * your own (docs/converters.md): received values of the target come out through `fromMessage`
 * (the core decides where); a sent instance of `type` goes out through `toMessage` wherever the
 * encoder meets it. A converter that throws is `InvalidArgument` with the value's path. */
export interface Converter<T = any> {
  /** A message type's full name (`google.type.Decimal`); or `format`. */
  message?: string
  /** A declared string format (`[(hms.ffi.v1.format) = "uuid"]`); or `message`. */
  format?: string
  /** The class whose instances `toMessage` converts when sent. */
  type?: abstract new (...args: any[]) => T
  /** A `type` instance as the message (a plain object) or, for a format, its text. */
  toMessage?: (value: T) => unknown
  /** A received message (or text) as your type. */
  fromMessage: (message: any) => T
}

/** Connects to one endpoint or several endpoints of one service; bad `resilience` throws
 * `InvalidArgument`. `expectSchema`: the schema the caller was built against; the methods the
 * server's schema breaks are refused with `FailedPrecondition` (docs/evolution.md). */
export declare function connect (
  uri: string | string[],
  options?: { schema?: Schema; int64?: Int64Form; resilience?: Resilience | string; expectSchema?: Schema; converters?: Converter[]; revision?: string }
): Promise<Client>

/** One event of a subscription: the topic it was published on and its message. */
export interface BusEvent<M = Message> {
  topic: string
  message: M
}

/** Events on a topic pattern (`bus.subscribe`): `await next()`, or `for await (const { topic,
 * message } of sub)`. An event that fails its type's check makes `next` throw its `HmsError`
 * subclass; the subscription goes on. `close()` ends the iteration and a `next` waiting. */
export declare class Subscription<M = Message> implements AsyncIterable<BusEvent<M>> {
  private constructor ()
  /** The next event, or `null` once closed or when `timeoutMs` passes. */
  next (options?: { timeoutMs?: number }): Promise<BusEvent<M> | null>
  [Symbol.asyncIterator] (): AsyncIterator<BusEvent<M>>
  /** Events dropped because the subscription's queue was full (a slow consumer). */
  readonly dropped: number
  /** Whether `close()` was called. */
  readonly closed: boolean
  /** Unsubscribes; a `next` waiting resolves `null`, and so does every later one. */
  close (): void
}

export interface SubscribeOptions {
  /** A queue group: its members share the events (each goes to one). */
  queue?: string
  /** Events held before new ones are dropped and counted (512 Ki by default). */
  pending?: number
}

/** One delivery of a durable event (`bus.subscribeDurable`), to be answered; each answer
 * settles once the server confirmed it. Unanswered, it comes again after `ackWaitMs`. */
export declare class Delivery<M = Message> {
  private constructor ()
  /** The topic it was published on. */
  readonly topic: string
  readonly message: M
  /** Its sequence in the stream (replay from it with `deliver`). */
  readonly sequence: number
  /** How many times it has been delivered, this time included. */
  readonly delivered: number
  /** Done: never delivered again. */
  ack (): Promise<void>
  /** Not done: delivered again, after `delayMs` when given. */
  nak (delayMs?: number): Promise<void>
  /** Never delivered again, though it was not handled. */
  term (): Promise<void>
  /** Still working on it: its `ackWaitMs` starts again. */
  inProgress (): Promise<void>
}

/** Deliveries of a JetStream consumer: `await next()`, or `for await (const d of sub)`. An
 * event that fails its type's check makes `next` throw its `HmsError` subclass (it is never
 * delivered again); the subscription goes on. `close()` ends the iteration and a `next`
 * waiting. */
export declare class DurableSubscription<M = Message> implements AsyncIterable<Delivery<M>> {
  private constructor ()
  /** The next delivery, or `null` once closed or when `timeoutMs` passes. */
  next (options?: { timeoutMs?: number }): Promise<Delivery<M> | null>
  [Symbol.asyncIterator] (): AsyncIterator<Delivery<M>>
  /** Whether `close()` was called. */
  readonly closed: boolean
  /** Stops reading; what was not acknowledged comes again to the consumer's other readers. */
  close (): void
}

export interface DurableOptions {
  /** Where a new consumer starts: every stored event (default), only new ones, the last one,
   * a stream sequence, or the first event stored at or after a time. */
  deliver?: 'all' | 'new' | 'last' | number | bigint | Date
  /** How long an event may stay unanswered before it comes again (30000 by default). */
  ackWaitMs?: number
  /** Most deliveries of one event (no limit by default). */
  maxDeliver?: number
  /** Most events fetched ahead of `next` (64 by default). */
  batch?: number
}

/** Publish/subscribe with topics typed by messages of a schema (docs/messaging.md): in one
 * process (`new Bus(schema)`) or over NATS (`Bus.connect('nats://host:port/PREFIX', schema)`). */
export declare class Bus {
  constructor (schema: Schema, options?: { int64?: Int64Form; converters?: Converter[] })
  static connect (uri: string, schema: Schema, options?: { int64?: Int64Form; converters?: Converter[] }): Promise<Bus>
  /** Events on topics matching `pattern` (`*` one token, a final `>` the rest) are `messageType`
   * messages; the first declaration a topic matches gives its type. */
  declare (pattern: string, messageType: string): this
  /** Publishes `message` on `topic`: `InvalidArgument` for a bad topic or a wrong field,
   * `NotFound` for an undeclared topic. */
  publish (topic: string, message: object): Promise<void>
  subscribe<M = Message> (pattern: string, options?: SubscribeOptions): Promise<Subscription<M>>
  /** With a handler, called for each event (one at a time) until `close()`; `onError` gets an
   * event's failed check and what the handler threw (else process warnings). */
  subscribe<M = Message> (
    pattern: string,
    handler: (topic: string, message: M) => unknown,
    options?: SubscribeOptions & { onError?: (error: Error) => void }
  ): Promise<Subscription<M>>
  /** Reads `pattern` through the JetStream consumer `name` (a bus connected with
   * `?jetstream=STREAM`), created on first use and resumed afterwards by any process; readers
   * of one name share its events. Without a name the consumer is ephemeral (a replay).
   * `FailedPrecondition` on a bus without JetStream, `InvalidArgument` for a bad pattern. */
  subscribeDurable<M = Message> (pattern: string, name?: string | null, options?: DurableOptions): Promise<DurableSubscription<M>>
  subscribeDurable<M = Message> (pattern: string, options: DurableOptions): Promise<DurableSubscription<M>>
}
