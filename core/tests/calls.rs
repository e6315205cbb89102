//! End-to-end behaviour of Server and Client over inproc and unix: errors, interceptors,
//! deadlines, cancellation, streaming, limits, shutdown, schemaless calls.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{
    all_endpoints, conformance_schema, conformance_server, endpoints, msg, on_free_ports,
};
use hms_ffi_core::interceptor::before_fn;
use hms_ffi_core::{
    connect, connect_blocking, CallOptions, Code, Codec, Context, Error, Interceptor, Limits,
    Server, ServerOptions, Value,
};

const ECHO: &str = "hms.conformance.v1.Conformance/Echo";
const SLEEP: &str = "hms.conformance.v1.Conformance/Sleep";
const SCALARS: &str = "hms.conformance.v1.Conformance/EchoScalars";

fn text(s: &str) -> Value {
    msg(&[("unicode_text", Value::from(s))])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_panic_is_internal_and_server_keeps_serving() {
    for (uri, _dir) in all_endpoints("panics") {
        let server = Server::new(conformance_schema());
        server
            .unary(ECHO, |req: Value, _| async move {
                if req.get("unicode_text").and_then(Value::as_str) == Some("boom") {
                    panic!("boom requested");
                }
                Ok(req)
            })
            .unwrap();
        let uri = server.listen(&uri).unwrap();
        let client = connect(&uri).await.unwrap();
        let err = client
            .call(ECHO, &text("boom"), &CallOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{uri}: {err}");
        assert!(err.message().contains("boom requested"), "{err}");
        let origin = err.origin().expect("origin set");
        assert_eq!(
            (origin.language.as_str(), origin.method.as_str()),
            ("rust", "Echo")
        );
        let ok = client
            .call(ECHO, &text("fine"), &CallOptions::default())
            .await
            .unwrap();
        assert_eq!(ok.get("unicode_text").and_then(Value::as_str), Some("fine"));
    }
}

struct Recorder(Arc<AtomicUsize>);
impl Interceptor for Recorder {
    fn after(&self, _ctx: &Context, outcome: Result<(), &Error>, _elapsed: Duration) {
        if outcome.is_err() {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interceptors_authenticate_and_see_outcomes() {
    for (uri, _dir) in all_endpoints("auth") {
        let server = Server::new(conformance_schema());
        let ran = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        server
            .unary(ECHO, move |_req, ctx: Context| {
                r.fetch_add(1, Ordering::SeqCst);
                async move {
                    Ok(msg(&[(
                        "unicode_text",
                        Value::from(ctx.identity().unwrap_or("?")),
                    )]))
                }
            })
            .unwrap();
        server.add_interceptor(before_fn(|ctx: &mut Context| {
            if ctx.method().starts_with("hms.ffi.v1.Discovery") {
                return Ok(());
            }
            match ctx.metadata().get("authorization") {
                Some("Bearer good") => {
                    ctx.set_identity("alice");
                    Ok(())
                }
                _ => Err(Error::new(Code::Unauthenticated, "missing or bad token")),
            }
        }));
        server.add_interceptor(Recorder(failures.clone()));
        let uri = server.listen(&uri).unwrap();
        let client = connect(&uri).await.unwrap();
        let err = client
            .call(ECHO, &text("x"), &CallOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        assert_eq!(ran.load(Ordering::SeqCst), 0, "the handler must not run");
        let mut opts = CallOptions::default();
        opts.metadata.insert("Authorization", "Bearer good");
        let reply = client.call(ECHO, &text("x"), &opts).await.unwrap();
        assert_eq!(
            reply.get("unicode_text").and_then(Value::as_str),
            Some("alice")
        );
        assert_eq!(failures.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_interceptor_adds_metadata() {
    let server = Server::new(conformance_schema());
    server
        .unary(ECHO, |_req, ctx: Context| async move {
            Ok(msg(&[(
                "unicode_text",
                Value::from(ctx.metadata().get("x-tenant").unwrap_or("none")),
            )]))
        })
        .unwrap();
    server.listen("inproc://client-interceptor").unwrap();
    let opts = hms_ffi_core::ConnectOptions {
        interceptors: vec![Arc::new(before_fn(|ctx: &mut Context| {
            ctx.metadata_mut().insert("x-tenant", "acme");
            Ok(())
        }))],
        ..Default::default()
    };
    let client = hms_ffi_core::connect_with("inproc://client-interceptor", opts)
        .await
        .unwrap();
    let reply = client
        .call(ECHO, &Value::Map(vec![]), &CallOptions::default())
        .await
        .unwrap();
    assert_eq!(
        reply.get("unicode_text").and_then(Value::as_str),
        Some("acme")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_reaches_the_handler_and_cancellation_propagates() {
    for (uri, _dir) in all_endpoints("cancel") {
        let server = Server::new(conformance_schema());
        let saw_cancel = Arc::new(AtomicBool::new(false));
        let flag = saw_cancel.clone();
        server
            .unary(SLEEP, move |_req, ctx: Context| {
                let flag = flag.clone();
                async move {
                    let left = ctx.time_remaining().expect("deadline propagated");
                    assert!(left <= Duration::from_millis(300), "{left:?}");
                    // Never finishes on its own: only cancellation ends it.
                    let guard = scopeguard(flag);
                    std::future::pending::<()>().await;
                    drop(guard);
                    Ok(Value::Map(vec![]))
                }
            })
            .unwrap();
        let uri = server.listen(&uri).unwrap();
        let client = connect(&uri).await.unwrap();
        let err = client
            .call(
                SLEEP,
                &Value::Map(vec![]),
                &CallOptions::with_timeout(Duration::from_millis(300)),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{uri}");
        for _ in 0..100 {
            if saw_cancel.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            saw_cancel.load(Ordering::SeqCst),
            "{uri}: handler was not cancelled"
        );
        // The call leaves the in-flight count just after its handler is dropped.
        for _ in 0..100 {
            if server.inflight() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(server.inflight(), 0, "{uri}");
    }
}

/// Sets the flag when dropped: the handler future was cancelled.
fn scopeguard(flag: Arc<AtomicBool>) -> impl Drop {
    struct G(Arc<AtomicBool>);
    impl Drop for G {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    G(flag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_streaming_kinds() {
    for (uri, _dir) in endpoints("streams")
        .into_iter()
        .chain(on_free_ports(&["ws"]))
    {
        let server = conformance_server();
        let uri = server.listen(&uri).unwrap();
        let client = connect(&uri).await.unwrap();
        let opts = CallOptions::with_timeout(Duration::from_secs(5));
        let m = |n: &str| format!("hms.conformance.v1.Conformance/{n}");

        let mut s = client
            .server_streaming(&m("ServerStream"), &text("s"), &opts)
            .await
            .unwrap();
        let mut n = 0;
        while let Some(item) = s.next().await {
            assert_eq!(
                item.unwrap().get("unicode_text").and_then(Value::as_str),
                Some("s")
            );
            n += 1;
        }
        assert_eq!(n, 3, "{uri}");

        let mut c = client.open_stream(&m("ClientStream"), &opts).await.unwrap();
        for i in 0..5 {
            c.send(&text(&format!("c{i}"))).unwrap();
        }
        c.close_send();
        let reply = c.next().await.unwrap().unwrap();
        assert_eq!(
            reply.get("unicode_text").and_then(Value::as_str),
            Some("c4")
        );
        assert_eq!(reply.get("weight_mg"), Some(&Value::Int(5)));
        assert!(c.next().await.is_none());

        let mut b = client.open_stream(&m("Bidi"), &opts).await.unwrap();
        for i in 0..4 {
            b.send(&text(&format!("b{i}"))).unwrap();
            let echoed = b.next().await.unwrap().unwrap();
            assert_eq!(
                echoed.get("unicode_text").and_then(Value::as_str),
                Some(format!("b{i}").as_str())
            );
        }
        b.close_send();
        assert!(b.next().await.is_none());

        let err = client
            .call(&m("Bidi"), &text("x"), &opts)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_and_errors_over_grpc_and_ws() {
    let server = conformance_server();
    let dir = tempfile::tempdir().unwrap();
    let tcp = server.listen("grpc://127.0.0.1:0").unwrap();
    let uds = server
        .listen(&format!(
            "grpc+unix://{}",
            dir.path().join("g.sock").display()
        ))
        .unwrap();
    let ws = server.listen("ws://127.0.0.1:0").unwrap();
    for uri in [tcp, uds, ws] {
        let client = connect(&uri).await.unwrap();
        let opts = CallOptions::with_timeout(Duration::from_secs(5));
        let m = |n: &str| format!("hms.conformance.v1.Conformance/{n}");
        let mut s = client
            .server_streaming(&m("ServerStream"), &text("g"), &opts)
            .await
            .unwrap();
        let mut n = 0;
        while let Some(item) = s.next().await {
            assert_eq!(
                item.unwrap().get("unicode_text").and_then(Value::as_str),
                Some("g")
            );
            n += 1;
        }
        assert_eq!(n, 3, "{uri}");
        let mut b = client.open_stream(&m("Bidi"), &opts).await.unwrap();
        for i in 0..3 {
            b.send(&text(&format!("b{i}"))).unwrap();
            let echoed = b.next().await.unwrap().unwrap();
            assert_eq!(
                echoed.get("unicode_text").and_then(Value::as_str),
                Some(format!("b{i}").as_str())
            );
        }
        b.close_send();
        assert!(b.next().await.is_none(), "{uri}");
        let err = client
            .call(
                &m("Fail"),
                &msg(&[
                    ("code", Value::from("NOT_FOUND")),
                    ("message", Value::from("gone")),
                    ("violation_paths", Value::list(["a.b"])),
                ]),
                &opts,
            )
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            (Code::NotFound, "gone"),
            "{uri}"
        );
        assert_eq!(err.field_violations()[0].field, "a.b");
        assert_eq!(err.origin().map(|o| o.method.as_str()), Some("Fail"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_refuse_one_call_and_keep_the_connection() {
    for (uri, _dir) in endpoints("limits")
        .into_iter()
        .chain(on_free_ports(&["ws"]))
    {
        let limits = Limits {
            max_concurrent_per_connection: 2,
            max_message_bytes: 1024,
            ..Limits::default()
        };
        let server = Server::with_options(
            conformance_schema(),
            ServerOptions {
                limits,
                ..Default::default()
            },
        );
        server.unary(ECHO, |req, _| async move { Ok(req) }).unwrap();
        server
            .unary(SLEEP, |_req, _| async move {
                tokio::time::sleep(Duration::from_millis(400)).await;
                Ok(Value::Map(vec![]))
            })
            .unwrap();
        let uri = server.listen(&uri).unwrap();
        let client = connect(&uri).await.unwrap();
        let opts = CallOptions::with_timeout(Duration::from_secs(5));
        let (a, b) = (client.clone(), client.clone());
        let o = opts.clone();
        let slow1 = tokio::spawn(async move { a.call(SLEEP, &Value::Map(vec![]), &o).await });
        let o = opts.clone();
        let slow2 = tokio::spawn(async move { b.call(SLEEP, &Value::Map(vec![]), &o).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let err = client.call(ECHO, &text("third"), &opts).await.unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted, "{uri}: {err}");
        assert!(slow1.await.unwrap().is_ok() && slow2.await.unwrap().is_ok());

        // The client's own limit is the default 4 MiB, so the server's 1 KiB limit refuses it.
        let big = msg(&[("blob", Value::Bytes(vec![b'x'; 4096]))]);
        let err = client.call(ECHO, &big, &opts).await.unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted, "{uri}: {err}");
        let ok = client.call(ECHO, &text("after"), &opts).await.unwrap();
        assert_eq!(
            ok.get("unicode_text").and_then(Value::as_str),
            Some("after")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_reply_is_resource_exhausted() {
    let limits = Limits {
        max_message_bytes: 2048,
        ..Limits::default()
    };
    let server = Server::with_options(
        conformance_schema(),
        ServerOptions {
            limits,
            ..Default::default()
        },
    );
    server
        .unary(ECHO, |_req, _| async move {
            Ok(msg(&[("blob", Value::Bytes(vec![0; 10_000]))]))
        })
        .unwrap();
    server.listen("inproc://big-reply").unwrap();
    let client = connect("inproc://big-reply").await.unwrap();
    let err = client
        .call(ECHO, &text("x"), &CallOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_then_refuses() {
    for (uri, dir) in all_endpoints("shutdown") {
        let server = Arc::new(Server::new(conformance_schema()));
        server
            .unary(SLEEP, |_req, _| async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok(Value::Map(vec![]))
            })
            .unwrap();
        let uri = server.listen(&uri).unwrap();
        let client = connect(&uri).await.unwrap();
        let c = client.clone();
        let inflight = tokio::spawn(async move {
            c.call(SLEEP, &Value::Map(vec![]), &CallOptions::default())
                .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        server.shutdown(Duration::from_secs(5)).await;
        assert!(
            inflight.await.unwrap().is_ok(),
            "{uri}: the call in flight must finish"
        );
        let err = client
            .call(SLEEP, &Value::Map(vec![]), &CallOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{uri}: {err}");
        if let Some(dir) = dir {
            assert!(
                !dir.path().join("shutdown.sock").exists(),
                "socket file removed"
            );
        }
        assert_eq!(connect(&uri).await.unwrap_err().code(), Code::Unavailable);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemaless_methods_use_cbor() {
    for (uri, _dir) in endpoints("schemaless")
        .into_iter()
        .chain(on_free_ports(&["http", "ws"]))
    {
        let server = Server::new(conformance_schema());
        server
            .schemaless("adhoc.v1.Math/Sum", |req: Value, _| async move {
                let Value::List(items) = req else {
                    return Err(Error::new(Code::InvalidArgument, "want a list"));
                };
                Ok(Value::Int(items.iter().filter_map(Value::as_i64).sum()))
            })
            .unwrap();
        let uri = server.listen(&uri).unwrap();
        let client = connect(&uri).await.unwrap();
        assert_eq!(
            client.schemaless_methods(),
            vec!["adhoc.v1.Math/Sum".to_string()]
        );
        let reply = client
            .call(
                "adhoc.v1.Math/Sum",
                &Value::list([1, 2, 39]),
                &CallOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(reply, Value::Int(42));
        let err = client
            .call(
                "adhoc.v1.Math/Sum",
                &Value::from("x"),
                &CallOptions::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_codec_over_the_wire() {
    for (uri, _dir) in endpoints("jsoncodec")
        .into_iter()
        .chain(on_free_ports(&["http", "ws"]))
    {
        let server = conformance_server();
        let uri = server.listen(&uri).unwrap();
        let client = connect(&uri).await.unwrap();
        let opts = CallOptions {
            codec: Some(Codec::Json),
            ..CallOptions::default()
        };
        let req = msg(&[
            ("weight_mg", Value::Int(i64::MAX)),
            ("blob", Value::Bytes(vec![0, 255])),
        ]);
        let reply = client.call(ECHO, &req, &opts).await.unwrap();
        assert_eq!(reply.get("weight_mg"), Some(&Value::Int(i64::MAX)));
        assert_eq!(reply.get("blob"), Some(&Value::Bytes(vec![0, 255])));
        let json = client
            .call_json(
                ECHO,
                r#"{"weightMg": "12", "unicode_text": "é"}"#,
                &CallOptions::default(),
                false,
            )
            .await
            .unwrap();
        assert_eq!(json, r#"{"unicodeText":"é","weightMg":"12"}"#);
    }
}

#[test]
fn registration_is_checked_against_the_schema() {
    let server = Server::new(conformance_schema());
    let err = server
        .unary("hms.conformance.v1.Conformance/Nope", |r, _| async move {
            Ok(r)
        })
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = server
        .unary("hms.conformance.v1.Conformance/Bidi", |r, _| async move {
            Ok(r)
        })
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("bidi_streaming"), "{err}");
    assert_eq!(
        server.listen("tcp://x").unwrap_err().code(),
        Code::InvalidArgument
    );
    // A shm NAME is letters, digits, '.', '_', '-' (or an absolute socket path).
    assert_eq!(
        server.listen("shm://a/b").unwrap_err().code(),
        Code::InvalidArgument
    );
    // TLS schemes need the server's [tls] settings.
    assert_eq!(
        server.listen("wss://127.0.0.1:1").unwrap_err().code(),
        Code::InvalidArgument
    );
}

#[test]
fn blocking_api_and_nested_calls_from_plain_threads() {
    let backend = conformance_server();
    backend.listen("inproc://backend").unwrap();
    let (_dir, uri) = common::unix_uri("frontend");
    let frontend = Server::new(conformance_schema());
    frontend
        .unary(ECHO, |req, _| async move {
            // A handler that calls another server.
            let backend = connect("inproc://backend").await?;
            let mut reply = backend.call(ECHO, &req, &CallOptions::default()).await?;
            if let Value::Map(entries) = &mut reply {
                entries.retain(|(k, _)| k.as_str() != Some("tags"));
                entries.push((Value::from("tags"), Value::list(["via-frontend"])));
            }
            Ok(reply)
        })
        .unwrap();
    frontend
        .unary_blocking(SLEEP, |_req, _ctx| {
            std::thread::sleep(Duration::from_millis(5));
            Ok(Value::Map(vec![]))
        })
        .unwrap();
    frontend.listen(&uri).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let uri = uri.clone();
            std::thread::spawn(move || {
                let client = connect_blocking(&uri).unwrap();
                for j in 0..20 {
                    let reply = client
                        .call_blocking(ECHO, &text(&format!("{i}-{j}")), &CallOptions::default())
                        .unwrap();
                    assert_eq!(
                        reply.get("unicode_text").and_then(Value::as_str),
                        Some(format!("{i}-{j}").as_str())
                    );
                    assert_eq!(reply.get("tags"), Some(&Value::list(["via-frontend"])));
                }
                client
                    .call_blocking(SLEEP, &Value::Map(vec![]), &CallOptions::default())
                    .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_server_makes_calls_unavailable() {
    for (uri, _dir) in all_endpoints("dropped") {
        let server = conformance_server();
        let uri = server.listen(&uri).unwrap();
        let client = connect(&uri).await.unwrap();
        client
            .call(ECHO, &text("a"), &CallOptions::default())
            .await
            .unwrap();
        drop(server);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let err = client
            .call(ECHO, &text("b"), &CallOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{uri}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn int64_fields_can_be_presented_as_bigint_text_on_both_sides() {
    use hms_ffi_core::mapping::DecodeOptions;
    let wide = DecodeOptions {
        int64_as_bigint: true,
        ..DecodeOptions::default()
    };
    let server = Server::with_options(
        conformance_schema(),
        ServerOptions {
            decode: wide,
            ..Default::default()
        },
    );
    server
        .unary(SCALARS, |req: Value, _| async move {
            // The handler sees 64-bit fields as text and 32-bit ones as Int.
            assert_eq!(
                req.get("int64_v"),
                Some(&Value::BigInt("-9007199254740993".into()))
            );
            assert_eq!(req.get("int32_v"), Some(&Value::Int(7)));
            Ok(req)
        })
        .unwrap();
    server.listen("inproc://wide-ints").unwrap();
    let opts = hms_ffi_core::ConnectOptions {
        decode: wide,
        ..Default::default()
    };
    let client = hms_ffi_core::connect_with("inproc://wide-ints", opts)
        .await
        .unwrap();
    let req = msg(&[
        ("int64_v", Value::Int(-9_007_199_254_740_993)),
        ("uint64_v", Value::UInt(u64::MAX)),
        ("int32_v", Value::Int(7)),
    ]);
    let reply = client
        .call(SCALARS, &req, &CallOptions::default())
        .await
        .unwrap();
    assert_eq!(
        reply.get("uint64_v"),
        Some(&Value::BigInt(u64::MAX.to_string()))
    );
    assert_eq!(reply.get("int32_v"), Some(&Value::Int(7)));
    // Without the option the same reply is plain integers.
    let plain = connect("inproc://wide-ints").await.unwrap();
    let reply = plain
        .call(SCALARS, &req, &CallOptions::default())
        .await
        .unwrap();
    assert_eq!(reply.get("uint64_v"), Some(&Value::UInt(u64::MAX)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_token_ends_the_call_and_the_handler_sees_it() {
    for (uri, _dir) in endpoints("cancel-token") {
        let server = Server::new(conformance_schema());
        let saw_cancel = Arc::new(AtomicBool::new(false));
        let flag = saw_cancel.clone();
        server
            .unary(SLEEP, move |_req, ctx: Context| {
                let flag = flag.clone();
                async move {
                    // Over inproc the handler's future is dropped; over unix its context is
                    // cancelled: either way it ends.
                    let guard = scopeguard(flag);
                    ctx.cancellation_token().cancelled().await;
                    drop(guard);
                    Ok(msg(&[]))
                }
            })
            .unwrap();
        server.listen(&uri).unwrap();
        let client = connect(&uri).await.unwrap();
        let token = tokio_util::sync::CancellationToken::new();
        let opts = CallOptions {
            cancel: Some(token.clone()),
            ..CallOptions::default()
        };
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            token.cancel();
        });
        let err = client
            .call(SLEEP, &msg(&[("millis", Value::from(60_000))]), &opts)
            .await
            .unwrap_err();
        canceller.await.unwrap();
        assert_eq!(err.code(), Code::Cancelled, "{uri}: {err}");
        for _ in 0..100 {
            if saw_cancel.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            saw_cancel.load(Ordering::SeqCst),
            "{uri}: handler not cancelled"
        );
    }
}

#[test]
fn cbor_bignums_carry_64_bit_integers_and_read_back_as_integers() {
    for (text, back) in [
        ("5", Value::Int(5)),
        ("-9007199254740993", Value::Int(-9_007_199_254_740_993)),
        ("18446744073709551615", Value::UInt(u64::MAX)),
        (
            "-18446744073709551617",
            Value::BigInt("-18446744073709551617".into()),
        ),
    ] {
        let bytes = Codec::Cbor
            .encode(None, &Value::BigInt(text.into()), 8)
            .unwrap();
        // Always a bignum tag (0xc2 positive, 0xc3 negative), so readers know it is 64-bit.
        assert!(matches!(bytes[0], 0xc2 | 0xc3), "{text}: {bytes:02x?}");
        assert_eq!(Codec::Cbor.decode(None, &bytes, 8).unwrap(), back, "{text}");
    }
}
