//! A small service for the resilience tests: methods marked IDEMPOTENT, NO_SIDE_EFFECTS or
//! nothing, a server that counts how often each request id ran, and helpers to start, stop
//! and restart it on one address.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hms_ffi_core::runtime::block_on;
use hms_ffi_core::{
    connect_with, Client, Code, ConnectOptions, Context, Error, Schema, Server, Value,
};

pub const PROTO: &str = r#"
syntax = "proto3";
package res.v1;
message Req { string id = 1; int32 fail_first = 2; int64 millis = 3; string next = 4; }
message Rep { string id = 1; int32 previous = 2; string server = 3; int64 left_ms = 4; }
service Counter {
  rpc Get(Req) returns (Rep) { option idempotency_level = IDEMPOTENT; }
  rpc Peek(Req) returns (Rep) { option idempotency_level = NO_SIDE_EFFECTS; }
  rpc Add(Req) returns (Rep);
  rpc Slow(Req) returns (Rep) { option idempotency_level = IDEMPOTENT; }
}
"#;

pub const GET: &str = "res.v1.Counter/Get";
pub const PEEK: &str = "res.v1.Counter/Peek";
pub const ADD: &str = "res.v1.Counter/Add";
pub const SLOW: &str = "res.v1.Counter/Slow";

pub fn schema() -> Schema {
    Schema::from_source("res.proto", PROTO).expect("res.proto compiles")
}

pub fn req(id: &str, fail_first: i32) -> Value {
    Value::message([
        ("id", Value::from(id)),
        ("fail_first", Value::from(i64::from(fail_first))),
    ])
}

/// How often each request id ran, over every server sharing it.
#[derive(Default)]
pub struct Counts(Mutex<HashMap<String, u32>>);

impl Counts {
    /// Counts one run of `id`; returns how many runs it has now.
    pub fn bump(&self, id: &str) -> u32 {
        let mut m = self.0.lock().unwrap();
        let n = m.entry(id.to_string()).or_default();
        *n += 1;
        *n
    }
    pub fn set(&self, id: &str, n: u32) {
        self.0.lock().unwrap().insert(id.to_string(), n);
    }
    pub fn get(&self, id: &str) -> u32 {
        self.0.lock().unwrap().get(id).copied().unwrap_or(0)
    }
    pub fn max(&self) -> u32 {
        self.0.lock().unwrap().values().copied().max().unwrap_or(0)
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

fn previous(ctx: &Context) -> i64 {
    ctx.metadata()
        .get("grpc-previous-rpc-attempts")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn counted(counts: &Counts, name: &str, req: &Value, ctx: &Context) -> Result<Value, Error> {
    let id = req
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let runs = counts.bump(&id);
    let fail_first = req.get("fail_first").and_then(Value::as_i64).unwrap_or(0);
    if i64::from(runs) <= fail_first {
        return Err(Error::new(
            Code::Unavailable,
            format!("failing run {runs} of {id}"),
        ));
    }
    Ok(Value::message([
        ("id", Value::from(id.as_str())),
        ("previous", Value::from(previous(ctx))),
        ("server", Value::from(name)),
    ]))
}

/// A server of the Counter service named `name`, counting runs in `counts`.
pub fn server(name: &'static str, counts: Arc<Counts>) -> Server {
    server_with(name, counts, hms_ffi_core::ServerOptions::default())
}

/// [`server`] with options.
pub fn server_with(
    name: &'static str,
    counts: Arc<Counts>,
    options: hms_ffi_core::ServerOptions,
) -> Server {
    let server = Server::with_options(schema(), options);
    let slow_counts = counts.clone();
    for method in [GET, PEEK, ADD] {
        let counts = counts.clone();
        server
            .unary(method, move |req, ctx| {
                let out = counted(&counts, name, &req, &ctx);
                // A first run with `millis` is that slow (for hedging).
                let id = req.get("id").and_then(Value::as_str).unwrap_or("");
                let millis = req.get("millis").and_then(Value::as_i64).unwrap_or(0);
                let slow = counts.get(id) == 1 && millis > 0;
                async move {
                    if slow {
                        tokio::time::sleep(Duration::from_millis(millis as u64)).await;
                    }
                    out
                }
            })
            .unwrap();
    }
    server
        .unary(SLOW, move |req, ctx| {
            let counts = slow_counts.clone();
            async move {
                let millis = req.get("millis").and_then(Value::as_i64).unwrap_or(0);
                let left = ctx.time_remaining().map_or(-1, |d| d.as_millis() as i64);
                // The time the handler was given, plus one (0: no deadline).
                counts.set("slow:left", u32::try_from(left + 1).unwrap_or(0));
                counts.bump("slow:started");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(millis as u64)) => {}
                    _ = ctx.cancelled() => {
                        counts.bump("slow:cancelled");
                        return Err(Error::new(Code::Cancelled, "slow: cancelled"));
                    }
                }
                Ok(Value::message([
                    ("left_ms", Value::from(left)),
                    ("server", Value::from(name)),
                ]))
            }
        })
        .unwrap();
    server
}

/// Starts `server` on `uri`, retrying for up to 10 s while the address is still taken.
pub fn listen(server: &Server, uri: &str) -> String {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        match server.listen(uri) {
            Ok(at) => return at,
            Err(e) if Instant::now() < until => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot listen on {uri}: {e}"),
        }
    }
}

/// A Counter server on each transport of [`super::all_endpoints`], a client of each (with the
/// schema given), the address it listens on, and the unix socket's directory.
pub fn counter_clients(
    name: &'static str,
    counts: &Arc<Counts>,
) -> Vec<(Client, Server, String, Option<tempfile::TempDir>)> {
    super::all_endpoints(name)
        .into_iter()
        .map(|(uri, dir)| {
            let s = server(name, counts.clone());
            let at = listen(&s, &uri);
            let options = ConnectOptions {
                schema: Some(schema()),
                ..ConnectOptions::default()
            };
            let c = block_on(connect_with(&at, options)).unwrap().unwrap();
            (c, s, at, dir)
        })
        .collect()
}

/// Stops `server` at once (calls in flight end as the server goes away).
pub fn kill(server: &Server) {
    server.shutdown_blocking(Duration::ZERO).unwrap();
}

/// Waits up to 10 s for `cond`.
pub fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

pub fn reason(e: &Error) -> Option<&str> {
    e.details().error_info.as_ref().map(|i| i.reason.as_str())
}
