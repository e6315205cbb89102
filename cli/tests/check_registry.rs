//! `hms-ffi check --against` with registry references (`registry+URI#SUBJECT@VERSION`, a
//! fingerprint, `latest`) on either side, against `hms-ffi registry serve`: the same findings,
//! output and exit codes as with files; exit 3 for an unreachable registry, an unknown subject,
//! version or fingerprint, and a corrupt stored schema; exit 2 for a malformed reference.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{bin, free_port, output_within, registry_serve, shop_schema, text, wait_for_ports};

const WAIT: Duration = Duration::from_secs(30);

fn cli(args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.args(args);
    output_within(cmd, WAIT)
}

/// The folder of a new `shop.proto` whose `message Item` holds `body`.
fn schema(dir: &Path, name: &str, body: &str) -> String {
    let folder = shop_schema(dir, name, body);
    folder.to_str().unwrap().to_string()
}

fn json_of(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Registers `folder` and returns the new version's fingerprint.
fn register(registry: &str, folder: &str) -> String {
    let out = cli(&[
        "registry",
        "register",
        "--registry",
        registry,
        folder,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    json_of(&text(&out.stdout))["version"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `check --against OLD NEW [extra…]`: (exit status, stdout, stderr).
fn check(old: &str, new: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["check", "--against", old, new];
    args.extend_from_slice(extra);
    let out = cli(&args);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

struct Registry {
    _server: common::Serve,
    dir: tempfile::TempDir,
    db: PathBuf,
    unix: String,
    grpc: String,
}

fn start() -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let (db, sock) = (dir.path().join("r.db"), dir.path().join("r.sock"));
    let port = free_port();
    let grpc = format!("grpc://127.0.0.1:{port}");
    let server = registry_serve(&db, &sock, std::slice::from_ref(&grpc));
    assert!(wait_for_ports(&[port]));
    let unix = format!("unix://{}", sock.display());
    Registry {
        _server: server,
        dir,
        db,
        unix,
        grpc,
    }
}

#[test]
fn a_registry_version_is_checked_with_the_rules_and_output_of_files() {
    let r = start();
    let v1 = schema(r.dir.path(), "v1", "int32 count = 1;");
    let added = schema(r.dir.path(), "added", "int32 count = 1; string name = 2;");
    let retyped = schema(r.dir.path(), "retyped", "string count = 1;");
    let fp1 = register(&r.unix, &v1);
    let at1 = format!("registry+{}#shop.v1@1", r.unix);

    // Breaking: the very findings, text and JSON, as against the files v1 was registered from.
    let from_files = check(&v1, &retyped, &[]);
    assert_eq!(from_files.0, Some(1), "{}", from_files.2);
    assert!(
        from_files.1.contains("shop.proto:3:16:FIELD_SAME_TYPE"),
        "{}",
        from_files.1
    );
    assert_eq!(check(&at1, &retyped, &[]), from_files);
    let json_files = check(&v1, &retyped, &["--json", "--category", "WIRE_JSON"]);
    let json_registry = check(&at1, &retyped, &["--json", "--category", "WIRE_JSON"]);
    assert_eq!(
        (json_registry.0, &json_registry.1),
        (Some(1), &json_files.1)
    );
    let doc: serde_json::Value = serde_json::from_str(&json_registry.1).unwrap();
    assert_eq!(
        doc["findings"][0]["rule"],
        "FIELD_WIRE_JSON_COMPATIBLE_TYPE"
    );
    assert_eq!(doc["findings"][0]["line"], 3);

    // Compatible: exit 0, against the latest version over gRPC, and by fingerprint.
    let latest = format!("registry+{}#shop.v1@latest", r.grpc);
    let (code, out, err) = check(&latest, &added, &["--json"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(json_of(&out)["compatible"], true);
    let (code, _, err) = check(&format!("registry+{}#shop.v1", r.unix), &added, &[]);
    assert_eq!((code, err.trim()), (Some(0), "compatible (FILE)"));
    for by_fp in [
        format!("registry+{}#{fp1}", r.unix),
        format!("registry+{}#shop.v1@{fp1}", r.unix),
    ] {
        assert_eq!(check(&by_fp, &retyped, &[]), from_files, "{by_fp}");
    }

    // A reference on the NEW side, and on both: v2 adds a field, so v2 -> v1 deletes it.
    register(&r.unix, &added);
    let at2 = format!("registry+{}#shop.v1@2", r.unix);
    let (code, out, err) = check(&at2, &at1, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.contains(":FIELD_NO_DELETE "), "{out}");
    assert_eq!(check(&v1, &at2, &[]).0, Some(0));
    assert_eq!(check(&retyped, &at1, &[]).0, Some(1));
}

#[test]
fn unreachable_registries_unknown_versions_and_corrupt_schemas_exit_3() {
    let r = start();
    let v1 = schema(r.dir.path(), "v1", "int32 count = 1;");
    register(&r.unix, &v1);
    let gone = format!("unix://{}", r.dir.path().join("gone.sock").display());
    let unknown_fp = format!("sha256:{}", "0".repeat(64));
    let cases = [
        (format!("registry+{gone}#shop.v1"), "UNAVAILABLE"),
        (format!("registry+{}#nope.v1", r.unix), "NOT_FOUND"),
        (format!("registry+{}#shop.v1@9", r.unix), "NOT_FOUND"),
        (format!("registry+{}#{unknown_fp}", r.unix), "NOT_FOUND"),
        (
            format!("registry+{}#other.v1@{unknown_fp}", r.unix),
            "NOT_FOUND",
        ),
    ];
    for (reference, code) in &cases {
        let (status, _, err) = check(reference, &v1, &[]);
        assert_eq!(status, Some(3), "{reference}: {err}");
        assert!(
            err.starts_with(&format!("{code}: {reference}")),
            "{reference}: {err}"
        );
        // The same on the NEW side, and as JSON.
        let (status, out, _) = check(&v1, reference, &["--json"]);
        assert_eq!(
            (status, json_of(&out)["error"]["code"].as_str()),
            (Some(3), Some(*code))
        );
    }

    // A malformed reference is a bad command line (clap's 2), with what is wrong.
    let (status, _, err) = check(&format!("registry+{}#shop.v1@two", r.unix), &v1, &[]);
    assert_eq!(status, Some(2), "{err}");
    assert!(err.contains("a version is a number"), "{err}");
    // Without --against a reference is refused (check then only compiles files).
    let out = cli(&["check", &format!("registry+{}#shop.v1", r.unix)]);
    assert!(
        text(&out.stderr).contains("is compared with --against"),
        "{}",
        text(&out.stderr)
    );
    assert!(!out.status.success());

    // Corrupt stored schemas: bytes that do not decode, then a valid set that is not the one
    // the fingerprint names. Both: DATA_LOSS, exit 3.
    let other = other_set(r.dir.path());
    for (bytes, want) in [
        (vec![0xff, 0xff, 0xff], "invalid FileDescriptorSet"),
        (other, "hashes to"),
    ] {
        corrupt(&r.db, &bytes);
        let reference = format!("registry+{}#shop.v1@1", r.unix);
        let (status, _, err) = check(&reference, &v1, &[]);
        assert_eq!(status, Some(3), "{err}");
        assert!(err.starts_with("DATA_LOSS: "), "{err}");
        assert!(
            err.contains("is corrupt") && err.contains(want),
            "{want}: {err}"
        );
    }
}

/// A valid FileDescriptorSet of another schema (`registry get --out` of a second registry).
fn other_set(dir: &Path) -> Vec<u8> {
    let (db, sock) = (dir.join("other.db"), dir.join("other.sock"));
    let _server = registry_serve(&db, &sock, &[]);
    let uri = format!("unix://{}", sock.display());
    register(&uri, &schema(dir, "other", "int64 count = 1;"));
    let out_file = dir.join("other.binpb");
    let out = cli(&[
        "registry",
        "get",
        "--registry",
        &uri,
        "shop.v1",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::read(out_file).unwrap()
}

/// Overwrites the stored set of shop.v1 v1 behind the running registry's back.
fn corrupt(db: &Path, bytes: &[u8]) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let n = conn
        .execute(
            "UPDATE versions SET descriptor_set = ?1 WHERE subject = 'shop.v1' AND version = 1",
            rusqlite::params![bytes],
        )
        .unwrap();
    assert_eq!(n, 1);
}
