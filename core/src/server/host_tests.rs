//! The serving thread of a queue reads the server's `unix://` connections itself while it waits
//! (`transport/unix_led_host.rs`): its calls are read on that thread, a handler that runs long
//! on it does not stall the connection (other calls and a dead peer are still seen), and a
//! connection that ends leaves the others served. (Here, not in `transport`: it drives the
//! transport with a server, a queue and clients.)

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::transport::HOSTED_FRAMES;
use crate::{connect_blocking, CallOptions, CallQueue, Code, Next, Schema, Server, Value};

const PROTO: &str = r#"syntax = "proto3";
package host.v1;
message Text { string text = 1; }
service Host {
  rpc Echo(Text) returns (Text);
  rpc Fast(Text) returns (Text);
}"#;
const ECHO: &str = "host.v1.Host/Echo";
const FAST: &str = "host.v1.Host/Fast";

fn text(s: &str) -> Value {
    Value::Map(vec![(Value::from("text"), Value::from(s))])
}

fn text_of(v: &Value) -> String {
    match v.get("text") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

/// A server whose `Echo` is queued (served by [`serve`]) and whose `Fast` is a Rust handler,
/// listening on a socket in `dir`.
fn server(dir: &tempfile::TempDir, queue: &CallQueue) -> (Server, String) {
    let server = Server::new(Schema::from_source("host.proto", PROTO).unwrap());
    server.unary_queued(ECHO, queue).unwrap();
    server.unary(FAST, |req, _| async move { Ok(req) }).unwrap();
    let uri = format!("unix://{}", dir.path().join("host.sock").display());
    let bound = server.listen(&uri).unwrap();
    (server, bound)
}

/// Serves `queue` as Ruby and PHP do; a request "sleep N" sleeps N ms first. Counts the calls
/// run, and those that found their caller gone when their handler ended.
fn serve(
    queue: CallQueue,
    ran: Arc<AtomicUsize>,
    dead: Arc<AtomicUsize>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || loop {
        match queue.next(Duration::from_millis(50)) {
            Next::Idle => continue,
            Next::Closed => return,
            Next::Call(mut call) => {
                ran.fetch_add(1, Ordering::SeqCst);
                let req = call.take_request();
                if let Some(ms) = text_of(&req).strip_prefix("sleep ") {
                    thread::sleep(Duration::from_millis(ms.parse().unwrap()));
                }
                if !call.is_live() {
                    dead.fetch_add(1, Ordering::SeqCst);
                }
                call.reply(Ok(req));
            }
        }
    })
}

#[test]
fn the_serving_thread_reads_its_calls_itself() {
    if !crate::runtime::server_threads() {
        return; // connections are served by the runtime: nothing is led by threads
    }
    let dir = tempfile::tempdir().unwrap();
    let queue = CallQueue::new();
    let (server, uri) = server(&dir, &queue);
    let (ran, dead) = (Arc::default(), Arc::default());
    let serving = serve(queue.clone(), ran, dead);
    let client = connect_blocking(&uri).unwrap();
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    // The first calls may still be read by the connection's own thread, until it sees the
    // serving thread waiting and gives the reading to it.
    for i in 0..20 {
        let reply = client.call_blocking(ECHO, &text(&format!("warm {i}")), &opts);
        assert_eq!(text_of(&reply.unwrap()), format!("warm {i}"));
    }
    let before = HOSTED_FRAMES.load(Ordering::SeqCst);
    for i in 0..200 {
        let reply = client.call_blocking(ECHO, &text(&i.to_string()), &opts);
        assert_eq!(text_of(&reply.unwrap()), i.to_string());
    }
    // Most, not all: a handler held up for longer than the hand-over time on a busy machine
    // (or by another test's `HOLD_UP`) lets a connection thread read for a while.
    let hosted = HOSTED_FRAMES.load(Ordering::SeqCst) - before;
    assert!(
        hosted >= 150,
        "only {hosted} frames of 200 calls were read by the serving thread"
    );
    queue.close();
    serving.join().unwrap();
    server.shutdown_blocking(Duration::from_secs(1)).unwrap();
}

#[test]
fn a_long_handler_on_the_serving_thread_does_not_stall_its_connections() {
    let dir = tempfile::tempdir().unwrap();
    let queue = CallQueue::new();
    let (server, uri) = server(&dir, &queue);
    let (ran, dead) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let serving = serve(queue.clone(), ran.clone(), dead.clone());
    let client = Arc::new(connect_blocking(&uri).unwrap());
    let opts = CallOptions::with_timeout(Duration::from_secs(20));
    for _ in 0..5 {
        assert!(client.call_blocking(ECHO, &text("warm"), &opts).is_ok());
    }
    // One call holds the serving thread for two seconds.
    let slow = {
        let (client, opts) = (client.clone(), opts.clone());
        thread::spawn(move || client.call_blocking(ECHO, &text("sleep 2000"), &opts))
    };
    while ran.load(Ordering::SeqCst) < 6 {
        thread::sleep(Duration::from_millis(5));
    }
    // Meanwhile the same connection and a new one are read and answered by the Rust handler.
    let started = Instant::now();
    let same = client.call_blocking(FAST, &text("same"), &opts).unwrap();
    assert_eq!(text_of(&same), "same");
    let other = connect_blocking(&uri).unwrap();
    assert_eq!(
        text_of(&other.call_blocking(FAST, &text("new"), &opts).unwrap()),
        "new"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "calls waited for the serving thread's handler: {:?}",
        started.elapsed()
    );
    // A caller that gives up while its call waits in the queue is seen to have gone.
    let gave_up = client.call_blocking(
        ECHO,
        &text("late"),
        &CallOptions::with_timeout(Duration::from_millis(100)),
    );
    assert_eq!(gave_up.unwrap_err().code(), Code::DeadlineExceeded);
    assert_eq!(text_of(&slow.join().unwrap().unwrap()), "sleep 2000");
    // The caller that gave up was dropped before a handler ran for it.
    assert_eq!(
        text_of(&client.call_blocking(ECHO, &text("after"), &opts).unwrap()),
        "after"
    );
    assert_eq!(
        ran.load(Ordering::SeqCst),
        7,
        "the expired call must not reach the handler"
    );
    queue.close();
    serving.join().unwrap();
    server.shutdown_blocking(Duration::from_secs(1)).unwrap();
}

#[test]
fn a_peer_that_goes_away_leaves_the_others_served() {
    let dir = tempfile::tempdir().unwrap();
    let queue = CallQueue::new();
    let (server, uri) = server(&dir, &queue);
    let (ran, dead) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let serving = serve(queue.clone(), ran.clone(), dead.clone());
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    let stay = connect_blocking(&uri).unwrap();
    assert!(stay.call_blocking(ECHO, &text("warm"), &opts).is_ok());
    // A peer whose connection closes while its call runs: the handler sees it gone.
    let leaving = connect_blocking(&uri).unwrap();
    assert!(leaving.call_blocking(ECHO, &text("warm"), &opts).is_ok());
    let done = Arc::new(AtomicBool::new(false));
    let call = {
        let done = done.clone();
        thread::spawn(move || {
            let rt = crate::runtime::handle();
            let _ = rt.block_on(async {
                tokio::time::timeout(
                    Duration::from_millis(300),
                    leaving.call(ECHO, &text("sleep 1000"), &CallOptions::default()),
                )
                .await
            });
            drop(leaving);
            done.store(true, Ordering::SeqCst);
        })
    };
    call.join().unwrap();
    assert!(done.load(Ordering::SeqCst));
    for i in 0..50 {
        let reply = stay.call_blocking(ECHO, &text(&i.to_string()), &opts);
        assert_eq!(text_of(&reply.unwrap()), i.to_string());
    }
    assert_eq!(
        dead.load(Ordering::SeqCst),
        1,
        "the handler should see its caller gone"
    );
    queue.close();
    serving.join().unwrap();
    server.shutdown_blocking(Duration::from_secs(1)).unwrap();
}

/// PHP's way of calling while it serves: a handler on the serving thread calls its own server
/// and, while the reply is pending, pumps the queue with zero waits. Each of those looks at the
/// connections; what the peer sent in between is read by one of them (else nobody reads it:
/// the connection's reading is let go again each time, so the watchdog never hands it over).
#[test]
fn a_serving_thread_that_pumps_with_zero_waits_reads_what_came() {
    let dir = tempfile::tempdir().unwrap();
    let queue = CallQueue::new();
    let (server, uri) = server(&dir, &queue);
    let client = Arc::new(connect_blocking(&uri).unwrap());
    let opts = CallOptions::with_timeout(Duration::from_secs(5));
    let serving = {
        let (queue, client) = (queue.clone(), client.clone());
        thread::spawn(move || loop {
            match queue.next(Duration::from_millis(50)) {
                Next::Idle => continue,
                Next::Closed => return,
                Next::Call(mut call) => {
                    let req = call.take_request();
                    if text_of(&req) != "outer" {
                        call.reply(Ok(req));
                        continue;
                    }
                    // A second is ample for a local call; unread, it would wait out its deadline.
                    let inner = {
                        let client = client.clone();
                        let opts = CallOptions::with_timeout(Duration::from_secs(1));
                        thread::spawn(move || client.call_blocking(ECHO, &text("inner"), &opts))
                    };
                    while !inner.is_finished() {
                        if let Next::Call(mut c) = queue.next(Duration::ZERO) {
                            let r = c.take_request();
                            c.reply(Ok(r));
                        }
                    }
                    let got = inner.join().unwrap().map(|v| text_of(&v));
                    call.reply(Ok(text(&format!("{got:?}"))));
                }
            }
        })
    };
    for _ in 0..20 {
        assert!(client.call_blocking(ECHO, &text("warm"), &opts).is_ok());
    }
    let reply = client.call_blocking(ECHO, &text("outer"), &opts).unwrap();
    assert_eq!(text_of(&reply), "Ok(\"inner\")");
    queue.close();
    serving.join().unwrap();
    server.shutdown_blocking(Duration::from_secs(1)).unwrap();
}
