//! A stream's response headers ahead of its messages: before any message when the handler sends
//! them (`Context::send_headers`), with the first message otherwise, on every streaming
//! transport; on the `unix://` wire, a `HEADERS` frame only to a client whose `HELLO` reads them
//! (an older client gets them with the `STATUS`, as before).

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::raw::{raw, read_frame};
use common::{conformance_schema, msg, on_free_ports, unix_uri};
use hms_ffi_core::transport::frame::{self, CallHead, HeadersBody, Hello, Kind, Trailer};
use hms_ffi_core::{connect, CallOptions, Code, Server, Value};
use prost::Message;

const BIDI: &str = "hms.conformance.v1.Conformance/Bidi";
const SERVER_STREAM: &str = "hms.conformance.v1.Conformance/ServerStream";

fn text(s: &str) -> Value {
    msg(&[("unicode_text", Value::from(s))])
}

/// Bidi sends its headers before it reads anything; ServerStream sends one reply with its
/// headers, then waits for the caller to go.
fn server() -> Server {
    let server = Server::new(conformance_schema());
    server
        .bidi_streaming(BIDI, |mut input, sink, ctx| async move {
            ctx.set_header("x-early", "yes")?;
            ctx.send_headers();
            ctx.send_headers(); // a second time does nothing
            let late = ctx.set_header("x-late", "1").unwrap_err();
            assert_eq!(late.code(), Code::FailedPrecondition);
            while let Some(v) = input.next().await {
                sink.send(&v?)?;
            }
            ctx.set_trailer("x-t", "done")?;
            Ok(())
        })
        .unwrap();
    server
        .server_streaming(SERVER_STREAM, |req, sink, ctx| async move {
            ctx.set_header("x-first", "1")?;
            sink.send(&req)?;
            tokio::select! {
                () = ctx.cancelled() => {}
                () = tokio::time::sleep(Duration::from_secs(10)) => {}
            }
            Ok(())
        })
        .unwrap();
    server
}

fn options() -> CallOptions {
    CallOptions::with_timeout(Duration::from_secs(10))
}

/// Every transport that streams: inproc, unix, ws, grpc, grpc+unix (names after `test`).
fn uris(test: &str) -> (Vec<tempfile::TempDir>, Vec<String>) {
    let (dir, unix) = unix_uri(test);
    let (gdir, grpc_unix) = unix_uri(&format!("{test}-g"));
    let grpc_unix = grpc_unix.replacen("unix://", "grpc+unix://", 1);
    let mut uris = vec![format!("inproc://{test}"), unix, grpc_unix];
    uris.extend(on_free_ports(&["grpc", "ws"]).into_iter().map(|(u, _)| u));
    (vec![dir, gdir], uris)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_headers_reach_the_client_before_any_message() {
    let server = server();
    let (_dirs, uris) = uris("early-sent");
    for uri in uris {
        let bound = server.listen(&uri).unwrap();
        let client = connect(&bound).await.unwrap();
        let mut s = client.open_stream(BIDI, &options()).await.unwrap();
        // Nothing sent, nothing read: the headers come on their own.
        let deadline = Instant::now() + Duration::from_secs(5);
        let headers = loop {
            if let Some(h) = s.headers() {
                break h;
            }
            assert!(
                Instant::now() < deadline,
                "{bound}: no headers before a message"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        assert_eq!(headers.get("x-early"), Some("yes"), "{bound}: {headers:?}");
        assert!(headers.get("x-late").is_none(), "{bound}");
        s.send(&text("a")).unwrap();
        let echo = s.next().await.unwrap().unwrap();
        assert_eq!(echo.get("unicode_text"), Some(&Value::from("a")), "{bound}");
        s.close_send();
        assert!(s.next().await.is_none(), "{bound}");
        // The outcome leaves the headers as they came, and brings the trailers.
        assert_eq!(s.headers().unwrap().get("x-early"), Some("yes"), "{bound}");
        assert_eq!(s.trailers().get("x-t"), Some("done"), "{bound}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_come_with_the_first_message_while_the_stream_is_open() {
    let server = server();
    let (_dirs, uris) = uris("early-first");
    for uri in uris {
        let bound = server.listen(&uri).unwrap();
        let client = connect(&bound).await.unwrap();
        let mut s = client
            .server_streaming(SERVER_STREAM, &text("one"), &options())
            .await
            .unwrap();
        s.next().await.unwrap().unwrap();
        // The handler still waits: only the first message has come, and its headers with it.
        let h = s.headers().expect("headers with the first message");
        assert_eq!(h.get("x-first"), Some("1"), "{bound}: {h:?}");
        s.cancel();
    }
}

/// Opens a bidi call on a raw connection whose HELLO says `headers`, sends one empty request and
/// half-closes once it has read the frames the server sends first; the kinds read, in order, and
/// the STATUS.
fn raw_bidi(path: &std::path::Path, headers: bool) -> (Vec<Kind>, Option<HeadersBody>, Trailer) {
    let mut s = raw(path);
    let hello = Hello {
        stream_window: 0,
        pings: false,
        headers,
        ..Hello::ours(1 << 22)
    };
    s.write_all(&frame::encode_message_frame(Kind::Hello, 0, 0, &hello))
        .unwrap();
    assert_eq!(read_frame(&mut s).unwrap().0.kind, Kind::Hello);
    let head = CallHead {
        method: BIDI.into(),
        ..CallHead::default()
    };
    let call = frame::encode_message_frame(Kind::Call, 0, 1, &head.to_header(Bytes::new()));
    s.write_all(&call).unwrap();
    let mut kinds = Vec::new();
    let mut early = None;
    if headers {
        let (h, body) = read_frame(&mut s).expect("a HEADERS frame before any request");
        kinds.push(h.kind);
        early = HeadersBody::decode(body.as_slice()).ok();
    }
    s.write_all(&frame::encode_frame(Kind::Message, 0, 1, &[]))
        .unwrap();
    s.write_all(&frame::encode_frame(Kind::End, 0, 1, &[]))
        .unwrap();
    loop {
        let (h, body) = read_frame(&mut s).expect("frames up to the STATUS");
        kinds.push(h.kind);
        if h.kind == Kind::Status {
            return (kinds, early, Trailer::decode(body.as_slice()).unwrap());
        }
    }
}

#[test]
fn the_headers_frame_goes_only_to_a_client_that_reads_it() {
    let server = server();
    let (dir, uri) = unix_uri("early-raw");
    server.listen(&uri).unwrap();
    let path = dir.path().join("early-raw.sock");

    let (kinds, early, mut status) = raw_bidi(&path, true);
    assert_eq!(kinds, [Kind::Headers, Kind::Message, Kind::Status]);
    let early = early.expect("a HEADERS body").into_metadata();
    assert_eq!(early.get("x-early"), Some("yes"));
    let (headers, trailers) = status.take_metadata();
    assert!(headers.is_empty(), "sent twice: {headers:?}");
    assert_eq!(trailers.get("x-t"), Some("done"));
    assert_eq!(status.code, 0);

    // An older client: no HEADERS frame; the headers come with the STATUS.
    let (kinds, _, mut status) = raw_bidi(&path, false);
    assert_eq!(kinds, [Kind::Message, Kind::Status]);
    let (headers, _) = status.take_metadata();
    assert_eq!(headers.get("x-early"), Some("yes"));
}
