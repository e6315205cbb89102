//! Security: authentication, authorization, audit and rate limits, as interceptors that run
//! before every other interceptor on every transport.
//!
//! - Unix peers (`unix://`, `grpc+unix://`, `shm://`) are identified by the kernel: identity `uid:<uid>`,
//!   with uid/gid/pid in [`Context::peer_credentials`](crate::Context::peer_credentials).
//! - [`TlsConfig`]: TLS on `grpcs://`, `https://`, `wss://`; with a client CA, mutual TLS whose
//!   identity is the client certificate's first URI SAN, DNS SAN or subject CN
//!   ([`Context::peer_certificate`](crate::Context::peer_certificate)). Clients take
//!   [`ClientTlsConfig`] from the URI's query (`?ca=…&cert=…&key=…`).
//! - [`JwtConfig`]: bearer tokens (HS256/ES256, issuer, audience and expiry checked); identity
//!   is the token's `sub`. A missing or bad credential is `Unauthenticated`.
//! - [`Policy`]: which identities may call which methods (globs); `PermissionDenied` otherwise.
//!   Discovery lists only what the caller may call.
//! - [`AuditLog`]: one JSON line per call, refused calls included, off the call path.
//! - [`RateLimit`]: a token bucket per identity; `ResourceExhausted` when empty.
//!
//! The same settings come from code ([`Security`]) or from a TOML file
//! ([`ServerOptions::from_security_file`](crate::ServerOptions::from_security_file)), which is
//! what the CLI and the language bindings take. See `docs/security.md`.

mod audit;
mod config;
mod glob;
mod jwt;
mod payloads;
mod policy;
mod rate;
mod tls;

use std::sync::Arc;

pub use crate::peer::{is_network, PeerCertificate, PeerCredentials};
pub use crate::transport::ClientTlsConfig;
pub use audit::{audit_line, AuditCallback, AuditConfig, AuditLog, DEFAULT_AUDIT_QUEUE};
pub use config::SecurityFile;
pub use glob::matches as glob_matches;
pub use jwt::{JwtConfig, Required};
pub use payloads::CallPayloads;
pub use policy::{Decision, Policy, Rule, ANONYMOUS};
pub use rate::RateLimit;
pub use tls::TlsConfig;

pub(crate) use policy::filter_descriptor_set;
pub(crate) use tls::ServerTls;

use crate::error::Result;
use crate::interceptor::Interceptor;

/// The security settings of a server, built in code or read from a file.
///
/// ```
/// use hms_ffi_core::security::{Policy, RateLimit, Security};
/// let security = Security::new()
///     .with_policy(Policy::default().allow(&["alice"], &["billing.v1.Invoices/*"]))
///     .with_rate_limit(RateLimit { per_second: 100.0, burst: 200.0 });
/// let options = hms_ffi_core::ServerOptions::default().with_security(security);
/// # let _ = options;
/// ```
#[derive(Default, Clone)]
pub struct Security {
    tls: Option<Arc<ServerTls>>,
    jwt: Option<Arc<jwt::JwtAuth>>,
    rate: Option<Arc<rate::RateLimiter>>,
    policy: Option<Arc<Policy>>,
    audit: Option<Arc<AuditLog>>,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("tls", &self.tls)
            .field("jwt", &self.jwt)
            .field("rate", &self.rate)
            .field("policy", &self.policy)
            .field("audit", &self.audit)
            .finish()
    }
}

impl Security {
    /// No authentication beyond the transport's, no policy, no audit, no rate limit.
    pub fn new() -> Security {
        Security::default()
    }

    /// Serves `grpcs://`, `https://` and `wss://` with the certificate and key of `config`;
    /// with a client CA, clients may (or must) present a certificate, whose identity becomes
    /// the caller's. Files are read now: a missing or bad one is `InvalidArgument`.
    pub fn with_tls(mut self, config: &TlsConfig) -> Result<Security> {
        self.tls = Some(Arc::new(ServerTls::new(config)?));
        Ok(self)
    }

    /// The server's TLS settings, if any.
    pub(crate) fn tls(&self) -> Option<&ServerTls> {
        self.tls.as_deref()
    }

    /// Checks bearer tokens as `config` says.
    pub fn with_jwt(mut self, config: &JwtConfig) -> Result<Security> {
        self.jwt = Some(Arc::new(jwt::JwtAuth::new(config)?));
        Ok(self)
    }

    /// Enforces `policy`.
    pub fn with_policy(mut self, policy: Policy) -> Security {
        self.policy = Some(Arc::new(policy));
        self
    }

    /// Limits each identity's request rate.
    pub fn with_rate_limit(mut self, rate: RateLimit) -> Security {
        self.rate = Some(Arc::new(rate::RateLimiter::new(rate)));
        self
    }

    /// Writes an audit line per call.
    pub fn with_audit(mut self, audit: AuditLog) -> Security {
        self.audit = Some(Arc::new(audit));
        self
    }

    /// The policy, if one is set.
    pub fn policy(&self) -> Option<&Policy> {
        self.policy.as_deref()
    }

    /// True when callers are authenticated or authorized: discovery then goes through
    /// `Describe` only (gRPC reflection, which cannot check a caller, is not served).
    pub fn restricts_discovery(&self) -> bool {
        self.jwt.is_some() || self.policy.is_some()
    }

    /// The audit log, if one is set.
    pub fn audit(&self) -> Option<&AuditLog> {
        self.audit.as_deref()
    }

    /// The interceptors, in the order they run: authentication (client certificate, then
    /// bearer token), rate limit, authorization, audit (whose `after` hook sees every call,
    /// refused ones included).
    pub(crate) fn interceptors(&self) -> Vec<Arc<dyn Interceptor>> {
        let mut v: Vec<Arc<dyn Interceptor>> = Vec::new();
        if let Some(t) = self.tls.as_ref().and_then(|t| t.interceptor()) {
            v.push(t);
        }
        if let Some(j) = &self.jwt {
            v.push(j.clone());
        }
        if let Some(r) = &self.rate {
            v.push(r.clone());
        }
        if let Some(p) = &self.policy {
            v.push(Arc::new(policy::Authorize(p.clone())));
        }
        if let Some(a) = &self.audit {
            v.push(Arc::new(SharedAudit(a.clone())));
        }
        v
    }
}

/// The text of a configuration file; an unreadable one is `InvalidArgument` with `reason`.
pub(crate) fn read_text(path: &std::path::Path, what: &str, reason: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        crate::Error::new(
            crate::Code::InvalidArgument,
            format!("cannot read {what} {}: {e}", path.display()),
        )
        .with_reason(reason)
    })
}

struct SharedAudit(Arc<AuditLog>);

impl Interceptor for SharedAudit {
    fn after(
        &self,
        ctx: &crate::Context,
        outcome: std::result::Result<(), &crate::Error>,
        elapsed: std::time::Duration,
    ) {
        self.0.after(ctx, outcome, elapsed)
    }
}
