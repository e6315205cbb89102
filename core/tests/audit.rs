//! Payloads in the audit log: off by default; with `payloads = true` (or
//! `AuditLog::with_payloads`) each unary call's line carries its request and reply as protobuf
//! JSON, on every transport, and a failed call its request only.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{all_endpoints, conformance_schema, msg};
use hms_ffi_core::security::{AuditLog, Security};
use hms_ffi_core::{connect, runtime, CallOptions, Code, Error, Server, ServerOptions, Value};

const ECHO: &str = "hms.conformance.v1.Conformance/Echo";
const FAIL: &str = "hms.conformance.v1.Conformance/Fail";

type Lines = Arc<Mutex<Vec<serde_json::Value>>>;

/// A server whose audit lines (with or without payloads) are collected.
fn server(options: ServerOptions) -> Server {
    let server = Server::with_options(conformance_schema(), options);
    server.unary(ECHO, |req, _| async move { Ok(req) }).unwrap();
    server
        .unary(FAIL, |_, _| async move {
            Err::<Value, _>(Error::new(Code::NotFound, "no such invoice"))
        })
        .unwrap();
    server
}

fn collecting(payloads: bool) -> (ServerOptions, Lines) {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    let audit = AuditLog::to_callback(
        Arc::new(move |l: &str| sink.lock().unwrap().push(serde_json::from_str(l).unwrap())),
        0,
    )
    .with_payloads(payloads);
    let options = ServerOptions::default().with_security(Security::new().with_audit(audit));
    (options, lines)
}

/// The lines for `method`, once `n` of them are there.
fn lines_for(lines: &Lines, method: &str, n: usize) -> Vec<serde_json::Value> {
    let ours = || -> Vec<serde_json::Value> {
        let all = lines.lock().unwrap();
        all.iter()
            .filter(|l| l["method"] == method)
            .cloned()
            .collect()
    };
    for _ in 0..300 {
        if ours().len() >= n {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    ours()
}

fn request() -> Value {
    msg(&[
        ("tags", Value::List(vec!["a".into(), "b".into()])),
        ("weight_mg", Value::Int(1 << 40)),
    ])
}

#[test]
fn payloads_are_written_on_every_transport_when_asked_for() {
    let (options, lines) = collecting(true);
    let server = server(options);
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    for (n, (uri, _dir)) in all_endpoints("audit-payloads").iter().enumerate() {
        let uri = server.listen(uri).unwrap();
        let client = runtime::block_on(connect(&uri)).unwrap().unwrap();
        client.call_blocking(ECHO, &request(), &opts).unwrap();
        let e = client.call_blocking(FAIL, &msg(&[]), &opts).unwrap_err();
        assert_eq!(e.code(), Code::NotFound);

        let echo = lines_for(&lines, ECHO, n + 1);
        let line = echo.last().unwrap();
        assert_eq!(line["code"], "OK", "{uri}: {line}");
        // Protobuf JSON: lowerCamelCase names, 64-bit integers as text.
        let expected = serde_json::json!({"tags": ["a", "b"], "weightMg": "1099511627776"});
        assert_eq!(line["request"], expected, "{uri}: {line}");
        assert_eq!(line["response"], expected, "{uri}: {line}");
        let fail = lines_for(&lines, FAIL, n + 1);
        let line = fail.last().unwrap();
        assert_eq!(line["code"], "NOT_FOUND", "{uri}: {line}");
        assert_eq!(line["request"], serde_json::json!({}), "{uri}: {line}");
        assert!(line.get("response").is_none(), "{uri}: {line}");
    }
}

#[test]
fn payloads_are_not_written_by_default() {
    let (options, lines) = collecting(false);
    let server = server(options);
    server.listen("inproc://audit-no-payloads").unwrap();
    let client = runtime::block_on(connect("inproc://audit-no-payloads"))
        .unwrap()
        .unwrap();
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    client.call_blocking(ECHO, &request(), &opts).unwrap();
    let line = lines_for(&lines, ECHO, 1).pop().unwrap();
    assert_eq!(line["code"], "OK");
    assert!(
        line.get("request").is_none() && line.get("response").is_none(),
        "{line}"
    );
    assert!(!line.to_string().contains("1099511627776"));
}

#[test]
fn the_security_file_turns_payloads_on() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let file = dir.path().join("security.toml");
    std::fs::write(
        &file,
        format!(
            "[audit]\nfile = {:?}\npayloads = true\n",
            log.display().to_string()
        ),
    )
    .unwrap();
    let server = server(ServerOptions::from_security_file(&file).unwrap());
    server.listen("inproc://audit-file-payloads").unwrap();
    let client = runtime::block_on(connect("inproc://audit-file-payloads"))
        .unwrap()
        .unwrap();
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    client.call_blocking(ECHO, &request(), &opts).unwrap();
    let mut text = String::new();
    for _ in 0..300 {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains(ECHO) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let line: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["method"] == ECHO)
        .unwrap();
    assert_eq!(line["request"]["tags"], serde_json::json!(["a", "b"]));
}

/// A request far over the message limit is skipped unread by the unix and ws frame readers;
/// it is still audited with its method (read from the head before the payload).
#[test]
fn oversized_frames_are_audited_with_their_method() {
    let (mut options, lines) = collecting(false);
    options.limits.max_message_bytes = 1024;
    let server = server(options);
    let (_dir, unix) = common::unix_uri("audit-oversized");
    let big = msg(&[("blob", Value::Bytes(vec![7u8; 100 * 1024]))]);
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    for (n, uri) in [unix, "ws://127.0.0.1:0".to_string()].iter().enumerate() {
        let uri = server.listen(uri).unwrap();
        let client = runtime::block_on(connect(&uri)).unwrap().unwrap();
        let e = client.call_blocking(ECHO, &big, &opts).unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted, "{uri}: {e}");
        // Each round writes two lines: the refusal, then the call after it.
        let line = lines_for(&lines, ECHO, 2 * n + 1)[2 * n].clone();
        assert_eq!(line["code"], "RESOURCE_EXHAUSTED", "{uri}: {line}");
        assert_eq!(line["transport"], uri.split(':').next().unwrap(), "{line}");
        // The connection is still usable.
        client.call_blocking(ECHO, &request(), &opts).unwrap();
    }
}
