//! Client resilience (issue 23): reconnecting after a server restart, the connection's state,
//! wait for ready, retries by a service config's policy (idempotency from the schema,
//! `grpc-previous-rpc-attempts`, the retry budget), and the options' JSON.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::resil::{
    kill, listen, reason, req, schema, server, wait_until, Counts, ADD, GET, PEEK,
};
use common::unix_uri;
use hms_ffi_core::{
    connect_with, runtime::block_on, CallOptions, Client, Code, ConnState, ConnectOptions,
    Resilience, ServiceConfig, Value,
};

const RETRY: &str = r#"{"methodConfig": [{"name": [{"service": "res.v1.Counter"}],
  "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
  "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#;

fn fast_backoff() -> Resilience {
    Resilience::from_json(
        r#"{"backoff": {"initial": "0.02s", "max": "0.1s", "minConnectTimeout": "1s"}}"#,
    )
    .unwrap()
}

fn client(uri: &str, resilience: Resilience) -> Client {
    let options = ConnectOptions {
        schema: Some(schema()),
        resilience,
        ..ConnectOptions::default()
    };
    block_on(connect_with(uri, options)).unwrap().unwrap()
}

fn opts() -> CallOptions {
    CallOptions::with_timeout(Duration::from_secs(10))
}

fn previous(v: &Value) -> i64 {
    v.get("previous").and_then(Value::as_i64).unwrap_or(0)
}

#[test]
fn a_unix_client_reconnects_after_its_server_restarts() {
    let (_dir, uri) = unix_uri("restart");
    let counts = Arc::new(Counts::default());
    let first = server("one", counts.clone());
    listen(&first, &uri);
    let client = client(&uri, fast_backoff());
    assert_eq!(client.state(), ConnState::Ready);
    client.call_blocking(GET, &req("a", 0), &opts()).unwrap();
    block_on(client.call(GET, &req("b", 0), &opts()))
        .unwrap()
        .unwrap();
    kill(&first);
    assert!(wait_until(|| client.state() != ConnState::Ready));
    let err = client
        .call_blocking(ADD, &req("c", 0), &opts())
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert_eq!(client.state(), ConnState::TransientFailure);
    let second = server("two", counts.clone());
    listen(&second, &uri);
    // Both lanes come back: blocking calls and async ones.
    assert!(wait_until(|| client
        .call_blocking(GET, &req("d", 0), &opts())
        .is_ok()));
    let reply = block_on(client.call(GET, &req("e", 0), &opts()))
        .unwrap()
        .unwrap();
    assert_eq!(reply.get("server").and_then(Value::as_str), Some("two"));
    assert_eq!(client.state(), ConnState::Ready);
    client.close();
    assert_eq!(client.state(), ConnState::Shutdown);
    kill(&second);
}

#[test]
fn ws_and_grpc_clients_reconnect_after_their_server_restarts() {
    for scheme in ["ws", "grpc"] {
        let counts = Arc::new(Counts::default());
        let first = server("one", counts.clone());
        let uri = listen(&first, &format!("{scheme}://127.0.0.1:0"));
        let client = client(&uri, fast_backoff());
        client.call_blocking(GET, &req("a", 0), &opts()).unwrap();
        kill(&first);
        let err = client
            .call_blocking(ADD, &req("b", 0), &opts())
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{scheme}: {err}");
        let second = server("two", counts.clone());
        listen(&second, &uri);
        let back = || {
            client
                .call_blocking(GET, &req("c", 0), &opts())
                .is_ok_and(|v| v.get("server").and_then(Value::as_str) == Some("two"))
        };
        assert!(wait_until(back), "{scheme}: no reconnect");
        assert_eq!(client.state(), ConnState::Ready, "{scheme}");
        kill(&second);
    }
}

#[test]
fn wait_for_ready_waits_for_the_server_and_ends_at_the_deadline() {
    let (_dir, uri) = unix_uri("ready");
    let counts = Arc::new(Counts::default());
    let first = server("one", counts.clone());
    listen(&first, &uri);
    let client = client(&uri, fast_backoff());
    kill(&first);
    assert!(wait_until(|| client.state() != ConnState::Ready));
    // Without a server: fails at the deadline, not at once.
    let waiting = CallOptions {
        timeout: Some(Duration::from_millis(300)),
        wait_for_ready: Some(true),
        ..CallOptions::default()
    };
    let start = Instant::now();
    let err = client
        .call_blocking(GET, &req("x", 0), &waiting)
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // A server that comes back while the call waits answers it.
    let waiting = CallOptions {
        wait_for_ready: Some(true),
        ..opts()
    };
    let caller = {
        let client = client.clone();
        std::thread::spawn(move || client.call_blocking(ADD, &req("y", 0), &waiting))
    };
    std::thread::sleep(Duration::from_millis(200));
    let second = server("two", counts.clone());
    listen(&second, &uri);
    let reply = caller.join().unwrap().unwrap();
    assert_eq!(reply.get("server").and_then(Value::as_str), Some("two"));
    assert_eq!(counts.get("y"), 1);
    kill(&second);
}

/// A connection attempt cut short by the call's deadline fails the call by its deadline
/// (`DEADLINE_EXCEEDED`, not `UNAVAILABLE`), blocking or async; a caller's cancellation ends
/// a call waiting for ready at once, not at its deadline.
#[test]
fn a_deadline_or_a_cancel_ends_a_call_waiting_for_its_connection() {
    let (_dir, uri) = unix_uri("cut");
    let counts = Arc::new(Counts::default());
    let first = server("one", counts);
    listen(&first, &uri);
    let client = client(&uri, fast_backoff());
    kill(&first);
    assert!(wait_until(|| client.state() != ConnState::Ready));
    std::thread::sleep(Duration::from_millis(150));
    // A listener that never answers: the attempt waits for its handshake until cut.
    let path = uri.trim_start_matches("unix://");
    let _ = std::fs::remove_file(path);
    let silent = std::os::unix::net::UnixListener::bind(path).unwrap();
    let short = CallOptions::with_timeout(Duration::from_millis(300));
    let start = Instant::now();
    let err = client.call_blocking(GET, &req("x", 0), &short).unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    std::thread::sleep(Duration::from_millis(150));
    let err = block_on(client.call(GET, &req("x", 0), &short))
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    drop(silent);
    let _ = std::fs::remove_file(path);
    // No server at all, waiting for ready with a long deadline: the caller's cancel ends it.
    let cancel = tokio_util::sync::CancellationToken::new();
    let waiting = CallOptions {
        timeout: Some(Duration::from_secs(20)),
        wait_for_ready: Some(true),
        cancel: Some(cancel.clone()),
        ..CallOptions::default()
    };
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        cancel.cancel();
    });
    let start = Instant::now();
    let err = client
        .call_blocking(GET, &req("x", 0), &waiting)
        .unwrap_err();
    canceller.join().unwrap();
    assert_eq!(err.code(), Code::Cancelled, "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn an_idempotent_method_is_retried_by_the_policy_with_previous_attempts() {
    let (_dir, uri) = unix_uri("retry");
    let counts = Arc::new(Counts::default());
    let s = server("one", counts.clone());
    listen(&s, &uri);
    let client = client(
        &uri,
        Resilience::default().with_service_config(RETRY).unwrap(),
    );
    // Fails twice, then answers: the third attempt says two came before it.
    let reply = client.call_blocking(GET, &req("g", 2), &opts()).unwrap();
    assert_eq!((counts.get("g"), previous(&reply)), (3, 2));
    let reply = block_on(client.call(PEEK, &req("p", 1), &opts()))
        .unwrap()
        .unwrap();
    assert_eq!((counts.get("p"), previous(&reply)), (2, 1));
    // More failures than attempts: the last error, after exactly maxAttempts runs.
    let err = client
        .call_blocking(GET, &req("h", 9), &opts())
        .unwrap_err();
    assert_eq!((err.code(), counts.get("h")), (Code::Unavailable, 3));
    // A method the schema does not mark safe runs once.
    let err = client
        .call_blocking(ADD, &req("a", 1), &opts())
        .unwrap_err();
    assert_eq!((err.code(), counts.get("a")), (Code::Unavailable, 1));
    kill(&s);
}

#[test]
fn retry_non_idempotent_lets_a_policy_retry_any_method() {
    let (_dir, uri) = unix_uri("anyretry");
    let counts = Arc::new(Counts::default());
    let s = server("one", counts.clone());
    listen(&s, &uri);
    let config = RETRY.replace(
        "\"retryPolicy\"",
        "\"retryNonIdempotent\": true, \"retryPolicy\"",
    );
    let client = client(
        &uri,
        Resilience::default().with_service_config(&config).unwrap(),
    );
    let reply = client.call_blocking(ADD, &req("a", 1), &opts()).unwrap();
    assert_eq!((counts.get("a"), previous(&reply)), (2, 1));
    kill(&s);
}

#[test]
fn the_retry_budget_stops_retries_once_spent() {
    let (_dir, uri) = unix_uri("budget");
    let counts = Arc::new(Counts::default());
    let s = server("one", counts.clone());
    listen(&s, &uri);
    // Four tokens: retries stop while two or fewer are left; each failure takes one.
    let config = RETRY.replace(
        "\"methodConfig\"",
        "\"retryThrottling\": {\"maxTokens\": 4, \"tokenRatio\": 0.1}, \"methodConfig\"",
    );
    let client = client(
        &uri,
        Resilience::default().with_service_config(&config).unwrap(),
    );
    for i in 0..4 {
        let id = format!("t{i}");
        let _ = client.call_blocking(GET, &req(&id, 9), &opts());
    }
    // The first call's two failures leave two tokens, no more than half: it stops there, and
    // every later call (each failure takes another token) runs once.
    assert_eq!(counts.get("t0"), 2);
    assert_eq!(
        (counts.get("t1"), counts.get("t2"), counts.get("t3")),
        (1, 1, 1)
    );
    kill(&s);
}

#[test]
fn service_configs_and_options_are_checked() {
    let config = ServiceConfig::from_json(RETRY).unwrap();
    let policy = config.policy(GET).expect("the service's policy");
    let retry = policy.retry.as_ref().unwrap();
    assert_eq!(
        (retry.max_attempts, retry.retryable.clone()),
        (3, vec![Code::Unavailable])
    );
    assert!(config.policy("other.v1.S/M").is_none());
    let capped = RETRY.replace("\"maxAttempts\": 3", "\"maxAttempts\": 9");
    let capped = ServiceConfig::from_json(&capped).unwrap();
    assert_eq!(
        capped
            .policy(GET)
            .unwrap()
            .retry
            .as_ref()
            .unwrap()
            .max_attempts,
        5
    );
    for bad in [
        r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 1, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
        r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "soon", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
        r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["NOPE"]}}]}"#,
        r#"{"methodConfig": [], "retryThrotling": {}}"#,
        r#"[1, 2"#,
    ] {
        let err = ServiceConfig::from_json(bad).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{bad}: {err}");
    }
    let r = Resilience::from_json("{}").unwrap();
    assert_eq!(r.backoff, hms_ffi_core::Backoff::default());
    assert!(r.keepalive.is_none() && r.service_config.is_none() && !r.wait_for_ready);
    let r = Resilience::from_json(r#"{"keepalive": {"interval": "1s"}, "waitForReady": true}"#)
        .unwrap();
    assert_eq!(r.keepalive.unwrap().interval, Duration::from_secs(1));
    assert!(r.wait_for_ready);
    let err = Resilience::from_json(r#"{"keepAlive": {}}"#).unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::InvalidArgument, Some("BAD_RESILIENCE_OPTIONS"))
    );
}

#[test]
fn idempotency_comes_from_the_schema() {
    let schema = schema();
    let safe = |m: &str| hms_ffi_core::client::is_idempotent(schema.method(m).unwrap());
    assert!(safe(GET) && safe(PEEK));
    assert!(!safe(ADD));
}

#[test]
fn a_hedged_call_takes_the_first_answer_and_cancels_the_rest() {
    let (_dir, uri) = unix_uri("hedge");
    let counts = Arc::new(Counts::default());
    let s = server("one", counts.clone());
    listen(&s, &uri);
    let config = r#"{"methodConfig": [{"name": [{"service": "res.v1.Counter"}],
      "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.05s",
                        "nonFatalStatusCodes": ["UNAVAILABLE"]}}]}"#;
    let client = client(
        &uri,
        Resilience::default().with_service_config(config).unwrap(),
    );
    // The first run takes 30 s (longer than `wait_until` below waits, so only its cancellation
    // ends it in time); the hedge sent 50 ms later answers at once.
    let slow_first = Value::message([("id", Value::from("h")), ("millis", Value::from(30_000i64))]);
    let start = Instant::now();
    let reply = client.call_blocking(GET, &slow_first, &opts()).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!((counts.get("h"), previous(&reply)), (2, 1));
    // The slow first attempt was cancelled: the server has nothing left in flight.
    assert!(wait_until(|| s.inflight() == 0));
    // A method the schema does not mark safe is not hedged.
    let slow_add = Value::message([("id", Value::from("a")), ("millis", Value::from(300i64))]);
    client.call_blocking(ADD, &slow_add, &opts()).unwrap();
    assert_eq!(counts.get("a"), 1);
    kill(&s);
}

/// A blocker that counts its waits and how long they took: a binding's lock (Ruby's GVL) is
/// given up only inside `block`.
#[derive(Default)]
struct Counted {
    waits: std::sync::atomic::AtomicUsize,
    waited: std::sync::Mutex<Duration>,
}

impl hms_ffi_core::Blocker for Counted {
    fn block(&self, wait: &mut dyn FnMut()) {
        let start = Instant::now();
        wait();
        self.waits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *self.waited.lock().unwrap() += start.elapsed();
    }

    /// No polling for a reply: every attempt's wait for its reply is a wait in `block`.
    fn spin(&self) -> Duration {
        Duration::ZERO
    }
}

/// Waiting for a connection and a retry's backoff are waits of the call like any other: they go
/// through the caller's blocker (they held Ruby's GVL before, so a thread waiting for a server
/// kept the thread that would start it from running).
#[test]
fn waiting_for_ready_and_retry_backoffs_go_through_the_callers_blocker() {
    let (_dir, uri) = unix_uri("blocker");
    let counts = Arc::new(Counts::default());
    let first = server("one", counts.clone());
    listen(&first, &uri);
    let waiter = client(&uri, fast_backoff());
    kill(&first);
    assert!(wait_until(|| waiter.state() != ConnState::Ready));
    let waiting = CallOptions {
        timeout: Some(Duration::from_millis(300)),
        wait_for_ready: Some(true),
        ..CallOptions::default()
    };
    let blocker = Counted::default();
    let err = waiter
        .call_with_metadata_blocking_in(GET, &req("w", 0), &waiting, &blocker)
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    let waited = *blocker.waited.lock().unwrap();
    assert!(
        waited >= Duration::from_millis(250),
        "waited {waited:?} in the blocker"
    );

    let second = server("two", counts.clone());
    listen(&second, &uri);
    let retrying = client(
        &uri,
        Resilience::default().with_service_config(RETRY).unwrap(),
    );
    let blocker = Counted::default();
    let reply = retrying
        .call_with_metadata_blocking_in(GET, &req("r", 2), &opts(), &blocker)
        .unwrap();
    assert_eq!(previous(&reply.message), 2);
    // Three attempts and two backoffs, each a wait of its own.
    let waits = blocker.waits.load(std::sync::atomic::Ordering::SeqCst);
    assert!(waits >= 5, "{waits} waits in the blocker");
    kill(&second);
}
