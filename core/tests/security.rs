//! Security: unix peer identity and socket mode, bearer tokens, policy, audit log, rate and
//! deadline limits — each accepted and refused, on the transports they concern.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hms_ffi_core::security::{AuditLog, JwtConfig, Policy, RateLimit, Required, Security};
use hms_ffi_core::{
    connect_blocking, connect_with, runtime, CallOptions, Client, Code, ConnectOptions, Schema,
    Server, ServerOptions, Value,
};

const PROTO: &str = r#"
    syntax = "proto3"; package sec.v1;
    message Who { string identity = 1; uint32 uid = 2; uint32 gid = 3; int32 pid = 4;
                  string transport = 5; int64 deadline_ms = 6; }
    service Billing { rpc Get(Who) returns (Who); rpc Delete(Who) returns (Who); }
    service Greeter { rpc Hello(Who) returns (Who); }
"#;
const GET: &str = "sec.v1.Billing/Get";
const DELETE: &str = "sec.v1.Billing/Delete";
const HELLO: &str = "sec.v1.Greeter/Hello";
const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";

fn schema() -> Schema {
    Schema::from_source("sec.proto", PROTO).unwrap()
}

/// A server whose handlers echo what they see of the caller; `runs` counts handler runs.
fn server(options: ServerOptions) -> (Server, Arc<AtomicUsize>) {
    let server = Server::with_options(schema(), options);
    let runs = Arc::new(AtomicUsize::new(0));
    for m in [GET, DELETE, HELLO] {
        let runs = runs.clone();
        server
            .unary(m, move |_req, ctx| {
                runs.fetch_add(1, Ordering::SeqCst);
                async move {
                    let cred = ctx.peer_credentials();
                    Ok(Value::message([
                        ("identity", Value::from(ctx.identity().unwrap_or(""))),
                        ("uid", Value::Int(cred.map_or(0, |c| c.uid) as i64)),
                        ("gid", Value::Int(cred.map_or(0, |c| c.gid) as i64)),
                        (
                            "pid",
                            Value::Int(cred.and_then(|c| c.pid).unwrap_or(0) as i64),
                        ),
                        ("transport", Value::from(ctx.transport())),
                        (
                            "deadline_ms",
                            Value::Int(ctx.time_remaining().map_or(-1, |d| d.as_millis() as i64)),
                        ),
                    ]))
                }
            })
            .unwrap();
    }
    (server, runs)
}

/// A client that brings its own schema, so refused methods still reach the server.
fn client(uri: &str) -> Client {
    runtime::block_on(connect_with(
        uri,
        ConnectOptions {
            schema: Some(schema()),
            ..ConnectOptions::default()
        },
    ))
    .unwrap()
    .unwrap()
}

fn call(c: &Client, method: &str, token: Option<&str>) -> hms_ffi_core::Result<Value> {
    let mut opts = CallOptions::with_timeout(Duration::from_secs(5));
    if let Some(t) = token {
        opts.metadata.insert("authorization", format!("Bearer {t}"));
    }
    c.call_blocking(method, &Value::message([] as [(&str, Value); 0]), &opts)
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name).unwrap()
}

#[test]
fn unix_and_shm_callers_are_their_uid_and_sockets_are_0600_unless_widened() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = server(ServerOptions::default());
    let sock = dir.path().join("a.sock");
    let gsock = dir.path().join("g.sock");
    s.listen(&format!("unix://{}", sock.display())).unwrap();
    s.listen(&format!("grpc+unix://{}", gsock.display()))
        .unwrap();
    let ssock = dir.path().join("s.sock");
    s.listen(&format!("shm://{}", ssock.display())).unwrap();
    for p in [&sock, &gsock, &ssock] {
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", p.display());
    }
    let uid = common::current_uid();
    for uri in [
        format!("unix://{}", sock.display()),
        format!("grpc+unix://{}", gsock.display()),
        format!("shm://{}", ssock.display()),
    ] {
        let reply = call(&client(&uri), HELLO, None).unwrap();
        assert_eq!(
            field(&reply, "identity").as_str(),
            Some(format!("uid:{uid}").as_str())
        );
        assert_eq!(field(&reply, "uid").as_i64(), Some(uid as i64));
        assert_eq!(
            field(&reply, "pid").as_i64(),
            Some(std::process::id() as i64),
            "{uri}"
        );
    }
    // Over the network there is no kernel identity.
    let tcp = s.listen("grpc://127.0.0.1:0").unwrap();
    let reply = call(&client(&tcp), HELLO, None).unwrap();
    assert_eq!(field(&reply, "identity").as_str(), Some(""));

    let (wide, _) = server(ServerOptions {
        socket_mode: 0o660,
        ..ServerOptions::default()
    });
    let wsock = dir.path().join("w.sock");
    wide.listen(&format!("unix://{}", wsock.display())).unwrap();
    let mode = std::fs::metadata(&wsock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
}

#[test]
fn policy_allows_denies_and_filters_discovery() {
    let uid = common::current_uid();
    let policy = Policy::default()
        .allow(&[&format!("uid:{uid}")], &["sec.v1.Billing/*"])
        .deny(&["uid:*"], &[DELETE])
        .allow(&["anonymous"], &[HELLO]);
    let (s, runs) =
        server(ServerOptions::default().with_security(Security::new().with_policy(policy)));
    let dir = tempfile::tempdir().unwrap();
    let unix = s
        .listen(&format!("unix://{}", dir.path().join("p.sock").display()))
        .unwrap();
    let grpc = s.listen("grpc://127.0.0.1:0").unwrap();
    let http = s.listen("http://127.0.0.1:0").unwrap();
    let ws = s.listen("ws://127.0.0.1:0").unwrap();

    let local = client(&unix);
    assert!(call(&local, GET, None).is_ok());
    let e = call(&local, DELETE, None).unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert_eq!(
        e.details().error_info.as_ref().unwrap().reason,
        "POLICY_DENIED"
    );
    for uri in [&grpc, &http, &ws] {
        let c = client(uri);
        assert!(call(&c, HELLO, None).is_ok(), "{uri}");
        let before = runs.load(Ordering::SeqCst);
        let e = call(&c, GET, None).unwrap_err();
        assert_eq!(
            e.code(),
            Code::PermissionDenied,
            "{uri}: network default is deny"
        );
        assert_eq!(runs.load(Ordering::SeqCst), before, "the handler never ran");
    }
    // Discovery lists only what the caller may call.
    let discovered = connect_blocking(&grpc).unwrap();
    assert_eq!(discovered.schema().method_names(), vec![HELLO.to_string()]);
    let discovered = connect_blocking(&unix).unwrap();
    let mut names = discovered.schema().method_names();
    names.sort();
    assert_eq!(names, vec![GET.to_string(), HELLO.to_string()]);
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn token(alg: &str, sub: &str, iss: &str, aud: &str, exp: u64) -> String {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let claims = serde_json::json!({ "sub": sub, "iss": iss, "aud": aud, "exp": exp });
    match alg {
        "HS256" => encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap(),
        _ => {
            let pem = std::fs::read(data("es256-test-private.pem")).unwrap();
            let key = EncodingKey::from_ec_pem(&pem).unwrap();
            encode(&Header::new(Algorithm::ES256), &claims, &key).unwrap()
        }
    }
}

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn jwt_config(alg: &str) -> JwtConfig {
    JwtConfig {
        algorithm: alg.into(),
        secret: (alg == "HS256").then(|| SECRET.to_string()),
        public_key_file: (alg == "ES256").then(|| data("es256-test-public.pem")),
        issuer: Some("https://auth.test".into()),
        audience: Some("billing".into()),
        required: Required::Network,
        ..JwtConfig::default()
    }
}

#[test]
fn bearer_tokens_are_checked_and_give_the_identity() {
    for alg in ["HS256", "ES256"] {
        let security = Security::new()
            .with_jwt(&jwt_config(alg))
            .unwrap()
            .with_policy(Policy::default().allow(&["alice"], &["sec.v1.Billing/*"]));
        let (s, runs) = server(ServerOptions::default().with_security(security));
        let dir = tempfile::tempdir().unwrap();
        let unix = s
            .listen(&format!("unix://{}", dir.path().join("j.sock").display()))
            .unwrap();
        let uris = [
            s.listen("grpc://127.0.0.1:0").unwrap(),
            s.listen("http://127.0.0.1:0").unwrap(),
            s.listen("ws://127.0.0.1:0").unwrap(),
        ];
        let exp = now() + 600;
        let good = token(alg, "alice", "https://auth.test", "billing", exp);
        let other = if alg == "HS256" { "ES256" } else { "HS256" };
        let refused = [
            ("missing", None),
            ("garbage", Some("not.a.jwt".to_string())),
            (
                "expired",
                Some(token(
                    alg,
                    "alice",
                    "https://auth.test",
                    "billing",
                    now() - 600,
                )),
            ),
            (
                "wrong issuer",
                Some(token(alg, "alice", "https://evil.test", "billing", exp)),
            ),
            (
                "wrong audience",
                Some(token(alg, "alice", "https://auth.test", "other", exp)),
            ),
            (
                "wrong key",
                Some(token(other, "alice", "https://auth.test", "billing", exp)),
            ),
        ];
        for uri in &uris {
            let c = client(uri);
            let reply = call(&c, GET, Some(&good)).unwrap();
            assert_eq!(
                field(&reply, "identity").as_str(),
                Some("alice"),
                "{alg} {uri}"
            );
            for (what, t) in &refused {
                let before = runs.load(Ordering::SeqCst);
                let e = call(&c, GET, t.as_deref()).unwrap_err();
                assert_eq!(e.code(), Code::Unauthenticated, "{alg} {uri} {what}: {e}");
                assert_eq!(runs.load(Ordering::SeqCst), before, "{what}: handler ran");
            }
            // Authenticated but not allowed by the policy.
            let bob = token(alg, "bob", "https://auth.test", "billing", exp);
            assert_eq!(
                call(&c, GET, Some(&bob)).unwrap_err().code(),
                Code::PermissionDenied
            );
        }
        // A local caller needs no token; a bad one is still refused.
        let c = client(&unix);
        assert!(call(&c, HELLO, None).is_ok());
        let e = call(&c, HELLO, Some("not.a.jwt")).unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated);
    }
}

fn wait_for_lines(read: impl Fn() -> Vec<serde_json::Value>, n: usize) -> Vec<serde_json::Value> {
    for _ in 0..200 {
        let lines = read();
        if lines.len() >= n {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    read()
}

#[test]
fn the_audit_log_has_a_line_per_call_refused_ones_included() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let security = Security::new()
        .with_jwt(&jwt_config("HS256"))
        .unwrap()
        .with_policy(Policy::default().allow(&["alice"], &[GET]))
        .with_audit(AuditLog::to_file(&path, 0).unwrap());
    let (s, _) = server(ServerOptions::default().with_security(security));
    let grpc = s.listen("grpc://127.0.0.1:0").unwrap();
    let c = client(&grpc);
    let alice = token(
        "HS256",
        "alice",
        "https://auth.test",
        "billing",
        now() + 600,
    );
    call(&c, GET, Some(&alice)).unwrap();
    call(&c, DELETE, Some(&alice)).unwrap_err();
    call(&c, GET, None).unwrap_err();
    let read = || {
        std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect::<Vec<serde_json::Value>>()
    };
    let lines = wait_for_lines(read, 3);
    let ours: Vec<_> = lines
        .iter()
        .filter(|l| l["method"] != "hms.ffi.v1.Discovery/Describe")
        .collect();
    assert_eq!(ours.len(), 3, "{lines:?}");
    assert_eq!(ours[0]["code"], "OK");
    assert_eq!(ours[0]["identity"], "alice");
    assert_eq!(ours[0]["transport"], "grpc");
    assert_eq!(ours[0]["method"], GET);
    assert!(ours[0]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(ours[0]["trace_id"].as_str().unwrap().len(), 32);
    assert!(ours[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(ours[1]["code"], "PERMISSION_DENIED");
    assert_eq!(ours[1]["reason"], "POLICY_DENIED");
    assert_eq!(ours[2]["code"], "UNAUTHENTICATED");
    assert!(ours[2]["identity"].is_null());
    assert!(!std::fs::read_to_string(&path).unwrap().contains(SECRET));

    // The same lines to a callback.
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let audit = AuditLog::to_callback(
        Arc::new(move |l: &str| sink.lock().unwrap().push(l.to_string())),
        0,
    );
    let (s, _) = server(ServerOptions::default().with_security(Security::new().with_audit(audit)));
    s.listen("inproc://audit-cb").unwrap();
    call(&client("inproc://audit-cb"), HELLO, None).unwrap();
    let lines = wait_for_lines(
        || {
            got.lock()
                .unwrap()
                .iter()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        },
        1,
    );
    assert_eq!(lines[0]["method"], HELLO);
    assert_eq!(lines[0]["transport"], "inproc");
}

#[test]
fn the_rate_limit_is_per_identity_and_spares_others() {
    let security = Security::new()
        .with_jwt(&jwt_config("HS256"))
        .unwrap()
        .with_rate_limit(RateLimit {
            per_second: 0.001,
            burst: 3.0,
        });
    let (s, _) = server(ServerOptions::default().with_security(security));
    let http = s.listen("http://127.0.0.1:0").unwrap();
    let c = client(&http);
    let exp = now() + 600;
    let alice = token("HS256", "alice", "https://auth.test", "billing", exp);
    let bob = token("HS256", "bob", "https://auth.test", "billing", exp);
    for _ in 0..3 {
        call(&c, HELLO, Some(&alice)).unwrap();
    }
    let e = call(&c, HELLO, Some(&alice)).unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert_eq!(
        e.details().error_info.as_ref().unwrap().reason,
        "RATE_LIMITED"
    );
    // Bob, on the same connection, still has his whole burst.
    for _ in 0..3 {
        call(&c, HELLO, Some(&bob)).unwrap();
    }
}

#[test]
fn the_deadline_ceiling_shortens_long_and_missing_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("security.toml");
    std::fs::write(&file, "[limits]\nmax_deadline_ms = 2000\n").unwrap();
    let (s, _) = server(ServerOptions::from_security_file(&file).unwrap());
    let uri = s.listen("ws://127.0.0.1:0").unwrap();
    let c = client(&uri);
    let mut opts = CallOptions::with_timeout(Duration::from_secs(3600));
    let reply = c
        .call_blocking(HELLO, &Value::message([] as [(&str, Value); 0]), &opts)
        .unwrap();
    let left = field(&reply, "deadline_ms").as_i64().unwrap();
    assert!((1..=2000).contains(&left), "{left}");
    opts.timeout = None;
    let reply = c
        .call_blocking(HELLO, &Value::message([] as [(&str, Value); 0]), &opts)
        .unwrap();
    assert!((1..=2000).contains(&field(&reply, "deadline_ms").as_i64().unwrap()));
}

#[test]
fn the_security_file_configures_everything_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("a.jsonl");
    let file = dir.path().join("security.toml");
    std::fs::write(
        &file,
        format!(
            r#"
            socket_mode = 0o640
            [limits]
            max_message_bytes = 4096
            [jwt]
            algorithm = "ES256"
            public_key_file = "{}"
            issuer = "https://auth.test"
            audience = "billing"
            [audit]
            file = "{}"
            [policy]
            [[policy.rule]]
            identities = ["alice"]
            allow = ["sec.v1.*/*"]
            "#,
            data("es256-test-public.pem").display(),
            audit.display()
        ),
    )
    .unwrap();
    let options = ServerOptions::from_security_file(&file).unwrap();
    assert_eq!(options.limits.max_message_bytes, 4096);
    let (s, _) = server(options);
    let uri = s.listen("grpc://127.0.0.1:0").unwrap();
    let c = client(&uri);
    let alice = token("ES256", "alice", "https://auth.test", "billing", now() + 60);
    assert_eq!(
        field(&call(&c, DELETE, Some(&alice)).unwrap(), "identity").as_str(),
        Some("alice")
    );
    assert_eq!(
        call(&c, DELETE, None).unwrap_err().code(),
        Code::Unauthenticated
    );

    // Oversized requests are refused and audited, whether the transport (http body) or the
    // dispatcher (grpc) refuses them.
    let http = s.listen("http://127.0.0.1:0").unwrap();
    let big = Value::message([("identity", Value::from("x".repeat(8000)))]);
    let mut opts = CallOptions::with_timeout(Duration::from_secs(5));
    opts.metadata
        .insert("authorization", format!("Bearer {alice}"));
    for uri in [&http, &uri] {
        let e = client(uri).call_blocking(GET, &big, &opts).unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted, "{uri}: {e}");
    }
    let read = || {
        std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|l: &serde_json::Value| l["code"] == "RESOURCE_EXHAUSTED")
            .collect::<Vec<_>>()
    };
    let lines = wait_for_lines(read, 2);
    let transports: Vec<_> = lines
        .iter()
        .map(|l| l["transport"].as_str().unwrap())
        .collect();
    assert_eq!(transports, ["http", "grpc"], "{lines:?}");

    let e = ServerOptions::from_security_file(dir.path().join("missing.toml")).unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}
