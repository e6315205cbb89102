//! The layout of the registry's NATS key-value bucket (`nats_store.rs`): the head message
//! each `subject.<S>` key holds, how subjects and fingerprints become key tokens, and the typed
//! errors of the store.

use std::fmt;
use std::time::Duration;

use prost::Message;

use super::mode::{Config, Mode};
use super::reference::REGISTRY_CORRUPT;
use crate::error::{Code, Error, Result};
use crate::evolution::Category;

/// The head layout this build writes.
pub(super) const LAYOUT: u32 = 1;
/// How often a registration re-reads and retries a head another writer changed meanwhile.
pub(super) const ATTEMPTS: usize = 64;
/// The longest one key-value operation may take.
pub(super) const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// A subject's head: what changes, under one key.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Head {
    #[prost(uint32, tag = "1")]
    pub(super) layout: u32,
    #[prost(message, repeated, tag = "2")]
    pub(super) versions: Vec<VersionEntry>,
    /// Empty: never set.
    #[prost(string, tag = "3")]
    pub(super) mode: String,
    #[prost(string, tag = "4")]
    pub(super) category: String,
}

/// One version in a head (its set is under its own key).
#[derive(Clone, PartialEq, Message)]
pub(super) struct VersionEntry {
    #[prost(uint32, tag = "1")]
    pub(super) version: u32,
    #[prost(string, tag = "2")]
    pub(super) fingerprint: String,
    #[prost(bool, tag = "3")]
    pub(super) deprecated: bool,
    #[prost(string, tag = "4")]
    pub(super) deprecation_reason: String,
    #[prost(int64, tag = "5")]
    pub(super) created_unix_ms: i64,
}

/// The nats-server cannot be reached or did not answer.
pub(super) fn unreachable(what: &str, e: impl fmt::Display) -> Error {
    Error::new(Code::Unavailable, format!("registry bucket: {what}: {e}"))
        .with_reason("REGISTRY_UNREACHABLE")
}

/// Something in the bucket no hms-ffi wrote.
pub(super) fn corrupt(what: String) -> Error {
    Error::new(Code::DataLoss, format!("registry bucket: {what}")).with_reason(REGISTRY_CORRUPT)
}

/// `s` as key tokens: letters, digits, `_`, `-` kept, any other byte `=XX`.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' => out.push(b as char),
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    if out.is_empty() {
        out.push('=');
    }
    out
}

/// The inverse of [`escape`]; `None` for a token it did not make.
pub(super) fn unescape(s: &str) -> Option<String> {
    if s == "=" {
        return Some(String::new());
    }
    let mut bytes = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'=' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// What every head's key starts with.
pub(super) const HEAD_PREFIX: &str = "subject.";

/// The key of a subject's head.
pub(super) fn head_key(subject: &str) -> String {
    format!("{HEAD_PREFIX}{}", escape(subject))
}

/// The key of a version's descriptor set.
pub(super) fn set_key(subject: &str, fingerprint: &str) -> String {
    format!("set.{}.{}", escape(subject), escape(fingerprint))
}

/// A subject other writers kept changing for [`ATTEMPTS`] attempts.
pub(super) fn contended(subject: &str) -> Error {
    Error::new(
        Code::Unavailable,
        format!("registry bucket: subject {subject:?} kept changing under {ATTEMPTS} attempts"),
    )
    .with_reason("REGISTRY_LOCKED")
}

/// The head's mode and category (`None`: never set).
pub(super) fn config_of(subject: &str, head: &Head) -> Result<Option<Config>> {
    if head.mode.is_empty() {
        return Ok(None);
    }
    let parsed = head.mode.parse::<Mode>().and_then(|mode| {
        let category = head.category.parse::<Category>()?;
        Ok(Config { mode, category })
    });
    parsed
        .map(Some)
        .map_err(|e| corrupt(format!("subject {subject:?}: {}", e.message())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_escape_every_byte_outside_letters_digits_underscore_and_dash() {
        for s in ["shop.v1", "a b", "", "=", "é.x", "sha256:ab12"] {
            let e = escape(s);
            assert!(
                e.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-=".contains(&b)),
                "{e}"
            );
            assert_eq!(unescape(&e).as_deref(), Some(s), "{s}");
        }
        assert_eq!(head_key("shop.v1"), "subject.shop=2Ev1");
    }
}
