//! Response metadata: headers and trailers a handler sets reach the client over every transport
//! (unary everywhere, streams everywhere but `http://`), text and `-bin` keys alike; a header
//! set after a stream's first response is refused.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{conformance_schema, msg, on_free_ports, unix_uri};
use hms_ffi_core::{connect, CallOptions, Code, Context, Metadata, Server, Value};

const ECHO: &str = "hms.conformance.v1.Conformance/Echo";
const BIDI: &str = "hms.conformance.v1.Conformance/Bidi";
const SERVER_STREAM: &str = "hms.conformance.v1.Conformance/ServerStream";

fn text(s: &str) -> Value {
    msg(&[("unicode_text", Value::from(s))])
}

/// Echoes `x-echo` as a header and `x-echo-bin` as a trailer, and sets fixed ones of each kind.
fn echo_metadata(ctx: &Context) {
    if let Some(v) = ctx.metadata().get("x-echo") {
        ctx.set_header("x-echo", v).unwrap();
    }
    if let Some(v) = ctx.metadata().get_bin("x-echo-bin") {
        ctx.set_trailer_bin("x-echo-bin", &v).unwrap();
    }
    ctx.set_header("x-h", "one").unwrap();
    ctx.set_header("x-h", "two").unwrap();
    ctx.set_header_bin("x-h-bin", &[0, 1, 0xfe, 0xff]).unwrap();
    ctx.set_trailer("x-t", "done").unwrap();
    // Reserved keys and bad values are refused, whatever the transport.
    for (k, v) in [
        ("grpc-status", "0"),
        ("content-type", "x"),
        ("x-bad", "a\nb"),
    ] {
        assert_eq!(
            ctx.set_header(k, v).unwrap_err().code(),
            Code::InvalidArgument
        );
    }
}

fn server() -> Server {
    let server = Server::new(conformance_schema());
    server
        .unary(ECHO, |req, ctx| async move {
            echo_metadata(&ctx);
            Ok(req)
        })
        .unwrap();
    server
        .bidi_streaming(BIDI, |mut input, sink, ctx| async move {
            echo_metadata(&ctx);
            while let Some(v) = input.next().await {
                sink.send(&v?)?;
                // The headers went with the first response.
                let late = ctx.set_header("x-late", "1").unwrap_err();
                assert_eq!(late.code(), Code::FailedPrecondition);
            }
            ctx.set_trailer("x-count", "end").unwrap();
            Ok(())
        })
        .unwrap();
    server
        .server_streaming(SERVER_STREAM, |req, _sink, ctx| async move {
            // No message at all: headers and trailers go with the outcome.
            ctx.set_header("x-empty", "h").unwrap();
            ctx.set_trailer("x-empty-t", "t").unwrap();
            let _ = req;
            Ok(())
        })
        .unwrap();
    server
}

fn options() -> CallOptions {
    let mut metadata = Metadata::new();
    metadata.insert("x-echo", "echo me");
    metadata
        .insert_bin("x-echo-bin", &[0xab, 0xab, 0xab])
        .unwrap();
    CallOptions {
        timeout: Some(Duration::from_secs(10)),
        metadata,
        ..CallOptions::default()
    }
}

fn check_headers(h: &Metadata, uri: &str) {
    assert_eq!(h.get("x-echo"), Some("echo me"), "{uri}: {h:?}");
    assert_eq!(
        h.get_all("x-h").collect::<Vec<_>>(),
        ["one", "two"],
        "{uri}"
    );
    assert_eq!(h.get_bin("x-h-bin"), Some(vec![0, 1, 0xfe, 0xff]), "{uri}");
    assert!(h.get("x-t").is_none(), "{uri}: a trailer among the headers");
}

fn check_trailers(t: &Metadata, uri: &str) {
    assert_eq!(t.get("x-t"), Some("done"), "{uri}: {t:?}");
    assert_eq!(t.get_bin("x-echo-bin"), Some(vec![0xab; 3]), "{uri}");
    assert!(t.get("x-h").is_none(), "{uri}: a header among the trailers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_headers_and_trailers_reach_the_client_on_every_transport() {
    let server = server();
    let (_dir, unix) = unix_uri("meta");
    let (_gdir, grpc_unix) = unix_uri("meta-g");
    let grpc_unix = grpc_unix.replacen("unix://", "grpc+unix://", 1);
    let mut uris = vec!["inproc://meta".to_string(), unix, grpc_unix];
    uris.extend(
        on_free_ports(&["grpc", "http", "ws"])
            .into_iter()
            .map(|(u, _)| u),
    );
    for uri in uris {
        let bound = server.listen(&uri).unwrap();
        let client = connect(&bound).await.unwrap();

        let reply = client
            .call_with_metadata(ECHO, &text("u"), &options())
            .await
            .unwrap();
        assert_eq!(reply.message.get("unicode_text"), Some(&Value::from("u")));
        check_headers(&reply.headers, &bound);
        check_trailers(&reply.trailers, &bound);

        if bound.starts_with("http://") {
            continue; // Connect streaming is not served over http://
        }
        let mut s = client.open_stream(BIDI, &options()).await.unwrap();
        for i in 0..2 {
            s.send(&text(&format!("b{i}"))).unwrap();
            s.next().await.unwrap().unwrap();
        }
        s.close_send();
        assert!(s.next().await.is_none(), "{bound}");
        check_headers(&s.headers().expect("headers after the end"), &bound);
        let t = s.trailers();
        check_trailers(&t, &bound);
        assert_eq!(t.get("x-count"), Some("end"), "{bound}");

        let mut s = client
            .server_streaming(SERVER_STREAM, &text("e"), &options())
            .await
            .unwrap();
        assert!(s.next().await.is_none(), "{bound}");
        let h = s.headers().expect("headers of an empty stream");
        assert_eq!(h.get("x-empty"), Some("h"), "{bound}: {h:?}");
        assert_eq!(s.trailers().get("x-empty-t"), Some("t"), "{bound}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_headers_arrive_with_the_first_message_over_grpc_and_inproc() {
    let server = server();
    for uri in ["grpc://127.0.0.1:0", "inproc://meta-first"] {
        let bound = server.listen(uri).unwrap();
        let client = connect(&bound).await.unwrap();
        let mut s = client.open_stream(BIDI, &options()).await.unwrap();
        s.send(&text("x")).unwrap();
        s.next().await.unwrap().unwrap();
        // The stream is still open: the headers are there already.
        check_headers(
            &s.headers().expect("headers with the first message"),
            &bound,
        );
        s.close_send();
        assert!(s.next().await.is_none());
    }
}
