//! `hms-ffi serve --revision LABEL=FILE`, `list` showing the revisions and `call --revision`
//! (or `-H hms-schema-revision:…`) choosing one (docs/evolution.md, "Two versions side by side").

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{bin, output_within, text, Serve};

const REV1: &str = r#"syntax = "proto3";
package acme.v1;
message Note { string name = 1; }
service Notes { rpc Echo(Note) returns (Note); }
"#;

/// Revision 2 renames the field and adds one.
const REV2: &str = r#"syntax = "proto3";
package acme.v1;
message Note { string full_name = 1; string locale = 2; }
service Notes { rpc Echo(Note) returns (Note); }
"#;

const METHOD: &str = "acme.v1.Notes/Echo";

fn cli(args: &[&str]) -> (bool, String, String) {
    let mut cmd = bin();
    cmd.args(args);
    let out = output_within(cmd, Duration::from_secs(20));
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

fn serve(dir: &Path) -> (Serve, String) {
    std::fs::write(dir.join("rev1.proto"), REV1).unwrap();
    std::fs::write(dir.join("rev2.proto"), REV2).unwrap();
    let sock = dir.join("rev.sock");
    let rev1 = format!("rev1={}", dir.join("rev1.proto").display());
    let child = bin()
        .args(["serve", "--echo", "--schema"])
        .arg(dir.join("rev2.proto"))
        .args(["--revision", &rev1, "--listen"])
        .arg(format!("unix://{}", sock.display()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Serve(child);
    for _ in 0..200 {
        if sock.exists() {
            return (server, format!("unix://{}", sock.display()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("hms-ffi serve did not create {}", sock.display());
}

#[test]
fn serve_list_and_call_two_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, uri) = serve(dir.path());

    let (ok, listed, err) = cli(&["list", &uri]);
    assert!(ok, "{err}");
    let line = listed.lines().find(|l| l.starts_with("revision rev1 "));
    let fingerprint = line.expect(&listed).trim_start_matches("revision rev1 ");
    assert!(fingerprint.starts_with("sha256:"), "{listed}");

    // The main schema (revision 2).
    let (ok, out, err) = cli(&[
        "call",
        &uri,
        METHOD,
        r#"{"full_name": "Ada", "locale": "en"}"#,
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), r#"{"fullName":"Ada","locale":"en"}"#);
    // Revision 1 by label, then by fingerprint through the metadata entry with its schema.
    let (ok, out, err) = cli(&[
        "call",
        &uri,
        METHOD,
        r#"{"name": "Ada"}"#,
        "--revision",
        "rev1",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), r#"{"name":"Ada"}"#);
    let rev1 = dir.path().join("rev1.proto");
    let header = format!("hms-schema-revision={fingerprint}");
    let (ok, out, err) = cli(&[
        "call",
        &uri,
        METHOD,
        r#"{"name": "Bo"}"#,
        "--schema",
        rev1.to_str().unwrap(),
        "-H",
        &header,
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), r#"{"name":"Bo"}"#);

    // An unknown revision: FAILED_PRECONDITION naming the one served, exit 1.
    let (ok, _, err) = cli(&["call", &uri, METHOD, "{}", "--revision", "rev9"]);
    assert!(!ok);
    assert!(
        err.contains("FAILED_PRECONDITION") || err.contains("FailedPrecondition"),
        "{err}"
    );
    assert!(err.contains("rev1"), "{err}");
}

#[test]
fn serve_refuses_a_malformed_revision() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rev2.proto"), REV2).unwrap();
    let schema = dir.path().join("rev2.proto");
    let (ok, _, err) = cli(&[
        "serve",
        "--schema",
        schema.to_str().unwrap(),
        "--revision",
        "no-equals-sign",
        "--listen",
        "inproc://cli-revisions",
    ]);
    assert!(!ok);
    assert!(err.contains("LABEL=FILE"), "{err}");
}
