//! Keepalive (issue 23): a server frozen with SIGSTOP sends nothing, yet its client finds it
//! dead within the keepalive's interval plus timeout, ends the calls waiting on it with
//! `UNAVAILABLE` (`KEEPALIVE_TIMEOUT`), blocking and async alike, and reconnects once the
//! server runs again. The server is this test binary run again as a child process. Both
//! directions are checked on each transport with keepalive frames: `unix://`, `shm://` and `ws://`.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::child::{self, serve_from_env, signal, ChildProcess};
use common::resil::{
    kill, listen, reason, req, schema, server_with, wait_until, Counts, GET, SLOW,
};
use common::unix_uri;
use hms_ffi_core::{
    connect_with, runtime::block_on, CallOptions, Code, ConnState, ConnectOptions, Keepalive,
    Resilience, ServerOptions, Value,
};

const CHILD_ENV: &str = "HMS_KEEPALIVE_CHILD_URI";

/// The child: serves the Counter service on the URI in its environment until its stdin ends.
#[test]
#[ignore = "the server process of the keepalive tests, started by them"]
fn child_server() {
    serve_from_env(CHILD_ENV);
}

/// The child client: one long async call (bounded at 60 s) to the server at the URI in its
/// environment.
#[test]
#[ignore = "the client process of the keepalive tests, started by them"]
fn child_client() {
    let Ok(uri) = std::env::var(CHILD_ENV) else {
        return;
    };
    let client = wait_for_connect(&uri, ConnectOptions::default());
    let slow = Value::message([("millis", Value::from(30_000i64))]);
    let bound = CallOptions::with_timeout(Duration::from_secs(60));
    let _ = block_on(client.call(SLOW, &slow, &bound));
}

/// The transports whose frames carry PING/PONG (`docs/wire.md`).
const KEEPALIVE_SCHEMES: [&str; 3] = ["unix", "shm", "ws"];

/// An endpoint for `scheme` the child can listen on, and the socket file that shows it listens
/// (none for `ws://`, whose readiness [`wait_for_connect`] finds by connecting).
fn endpoint(scheme: &str, dir: &tempfile::TempDir) -> (String, Option<std::path::PathBuf>) {
    match scheme {
        "ws" => {
            // A port free a moment ago; the child takes it.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            (format!("ws://127.0.0.1:{port}"), None)
        }
        _ => {
            let path = dir.path().join("frozen.sock");
            (format!("{scheme}://{}", path.display()), Some(path))
        }
    }
}

fn spawn_child(uri: &str, path: Option<&std::path::Path>) -> ChildProcess {
    let child = spawn("child_server", uri);
    if let Some(path) = path {
        assert!(
            wait_until(|| path.exists()),
            "the child server did not start"
        );
    }
    child
}

fn spawn(test: &str, uri: &str) -> ChildProcess {
    child::spawn(test, CHILD_ENV, uri)
}

#[test]
fn a_frozen_server_is_found_dead_by_keepalive_in_time() {
    for scheme in KEEPALIVE_SCHEMES {
        frozen_server(scheme);
    }
}

fn frozen_server(scheme: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (uri, path) = endpoint(scheme, &dir);
    let child = spawn_child(&uri, path.as_deref());
    let resilience = Resilience::from_json(
        r#"{"keepalive": {"interval": "0.2s", "timeout": "0.3s"},
            "backoff": {"initial": "0.05s", "max": "0.2s", "minConnectTimeout": "0.5s"}}"#,
    )
    .unwrap();
    let options = ConnectOptions {
        schema: Some(schema()),
        resilience,
        ..ConnectOptions::default()
    };
    let client = wait_for_connect(&uri, options);
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    client.call_blocking(GET, &req("warm", 0), &opts).unwrap();
    block_on(client.call(GET, &req("warm2", 0), &opts))
        .unwrap()
        .unwrap();
    // Quiet for longer than the interval: the connection stays up while the server answers.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(client.state(), ConnState::Ready);

    signal(&child.0, "STOP");
    let slow = Value::message([("millis", Value::from(5000i64))]);
    let start = Instant::now();
    let blocking = {
        let (client, slow, opts) = (client.clone(), slow.clone(), opts.clone());
        std::thread::spawn(move || client.call_blocking(SLOW, &slow, &opts))
    };
    let err = block_on(client.call(SLOW, &slow, &opts))
        .unwrap()
        .unwrap_err();
    let took = start.elapsed();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::Unavailable, Some("KEEPALIVE_TIMEOUT")),
        "{scheme}: {err}"
    );
    // interval + timeout = 0.5 s, with the watcher's polling and a loaded machine's slack.
    assert!(
        took < Duration::from_millis(1500),
        "{scheme}: found dead after {took:?}"
    );
    let err = blocking.join().unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{scheme}: {err}");
    assert!(
        start.elapsed() < Duration::from_millis(2000),
        "{scheme}: {:?}",
        start.elapsed()
    );
    assert_ne!(client.state(), ConnState::Ready);

    // The server runs again: the next calls reconnect.
    signal(&child.0, "CONT");
    assert!(wait_until(|| client
        .call_blocking(GET, &req("back", 0), &opts)
        .is_ok()));
    assert_eq!(client.state(), ConnState::Ready);
    drop(child);
}

fn wait_for_connect(uri: &str, options: ConnectOptions) -> hms_ffi_core::Client {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        match block_on(connect_with(uri, options.clone())).unwrap() {
            Ok(c) => return c,
            Err(e) if Instant::now() < until => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot connect to the child: {e}"),
        }
    }
}

#[test]
fn a_frozen_client_is_found_dead_by_the_servers_keepalive_in_time() {
    for scheme in KEEPALIVE_SCHEMES {
        frozen_client(scheme);
    }
}

fn frozen_client(scheme: &str) {
    let (dir, unix) = unix_uri("frozen-client");
    let uri = match scheme {
        "ws" => "ws://127.0.0.1:0".to_string(),
        _ => unix.replacen("unix", scheme, 1),
    };
    let counts = Arc::new(Counts::default());
    let options = ServerOptions {
        keepalive: Some(Keepalive {
            interval: Duration::from_millis(200),
            timeout: Duration::from_millis(300),
        }),
        ..ServerOptions::default()
    };
    let s = server_with("parent", counts.clone(), options);
    let uri = listen(&s, &uri);
    let child = spawn("child_client", &uri);
    assert!(
        wait_until(|| counts.get("slow:started") == 1),
        "the child's call did not come"
    );
    // The client answers pings while it runs: its call goes on past interval + timeout.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(counts.get("slow:cancelled"), 0);
    signal(&child.0, "STOP");
    let start = Instant::now();
    assert!(
        wait_until(|| counts.get("slow:cancelled") == 1),
        "{scheme}: the handler was not cancelled"
    );
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "{scheme}: found dead after {took:?}"
    );
    drop(child);
    kill(&s);
    drop(dir);
}
