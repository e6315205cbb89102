//! Queued methods (`Server::unary_queued` + `CallQueue`): the way Ruby and PHP serve, with every
//! handler run on the one thread that calls `serve`.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{conformance_schema, endpoints, msg};
use hms_ffi_core::{connect_blocking, CallOptions, CallQueue, Code, Next, Server, Value};

const ECHO: &str = "hms.conformance.v1.Conformance/Echo";
const BIDI: &str = "hms.conformance.v1.Conformance/Bidi";

fn text(s: &str) -> Value {
    msg(&[("unicode_text", Value::from(s))])
}

/// Serves `queue` on a new thread the way a binding does: every handler on that one thread.
/// Returns the thread (it ends when the queue closes) and how many calls it ran.
fn serve(queue: CallQueue) -> (thread::JoinHandle<thread::ThreadId>, Arc<AtomicUsize>) {
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    let handle = thread::spawn(move || loop {
        match queue.next(Duration::from_millis(20)) {
            Next::Idle => continue,
            Next::Closed => return thread::current().id(),
            Next::Call(mut call) => {
                counter.fetch_add(1, Ordering::SeqCst);
                let req = call.take_request();
                match req.get("unicode_text").and_then(Value::as_str) {
                    Some("drop") => drop(call),
                    Some("bad-reply") => call.reply(Ok(msg(&[("int32_v", Value::from("x"))]))),
                    Some("fail") => call.reply(Err(hms_ffi_core::Error::new(
                        Code::NotFound,
                        "no such thing",
                    ))),
                    _ => {
                        assert_eq!(call.method(), ECHO);
                        call.reply(Ok(req))
                    }
                }
            }
        }
    });
    (handle, ran)
}

#[test]
fn queued_calls_run_on_the_serving_thread_from_many_callers() {
    for (uri, _dir) in endpoints("queue") {
        let server = Server::new(conformance_schema());
        let queue = CallQueue::new();
        server.unary_queued(ECHO, &queue).unwrap();
        server.listen(&uri).unwrap();
        let (serving, ran) = serve(queue.clone());

        let callers: Vec<_> = (0..4)
            .map(|i| {
                let uri = uri.clone();
                thread::spawn(move || {
                    let client = connect_blocking(&uri).unwrap();
                    for j in 0..25 {
                        let word = format!("caller {i} call {j}");
                        let reply = client
                            .call_blocking(ECHO, &text(&word), &CallOptions::default())
                            .unwrap();
                        assert_eq!(
                            reply.get("unicode_text").and_then(Value::as_str),
                            Some(word.as_str())
                        );
                    }
                })
            })
            .collect();
        for c in callers {
            c.join().unwrap();
        }
        assert_eq!(ran.load(Ordering::SeqCst), 100, "{uri}");

        let client = connect_blocking(&uri).unwrap();
        let opts = CallOptions::default();
        let err = client
            .call_blocking(ECHO, &text("fail"), &opts)
            .unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            (Code::NotFound, "no such thing")
        );
        let err = client
            .call_blocking(ECHO, &text("drop"), &opts)
            .unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{err}");
        assert!(err.message().contains("returned no reply"), "{err}");
        let err = client
            .call_blocking(ECHO, &text("bad-reply"), &opts)
            .unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{err}");
        // Still serving after each of those.
        assert!(client.call_blocking(ECHO, &text("ok"), &opts).is_ok());

        queue.close();
        serving.join().unwrap();
        let err = client
            .call_blocking(ECHO, &text("late"), &opts)
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{err}");
    }
}

#[test]
fn calls_past_their_deadline_never_reach_the_handler() {
    let server = Server::new(conformance_schema());
    let queue = CallQueue::new();
    server.unary_queued(ECHO, &queue).unwrap();
    server.listen("inproc://queue-deadline").unwrap();
    let client = connect_blocking("inproc://queue-deadline").unwrap();
    // Nobody serves yet: the call waits in the queue until its deadline.
    let opts = CallOptions {
        timeout: Some(Duration::from_millis(50)),
        ..CallOptions::default()
    };
    let err = client
        .call_blocking(ECHO, &text("late"), &opts)
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    // The serving thread starts later and skips the expired call.
    let (serving, ran) = serve(queue.clone());
    let reply = client
        .call_blocking(ECHO, &text("now"), &CallOptions::default())
        .unwrap();
    assert_eq!(
        reply.get("unicode_text").and_then(Value::as_str),
        Some("now")
    );
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    queue.close();
    serving.join().unwrap();
}

#[test]
fn closing_answers_calls_still_queued_and_rejects_streaming_methods() {
    let server = Server::new(conformance_schema());
    let queue = CallQueue::new();
    server.unary_queued(ECHO, &queue).unwrap();
    let err = server.unary_queued(BIDI, &queue);
    assert!(err.is_err(), "a streaming method cannot be queued as unary");
    server.listen("inproc://queue-close").unwrap();
    let client = connect_blocking("inproc://queue-close").unwrap();
    let waiting = thread::spawn(move || {
        client
            .call_blocking(ECHO, &text("queued"), &CallOptions::default())
            .unwrap_err()
    });
    thread::sleep(Duration::from_millis(50));
    queue.close();
    let err = waiting.join().unwrap();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(matches!(queue.next(Duration::ZERO), Next::Closed));
}

#[test]
fn a_signal_closes_a_queue_that_asked_for_it() {
    let queue = CallQueue::new();
    queue.close_on_signals().unwrap();
    let serving = thread::spawn({
        let queue = queue.clone();
        move || loop {
            if let Next::Closed = queue.next(Duration::from_millis(20)) {
                return;
            }
        }
    });
    thread::sleep(Duration::from_millis(50));
    // SIGTERM to ourselves: the queue closes and the process lives on.
    let pid = std::process::id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    serving.join().unwrap();
    assert!(queue.is_closed());
}

#[test]
fn a_waiting_serving_thread_never_holds_up_another_one() {
    // Ruby serves on several threads, each checking its interrupts (a SIGTERM) between waits:
    // a thread waiting long on the queue must not keep another from returning by its timeout.
    let queue = CallQueue::new();
    let long = queue.clone();
    let long_waiter = thread::spawn(move || long.next(Duration::from_secs(30)));
    thread::sleep(Duration::from_millis(100));
    let start = std::time::Instant::now();
    assert!(matches!(queue.next(Duration::from_millis(50)), Next::Idle));
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "the short wait took {took:?}"
    );
    queue.close();
    assert!(matches!(long_waiter.join().unwrap(), Next::Closed));
}

#[test]
fn spin_next_takes_a_call_that_comes_while_it_polls_and_backs_off_when_none_do() {
    let server = Server::new(conformance_schema());
    let queue = CallQueue::new();
    server.unary_queued(ECHO, &queue).unwrap();
    let uri = server.listen("inproc://queue-spin").unwrap();
    let client = connect_blocking(&uri).unwrap();
    // Nothing queued: each spin comes back empty (on one core it does not spin at all).
    for _ in 0..4 {
        assert!(queue.spin_next(Duration::from_millis(2)).is_none());
    }
    // After four empty spins it skips the next ones at once, even with a long spin time.
    let start = std::time::Instant::now();
    assert!(queue.spin_next(Duration::from_secs(5)).is_none());
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    // A queued call is taken by `spin_next` when it spins, else by `next`.
    let caller = thread::spawn(move || {
        client.call_blocking(
            ECHO,
            &text("spun"),
            &CallOptions::with_timeout(Duration::from_secs(30)),
        )
    });
    let mut served = false;
    for _ in 0..200 {
        let next = queue
            .spin_next(Duration::from_millis(1))
            .unwrap_or_else(|| queue.next(Duration::from_millis(20)));
        if let Next::Call(mut call) = next {
            let req = call.take_request();
            call.reply(Ok(req));
            served = true;
            break;
        }
    }
    assert!(served, "the call never reached the serving thread");
    let reply = caller.join().unwrap().unwrap();
    assert_eq!(
        reply.get("unicode_text").and_then(Value::as_str),
        Some("spun")
    );
    queue.close();
    assert!(matches!(
        queue.spin_next(Duration::from_millis(1)),
        Some(Next::Closed)
    ));
}

/// A connection the serving thread reads itself (`transport/unix_led_host.rs`) is told of a
/// graceful shutdown at once, though it sends nothing: GOAWAY (when the drain is seen before the
/// stop), then its end.
#[test]
fn an_idle_connection_of_the_serving_thread_gets_goaway_on_shutdown() {
    use common::raw::{call_frame, hello, raw, read_frame};
    use hms_ffi_core::transport::frame::Kind;
    use std::io::Write;

    let (dir, uri) = common::unix_uri("host-goaway");
    let server = Server::new(conformance_schema());
    let queue = CallQueue::new();
    server.unary_queued(ECHO, &queue).unwrap();
    server.listen(&uri).unwrap();
    let (serving, _) = serve(queue.clone());
    let mut s = raw(&dir.path().join("host-goaway.sock"));
    hello(&mut s);
    // A few calls, so that the serving thread reads the connection by now.
    for id in 0..5u32 {
        s.write_all(&call_frame(ECHO, 2 * id + 1, vec![])).unwrap();
        loop {
            let (h, _) = read_frame(&mut s).expect("a reply");
            if h.kind == Kind::Status {
                break;
            }
        }
    }
    let started = std::time::Instant::now();
    let stopping = thread::spawn(move || server.shutdown_blocking(Duration::from_secs(5)));
    // GOAWAY, unless the stop that follows the drain at once (no call is in flight) came
    // first; then the end. `raw` reads with a 5 s timeout: both come long before it.
    let mut frames = Vec::new();
    while let Some((h, _)) = read_frame(&mut s) {
        frames.push(h.kind);
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the idle connection was not told of the shutdown: {frames:?} after {:?}",
        started.elapsed()
    );
    assert!(frames.iter().all(|k| *k == Kind::GoAway), "{frames:?}");
    stopping.join().unwrap().unwrap();
    queue.close();
    serving.join().unwrap();
}
