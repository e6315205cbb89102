//! TypeScript: one module per package (`demo_v1_hms.ts`) of interfaces, enums, typed clients
//! and service interfaces over the `hms-ffi` npm package.
//!
//! Types follow `node/index.d.ts` and the CBOR reader of `node/lib/cbor.js`: a message as
//! received (`HelloReply`) has every field, 64-bit integers as `bigint` (the binding's default
//! `int64: 'bigint'`), bytes as `Buffer`, Timestamps as the binding's `Timestamp` (a `Date`),
//! Durations as its `Duration`, maps as plain objects with text keys, and `null` for an unset
//! field with presence. What may be sent (`HelloReplyInit`, like the DOM's `RequestInit`) is
//! any subset, with `number` for 64-bit integers, any `Uint8Array`, any `Date` or RFC 3339 text.
//! An enum is a `const` object plus the union of its names (`Color.COLOR_RED` and
//! `'COLOR_RED'` are both a `Color`), because the binding gives names, not numbers. A streaming
//! method's client gives the binding's `Stream` (an async iterable of replies; `send`,
//! `closeSend`, `result()`), typed; its service method takes a request or an `AsyncIterable` of
//! them and gives `Replies` (any iterable or async iterable: an `async function *`) or a reply,
//! as `node/index.d.ts` types streaming handlers. A message with a oneof is a type: its other
//! fields and, per oneof, the union of its cases (each member set, the others `null`, and none
//! set), so `tsc` narrows on a check and rejects a request literal that sets two.

use super::docs::block;
use super::docs::join;
use super::model::{Enum, Field, Message, Package, Service, Shape, Type};
use hms_ffi_core::StreamingKind;

use super::model::Method;
use super::{camel, oneofs, Output, GENERATED};

pub(crate) fn generate(p: &Package) -> Vec<Output> {
    let mut out = String::new();
    line!(out, "// {GENERATED}");
    line!(out, "// source: {}", p.files.join(", "));
    line!(
        out,
        "/** Typed hms-ffi bindings of the protobuf package `{}`. */",
        p.name
    );
    line!(out);
    let streams = p.streams();
    let stream_types = if streams { "Replies, " } else { "" };
    let stream_class = if streams { ", Stream" } else { "" };
    line!(out, "import type {{ CallOptions, Client, Context, Duration, {stream_types}Server{stream_class}, Timestamp }} from 'hms-ffi'");
    for e in &p.enums {
        enumeration(&mut out, e);
    }
    for m in &p.messages {
        message(&mut out, m, false);
        message(&mut out, m, true);
    }
    for s in &p.services {
        client(&mut out, s);
        service(&mut out, s);
    }
    vec![Output {
        path: format!("{}_hms.ts", p.snake()),
        content: out,
    }]
}

fn enumeration(out: &mut String, e: &Enum) {
    line!(out);
    out.push_str(&block(&e.doc, ""));
    line!(out, "export const {} = {{", e.name);
    for v in &e.values {
        out.push_str(&block(&v.doc, "  "));
        line!(out, "  {}: '{}',", v.name, v.name);
    }
    line!(out, "}} as const");
    line!(
        out,
        "/** A value of `{}`, by name (how the binding gives enums). */",
        e.full_name
    );
    line!(
        out,
        "export type {0} = typeof {0}[keyof typeof {0}]",
        e.name
    );
}

/// A type as received from the binding.
fn received(t: &Type) -> String {
    match t {
        Type::Float | Type::Int32 | Type::UInt32 => "number".into(),
        Type::Int64 | Type::UInt64 => "bigint".into(),
        Type::Bool => "boolean".into(),
        Type::String => "string".into(),
        Type::Bytes => "Buffer".into(),
        Type::Enum(n) | Type::Message(n) => n.clone(),
        Type::Timestamp => "Timestamp".into(),
        Type::Duration => "Duration".into(),
        Type::Struct => "Record<string, unknown>".into(),
        Type::Empty => "Record<string, never>".into(),
        Type::JsonValue => "unknown".into(),
        Type::ListValue => "unknown[]".into(),
        Type::Wrapper(t) => received(t),
    }
}

/// A type as the binding accepts it.
fn sent(t: &Type) -> String {
    match t {
        Type::Int64 | Type::UInt64 => "bigint | number".into(),
        Type::Bytes => "Uint8Array".into(),
        Type::Enum(n) => format!("{n} | number"),
        Type::Message(n) => format!("{n}Init"),
        Type::Timestamp => "Date | string".into(),
        Type::Duration => "Duration | string".into(),
        Type::Empty => "Record<string, never>".into(),
        Type::Wrapper(t) => sent(t),
        _ => received(t),
    }
}

fn field_type(f: &Field, init: bool) -> String {
    let one = |t: &Type| {
        let s = if init { sent(t) } else { received(t) };
        if s.contains(' ') {
            format!("({s})")
        } else {
            s
        }
    };
    match &f.shape {
        Shape::Single { presence } => {
            let s = if init { sent(&f.ty) } else { received(&f.ty) };
            if *presence || init {
                format!("{s} | null")
            } else {
                s
            }
        }
        Shape::Repeated => format!("{}[]", one(&f.ty)),
        Shape::Map(k) if init => format!(
            "{{ [key: string]: {} }} | Map<{}, {}>",
            one(&f.ty),
            one(k),
            one(&f.ty)
        ),
        Shape::Map(_) => format!("{{ [key: string]: {} }}", one(&f.ty)),
    }
}

fn message(out: &mut String, m: &Message, init: bool) {
    let (name, what) = if init {
        (
            format!("{}Init", m.name),
            format!(
                "What may be sent as a `{}`: any subset of its fields (`null` leaves one unset).",
                m.full_name
            ),
        )
    } else {
        (
            m.name.clone(),
            format!("A `{}` as received: every field present.", m.full_name),
        )
    };
    let oneofs = oneofs(m);
    let optional = if init { "?" } else { "" };
    line!(out);
    if oneofs.is_empty() {
        out.push_str(&block(&join(&m.doc, &what), ""));
        line!(out, "export interface {name} {{");
    } else {
        let union = "Each oneof is a union of its cases, one member set or none (the others `null`),\nso a check of one member narrows the others and two set do not type-check.";
        out.push_str(&block(&join(&join(&m.doc, &what), union), ""));
        line!(out, "export type {name} = {{");
    }
    for f in m.fields.iter().filter(|f| f.oneof.is_none()) {
        out.push_str(&block(&f.doc, "  "));
        line!(out, "  {}{optional}: {}", f.name, field_type(f, init));
    }
    if oneofs.is_empty() {
        line!(out, "}}");
        return;
    }
    let unset = if init { "?: null" } else { ": null" };
    for (i, (oneof, members)) in oneofs.iter().enumerate() {
        line!(out, "{} & (", if i == 0 { "}" } else { ")" });
        for set in members.iter().map(Some).chain([None]) {
            let doc = match set {
                Some(f) => join(
                    &f.doc,
                    &format!("`{}` of the oneof `{oneof}` is set.", f.name),
                ),
                None => format!("No member of the oneof `{oneof}` is set."),
            };
            out.push_str(&block(&doc, "  "));
            let fields: Vec<String> = members
                .iter()
                .map(|f| match set {
                    Some(s) if s.name == f.name => {
                        let t = if init { sent(&f.ty) } else { received(&f.ty) };
                        format!("{}: {t}", f.name)
                    }
                    _ => format!("{}{unset}", f.name),
                })
                .collect();
            line!(out, "  | {{ {} }}", fields.join(", "));
        }
    }
    line!(out, ")");
}

fn client(out: &mut String, s: &Service) {
    line!(out);
    let doc = format!(
        "Typed calls of `{}` over a `Client`; `options` apply to every call, and a call's own\noptions override them. A streaming method gives the binding's `Stream`: `for await` its\nreplies, or `await stream.result()` for a client-streaming one.",
        s.full_name
    );
    out.push_str(&block(&join(&s.doc, &doc), ""));
    line!(out, "export class {}Client {{", s.name);
    line!(
        out,
        "  constructor (readonly client: Client, readonly options: CallOptions = {{}}) {{}}"
    );
    for m in &s.methods {
        let (req, rep) = (sent(&m.input), received(&m.output));
        line!(out);
        out.push_str(&block(&m.doc, "  "));
        let name = camel(&m.name);
        let opts = "{ ...this.options, ...options }";
        match m.kind {
            StreamingKind::Unary => {
                line!(
                    out,
                    "  {name} (request: {req}, options?: CallOptions): Promise<{rep}> {{"
                );
                line!(
                    out,
                    "    return this.client.call<{rep}>('{}', request, {opts})",
                    m.path
                );
            }
            StreamingKind::ServerStreaming => {
                line!(
                    out,
                    "  {name} (request: {req}, options?: CallOptions): Stream<{req}, {rep}> {{"
                );
                line!(
                    out,
                    "    return this.client.stream<{rep}, {req}>('{}', request, {opts})",
                    m.path
                );
            }
            StreamingKind::ClientStreaming | StreamingKind::Bidi => {
                line!(out, "  /** `requests` are sent as the server reads them; without them, `send()` and `closeSend()`. */");
                line!(out, "  {name} (requests?: Iterable<{req}> | AsyncIterable<{req}>, options?: CallOptions): Stream<{req}, {rep}> {{");
                line!(
                    out,
                    "    return this.client.stream<{rep}, {req}>('{}', requests, {opts})",
                    m.path
                );
            }
        }
        line!(out, "  }}");
    }
    line!(out, "}}");
}

/// A service method's parameters and return type, by the method's kind.
fn handler(m: &Method) -> (String, String) {
    let (req, rep) = (received(&m.input), sent(&m.output));
    let one = format!("request: {req}");
    let many = format!("requests: AsyncIterable<{req}>");
    let replies = format!("Replies<{rep}>");
    let (input, output) = match m.kind {
        StreamingKind::Unary => (one, rep),
        StreamingKind::ServerStreaming => (one, replies),
        StreamingKind::ClientStreaming => (many, rep),
        StreamingKind::Bidi => (many, replies),
    };
    let output = format!("{output} | Promise<{output}>");
    (input, output)
}

fn service(out: &mut String, s: &Service) {
    line!(out);
    let doc = format!(
        "The server side of `{}`: implement it (a class or an object literal) and pass it to\n`register{}`. A method may return its reply or a Promise of it; a streaming one takes its\nrequests as an `AsyncIterable` and gives its replies as any (async) iterable.",
        s.full_name, s.name
    );
    out.push_str(&block(&join(&s.doc, &doc), ""));
    line!(out, "export interface {}Service {{", s.name);
    for m in &s.methods {
        out.push_str(&block(&m.doc, "  "));
        let (input, output) = handler(m);
        line!(
            out,
            "  {} ({input}, ctx: Context): {output}",
            camel(&m.name)
        );
    }
    line!(out, "}}");
    line!(out);
    line!(
        out,
        "/** Registers every method of `{}` with `server`, served by `impl`. */",
        s.full_name
    );
    line!(
        out,
        "export function register{0} (server: Server, impl: {0}Service): Server {{",
        s.name
    );
    line!(out, "  return server");
    for m in &s.methods {
        let (input, _) = handler(m);
        let arg = input.split(':').next().unwrap_or_default();
        line!(
            out,
            "    .method('{}', ({input}, ctx: Context) => impl.{}({arg}, ctx))",
            m.path,
            camel(&m.name)
        );
    }
    line!(out, "}}");
}
