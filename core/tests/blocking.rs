//! Blocking calls on `unix://`, which run on the caller's own thread (the blocking lane): many
//! threads sharing one client each get their own reply, and deadlines, cancellation, `close`, a
//! server that drains or dies, and a sleeping handler behave as on the async path.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{conformance_schema, msg, unix_uri};
use hms_ffi_core::{
    connect_blocking, connect_with, transport::frame, CallOptions, CancellationToken, Code,
    ConnectOptions, Context, Error, Server, Value,
};

const ECHO: &str = "hms.conformance.v1.Conformance/Echo";
const SLEEP: &str = "hms.conformance.v1.Conformance/Sleep";

/// A server whose Echo answers at once and whose Sleep sleeps `millis`, setting `ended` when
/// its handler stops early (cancelled through its context, or dropped by the server's own
/// deadline).
fn server(ended: Arc<AtomicBool>) -> Server {
    let server = Server::new(conformance_schema());
    server
        .unary(ECHO, |req: Value, ctx: Context| async move {
            ctx.set_header("x-lane", "echo").unwrap();
            Ok(req)
        })
        .unwrap();
    server
        .unary(SLEEP, move |req: Value, ctx: Context| {
            let guard = EndedEarly(ended.clone(), true);
            async move {
                let mut guard = guard;
                let ms = req.get("millis").and_then(Value::as_i64).unwrap_or(0);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(ms as u64)) => guard.1 = false,
                    _ = ctx.cancelled() => {}
                }
                Ok(msg(&[]))
            }
        })
        .unwrap();
    server
}

/// Sets its flag when dropped while still armed.
struct EndedEarly(Arc<AtomicBool>, bool);

impl Drop for EndedEarly {
    fn drop(&mut self) {
        if self.1 {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

fn reason(e: &Error) -> Option<&str> {
    e.details().error_info.as_ref().map(|i| i.reason.as_str())
}

fn text(s: &str) -> Value {
    msg(&[("unicode_text", Value::from(s))])
}

fn sleep(ms: i64) -> Value {
    msg(&[("millis", Value::from(ms))])
}

fn wait_for(flag: &AtomicBool) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while !flag.load(Ordering::SeqCst) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    flag.load(Ordering::SeqCst)
}

#[test]
fn threads_sharing_a_client_each_get_their_own_reply() {
    let (_dir, uri) = unix_uri("lane-threads");
    let server = server(Arc::default());
    let uri = server.listen(&uri).unwrap();
    let client = connect_blocking(&uri).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let client = client.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let want = format!("{t}/{i}");
                    let reply = client
                        .call_with_metadata_blocking(ECHO, &text(&want), &bounded())
                        .unwrap();
                    let got = reply.message.get("unicode_text").and_then(Value::as_str);
                    assert_eq!(got, Some(want.as_str()));
                    assert_eq!(reply.headers.get("x-lane"), Some("echo"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_slow_call_does_not_hold_up_a_fast_one_on_another_thread() {
    let (_dir, uri) = unix_uri("lane-slow");
    let server = server(Arc::default());
    let uri = server.listen(&uri).unwrap();
    let client = connect_blocking(&uri).unwrap();
    let slow_client = client.clone();
    // The slow call reads the connection first; the fast one's reply must still reach it.
    let slow =
        std::thread::spawn(move || slow_client.call_blocking(SLEEP, &sleep(1500), &bounded()));
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    let reply = client
        .call_blocking(ECHO, &text("fast"), &bounded())
        .unwrap();
    assert_eq!(
        reply.get("unicode_text").and_then(Value::as_str),
        Some("fast")
    );
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );
    slow.join().unwrap().unwrap();
}

#[test]
fn a_deadline_ends_the_call_and_cancels_the_handler() {
    let (_dir, uri) = unix_uri("lane-deadline");
    let cancelled = Arc::new(AtomicBool::new(false));
    let server = server(cancelled.clone());
    let uri = server.listen(&uri).unwrap();
    let client = connect_blocking(&uri).unwrap();
    let start = Instant::now();
    let err = client
        .call_blocking(
            SLEEP,
            &sleep(5000),
            &CallOptions::with_timeout(Duration::from_millis(150)),
        )
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(
        wait_for(&cancelled),
        "the handler did not stop at the deadline"
    );
    // The connection is still good.
    let reply = client
        .call_blocking(ECHO, &text("after"), &bounded())
        .unwrap();
    assert_eq!(
        reply.get("unicode_text").and_then(Value::as_str),
        Some("after")
    );
}

#[test]
fn cancelling_from_another_thread_ends_the_call_at_once() {
    let (_dir, uri) = unix_uri("lane-cancel");
    let cancelled = Arc::new(AtomicBool::new(false));
    let server = server(cancelled.clone());
    let uri = server.listen(&uri).unwrap();
    let client = connect_blocking(&uri).unwrap();
    // Two callers, so that both the reading caller and a parked one are cancelled.
    let mut calls = Vec::new();
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let token = CancellationToken::new();
        let opts = CallOptions {
            cancel: Some(token.clone()),
            ..bounded()
        };
        let client = client.clone();
        tokens.push(token);
        calls.push(std::thread::spawn(move || {
            let start = Instant::now();
            (
                client.call_blocking(SLEEP, &sleep(10_000), &opts),
                start.elapsed(),
            )
        }));
    }
    std::thread::sleep(Duration::from_millis(200));
    for t in &tokens {
        t.cancel();
    }
    for c in calls {
        let (r, took) = c.join().unwrap();
        let err = r.unwrap_err();
        assert_eq!(err.code(), Code::Cancelled, "{err}");
        assert_eq!(err.message(), "call cancelled by the caller");
        assert!(took < Duration::from_secs(3), "{took:?}");
    }
    assert!(
        wait_for(&cancelled),
        "the handler did not stop when cancelled"
    );
}

#[test]
fn close_ends_blocking_calls_in_flight_and_later_ones() {
    let (_dir, uri) = unix_uri("lane-close");
    let server = server(Arc::default());
    let uri = server.listen(&uri).unwrap();
    let client = connect_blocking(&uri).unwrap();
    let caller = client.clone();
    let call = std::thread::spawn(move || caller.call_blocking(SLEEP, &sleep(10_000), &bounded()));
    std::thread::sleep(Duration::from_millis(200));
    client.close();
    let err = call.join().unwrap().unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::Cancelled, Some("CLIENT_CLOSED"))
    );
    let err = client
        .call_blocking(ECHO, &text("x"), &bounded())
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::Cancelled, Some("CLIENT_CLOSED"))
    );
}

/// Options that bound a call, so that no test can wait for good on a lost reply (every call
/// here ends well before).
fn bounded() -> CallOptions {
    CallOptions::with_timeout(Duration::from_secs(30))
}

/// Accepts a connection within 10 s.
fn accept(listener: &UnixListener) -> UnixStream {
    listener.set_nonblocking(true).unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("no connection within 10 s: {e}"),
        }
    }
}

/// Reads one frame from a blocking stream (each has a read timeout).
fn read_frame(s: &mut UnixStream) -> (frame::Header, Vec<u8>) {
    common::raw::read_frame(s).expect("a frame before the read timeout")
}

#[test]
fn a_server_that_dies_mid_call_fails_it_with_connection_lost() {
    let (dir, _) = unix_uri("lane-lost");
    let path = dir.path().join("dies.sock");
    let listener = UnixListener::bind(&path).unwrap();
    // A server that answers both handshakes (the client's connection, then its blocking
    // lane's), reads the lane's CALL and dies without answering.
    let fake = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for _ in 0..2 {
            let mut s = accept(&listener);
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let (h, _) = read_frame(&mut s);
            assert_eq!(h.kind, frame::Kind::Hello);
            let hello = frame::Hello::ours(4 << 20);
            s.write_all(&frame::encode_message_frame(
                frame::Kind::Hello,
                0,
                0,
                &hello,
            ))
            .unwrap();
            conns.push(s);
        }
        let (h, _) = read_frame(&mut conns[1]);
        assert_eq!(h.kind, frame::Kind::Call);
    });
    let options = ConnectOptions {
        schema: Some(conformance_schema()),
        ..ConnectOptions::default()
    };
    let uri = format!("unix://{}", path.display());
    let client = hms_ffi_core::runtime::block_on(connect_with(&uri, options))
        .unwrap()
        .unwrap();
    let err = client
        .call_blocking(
            ECHO,
            &text("x"),
            &CallOptions::with_timeout(Duration::from_secs(10)),
        )
        .unwrap_err();
    fake.join().unwrap();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::Unavailable, Some("CONNECTION_LOST")),
        "{err}"
    );
    // The next call reconnects (issue 23); the server is gone, so that fails at once.
    let err = client
        .call_blocking(ECHO, &text("x"), &bounded())
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::Unavailable, Some("CONNECT_FAILED")),
        "{err}"
    );
    // Not connected: in backoff after the failed attempt, or idle when that call went by the
    // lane before the client's own connection had seen the server go (either: not Ready).
    let state = client.state();
    assert!(
        matches!(
            state,
            hms_ffi_core::ConnState::TransientFailure | hms_ffi_core::ConnState::Idle
        ),
        "{state:?}"
    );
}

#[test]
fn a_failed_connect_keeps_the_io_error_as_its_source() {
    use std::error::Error as _;
    let (dir, _) = unix_uri("lane-nobody");
    let uri = format!("unix://{}", dir.path().join("nobody.sock").display());
    let err = connect_blocking(&uri).unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::Unavailable, Some("CONNECT_FAILED"))
    );
    let io = err
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>());
    assert_eq!(
        io.map(std::io::Error::kind),
        Some(std::io::ErrorKind::NotFound)
    );
}
