'use strict'
// A program that runs the stock OpenTelemetry SDK (`@opentelemetry/api` with
// `@opentelemetry/sdk-trace-base`, the async-hooks context manager and the W3C propagator; no
// code of ours touches them): a call made while one of its spans is active joins that span's
// trace, through unix and grpc, for calls, batches and streams; a `traceparent` the caller sets
// itself wins; a call outside any span starts a trace of its own (docs/observability.md).

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { trace, context, propagation } = require('@opentelemetry/api')
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base')
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks')
const { W3CTraceContextPropagator } = require('@opentelemetry/core')
const hms = require('..')

const PROTO = `syntax = "proto3"; package otel.v1;
message Seen { string trace_id = 1; string traceparent = 2; }
message Empty {}
service Probe { rpc See(Empty) returns (Seen); rpc SeeStream(Empty) returns (stream Seen); }`

const exporter = new InMemorySpanExporter()
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
propagation.setGlobalPropagator(new W3CTraceContextPropagator())
const tracer = trace.getTracer('hms-ffi-node-test')

const seen = (ctx) => ({ trace_id: ctx.traceId, traceparent: ctx.metadata.traceparent ?? '' })

async function serve (t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-node-otel-'))
  const server = new hms.Server(hms.Schema.fromSource('otel.proto', PROTO))
  server.method('otel.v1.Probe/See', (req, ctx) => seen(ctx))
  server.method('otel.v1.Probe/SeeStream', async function * (req, ctx) { yield seen(ctx) })
  const unix = await server.listen(`unix://${path.join(dir, 'o.sock')}`)
  const grpc = await server.listen(`grpc+unix://${path.join(dir, 'o-grpc.sock')}`)
  const clients = [await hms.connect(unix), await hms.connect(grpc)]
  t.after(async () => {
    for (const c of clients) c.close()
    await server.shutdown()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return clients
}

/** Runs `work` inside a new active SDK span; returns [its result, the span's context]. */
function inSpan (work) {
  return tracer.startActiveSpan('root', async (span) => {
    try {
      return [await work(), span.spanContext()]
    } finally {
      span.end()
    }
  })
}

test('a call made in an active SDK span joins its trace, over unix and grpc', { timeout: 20000 }, async (t) => {
  for (const client of await serve(t)) {
    const [reply, span] = await inSpan(() => client.call('otel.v1.Probe/See', {}))
    assert.equal(reply.trace_id, span.traceId)
    // The server's parent is the core's client span, a child of the SDK's span: same trace,
    // sampled, another span id.
    const [version, traceId, parent, flags] = reply.traceparent.split('-')
    assert.deepEqual([version, traceId, flags], ['00', span.traceId, '01'])
    assert.notEqual(parent, span.spanId)
  }
})

test('batches and streams join the active span too', { timeout: 20000 }, async (t) => {
  const [client] = await serve(t)
  const [[entry], span] = await inSpan(() => client.batch([['otel.v1.Probe/See', {}]]))
  assert.equal(entry.trace_id, span.traceId)
  const [replies, span2] = await inSpan(async () => {
    const out = []
    for await (const reply of client.stream('otel.v1.Probe/SeeStream', {})) out.push(reply)
    return out
  })
  assert.equal(replies.length, 1)
  assert.equal(replies[0].trace_id, span2.traceId)
})

test('a traceparent the caller sets wins, and a call outside any span has a trace of its own', { timeout: 20000 }, async (t) => {
  const [client] = await serve(t)
  const mine = '0af7651916cd43dd8448eb211c80319c'
  const [reply] = await inSpan(() => client.call('otel.v1.Probe/See', {}, {
    metadata: { traceparent: `00-${mine}-b7ad6b7169203331-01` }
  }))
  assert.equal(reply.trace_id, mine)
  const [inside, span] = await inSpan(() => client.call('otel.v1.Probe/See', {}))
  const outside = await client.call('otel.v1.Probe/See', {})
  assert.equal(inside.trace_id, span.traceId)
  assert.notEqual(outside.trace_id, span.traceId)
  assert.match(outside.trace_id, /^[0-9a-f]{32}$/)
  // The SDK recorded its own spans and nothing of ours: hms-ffi's spans go to OTLP, not the SDK.
  assert.ok(exporter.getFinishedSpans().every((s) => s.name === 'root'))
})
