//! Shared helpers for the core's integration tests: the conformance schema and server, and the
//! conformance vectors' value notation.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

pub mod child;
pub mod nats;
pub mod pki;
pub mod raw;
pub mod resil;
pub mod semantics;
pub mod streams;

use std::path::PathBuf;
use std::time::Duration;

use hms_ffi_core::{Code, Details, Error, FieldViolation, Schema, Server, Value};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn conformance_schema() -> Schema {
    let file = repo_root().join("tests/conformance/conformance.proto");
    Schema::load(&[file], &[] as &[PathBuf]).expect("conformance.proto compiles")
}

/// A server implementing the conformance service, as every binding's conformance server does.
pub fn conformance_server() -> Server {
    let server = Server::new(conformance_schema());
    let m = |name: &str| format!("hms.conformance.v1.Conformance/{name}");
    server
        .unary(&m("Echo"), |req, _| async move { Ok(req) })
        .unwrap();
    server
        .unary(&m("EchoScalars"), |req, _| async move { Ok(req) })
        .unwrap();
    server
        .unary(&m("Fail"), |req, _| async move {
            let code: Code = req
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("UNKNOWN")
                .parse()
                .unwrap_or(Code::Unknown);
            let message = req
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let paths = match req.get("violation_paths") {
                Some(Value::List(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            let reason = req.get("reason").and_then(Value::as_str).unwrap_or("");
            let error_info = (!reason.is_empty()).then(|| hms_ffi_core::ErrorInfo {
                reason: reason.to_string(),
                domain: "conformance.example".into(),
                metadata: [("case".to_string(), reason.to_string())].into(),
            });
            let details = Details {
                error_info,
                field_violations: paths
                    .into_iter()
                    .map(|field| FieldViolation {
                        field,
                        description: "rejected by the handler".into(),
                    })
                    .collect(),
                ..Details::default()
            };
            Err(Error::new(code, message).with_details(details))
        })
        .unwrap();
    server
        .unary(&m("Sleep"), |req, ctx| async move {
            let millis = req.get("millis").and_then(Value::as_i64).unwrap_or(0);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(millis.max(0) as u64)) => Ok(Value::Map(vec![])),
                _ = ctx.cancelled() => Err(Error::new(Code::Cancelled, "sleep cancelled")),
            }
        })
        .unwrap();
    streams::serve_streams(&server);
    semantics::serve_semantics(&server);
    server
}

/// Parses the vectors' value notation (see tests/conformance/README.md).
pub fn notation(j: &serde_json::Value) -> Value {
    hms_ffi_core::mapping::notation::from_json(j).expect("valid vector notation")
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

fn as_i128(v: &Value) -> Option<i128> {
    match v {
        Value::Int(i) => Some((*i).into()),
        Value::UInt(u) => Some((*u).into()),
        Value::BigInt(s) => s.parse().ok(),
        _ => None,
    }
}

/// Compares a reply with the expected value; `Err` says where they differ.
pub fn same(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
    let fail = || {
        Err(format!(
            "at `{path}`: got {actual:?}, expected {expected:?}"
        ))
    };
    match (actual, expected) {
        (Value::Map(a), Value::Map(e)) => {
            if a.len() != e.len() {
                return Err(format!(
                    "at `{path}`: {} entries, expected {} ({actual:?} vs {expected:?})",
                    a.len(),
                    e.len()
                ));
            }
            for (ek, ev) in e {
                let key = key_text(ek);
                let Some((_, av)) = a.iter().find(|(ak, _)| key_text(ak) == key) else {
                    return Err(format!("at `{path}`: missing key {key}"));
                };
                same(av, ev, &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        (Value::List(a), Value::List(e)) => {
            if a.len() != e.len() {
                return fail();
            }
            for (i, (x, y)) in a.iter().zip(e).enumerate() {
                same(x, y, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Float(a), Value::Float(e)) if (a.is_nan() && e.is_nan()) || a == e => Ok(()),
        (a, e) if as_i128(a).is_some() && as_i128(a) == as_i128(e) => Ok(()),
        (a, e) if a == e => Ok(()),
        _ => fail(),
    }
}

pub struct Case {
    pub file: String,
    pub name: String,
    pub method: String,
    pub request: Value,
    pub timeout: Duration,
    pub expect: serde_json::Value,
}

pub fn load_cases() -> Vec<Case> {
    let dir = repo_root().join("tests/conformance/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for c in doc["cases"].as_array().unwrap() {
            out.push(Case {
                file: f.file_name().unwrap().to_string_lossy().into(),
                name: c["name"].as_str().unwrap().to_string(),
                method: c["method"].as_str().unwrap().to_string(),
                request: notation(&c["request"]),
                timeout: Duration::from_millis(
                    c.get("timeout_ms")
                        .and_then(|t| t.as_u64())
                        .unwrap_or(30_000),
                ),
                expect: c["expect"].clone(),
            });
        }
    }
    out
}

/// Checks a call's outcome against a case's expectation.
pub fn check(case: &Case, outcome: &Result<Value, Error>) -> Result<(), String> {
    if let Some(reply) = case.expect.get("reply") {
        return match outcome {
            Ok(v) => same(v, &notation(reply), ""),
            Err(e) => Err(format!("expected a reply, got error {e}")),
        };
    }
    let exp = &case.expect["error"];
    match outcome {
        Ok(v) => Err(format!("expected {}, got reply {v:?}", exp["code"])),
        Err(e) => check_error(exp, e),
    }
}

/// Checks an error against a vector's `error` expectation (code, `message_contains`,
/// `violations` as a set).
pub fn check_error(exp: &serde_json::Value, err: &Error) -> Result<(), String> {
    let code: Code = exp["code"].as_str().unwrap().parse().unwrap();
    if err.code() != code {
        return Err(format!("expected {code}, got {err}"));
    }
    if let Some(sub) = exp.get("message_contains").and_then(|s| s.as_str()) {
        if !err.message().contains(sub) {
            return Err(format!("message {:?} lacks {sub:?}", err.message()));
        }
    }
    if let Some(paths) = exp.get("violations").and_then(|v| v.as_array()) {
        let mut want: Vec<&str> = paths.iter().map(|p| p.as_str().unwrap()).collect();
        let mut got: Vec<&str> = err
            .field_violations()
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        want.sort_unstable();
        want.dedup();
        got.sort_unstable();
        got.dedup();
        if want != got {
            return Err(format!("violations {got:?}, expected {want:?} ({err})"));
        }
    }
    Ok(())
}

/// A unix endpoint in a fresh temporary directory (kept alive by the returned guard).
pub fn unix_uri(name: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!(
        "unix://{}",
        dir.path().join(format!("{name}.sock")).display()
    );
    (dir, uri)
}

/// `inproc://` and `unix://` endpoints for the same test.
pub fn endpoints(name: &str) -> Vec<(String, Option<tempfile::TempDir>)> {
    let (dir, unix) = unix_uri(name);
    vec![(format!("inproc://{name}"), None), (unix, Some(dir))]
}

/// [`endpoints`] plus the network transports on free ports: listen on each, then connect to the
/// URI `listen` returns.
pub fn all_endpoints(name: &str) -> Vec<(String, Option<tempfile::TempDir>)> {
    let mut v = endpoints(name);
    v.extend(on_free_ports(&["grpc", "http", "ws"]));
    v
}

/// `scheme://127.0.0.1:0` for each scheme: listen on it, then connect to the URI `listen` returns.
pub fn on_free_ports(schemes: &[&str]) -> Vec<(String, Option<tempfile::TempDir>)> {
    schemes
        .iter()
        .map(|s| (format!("{s}://127.0.0.1:0"), None))
        .collect()
}

/// A message value from `(field, value)` pairs.
pub fn msg(fields: &[(&str, Value)]) -> Value {
    Value::message(fields.iter().map(|(k, v)| (k.to_string(), v.clone())))
}

/// Runs every conformance vector through `client` and fails listing the cases that fail.
pub async fn run_conformance(client: &hms_ffi_core::Client, transport: &str) {
    let cases = load_cases();
    assert!(
        cases.len() > 100,
        "expected the full vector set, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let opts = hms_ffi_core::CallOptions::with_timeout(case.timeout);
        let outcome = client.call(&case.method, &case.request, &opts).await;
        if let Err(why) = check(case, &outcome) {
            failures.push(format!("[{transport}] {}/{}: {why}", case.file, case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!("{transport}: {} conformance cases passed", cases.len());
}

/// This process's user id (the identity a unix or shm peer reports as `uid:N`).
pub fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::metadata(dir.path()).unwrap().uid()
}
