//! Limits on every transport: each one tripped by one client while another is still served,
//! and slow-loris connections (a partial frame or partial headers, then silence) that do not
//! starve anyone.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::time::Duration;

use common::{all_endpoints, conformance_schema, msg};
use hms_ffi_core::security::{Security, TlsConfig};
use hms_ffi_core::{connect, CallOptions, Code, Limits, Server, ServerOptions, Value};

const ECHO: &str = "hms.conformance.v1.Conformance/Echo";
const SLEEP: &str = "hms.conformance.v1.Conformance/Sleep";

fn text(s: &str) -> Value {
    msg(&[("unicode_text", Value::from(s))])
}

/// `Level` nested `n` deep.
fn deep(n: usize) -> Value {
    let mut v = msg(&[("tag", Value::from("leaf"))]);
    for _ in 0..n {
        v = msg(&[("tag", Value::from("x")), ("child", v)]);
    }
    msg(&[("deep", v)])
}

fn limited_server(limits: Limits) -> Server {
    let server = Server::with_options(
        conformance_schema(),
        ServerOptions {
            limits,
            ..Default::default()
        },
    );
    server.unary(ECHO, |req, _| async move { Ok(req) }).unwrap();
    server
        .unary(SLEEP, |_req, ctx| async move {
            ctx.cancelled().await;
            Ok(Value::Map(vec![]))
        })
        .unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_limit_trips_for_one_client_while_another_is_served() {
    for (uri, _dir) in all_endpoints("sec-limits") {
        let server = limited_server(Limits {
            max_message_bytes: 1024,
            max_depth: 8,
            max_concurrent_per_connection: 1,
            max_concurrent_per_server: 3,
            max_deadline: Some(Duration::from_millis(1500)),
        });
        let uri = server.listen(&uri).unwrap();
        let greedy = connect(&uri).await.unwrap();
        let other = connect(&uri).await.unwrap();
        let opts = CallOptions::with_timeout(Duration::from_secs(5));
        let served = |c: hms_ffi_core::Client, o: CallOptions| async move {
            let r = c.call(ECHO, &text("still served"), &o).await.unwrap();
            assert_eq!(
                r.get("unicode_text").and_then(Value::as_str),
                Some("still served")
            );
        };

        // Message size.
        let big = msg(&[("blob", Value::Bytes(vec![b'x'; 4096]))]);
        let e = greedy.call(ECHO, &big, &opts).await.unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted, "{uri} size: {e}");
        served(other.clone(), opts.clone()).await;

        // Nesting depth.
        let e = greedy.call(ECHO, &deep(20), &opts).await.unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted, "{uri} depth: {e}");
        assert!(greedy.call(ECHO, &deep(3), &opts).await.is_ok(), "{uri}");
        served(other.clone(), opts.clone()).await;

        // The deadline ceiling: a call asking for an hour ends at 1.5 s.
        let long = CallOptions::with_timeout(Duration::from_secs(3600));
        let g = greedy.clone();
        let held = tokio::spawn(async move { g.call(SLEEP, &Value::Map(vec![]), &long).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        served(other.clone(), opts.clone()).await;
        let e = held.await.unwrap().unwrap_err();
        assert_eq!(e.code(), Code::DeadlineExceeded, "{uri} ceiling: {e}");

        // Concurrent calls per server: three held calls fill it; the fourth is refused; once
        // they end, everyone is served again.
        let mut held = Vec::new();
        for _ in 0..3 {
            let c = connect(&uri).await.unwrap();
            let o = CallOptions::with_timeout(Duration::from_millis(800));
            held.push(tokio::spawn(async move {
                c.call(SLEEP, &Value::Map(vec![]), &o).await
            }));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let e = other.call(ECHO, &text("x"), &opts).await.unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted, "{uri} per server: {e}");
        for h in held {
            let _ = h.await.unwrap();
        }
        served(other.clone(), opts.clone()).await;
        served(greedy.clone(), opts.clone()).await;
    }
}

/// Opens `n` connections that send `partial` and then nothing.
fn slow_loris(addr: &str, n: usize, partial: &[u8]) -> Vec<Box<dyn Send>> {
    (0..n)
        .map(|_| -> Box<dyn Send> {
            if let Some(path) = addr.strip_prefix("unix://") {
                let mut s = std::os::unix::net::UnixStream::connect(path).unwrap();
                s.write_all(partial).unwrap();
                Box::new(s)
            } else {
                let hostport = addr.split_once("://").unwrap().1;
                let mut s = std::net::TcpStream::connect(hostport).unwrap();
                s.write_all(partial).unwrap();
                Box::new(s)
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_connections_do_not_starve_other_clients() {
    let cases: [(&str, &[u8]); 5] = [
        // Half a frame header.
        ("unix", &[0x48, 0x4d, 0x53]),
        // Half the HTTP/2 preface.
        ("grpc", b"PRI * HTTP/2.0\r\n"),
        // Request line and one header, never the blank line.
        (
            "http",
            b"POST /hms.conformance.v1.Conformance/Echo HTTP/1.1\r\nHost: x\r\n",
        ),
        // A WebSocket upgrade that never finishes its headers.
        ("ws", b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"),
        // A gRPC client that sends the preface and stops.
        ("grpc", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ];
    for (scheme, partial) in cases {
        let dir = tempfile::tempdir().unwrap();
        let listen_uri = match scheme {
            "unix" => format!("unix://{}", dir.path().join("loris.sock").display()),
            s => format!("{s}://127.0.0.1:0"),
        };
        let server = limited_server(Limits::default());
        let uri = server.listen(&listen_uri).unwrap();
        let _slow = slow_loris(&uri, 64, partial);
        let client = connect(&uri).await.unwrap();
        let opts = CallOptions::with_timeout(Duration::from_secs(3));
        let calls = (0..20).map(|i| {
            let c = client.clone();
            let o = opts.clone();
            tokio::spawn(async move { c.call(ECHO, &text(&format!("n{i}")), &o).await })
        });
        for (i, h) in calls.enumerate() {
            let r = h.await.unwrap().unwrap_or_else(|e| panic!("{scheme}: {e}"));
            assert_eq!(
                r.get("unicode_text").and_then(Value::as_str),
                Some(format!("n{i}").as_str())
            );
        }
    }
}

/// The TLS transports: 64 connections that stop inside the TLS handshake (a ClientHello's record
/// and handshake headers, then nothing) hold only their own tasks; they are dropped after 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_tls_handshakes_do_not_starve_other_clients() {
    let dir = tempfile::tempdir().unwrap();
    let pki = common::pki::Pki::new(dir.path(), "ca");
    let (cert, key) = common::pki::server_cert(&pki);
    let tls = TlsConfig {
        cert_file: Some(cert),
        key_file: Some(key),
        ..TlsConfig::default()
    };
    let options = ServerOptions::default().with_security(Security::new().with_tls(&tls).unwrap());
    let tls_server = Server::with_options(conformance_schema(), options);
    tls_server
        .unary(ECHO, |req, _| async move { Ok(req) })
        .unwrap();
    let partial: &[u8] = &[
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    for scheme in ["grpcs", "https", "wss"] {
        let uri = tls_server
            .listen(&format!("{scheme}://127.0.0.1:0"))
            .unwrap();
        let _slow = slow_loris(&uri, 64, partial);
        let uri = format!("{uri}?ca={}", pki.ca_file("ca").display());
        let client = connect(&uri).await.unwrap();
        let opts = CallOptions::with_timeout(Duration::from_secs(3));
        for i in 0..20 {
            let r = client.call(ECHO, &text(&format!("n{i}")), &opts).await;
            let r = r.unwrap_or_else(|e| panic!("{scheme}: {e}"));
            assert_eq!(
                r.get("unicode_text").and_then(Value::as_str),
                Some(format!("n{i}").as_str())
            );
        }
    }
}
