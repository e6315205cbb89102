//! `hms-ffi check --against` agrees with `buf breaking` on every pair of the corpus
//! (`tests/evolution/corpus/NNN-name/{old,new}`), in every category: the same verdict, the
//! same rule ids, each reported as often and at the same file, line and column. A pair where hms-ffi deliberately differs is listed in
//! `tests/evolution/differences.txt` with the reason (and in docs/evolution.md); such a pair
//! must still differ, so a stale entry fails too.
//!
//! buf comes from npm (`scripts/install-buf.sh` puts it in target/tools/buf; `make test-cli`
//! runs it first); `HMS_FFI_BUF` names another binary. Every process has a timeout.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{bin, output_within, text};

const CATEGORIES: [&str; 4] = ["FILE", "PACKAGE", "WIRE_JSON", "WIRE"];
const TIMEOUT: Duration = Duration::from_secs(60);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn buf() -> PathBuf {
    let path = std::env::var_os("HMS_FFI_BUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/tools/buf/node_modules/.bin/buf"));
    assert!(
        path.exists(),
        "buf is not installed at {}: run scripts/install-buf.sh (make test-cli does) or set HMS_FFI_BUF",
        path.display()
    );
    path
}

/// A finding as both tools are compared on it: rule id, file, line, column.
type Key = (String, String, u64, u64);

/// Finding -> how many times it is reported, from one tool on one pair and category.
type Verdict = BTreeMap<Key, usize>;

/// The comparable form of one finding. A finding without a place is at 1:1 (buf's way). Two
/// deliberate differences (docs/evolution.md) are left out of the comparison: the file of
/// FILE_NO_DELETE and PACKAGE_NO_DELETE (buf names none, hms-ffi the deleted file) and the
/// column of FIELD_SAME_DEFAULT (buf points at `default`, hms-ffi at the value).
fn key(rule: &str, path: &str, line: Option<u64>, column: Option<u64>) -> Key {
    let path = match rule {
        "FILE_NO_DELETE" | "PACKAGE_NO_DELETE" => "",
        _ => path,
    };
    let column = match rule {
        "FIELD_SAME_DEFAULT" => 0,
        _ => column.unwrap_or(1),
    };
    (
        rule.to_string(),
        path.to_string(),
        line.unwrap_or(1),
        column,
    )
}

fn count(keys: impl IntoIterator<Item = Key>) -> Verdict {
    let mut v = Verdict::new();
    for k in keys {
        *v.entry(k).or_default() += 1;
    }
    v
}

/// What one tool reports and the other does not (or not as often).
fn difference(theirs: &Verdict, ours: &Verdict) -> String {
    let mut lines = Vec::new();
    for (k, n) in theirs {
        if ours.get(k) != Some(n) {
            lines.push(format!(
                "buf {n}x {k:?}, hms-ffi {}x",
                ours.get(k).unwrap_or(&0)
            ));
        }
    }
    for (k, n) in ours {
        if !theirs.contains_key(k) {
            lines.push(format!("hms-ffi {n}x {k:?}, buf 0x"));
        }
    }
    lines.join("; ")
}

/// The rule ids of a verdict, for the coverage check.
fn rules_of(v: &Verdict) -> impl Iterator<Item = String> + '_ {
    v.keys().map(|k| k.0.clone())
}

/// Copies `from` into `to` (both directories).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// buf's findings: each side becomes a module (its own buf.yaml using `category`), and
/// `buf breaking new --against old --error-format json` runs in their parent.
fn run_buf(buf: &Path, work: &Path, category: &str) -> Verdict {
    for side in ["old", "new"] {
        let config = format!("version: v2\nbreaking:\n  use:\n    - {category}\n");
        std::fs::write(work.join(side).join("buf.yaml"), config).unwrap();
    }
    let mut cmd = Command::new(buf);
    cmd.args([
        "breaking",
        "new",
        "--against",
        "old",
        "--error-format",
        "json",
    ])
    .current_dir(work)
    .env("BUF_CACHE_DIR", work.join(".cache"));
    let out = output_within(cmd, TIMEOUT);
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(100),
        "buf breaking failed in {} ({code:?}): {}{}",
        work.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
    let found = count(text(&out.stdout).lines().map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let path = v["path"].as_str().unwrap_or("");
        key(
            v["type"].as_str().unwrap(),
            path.strip_prefix("new/").unwrap_or(path),
            v["start_line"].as_u64(),
            v["start_column"].as_u64(),
        )
    }));
    assert!(
        !found.keys().any(|k| k.0 == "COMPILE"),
        "buf does not compile a side of {}: {}",
        work.display(),
        text(&out.stdout)
    );
    found
}

/// hms-ffi's findings, through the binary's JSON output.
fn run_hms(pair: &Path, category: &str) -> (Verdict, Output) {
    let mut cmd = bin();
    cmd.arg("check")
        .arg("--against")
        .arg(pair.join("old"))
        .arg(pair.join("new"))
        .args(["--category", category, "--json"]);
    let out = output_within(cmd, TIMEOUT);
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "hms-ffi check failed on {} ({code:?}): {}",
        pair.display(),
        text(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(doc["compatible"].as_bool(), Some(findings.is_empty()));
    assert_eq!(
        code == Some(0),
        findings.is_empty(),
        "exit status and verdict"
    );
    let keys = findings.iter().map(|f| {
        key(
            f["rule"].as_str().unwrap(),
            f["path"].as_str().unwrap(),
            f["line"].as_u64(),
            f["column"].as_u64(),
        )
    });
    (count(keys), out)
}

/// `NNN-name CATEGORY reason` lines of tests/evolution/differences.txt.
fn known_differences() -> BTreeSet<(String, String)> {
    let list = std::fs::read_to_string(root().join("tests/evolution/differences.txt")).unwrap();
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace();
            let pair = words.next().unwrap().to_string();
            let category = words.next().unwrap().to_string();
            assert!(
                CATEGORIES.contains(&category.as_str()),
                "differences.txt: {l}"
            );
            assert!(
                words.next().is_some(),
                "differences.txt gives no reason: {l}"
            );
            (pair, category)
        })
        .collect()
}

#[test]
fn hms_ffi_agrees_with_buf_breaking_on_the_corpus() {
    let buf = buf();
    let corpus = root().join("tests/evolution/corpus");
    let mut pairs: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    pairs.sort();
    assert!(pairs.len() >= 60, "the corpus has {} pairs", pairs.len());

    let known = known_differences();
    let mut disagreements = Vec::new();
    let mut seen = BTreeSet::new();
    let mut rules_hit = BTreeSet::new();
    let (mut breaking, mut compatible) = (0, 0);
    for pair in &pairs {
        let name = pair.file_name().unwrap().to_string_lossy().into_owned();
        let work = tempfile::tempdir().unwrap();
        copy_dir(&pair.join("old"), &work.path().join("old"));
        copy_dir(&pair.join("new"), &work.path().join("new"));
        for category in CATEGORIES {
            let theirs = run_buf(&buf, work.path(), category);
            let (ours, _) = run_hms(pair, category);
            rules_hit.extend(rules_of(&theirs));
            if theirs.is_empty() {
                compatible += 1;
            } else {
                breaking += 1;
            }
            let key = (name.clone(), category.to_string());
            let differs = theirs != ours;
            match (differs, known.contains(&key)) {
                (true, false) => {
                    disagreements.push(format!("{name} {category}: {}", difference(&theirs, &ours)))
                }
                (false, true) => disagreements.push(format!(
                    "{name} {category}: listed in differences.txt but both report {ours:?}"
                )),
                _ => {}
            }
            seen.insert(key);
        }
    }
    for key in known.difference(&seen) {
        disagreements.push(format!("differences.txt names {key:?}, not in the corpus"));
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s) with buf breaking:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // The corpus exercises both verdicts, and every rule that can fire on what protox compiles.
    assert!(breaking > 0 && compatible > 0);
    let untested: Vec<&str> = hms_ffi_core::evolution::RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !rules_hit.contains(*id))
        .collect();
    assert!(
        untested.is_empty(),
        "rules no corpus pair triggers: {untested:?}"
    );
    eprintln!(
        "{} pairs x {} categories: {breaking} breaking, {compatible} compatible, all agree",
        pairs.len(),
        CATEGORIES.len()
    );
}

#[test]
fn the_rule_table_is_buf_s() {
    let mut cmd = Command::new(buf());
    cmd.args([
        "config",
        "ls-breaking-rules",
        "--version",
        "v2",
        "--format",
        "json",
    ])
    .current_dir(std::env::temp_dir());
    let out = output_within(cmd, TIMEOUT);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let theirs: BTreeMap<String, Vec<String>> = text(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let categories = v["categories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .filter(|c| CATEGORIES.contains(&c.as_str()))
                .collect();
            (v["id"].as_str().unwrap().to_string(), categories)
        })
        .collect();
    let ours: BTreeMap<String, Vec<String>> = hms_ffi_core::evolution::RULES
        .iter()
        .map(|r| {
            let categories = r
                .categories()
                .iter()
                .map(|c| c.name().to_string())
                .collect();
            (r.id.to_string(), categories)
        })
        .collect();
    assert_eq!(ours, theirs);
}
