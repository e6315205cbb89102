//! The streaming conformance vectors (tests/conformance/streams): the conformance server's
//! streaming methods as the README ("Streaming") specifies them, and a client that runs a case.

use std::time::{Duration, Instant};

use hms_ffi_core::{CallOptions, Client, Code, Error, Server, Value};

use super::{check_error, notation, repo_root, same};

const SERVICE: &str = "hms.conformance.v1.Conformance";

fn counts(req: &Value, key: &str) -> Option<i64> {
    match req.get("counts") {
        Some(Value::Map(entries)) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .and_then(|(_, v)| v.as_i64()),
        _ => None,
    }
}

fn numbered(req: &Value, i: i64) -> Value {
    let mut out = match req {
        Value::Null => Value::Map(Vec::new()),
        other => other.clone(),
    };
    if let Value::Map(entries) = &mut out {
        entries.retain(|(k, _)| k.as_str() != Some("weight_mg"));
        entries.push((Value::from("weight_mg"), Value::Int(i)));
    }
    out
}

fn aborted(sent: i64) -> Error {
    Error::new(Code::Aborted, format!("failed after {sent} replies"))
}

/// Registers `ServerStream`, `ClientStream` and `Bidi`.
pub fn serve_streams(server: &Server) {
    let m = |name: &str| format!("{SERVICE}/{name}");
    server
        .server_streaming(&m("ServerStream"), |req, sink, ctx| async move {
            let pause = Duration::from_millis(counts(&req, "sleep_ms").unwrap_or(0).max(0) as u64);
            for i in 0..counts(&req, "repeat").unwrap_or(3) {
                if counts(&req, "fail_after") == Some(i) {
                    return Err(aborted(i));
                }
                if !pause.is_zero() {
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = ctx.cancelled() => return Err(Error::new(Code::Cancelled, "cancelled while streaming")),
                    }
                }
                sink.send(&numbered(&req, i))?;
            }
            Ok(())
        })
        .unwrap();
    server
        .client_streaming(&m("ClientStream"), |mut input, _| async move {
            let (mut last, mut n) = (Value::Null, 0);
            while let Some(v) = input.next().await {
                last = v?;
                n += 1;
            }
            Ok(numbered(&last, n))
        })
        .unwrap();
    server
        .bidi_streaming(&m("Bidi"), |mut input, sink, _| async move {
            let mut i = 0;
            while let Some(v) = input.next().await {
                let v = v?;
                if counts(&v, "fail").is_some() {
                    return Err(aborted(i));
                }
                sink.send(&numbered(&v, i))?;
                i += 1;
            }
            Ok(())
        })
        .unwrap();
}

/// Whether the server serves streams: a binding without them answers `UNIMPLEMENTED`.
pub async fn server_streams(client: &Client) -> bool {
    let probe = Value::Map(vec![(
        Value::from("counts"),
        Value::Map(vec![(Value::from("repeat"), Value::Int(0))]),
    )]);
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    let Ok(mut stream) = client
        .open_stream(&format!("{SERVICE}/ServerStream"), &opts)
        .await
    else {
        return false;
    };
    if stream.send(&probe).is_err() {
        return false;
    }
    stream.close_send();
    while let Some(next) = stream.next().await {
        if let Err(e) = next {
            return e.code() != Code::Unimplemented;
        }
    }
    true
}

/// One streaming case.
pub struct StreamCase {
    pub name: String,
    pub raw: serde_json::Value,
}

pub fn load_stream_cases() -> Vec<StreamCase> {
    let path = repo_root().join("tests/conformance/streams/streams.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| StreamCase {
            name: c["name"].as_str().unwrap().to_string(),
            raw: c.clone(),
        })
        .collect()
}

/// Runs one case as a client; `Err` says what differs.
pub async fn check_stream(client: &Client, case: &StreamCase) -> Result<(), String> {
    let c = &case.raw;
    let timeout = Duration::from_millis(
        c.get("timeout_ms")
            .and_then(|t| t.as_u64())
            .unwrap_or(30_000),
    );
    let cancel_after = c.get("cancel_after_replies").and_then(|n| n.as_u64());
    let token = hms_ffi_core::CancellationToken::new();
    let opts = CallOptions {
        cancel: Some(token.clone()),
        ..CallOptions::with_timeout(timeout)
    };
    let started = Instant::now();
    let method = c["method"].as_str().unwrap();
    let mut stream = client
        .open_stream(method, &opts)
        .await
        .map_err(|e| format!("open: {e}"))?;
    let mut error = None;
    for r in c["requests"].as_array().unwrap() {
        if let Err(e) = stream.send(&notation(r)) {
            error = Some(e);
            break;
        }
    }
    stream.close_send();
    let mut replies = Vec::new();
    if error.is_none() {
        while let Some(next) = stream.next().await {
            match next {
                Ok(v) => replies.push(v),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
            if Some(replies.len() as u64) == cancel_after {
                token.cancel();
            }
        }
    }
    let expect = &c["expect"];
    match (expect.get("error"), &error) {
        (Some(exp), Some(e)) => check_error(exp, e)?,
        (Some(exp), None) => return Err(format!("expected {}, the stream ended", exp["code"])),
        (None, Some(e)) => return Err(format!("expected the stream to end, got {e}")),
        (None, None) => {}
    }
    if cancel_after.is_some() && started.elapsed() > Duration::from_secs(5) {
        return Err("a cancelled stream did not end promptly".into());
    }
    if let Some(n) = expect.get("count").and_then(|n| n.as_u64()) {
        if replies.len() as u64 != n {
            return Err(format!("{} replies, expected {n}", replies.len()));
        }
    }
    if let Some(wanted) = expect.get("replies").and_then(|r| r.as_array()) {
        if replies.len() != wanted.len() {
            return Err(format!(
                "{} replies, expected {}",
                replies.len(),
                wanted.len()
            ));
        }
        for (i, (got, want)) in replies.iter().zip(wanted).enumerate() {
            same(got, &notation(want), &format!("[{i}]"))?;
        }
    }
    Ok(())
}
