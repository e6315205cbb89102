//! Breaking-change checks between two revisions of a schema, with the verdicts of `buf breaking`.
//!
//! [`check`] compares an old and a new [`Image`] (a set of `.proto` files compiled with their
//! source positions) and returns one [`Finding`] per broken promise, each naming the rule it
//! breaks with buf's rule id (`FIELD_NO_DELETE`, `RPC_SAME_REQUEST_TYPE`, …), the file, line
//! and column in the new revision, and a sentence. A [`Category`] picks the rules as buf groups
//! them, from the strictest to the most lenient:
//!
//! - [`Category::File`]: generated code keeps compiling, file by file (buf's default);
//! - [`Category::Package`]: generated code keeps compiling, package by package (types may move
//!   between files of one package);
//! - [`Category::WireJson`]: the binary encoding and protobuf's JSON mapping keep working;
//! - [`Category::Wire`]: the binary encoding keeps working.
//!
//! The rules, their categories and every deliberate difference from buf are in
//! `docs/evolution.md`; `tests/evolution/corpus` holds the schema pairs on which a test runs
//! both tools and fails on any disagreement.
//!
//! ```
//! use hms_ffi_core::evolution::{check, Category, Image};
//! # fn main() -> hms_ffi_core::Result<()> {
//! let old = Image::from_sources(&[("shop.proto", r#"
//!     syntax = "proto3"; package shop.v1;
//!     message Item { string name = 1; int32 count = 2; }
//! "#)])?;
//! let new = Image::from_sources(&[("shop.proto", r#"
//!     syntax = "proto3"; package shop.v1;
//!     message Item { string name = 1; int64 count = 2; }
//! "#)])?;
//! // int32 -> int64 changes generated code and JSON, not the binary encoding.
//! let file = check(&old, &new, Category::File);
//! assert_eq!(file[0].rule, "FIELD_SAME_TYPE");
//! assert_eq!((file[0].path.as_str(), file[0].line), ("shop.proto", Some(3)));
//! assert!(check(&old, &new, Category::Wire).is_empty());
//! # Ok(()) }
//! ```
//!
//! The submodules: [`image`] (loading and indexing), `rules` (the rule table), `files`
//! (file and package rules), `messages`, `fields`, `types` (field type changes), `enums`,
//! `services`, `ranges` (reserved and extension ranges), `defaults` (proto2 default values),
//! `fingerprint` (an image as a `FileDescriptorSet` and its content fingerprint), `methods`
//! (the check narrowed to one method, for clients at connect).

mod defaults;
mod enums;
mod fields;
mod files;
mod fingerprint;
pub mod image;
mod messages;
mod methods;
mod ranges;
mod rules;
mod services;
mod types;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Code, Error, Result};

pub use fingerprint::SCHEMA_INVALID;
pub use image::Image;
pub use methods::check_method;
pub use rules::{Rule, RULES};

/// A group of rules, as `buf breaking` names them (`FILE`, `PACKAGE`, `WIRE_JSON`, `WIRE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Generated code keeps compiling, file by file. The default, as in buf.
    File,
    /// Generated code keeps compiling, package by package.
    Package,
    /// The binary encoding and the JSON mapping keep working.
    WireJson,
    /// The binary encoding keeps working.
    Wire,
}

impl Category {
    /// Every category, strictest first.
    pub const ALL: [Category; 4] = [
        Category::File,
        Category::Package,
        Category::WireJson,
        Category::Wire,
    ];

    /// `FILE`, `PACKAGE`, `WIRE_JSON` or `WIRE`.
    pub fn name(self) -> &'static str {
        match self {
            Category::File => "FILE",
            Category::Package => "PACKAGE",
            Category::WireJson => "WIRE_JSON",
            Category::Wire => "WIRE",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Category::File => rules::FILE,
            Category::Package => rules::PACKAGE,
            Category::WireJson => rules::WIRE_JSON,
            Category::Wire => rules::WIRE,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Category {
    type Err = Error;

    fn from_str(s: &str) -> Result<Category> {
        Category::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::new(
                    Code::InvalidArgument,
                    format!("unknown category {s:?}: expected FILE, PACKAGE, WIRE_JSON or WIRE"),
                )
            })
    }
}

/// One broken promise: a rule id, where in the new revision (or, for something deleted, the
/// closest place that is left), and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule, as buf names it (`FIELD_NO_DELETE`).
    pub rule: &'static str,
    /// The file, relative to its root (`shop/v1/shop.proto`).
    pub path: String,
    /// 1-based line, when the element has a place in the new revision.
    pub line: Option<u32>,
    /// 1-based column, when the element has a place in the new revision.
    pub column: Option<u32>,
    /// What changed, as one sentence.
    pub message: String,
}

impl fmt::Display for Finding {
    /// `path:line:column:RULE_ID message` (line and column 1 when the element has no place).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{} {}",
            self.path,
            self.line.unwrap_or(1),
            self.column.unwrap_or(1),
            self.rule,
            self.message
        )
    }
}

/// Compares `old` with `new` under the rules of `category`; an empty result means compatible.
/// Findings are sorted by file, line, column and rule.
pub fn check(old: &Image, new: &Image, category: Category) -> Vec<Finding> {
    let mut out = Findings::default();
    let (old_index, new_index) = (old.index(), new.index());
    let pair = Pair {
        old,
        new,
        old_index: &old_index,
        new_index: &new_index,
    };
    files::check(&pair, &mut out);
    messages::check(&pair, &mut out);
    fields::check(&pair, &mut out);
    enums::check(&pair, &mut out);
    services::check(&pair, &mut out);
    let mut findings: Vec<Finding> = out
        .0
        .into_iter()
        .filter(|f| rules::categories(f.rule) & category.bit() != 0)
        .collect();
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, a.rule, &a.message)
            .cmp(&(&b.path, b.line, b.column, b.rule, &b.message))
    });
    findings.dedup();
    findings
}

/// The two revisions and their indexes, as every rule sees them.
struct Pair<'a> {
    old: &'a Image,
    new: &'a Image,
    old_index: &'a image::Index<'a>,
    new_index: &'a image::Index<'a>,
}

/// Where the findings of one check are collected.
#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    /// Adds a finding at `place` (a file path and, when known, a line and column).
    fn add(&mut self, rule: &'static str, place: image::Place, message: String) {
        debug_assert!(rules::categories(rule) != 0, "unknown rule {rule}");
        self.0.push(Finding {
            rule,
            path: place.path,
            line: place.at.map(|(l, _)| l),
            column: place.at.map(|(_, c)| c),
            message,
        });
    }
}

#[cfg(test)]
mod tests;
