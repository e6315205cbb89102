//! TLS and mutual TLS over grpcs://, https:// and wss://, with certificates made now by rcgen:
//! the client certificate's identity reaches the handler, the policy and the audit log; a
//! missing one is Unauthenticated (audited, handler never run); one from another CA fails the
//! handshake while the server keeps serving; a client that does not trust the server refuses it.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::pki::{server_cert, Pki};
use hms_ffi_core::security::{
    AuditLog, ClientTlsConfig, JwtConfig, Policy, Required, Security, TlsConfig,
};
use hms_ffi_core::{
    connect_with, runtime, CallOptions, Client, Code, ConnectOptions, Schema, Server,
    ServerOptions, Value,
};
use rcgen::SanType;

const PROTO: &str = r#"
    syntax = "proto3"; package tls.v1;
    message Who { string identity = 1; string transport = 2; string subject = 3; }
    service Vault { rpc Hello(Who) returns (Who); rpc Open(Who) returns (Who); }
"#;
const HELLO: &str = "tls.v1.Vault/Hello";
const OPEN: &str = "tls.v1.Vault/Open";
const ALICE: &str = "spiffe://example.org/alice";
const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";

/// A server with mutual TLS, a policy that opens the vault to alice's certificate only, bearer
/// tokens accepted but not required, and an audit log kept in memory.
fn server(tls: TlsConfig) -> (Server, Arc<AtomicUsize>, Arc<Mutex<Vec<serde_json::Value>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let audit = AuditLog::to_callback(
        Arc::new(move |l: &str| sink.lock().unwrap().push(serde_json::from_str(l).unwrap())),
        0,
    );
    let security = Security::new()
        .with_tls(&tls)
        .unwrap()
        .with_jwt(&JwtConfig {
            algorithm: "HS256".into(),
            secret: Some(SECRET.into()),
            issuer: Some("iss".into()),
            audience: Some("aud".into()),
            required: Required::Never,
            ..Default::default()
        })
        .unwrap()
        .with_policy(
            Policy::default()
                .allow(&["*"], &[HELLO])
                .allow(&[ALICE, "tok-user"], &[OPEN]),
        )
        .with_audit(audit);
    let server = Server::with_options(
        Schema::from_source("tls.proto", PROTO).unwrap(),
        ServerOptions::default().with_security(security),
    );
    let runs = Arc::new(AtomicUsize::new(0));
    for m in [HELLO, OPEN] {
        let runs = runs.clone();
        server
            .unary(m, move |_req, ctx| {
                runs.fetch_add(1, Ordering::SeqCst);
                async move {
                    let subject = ctx.peer_certificate().map(|c| c.subject.clone());
                    Ok(Value::message([
                        ("identity", Value::from(ctx.identity().unwrap_or(""))),
                        ("transport", Value::from(ctx.transport())),
                        ("subject", Value::from(subject.unwrap_or_default().as_str())),
                    ]))
                }
            })
            .unwrap();
    }
    (server, runs, lines)
}

fn connect(uri: &str, tls: Option<ClientTlsConfig>) -> hms_ffi_core::Result<Client> {
    let options = ConnectOptions {
        schema: Some(Schema::from_source("tls.proto", PROTO).unwrap()),
        tls,
        ..ConnectOptions::default()
    };
    runtime::block_on(connect_with(uri, options)).unwrap()
}

fn call(c: &Client, method: &str, token: Option<&str>) -> hms_ffi_core::Result<Value> {
    let mut opts = CallOptions::with_timeout(Duration::from_secs(5));
    if let Some(t) = token {
        opts.metadata.insert("authorization", format!("Bearer {t}"));
    }
    c.call_blocking(method, &Value::message([] as [(&str, Value); 0]), &opts)
}

/// Connects and calls; a connection refused at connect time and one refused at the first call
/// are the same to a caller.
fn connect_and_call(uri: &str, method: &str) -> hms_ffi_core::Result<Value> {
    connect(uri, None).and_then(|c| call(&c, method, None))
}

fn text<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap()
}

fn query(pki: &Pki, ca: &str, cert: Option<&(PathBuf, PathBuf)>) -> String {
    let mut q = format!("?ca={}", pki.ca_file(ca).display());
    if let Some((c, k)) = cert {
        q += &format!("&cert={}&key={}", c.display(), k.display());
    }
    q
}

#[test]
fn mutual_tls_on_every_tls_transport() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let rogue = Pki::new(dir.path(), "rogue-ca");
    let (cert, key) = server_cert(&pki);
    let alice = pki.issue(
        "alice",
        "Alice",
        vec![SanType::URI(ALICE.try_into().unwrap())],
        true,
    );
    let bob = pki.issue("bob", "bob", vec![], true); // identity from the subject CN
    let mallory = rogue.issue(
        "mallory",
        "mallory",
        vec![SanType::URI(ALICE.try_into().unwrap())],
        true,
    );
    let (s, runs, audit) = server(TlsConfig {
        cert_pem: Some(std::fs::read_to_string(&cert).unwrap()),
        key_file: Some(key),
        client_ca_file: Some(pki.ca_file("ca")),
        ..TlsConfig::default()
    });
    let token = {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 600;
        let claims = serde_json::json!({"sub": "tok-user", "iss": "iss", "aud": "aud", "exp": exp});
        let key = EncodingKey::from_secret(SECRET.as_bytes());
        encode(&Header::default(), &claims, &key).unwrap()
    };
    for scheme in ["grpcs", "https", "wss"] {
        let uri = s.listen(&format!("{scheme}://127.0.0.1:0")).unwrap();
        assert!(uri.starts_with(&format!("{scheme}://127.0.0.1:")), "{uri}");

        // alice: identity from the URI SAN, seen by the handler and allowed by the policy.
        let a = connect(&format!("{uri}{}", query(&pki, "ca", Some(&alice))), None).unwrap();
        let reply = call(&a, OPEN, None).unwrap();
        assert_eq!(text(&reply, "identity"), ALICE, "{scheme}");
        assert_eq!(text(&reply, "transport"), scheme);
        assert_eq!(text(&reply, "subject"), "CN=Alice");
        // A bearer token's sub wins over the certificate's identity.
        let reply = call(&a, HELLO, Some(&token)).unwrap();
        assert_eq!(text(&reply, "identity"), "tok-user", "{scheme}");

        // bob: identity from the CN; the policy does not open the vault to him.
        let b = connect(&format!("{uri}{}", query(&pki, "ca", Some(&bob))), None).unwrap();
        assert_eq!(text(&call(&b, HELLO, None).unwrap(), "identity"), "bob");
        let e = call(&b, OPEN, None).unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{scheme}: {e}");

        // No client certificate: Unauthenticated, the handler never runs, the call is audited.
        let before = runs.load(Ordering::SeqCst);
        let e = connect_and_call(&format!("{uri}{}", query(&pki, "ca", None)), HELLO).unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{scheme}: {e}");
        assert!(e.message().contains("client certificate"), "{e}");
        assert_eq!(runs.load(Ordering::SeqCst), before, "{scheme}: handler ran");

        // A certificate from another CA (even with alice's SAN): the handshake fails.
        let e = connect_and_call(
            &format!("{uri}{}", query(&pki, "ca", Some(&mallory))),
            HELLO,
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{scheme}: {e}");
        if scheme == "grpcs" {
            // The gRPC client waits for the server's verdict on its certificate (TLS 1.3).
            assert!(e.message().contains("UnknownCA"), "{e}");
        }
        assert_eq!(runs.load(Ordering::SeqCst), before, "{scheme}: handler ran");

        // A client that trusts another CA refuses the server's certificate.
        let e = connect_and_call(
            &format!("{uri}{}", query(&pki, "rogue-ca", Some(&alice))),
            HELLO,
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{scheme}: {e}");
        assert!(e.message().contains("certificate"), "{scheme}: {e}");

        // The server kept serving; settings also come from ConnectOptions (PEM text) and the
        // name checked can be set apart from the address.
        let tls = ClientTlsConfig {
            ca_pem: Some(std::fs::read_to_string(pki.ca_file("ca")).unwrap()),
            cert_pem: Some(std::fs::read_to_string(&alice.0).unwrap()),
            key_pem: Some(std::fs::read_to_string(&alice.1).unwrap()),
            ..ClientTlsConfig::default()
        };
        let c = connect(&format!("{uri}?server_name=localhost"), Some(tls)).unwrap();
        assert_eq!(text(&call(&c, OPEN, None).unwrap(), "identity"), ALICE);
    }
    std::thread::sleep(Duration::from_millis(200));
    let lines = audit.lock().unwrap();
    for scheme in ["grpcs", "https", "wss"] {
        let refused = lines
            .iter()
            .filter(|l| l["transport"] == scheme && l["code"] == "UNAUTHENTICATED")
            .count();
        assert!(refused >= 1, "{scheme}: no audited refusal in {lines:?}");
        assert!(
            lines
                .iter()
                .any(|l| l["transport"] == scheme && l["identity"] == ALICE && l["code"] == "OK"),
            "{scheme}: alice's calls are not audited under her identity"
        );
    }
}

#[test]
fn optional_client_certificates_and_plain_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let (cert, key) = server_cert(&pki);
    // Without a client CA: server-authenticated TLS only; callers are anonymous.
    let (s, _, _) = server(TlsConfig {
        cert_file: Some(cert.clone()),
        key_file: Some(key.clone()),
        ..TlsConfig::default()
    });
    let uri = s.listen("grpcs://127.0.0.1:0").unwrap();
    let c = connect(&format!("{uri}{}", query(&pki, "ca", None)), None).unwrap();
    assert_eq!(text(&call(&c, HELLO, None).unwrap(), "identity"), "");
    // A client CA with require_client_cert = false: a certificate names the caller, none is
    // anonymous.
    let (s, _, _) = server(TlsConfig {
        cert_file: Some(cert),
        key_file: Some(key),
        client_ca_file: Some(pki.ca_file("ca")),
        require_client_cert: Some(false),
        ..TlsConfig::default()
    });
    let uri = s.listen("https://127.0.0.1:0").unwrap();
    let carol = pki.issue(
        "carol",
        "carol",
        vec![SanType::DnsName("carol.example".try_into().unwrap())],
        true,
    );
    let c = connect(&format!("{uri}{}", query(&pki, "ca", Some(&carol))), None).unwrap();
    assert_eq!(
        text(&call(&c, HELLO, None).unwrap(), "identity"),
        "carol.example"
    );
    let c = connect(&format!("{uri}{}", query(&pki, "ca", None)), None).unwrap();
    assert_eq!(text(&call(&c, HELLO, None).unwrap(), "identity"), "");
}

#[test]
fn configuration_mistakes_are_invalid_argument() {
    // A TLS scheme without a [tls] table.
    let plain = Server::new(Schema::from_source("tls.proto", PROTO).unwrap());
    for uri in [
        "grpcs://127.0.0.1:0",
        "https://127.0.0.1:0",
        "wss://127.0.0.1:0",
    ] {
        let e = plain.listen(uri).unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{uri}");
        assert!(e.message().contains("[tls]"), "{e}");
    }
    // Client settings in a listening URI, unknown query keys, a query on a plain scheme.
    let e = plain.listen("grpcs://127.0.0.1:0?ca=x.pem").unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    for uri in [
        "grpcs://127.0.0.1:1?cafile=x.pem",
        "grpc://127.0.0.1:1?ca=x.pem",
        "https://127.0.0.1:1?ca=%zz",
    ] {
        let e = runtime::block_on(hms_ffi_core::connect(uri))
            .unwrap()
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{uri}: {e}");
    }
    // Unreadable client files, a certificate without its key.
    for uri in [
        "grpcs://127.0.0.1:1?ca=/nonexistent/ca.pem",
        "wss://127.0.0.1:1?cert=/nonexistent/c.pem",
    ] {
        let e = runtime::block_on(hms_ffi_core::connect(uri))
            .unwrap()
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{uri}: {e}");
    }
    // Server settings: no key, a key that is not the certificate's, a required client
    // certificate without a CA.
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "ca");
    let (cert, key) = server_cert(&pki);
    let (_, other_key) = pki.issue("other", "other", vec![], true);
    let good = TlsConfig {
        cert_file: Some(cert.clone()),
        key_file: Some(key),
        ..TlsConfig::default()
    };
    assert!(Security::new().with_tls(&good).is_ok());
    for bad in [
        TlsConfig {
            cert_file: Some(cert.clone()),
            ..TlsConfig::default()
        },
        TlsConfig {
            key_file: Some(other_key),
            ..good.clone()
        },
        TlsConfig {
            require_client_cert: Some(true),
            ..good.clone()
        },
    ] {
        let e = Security::new().with_tls(&bad).unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{bad:?}");
        let reason = &e.details().error_info.as_ref().unwrap().reason;
        assert_eq!(reason, "BAD_SECURITY_CONFIG", "{e}");
    }
}
