//! The `hms-ffi` binary end to end: `serve --echo`, `call`, `list`, `check` over unix, http and ws.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{audit_lines, bin, free_port, proto, run, text, wait_for_ports, Serve};

fn serve(sock: &Path) -> Serve {
    let mut child = bin()
        .args(["serve", "--echo", "--schema"])
        .arg(proto())
        .arg("--listen")
        .arg(format!("unix://{}", sock.display()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if sock.exists() {
            return Serve(child);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("hms-ffi serve did not create {}", sock.display());
}

#[test]
fn serve_echo_call_and_list_over_unix() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("cli.sock");
    let _server = serve(&sock);
    let uri = format!("unix://{}", sock.display());

    let out = run(&["list", &uri]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert!(
        listed.contains("hms.conformance.v1.Conformance\n"),
        "{listed}"
    );
    assert!(listed.contains("hms.conformance.v1.Conformance/Echo(hms.conformance.v1.AllTypes) returns (hms.conformance.v1.AllTypes)"), "{listed}");
    assert!(listed.contains("Bidi(hms.conformance.v1.AllTypes) returns (hms.conformance.v1.AllTypes) [bidi_streaming]"), "{listed}");

    // Full decode, validation and re-encode: int64 as JSON string, camelCase accepted, enum by number.
    let out = run(&[
        "call",
        &uri,
        "hms.conformance.v1.Conformance/Echo",
        r#"{"weight_mg": 9007199254740993, "unicodeText": "héllo", "color": 2, "at": "2024-02-29T12:00:00+01:00"}"#,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        r#"{"color":"COLOR_GREEN","at":"2024-02-29T11:00:00Z","unicodeText":"héllo","weightMg":"9007199254740993"}"#
    );

    let out = run(&[
        "call",
        &uri,
        "hms.conformance.v1.Conformance/EchoScalars",
        "{}",
        "--emit-defaults",
    ]);
    assert!(
        text(&out.stdout).contains(r#""int64V":"0""#),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn errors_go_to_stderr_with_the_code_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("cli-err.sock");
    let _server = serve(&sock);
    let uri = format!("unix://{}", sock.display());

    let out = run(&[
        "call",
        &uri,
        "hms.conformance.v1.Conformance/Echo",
        r#"{"items": [{}, {}, {"price": "cheap"}], "nope": 1}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.starts_with("INVALID_ARGUMENT: "), "{err}");
    assert!(err.contains("items[2].price"), "{err}");
    assert!(err.contains("nope: unknown field"), "{err}");

    // Fail is not an echo method (its types differ), so the echo server has no handler for it.
    let out = run(&["call", &uri, "hms.conformance.v1.Conformance/Fail", "{}"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("UNIMPLEMENTED: "),
        "{}",
        text(&out.stderr)
    );

    let out = run(&["call", &uri, "no.Such/Method", "{}"]);
    assert!(text(&out.stderr).starts_with("UNIMPLEMENTED: "));

    let out = run(&[
        "call",
        &uri,
        "hms.conformance.v1.Conformance/Echo",
        "{not json",
    ]);
    assert!(
        text(&out.stderr).starts_with("INVALID_ARGUMENT: invalid JSON"),
        "{}",
        text(&out.stderr)
    );

    let out = run(&["list", "unix:///nonexistent/hms.sock"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("UNAVAILABLE: "));
}

#[test]
fn check_reports_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.proto");
    std::fs::write(
        &bad,
        "syntax = \"proto3\";\nmessage A {\n  int32 x = ;\n}\n",
    )
    .unwrap();
    let out = bin().arg("check").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("bad.proto:3:"),
        "{}",
        text(&out.stderr)
    );

    let out = bin().arg("check").arg(proto()).output().unwrap();
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("hms.conformance.v1.Conformance/Sleep"));
}

#[test]
fn list_and_call_over_http_and_ws() {
    let (http, ws) = (free_port(), free_port());
    // Dropping it kills the server, also when an assertion fails.
    let _server = Serve(
        bin()
            .args(["serve", "--echo", "--schema"])
            .arg(proto())
            .args(["--listen", &format!("http://127.0.0.1:{http}")])
            .args(["--listen", &format!("ws://127.0.0.1:{ws}")])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(
        wait_for_ports(&[http, ws]),
        "hms-ffi serve did not listen on http:// and ws://"
    );
    for uri in [
        format!("http://127.0.0.1:{http}"),
        format!("ws://127.0.0.1:{ws}"),
    ] {
        let out = run(&["list", &uri]);
        assert!(out.status.success(), "{uri}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("hms.conformance.v1.Conformance/Echo("),
            "{uri}"
        );
        let out = run(&[
            "call",
            &uri,
            "hms.conformance.v1.Conformance/Echo",
            r#"{"unicodeText": "over the network", "weightMg": "7"}"#,
            "--timeout",
            "5",
        ]);
        assert!(out.status.success(), "{uri}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout).trim(),
            r#"{"unicodeText":"over the network","weightMg":"7"}"#,
            "{uri}"
        );
        let out = run(&["call", &uri, "hms.conformance.v1.Conformance/Nope", "{}"]);
        assert!(!out.status.success(), "{uri}");
        assert!(
            text(&out.stderr).contains("UNIMPLEMENTED"),
            "{uri}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn serve_takes_a_policy_and_an_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("cli-sec.sock");
    let policy = dir.path().join("policy.toml");
    let audit = dir.path().join("audit.jsonl");
    std::fs::write(
        &policy,
        "default_local = \"deny\"\n[[rule]]\nidentities = [\"uid:*\"]\n\
         allow = [\"hms.conformance.v1.Conformance/EchoScalars\"]\n",
    )
    .unwrap();
    let child = bin()
        .args(["serve", "--echo", "--schema"])
        .arg(proto())
        .arg("--listen")
        .arg(format!("unix://{}", sock.display()))
        .arg("--policy")
        .arg(&policy)
        .arg("--audit")
        .arg(&audit)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Dropping it kills the server, also when an assertion fails.
    let _server = Serve(child);
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let uri = format!("unix://{}", sock.display());

    // Discovery lists only the allowed method.
    let out = run(&["list", &uri]);
    let listed = text(&out.stdout);
    assert!(listed.contains("EchoScalars"), "{listed}");
    assert!(!listed.contains("Conformance/Echo\n"), "{listed}");
    let out = run(&[
        "call",
        &uri,
        "hms.conformance.v1.Conformance/EchoScalars",
        r#"{"string_v": "hi"}"#,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let lines = audit_lines(&audit, 3);
    let scalars: Vec<_> = lines
        .iter()
        .filter(|l| l["method"] == "hms.conformance.v1.Conformance/EchoScalars")
        .collect();
    assert_eq!(scalars.len(), 1, "{lines:?}");
    assert_eq!(scalars[0]["code"], "OK");
    assert!(scalars[0]["identity"].as_str().unwrap().starts_with("uid:"));
}

/// `auto://NAME` from the CLI: `serve --listen auto://NAME` announces the name in the runtime
/// directory (here a private one), `call auto://NAME` finds the server by it, forced to a
/// transport with `?transports=`; the record goes when the server stops.
#[test]
fn serve_and_call_by_name_with_auto() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("hms-ffi/auto/cli-auto.json");
    let child = bin()
        .env("XDG_RUNTIME_DIR", dir.path())
        .args(["serve", "--echo", "--schema"])
        .arg(proto())
        .args(["--listen", "auto://cli-auto"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if record.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    let mut server = Serve(child);
    assert!(record.exists(), "no record {}", record.display());
    for uri in ["auto://cli-auto", "auto://cli-auto?transports=unix"] {
        let out = bin()
            .env("XDG_RUNTIME_DIR", dir.path())
            .args(["call", uri, "hms.conformance.v1.Conformance/Echo"])
            .arg(r#"{"unicodeText": "by name"}"#)
            .output()
            .unwrap();
        assert!(out.status.success(), "{uri}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), r#"{"unicodeText":"by name"}"#);
    }
    let out = bin()
        .env("XDG_RUNTIME_DIR", dir.path())
        .args([
            "call",
            "auto://nobody-serves-this",
            "hms.conformance.v1.Conformance/Echo",
            "{}",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("UNAVAILABLE"),
        "{}",
        text(&out.stderr)
    );
    // SIGTERM: the server shuts down and takes its record with it.
    let term = std::process::Command::new("kill")
        .arg(&pid)
        .status()
        .unwrap();
    assert!(term.success());
    for _ in 0..200 {
        if server.0.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        server.0.try_wait().unwrap().is_some(),
        "serve did not stop on SIGTERM"
    );
    assert!(!record.exists(), "the record outlived its server");
}
