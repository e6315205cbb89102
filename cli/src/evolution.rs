//! `hms-ffi check --against OLD NEW`: the breaking-change check of the core
//! (`hms_ffi_core::evolution`) on two revisions, as text (`path:line:column:RULE_ID message`,
//! one finding a line) or as one JSON object for CI.
//!
//! Each side is a `.proto` file, a directory, or a registry reference
//! (`registry+URI#SUBJECT[@VERSION|@latest|@sha256:…]`, `hms_ffi_core::registry::RegistryRef`):
//! that version is fetched through the core's registry client, checked against its fingerprint
//! and compared with the same rules.
//!
//! Exit status: 0 when NEW is compatible with OLD under the category, 1 when it breaks it, 3
//! when an input cannot be read or does not compile — for a registry reference, when the
//! registry cannot be reached, does not know the subject, version or fingerprint, or keeps a
//! corrupt schema (2 is clap's, for a bad command line, a malformed reference included).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::{OsStringValueParser, TypedValueParser};
use hms_ffi_core::evolution::{check, Category, Finding, Image};
use hms_ffi_core::registry::RegistryRef;
use hms_ffi_core::{Code, Error};

/// Breaking changes were found.
const BREAKING: u8 = 1;
/// An input is missing, unreadable or does not compile.
const BAD_INPUT: u8 = 3;
/// How long a registry reference's fetch may take.
pub(crate) const REGISTRY_TIMEOUT: Duration = Duration::from_secs(30);

/// One side of a comparison, as given on the command line.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    /// A `.proto` file or a directory of them.
    Path(PathBuf),
    /// A version in a registry.
    Registry(RegistryRef),
}

impl Input {
    /// A registry reference when `text` starts with `registry+` (malformed: an error clap
    /// reports as a bad command line), a path otherwise.
    fn parse(text: OsString) -> Result<Input, Error> {
        match text.to_str() {
            Some(s) if RegistryRef::is_reference(s) => Ok(Input::Registry(s.parse()?)),
            _ => Ok(Input::Path(PathBuf::from(text))),
        }
    }

    fn image(&self, includes: &[PathBuf]) -> Result<Image, Error> {
        match self {
            Input::Path(path) => Image::load(path, includes),
            Input::Registry(r) => {
                let runtime = hms_ffi_core::runtime::runtime();
                runtime.block_on(r.image(REGISTRY_TIMEOUT))
            }
        }
    }
}

/// The clap parser of an [`Input`].
pub(crate) fn input_parser() -> impl TypedValueParser<Value = Input> {
    OsStringValueParser::new().try_map(Input::parse)
}

/// The paths of `inputs`, for `check` without `--against` (which only compiles files).
pub(crate) fn paths(inputs: Vec<Input>) -> Result<Vec<PathBuf>, Error> {
    let path = |i: Input| {
        match i {
        Input::Path(p) => Ok(p),
        Input::Registry(r) => Err(Error::new(
            Code::InvalidArgument,
            format!("{r}: a registry reference is compared with --against; `hms-ffi registry get` shows a version"),
        )),
    }
    };
    inputs.into_iter().map(path).collect()
}

pub(crate) fn run(
    old: &Input,
    new: &[Input],
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
    old: &Input,
    new: &[Input],
    includes: &[PathBuf],
    category: &str,
) -> Result<(Category, Vec<Finding>), Error> {
    let category: Category = category.parse()?;
    let [new] = new else {
        return Err(Error::new(
            Code::InvalidArgument,
            format!(
                "--against compares one new revision (a .proto file, a directory or a registry \
                 reference), got {} inputs",
                new.len()
            ),
        ));
    };
    let old = old.image(includes)?;
    let new = new.image(includes)?;
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
