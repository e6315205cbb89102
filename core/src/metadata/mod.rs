//! Call metadata, the same on every transport and in every binding: the [`Metadata`] a caller
//! sends (request metadata) and, in [`response`], the headers and trailers a handler sends back,
//! with the one table of keys the protocols reserve.
//!
//! Metadata is a base module: the call layer ([`Context`](crate::Context)), the transports (which
//! put it on the wire) and the client all use it, and it uses nothing but [`error`](crate::error).

pub mod response;

use base64::Engine;

use crate::error::{Code, Error, Result};

pub use response::Reply;

/// Call metadata: ordered `key: value` text pairs; keys are lower-case ASCII.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    entries: Vec<(String, String)>,
}

/// No metadata: what an error without response metadata reports.
pub(crate) static EMPTY: Metadata = Metadata {
    entries: Vec::new(),
};

impl Metadata {
    /// Empty metadata.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Adds an entry (the key is lower-cased); keys may repeat.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl Into<String>) {
        self.entries
            .push((key.as_ref().to_ascii_lowercase(), value.into()));
    }

    /// The first value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        // Keys are kept lower-cased.
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of each key (`-bin` values stay base64): the map most bindings give
    /// their users.
    pub fn first_values(&self) -> std::collections::HashMap<String, String> {
        let mut out = std::collections::HashMap::new();
        for (k, v) in &self.entries {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
        out
    }

    /// Every entry in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a binary entry: `key` must end in `-bin`; the value is kept, and sent, as unpadded
    /// base64 text, as gRPC carries binary metadata.
    pub fn insert_bin(&mut self, key: impl AsRef<str>, value: &[u8]) -> Result<()> {
        let key = key.as_ref();
        if !is_bin_key(key) {
            return Err(Error::new(
                Code::InvalidArgument,
                format!("binary metadata key {key:?} must end in -bin"),
            ));
        }
        self.insert(key, BASE64.encode(value));
        Ok(())
    }

    /// The first value for a binary (`-bin`) key, decoded from base64 (padded or not); `None`
    /// when the key is absent or its value is not base64.
    pub fn get_bin(&self, key: &str) -> Option<Vec<u8>> {
        BASE64.decode(self.get(key)?).ok()
    }

    /// Every value for `key`, in order.
    pub fn get_all<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a str> + 'a {
        let key = key.to_ascii_lowercase();
        self.entries
            .iter()
            .filter(move |(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Removes every entry of `key`.
    pub fn remove(&mut self, key: &str) {
        let key = key.to_ascii_lowercase();
        self.entries.retain(|(k, _)| *k != key);
    }

    /// Appends every entry of `other`.
    pub fn extend(&mut self, other: Metadata) {
        self.entries.extend(other.entries);
    }
}

/// Checks every entry of a call's request metadata: `InvalidArgument` **BAD_METADATA** for a
/// key or value no transport could carry unchanged (the form [`response`]'s module docs give).
/// The client checks it before a call goes out, on every transport alike.
pub fn check_request(metadata: &Metadata) -> Result<()> {
    for (key, value) in metadata.iter() {
        response::check_syntax(key, value)?;
    }
    Ok(())
}

/// True for a binary metadata key (`…-bin`), whose value is base64 text.
pub fn is_bin_key(key: &str) -> bool {
    key.len() > 4 && key[key.len() - 4..].eq_ignore_ascii_case("-bin")
}

/// gRPC's base64 for binary metadata: emits unpadded, accepts padded and unpadded.
pub(crate) const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

impl<K: AsRef<str>, V: Into<String>> FromIterator<(K, V)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = Metadata::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}
