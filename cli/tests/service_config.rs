//! `hms-ffi serve --service-config FILE`: the config is announced in discovery and `call`
//! (which discovers the schema) calls by it; a refused config stops `serve` before it listens.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{bin, proto, run, text, Serve};

/// `serve --service-config FILE` announces the config in discovery, and `call` (which
/// discovers the schema and has no config of its own) calls by it: here a deadline of zero
/// for Echo, which its calls then exceed. A config the client's parser refuses stops `serve`
/// before it listens, with `INVALID_ARGUMENT`.
#[test]
fn serve_announces_a_service_config_that_call_uses() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("cli-svc.sock");
    let config = dir.path().join("service_config.json");
    std::fs::write(
        &config,
        r#"{"methodConfig": [{"name": [{"service": "hms.conformance.v1.Conformance",
          "method": "Echo"}], "timeout": "0s"}]}"#,
    )
    .unwrap();
    let serve_with = |config: &Path| {
        let mut command = bin();
        command
            .args(["serve", "--echo", "--schema"])
            .arg(proto())
            .arg("--listen")
            .arg(format!("unix://{}", sock.display()))
            .arg("--service-config")
            .arg(config);
        command
    };
    let _server = Serve(serve_with(&config).stderr(Stdio::null()).spawn().unwrap());
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let uri = format!("unix://{}", sock.display());
    let echo = "hms.conformance.v1.Conformance/Echo";
    let out = run(&["call", &uri, echo, "{}"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("DEADLINE_EXCEEDED: "), "{err}");
    // Other methods have no policy; a call's own timeout wins over the config's.
    let out = run(&[
        "call",
        &uri,
        "hms.conformance.v1.Conformance/EchoScalars",
        "{}",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["call", &uri, echo, "{}", "--timeout", "5"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"methodConfig": [{"retryPolicy": {"maxAttempts": 1}}]}"#,
    )
    .unwrap();
    let mut child = serve_with(&bad).stderr(Stdio::piped()).spawn().unwrap();
    let out = wait_with_timeout(&mut child);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("INVALID_ARGUMENT: invalid service config"),
        "{err}"
    );
}

/// The output of a child that should end by itself (killed after 10 s).
fn wait_with_timeout(child: &mut std::process::Child) -> std::process::Output {
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    let mut stderr = Vec::new();
    std::io::Read::read_to_end(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    std::process::Output {
        status,
        stdout: Vec::new(),
        stderr,
    }
}
