//! `hms-ffi serve --admin`: the admin listener beside the served endpoints, `/metrics` counting
//! the calls `hms-ffi call` made and `/healthz` answering.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

use common::{bin, free_port, proto, run, text, wait_for_ports, Serve};

/// `GET path` on `127.0.0.1:port`: the status line's code and the body.
fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    (
        head.split(' ').nth(1).unwrap().parse().unwrap(),
        body.to_string(),
    )
}

#[test]
fn serve_with_an_admin_listener_counts_the_calls() {
    let (http, admin) = (free_port(), free_port());
    let _server = Serve(
        bin()
            .args(["serve", "--echo", "--schema"])
            .arg(proto())
            .args(["--listen", &format!("http://127.0.0.1:{http}")])
            .args(["--admin", &format!("http://127.0.0.1:{admin}")])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(wait_for_ports(&[http, admin]), "no admin listener");
    let uri = format!("http://127.0.0.1:{http}");
    for _ in 0..3 {
        let out = run(&[
            "call",
            &uri,
            "hms.conformance.v1.Conformance/Echo",
            "{}",
            "--timeout",
            "5",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(get(admin, "/healthz"), (200, "ok\n".to_string()));
    let (status, metrics) = get(admin, "/metrics");
    assert_eq!(status, 200);
    let line = "grpc_server_call_started_total{grpc_method=\"hms.conformance.v1.Conformance/Echo\",hms_transport=\"http\"} 3";
    assert!(metrics.lines().any(|l| l == line), "{metrics}");
    assert_eq!(get(admin, "/other").0, 404);
}
