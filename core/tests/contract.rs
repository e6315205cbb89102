//! The call semantics the core owns, the same on every transport: an error carries the response
//! headers and trailers the handler set; code OK is never sent as a success; `close` fails the
//! calls in flight and every later call with CANCELLED (CLIENT_CLOSED).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{all_endpoints, conformance_schema, msg};
use hms_ffi_core::{connect, CallOptions, Code, Error, Server, Value};

const ECHO: &str = "hms.conformance.v1.Conformance/Echo";
const FAIL: &str = "hms.conformance.v1.Conformance/Fail";
const SLEEP: &str = "hms.conformance.v1.Conformance/Sleep";

fn reason(e: &Error) -> Option<&str> {
    e.details().error_info.as_ref().map(|i| i.reason.as_str())
}

fn server() -> Server {
    let server = Server::new(conformance_schema());
    server
        .unary(ECHO, |req, _ctx| async move { Ok(req) })
        .unwrap();
    server
        .unary(FAIL, |req, ctx| async move {
            ctx.set_header("x-conf-h", "head")?;
            ctx.set_trailer("x-conf-t", "why")?;
            let code = req.get("code").and_then(Value::as_str).unwrap_or("");
            Err(Error::new(
                code.parse().unwrap_or(Code::Unknown),
                "it failed",
            ))
        })
        .unwrap();
    server
        .unary(SLEEP, |_req, _ctx| async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(Value::message::<&str>([]))
        })
        .unwrap();
    server
}

fn fail(code: &str) -> Value {
    msg(&[("code", Value::from(code)), ("message", Value::from("x"))])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_carries_the_handlers_trailers_on_every_transport() {
    let server = server();
    for (uri, _dir) in all_endpoints("contract-trailers") {
        let bound = server.listen(&uri).unwrap();
        let client = connect(&bound).await.unwrap();
        let err = client
            .call(FAIL, &fail("NOT_FOUND"), &CallOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{bound}");
        assert_eq!(
            err.trailers().get("x-conf-t"),
            Some("why"),
            "{bound}: {err:?}"
        );
        // gRPC answers a failure before any message trailers-only: the header is a trailer.
        let header = err
            .headers()
            .get("x-conf-h")
            .or(err.trailers().get("x-conf-h"));
        assert_eq!(header, Some("head"), "{bound}: {err:?}");
        let details = err.details_value();
        let trailers = details.get("trailers").unwrap();
        assert_eq!(
            trailers.get("x-conf-t"),
            Some(&Value::from("why")),
            "{bound}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_ok_from_a_handler_is_unknown_on_every_transport() {
    let server = server();
    for (uri, _dir) in all_endpoints("contract-ok") {
        let bound = server.listen(&uri).unwrap();
        let client = connect(&bound).await.unwrap();
        let err = client
            .call(FAIL, &fail("OK"), &CallOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unknown, "{bound}: {err:?}");
        assert_eq!(reason(&err), Some("OK_IS_NOT_AN_ERROR"), "{bound}: {err:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_is_cancelled_for_calls_in_flight_and_later_on_every_transport() {
    let server = server();
    for (uri, _dir) in all_endpoints("contract-close") {
        let bound = server.listen(&uri).unwrap();
        let client = connect(&bound).await.unwrap();
        let sleeper = client.clone();
        let in_flight = tokio::spawn(async move {
            let empty = Value::message::<&str>([]);
            sleeper.call(SLEEP, &empty, &CallOptions::default()).await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        client.close();
        assert!(client.is_closed());
        let err = tokio::time::timeout(Duration::from_secs(5), in_flight)
            .await
            .expect("the call in flight ends at close")
            .unwrap()
            .unwrap_err();
        assert_eq!(err.code(), Code::Cancelled, "{bound}: {err:?}");
        assert_eq!(reason(&err), Some("CLIENT_CLOSED"), "{bound}: {err:?}");
        let later = client
            .call(ECHO, &msg(&[]), &CallOptions::default())
            .await
            .unwrap_err();
        assert_eq!(later.code(), Code::Cancelled, "{bound}: {later:?}");
        assert_eq!(reason(&later), Some("CLIENT_CLOSED"), "{bound}");
        client.close(); // twice is harmless
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_cancels_the_handlers_of_calls_in_flight_on_every_transport() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let cancelled = Arc::new(AtomicUsize::new(0));
    let server = Server::new(conformance_schema());
    let seen = cancelled.clone();
    server
        .unary(SLEEP, move |_req, ctx| {
            // In process the handler's future is dropped; across a connection its context is
            // cancelled: either way it ends and counts.
            struct Ends(Arc<AtomicUsize>);
            impl Drop for Ends {
                fn drop(&mut self) {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            let ends = Ends(seen.clone());
            async move {
                let _ends = ends;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                    _ = ctx.cancellation_token().cancelled() => {}
                }
                Ok(Value::message::<&str>([]))
            }
        })
        .unwrap();
    for (uri, _dir) in all_endpoints("contract-close-cancels") {
        let bound = server.listen(&uri).unwrap();
        let client = connect(&bound).await.unwrap();
        let before = cancelled.load(Ordering::SeqCst);
        let sleeper = client.clone();
        let call = tokio::spawn(async move {
            let empty = Value::message::<&str>([]);
            sleeper.call(SLEEP, &empty, &CallOptions::default()).await
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        client.close();
        let ended = tokio::time::timeout(Duration::from_secs(10), call).await;
        assert!(
            ended.expect("the call ends at close").unwrap().is_err(),
            "{bound}"
        );
        let mut waited = 0;
        while cancelled.load(Ordering::SeqCst) == before && waited < 100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += 1;
        }
        assert!(
            cancelled.load(Ordering::SeqCst) > before,
            "{bound}: the handler did not see its caller close"
        );
    }
}
