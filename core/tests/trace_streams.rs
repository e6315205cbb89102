//! A streaming call's client span and metrics end with the stream — its last response, its
//! error, or the caller dropping it — not when it opens (issue 20): the span's duration is the
//! call's, and its status is the stream's outcome.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::unix_uri;
use hms_ffi_core::trace::{self, SpanData, SpanKind, TraceId};
use hms_ffi_core::{connect, CallOptions, Code, Error, Metadata, Schema, Server, Value};

const TICKS: &str = "demo.v1.Ticks/Count";

fn server() -> Server {
    let schema = Schema::from_source(
        "ticks.proto",
        r#"syntax = "proto3"; package demo.v1;
        message N { int64 n = 1; bool fail = 2; }
        service Ticks { rpc Count(N) returns (stream N); }"#,
    )
    .unwrap();
    let server = Server::new(schema);
    server
        .server_streaming(TICKS, |req, sink, _| async move {
            let n = req.get("n").and_then(Value::as_i64).unwrap_or(0);
            for i in 0..n {
                sink.send(&Value::message([("n", Value::from(i))]))?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if req.get("fail") == Some(&Value::Bool(true)) {
                return Err(Error::new(Code::Aborted, "asked to fail"));
            }
            Ok(())
        })
        .unwrap();
    server
}

#[derive(Default)]
struct Collect(Mutex<Vec<SpanData>>);

impl trace::SpanSink for Collect {
    fn record(&self, span: SpanData) {
        self.0.lock().unwrap().push(span);
    }
}

fn sink() -> &'static Arc<Collect> {
    static SINK: OnceLock<Arc<Collect>> = OnceLock::new();
    SINK.get_or_init(|| {
        let sink = Arc::new(Collect::default());
        trace::set_sink(Some(sink.clone()));
        sink
    })
}

/// A sampled trace of its own, and the options that carry it.
fn traced() -> (String, CallOptions) {
    let trace_id = TraceId::random().to_string();
    let mut metadata = Metadata::new();
    metadata.insert("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"));
    let opts = CallOptions {
        metadata,
        timeout: Some(Duration::from_secs(10)),
        ..CallOptions::default()
    };
    (trace_id, opts)
}

/// The client span of `trace_id`, waiting up to 5 s for it.
async fn client_span(trace_id: &str) -> SpanData {
    for _ in 0..500 {
        let all = sink().0.lock().unwrap().clone();
        let found = all
            .into_iter()
            .find(|s| s.trace_id.to_string() == trace_id && s.kind == SpanKind::Client);
        if let Some(span) = found {
            return span;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no client span for {trace_id}");
}

fn millis(span: &SpanData) -> u128 {
    span.end.duration_since(span.start).unwrap().as_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_span_lasts_as_long_as_the_stream_and_takes_its_outcome() {
    sink();
    let (_dir, uri) = unix_uri("trace-streams");
    let server = server();
    let bound = server.listen(&uri).unwrap();
    let client = connect(&bound).await.unwrap();

    let (ok, opts) = traced();
    let request = Value::message([("n", Value::from(3i64))]);
    let mut s = client
        .server_streaming(TICKS, &request, &opts)
        .await
        .unwrap();
    let mut got = 0;
    while let Some(m) = s.next().await {
        m.unwrap();
        got += 1;
    }
    assert_eq!(got, 3);
    let span = client_span(&ok).await;
    assert_eq!(span.code, Code::Ok);
    assert!(
        millis(&span) >= 250,
        "the span ended early: {} ms",
        millis(&span)
    );

    let (failed, opts) = traced();
    let request = Value::message([("n", Value::from(1i64)), ("fail", Value::Bool(true))]);
    let mut s = client
        .server_streaming(TICKS, &request, &opts)
        .await
        .unwrap();
    s.next().await.unwrap().unwrap();
    assert_eq!(s.next().await.unwrap().unwrap_err().code(), Code::Aborted);
    let span = client_span(&failed).await;
    assert_eq!(
        (span.code, span.message.as_str()),
        (Code::Aborted, "asked to fail")
    );
    assert!(millis(&span) >= 80, "{} ms", millis(&span));

    let (dropped, opts) = traced();
    let request = Value::message([("n", Value::from(50i64))]);
    let mut s = client
        .server_streaming(TICKS, &request, &opts)
        .await
        .unwrap();
    s.next().await.unwrap().unwrap();
    drop(s);
    assert_eq!(client_span(&dropped).await.code, Code::Cancelled);
}
