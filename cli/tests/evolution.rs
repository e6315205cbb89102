//! `hms-ffi check --against OLD NEW` end to end: the text and JSON reports, the category flag,
//! the exit status (0 compatible, 1 breaking, 3 unreadable input) and clear errors, never a
//! panic, for bad input. The agreement with buf is `evolution_agreement.rs`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{bin, output_within, text};

fn corpus(pair: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/evolution/corpus")
        .join(pair)
}

fn check(args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.arg("check").args(args);
    output_within(cmd, Duration::from_secs(30))
}

fn against(pair: &str, extra: &[&str]) -> Output {
    let dir = corpus(pair);
    let old = dir.join("old");
    let new = dir.join("new");
    let mut args = vec!["--against", old.to_str().unwrap(), new.to_str().unwrap()];
    args.extend_from_slice(extra);
    check(&args)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn breaking_changes_print_path_line_column_rule_and_exit_1() {
    let out = against("003-field-deleted", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "shop.proto:5:1:FIELD_NO_DELETE Previously present field \"3\" with name \"price\" on message \"Item\" was deleted.\n"
    );
    assert!(text(&out.stderr).contains("1 breaking change(s) (FILE)"));
}

#[test]
fn the_category_decides_int32_to_int64() {
    for (category, code) in [
        ("FILE", 1),
        ("PACKAGE", 1),
        ("WIRE_JSON", 1),
        ("WIRE", 0),
        ("wire", 0),
    ] {
        let out = against("013-int32-to-int64", &["--category", category]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{category}: {}",
            text(&out.stderr)
        );
    }
    let out = against("013-int32-to-int64", &["--category", "WIRE"]);
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("compatible (WIRE)"));
}

#[test]
fn json_reports_the_verdict_and_every_finding() {
    let out = against("080-rpc-deleted", &["--json", "--category", "WIRE_JSON"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["compatible"], true);
    assert_eq!(doc["category"], "WIRE_JSON");
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0);

    let out = against("080-rpc-deleted", &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["compatible"], false);
    let f = &doc["findings"][0];
    assert_eq!(f["rule"], "RPC_NO_DELETE");
    assert_eq!(f["path"], "shop.proto");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(11), Some(1))
    );
    assert!(f["message"].as_str().unwrap().contains("\"List\""));
}

#[test]
fn single_files_compare_like_directories() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(
        dir.path(),
        "old/greeter.proto",
        "syntax = \"proto3\";\npackage g.v1;\nmessage Hi {\n  string name = 1;\n}\n",
    );
    let new = write(
        dir.path(),
        "new/greeter.proto",
        "syntax = \"proto3\";\npackage g.v1;\nmessage Hi {\n  string name = 1;\n  int32 age = 2;\n}\n",
    );
    let out = check(&["--against", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = check(&["--against", new.to_str().unwrap(), old.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("greeter.proto:3:1:FIELD_NO_DELETE "));
}

#[test]
fn bad_input_is_a_clear_error_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let good = corpus("001-identical").join("new");
    let good = good.to_str().unwrap();
    let broken = write(
        dir.path(),
        "broken/a.proto",
        "syntax = \"proto3\";\nmessage A {\n  strin name = 1;\n}\n",
    );
    let broken_dir = broken.parent().unwrap().to_str().unwrap().to_string();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = dir.path().join("missing");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--against", &broken_dir, good], "a.proto:3:3"),
        (vec!["--against", good, &broken_dir], "a.proto:3:3"),
        (
            vec!["--against", missing.to_str().unwrap(), good],
            "missing",
        ),
        (
            vec!["--against", empty.to_str().unwrap(), good],
            "no .proto files",
        ),
        (
            vec!["--against", good, good, "--category", "WIRES"],
            "unknown category",
        ),
        (vec!["--against", good, good, good], "one new revision"),
    ];
    for (args, expected) in cases {
        let out = check(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let out = check(&["--against", missing.to_str().unwrap(), good, "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["code"], "NOT_FOUND");
}

#[test]
fn check_without_against_still_compiles_and_lists_methods() {
    let proto = corpus("080-rpc-deleted").join("old/shop.proto");
    let out = check(&[proto.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout)
        .contains("shop.v1.Shop/List(shop.v1.Req) returns (shop.v1.Resp) [server_streaming]"));
    // --category and --json only go with --against.
    let out = check(&[proto.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn docs_list_every_rule_with_its_categories() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/evolution.md"))
            .unwrap();
    let table = doc
        .split("<!-- rules:begin -->")
        .nth(1)
        .and_then(|t| t.split("<!-- rules:end -->").next())
        .unwrap();
    let rows: Vec<String> = table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = hms_ffi_core::evolution::RULES
        .iter()
        .map(|r| {
            let cats = r.categories();
            let marks: Vec<&str> = hms_ffi_core::evolution::Category::ALL
                .iter()
                .map(|c| if cats.contains(c) { "x" } else { "" })
                .collect();
            format!(
                "| `{}` | {} | {} | {} | {} | {} |",
                r.id, marks[0], marks[1], marks[2], marks[3], r.purpose
            )
        })
        .collect();
    assert_eq!(
        rows, expected,
        "docs/evolution.md's rule table is stale (regenerate it from evolution::RULES)"
    );
}
