//! The call-semantics cases (tests/conformance/semantics, README "Call semantics") in Rust: the
//! `Semantics` service as every binding serves it, and a client that runs each case.

use std::collections::BTreeMap;
use std::time::Duration;

use hms_ffi_core::{
    connect, CallOptions, CancellationToken, Client, Code, Error, Metadata, Server, Value,
};

use super::{notation, repo_root, same};

const SEMANTICS: &str = "hms.conformance.v1.Semantics";

/// One case, as written in its file.
#[derive(Debug, Clone)]
pub struct SemanticCase {
    pub name: String,
    pub raw: serde_json::Value,
}

fn read(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn load_semantic_cases() -> Vec<SemanticCase> {
    let dir = repo_root().join("tests/conformance/semantics");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "skips.json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        for c in read(&f)["cases"].as_array().unwrap() {
            out.push(SemanticCase {
                name: c["name"].as_str().unwrap().to_string(),
                raw: c.clone(),
            });
        }
    }
    out
}

/// The cases `language` skips in `role` (`client` or `server`), with their reasons.
pub fn skips(language: &str, role: &str) -> BTreeMap<String, String> {
    let all = read(&repo_root().join("tests/conformance/semantics/skips.json"));
    all[language][role]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

fn pairs(v: &Value, key: &str) -> Vec<(String, String)> {
    match v.get(key) {
        Some(Value::Map(entries)) => entries
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
            .collect(),
        _ => Vec::new(),
    }
}

/// Registers `Semantics/Context` and `Semantics/Relay` on a conformance server, and serves
/// `tests/conformance/revision.proto` as the revision `conformance-rev`, whose `Echo` fails
/// with `ABORTED` "revision <unicode_text>".
pub fn serve_semantics(server: &Server) {
    let revision = repo_root().join("tests/conformance/revision.proto");
    let schema = hms_ffi_core::Schema::load(&[revision], &[] as &[&str]).unwrap();
    server.add_revision("conformance-rev", schema).unwrap();
    let rev = server.revision("conformance-rev").unwrap();
    rev.unary(
        "hms.conformance.v1.Conformance/Echo",
        |req, _ctx| async move {
            let said = format!("revision {}", text(&req, "unicode_text"));
            Err::<Value, _>(Error::new(Code::Aborted, said))
        },
    )
    .unwrap();
    server
        .unary(&format!("{SEMANTICS}/Context"), |req, ctx| async move {
            for (k, v) in pairs(&req, "set_headers") {
                ctx.set_header(&k, v)?;
            }
            for (k, v) in pairs(&req, "set_trailers") {
                ctx.set_trailer(&k, v)?;
            }
            let code = text(&req, "fail_code");
            if !code.is_empty() {
                let code = code.parse().unwrap_or(Code::Unknown);
                return Err(Error::new(code, text(&req, "fail_message")));
            }
            let nest = req.get("nest_reply").and_then(Value::as_i64).unwrap_or(0);
            if nest > 0 {
                // A Rust handler's native value is a `Value`: built with the notation's cap (a
                // deeper one would overflow the stack when dropped); the core refuses it alike.
                let nested = hms_ffi_core::mapping::notation::from_json(
                    &serde_json::json!({ "$nest_list": nest }),
                )?;
                return Ok(Value::message([("nested", nested)]));
            }
            let metadata: Vec<(Value, Value)> = ctx
                .metadata()
                .first_values()
                .into_iter()
                .filter(|(k, _)| k.starts_with("x-conf-"))
                .map(|(k, v)| (Value::from(k), Value::from(v)))
                .collect();
            Ok(Value::message([
                ("method", Value::from(ctx.method())),
                ("metadata", Value::Map(metadata)),
                ("has_deadline", Value::Bool(ctx.deadline().is_some())),
                ("has_trace_id", Value::Bool(!ctx.trace_id().is_empty())),
            ]))
        })
        .unwrap();
    server
        .unary(&format!("{SEMANTICS}/Relay"), |req, _ctx| async move {
            let upstream = connect(&text(&req, "target")).await?;
            let fail = req.get("fail").cloned().unwrap_or_default();
            let method = "hms.conformance.v1.Conformance/Fail";
            let opts = CallOptions::with_timeout(Duration::from_secs(10));
            let outcome = upstream.call(method, &fail, &opts).await;
            upstream.close();
            // Raised again unchanged: the error keeps every detail it came with.
            outcome.map(|_| Value::message::<&str>([]))
        })
        .unwrap();
}

fn with_self(j: &serde_json::Value, uri: &str) -> serde_json::Value {
    match j {
        serde_json::Value::String(s) if s == "$self" => serde_json::Value::from(uri),
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), with_self(v, uri)))
            .collect(),
        other => other.clone(),
    }
}

fn subset(actual: &Metadata, expected: &serde_json::Value, what: &str) -> Result<(), String> {
    for (k, v) in expected.as_object().into_iter().flatten() {
        if actual.get(k) != v.as_str() {
            return Err(format!("{what}: expected {k}={v}, got {actual:?}"));
        }
    }
    Ok(())
}

/// Runs one case against the server `client` is connected to.
pub async fn run_semantic(case: &SemanticCase, client: &Client) -> Result<(), String> {
    let c = &case.raw;
    let request = notation(&with_self(&c["request"], client.endpoint()));
    let mut opts = CallOptions {
        timeout: c["timeout_ms"].as_u64().map(Duration::from_millis),
        ..CallOptions::default()
    };
    for (k, v) in c["metadata"].as_object().into_iter().flatten() {
        opts.metadata.insert(k, v.as_str().unwrap_or(""));
    }
    let fresh;
    let mut client = client;
    if c["client"] == "closed" {
        fresh = connect(client.endpoint())
            .await
            .map_err(|e| e.to_string())?;
        fresh.close();
        client = &fresh;
    }
    let method = c["method"].as_str().unwrap();
    if let Some(after) = c["cancel_after_ms"].as_u64() {
        let token = CancellationToken::new();
        opts.cancel = Some(token.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(after)).await;
            token.cancel();
        });
    }
    let outcome = client.call_with_metadata(method, &request, &opts).await;
    let expect = &c["expect"];
    match outcome {
        Ok(reply) => {
            let Some(want) = expect.get("reply") else {
                return Err(format!("expected an error, got reply {:?}", reply.message));
            };
            same(&reply.message, &notation(want), "")?;
            subset(&reply.headers, &expect["headers"], "headers")?;
            subset(&reply.trailers, &expect["trailers"], "trailers")
        }
        Err(e) => check_error(&e, expect),
    }
}

fn check_error(e: &Error, expect: &serde_json::Value) -> Result<(), String> {
    let Some(exp) = expect.get("error") else {
        return Err(format!("expected a reply, got {e}"));
    };
    let code: Code = exp["code"].as_str().unwrap().parse().unwrap();
    if e.code() != code {
        return Err(format!("expected {code}, got {e}"));
    }
    if let Some(sub) = exp["message_contains"].as_str() {
        if !e.message().contains(sub) {
            return Err(format!("message {:?} lacks {sub:?}", e.message()));
        }
    }
    if let Some(paths) = exp["violations"].as_array() {
        let mut want: Vec<&str> = paths.iter().filter_map(|p| p.as_str()).collect();
        let mut got: Vec<&str> = e
            .field_violations()
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        want.sort_unstable();
        got.sort_unstable();
        if want != got {
            return Err(format!("violations {got:?}, expected {want:?}"));
        }
    }
    if let Some(reason) = exp["reason"].as_str() {
        let got = e.details().error_info.as_ref().map(|i| i.reason.as_str());
        if got != Some(reason) {
            return Err(format!("reason {got:?}, expected {reason:?}"));
        }
    }
    for (k, v) in exp["origin"].as_object().into_iter().flatten() {
        let o = e.origin().cloned().unwrap_or_default();
        let got = match k.as_str() {
            "language" => o.language,
            "service" => o.service,
            _ => o.method,
        };
        if Some(got.as_str()) != v.as_str() {
            return Err(format!("origin {k} {got:?}, expected {v}"));
        }
    }
    subset(e.trailers(), &expect["trailers"], "trailers")?;
    // A gRPC failure before any message is trailers-only: its headers come as trailers.
    let mut both = e.headers().clone();
    both.extend(e.trailers().clone());
    subset(&both, &expect["headers"], "headers")
}
