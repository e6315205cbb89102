//! Request metadata is checked by the client before a call goes out, the same on every
//! transport: a key outside ASCII letters, digits, '-', '_' and '.', a value that is not
//! printable ASCII, or a `-bin` value that is not base64 is `InvalidArgument` **BAD_METADATA**,
//! and the handler never runs (before, `inproc://` handed such entries to the handler while the
//! HTTP/2 transports refused them in their own words). What an interceptor adds is checked too.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{conformance_schema, msg, on_free_ports, unix_uri};
use hms_ffi_core::interceptor::before_fn;
use hms_ffi_core::{connect, CallOptions, Code, Context, Metadata, Server, Value};

const ECHO: &str = "hms.conformance.v1.Conformance/Echo";

fn reason(e: &hms_ffi_core::Error) -> Option<&str> {
    e.details().error_info.as_ref().map(|i| i.reason.as_str())
}

fn with(key: &str, value: &str) -> CallOptions {
    let mut metadata = Metadata::new();
    metadata.insert(key, value);
    CallOptions {
        metadata,
        ..CallOptions::default()
    }
}

fn counting_server(runs: Arc<AtomicUsize>) -> Server {
    let server = Server::new(conformance_schema());
    server
        .unary(ECHO, move |req, ctx: Context| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                let seen = ctx.metadata().get("x-ok").unwrap_or("").to_string();
                let _ = req;
                Ok(msg(&[("unicode_text", Value::from(seen))]))
            }
        })
        .unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_request_metadata_is_refused_before_it_is_sent_on_every_transport() {
    let runs = Arc::new(AtomicUsize::new(0));
    let server = counting_server(runs.clone());
    let (_dir, unix) = unix_uri("req-meta");
    let mut uris = vec!["inproc://req-meta".to_string(), unix];
    uris.extend(
        on_free_ports(&["grpc", "http", "ws"])
            .into_iter()
            .map(|(u, _)| u),
    );
    let request = msg(&[("unicode_text", Value::from("hi"))]);
    for uri in uris {
        let bound = server.listen(&uri).unwrap();
        let client = connect(&bound).await.unwrap();
        let before = runs.load(Ordering::SeqCst);
        for (key, value) in [
            ("Bad Key", "v"),
            ("x\u{0}", "v"),
            ("", "v"),
            ("x-ok", "line\nbreak"),
            ("x-ok", "caf\u{e9}"),
            ("x-data-bin", "not base64!"),
        ] {
            let e = client
                .call(ECHO, &request, &with(key, value))
                .await
                .unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument, "{bound} {key:?}: {e}");
            assert_eq!(reason(&e), Some("BAD_METADATA"), "{bound} {key:?}");
        }
        assert_eq!(
            runs.load(Ordering::SeqCst),
            before,
            "{bound}: a handler ran"
        );
        let reply = client
            .call(ECHO, &request, &with("x-ok", "fine value_1.2"))
            .await
            .unwrap();
        assert_eq!(
            reply.get("unicode_text").and_then(Value::as_str),
            Some("fine value_1.2"),
            "{bound}"
        );
        let blocking = client.clone();
        let e = tokio::task::spawn_blocking(move || {
            let opts = with("Bad Key", "v");
            blocking.call_blocking(ECHO, &msg(&[]), &opts)
        })
        .await
        .unwrap()
        .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{bound} blocking: {e}");
    }
}

#[tokio::test]
async fn what_an_interceptor_adds_is_checked_as_the_callers_own() {
    let runs = Arc::new(AtomicUsize::new(0));
    let server = counting_server(runs.clone());
    server.listen("inproc://req-meta-interceptor").unwrap();
    let opts = hms_ffi_core::ConnectOptions {
        interceptors: vec![Arc::new(before_fn(|ctx: &mut Context| {
            ctx.metadata_mut().insert("x tenant", "acme");
            Ok(())
        }))],
        ..Default::default()
    };
    let client = hms_ffi_core::connect_with("inproc://req-meta-interceptor", opts)
        .await
        .unwrap();
    let e = client
        .call(ECHO, &msg(&[]), &CallOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), reason(&e)),
        (Code::InvalidArgument, Some("BAD_METADATA"))
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}
