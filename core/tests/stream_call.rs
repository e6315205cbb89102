//! The shared stream objects bindings adapt ([`StreamCall`], [`ServerStream`]): the rules they
//! own — one reply for a call that has one, a cancel from another thread ending a read, sends
//! refused after a half-close or a cancel, a batch of replies cut where one does not convert —
//! over inproc and unix.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hms_ffi_core::handler::{BoxFuture, StreamHandler};
use hms_ffi_core::{
    connect_blocking, CallOptions, Client, Code, Context, RequestStream, ResponseSink, Result,
    ServerStream, StreamCall, Value,
};

const CLIENT_STREAM: &str = "hms.conformance.v1.Conformance/ClientStream";
const SERVER_STREAM: &str = "hms.conformance.v1.Conformance/ServerStream";

/// A client-streaming handler that answers `replies` times (breaking the method's kind when
/// that is not one), through the shared server object.
struct Replies(usize);

impl StreamHandler for Replies {
    fn call(
        &self,
        r: RequestStream,
        s: ResponseSink,
        _: Context,
    ) -> BoxFuture<'static, Result<()>> {
        let n = self.0;
        Box::pin(async move {
            let stream = ServerStream::new(r, s);
            let mut last = Value::Map(Default::default());
            while let Some(request) = stream.recv_bytes().await {
                last = stream.exchange().request_value(&request?)?;
            }
            for _ in 0..n {
                stream
                    .send_encoded_async(stream.encode_value(&last)?)
                    .await?;
            }
            Ok(())
        })
    }
}

fn client(replies: usize, uri: &str) -> Client {
    let server = common::conformance_server();
    server
        .stream_handler(CLIENT_STREAM, Arc::new(Replies(replies)))
        .unwrap();
    let bound = server.listen(uri).unwrap();
    std::mem::forget(server);
    connect_blocking(&bound).unwrap()
}

/// Options for these tests' calls: no wait in them outlasts this deadline.
fn bounded() -> CallOptions {
    CallOptions::with_timeout(Duration::from_secs(10))
}

fn text(s: &str) -> Value {
    common::msg(&[("unicode_text", Value::from(s))])
}

#[test]
fn a_call_with_one_reply_gets_exactly_one() {
    for unix in [false, true] {
        for (replies, ok) in [(0, false), (1, true), (2, false)] {
            let (_dir, uri) = common::unix_uri(&format!("stream-call-{replies}"));
            let uri = if unix {
                uri
            } else {
                format!("inproc://stream-call-{replies}")
            };
            let c = client(replies, &uri);
            let call = StreamCall::open_blocking(&c, CLIENT_STREAM, &bounded()).unwrap();
            let bytes = call.encode_input(&&text("a")).unwrap().unwrap();
            call.send_encoded(bytes).unwrap();
            call.close_send();
            let one = call.recv_only_bytes_blocking();
            match ok {
                true => {
                    let v = call.decoder().decode_value(&one.unwrap()).unwrap();
                    assert_eq!(v.get("unicode_text"), Some(&Value::from("a")));
                }
                false => assert_eq!(one.unwrap_err().code(), Code::Internal, "{replies} replies"),
            }
        }
    }
}

#[test]
fn a_cancel_ends_a_read_waiting_on_another_thread() {
    let c = client(1, "inproc://stream-call-cancel");
    let call = Arc::new(StreamCall::open_blocking(&c, CLIENT_STREAM, &bounded()).unwrap());
    let reader = call.clone();
    let started = Instant::now();
    let read = std::thread::spawn(move || reader.recv_bytes_blocking());
    std::thread::sleep(Duration::from_millis(100));
    call.cancel();
    let outcome = read.join().unwrap();
    assert_eq!(outcome.unwrap().unwrap_err().code(), Code::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(5));
    let later = call.encode_input(&&text("late")).unwrap();
    assert_eq!(later.unwrap_err().code(), Code::Cancelled);
}

#[test]
fn a_send_after_a_half_close_is_refused() {
    let c = client(1, "inproc://stream-call-closed");
    let call = StreamCall::open_blocking(&c, SERVER_STREAM, &bounded()).unwrap();
    call.close_send();
    let refused = call.encode_input(&&text("late")).unwrap().unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    // The server-streaming handler got no request: the core's rule.
    let err = call.recv_bytes_blocking().unwrap().unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[test]
fn a_stream_keeps_its_connection_when_the_client_is_dropped() {
    let (_dir, uri) = common::unix_uri("stream-call-drop");
    let c = client(1, &uri);
    let call = StreamCall::open_blocking(
        &c,
        SERVER_STREAM,
        &CallOptions::with_timeout(Duration::from_secs(10)),
    )
    .unwrap();
    drop(c);
    let counts = Value::Map(
        [(Value::from("repeat"), Value::Int(3))]
            .into_iter()
            .collect(),
    );
    let request = common::msg(&[("counts", counts)]);
    call.send_encoded(call.encode_input(&&request).unwrap().unwrap())
        .unwrap();
    call.close_send();
    let mut n = 0;
    while let Some(reply) = call.recv_bytes_blocking() {
        reply.unwrap();
        n += 1;
    }
    assert_eq!(n, 3);
}

/// A batch whose third reply does not convert keeps the two before it, ends with the
/// conversion's error, and cancels the call: nothing after the gap is read.
#[test]
fn a_reply_that_does_not_convert_ends_the_batch_and_the_call() {
    let server = common::conformance_server();
    let c = connect_blocking(&server.listen("inproc://stream-call-convert").unwrap()).unwrap();
    let call = StreamCall::open_blocking(&c, SERVER_STREAM, &bounded()).unwrap();
    // A hundred replies, 20 ms apart: the call is still running when the batch is cut.
    let counts = Value::Map(vec![
        (Value::from("repeat"), Value::Int(100)),
        (Value::from("sleep_ms"), Value::Int(20)),
    ]);
    let request = common::msg(&[("counts", counts)]);
    call.send_encoded(call.encode_input(&&request).unwrap().unwrap())
        .unwrap();
    call.close_send();
    let mut batch = call.recv_batch_blocking(1);
    while batch.messages.len() < 3 && batch.end.is_none() {
        let more = call.recv_batch_blocking(16);
        batch.messages.extend(more.messages);
        batch.end = more.end;
    }
    assert!(
        batch.end.is_none() && batch.messages.len() >= 3,
        "{batch:?}"
    );
    let mut seen = 0;
    let (kept, end) = batch.convert(&call, |bytes| {
        seen += 1;
        match seen {
            3 => Err(hms_ffi_core::Error::new(Code::Internal, "cannot convert")),
            _ => Ok(bytes.len()),
        }
    });
    assert_eq!(kept.len(), 2);
    assert_eq!(seen, 3, "no message after the failed one is converted");
    assert!(kept.iter().all(|len| *len > 0));
    let err = end.unwrap().unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Internal, "cannot convert")
    );
    assert_eq!(
        call.recv_bytes_blocking().unwrap().unwrap_err().code(),
        Code::Cancelled
    );
}

/// A batch takes at most a stream window of bytes, however fast the server refills the window
/// its reads free: a binding's buffer of read replies stays within the window.
#[test]
fn a_batch_takes_at_most_a_window_of_bytes() {
    let server = common::conformance_server();
    let (_dir, uri) = common::unix_uri("batch-window");
    let c = connect_blocking(&server.listen(&uri).unwrap()).unwrap();
    let call = StreamCall::open_blocking(&c, SERVER_STREAM, &bounded()).unwrap();
    let counts = Value::Map(vec![(Value::from("repeat"), Value::Int(200))]);
    let big = "x".repeat(65_536);
    let request = common::msg(&[
        ("counts", counts),
        ("unicode_text", Value::from(big.as_str())),
    ]);
    call.send_encoded(call.encode_input(&&request).unwrap().unwrap())
        .unwrap();
    call.close_send();
    let window = hms_ffi_core::flow::STREAM_WINDOW as usize;
    let mut total = 0;
    while total < 200 {
        // Let the server fill the window the last batch freed.
        std::thread::sleep(Duration::from_millis(20));
        let batch = call.recv_batch_blocking(256);
        let bytes: usize = batch.messages.iter().map(|m| m.len()).sum();
        assert!(bytes < window + 70_000, "a batch of {bytes} bytes");
        total += batch.messages.len();
        if let Some(end) = batch.end {
            end.unwrap();
            break;
        }
    }
    assert_eq!(total, 200);
}
