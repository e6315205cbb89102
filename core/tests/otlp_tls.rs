//! Spans exported over TLS: an OTLP/gRPC export to a `https://` collector that requires a
//! client certificate (mutual TLS), with the CA and the client's certificate and key as the
//! standard `OTEL_EXPORTER_OTLP_CERTIFICATE`, `…_CLIENT_CERTIFICATE` and `…_CLIENT_KEY` name
//! them. The collector is an hms-ffi `grpcs://` server serving the collector's
//! `TraceService/Export` (a subset of the OTLP messages, same field numbers): it sees the
//! exporter's certificate identity and the spans of a sampled call.
//!
//! The export is process-wide, so this binary holds one test.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::pki::{server_cert, Pki};
use hms_ffi_core::security::{Security, TlsConfig};
use hms_ffi_core::trace::{ExportConfig, ExportTls, Protocol, Sampler};
use hms_ffi_core::{CallOptions, Schema, Server, ServerOptions, Value};
use rcgen::SanType;

const COLLECTOR: &str = r#"
    syntax = "proto3"; package opentelemetry.proto.collector.trace.v1;
    message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    message ResourceSpans { repeated ScopeSpans scope_spans = 2; }
    message ScopeSpans { repeated Span spans = 2; }
    message Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; }
    message ExportTraceServiceResponse {}
    service TraceService { rpc Export(ExportTraceServiceRequest) returns (ExportTraceServiceResponse); }
"#;
const APP: &str = r#"
    syntax = "proto3"; package app.v1;
    message Ping { string text = 1; }
    service Echo { rpc Echo(Ping) returns (Ping); }
"#;
const EXPORTER: &str = "spiffe://example.org/exporter";
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// What the collector received: (the exporter's identity, each span's name and trace id in hex).
type Received = Arc<Mutex<Vec<(String, String, String)>>>;

fn collector(pki: &Pki) -> (Server, Received) {
    let (cert, key) = server_cert(pki);
    let tls = TlsConfig {
        cert_file: Some(cert),
        key_file: Some(key),
        client_ca_file: Some(pki.ca_file("ca")),
        require_client_cert: Some(true),
        ..TlsConfig::default()
    };
    let server = Server::with_options(
        Schema::from_source("collector.proto", COLLECTOR).unwrap(),
        ServerOptions::default().with_security(Security::new().with_tls(&tls).unwrap()),
    );
    let received: Received = Arc::default();
    let sink = received.clone();
    let export = "opentelemetry.proto.collector.trace.v1.TraceService/Export";
    server
        .unary(export, move |req, ctx| {
            let who = ctx.identity().unwrap_or("").to_string();
            let list = |v: &Value, f: &str| match v.get(f) {
                Some(Value::List(items)) => items.clone(),
                _ => Vec::new(),
            };
            for rs in list(&req, "resource_spans") {
                for ss in list(&rs, "scope_spans") {
                    for span in list(&ss, "spans") {
                        let name = span.get("name").and_then(Value::as_str).unwrap_or("");
                        let hex: String = match span.get("trace_id") {
                            Some(Value::Bytes(id)) => {
                                id.iter().map(|b| format!("{b:02x}")).collect()
                            }
                            _ => String::new(),
                        };
                        sink.lock()
                            .unwrap()
                            .push((who.clone(), name.to_string(), hex));
                    }
                }
            }
            async move { Ok(Value::message([] as [(&str, Value); 0])) }
        })
        .unwrap();
    (server, received)
}

#[test]
fn spans_reach_a_collector_that_requires_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let (client_cert, client_key) = pki.issue(
        "exporter",
        "exporter",
        vec![SanType::URI(EXPORTER.try_into().unwrap())],
        true,
    );
    // The first server of the process installs the TLS dialer the export uses.
    let (collector, received) = collector(&pki);
    let uri = collector.listen("grpcs://127.0.0.1:0").unwrap();
    let endpoint = uri.replacen("grpcs://", "https://", 1);
    hms_ffi_core::trace::start(ExportConfig {
        endpoint,
        protocol: Protocol::Grpc,
        service_name: "otlp-tls-test".into(),
        // Root calls are not sampled (the collector's own Export calls then make no spans);
        // the call below carries a sampled parent.
        sampler: Sampler::AlwaysOff,
        delay: Duration::from_millis(50),
        max_batch: 512,
        max_queue: 2048,
        tls: ExportTls {
            ca: Some(pki.ca_file("ca")),
            cert: Some(client_cert),
            key: Some(client_key),
        },
    });

    let app = Server::new(Schema::from_source("app.proto", APP).unwrap());
    app.unary("app.v1.Echo/Echo", |req, _ctx| async move { Ok(req) })
        .unwrap();
    app.listen("inproc://otlp-tls-app").unwrap();
    let client = hms_ffi_core::runtime::block_on(hms_ffi_core::connect("inproc://otlp-tls-app"))
        .unwrap()
        .unwrap();
    let mut opts = CallOptions::with_timeout(Duration::from_secs(5));
    let parent = format!("00-{TRACE}-00f067aa0ba902b7-01");
    opts.metadata.insert("traceparent", parent);
    let ping = Value::message([("text", Value::from("hi"))]);
    client
        .call_blocking("app.v1.Echo/Echo", &ping, &opts)
        .unwrap();

    hms_ffi_core::trace::flush(Duration::from_secs(5));
    let until = Instant::now() + Duration::from_secs(10);
    let spans = loop {
        let spans = received.lock().unwrap().clone();
        let both = spans
            .iter()
            .filter(|(_, name, _)| name == "app.v1.Echo/Echo")
            .count();
        if both >= 2 || Instant::now() > until {
            break spans;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let echo: Vec<_> = spans
        .iter()
        .filter(|(_, n, _)| n == "app.v1.Echo/Echo")
        .collect();
    // The client span and the server span, in the caller's trace, sent with the exporter's
    // certificate.
    assert_eq!(echo.len(), 2, "received: {spans:?}");
    for (who, _, trace) in echo {
        assert_eq!(who, EXPORTER);
        assert_eq!(trace, TRACE);
    }
}
