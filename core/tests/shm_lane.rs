//! The blocking lane of an `shm://` client: a blocking caller makes its call over a second shm
//! connection of its own, writing the request into the ring and reading the reply itself. Its
//! semantics are the async path's: many concurrent callers (one reads, the others wait),
//! messages larger than a ring, deadlines and cancellation (the lane stays usable after), a
//! closed client, and the server's shutdown (a killed server: `shm.rs`).
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::resil::{kill, listen, req, schema, server, Counts, GET, SLOW};
use hms_ffi_core::{
    connect_with, runtime::block_on, CallOptions, Client, Code, ConnectOptions, Value,
};

fn connect(uri: &str) -> Client {
    let options = ConnectOptions {
        schema: Some(schema()),
        ..ConnectOptions::default()
    };
    block_on(connect_with(uri, options)).unwrap().unwrap()
}

fn shm_uri(dir: &tempfile::TempDir) -> String {
    format!("shm://{}", dir.path().join("lane.sock").display())
}

fn opts(secs: u64) -> CallOptions {
    CallOptions::with_timeout(Duration::from_secs(secs))
}

fn id_of(v: &Value) -> String {
    v.get("id").and_then(Value::as_str).unwrap().to_string()
}

#[test]
fn concurrent_blocking_callers_and_messages_larger_than_a_ring() {
    let dir = tempfile::tempdir().unwrap();
    let counts = Arc::new(Counts::default());
    let s = server("one", counts.clone());
    let uri = listen(&s, &shm_uri(&dir));
    let client = connect(&uri);
    // 3 MiB each way: three times a ring, written and read in pieces.
    let big = "x".repeat(3 << 20);
    let reply = client.call_blocking(GET, &req(&big, 0), &opts(30)).unwrap();
    assert_eq!(id_of(&reply).len(), big.len());
    let callers: Vec<_> = (0..8)
        .map(|t| {
            let client = client.clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    let id = if i % 10 == 9 {
                        format!("{t}-{i}-{}", "y".repeat(200_000))
                    } else {
                        format!("{t}-{i}")
                    };
                    let reply = client.call_blocking(GET, &req(&id, 0), &opts(30)).unwrap();
                    assert_eq!(id_of(&reply), id);
                }
            })
        })
        .collect();
    for c in callers {
        c.join().unwrap();
    }
    assert_eq!(counts.get("3-5"), 1);
    kill(&s);
}

#[test]
fn deadlines_cancellation_close_and_shutdown_end_blocking_calls() {
    let dir = tempfile::tempdir().unwrap();
    let counts = Arc::new(Counts::default());
    let s = server("one", counts.clone());
    let uri = listen(&s, &shm_uri(&dir));
    let client = connect(&uri);
    let slow = Value::message([("millis", Value::from(20_000i64))]);
    let short = CallOptions::with_timeout(Duration::from_millis(200));
    let start = Instant::now();
    let err = client.call_blocking(SLOW, &slow, &short).unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));
    // The caller's cancel token ends a waiting call at once.
    let cancel = tokio_util::sync::CancellationToken::new();
    let cancelling = CallOptions {
        cancel: Some(cancel.clone()),
        ..opts(30)
    };
    let later = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        cancel.cancel();
    });
    let err = client.call_blocking(SLOW, &slow, &cancelling).unwrap_err();
    later.join().unwrap();
    assert_eq!(err.code(), Code::Cancelled, "{err}");
    // The lane still serves.
    let reply = client
        .call_blocking(GET, &req("after", 0), &opts(10))
        .unwrap();
    assert_eq!(id_of(&reply), "after");
    // Closing the client ends a blocking call in flight as CANCELLED (CLIENT_CLOSED).
    let waiting = {
        let (client, slow) = (client.clone(), slow.clone());
        std::thread::spawn(move || client.call_blocking(SLOW, &slow, &opts(30)))
    };
    std::thread::sleep(Duration::from_millis(200));
    client.close();
    let err = waiting.join().unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Cancelled, "{err}");
    // A server that stops cancels the handler of a blocking call in flight, whose answer (this
    // one says CANCELLED) ends the call, as on unix. (A killed server: `shm.rs`.)
    let client = connect(&uri);
    let waiting = {
        let client = client.clone();
        std::thread::spawn(move || client.call_blocking(SLOW, &slow, &opts(30)))
    };
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    s.shutdown_blocking(Duration::ZERO).unwrap();
    let err = waiting.join().unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Cancelled, "{err}");
    assert_eq!(err.message(), "slow: cancelled");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}
