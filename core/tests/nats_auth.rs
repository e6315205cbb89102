//! A nats-server that asks for credentials or TLS (issue 22): servers, clients and the bus
//! reach it with the user part and query of their `nats://` URI — user and password, a token,
//! an nkey seed file, a credentials file (a user JWT signed by an account the server trusts),
//! TLS with the server's CA and mutual TLS. Each refusal is a typed error: credentials the
//! server does not accept `UNAUTHENTICATED`, unreadable or malformed ones `INVALID_ARGUMENT`, a
//! failed TLS handshake `UNAVAILABLE`. Skipped, saying so, only when nats-server is not installed.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::nats::NatsServer;
use common::pki::{server_cert, Pki};
use common::resil::reason;
use common::{conformance_server, msg};
use hms_ffi_core::bus::Bus;
use hms_ffi_core::{connect, CallOptions, Code, Error, Schema, Value};

#[path = "nats_auth/jwt.rs"]
mod jwt;

const ECHO: &str = "hms.conformance.v1.Conformance/Echo";

/// A conformance server on `server_uri` answers a call made through `client_uri`.
async fn serves(server_uri: &str, client_uri: &str) {
    let server = conformance_server();
    server.listen(server_uri).unwrap();
    let client = connect(client_uri).await.unwrap();
    let req = msg(&[("numbers", Value::List(vec![Value::Int(7)]))]);
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    let reply = client.call(ECHO, &req, &opts).await.unwrap();
    assert_eq!(
        reply.get("numbers"),
        Some(&Value::List(vec![Value::Int(7)]))
    );
    server.shutdown(Duration::from_secs(5)).await;
}

async fn refused(uri: &str) -> Error {
    match connect(uri).await {
        Ok(_) => panic!("{uri} connected"),
        Err(e) => e,
    }
}

/// [`refused`], with `code` and the reason `why`.
async fn refused_as(uri: &str, code: Code, why: &str) -> Error {
    let e = refused(uri).await;
    assert_error(&e, code, why);
    e
}

fn assert_error(e: &Error, code: Code, why: &str) {
    assert_eq!(e.code(), code, "{e:?}");
    assert_eq!(reason(e), Some(why), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_and_password_and_their_refusals() {
    let conf = r#"authorization { users = [ { user: alice, password: "pa:ss@/word" } ] }"#;
    let Some(nats) = NatsServer::start_with(false, conf) else {
        return;
    };
    let uri = format!("nats://alice:pa%3Ass%40%2Fword@{}/auth", nats.addr());
    serves(&uri, &uri).await;
    let bus = Bus::connect(&uri, bus_schema()).await.unwrap();
    drop(bus);

    refused_as(&nats.uri("auth"), Code::Unauthenticated, "NATS_AUTH_FAILED").await;
    let wrong = format!("nats://alice:nope@{}/auth", nats.addr());
    let e = refused_as(&wrong, Code::Unauthenticated, "NATS_AUTH_FAILED").await;
    assert!(!format!("{e}").contains("nope"), "the password leaked: {e}");
    let server = conformance_server();
    let e = server.listen(&wrong).unwrap_err();
    assert_error(&e, Code::Unauthenticated, "NATS_AUTH_FAILED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token() {
    let Some(nats) = NatsServer::start_with(false, r#"authorization { token: "s3cret" }"#) else {
        return;
    };
    let uri = format!("nats://s3cret@{}/tok", nats.addr());
    serves(&uri, &uri).await;
    refused_as(
        &format!("nats://other@{}/tok", nats.addr()),
        Code::Unauthenticated,
        "NATS_AUTH_FAILED",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_nkey_seed_file() {
    let dir = tempfile::tempdir().unwrap();
    let user = nkeys::KeyPair::new_user();
    let conf = format!(
        "authorization {{ users = [ {{ nkey: {} }} ] }}",
        user.public_key()
    );
    let Some(nats) = NatsServer::start_with(false, &conf) else {
        return;
    };
    let seed = dir.path().join("user.nk");
    std::fs::write(&seed, format!("{}\n", user.seed().unwrap())).unwrap();
    let uri = format!("nats://{}/nk?nkey={}", nats.addr(), seed.display());
    serves(&uri, &uri).await;

    let other = dir.path().join("other.nk");
    let stranger = nkeys::KeyPair::new_user();
    std::fs::write(&other, stranger.seed().unwrap()).unwrap();
    refused_as(
        &format!("nats://{}/nk?nkey={}", nats.addr(), other.display()),
        Code::Unauthenticated,
        "NATS_AUTH_FAILED",
    )
    .await;
    let missing = dir.path().join("missing.nk");
    refused_as(
        &format!("nats://{}/nk?nkey={}", nats.addr(), missing.display()),
        Code::InvalidArgument,
        "BAD_NATS_CREDENTIALS",
    )
    .await;
    let garbage = dir.path().join("garbage.nk");
    std::fs::write(&garbage, "not a seed\n").unwrap();
    refused_as(
        &format!("nats://{}/nk?nkey={}", nats.addr(), garbage.display()),
        Code::InvalidArgument,
        "BAD_NATS_CREDENTIALS",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credentials_file_in_operator_mode() {
    let dir = tempfile::tempdir().unwrap();
    let ops = jwt::Operator::new(dir.path());
    let Some(nats) = NatsServer::start_with(false, &ops.server_config()) else {
        return;
    };
    let creds = ops.user_creds(dir.path(), "alice");
    let uri = format!("nats://{}/jwt?creds={}", nats.addr(), creds.display());
    serves(&uri, &uri).await;

    let stranger = jwt::Operator::new(&dir.path().join("other")).user_creds(dir.path(), "eve");
    refused_as(
        &format!("nats://{}/jwt?creds={}", nats.addr(), stranger.display()),
        Code::Unauthenticated,
        "NATS_AUTH_FAILED",
    )
    .await;
    refused_as(
        &format!("nats://{}/jwt?creds=/nonexistent.creds", nats.addr()),
        Code::InvalidArgument,
        "BAD_NATS_CREDENTIALS",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let (cert, key) = server_cert(&pki);
    let (client_cert, client_key) = pki.issue("client", "client", vec![], true);
    let ca = pki.ca_file("ca");
    let conf = format!(
        "tls {{ cert_file: {cert:?}, key_file: {key:?}, ca_file: {ca:?}, verify: true, timeout: 5 }}"
    );
    let Some(nats) = NatsServer::start_with(false, &conf) else {
        return;
    };
    let q = |p: &Path| p.display().to_string();
    let uri = format!(
        "nats://{}/tls?ca={}&cert={}&key={}",
        nats.addr(),
        q(&ca),
        q(&client_cert),
        q(&client_key)
    );
    serves(&uri, &uri).await;
    let bus = Bus::connect(&uri, bus_schema()).await.unwrap();
    drop(bus);

    // No client certificate: the server does not finish the handshake.
    let e = refused(&format!("nats://{}/tls?ca={}", nats.addr(), q(&ca))).await;
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    // Another CA: the client does not trust the server.
    let other = Pki::new(dir.path(), "other");
    refused_as(
        &format!(
            "nats://{}/tls?ca={}&cert={}&key={}",
            nats.addr(),
            q(&other.ca_file("other")),
            q(&client_cert),
            q(&client_key)
        ),
        Code::Unavailable,
        "NATS_TLS_FAILED",
    )
    .await;
}

#[tokio::test]
async fn malformed_uris_are_refused_before_connecting() {
    for (uri, says) in [
        (
            "nats://a:b@127.0.0.1:1/p?creds=/x",
            "one kind of NATS credentials",
        ),
        (
            "nats://127.0.0.1:1/p?nkey=/x&creds=/y",
            "one kind of NATS credentials",
        ),
        (
            "nats://127.0.0.1:1/p?cert=/c.pem",
            "needs both ?cert= and ?key=",
        ),
        ("nats://127.0.0.1:1/p?user=x", "unknown NATS parameter"),
        (
            "nats://127.0.0.1:1/p?tls=maybe",
            "?tls= takes true or false",
        ),
        ("nats://@127.0.0.1:1/p", "empty NATS user or token"),
        ("nats://a%zz@127.0.0.1:1/p", "bad percent-encoding"),
    ] {
        let e = refused(uri).await;
        assert_eq!(e.code(), Code::InvalidArgument, "{uri}: {e:?}");
        assert!(e.message().contains(says), "{uri}: {e}");
    }
}

fn bus_schema() -> Schema {
    Schema::from_source(
        "auth_bus.proto",
        "syntax = \"proto3\"; package authbus; message Ping { string text = 1; }",
    )
    .unwrap()
}
