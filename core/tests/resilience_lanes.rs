//! Waiting for ready where the channel alone cannot tell the server is gone (issue 23): a unix
//! client's blocking lane that cannot reach the server while the multiplexed connection still
//! looks up sends the call back to the channel (its backoff, its reconnect) instead of spending
//! its transparent retries at once; on gRPC and HTTP, whose transports reconnect by themselves,
//! a call that waits for ready tries again after a pause until the server is back.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::resil::{kill, listen, req, schema, server, Counts, ADD, GET};
use common::unix_uri;
use hms_ffi_core::{
    connect_with, runtime::block_on, CallOptions, Code, ConnectOptions, Resilience, Value,
};

/// Server "two" listening on `uri` 300 ms from now, on a thread of its own.
fn restart_later(counts: &Arc<Counts>, uri: &str) -> std::thread::JoinHandle<hms_ffi_core::Server> {
    let (counts, uri) = (counts.clone(), uri.to_string());
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let second = server("two", counts);
        listen(&second, &uri);
        second
    })
}

#[test]
fn a_lane_that_cannot_connect_sends_a_waiting_call_back_to_the_channel() {
    let (_dir, uri) = unix_uri("lane");
    let path = uri.trim_start_matches("unix://").to_string();
    let counts = Arc::new(Counts::default());
    let first = server("one", counts.clone());
    listen(&first, &uri);
    let options = ConnectOptions {
        schema: Some(schema()),
        resilience: Resilience::from_json(
            r#"{"backoff": {"initial": "0.02s", "max": "0.1s", "minConnectTimeout": "1s"}}"#,
        )
        .unwrap(),
        ..ConnectOptions::default()
    };
    let client = block_on(connect_with(&uri, options)).unwrap().unwrap();
    // Only the multiplexed connection is open (the lane opens at the first blocking call).
    let reply = block_on(client.call(GET, &req("a", 0), &CallOptions::default()))
        .unwrap()
        .unwrap();
    assert_eq!(reply.get("server").and_then(Value::as_str), Some("one"));
    // The socket file goes while the server and its connection stay up: the lane's connect
    // fails, unsent, and the channel's own connects fail too until a new server listens.
    std::fs::remove_file(&path).unwrap();
    let waiting = CallOptions {
        timeout: Some(Duration::from_secs(10)),
        wait_for_ready: Some(true),
        ..CallOptions::default()
    };
    let later = restart_later(&counts, &uri);
    let start = Instant::now();
    let result = client.call_blocking(ADD, &req("b", 0), &waiting);
    let second = later.join().unwrap();
    let reply = result.unwrap_or_else(|e| panic!("after {:?}: {e}", start.elapsed()));
    assert_eq!(reply.get("server").and_then(Value::as_str), Some("two"));
    assert!(start.elapsed() >= Duration::from_millis(250));
    assert_eq!((counts.get("b"), counts.get("a")), (1, 1));
    // Without waiting for ready the same loss fails at once, typed and unsent.
    let (_dir2, other) = unix_uri("gone");
    let third = server("three", counts.clone());
    listen(&third, &other);
    let client = block_on(connect_with(
        &other,
        ConnectOptions {
            schema: Some(schema()),
            ..ConnectOptions::default()
        },
    ))
    .unwrap()
    .unwrap();
    std::fs::remove_file(other.trim_start_matches("unix://")).unwrap();
    let err = client
        .call_blocking(
            GET,
            &req("c", 0),
            &CallOptions::with_timeout(Duration::from_secs(5)),
        )
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert_eq!(counts.get("c"), 0);
    kill(&first);
    kill(&second);
    kill(&third);
}

#[test]
fn waiting_for_ready_waits_on_transports_that_reconnect_by_themselves() {
    for scheme in ["grpc", "http"] {
        let counts = Arc::new(Counts::default());
        let first = server("one", counts.clone());
        let uri = listen(&first, &format!("{scheme}://127.0.0.1:0"));
        let options = ConnectOptions {
            schema: Some(schema()),
            ..ConnectOptions::default()
        };
        let client = block_on(connect_with(&uri, options)).unwrap().unwrap();
        client
            .call_blocking(
                GET,
                &req("a", 0),
                &CallOptions::with_timeout(Duration::from_secs(5)),
            )
            .unwrap();
        kill(&first);
        // Not waiting: the call fails at once, never having reached a server.
        let err = client
            .call_blocking(
                ADD,
                &req("b", 0),
                &CallOptions::with_timeout(Duration::from_secs(5)),
            )
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{scheme}: {err}");
        let later = restart_later(&counts, &uri);
        let waiting = CallOptions {
            timeout: Some(Duration::from_secs(10)),
            wait_for_ready: Some(true),
            ..CallOptions::default()
        };
        let start = Instant::now();
        let blocking = client.call_blocking(ADD, &req("c", 0), &waiting);
        let second = later.join().unwrap();
        let reply =
            blocking.unwrap_or_else(|e| panic!("{scheme} after {:?}: {e}", start.elapsed()));
        assert_eq!(
            reply.get("server").and_then(Value::as_str),
            Some("two"),
            "{scheme}"
        );
        assert!(start.elapsed() >= Duration::from_millis(250), "{scheme}");
        let reply = block_on(client.call(ADD, &req("d", 0), &waiting))
            .unwrap()
            .unwrap();
        assert_eq!(
            reply.get("server").and_then(Value::as_str),
            Some("two"),
            "{scheme}"
        );
        assert_eq!((counts.get("b"), counts.get("c")), (0, 1), "{scheme}");
        // Waiting ends at the deadline, as DEADLINE_EXCEEDED. (A first call may meet a pooled
        // HTTP connection the server closed: it may have been sent, so it is not tried again.)
        kill(&second);
        let _ = client.call_blocking(
            GET,
            &req("x", 0),
            &CallOptions::with_timeout(Duration::from_secs(5)),
        );
        let short = CallOptions {
            timeout: Some(Duration::from_millis(300)),
            wait_for_ready: Some(true),
            ..CallOptions::default()
        };
        let err = client.call_blocking(GET, &req("e", 0), &short).unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{scheme}: {err}");
    }
}
