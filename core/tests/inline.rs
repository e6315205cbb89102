//! Handlers that run on the thread that read their call (`Server::unary_inline`, the way Python
//! and Go handlers run) may block for as long as they like: other connections, and later calls on
//! their own connection, are still served, and a caller that vanishes or cancels still cancels its
//! handler, even while every such handler blocks.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::raw::{hello, raw, read_frame};
use common::{conformance_schema, msg, unix_uri};
use hms_ffi_core::transport::frame::{self, Kind};
use hms_ffi_core::{connect_blocking, CallOptions, Codec, Context, Server, Value};

const ECHO: &str = "hms.conformance.v1.Conformance/Echo";

fn text(s: &str) -> Value {
    msg(&[("unicode_text", Value::from(s))])
}

/// A raw connection that has made a `slow` call and will never read its answer.
fn start_slow_call(path: &std::path::Path) -> UnixStream {
    let mut s = raw(path);
    hello(&mut s);
    s.write_all(&call_frame(1, "slow")).unwrap();
    s
}

/// A unary CALL of Echo with `text`, on stream `id`.
fn call_frame(id: u32, text_: &str) -> Vec<u8> {
    let schema = conformance_schema();
    let input = schema.method(ECHO).unwrap().input();
    let payload = Codec::Proto.encode(Some(&input), &text(text_), 64).unwrap();
    common::raw::call_frame(ECHO, id, payload)
}

/// The next frame's header from `s` (within the connection's 5 s read timeout).
fn next_header(s: &mut UnixStream) -> frame::Header {
    read_frame(s).expect("a frame within 5 s").0
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A server whose Echo handler blocks on "slow" until its call is cancelled (20 s at most),
/// counting the slow calls that run and those that saw their cancellation.
fn slow_server(uri: &str) -> (Server, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (running, cancelled) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let server = Server::new(conformance_schema());
    let (r, c) = (running.clone(), cancelled.clone());
    server
        .unary_inline(ECHO, move |req: Value, ctx: Context| {
            if req.get("unicode_text").and_then(Value::as_str) != Some("slow") {
                return Ok(req);
            }
            // Blocks its thread (no await) until the caller is gone, for 20 s at most.
            r.fetch_add(1, Ordering::SeqCst);
            let start = Instant::now();
            while !ctx.is_cancelled() && start.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(5));
            }
            if ctx.is_cancelled() {
                c.fetch_add(1, Ordering::SeqCst);
            }
            Ok(req)
        })
        .unwrap();
    server.listen(uri).unwrap();
    (server, running, cancelled)
}

#[test]
fn a_blocked_handler_does_not_hold_up_its_own_connection() {
    let (dir, uri) = unix_uri("inline-one");
    let (_server, running, cancelled) = slow_server(&uri);
    let mut s = start_slow_call(&dir.path().join("inline-one.sock"));
    wait_until("the slow handler runs", || {
        running.load(Ordering::SeqCst) == 1
    });
    // The next call on the same connection is read and answered by another thread meanwhile.
    s.write_all(&call_frame(3, "quick")).unwrap();
    let h = next_header(&mut s);
    assert_eq!((h.kind, h.stream), (Kind::Status, 3));
    // And a CANCEL for the blocked call reaches its handler.
    s.write_all(&frame::encode_frame(Kind::Cancel, 0, 1, &[]))
        .unwrap();
    wait_until("the slow handler saw its cancellation", || {
        cancelled.load(Ordering::SeqCst) == 1
    });
    let h = next_header(&mut s);
    assert_eq!((h.kind, h.stream), (Kind::Status, 1));
}

#[test]
fn blocking_inline_handlers_leave_the_server_responsive_and_see_callers_vanish() {
    let (dir, uri) = unix_uri("inline");
    let path = dir.path().join("inline.sock");
    let (_server, running, cancelled) = slow_server(&uri);
    let client = connect_blocking(&uri).unwrap();
    let opts = CallOptions::with_timeout(Duration::from_secs(5));
    // Quick calls first (a handler that was quick is the one tempting to run bare on a worker,
    // which would leave no thread polling the sockets: see docs/architecture.md).
    for _ in 0..20 {
        client.call_blocking(ECHO, &text("quick"), &opts).unwrap();
    }
    // As many blocking handlers as the runtime has workers, and one more.
    let workers = hms_ffi_core::runtime::runtime().metrics().num_workers();
    let slow: Vec<UnixStream> = (0..=workers).map(|_| start_slow_call(&path)).collect();
    wait_until("every slow handler runs", || {
        running.load(Ordering::SeqCst) == slow.len()
    });
    // Other callers, old and new, are answered meanwhile.
    let start = Instant::now();
    for i in 0..10 {
        let fresh = connect_blocking(&uri).unwrap();
        let reply = fresh
            .call_blocking(ECHO, &text(&format!("fresh {i}")), &opts)
            .unwrap();
        assert_eq!(
            reply.get("unicode_text").and_then(Value::as_str),
            Some(format!("fresh {i}").as_str())
        );
        client.call_blocking(ECHO, &text("old"), &opts).unwrap();
    }
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // The slow callers vanish: every handler sees its call cancelled.
    drop(slow);
    wait_until("every slow handler saw its caller vanish", || {
        cancelled.load(Ordering::SeqCst) == workers + 1
    });
}

#[test]
fn an_inline_handler_that_answers_after_the_deadline_is_deadline_exceeded_in_process() {
    // Over inproc the handler runs on the caller's own thread, so no timer can end the call
    // while it runs; the slow handler answers once it sees its deadline pass. That answer is
    // late: the caller gets DEADLINE_EXCEEDED, as over every other transport.
    let (_server, running, cancelled) = slow_server("inproc://inline-late");
    let client = connect_blocking("inproc://inline-late").unwrap();
    let opts = CallOptions::with_timeout(Duration::from_millis(200));
    let start = Instant::now();
    let err = client
        .call_blocking(ECHO, &text("slow"), &opts)
        .unwrap_err();
    assert_eq!(err.code(), hms_ffi_core::Code::DeadlineExceeded, "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(running.load(Ordering::SeqCst), 1, "the handler ran inline");
    assert_eq!(cancelled.load(Ordering::SeqCst), 1, "it saw its deadline");
    // An answer in time is the reply.
    let reply = client.call_blocking(ECHO, &text("quick"), &opts).unwrap();
    assert_eq!(
        reply.get("unicode_text").and_then(Value::as_str),
        Some("quick")
    );
}
