//! `hms-ffi call --expect-schema FILE` and `--expect-registry REF` (docs/evolution.md, "Versions
//! at connect"): against a server whose v2 schema breaks one method of v1 and keeps the other,
//! the broken method fails before anything is sent (FAILED_PRECONDITION, reason
//! INCOMPATIBLE_SCHEMA, the findings printed) and the compatible one works.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{audit_lines, bin, output_within, registry_serve, spawn_until_socket, text, Serve};

/// v1: what the caller was built against.
const V1: &str = r#"syntax = "proto3";
package shop.v1;
message Key { string id = 1; }
message Item { string name = 1; }
service Shop {
  rpc Get(Key) returns (Key);
  rpc Put(Item) returns (Item);
}
"#;

/// v2: `Key.id` becomes an int64 (breaks Get); `Item` gains a field (Put stays compatible).
const V2: &str = r#"syntax = "proto3";
package shop.v1;
message Key { int64 id = 1; }
message Item { string name = 1; int32 count = 2; }
service Shop {
  rpc Get(Key) returns (Key);
  rpc Put(Item) returns (Item);
}
"#;

const GET: &str = "shop.v1.Shop/Get";
const PUT: &str = "shop.v1.Shop/Put";
const FINDING: &str = "shop.proto:3:15:FIELD_WIRE_JSON_COMPATIBLE_TYPE";

fn cli(args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.args(args);
    output_within(cmd, Duration::from_secs(30))
}

/// `hms-ffi call URI METHOD REQUEST extra…`.
fn call(uri: &str, method: &str, request: &str, extra: &[&str]) -> Output {
    let mut args = vec!["call", uri, method, request];
    args.extend_from_slice(extra);
    cli(&args)
}

/// Asserts `out` is a reply equal to `want`.
fn assert_reply(out: &Output, want: &str) {
    assert_eq!(text(&out.stdout).trim(), want, "{}", text(&out.stderr));
}

/// Writes `text` as `dir/name/shop.proto` and returns the file.
fn write(dir: &Path, name: &str, text: &str) -> String {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    let file = dir.join(name).join("shop.proto");
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

/// `hms-ffi serve --echo` of v2 on a unix socket, with an audit log of every call it receives.
fn serve_v2(dir: &Path) -> (Serve, String) {
    let sock = dir.join("shop.sock");
    let mut cmd = bin();
    cmd.args(["serve", "--echo", "--schema", &write(dir, "v2", V2)])
        .arg("--audit")
        .arg(dir.join("audit.jsonl"))
        .arg("--listen")
        .arg(format!("unix://{}", sock.display()));
    let server = spawn_until_socket(cmd, &sock);
    (server, format!("unix://{}", sock.display()))
}

/// The methods the server has audited, once it has audited `want` calls.
fn audited(dir: &Path, want: usize) -> Vec<String> {
    let lines = audit_lines(&dir.join("audit.jsonl"), want);
    let method = |l: &serde_json::Value| l["method"].as_str().unwrap_or_default().to_string();
    lines
        .iter()
        .map(method)
        .filter(|m| m.starts_with("shop."))
        .collect()
}

/// Asserts `out` is the refusal of Get: exit 1, the code, reason and finding on stderr.
fn assert_refused(out: &Output, finding: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(
        err.starts_with("FAILED_PRECONDITION: the server's schema breaks shop.v1.Shop/Get"),
        "{err}"
    );
    assert!(err.contains("\n  reason INCOMPATIBLE_SCHEMA\n"), "{err}");
    assert!(
        err.lines().any(|l| l.starts_with(&format!("  {finding} "))),
        "{err}"
    );
}

#[test]
fn an_expected_schema_refuses_a_broken_method_before_sending_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, uri) = serve_v2(dir.path());
    let v1 = write(dir.path(), "v1", V1);
    let expect = ["--expect-schema", v1.as_str()];

    // The compatible method works (encoded with the server's schema).
    let out = call(&uri, PUT, r#"{"name": "pen"}"#, &expect);
    assert_reply(&out, r#"{"name":"pen"}"#);

    // The broken one fails at once, under WIRE_JSON (default) and under WIRE.
    assert_refused(&call(&uri, GET, r#"{"id": "7"}"#, &expect), FINDING);
    let wire = [&expect[..], &["--expect-category", "WIRE"]].concat();
    let out = call(&uri, GET, r#"{"id": "7"}"#, &wire);
    assert_refused(&out, "shop.proto:3:15:FIELD_WIRE_COMPATIBLE_TYPE");

    // Without the expectation the server answers Get; its audit log shows that no refused
    // call reached it: Put, then only this Get.
    assert_reply(&call(&uri, GET, r#"{"id": "7"}"#, &[]), r#"{"id":"7"}"#);
    let calls = audited(dir.path(), 6);
    assert_eq!(calls, [PUT, GET]);

    // A bad category or an expected schema that does not compile: exit 1, nothing called.
    let soft = [&expect[..], &["--expect-category", "SOFT"]].concat();
    assert_eq!(call(&uri, PUT, "{}", &soft).status.code(), Some(1));
    let broken = write(dir.path(), "broken", "syntax = \"proto3\"; message {");
    let out = call(&uri, PUT, "{}", &["--expect-schema", &broken]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("shop.proto:1:"), "{err}");
}

#[test]
fn an_expected_registry_version_works_like_an_expected_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, uri) = serve_v2(dir.path());
    let (db, sock) = (dir.path().join("r.db"), dir.path().join("r.sock"));
    let _registry = registry_serve(&db, &sock, &[]);
    let registry = format!("unix://{}", sock.display());
    let v1 = write(dir.path(), "v1", V1);
    let out = cli(&["registry", "register", "--registry", &registry, &v1]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let at1 = format!("registry+{registry}#shop.v1@1");
    let out = call(&uri, GET, r#"{"id": "7"}"#, &["--expect-registry", &at1]);
    assert_refused(&out, FINDING);
    let latest = format!("registry+{registry}#shop.v1");
    let out = call(
        &uri,
        PUT,
        r#"{"name": "pen"}"#,
        &["--expect-registry", &latest],
    );
    assert_reply(&out, r#"{"name":"pen"}"#);

    // An unknown version: the registry's NOT_FOUND, naming the reference; nothing called.
    let at9 = format!("registry+{registry}#shop.v1@9");
    let out = call(&uri, PUT, "{}", &["--expect-registry", &at9]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with(&format!("NOT_FOUND: {at9}: ")), "{err}");
    // Both expectations at once, or a malformed reference: a bad command line.
    let both = ["--expect-registry", &at1, "--expect-schema", &v1];
    assert_eq!(call(&uri, PUT, "{}", &both).status.code(), Some(2));
    let out = call(&uri, PUT, "{}", &["--expect-registry", "shop.v1@1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(audited(dir.path(), 3), [PUT]);
}
