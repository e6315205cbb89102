//! Deadline and cancellation propagation (issue 23): a call made inside a handler inherits the
//! incoming call's remaining deadline and is cancelled with it, from async and blocking
//! handlers alike; `detach` opts out.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::resil::{kill, listen, req, schema, server, wait_until, Counts, GET, SLOW};
use common::unix_uri;
use hms_ffi_core::{
    connect_with, runtime::block_on, CallOptions, CancellationToken, Client, Code, ConnectOptions,
    Server, Value,
};

fn client(uri: &str) -> Client {
    let options = ConnectOptions {
        schema: Some(schema()),
        ..ConnectOptions::default()
    };
    block_on(connect_with(uri, options)).unwrap().unwrap()
}

/// Longer than every wait of these tests, so a handler only ends early if it was cancelled.
fn slow() -> Value {
    Value::message([("millis", Value::from(30_000i64))])
}

/// A back server (Slow: sleeps 5 s unless cancelled, says how much time it was given) and a
/// front whose Get relays to it, with `relay` choosing the relay's options and handler kind.
struct Chain {
    back: Server,
    front: Server,
    counts: Arc<Counts>,
    front_uri: String,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

fn chain(detach: bool, blocking: bool) -> Chain {
    let counts = Arc::new(Counts::default());
    let (back_dir, back_uri) = unix_uri("back");
    let back = server("back", counts.clone());
    listen(&back, &back_uri);
    let to_back = client(&back_uri);
    let front = Server::new(schema());
    let opts = CallOptions {
        detach,
        timeout: detach.then_some(Duration::from_secs(2)),
        ..CallOptions::default()
    };
    // The relay's own outcome, by code.
    let seen = counts.clone();
    let note = move |r: hms_ffi_core::Result<Value>| {
        let code = r.as_ref().map_or_else(|e| e.code(), |_| Code::Ok);
        seen.bump(&format!("relay:{}", code.name()));
        r
    };
    if blocking {
        front
            .unary_blocking(GET, move |_, _| {
                note(to_back.call_blocking(SLOW, &slow(), &opts))
            })
            .unwrap();
    } else {
        let note = Arc::new(note);
        front
            .unary(GET, move |_, _| {
                let (to_back, opts, note) = (to_back.clone(), opts.clone(), note.clone());
                async move { note(to_back.call(SLOW, &slow(), &opts).await) }
            })
            .unwrap();
    }
    let (front_dir, front_uri) = unix_uri("front");
    listen(&front, &front_uri);
    Chain {
        back,
        front,
        counts,
        front_uri,
        _dirs: (back_dir, front_dir),
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        kill(&self.front);
        kill(&self.back);
    }
}

fn deadline_reaches_the_last_handler(blocking: bool) {
    let chain = chain(false, blocking);
    let front = client(&chain.front_uri);
    let start = Instant::now();
    let opts = CallOptions::with_timeout(Duration::from_millis(300));
    let err = front.call_blocking(GET, &req("x", 0), &opts).unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );
    // The back handler was given what was left of the 300 ms, and ended with it; the relay's
    // own call ended by that deadline too, not as cancelled (its inherited token fires with
    // the front call's deadline). A blocking relay always sees its call end; an async one may
    // be dropped by the server at the deadline first.
    assert_eq!(chain.counts.get("slow:started"), 1);
    if blocking {
        assert!(wait_until(
            || chain.counts.get("relay:DEADLINE_EXCEEDED") == 1
        ));
    }
    assert_eq!(chain.counts.get("relay:CANCELLED"), 0);
    let given = chain.counts.get("slow:left");
    assert!(
        (1..=301).contains(&given),
        "the back handler was given {given} ms"
    );
    assert!(wait_until(|| chain.back.inflight() == 0));
}

#[test]
fn an_async_handlers_call_inherits_its_deadline() {
    deadline_reaches_the_last_handler(false);
}

#[test]
fn a_blocking_handlers_call_inherits_its_deadline() {
    deadline_reaches_the_last_handler(true);
}

#[test]
fn cancelling_the_first_call_cancels_the_last_handler() {
    let chain = chain(false, false);
    let front = client(&chain.front_uri);
    let cancel = CancellationToken::new();
    let opts = CallOptions {
        cancel: Some(cancel.clone()),
        ..CallOptions::with_timeout(Duration::from_secs(20))
    };
    let call = std::thread::spawn(move || front.call_blocking(GET, &req("x", 0), &opts));
    assert!(wait_until(|| chain.counts.get("slow:started") == 1));
    let start = Instant::now();
    cancel.cancel();
    let err = call.join().unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Cancelled, "{err}");
    assert!(wait_until(|| chain.counts.get("slow:cancelled") == 1));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_detached_call_keeps_its_own_deadline() {
    // A blocking handler's thread goes on after its caller gave up; its detached call has the
    // 2 s of its own options, not what was left of the caller's 300 ms.
    let chain = chain(true, true);
    let front = client(&chain.front_uri);
    let opts = CallOptions::with_timeout(Duration::from_millis(300));
    let err = front.call_blocking(GET, &req("x", 0), &opts).unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert!(wait_until(|| chain.counts.get("slow:started") == 1));
    let given = chain.counts.get("slow:left");
    assert!(
        (1000..=2001).contains(&given),
        "the back handler was given {given} ms"
    );
    assert_eq!(chain.back.inflight(), 1);
}
