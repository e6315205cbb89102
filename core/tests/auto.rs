//! `auto://NAME` (issue 18, part 2): a server announces a name; a client finds it by the
//! fastest transport that answers, says which it picked, resolves the name again after a
//! disconnect, and refuses bad names, bad records and stale ones with typed errors.
//!
//! Every test here runs with `XDG_RUNTIME_DIR` set to one temporary directory of this binary
//! (set once, before any test reads it), so nothing touches the user's own directory.
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use hms_ffi_core::{
    connect_with, runtime::block_on, CallOptions, Client, Code, ConnectOptions, Schema, Server,
    Value,
};

const PROTO: &str = r#"
syntax = "proto3";
package auto.v1;
message Req { string text = 1; }
message Rep { string text = 1; string transport = 2; }
service Echo { rpc Say(Req) returns (Rep); }
"#;
const SAY: &str = "auto.v1.Echo/Say";

/// The runtime directory of this test binary (`$XDG_RUNTIME_DIR`), 0700.
fn run_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        std::env::set_var("XDG_RUNTIME_DIR", &dir);
        dir
    })
}

fn schema() -> Schema {
    Schema::from_source("auto.proto", PROTO).unwrap()
}

/// A server whose one method answers with its text and the transport it came by.
fn server(tag: &'static str) -> Server {
    run_dir();
    let server = Server::new(schema());
    server
        .unary(SAY, move |req, ctx| {
            let text = format!(
                "{tag}:{}",
                req.get("text").and_then(Value::as_str).unwrap_or("")
            );
            let transport = ctx.transport();
            async move {
                Ok(Value::message([
                    ("text", Value::from(text.as_str())),
                    ("transport", Value::from(transport)),
                ]))
            }
        })
        .unwrap();
    server
}

fn connect(uri: &str) -> hms_ffi_core::Result<Client> {
    run_dir();
    let options = ConnectOptions {
        schema: Some(schema()),
        ..ConnectOptions::default()
    };
    block_on(connect_with(uri, options)).unwrap()
}

fn say(client: &Client, text: &str) -> (String, String) {
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    let req = Value::message([("text", Value::from(text))]);
    let rep = client.call_blocking(SAY, &req, &opts).unwrap();
    let async_rep = block_on(client.call(SAY, &req, &opts)).unwrap().unwrap();
    assert_eq!(rep, async_rep, "blocking and async calls agree");
    let field = |k: &str| rep.get(k).and_then(Value::as_str).unwrap().to_string();
    (field("text"), field("transport"))
}

fn record(name: &str) -> serde_json::Value {
    let path = run_dir().join("hms-ffi/auto").join(format!("{name}.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_client_picks_inproc_then_shm_then_unix_then_the_network() {
    let s = server("one");
    assert_eq!(s.listen("auto://orders").unwrap(), "auto://orders");
    let sock = run_dir().join("hms-ffi/auto/orders.sock");
    let rec = record("orders");
    assert_eq!(rec["pid"], std::process::id());
    assert_eq!(
        rec["endpoints"],
        serde_json::json!(["shm://orders", format!("unix://{}", sock.display())])
    );
    // In the server's own process: inproc.
    let c = connect("auto://orders").unwrap();
    assert_eq!(c.transport().as_deref(), Some("inproc://orders"));
    assert_eq!(say(&c, "a"), ("one:a".into(), "inproc".into()));
    // What a client in another process would pick, and what a user can force.
    let c = connect("auto://orders?transports=shm,unix").unwrap();
    assert_eq!(c.transport().as_deref(), Some("shm://orders"));
    assert_eq!(say(&c, "b"), ("one:b".into(), "shm".into()));
    let u = connect("auto://orders?transports=unix").unwrap();
    let unix = format!("unix://{}", sock.display());
    assert_eq!(u.transport().as_deref(), Some(unix.as_str()));
    assert_eq!(say(&u, "c"), ("one:c".into(), "unix".into()));
    assert_eq!(u.endpoints()[0].endpoint, "auto://orders?transports=unix");
    assert_eq!(u.endpoints()[0].connected.as_deref(), Some(unix.as_str()));
    // A network endpoint the server is given goes into the record, loopback for a wildcard.
    let grpc = s.listen("grpc://0.0.0.0:0").unwrap();
    let reachable = grpc.replace("0.0.0.0", "127.0.0.1");
    assert_eq!(record("orders")["endpoints"][2], reachable.as_str());
    let c = connect("auto://orders?transports=grpc").unwrap();
    assert_eq!(c.transport().as_deref(), Some(reachable.as_str()));
    assert_eq!(say(&c, "d"), ("one:d".into(), "grpc".into()));
    // Stopping removes the sockets and the record: the name is gone, typed and unsent.
    s.shutdown_blocking(Duration::ZERO).unwrap();
    assert!(!sock.exists() && !run_dir().join("hms-ffi/shm/orders.sock").exists());
    assert!(!run_dir().join("hms-ffi/auto/orders.json").exists());
    // A lost connection is no transport (gRPC's channel reconnects by itself: it stays).
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while u.transport().is_some() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(u.transport(), None);
    let err = connect("auto://orders").unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(
        err.is_unsent() && err.to_string().contains("no service auto://orders"),
        "{err}"
    );
}

#[test]
fn a_client_resolves_the_name_again_after_its_server_restarts() {
    let first = server("first");
    first.listen("auto://restart").unwrap();
    let c = connect("auto://restart?transports=shm,unix").unwrap();
    assert_eq!(say(&c, "x").0, "first:x");
    first.shutdown_blocking(Duration::ZERO).unwrap();
    // Once the client saw its connection go (a call already written to it could not know).
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while c.transport().is_some() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = server("second");
    second.listen("auto://restart?transports=unix").unwrap();
    let waiting = CallOptions {
        wait_for_ready: Some(true),
        ..CallOptions::with_timeout(Duration::from_secs(10))
    };
    let req = Value::message([("text", Value::from("y"))]);
    let rep = c.call_blocking(SAY, &req, &waiting).unwrap();
    assert_eq!(rep.get("text").and_then(Value::as_str), Some("second:y"));
    assert_eq!(rep.get("transport").and_then(Value::as_str), Some("unix"));
    assert!(c.transport().unwrap().starts_with("unix://"));
    second.shutdown_blocking(Duration::ZERO).unwrap();
}

#[test]
fn a_name_is_served_once_and_a_server_needs_a_local_transport() {
    let s = server("owner");
    s.listen("auto://taken").unwrap();
    let before = record("taken");
    let other = server("other");
    let err = other.listen("auto://taken").unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err}");
    let err = other
        .listen("auto://taken?transports=shm,unix")
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err}");
    assert_eq!(
        record("taken"),
        before,
        "the first server's record is untouched"
    );
    assert_eq!(
        say(&connect("auto://taken?transports=unix").unwrap(), "z").0,
        "owner:z"
    );
    let err = other.listen("auto://net?transports=grpc").unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    s.shutdown_blocking(Duration::ZERO).unwrap();
}

#[test]
fn bad_names_and_queries_are_invalid_arguments() {
    for bad in [
        "auto://",
        "auto://a/b",
        "auto://.hidden",
        "auto://x?transports=",
        "auto://x?transports=carrier-pigeon",
        "auto://x?transports=unix,unix",
        "auto://x?transports=nats",
        "auto://x?prefer=unix",
    ] {
        let err = connect(bad).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{bad}: {err}");
        let err = server("x").listen(bad).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{bad}: {err}");
    }
}

#[test]
fn bad_and_stale_records_are_typed_errors() {
    run_dir();
    let dir = run_dir().join("hms-ffi/auto");
    // The directory exists once any server listened; make sure it does, as a server makes it.
    let s = server("mkdir");
    s.listen("auto://mkdir").unwrap();
    s.shutdown_blocking(Duration::ZERO).unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.join(format!("{name}.json")), text);
    write("garbage", "{not json").unwrap();
    let err = connect("auto://garbage").unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(err.to_string().contains("not valid"), "{err}");
    write(
        "renamed",
        r#"{"name":"other","pid":1,"listener":"1-1","endpoints":[]}"#,
    )
    .unwrap();
    let err = connect("auto://renamed").unwrap_err();
    assert!(err.to_string().contains("names \"other\""), "{err}");
    // A record only names transports auto:// would pick itself: nothing else is tried.
    let odd = r#"{"name":"odd","pid":1,"listener":"1-1",
        "endpoints":["nats://127.0.0.1:4222/x","auto://odd","inproc://odd"]}"#;
    write("odd", odd).unwrap();
    let err = connect("auto://odd").unwrap_err();
    assert!(err.to_string().contains("lists none"), "{err}");
    // A failure other than UNAVAILABLE keeps its code (a CA file that is not there).
    let tls = r#"{"name":"tls","pid":1,"listener":"1-1",
        "endpoints":["grpcs://127.0.0.1:1?ca=/nonexistent/ca.pem"]}"#;
    write("tls", tls).unwrap();
    let err = connect("auto://tls").unwrap_err();
    assert_ne!(err.code(), Code::Unavailable, "{err}");
    assert!(
        err.to_string().contains("cannot connect to auto://tls"),
        "{err}"
    );
    // A server killed without cleaning up: its pid is gone, and the error says so.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < until, "`true` did not end");
        std::thread::sleep(Duration::from_millis(5));
    }
    let stale = format!(
        r#"{{"name":"stale","pid":{pid},"listener":"x","endpoints":["unix://{}/stale.sock"]}}"#,
        dir.display()
    );
    write("stale", &stale).unwrap();
    let err = connect("auto://stale").unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(err.is_unsent());
    assert!(err.to_string().contains("no longer running"), "{err}");
    // A new server on the name replaces the stale record.
    let s = server("fresh");
    s.listen("auto://stale").unwrap();
    assert_eq!(record("stale")["pid"], std::process::id());
    assert_eq!(
        say(&connect("auto://stale?transports=unix").unwrap(), "w").0,
        "fresh:w"
    );
    s.shutdown_blocking(Duration::ZERO).unwrap();
}
