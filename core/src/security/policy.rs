//! Authorization: a [`Policy`] maps caller identities to the methods they may call, with globs.
//!
//! ```toml
//! default_local = "allow"     # inproc, unix, grpc+unix (the default)
//! default_network = "deny"    # grpc, http, ws (the default)
//!
//! [[rule]]
//! identities = ["alice", "uid:1000"]
//! allow = ["billing.v1.Invoices/*"]
//!
//! [[rule]]
//! identities = ["*"]          # everyone, including `anonymous`
//! allow = ["demo.v1.Greeter/SayHello"]
//! deny = ["billing.v1.Invoices/Delete"]
//! ```
//!
//! A call is refused when a `deny` glob of a rule whose identities match it matches the method;
//! otherwise allowed when an `allow` glob matches; otherwise the transport's default decides.
//! A caller nobody authenticated is `anonymous`.

use serde::{Deserialize, Serialize};

use super::glob::matches;
use crate::call::DESCRIBE_METHOD;
use crate::context::Context;
use crate::error::{Code, Error, Result};
use crate::interceptor::Interceptor;
use crate::peer::is_network;

/// The identity policies see for a caller nobody authenticated.
pub const ANONYMOUS: &str = "anonymous";

/// What a policy does with a call no rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The call goes through.
    Allow,
    /// The call is `PermissionDenied`.
    Deny,
}

/// One rule: for callers matching `identities`, the methods allowed and denied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Identity globs (`alice`, `uid:1000`, `spiffe://corp/*`, `*`).
    pub identities: Vec<String>,
    /// Method globs allowed (`billing.v1.Invoices/*`).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Method globs refused; a deny wins over any allow.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// An authorization policy, from TOML or built in code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Decision for local transports (`inproc`, `unix`, `grpc+unix`) when no rule matches.
    #[serde(default = "allow")]
    pub default_local: Decision,
    /// Decision for network transports (`grpc`, `http`, `ws`) when no rule matches.
    #[serde(default = "deny")]
    pub default_network: Decision,
    /// The rules.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

fn allow() -> Decision {
    Decision::Allow
}
fn deny() -> Decision {
    Decision::Deny
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            default_local: Decision::Allow,
            default_network: Decision::Deny,
            rules: Vec::new(),
        }
    }
}

impl Policy {
    /// Parses a policy from TOML text (the fields at the top level).
    pub fn from_toml(text: &str) -> Result<Policy> {
        toml::from_str(text).map_err(|e| {
            Error::new(Code::InvalidArgument, format!("invalid policy: {e}"))
                .with_reason("BAD_POLICY")
        })
    }

    /// Reads a policy file (TOML).
    pub fn from_file(path: &std::path::Path) -> Result<Policy> {
        Policy::from_toml(&super::read_text(path, "policy", "BAD_POLICY")?)
    }

    /// Adds a rule allowing `methods` to `identities` (builder style).
    pub fn allow(mut self, identities: &[&str], methods: &[&str]) -> Policy {
        self.rules.push(Rule {
            identities: identities.iter().map(|s| s.to_string()).collect(),
            allow: methods.iter().map(|s| s.to_string()).collect(),
            deny: Vec::new(),
        });
        self
    }

    /// Adds a rule denying `methods` to `identities` (builder style).
    pub fn deny(mut self, identities: &[&str], methods: &[&str]) -> Policy {
        self.rules.push(Rule {
            identities: identities.iter().map(|s| s.to_string()).collect(),
            allow: Vec::new(),
            deny: methods.iter().map(|s| s.to_string()).collect(),
        });
        self
    }

    /// True when `identity` (or [`ANONYMOUS`]) may call `method` over `transport`.
    pub fn allows(&self, identity: Option<&str>, transport: &str, method: &str) -> bool {
        let who = identity.unwrap_or(ANONYMOUS);
        let rules = || {
            self.rules
                .iter()
                .filter(|r| r.identities.iter().any(|i| matches(i, who)))
        };
        if rules().any(|r| r.deny.iter().any(|m| matches(m, method))) {
            return false;
        }
        if rules().any(|r| r.allow.iter().any(|m| matches(m, method))) {
            return true;
        }
        let default = if is_network(transport) {
            self.default_network
        } else {
            self.default_local
        };
        default == Decision::Allow
    }
}

/// The interceptor enforcing a [`Policy`]: a refused call is `PermissionDenied`. Discovery is
/// always answered, filtered to what the caller may call.
#[derive(Debug)]
pub(crate) struct Authorize(pub(crate) std::sync::Arc<Policy>);

impl Interceptor for Authorize {
    fn before(&self, ctx: &mut Context) -> Result<()> {
        if ctx.method() == DESCRIBE_METHOD
            || self.0.allows(ctx.identity(), ctx.transport(), ctx.method())
        {
            return Ok(());
        }
        Err(Error::new(
            Code::PermissionDenied,
            format!(
                "{} may not call {} over {}",
                ctx.identity().unwrap_or(ANONYMOUS),
                ctx.method(),
                ctx.transport()
            ),
        )
        .with_reason("POLICY_DENIED"))
    }
}

/// Keeps in a serialized `FileDescriptorSet` only the methods `allowed` accepts (by
/// `package.Service/Method`), and only the services left with a method.
pub(crate) fn filter_descriptor_set(bytes: &[u8], allowed: impl Fn(&str) -> bool) -> Vec<u8> {
    use prost::Message;
    let Ok(mut set) = prost_types::FileDescriptorSet::decode(bytes) else {
        return Vec::new();
    };
    for file in &mut set.file {
        let package = file.package().to_string();
        file.service.retain_mut(|svc| {
            let full = if package.is_empty() {
                svc.name().to_string()
            } else {
                format!("{package}.{}", svc.name())
            };
            svc.method
                .retain(|m| allowed(&format!("{full}/{}", m.name())));
            !svc.method.is_empty()
        });
    }
    set.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_wins_then_allow_then_the_transport_default() {
        let p = Policy::from_toml(
            r#"
            [[rule]]
            identities = ["alice", "uid:*"]
            allow = ["billing.v1.Invoices/*"]
            deny = ["billing.v1.Invoices/Delete"]
            "#,
        )
        .unwrap();
        assert!(p.allows(Some("alice"), "grpc", "billing.v1.Invoices/Get"));
        assert!(!p.allows(Some("alice"), "grpc", "billing.v1.Invoices/Delete"));
        assert!(!p.allows(Some("bob"), "grpc", "billing.v1.Invoices/Get"));
        assert!(!p.allows(None, "http", "demo.v1.Greeter/SayHello"));
        // Local transports allow by default, except what a matching rule denies.
        assert!(p.allows(None, "unix", "demo.v1.Greeter/SayHello"));
        assert!(!p.allows(Some("uid:7"), "unix", "billing.v1.Invoices/Delete"));
    }

    #[test]
    fn defaults_can_be_changed_and_bad_files_are_invalid_argument() {
        let p = Policy::from_toml("default_local = \"deny\"\ndefault_network = \"allow\"").unwrap();
        assert!(!p.allows(Some("uid:1"), "inproc", "a.B/C"));
        assert!(p.allows(None, "ws", "a.B/C"));
        let e = Policy::from_toml("default_local = \"maybe\"").unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        let e = Policy::from_toml("[[rule]]\nidentity = [\"x\"]").unwrap_err();
        assert!(e.message().contains("identity"), "{}", e.message());
    }

    #[test]
    fn the_builder_matches_the_file() {
        let built = Policy::default().allow(&["alice"], &["a.B/*"]);
        let parsed =
            Policy::from_toml("[[rule]]\nidentities = [\"alice\"]\nallow = [\"a.B/*\"]").unwrap();
        assert_eq!(built, parsed);
    }
}
