//! RPC over `nats://` (issue 22) against a nats-server of the test's own: every conformance
//! vector and semantics case, NATS micro discovery, queue groups spreading calls and a drain
//! that lets calls in flight finish, and the typed errors for what a raw NATS peer may send.
//! Skipped, saying so, only when nats-server is not installed (`make test` installs it).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use common::nats::NatsServer;
use common::semantics::{load_semantic_cases, run_semantic, skips};
use common::{conformance_server, msg};
use hms_ffi_core::{connect, CallOptions, Code, Value};

const ECHO: &str = "hms.conformance.v1.Conformance/Echo";
const SLEEP: &str = "hms.conformance.v1.Conformance/Sleep";
const FAIL: &str = "hms.conformance.v1.Conformance/Fail";

fn opts() -> CallOptions {
    CallOptions::with_timeout(Duration::from_secs(10))
}

async fn raw(nats: &NatsServer) -> async_nats::Client {
    async_nats::connect(nats.addr()).await.unwrap()
}

/// A raw request with `headers` on `subject`; the reply's headers (lower-cased) and payload.
async fn raw_request(
    client: &async_nats::Client,
    subject: &str,
    headers: &[(&str, &str)],
    payload: &'static [u8],
) -> (HashMap<String, String>, Bytes) {
    let mut h = async_nats::HeaderMap::new();
    for (k, v) in headers {
        h.insert(*k, *v);
    }
    let req = async_nats::Request::new()
        .headers(h)
        .payload(Bytes::from_static(payload))
        .timeout(Some(Duration::from_secs(10)));
    let reply = client.send_request(subject.to_string(), req).await.unwrap();
    let mut out = HashMap::new();
    for (k, vs) in reply.headers.iter().flat_map(|h| h.iter()) {
        out.insert(k.to_string().to_lowercase(), vs[0].to_string());
    }
    (out, reply.payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_and_semantics_over_nats() {
    let Some(nats) = NatsServer::start(false) else {
        return;
    };
    let server = conformance_server();
    let bound = server.listen(&nats.uri("conf")).unwrap();
    assert_eq!(bound, nats.uri("conf"));
    let client = connect(&bound).await.unwrap();
    common::run_conformance(&client, "nats").await;
    let (client_skips, server_skips) = (skips("rust", "client"), skips("rust", "server"));
    let mut failures = Vec::new();
    for case in load_semantic_cases() {
        if client_skips.contains_key(&case.name) || server_skips.contains_key(&case.name) {
            continue;
        }
        if let Err(why) = run_semantic(&case, &client).await {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn micro_discovery_answers_ping_info_and_stats() {
    let Some(nats) = NatsServer::start(false) else {
        return;
    };
    let server = conformance_server();
    server.listen(&nats.uri("disc.v1")).unwrap();
    let client = connect(&nats.uri("disc.v1")).await.unwrap();
    let fail = msg(&[
        ("code", Value::from("NOT_FOUND")),
        ("message", Value::from("gone")),
    ]);
    let err = client.call(FAIL, &fail, &opts()).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let nc = raw(&nats).await;
    let json = |b: &Bytes| serde_json::from_slice::<serde_json::Value>(b).unwrap();
    let ping = json(&nc.request("$SRV.PING", Bytes::new()).await.unwrap().payload);
    assert_eq!(ping["type"], "io.nats.micro.v1.ping_response");
    assert_eq!(ping["name"], "disc_v1");
    let id = ping["id"].as_str().unwrap().to_string();
    let info = json(
        &nc.request(format!("$SRV.INFO.disc_v1.{id}"), Bytes::new())
            .await
            .unwrap()
            .payload,
    );
    assert_eq!(info["type"], "io.nats.micro.v1.info_response");
    let endpoints = info["endpoints"].as_array().unwrap();
    let echo = endpoints
        .iter()
        .find(|e| e["metadata"]["method"] == ECHO)
        .unwrap();
    assert_eq!(
        echo["subject"],
        "disc.v1.hms.conformance.v1.Conformance.Echo"
    );
    assert_eq!(echo["queue_group"], "q");
    let stats = json(
        &nc.request("$SRV.STATS.disc_v1", Bytes::new())
            .await
            .unwrap()
            .payload,
    );
    assert_eq!(stats["type"], "io.nats.micro.v1.stats_response");
    let fail_stats = stats["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["subject"] == "disc.v1.hms.conformance.v1.Conformance.Fail")
        .unwrap();
    assert_eq!(fail_stats["num_requests"], 1);
    assert_eq!(fail_stats["num_errors"], 1);
    assert_eq!(fail_stats["last_error"], "NOT_FOUND: gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_peers_get_typed_errors_never_a_crash() {
    let Some(nats) = NatsServer::start(false) else {
        return;
    };
    let server = conformance_server();
    server.listen(&nats.uri("raw")).unwrap();
    let nc = raw(&nats).await;
    let subject = "raw.hms.conformance.v1.Conformance.Echo";
    // Protobuf that does not decode.
    let (h, body) = raw_request(&nc, subject, &[], b"\xff\xff\xff").await;
    assert_eq!(h["hms-status"], Code::InvalidArgument.as_i32().to_string());
    assert_eq!(h["nats-service-error-code"], "400");
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "invalid_argument");
    // A content type no codec has.
    let (h, _) = raw_request(&nc, subject, &[("Content-Type", "text/plain")], b"x").await;
    assert_eq!(h["hms-status"], Code::InvalidArgument.as_i32().to_string());
    // JSON on request, and a reply in JSON; a wrongly typed field is located.
    let ct = [("Content-Type", "application/json")];
    let (h, body) = raw_request(&nc, subject, &ct, br#"{"scalars": {"s": 1}}"#).await;
    assert_eq!(h["hms-status"], Code::InvalidArgument.as_i32().to_string());
    assert!(String::from_utf8_lossy(&body).contains(r#""field":"scalars.s""#));
    let json = br#"{"scalars": {"stringV": "hi"}}"#;
    let (h, body) = raw_request(&nc, subject, &ct, json).await;
    assert_eq!(h["hms-status"], "0", "{}", String::from_utf8_lossy(&body));
    assert_eq!(h["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["scalars"]["stringV"], "hi");
    // A streaming method: Unimplemented, with the reason.
    let stream = "raw.hms.conformance.v1.Conformance.ServerStream";
    let (h, body) = raw_request(&nc, stream, &[], b"").await;
    assert_eq!(h["hms-status"], Code::Unimplemented.as_i32().to_string());
    assert!(String::from_utf8_lossy(&body).contains("NATS_STREAMS_UNSUPPORTED"));
    // The server still serves.
    let client = connect(&nats.uri("raw")).await.unwrap();
    let req = msg(&[("numbers", Value::List(vec![Value::Int(7)]))]);
    let reply = client.call(ECHO, &req, &opts()).await.unwrap();
    assert_eq!(
        reply.get("numbers"),
        Some(&Value::List(vec![Value::Int(7)]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_responders_is_unavailable_and_deadlines_bound_calls() {
    let Some(nats) = NatsServer::start(false) else {
        return;
    };
    let client = connect(&nats.uri("nobody")).await;
    // Discovery finds nobody: the connect itself fails Unavailable.
    assert_eq!(client.err().map(|e| e.code()), Some(Code::Unavailable));
    let server = conformance_server();
    server.listen(&nats.uri("slow")).unwrap();
    let client = connect(&nats.uri("slow")).await.unwrap();
    let req = msg(&[("millis", Value::Int(5_000))]);
    let short = CallOptions::with_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let err = client.call(SLEEP, &req, &short).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_group_spreads_calls_and_a_draining_server_finishes_its_calls() {
    let Some(nats) = NatsServer::start(false) else {
        return;
    };
    let uri = nats.uri("pool");
    let (a, b) = (conformance_server(), conformance_server());
    a.listen(&uri).unwrap();
    b.listen(&uri).unwrap();
    let nc = raw(&nats).await;
    let stats = |nc: async_nats::Client| async move {
        // Each instance answers STATS; count the Echo requests each has served.
        let inbox = nc.new_inbox();
        let mut sub = nc.subscribe(inbox.clone()).await.unwrap();
        nc.publish_with_reply("$SRV.STATS.pool", inbox, Bytes::new())
            .await
            .unwrap();
        let mut counts = Vec::new();
        for _ in 0..2 {
            use futures_util::StreamExt;
            let m = tokio::time::timeout(Duration::from_secs(5), sub.next())
                .await
                .unwrap()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
            let echo = v["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["subject"] == "pool.hms.conformance.v1.Conformance.Echo")
                .map(|e| e["num_requests"].as_u64().unwrap())
                .unwrap();
            counts.push(echo);
        }
        counts
    };
    let client = connect(&uri).await.unwrap();
    for _ in 0..40 {
        client.call(ECHO, &msg(&[]), &opts()).await.unwrap();
    }
    let counts = stats(nc.clone()).await;
    assert_eq!(counts.iter().sum::<u64>(), 40, "{counts:?}");
    assert!(
        counts.iter().all(|c| *c > 0),
        "one server got every call: {counts:?}"
    );
    // Calls in flight on a server that shuts down finish; later calls go to the other one.
    let slow = msg(&[("millis", Value::Int(500))]);
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let (c, s) = (client.clone(), slow.clone());
            tokio::spawn(async move { c.call(SLEEP, &s, &opts()).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    a.shutdown(Duration::from_secs(5)).await;
    for c in calls {
        c.await.unwrap().unwrap();
    }
    for _ in 0..5 {
        client.call(ECHO, &msg(&[]), &opts()).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_micro_error_reaches_the_client_typed() {
    let Some(nats) = NatsServer::start(false) else {
        return;
    };
    // A responder that follows only NATS micro's error convention, like a stock micro service.
    let nc = raw(&nats).await;
    let mut sub = nc
        .subscribe("stock.hms.conformance.v1.Conformance.Echo")
        .await
        .unwrap();
    let responder = nc.clone();
    tokio::spawn(async move {
        use futures_util::StreamExt;
        while let Some(m) = sub.next().await {
            let mut h = async_nats::HeaderMap::new();
            h.insert("Nats-Service-Error", "no stock for you");
            h.insert("Nats-Service-Error-Code", "404");
            let _ = responder
                .publish_with_headers(m.reply.unwrap(), h, Bytes::new())
                .await;
        }
    });
    // A request on the same connection: answered once the nats-server has the subscription
    // (async-nats's flush only writes the socket).
    let (h, _) = raw_request(&nc, "stock.hms.conformance.v1.Conformance.Echo", &[], b"").await;
    assert_eq!(h["nats-service-error-code"], "404");
    let options = hms_ffi_core::ConnectOptions {
        schema: Some(common::conformance_schema()),
        ..Default::default()
    };
    let client = hms_ffi_core::connect_with(&nats.uri("stock"), options)
        .await
        .unwrap();
    let err = client.call(ECHO, &msg(&[]), &opts()).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::NotFound, "no stock for you")
    );
}
