//! [`RegistryRef`]: one version of a schema in a registry, named by one string, so that anything
//! that takes a schema input (`hms-ffi check --against`, `hms-ffi call --expect-registry`) can
//! take a registry version too:
//!
//! ```text
//! registry+URI#SUBJECT             the latest version of SUBJECT
//! registry+URI#SUBJECT@latest      the same
//! registry+URI#SUBJECT@3           version 3
//! registry+URI#sha256:HEX          the version with that fingerprint (any subject)
//! registry+URI#SUBJECT@sha256:HEX  the version of SUBJECT with that fingerprint
//! ```
//!
//! `URI` is any endpoint that serves `hms.ffi.v1.Registry` (`unix:///tmp/r.sock`,
//! `grpc://host:7070`, `http://…`, `ws://…`, `nats://…`). The `registry+` prefix says what the
//! string is, as pip's `git+https://` does; the part after the last `#` says which version
//! (endpoint URIs carry no fragment). A string that starts with `registry+` is always a
//! reference: a path that happens to start so is written `./registry+…`.
//!
//! [`RegistryRef::image`] fetches the version through [`RegistryClient`] and checks it: the
//! stored set must decode and hash to the fingerprint the registry keeps for it, or the
//! version is `DataLoss` (reason `REGISTRY_CORRUPT`).
//!
//! ```
//! use hms_ffi_core::registry::{RegistryRef, Selector};
//! let r: RegistryRef = "registry+unix:///tmp/r.sock#shop.v1@2".parse().unwrap();
//! assert_eq!((r.uri.as_str(), r.subject.as_str()), ("unix:///tmp/r.sock", "shop.v1"));
//! assert_eq!(r.selector, Selector::Version(2));
//! assert!("shop/v1/".parse::<RegistryRef>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::messages as pb;
use super::RegistryClient;
use crate::error::{Code, Error, Result};
use crate::evolution::Image;
use crate::schema::Schema;

/// What starts every registry reference.
pub const REFERENCE_PREFIX: &str = "registry+";

/// The reason of a stored version that does not decode or does not match its fingerprint.
pub const REGISTRY_CORRUPT: &str = "REGISTRY_CORRUPT";

/// Which version of a subject a [`RegistryRef`] names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The subject's latest version.
    Latest,
    /// A version number (1, 2, …).
    Version(u32),
    /// A fingerprint, `sha256:<64 hex digits>`.
    Fingerprint(String),
}

/// One version of a schema in a registry (see the module docs for the syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRef {
    /// The registry's endpoint.
    pub uri: String,
    /// The subject; empty only for a bare fingerprint.
    pub subject: String,
    /// Which version.
    pub selector: Selector,
}

impl RegistryRef {
    /// Whether `text` is meant as a registry reference (it starts with `registry+`).
    pub fn is_reference(text: &str) -> bool {
        text.starts_with(REFERENCE_PREFIX)
    }

    /// Fetches the version (descriptor set included). An unreachable registry, an unknown
    /// subject, version or fingerprint keep the registry's code (`Unavailable`, `NotFound`…),
    /// their message starting with the reference.
    pub async fn fetch(&self, timeout: Duration) -> Result<pb::SchemaVersion> {
        let client = RegistryClient::connect(&self.uri)
            .await
            .map_err(|e| self.context(e))?
            .with_timeout(timeout);
        let (subject, version, fingerprint) = match &self.selector {
            Selector::Latest => (self.subject.as_str(), 0, ""),
            Selector::Version(n) => (self.subject.as_str(), *n, ""),
            Selector::Fingerprint(f) => (self.subject.as_str(), 0, f.as_str()),
        };
        let req = pb::GetVersionRequest {
            subject: subject.to_string(),
            version,
            fingerprint: fingerprint.to_string(),
        };
        client.get_version(req).await.map_err(|e| self.context(e))
    }

    /// Fetches the version and compiles it into an [`Image`] (for [`crate::evolution::check`]).
    /// A stored set that does not decode, or whose fingerprint is not the one the registry
    /// keeps for it, is `DataLoss` with reason [`REGISTRY_CORRUPT`].
    pub async fn image(&self, timeout: Duration) -> Result<Image> {
        let version = self.fetch(timeout).await?;
        let corrupt = |what: String| {
            let message = format!(
                "{self}: the stored schema of {} v{} is corrupt: {what}",
                version.subject, version.version
            );
            Error::new(Code::DataLoss, message).with_reason(REGISTRY_CORRUPT)
        };
        let image = Image::from_descriptor_set(&version.descriptor_set)
            .map_err(|e| corrupt(e.message().to_string()))?;
        let found = image.fingerprint();
        if found != version.fingerprint {
            let kept = &version.fingerprint;
            return Err(corrupt(format!(
                "its content hashes to {found}, not {kept}"
            )));
        }
        Ok(image)
    }

    /// The version as a [`Schema`] (for [`crate::ConnectOptions::expect_schema`]).
    pub async fn schema(&self, timeout: Duration) -> Result<Schema> {
        let image = self.image(timeout).await?;
        Schema::from_descriptor_set(&image.to_descriptor_set()).map_err(|e| self.context(e))
    }

    /// Parses `reference` and fetches its version as a [`Schema`], from synchronous code: what
    /// every binding's `Schema.from_registry` is (a bad reference is `InvalidArgument`, an
    /// unknown subject or version `NotFound`, an unreachable registry `Unavailable`).
    pub fn schema_blocking(reference: &str, timeout: Duration) -> Result<Schema> {
        let r: RegistryRef = reference.parse()?;
        crate::runtime::block_on(r.schema(timeout))?
    }

    /// `e` with this reference in front of its message (code and reason kept).
    fn context(&self, e: Error) -> Error {
        let out = Error::new(e.code(), format!("{self}: {}", e.message()));
        match &e.details().error_info {
            Some(info) => out.with_error_info(&info.reason, &info.domain, info.metadata.clone()),
            None => out,
        }
    }
}

impl FromStr for RegistryRef {
    type Err = Error;

    /// Parses `registry+URI#SUBJECT[@VERSION|@latest|@sha256:HEX]` or
    /// `registry+URI#sha256:HEX`; anything else is `InvalidArgument` saying what is wrong.
    fn from_str(text: &str) -> Result<RegistryRef> {
        let bad = |what: &str| {
            Error::new(
                Code::InvalidArgument,
                format!(
                    "{text:?} is not a registry reference ({what}); \
                     write registry+URI#SUBJECT[@VERSION|@latest|@sha256:…] or registry+URI#sha256:…"
                ),
            )
        };
        let rest = text
            .strip_prefix(REFERENCE_PREFIX)
            .ok_or_else(|| bad("it does not start with registry+"))?;
        let (uri, which) = rest
            .rsplit_once('#')
            .ok_or_else(|| bad("no #SUBJECT after the registry's URI"))?;
        if !uri.contains("://") {
            return Err(bad(
                "the registry's URI has no scheme, as in unix:///tmp/r.sock",
            ));
        }
        let (subject, version) = match which.rsplit_once('@') {
            Some(pair) => pair,
            None if which.starts_with("sha256:") => ("", which),
            None => (which, "latest"),
        };
        let selector = match version {
            "latest" => Selector::Latest,
            v if v.starts_with("sha256:") => {
                fingerprint(v).ok_or_else(|| bad("a fingerprint is sha256: and 64 hex digits"))?
            }
            v => match v.parse::<u32>() {
                Ok(n) if n > 0 => Selector::Version(n),
                _ => return Err(bad("a version is a number from 1, latest or a fingerprint")),
            },
        };
        // A bare fingerprint names a version of any subject; otherwise the subject is a package.
        let bare = subject.is_empty() && matches!(selector, Selector::Fingerprint(_));
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
        if !bare && (subject.is_empty() || !subject.chars().all(valid)) {
            return Err(bad("a subject is a protobuf package such as shop.v1"));
        }
        Ok(RegistryRef {
            uri: uri.to_string(),
            subject: subject.to_string(),
            selector,
        })
    }
}

/// `Selector::Fingerprint` for a well-formed `sha256:<64 hex digits>`.
fn fingerprint(text: &str) -> Option<Selector> {
    let hex = text.strip_prefix("sha256:")?;
    let ok = hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit());
    ok.then(|| Selector::Fingerprint(text.to_ascii_lowercase()))
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{REFERENCE_PREFIX}{}#", self.uri)?;
        match (&self.selector, self.subject.as_str()) {
            (Selector::Fingerprint(fp), "") => write!(f, "{fp}"),
            (Selector::Fingerprint(fp), s) => write!(f, "{s}@{fp}"),
            (Selector::Latest, s) => write!(f, "{s}@latest"),
            (Selector::Version(n), s) => write!(f, "{s}@{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RegistryRef> {
        text.parse()
    }

    #[test]
    fn every_form_parses_and_prints_back() {
        let fp = format!("sha256:{}", "ab".repeat(32));
        let cases = [
            (
                "registry+unix:///tmp/r.sock#shop.v1",
                "shop.v1",
                Selector::Latest,
            ),
            (
                "registry+grpc://127.0.0.1:7070#shop.v1@latest",
                "shop.v1",
                Selector::Latest,
            ),
            (
                "registry+http://h:1#shop.v1@12",
                "shop.v1",
                Selector::Version(12),
            ),
        ];
        for (text, subject, selector) in cases {
            let r = parse(text).expect(text);
            assert_eq!((r.subject.as_str(), &r.selector), (subject, &selector));
            assert_eq!(parse(&r.to_string()).expect("round trip"), r);
        }
        let bare = parse(&format!("registry+unix:///r.sock#{fp}")).expect("fingerprint");
        assert_eq!(
            (bare.subject.as_str(), bare.selector.clone()),
            ("", Selector::Fingerprint(fp.clone()))
        );
        assert_eq!(bare.to_string(), format!("registry+unix:///r.sock#{fp}"));
        // '@' and '?' inside the URI (NATS credentials, TLS files) stay in the URI.
        let r = parse("registry+nats://u:p@host:4222/reg#shop.v1@2").expect("nats");
        assert_eq!(
            (r.uri.as_str(), r.selector),
            ("nats://u:p@host:4222/reg", Selector::Version(2))
        );
        assert!(
            RegistryRef::is_reference("registry+x://y#z")
                && !RegistryRef::is_reference("./registry+x")
        );
    }

    #[test]
    fn malformed_references_say_what_is_wrong() {
        let cases = [
            ("shop/v1", "does not start with registry+"),
            ("registry+unix:///r.sock", "no #SUBJECT"),
            ("registry+/tmp/r.sock#shop.v1", "no scheme"),
            ("registry+unix:///r.sock#", "a subject is"),
            ("registry+unix:///r.sock#@2", "a subject is"),
            ("registry+unix:///r.sock#shop v1", "a subject is"),
            ("registry+unix:///r.sock#shop.v1@0", "a version is"),
            ("registry+unix:///r.sock#shop.v1@two", "a version is"),
            ("registry+unix:///r.sock#sha256:abc", "a fingerprint is"),
            (
                "registry+unix:///r.sock#shop.v1@sha256:xyz",
                "a fingerprint is",
            ),
        ];
        for (text, want) in cases {
            let e = parse(text).expect_err(text);
            assert_eq!(e.code(), Code::InvalidArgument, "{text}");
            assert!(e.message().contains(want), "{text}: {}", e.message());
        }
    }
}
