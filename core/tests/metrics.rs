//! Call metrics and the admin listener (issue 20): after a known number of calls, `/metrics`
//! counts them per method, transport and status on both sides, with latency and size
//! histograms; calls refused by the limits are counted apart; `/healthz` answers; other paths
//! are 404. Each test uses methods of its own package, since metrics are process-wide.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::resil::{kill, listen};
use common::unix_uri;
use hms_ffi_core::security::{Policy, Security};
use hms_ffi_core::{
    connect_blocking, connect_with, runtime::block_on, CallOptions, Code, ConnectOptions, Error,
    Limits, Schema, Server, ServerOptions, Value,
};

fn schema(package: &str) -> Schema {
    Schema::from_source(
        "m.proto",
        &format!(
            r#"syntax = "proto3"; package {package};
            message Msg {{ string text = 1; bool fail = 2; }}
            service Svc {{ rpc Echo(Msg) returns (Msg); }}"#
        ),
    )
    .unwrap()
}

/// `GET path` on the admin listener: status and body.
fn get(admin: &str, path: &str) -> (u16, String) {
    let authority = admin.strip_prefix("http://").unwrap();
    let mut s = std::net::TcpStream::connect(authority).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// The value of the sample `name{labels…}` whose labels include every one of `want`.
fn sample(text: &str, name: &str, want: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(key, _)| {
            key.split('{').next() == Some(name) && want.iter().all(|w| key.contains(w))
        })
        .map(|(_, v)| v.parse().unwrap())
}

fn echo_server(package: &str, options: ServerOptions) -> Server {
    let server = Server::with_options(schema(package), options);
    server
        .unary(&format!("{package}.Svc/Echo"), |req, _| async move {
            if req.get("fail") == Some(&Value::Bool(true)) {
                return Err(Error::new(Code::FailedPrecondition, "asked to fail"));
            }
            Ok(req)
        })
        .unwrap();
    server
}

#[test]
fn metrics_count_the_calls_made_on_both_sides() {
    let package = "metricsdemo.v1";
    let method = format!("{package}.Svc/Echo");
    let server = echo_server(package, ServerOptions::default());
    let admin = server.admin("http://127.0.0.1:0").unwrap();
    let (_dir, unix) = unix_uri("m");
    let unix = listen(&server, &unix);
    let grpc = listen(&server, "grpc://127.0.0.1:0");
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    let (ok, bad) = (
        Value::message([("text", Value::from("hello"))]),
        Value::message([("fail", Value::Bool(true))]),
    );
    for (uri, oks, fails) in [(&unix, 5, 2), (&grpc, 3, 1)] {
        let client = connect_blocking(uri).unwrap();
        for _ in 0..oks {
            client.call_blocking(&method, &ok, &opts).unwrap();
        }
        for _ in 0..fails {
            let e = client.call_blocking(&method, &bad, &opts).unwrap_err();
            assert_eq!(e.code(), Code::FailedPrecondition);
        }
    }
    let (status, text) = get(&admin, "/metrics");
    assert_eq!(status, 200);
    let m = format!("grpc_method=\"{method}\"");
    for (transport, oks, fails) in [("unix", 5.0, 2.0), ("grpc", 3.0, 1.0)] {
        let t = format!("hms_transport=\"{transport}\"");
        let on = |name: &str, extra: &[&str]| {
            let mut want = vec![m.as_str(), t.as_str()];
            want.extend_from_slice(extra);
            sample(&text, name, &want).unwrap_or_else(|| panic!("{name} {want:?} in\n{text}"))
        };
        assert_eq!(on("grpc_server_call_started_total", &[]), oks + fails);
        assert_eq!(
            on(
                "grpc_server_call_duration_seconds_count",
                &["grpc_status=\"OK\""]
            ),
            oks
        );
        assert_eq!(
            on(
                "grpc_server_call_duration_seconds_count",
                &["grpc_status=\"FAILED_PRECONDITION\""]
            ),
            fails
        );
        assert_eq!(
            on(
                "grpc_server_call_duration_seconds_bucket",
                &["grpc_status=\"OK\"", "le=\"+Inf\""]
            ),
            oks
        );
        assert!(
            on(
                "grpc_server_call_duration_seconds_sum",
                &["grpc_status=\"OK\""]
            ) > 0.0
        );
        assert_eq!(on("hms_server_calls_in_flight", &[]), 0.0);
        assert_eq!(
            on(
                "grpc_server_call_rcvd_total_compressed_message_size_bytes_count",
                &[]
            ),
            oks
        );
        // "hello" as protobuf: 7 bytes, in the 1 KiB bucket and not in the 0 one.
        assert_eq!(
            on(
                "grpc_server_call_rcvd_total_compressed_message_size_bytes_sum",
                &[]
            ),
            oks * 7.0
        );
        assert_eq!(
            on(
                "grpc_server_call_rcvd_total_compressed_message_size_bytes_bucket",
                &["le=\"0\""]
            ),
            0.0
        );
        assert_eq!(on("hms_client_call_started_total", &[]), oks + fails);
        assert_eq!(
            on(
                "grpc_client_call_duration_seconds_count",
                &["grpc_status=\"OK\""]
            ),
            oks
        );
        assert_eq!(on("hms_client_calls_in_flight", &[]), 0.0);
    }
    assert_eq!(get(&admin, "/healthz"), (200, "ok\n".to_string()));
    assert_eq!(get(&admin, "/nothing").0, 404);
    kill(&server);
}

/// Makes `n` calls to a server with `options` that refuses them with `code` before the
/// handler; returns `/metrics` and the labels of the method on unix with that status.
fn refused(package: &str, options: ServerOptions, code: Code, n: usize) -> (String, [String; 3]) {
    let method = format!("{package}.Svc/Echo");
    let server = echo_server(package, options);
    let admin = server.admin("http://127.0.0.1:0").unwrap();
    let (_dir, unix) = unix_uri("r");
    let unix = listen(&server, &unix);
    // With the schema given: discovery would be refused too.
    let connect = ConnectOptions {
        schema: Some(schema(package)),
        ..ConnectOptions::default()
    };
    let client = block_on(connect_with(&unix, connect)).unwrap().unwrap();
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    for _ in 0..n {
        let e = client
            .call_blocking(&method, &Value::message::<&str>([]), &opts)
            .unwrap_err();
        assert_eq!(e.code(), code);
    }
    let (_, text) = get(&admin, "/metrics");
    assert!(server.admin("ftp://x").is_err());
    kill(&server);
    let labels = [
        format!("grpc_method=\"{method}\""),
        "hms_transport=\"unix\"".to_string(),
        format!("grpc_status=\"{}\"", code.name()),
    ];
    (text, labels)
}

#[test]
fn calls_refused_by_the_limits_are_counted_apart() {
    let options = ServerOptions {
        limits: Limits {
            max_concurrent_per_server: 0,
            ..Limits::default()
        },
        ..ServerOptions::default()
    };
    let (text, labels) = refused("metricsrefused.v1", options, Code::ResourceExhausted, 3);
    let want: Vec<&str> = labels.iter().map(String::as_str).collect();
    let at = |name: &str, want: &[&str]| sample(&text, name, want);
    assert_eq!(at("hms_server_calls_rejected_total", &want), Some(3.0));
    assert_eq!(
        at("grpc_server_call_duration_seconds_count", &want),
        Some(3.0)
    );
    assert_eq!(at("hms_server_calls_in_flight", &want[..2]), Some(0.0));
}

#[test]
fn calls_refused_by_the_policy_are_counted_apart() {
    let policy = Policy::default().deny(&["uid:*"], &["metricspolicy.v1.Svc/Echo"]);
    let options = ServerOptions::default().with_security(Security::new().with_policy(policy));
    let (text, labels) = refused("metricspolicy.v1", options, Code::PermissionDenied, 2);
    let want: Vec<&str> = labels.iter().map(String::as_str).collect();
    assert_eq!(
        sample(&text, "hms_server_calls_rejected_total", &want),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "grpc_server_call_started_total", &want[..2]),
        Some(2.0)
    );
}

#[test]
fn the_monitoring_page_and_its_stats_show_calls_errors_peers_and_refusals() {
    let package = "metricspage.v1";
    let method = format!("{package}.Svc/Echo");
    let server = echo_server(package, ServerOptions::default());
    let admin = server.admin("http://127.0.0.1:0").unwrap();
    let (_dir, unix) = unix_uri("p");
    let unix = listen(&server, &unix);
    // The client's schema has a method the server does not serve.
    let theirs = Schema::from_source(
        "m.proto",
        &format!(
            r#"syntax = "proto3"; package {package};
            message Msg {{ string text = 1; bool fail = 2; }}
            service Svc {{ rpc Echo(Msg) returns (Msg); rpc Nothing(Msg) returns (Msg); }}"#
        ),
    )
    .unwrap();
    let connect = ConnectOptions {
        schema: Some(theirs),
        ..ConnectOptions::default()
    };
    let client = block_on(connect_with(&unix, connect)).unwrap().unwrap();
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    for fail in [false, false, false, true] {
        let req = Value::message([("fail", Value::Bool(fail))]);
        let _ = client.call_blocking(&method, &req, &opts);
    }
    // A call to a method the server does not serve: refused before any handler.
    let nothing = format!("{package}.Svc/Nothing");
    let e = client
        .call_blocking(&nothing, &Value::message::<&str>([]), &opts)
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);

    let (status, page) = get(&admin, "/");
    assert_eq!(status, 200);
    assert!(page.contains("<title>hms-ffi monitor</title>") && page.contains("api/stats"));
    let (status, body) = get(&admin, "/api/stats");
    assert_eq!(status, 200);
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["serving"], true);
    assert_eq!(stats["endpoints"][0], unix.as_str());
    let rows = stats["methods"].as_array().unwrap();
    let row = |side: &str| {
        rows.iter()
            .find(|r| r["method"] == method.as_str() && r["side"] == side)
            .unwrap_or_else(|| panic!("no {side} row for {method} in {body}"))
    };
    let server_row = row("server");
    assert_eq!(server_row["transport"], "unix");
    assert_eq!(server_row["started"], 4);
    assert_eq!(server_row["inflight"], 0);
    assert_eq!(server_row["finished"]["OK"], 3);
    assert_eq!(server_row["finished"]["FAILED_PRECONDITION"], 1);
    let bounds = stats["latency_bounds_us"].as_array().unwrap().len();
    let latency = server_row["latency_cumulative"].as_array().unwrap();
    assert_eq!(
        (latency.len(), latency.last().unwrap()),
        (bounds + 1, &4.into())
    );
    assert!(server_row["p50_us"].as_u64().unwrap() <= server_row["p99_us"].as_u64().unwrap());
    assert_eq!(row("client")["started"], 4);
    let refused = stats["refusals"].as_array().unwrap();
    let r = refused
        .iter()
        .find(|r| r["method"] == nothing.as_str())
        .unwrap_or_else(|| panic!("no refusal of {nothing} in {body}"));
    assert_eq!(
        (&r["code"], &r["transport"]),
        (&"UNIMPLEMENTED".into(), &"unix".into())
    );
    let me = format!("uid:{}", common::current_uid());
    let peer = stats["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["transport"] == "unix" && p["identity"] == me.as_str())
        .unwrap_or_else(|| panic!("no unix peer {me} in {body}"));
    // The peer table is noted with a `try_lock` (a busy table skips a note, by design, so a
    // call never waits for the page): under parallel tests some of the four may be skipped.
    assert!(peer["calls"].as_u64().unwrap() >= 1, "{peer}");
    // The client's connection (and its blocking lane) are open unix connections.
    let unix_conns = stats["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["transport"] == "unix")
        .unwrap_or_else(|| panic!("no unix connections in {body}"));
    assert!(unix_conns["open"].as_i64().unwrap() >= 1, "{unix_conns}");
    assert!(
        unix_conns["accepted"].as_u64().unwrap() >= 1,
        "{unix_conns}"
    );
    let (_, text) = get(&admin, "/metrics");
    assert!(
        text.contains("hms_server_connections{hms_transport=\"unix\"}"),
        "{text}"
    );
    kill(&server);
}
