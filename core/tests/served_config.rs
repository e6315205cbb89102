//! A service config served in discovery (issue 23): a server announces one, a client that
//! discovers the schema and was given no config calls by it; a config given at connect wins;
//! `serviceConfigLookup` asks for it with a given schema, or turns it off; a bad one is refused
//! when the server is made.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::resil::{listen, reason, req, schema, server_with, Counts, ADD, GET};
use common::unix_uri;
use hms_ffi_core::{
    connect_with, runtime::block_on, BindingOptions, CallOptions, Client, Code, ConnectOptions,
    Resilience, Server, ServerOptions, Value,
};

/// Retries every Counter method on UNAVAILABLE, three attempts in all.
const SERVED: &str = r#"{"methodConfig": [{"name": [{"service": "res.v1.Counter"}],
  "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
  "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#;

/// maxAttempts must be at least 2.
const BAD: &str = r#"{"methodConfig": [{"name": [{"service": "res.v1.Counter"}],
  "retryPolicy": {"maxAttempts": 1, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
  "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#;

fn serving(name: &str, counts: &Arc<Counts>) -> (tempfile::TempDir, String, Server) {
    let options = ServerOptions::default()
        .with_service_config(SERVED)
        .unwrap();
    let server = server_with("served", counts.clone(), options);
    let (dir, uri) = unix_uri(name);
    listen(&server, &uri);
    (dir, uri, server)
}

fn client(uri: &str, options: ConnectOptions) -> Client {
    block_on(connect_with(uri, options)).unwrap().unwrap()
}

fn resilience(json: &str) -> Resilience {
    Resilience::from_json(json).unwrap()
}

fn opts() -> CallOptions {
    CallOptions::with_timeout(Duration::from_secs(10))
}

/// Calls GET with a request that fails UNAVAILABLE `fail_first` times; how many runs the
/// server saw, and the result.
fn get(client: &Client, counts: &Counts, id: &str, fail_first: i32) -> (u32, Result<Value, Code>) {
    let r = client.call_blocking(GET, &req(id, fail_first), &opts());
    (counts.get(id), r.map_err(|e| e.code()))
}

#[test]
fn a_discovering_client_retries_by_the_served_config() {
    let counts = Arc::new(Counts::default());
    let (_dir, uri, server) = serving("served-retry", &counts);
    let client = client(&uri, ConnectOptions::default());
    let (runs, reply) = get(&client, &counts, "g1", 2);
    assert_eq!(runs, 3, "two failures and the retry that answered");
    let reply = reply.unwrap();
    assert_eq!(reply.get("previous").and_then(Value::as_i64), Some(2));
    // Three attempts in all: a third failure ends the call.
    let (runs, reply) = get(&client, &counts, "g2", 3);
    assert_eq!((runs, reply.unwrap_err()), (3, Code::Unavailable));
    // The schema's rules still hold: Add is not idempotent, so it is not retried.
    let err = client
        .call_blocking(ADD, &req("a1", 1), &opts())
        .unwrap_err();
    assert_eq!((counts.get("a1"), err.code()), (1, Code::Unavailable));
    server.shutdown_blocking(Duration::from_secs(1)).unwrap();
}

/// A config given at connect wins (here one with a deadline and no retry policy), and
/// `serviceConfigLookup: false` leaves the served one unused: no retry either way.
#[test]
fn a_given_config_or_lookup_off_leaves_the_served_one_unused() {
    let counts = Arc::new(Counts::default());
    let (_dir, uri, server) = serving("served-given", &counts);
    let own = r#"{"serviceConfig": {"methodConfig": [{"name": [{"service": "res.v1.Counter"}],
      "timeout": "5s"}]}}"#;
    for (id, json) in [("c1", own), ("o1", r#"{"serviceConfigLookup": false}"#)] {
        let options = ConnectOptions {
            resilience: resilience(json),
            ..ConnectOptions::default()
        };
        let (runs, reply) = get(&client(&uri, options), &counts, id, 1);
        assert_eq!((runs, reply.unwrap_err()), (1, Code::Unavailable), "{json}");
    }
    server.shutdown_blocking(Duration::from_secs(1)).unwrap();
}

#[test]
fn a_given_schema_asks_for_the_served_config_only_when_told() {
    let counts = Arc::new(Counts::default());
    let (_dir, uri, server) = serving("served-schema", &counts);
    let given = |json: &str| ConnectOptions {
        schema: Some(schema()),
        resilience: resilience(json),
        ..ConnectOptions::default()
    };
    // A schema given: no discovery call, no served config.
    let plain = client(&uri, given("{}"));
    assert!(plain.schema_version().is_none());
    let (runs, reply) = get(&plain, &counts, "s1", 1);
    assert_eq!((runs, reply.unwrap_err()), (1, Code::Unavailable));
    // With serviceConfigLookup the client asks for it, and retries.
    let asked = client(&uri, given(r#"{"serviceConfigLookup": true}"#));
    let (runs, reply) = get(&asked, &counts, "s2", 1);
    assert_eq!(runs, 2);
    assert_eq!(
        reply.unwrap().get("previous").and_then(Value::as_i64),
        Some(1)
    );
    server.shutdown_blocking(Duration::from_secs(1)).unwrap();
}

#[test]
fn a_bad_served_config_is_refused_when_the_server_is_made() {
    let err = ServerOptions::default()
        .with_service_config(BAD)
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert_eq!(reason(&err), Some("BAD_SERVICE_CONFIG"));
    let binding = BindingOptions {
        service_config: Some("{\"methodConfig\": 3}".to_string()),
        ..BindingOptions::default()
    };
    let err = ServerOptions::for_binding("python", binding).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert_eq!(reason(&err), Some("BAD_SERVICE_CONFIG"));
}

#[test]
fn set_service_config_refuses_a_bad_one_and_keeps_the_last() {
    let counts = Arc::new(Counts::default());
    let (_dir, uri, server) = serving("served-set", &counts);
    let err = server.set_service_config(BAD).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    let (runs, reply) = get(&client(&uri, ConnectOptions::default()), &counts, "k1", 1);
    assert_eq!(runs, 2, "the config announced before still retries");
    reply.unwrap();
    // A new one is announced to the clients that connect after it.
    server.set_service_config("{}").unwrap();
    let (runs, reply) = get(&client(&uri, ConnectOptions::default()), &counts, "k2", 1);
    assert_eq!((runs, reply.unwrap_err()), (1, Code::Unavailable));
    server.shutdown_blocking(Duration::from_secs(1)).unwrap();
}
