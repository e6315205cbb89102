//! W3C trace context end to end (issue 20): a caller's `traceparent` reaches a first server on
//! one transport, whose handler calls a second server on another; every span shares the trace
//! id and each parent link names the span before it. Unsampled calls carry the trace and record
//! nothing; malformed context is ignored; `tracestate`, `baggage` and the legacy `x-trace-id`
//! travel too.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::resil::{kill, listen, wait_until};
use common::unix_uri;
use hms_ffi_core::trace::{self, AttrValue, SpanData, SpanKind, TraceId};
use hms_ffi_core::{
    connect_blocking, CallOptions, Client, Code, Context, Error, Metadata, Schema, Server, Value,
};

const RELAY: &str = "demo.v1.Trace/Relay";
const INFO: &str = "demo.v1.Trace/Info";
const PARENT: &str = "00f067aa0ba902b7";

fn schema() -> Schema {
    Schema::from_source(
        "trace.proto",
        r#"syntax = "proto3"; package demo.v1;
        message Msg { string trace_id = 1; string span_id = 2; string parent = 3;
                      string state = 4; string baggage = 5; bool fail = 6; }
        service Trace { rpc Relay(Msg) returns (Msg); rpc Info(Msg) returns (Msg); }"#,
    )
    .unwrap()
}

#[derive(Default)]
struct Collect(Mutex<Vec<SpanData>>);

impl trace::SpanSink for Collect {
    fn record(&self, span: SpanData) {
        self.0.lock().unwrap().push(span);
    }
}

/// The process's sink: every test's spans, told apart by trace id.
fn spans() -> &'static Arc<Collect> {
    static SINK: OnceLock<Arc<Collect>> = OnceLock::new();
    SINK.get_or_init(|| {
        let sink = Arc::new(Collect::default());
        trace::set_sink(Some(sink.clone()));
        sink
    })
}

fn of_trace(trace_id: &str) -> Vec<SpanData> {
    let all = spans().0.lock().unwrap();
    all.iter()
        .filter(|s| s.trace_id.to_string() == trace_id)
        .cloned()
        .collect()
}

/// What the handler saw of its call's trace.
fn info(ctx: &Context) -> Value {
    let t = ctx.trace();
    let text = |s: String| Value::from(s.as_str());
    Value::message([
        ("trace_id", Value::from(ctx.trace_id())),
        ("span_id", text(t.span_id.to_string())),
        (
            "parent",
            text(t.parent.map(|p| p.to_string()).unwrap_or_default()),
        ),
        ("state", Value::from(t.state.as_deref().unwrap_or(""))),
        ("baggage", Value::from(t.baggage.as_deref().unwrap_or(""))),
    ])
}

fn empty() -> Value {
    Value::message::<&str>([])
}

fn field(v: &Value, name: &str) -> String {
    v.get(name)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// A back server answering Info (or failing when asked), a front whose Relay calls it.
struct Chain {
    servers: Vec<Server>,
    front: Client,
    _dirs: Vec<tempfile::TempDir>,
}

impl Chain {
    /// Calls the front's Relay with this metadata (and a 10 s timeout).
    fn relay(&self, metadata: &[(&str, &str)]) -> Result<Value, Error> {
        self.front
            .call_blocking(RELAY, &empty(), &with_metadata(metadata))
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        self.servers.iter().for_each(kill);
    }
}

fn at(scheme: &str, name: &str, dirs: &mut Vec<tempfile::TempDir>) -> String {
    match scheme {
        "unix" => {
            let (dir, uri) = unix_uri(name);
            dirs.push(dir);
            uri
        }
        "inproc" => format!("inproc://trace-{name}-{:?}", Instant::now()),
        other => format!("{other}://127.0.0.1:0"),
    }
}

fn chain(front_scheme: &str, back_scheme: &str, blocking: bool) -> Chain {
    spans();
    let mut dirs = Vec::new();
    let back = Server::new(schema());
    back.unary(INFO, |req, ctx| async move {
        if req.get("fail") == Some(&Value::Bool(true)) {
            return Err(Error::new(Code::FailedPrecondition, "asked to fail"));
        }
        Ok(info(&ctx))
    })
    .unwrap();
    let back_uri = listen(&back, &at(back_scheme, "back", &mut dirs));
    let to_back = connect_blocking(&back_uri).unwrap();
    let front = Server::new(schema());
    if blocking {
        front
            .unary_blocking(RELAY, move |req, _| {
                to_back.call_blocking(INFO, &req, &CallOptions::default())
            })
            .unwrap();
    } else {
        front
            .unary(RELAY, move |req, _| {
                let to_back = to_back.clone();
                async move { to_back.call(INFO, &req, &CallOptions::default()).await }
            })
            .unwrap();
    }
    let front_uri = listen(&front, &at(front_scheme, "front", &mut dirs));
    Chain {
        servers: vec![front, back],
        front: connect_blocking(&front_uri).unwrap(),
        _dirs: dirs,
    }
}

fn with_metadata(pairs: &[(&str, &str)]) -> CallOptions {
    let mut metadata = Metadata::new();
    for (k, v) in pairs {
        metadata.insert(*k, *v);
    }
    CallOptions {
        metadata,
        timeout: Some(Duration::from_secs(10)),
        ..CallOptions::default()
    }
}

fn attr<'a>(span: &'a SpanData, key: &str) -> &'a AttrValue {
    &span.attributes.iter().find(|(k, _)| *k == key).unwrap().1
}

fn str_attr(span: &SpanData, key: &str) -> String {
    match attr(span, key) {
        AttrValue::Str(s) => s.clone(),
        other => panic!("{key} is {other:?}"),
    }
}

/// The four spans of a relayed call, in order: outer client, front server, inner client,
/// back server; each one's parent is the one before.
fn linked(trace_id: &str, fail: bool) -> Vec<SpanData> {
    assert!(
        wait_until(|| of_trace(trace_id).len() >= 4),
        "spans: {:?}",
        of_trace(trace_id)
    );
    let spans = of_trace(trace_id);
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let mut chain = vec![spans
        .iter()
        .find(|s| s.parent.map(|p| p.to_string()).as_deref() == Some(PARENT))
        .expect("the outer client span is a child of the caller's span")
        .clone()];
    for _ in 0..3 {
        let last = chain.last().unwrap().span_id;
        let next = spans
            .iter()
            .find(|s| s.parent == Some(last))
            .expect("a child");
        chain.push(next.clone());
    }
    let kinds: Vec<SpanKind> = chain.iter().map(|s| s.kind).collect();
    use SpanKind::{Client as C, Server as S};
    assert_eq!(kinds, [C, S, C, S]);
    let methods: Vec<String> = chain.iter().map(|s| str_attr(s, "rpc.method")).collect();
    assert_eq!(methods, ["Relay", "Relay", "Info", "Info"]);
    for s in &chain {
        assert_eq!(str_attr(s, "rpc.service"), "demo.v1.Trace");
        assert!(s.end >= s.start);
    }
    let code = if fail {
        Code::FailedPrecondition
    } else {
        Code::Ok
    };
    assert_eq!(chain[3].code, code);
    assert_eq!(
        *attr(&chain[3], "rpc.grpc.status_code"),
        AttrValue::Int(code as i64)
    );
    chain
}

fn parent_links_across(front: &str, back: &str, blocking: bool) {
    let c = chain(front, back, blocking);
    let trace_id = TraceId::random().to_string();
    let tp = format!("00-{trace_id}-{PARENT}-01");
    let reply = c.relay(&[("traceparent", &tp)]).unwrap();
    assert_eq!(field(&reply, "trace_id"), trace_id);
    let spans = linked(&trace_id, false);
    assert_eq!(field(&reply, "span_id"), spans[3].span_id.to_string());
    assert_eq!(field(&reply, "parent"), spans[2].span_id.to_string());
    assert_eq!(str_attr(&spans[1], "hms.transport"), front);
    assert_eq!(str_attr(&spans[3], "hms.transport"), back);
    let system = |t: &str| match t {
        "grpc" => "grpc",
        "http" => "connect_rpc",
        _ => "hms_ffi",
    };
    assert_eq!(str_attr(&spans[1], "rpc.system"), system(front));
    assert_eq!(str_attr(&spans[3], "rpc.system"), system(back));
    assert_eq!(str_attr(&spans[3], "hms.language"), "rust");
}

#[test]
fn unix_then_grpc() {
    parent_links_across("unix", "grpc", false);
}

#[test]
fn grpc_then_http() {
    parent_links_across("grpc", "http", false);
}

#[test]
fn http_then_ws() {
    parent_links_across("http", "ws", false);
}

#[test]
fn ws_then_inproc_from_a_blocking_handler() {
    parent_links_across("ws", "inproc", true);
}

#[test]
fn inproc_then_unix_from_a_blocking_handler() {
    parent_links_across("inproc", "unix", true);
}

#[test]
fn a_failed_call_records_its_code() {
    let c = chain("unix", "unix", false);
    let trace_id = TraceId::random().to_string();
    let tp = format!("00-{trace_id}-{PARENT}-01");
    let req = Value::message([("fail", Value::Bool(true))]);
    let err = c
        .front
        .call_blocking(RELAY, &req, &with_metadata(&[("traceparent", &tp)]))
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let spans = linked(&trace_id, true);
    assert_eq!(spans[1].code, Code::FailedPrecondition);
    assert_eq!(spans[3].message, "asked to fail");
}

#[test]
fn an_unsampled_trace_travels_and_records_nothing() {
    let c = chain("unix", "grpc", false);
    let trace_id = TraceId::random().to_string();
    let tp = format!("00-{trace_id}-{PARENT}-00");
    let reply = c.relay(&[("traceparent", &tp)]).unwrap();
    assert_eq!(field(&reply, "trace_id"), trace_id);
    assert_eq!(field(&reply, "parent").len(), 16);
    assert_ne!(field(&reply, "parent"), PARENT);
    std::thread::sleep(Duration::from_millis(100));
    assert!(of_trace(&trace_id).is_empty());
}

#[test]
fn tracestate_and_baggage_reach_the_last_hop() {
    let c = chain("grpc", "unix", false);
    let trace_id = TraceId::random().to_string();
    let tp = format!("00-{trace_id}-{PARENT}-00");
    let md = [
        ("traceparent", tp.as_str()),
        ("tracestate", "vendor=opaque,other=1"),
        ("baggage", "user=alice;p"),
    ];
    let reply = c.relay(&md).unwrap();
    assert_eq!(field(&reply, "state"), "vendor=opaque,other=1");
    assert_eq!(field(&reply, "baggage"), "user=alice;p");
}

#[test]
fn malformed_context_starts_a_new_trace_and_is_dropped() {
    let c = chain("http", "unix", false);
    let upper = "4BF92F3577B34DA6A3CE929D0E0E4736";
    for tp in [
        format!("00-{upper}-{PARENT}-01"),
        "garbage".into(),
        format!("00-{}-{PARENT}-01", "0".repeat(32)),
    ] {
        let md = [
            ("traceparent", tp.as_str()),
            ("tracestate", "vendor=x"),
            ("baggage", "bad value"),
        ];
        let reply = c.relay(&md).unwrap();
        let id = field(&reply, "trace_id");
        assert!(TraceId::from_hex(&id).is_some(), "{id}");
        assert_ne!(id.to_uppercase(), upper);
        assert_eq!(field(&reply, "state"), "");
        assert_eq!(field(&reply, "baggage"), "");
    }
}

#[test]
fn the_legacy_trace_id_is_still_read() {
    let c = chain("unix", "http", false);
    let trace_id = TraceId::random().to_string();
    let reply = c
        .front
        .call_blocking(
            RELAY,
            &empty(),
            &with_metadata(&[("x-trace-id", &trace_id)]),
        )
        .unwrap();
    assert_eq!(field(&reply, "trace_id"), trace_id);
}

#[test]
fn a_root_sampler_starts_sampled_traces() {
    let c = chain("unix", "ws", false);
    trace::set_sampler(trace::Sampler::AlwaysOn);
    let reply = c.relay(&[]);
    trace::set_sampler(trace::Sampler::AlwaysOff);
    let trace_id = field(&reply.unwrap(), "trace_id");
    assert!(wait_until(|| of_trace(&trace_id).len() >= 4));
    let spans = of_trace(&trace_id);
    let roots: Vec<&SpanData> = spans.iter().filter(|s| s.parent.is_none()).collect();
    assert_eq!(roots.len(), 1, "{spans:#?}");
    assert_eq!(roots[0].kind, SpanKind::Client);
    assert_eq!(spans.len(), 4);
}
