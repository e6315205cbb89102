//! Per-attempt client metrics (gRFC A66 `grpc.client.attempt.*`, issue 20): a call retried by
//! its policy is one call and as many attempts as ran, each with its status, latency and sizes;
//! a hedge that loses to another attempt ends `CANCELLED`. Blocking and async calls alike. A
//! stream is one attempt, and its size metrics (client attempt, server call) add up every
//! message.
//! Each test uses a package of its own, since metrics are process-wide.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::resil::{kill, listen};
use common::unix_uri;
use hms_ffi_core::metrics::prometheus::render;
use hms_ffi_core::{
    connect_with, runtime::block_on, CallOptions, Client, Code, ConnectOptions, Error, Resilience,
    Schema, Server, Value,
};

fn schema(package: &str) -> Schema {
    Schema::from_source(
        "a.proto",
        &format!(
            r#"syntax = "proto3"; package {package};
            message Msg {{ string text = 1; int64 millis = 2; }}
            service Svc {{ rpc Echo(Msg) returns (Msg); rpc Thrice(Msg) returns (stream Msg); }}"#
        ),
    )
    .unwrap()
}

/// A server whose first `fails` calls are `UNAVAILABLE`; a call asking for `millis` waits that
/// long before it answers.
fn server(package: &str, fails: usize) -> Server {
    let server = Server::new(schema(package));
    let calls = Arc::new(AtomicUsize::new(0));
    server
        .unary(&format!("{package}.Svc/Echo"), move |req, _| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < fails {
                    return Err(Error::new(Code::Unavailable, "not yet"));
                }
                let millis = req.get("millis").and_then(Value::as_i64).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(millis as u64)).await;
                Ok(req)
            }
        })
        .unwrap();
    server
        .server_streaming(
            &format!("{package}.Svc/Thrice"),
            |req, sink, _| async move {
                for _ in 0..3 {
                    sink.send(&req)?;
                }
                Ok(())
            },
        )
        .unwrap();
    server
}

fn client(uri: &str, package: &str, policy: &str) -> Client {
    let config = format!(
        r#"{{"methodConfig": [{{"name": [{{"service": "{package}.Svc"}}],
          "retryNonIdempotent": true, {policy}}}]}}"#
    );
    let options = ConnectOptions {
        schema: Some(schema(package)),
        resilience: Resilience::default().with_service_config(&config).unwrap(),
        ..ConnectOptions::default()
    };
    block_on(connect_with(uri, options)).unwrap().unwrap()
}

/// A server whose first `fails` calls fail, on unix, and a client with `policy`: the server,
/// the socket's directory (kept while the test runs) and the client.
fn served(package: &str, fails: usize, policy: &str) -> (Server, tempfile::TempDir, Client) {
    let s = server(package, fails);
    let (dir, uri) = unix_uri(package);
    let uri = listen(&s, &uri);
    let c = client(&uri, package, policy);
    (s, dir, c)
}

const RETRY: &str = r#""retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.01s",
  "maxBackoff": "0.02s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}"#;

/// The sample `name{…}` of `method` on unix with `extra` labels, 0 when there is none.
fn sample(method: &str, name: &str, extra: &str) -> f64 {
    let want = [
        format!("grpc_method=\"{method}\""),
        "hms_transport=\"unix\"".to_string(),
        extra.to_string(),
    ];
    render()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(key, _)| {
            key.split('{').next() == Some(name) && want.iter().all(|w| key.contains(w.as_str()))
        })
        .map_or(0.0, |(_, v)| v.parse().unwrap())
}

#[test]
fn a_retried_call_is_one_call_and_an_attempt_per_run() {
    let package = "attempts.v1";
    let method = format!("{package}.Svc/Echo");
    let (s, _dir, c) = served(package, 2, RETRY);
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    let request = Value::message([("text", Value::from("hello"))]);
    // Fails twice, then answers; then one more call that answers at once (async this time).
    let reply = c.call_blocking(&method, &request, &opts).unwrap();
    assert_eq!(reply.get("text").and_then(Value::as_str), Some("hello"));
    block_on(c.call(&method, &request, &opts)).unwrap().unwrap();

    let ok = "grpc_status=\"OK\"";
    let unavailable = "grpc_status=\"UNAVAILABLE\"";
    assert_eq!(sample(&method, "hms_client_call_started_total", ""), 2.0);
    assert_eq!(
        sample(&method, "grpc_client_call_duration_seconds_count", ok),
        2.0
    );
    assert_eq!(
        sample(&method, "grpc_client_attempt_started_total", ""),
        4.0
    );
    let attempts = "grpc_client_attempt_duration_seconds_count";
    assert_eq!(sample(&method, attempts, unavailable), 2.0);
    assert_eq!(sample(&method, attempts, ok), 2.0);
    // Sizes: every attempt sent the request; the two that answered got it back.
    let sent = "grpc_client_attempt_sent_total_compressed_message_size_bytes";
    let rcvd = "grpc_client_attempt_rcvd_total_compressed_message_size_bytes";
    assert_eq!(sample(&method, &format!("{sent}_count"), ""), 4.0);
    let encoded = 7.0; // field 1, length 5, "hello"
    assert_eq!(sample(&method, &format!("{sent}_sum"), ""), 4.0 * encoded);
    assert_eq!(sample(&method, &format!("{rcvd}_sum"), ""), 2.0 * encoded);
    // The server saw four calls, three of them failed or answered on unix.
    assert_eq!(sample(&method, "grpc_server_call_started_total", ""), 4.0);
    kill(&s);
}

#[test]
fn a_hedge_that_loses_is_a_cancelled_attempt() {
    let package = "hedged.v1";
    let method = format!("{package}.Svc/Echo");
    let policy = r#""hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "0.05s",
      "nonFatalStatusCodes": ["UNAVAILABLE"]}"#;
    let (s, _dir, c) = served(package, 0, policy);
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    // Every run waits 300 ms: the first answers first; the hedge sent 50 ms later is given up.
    let request = Value::message([("millis", Value::from(300i64))]);
    block_on(c.call(&method, &request, &opts)).unwrap().unwrap();
    let attempts = "grpc_client_attempt_duration_seconds_count";
    assert_eq!(
        sample(&method, "grpc_client_attempt_started_total", ""),
        2.0
    );
    assert_eq!(sample(&method, attempts, "grpc_status=\"OK\""), 1.0);
    assert_eq!(sample(&method, attempts, "grpc_status=\"CANCELLED\""), 1.0);
    assert_eq!(
        sample(
            &method,
            "grpc_client_call_duration_seconds_count",
            "grpc_status=\"OK\""
        ),
        1.0
    );
    kill(&s);
}

#[test]
fn a_stream_is_one_attempt_and_its_sizes_add_up_every_message() {
    let package = "streamsizes.v1";
    let method = format!("{package}.Svc/Thrice");
    let (s, _dir, c) = served(package, 0, RETRY);
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    let request = Value::message([("text", Value::from("hello"))]);
    let mut stream = block_on(c.server_streaming(&method, &request, &opts))
        .unwrap()
        .unwrap();
    let mut got = 0;
    while let Some(reply) = block_on(stream.next()).unwrap() {
        reply.unwrap();
        got += 1;
    }
    assert_eq!(got, 3);
    let encoded = 7.0; // field 1, length 5, "hello"
    let ok = "grpc_status=\"OK\"";
    assert_eq!(
        sample(&method, "grpc_client_attempt_started_total", ""),
        1.0
    );
    assert_eq!(
        sample(&method, "grpc_client_attempt_duration_seconds_count", ok),
        1.0
    );
    let attempt = "grpc_client_attempt_{}_total_compressed_message_size_bytes_sum";
    assert_eq!(sample(&method, &attempt.replace("{}", "sent"), ""), encoded);
    assert_eq!(
        sample(&method, &attempt.replace("{}", "rcvd"), ""),
        3.0 * encoded
    );
    // The server's side: one request in, three replies out, in one observation each.
    let server = "grpc_server_call_{}_total_compressed_message_size_bytes";
    let rcvd = server.replace("{}", "rcvd");
    let sent = server.replace("{}", "sent");
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while sample(&method, &format!("{sent}_count"), "") < 1.0 && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(sample(&method, &format!("{rcvd}_sum"), ""), encoded);
    assert_eq!(sample(&method, &format!("{sent}_sum"), ""), 3.0 * encoded);
    assert_eq!(sample(&method, &format!("{sent}_count"), ""), 1.0);
    kill(&s);
}
