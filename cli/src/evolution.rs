//! `hms-ffi check --against OLD NEW`: the breaking-change check of the core
//! (`hms_ffi_core::evolution`) on two revisions, as text (`path:line:column:RULE_ID message`,
//! one finding a line) or as one JSON object for CI.
//!
//! Exit status: 0 when NEW is compatible with OLD under the category, 1 when it breaks it, 3
//! when an input cannot be read or does not compile (2 is clap's, for a bad command line).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hms_ffi_core::evolution::{check, Category, Finding, Image};
use hms_ffi_core::Error;

/// Breaking changes were found.
const BREAKING: u8 = 1;
/// An input is missing, unreadable or does not compile.
const BAD_INPUT: u8 = 3;

pub(crate) fn run(
    old: &Path,
    new: &[PathBuf],
    includes: &[PathBuf],
    category: &str,
    json: bool,
) -> ExitCode {
    match compare(old, new, includes, category) {
        Ok((category, findings)) => {
            report(category, &findings, json);
            if findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(BREAKING)
            }
        }
        Err(e) => {
            if json {
                let error = serde_json::json!({
                    "error": { "code": e.code().to_string(), "message": e.message() }
                });
                println!("{error}");
            }
            eprintln!("{}: {}", e.code(), e.message());
            ExitCode::from(BAD_INPUT)
        }
    }
}

fn compare(
    old: &Path,
    new: &[PathBuf],
    includes: &[PathBuf],
    category: &str,
) -> Result<(Category, Vec<Finding>), Error> {
    let category: Category = category.parse()?;
    let [new] = new else {
        return Err(Error::new(
            hms_ffi_core::Code::InvalidArgument,
            format!(
                "--against compares one new revision (a .proto file or a directory), got {} paths",
                new.len()
            ),
        ));
    };
    let old = Image::load(old, includes)?;
    let new = Image::load(new, includes)?;
    Ok((category, check(&old, &new, category)))
}

fn report(category: Category, findings: &[Finding], json: bool) {
    if json {
        let doc = serde_json::json!({
            "category": category.name(),
            "compatible": findings.is_empty(),
            "findings": findings,
        });
        println!("{doc}");
        return;
    }
    for f in findings {
        println!("{f}");
    }
    match findings.len() {
        0 => eprintln!("compatible ({category})"),
        n => eprintln!("{n} breaking change(s) ({category})"),
    }
}
