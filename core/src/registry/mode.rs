//! Compatibility modes, as Confluent Schema Registry defines them, mapped onto the
//! breaking-change check of [`crate::evolution`].
//!
//! The check answers one question: does revision NEW keep the promises revision OLD made, under
//! the rules of a [`Category`]? A mode says which pairs to ask it about when a candidate is
//! registered:
//!
//! | mode | Confluent's meaning | pairs checked (OLD → NEW) |
//! |---|---|---|
//! | `BACKWARD` (default) | readers of the candidate read what the latest version wrote | latest → candidate |
//! | `FORWARD` | readers of the latest version read what the candidate writes | candidate → latest, without the deletion rules |
//! | `FULL` | both | both |
//! | `*_TRANSITIVE` | the same, against every earlier version, not only the latest | each earlier → candidate (and/or back) |
//! | `NONE` | no check | — |
//!
//! In the FORWARD direction the candidate plays OLD, so something the candidate *added* shows
//! as a deletion (`FIELD_NO_DELETE`, `RPC_NO_DELETE`, …); a reader of the older version skips
//! what it does not know, so rules whose id contains `NO_DELETE` are left out of that
//! direction. "Latest" and "every earlier version" leave out deprecated versions (as Confluent
//! leaves out soft-deleted ones): deprecating a version is how a subject lets a break through.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::error::{Code, Error, Result};
use crate::evolution::{check, Category, Finding, Image};

/// The reason of the error a registration that breaks its subject's mode gets.
pub const INCOMPATIBLE_SCHEMA: &str = "INCOMPATIBLE_SCHEMA";

/// A subject's compatibility mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Readers of the candidate read what the latest version wrote.
    Backward,
    /// [`Mode::Backward`] against every earlier version.
    BackwardTransitive,
    /// Readers of the latest version read what the candidate writes.
    Forward,
    /// [`Mode::Forward`] against every earlier version.
    ForwardTransitive,
    /// Backward and forward.
    Full,
    /// [`Mode::Full`] against every earlier version.
    FullTransitive,
    /// No check.
    None,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 7] = [
        Mode::Backward,
        Mode::BackwardTransitive,
        Mode::Forward,
        Mode::ForwardTransitive,
        Mode::Full,
        Mode::FullTransitive,
        Mode::None,
    ];

    /// `BACKWARD`, `FORWARD_TRANSITIVE`, `NONE`, …
    pub fn name(self) -> &'static str {
        match self {
            Mode::Backward => "BACKWARD",
            Mode::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Mode::Forward => "FORWARD",
            Mode::ForwardTransitive => "FORWARD_TRANSITIVE",
            Mode::Full => "FULL",
            Mode::FullTransitive => "FULL_TRANSITIVE",
            Mode::None => "NONE",
        }
    }

    /// (backward, forward, transitive).
    fn directions(self) -> (bool, bool, bool) {
        match self {
            Mode::Backward => (true, false, false),
            Mode::BackwardTransitive => (true, false, true),
            Mode::Forward => (false, true, false),
            Mode::ForwardTransitive => (false, true, true),
            Mode::Full => (true, true, false),
            Mode::FullTransitive => (true, true, true),
            Mode::None => (false, false, false),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Mode> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
                Error::new(
                    Code::InvalidArgument,
                    format!(
                        "unknown compatibility mode {s:?}: expected {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

/// What a subject's registrations are checked with: a mode and a rule category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Which versions the candidate is checked against, and in which direction.
    pub mode: Mode,
    /// Which rules.
    pub category: Category,
}

impl Default for Config {
    /// `BACKWARD` under `WIRE_JSON`: hms-ffi speaks both protobuf's binary encoding and its
    /// JSON mapping (Connect, `call_json`), so both must keep working.
    fn default() -> Config {
        Config {
            mode: Mode::Backward,
            category: Category::WireJson,
        }
    }
}

/// One earlier version as the check sees it.
#[derive(Debug)]
pub(crate) struct Earlier {
    pub(crate) version: u32,
    pub(crate) image: Image,
}

/// Checks `candidate` against the active (not deprecated) earlier versions, oldest first, as
/// `config` says; the error is `FailedPrecondition` with reason [`INCOMPATIBLE_SCHEMA`] and the
/// rules broken in its `ErrorInfo` metadata (`rules`, `findings`, `mode`, `category`,
/// `against`).
pub(crate) fn enforce(
    subject: &str,
    config: Config,
    earlier: &[Earlier],
    candidate: &Image,
) -> Result<()> {
    let (backward, forward, transitive) = config.mode.directions();
    let against: &[Earlier] = match earlier.len() {
        n if n > 0 && !transitive => &earlier[n - 1..],
        _ => earlier,
    };
    let mut broken: Vec<(u32, &'static str, Finding)> = Vec::new();
    for e in against {
        if backward {
            for f in check(&e.image, candidate, config.category) {
                broken.push((e.version, "backward", f));
            }
        }
        if forward {
            for f in check(candidate, &e.image, config.category) {
                if !f.rule.contains("NO_DELETE") {
                    broken.push((e.version, "forward", f));
                }
            }
        }
    }
    if broken.is_empty() {
        return Ok(());
    }
    let lines: Vec<(&'static str, String)> = broken
        .iter()
        .map(|(v, dir, f)| (f.rule, format!("v{v} {dir}: {f}")))
        .collect();
    let versions: Vec<String> = against.iter().map(|e| e.version.to_string()).collect();
    let head = format!(
        "schema breaks {subject}'s {} compatibility ({})",
        config.mode, config.category
    );
    let metadata = BTreeMap::from([
        ("subject".to_string(), subject.to_string()),
        ("mode".to_string(), config.mode.name().to_string()),
        ("category".to_string(), config.category.name().to_string()),
        ("against".to_string(), versions.join(",")),
    ]);
    Err(incompatible(&head, &lines, metadata))
}

/// `FailedPrecondition` with reason [`INCOMPATIBLE_SCHEMA`]: the message is `head` and the
/// findings; the `ErrorInfo` metadata adds `rules` (sorted, comma-separated) and `findings`
/// (one a line) to `metadata`. `lines` are (rule, finding as text).
pub(crate) fn incompatible(
    head: &str,
    lines: &[(&'static str, String)],
    mut metadata: BTreeMap<String, String>,
) -> Error {
    let mut rules: Vec<&str> = lines.iter().map(|(r, _)| *r).collect();
    rules.sort_unstable();
    rules.dedup();
    let texts: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    metadata.insert("rules".to_string(), rules.join(","));
    metadata.insert("findings".to_string(), texts.join("\n"));
    let message = format!("{head}: {}", texts.join("; "));
    Error::new(Code::FailedPrecondition, message).with_error_info(INCOMPATIBLE_SCHEMA, "", metadata)
}
