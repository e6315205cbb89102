//! The fault test of issue 23: two servers of one service, 16 callers, the servers killed and
//! restarted in turn while the calls go on, over `unix://` and over `grpc://`.
//! - An IDEMPOTENT method with a retry policy: every call succeeds, every reply is the
//!   caller's own, and no request ran more often than the policy's attempts.
//! - A method with no idempotency level: each call succeeds (having run once) or fails
//!   `UNAVAILABLE`, and none ran twice.
//!
//! `HMS_FAULT_CALLS` sets the calls per transport and method: 20 000 by default, the issue's
//! full proof (about 26 s for both transports in a debug build on a 2-vCPU VM).
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::resil::{kill, listen, req, schema, server, Counts, ADD, GET};
use common::unix_uri;
use hms_ffi_core::{
    connect_all, runtime::block_on, CallOptions, Client, Code, ConnectOptions, Resilience, Value,
};

const CALLERS: usize = 16;
const MAX_ATTEMPTS: u32 = 5;

const OPTIONS: &str = r#"{
  "loadBalancing": "round_robin",
  "waitForReady": true,
  "backoff": {"initial": "0.01s", "max": "0.05s", "minConnectTimeout": "1s"},
  "ejection": {"consecutiveFailures": 3, "baseTime": "0.05s"},
  "serviceConfig": {"methodConfig": [{"name": [{"service": "res.v1.Counter"}],
    "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.005s", "maxBackoff": "0.05s",
      "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
}"#;

fn calls() -> usize {
    std::env::var("HMS_FAULT_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000)
}

/// Kills and restarts the two servers in turn until `stop`.
fn flap(
    uris: [String; 2],
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u32> {
    std::thread::spawn(move || {
        let names = ["one", "two"];
        let mut servers = [
            server(names[0], counts.clone()),
            server(names[1], counts.clone()),
        ];
        listen(&servers[0], &uris[0]);
        listen(&servers[1], &uris[1]);
        let mut restarts = 0;
        let mut i = 0;
        while !stop.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(40));
            kill(&servers[i]);
            std::thread::sleep(Duration::from_millis(20));
            servers[i] = server(names[i], counts.clone());
            listen(&servers[i], &uris[i]);
            restarts += 1;
            i = 1 - i;
        }
        kill(&servers[0]);
        kill(&servers[1]);
        restarts
    })
}

fn connect(uris: &[String; 2]) -> Client {
    let options = ConnectOptions {
        schema: Some(schema()),
        resilience: Resilience::from_json(OPTIONS).unwrap(),
        ..ConnectOptions::default()
    };
    let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
    block_on(connect_all(&uris, options)).unwrap().unwrap()
}

/// Runs `total` calls of `method` from 16 threads; returns (successes, UNAVAILABLE failures).
fn run(client: &Client, method: &'static str, prefix: &str, total: usize) -> (usize, usize) {
    let per = total / CALLERS;
    let threads: Vec<_> = (0..CALLERS)
        .map(|t| {
            let client = client.clone();
            let prefix = format!("{prefix}-{t}");
            std::thread::spawn(move || {
                let opts = CallOptions::with_timeout(Duration::from_secs(20));
                let (mut ok, mut unavailable) = (0, 0);
                for n in 0..per {
                    let id = format!("{prefix}-{n}");
                    match client.call_blocking(method, &req(&id, 0), &opts) {
                        Ok(reply) => {
                            assert_eq!(reply.get("id").and_then(Value::as_str), Some(id.as_str()));
                            ok += 1;
                        }
                        Err(e) if e.code() == Code::Unavailable && method == ADD => {
                            unavailable += 1
                        }
                        Err(e) => panic!("{method} {id}: {e}"),
                    }
                }
                (ok, unavailable)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

fn faults(uris: [String; 2]) {
    let total = calls();
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    // The servers start before the client connects.
    let flapper = flap(uris.clone(), counts.clone(), stop.clone());
    let client = {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let options = ConnectOptions {
                schema: Some(schema()),
                ..ConnectOptions::default()
            };
            let ok = block_on(connect_all(&[uris[0].as_str()], options))
                .unwrap()
                .is_ok();
            if ok || Instant::now() > until {
                break connect(&uris);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let start = Instant::now();
    let (ok, unavailable) = run(&client, GET, "get", total);
    assert_eq!((ok, unavailable), (total / CALLERS * CALLERS, 0));
    assert!(
        counts.max() <= MAX_ATTEMPTS,
        "a GET ran {} times",
        counts.max()
    );
    let gets = counts.len();
    let (ok, unavailable) = run(&client, ADD, "add", total);
    assert_eq!(ok + unavailable, total / CALLERS * CALLERS);
    let adds: Vec<u32> = (0..CALLERS)
        .flat_map(|t| (0..total / CALLERS).map(move |n| (t, n)))
        .map(|(t, n)| counts.get(&format!("add-{t}-{n}")))
        .collect();
    assert!(adds.iter().all(|&n| n <= 1), "an ADD ran twice");
    assert!(adds.iter().filter(|&&n| n == 1).count() >= ok);
    stop.store(true, Ordering::Release);
    let restarts = flapper.join().unwrap();
    eprintln!(
        "{}: {total} GETs ({gets} ids) and {total} ADDs ({ok} ok, {unavailable} unavailable) \
         with {restarts} restarts in {:?}",
        uris[0],
        start.elapsed()
    );
    assert!(
        restarts >= 2,
        "the servers were not restarted during the calls"
    );
}

#[test]
fn calls_survive_servers_restarting_in_turn_over_unix() {
    let (_a, a) = unix_uri("one");
    let (_b, b) = unix_uri("two");
    faults([a, b]);
}

#[test]
fn calls_survive_servers_restarting_in_turn_over_grpc() {
    let ports: Vec<String> = (0..2)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("grpc://{}", l.local_addr().unwrap())
        })
        .collect();
    faults([ports[0].clone(), ports[1].clone()]);
}
