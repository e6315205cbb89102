//! Several endpoints (issue 23): `round_robin` spreads calls over every endpoint that is up,
//! `pick_first` stays on the first that answers; an endpoint that fails calls or health checks
//! in a row is ejected, and readmitted after its ejection time.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::resil::{kill, listen, req, schema, server, wait_until, Counts, GET};
use common::unix_uri;
use hms_ffi_core::{
    connect_all, runtime::block_on, CallOptions, Client, ConnState, ConnectOptions, Resilience,
    Value,
};

fn client(uris: &[&str], json: &str) -> Client {
    let options = ConnectOptions {
        schema: Some(schema()),
        resilience: Resilience::from_json(json).unwrap(),
        ..ConnectOptions::default()
    };
    block_on(connect_all(uris, options)).unwrap().unwrap()
}

fn opts() -> CallOptions {
    CallOptions::with_timeout(Duration::from_secs(10))
}

/// Which server answered each of `n` calls.
fn servers(client: &Client, n: usize, fail_first: i32) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for i in 0..n {
        let id = format!("{}-{i}", fastid());
        if let Ok(v) = client.call_blocking(GET, &req(&id, fail_first), &opts()) {
            let name = v.get("server").and_then(Value::as_str).unwrap().to_string();
            *seen.entry(name).or_default() += 1;
        }
    }
    seen
}

fn fastid() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn round_robin_spreads_calls_and_pick_first_stays_on_the_first() {
    let (_a_dir, a) = unix_uri("a");
    let (_b_dir, b) = unix_uri("b");
    let counts = Arc::new(Counts::default());
    let (sa, sb) = (server("a", counts.clone()), server("b", counts.clone()));
    listen(&sa, &a);
    listen(&sb, &b);
    let rr = client(&[&a, &b], r#"{"loadBalancing": "round_robin"}"#);
    let seen = servers(&rr, 10, 0);
    assert_eq!(
        (seen.get("a"), seen.get("b")),
        (Some(&5), Some(&5)),
        "{seen:?}"
    );
    let first = client(&[&a, &b], "{}");
    assert_eq!(servers(&first, 6, 0).get("a"), Some(&6));
    // The first goes away: calls go to the second, and stay there.
    kill(&sa);
    assert!(wait_until(|| first.endpoints()[0].state != ConnState::Ready));
    assert_eq!(servers(&first, 6, 0).get("b"), Some(&6));
    assert_eq!(first.state(), ConnState::Ready);
    kill(&sb);
}

#[test]
fn an_endpoint_that_keeps_failing_is_ejected_then_readmitted() {
    let (_a_dir, a) = unix_uri("a");
    let (_b_dir, b) = unix_uri("b");
    let counts = Arc::new(Counts::default());
    let (sa, sb) = (server("a", counts.clone()), server("b", counts.clone()));
    listen(&sa, &a);
    listen(&sb, &b);
    let rr = client(
        &[&a, &b],
        r#"{"loadBalancing": "round_robin",
            "ejection": {"consecutiveFailures": 2, "baseTime": "0.3s"}}"#,
    );
    // Every call's first run fails UNAVAILABLE: calls alternate, so after four calls each
    // endpoint has failed twice in a row and is ejected.
    let _ = servers(&rr, 4, 1);
    let ejected: Vec<bool> = rr.endpoints().iter().map(|e| e.ejected).collect();
    assert_eq!(ejected, [true, true], "{:?}", rr.endpoints());
    // With every endpoint ejected, calls still go out (to the ejected ones).
    assert_eq!(servers(&rr, 2, 0).values().sum::<usize>(), 2);
    // Kill `a` for good: its health checks fail, it is ejected, calls all go to `b`.
    kill(&sa);
    let checked = client(
        &[&a, &b],
        r#"{"loadBalancing": "round_robin", "healthCheck": {"interval": "0.05s"},
            "ejection": {"consecutiveFailures": 2, "baseTime": "0.3s"}}"#,
    );
    assert!(wait_until(|| checked.endpoints()[0].ejected));
    assert_eq!(servers(&checked, 6, 0).get("b"), Some(&6));
    // `a` comes back: after its ejection time it takes calls again.
    let sa = server("a", counts.clone());
    listen(&sa, &a);
    assert!(wait_until(
        || !checked.endpoints()[0].ejected && servers(&checked, 4, 0).contains_key("a")
    ));
    kill(&sa);
    kill(&sb);
}

/// `dns:///HOST:PORT` stands for every address of the name, each a `grpc://` endpoint.
#[test]
fn a_dns_name_stands_for_each_of_its_addresses() {
    let counts = Arc::new(Counts::default());
    let s = server("one", counts);
    let bound = listen(&s, "grpc://127.0.0.1:0");
    let port = bound.rsplit(':').next().unwrap();
    let uri = format!("dns:///localhost:{port}");
    let c = client(&[&uri], r#"{"loadBalancing": "round_robin"}"#);
    let listed: Vec<String> = c.endpoints().into_iter().map(|e| e.endpoint).collect();
    assert!(listed.contains(&bound), "{listed:?}");
    assert!(
        listed.iter().all(|e| e.starts_with("grpc://")),
        "{listed:?}"
    );
    // Every call is answered, whichever address localhost also has (::1 has no server).
    assert_eq!(servers(&c, 6, 0).get("one"), Some(&6));
    kill(&s);
}
