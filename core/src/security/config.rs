//! The security file: one TOML file holding limits, authentication, policy and audit settings,
//! read the same way by the CLI (`--security`) and every language binding (`security=`).
//!
//! ```toml
//! socket_mode = 0o600            # unix socket files (the default)
//!
//! [limits]
//! max_message_bytes = 4194304
//! max_depth = 64
//! max_concurrent_per_connection = 256
//! max_concurrent_per_server = 4096
//! max_deadline_ms = 30000
//! rate = { per_second = 100.0, burst = 200.0 }   # per identity
//!
//! [jwt]
//! algorithm = "ES256"
//! public_key_file = "issuer.pub.pem"
//! issuer = "https://auth.example"
//! audience = "billing"
//! required = "network"           # network (default) | always | never
//!
//! [tls]                          # grpcs://, https://, wss://
//! cert_file = "server.pem"
//! key_file = "server.key"
//! client_ca_file = "clients-ca.pem"   # mutual TLS
//!
//! [audit]
//! file = "audit.jsonl"
//!
//! [policy]
//! default_network = "deny"
//! [[policy.rule]]
//! identities = ["alice"]
//! allow = ["billing.v1.Invoices/*"]
//! ```

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{AuditConfig, AuditLog, JwtConfig, Policy, RateLimit, Security, TlsConfig};
use crate::error::{Code, Error, Result};
use crate::limits::Limits;

/// The `[limits]` table: every field optional, the defaults of [`Limits`] otherwise.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// See [`Limits::max_message_bytes`].
    pub max_message_bytes: Option<usize>,
    /// See [`Limits::max_depth`].
    pub max_depth: Option<usize>,
    /// See [`Limits::max_concurrent_per_connection`].
    pub max_concurrent_per_connection: Option<usize>,
    /// See [`Limits::max_concurrent_per_server`].
    pub max_concurrent_per_server: Option<usize>,
    /// See [`Limits::max_deadline`], in milliseconds.
    pub max_deadline_ms: Option<u64>,
    /// A request rate per identity.
    pub rate: Option<RateLimit>,
}

/// The parsed security file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityFile {
    /// Mode of unix socket files (`0o600` unless set).
    pub socket_mode: Option<u32>,
    /// Limits.
    #[serde(default)]
    pub limits: LimitsFile,
    /// TLS and mutual TLS.
    pub tls: Option<TlsConfig>,
    /// Bearer tokens.
    pub jwt: Option<JwtConfig>,
    /// The audit log.
    pub audit: Option<AuditConfig>,
    /// Authorization.
    pub policy: Option<Policy>,
    /// Span and metric export (docs/observability.md): wins over the `OTEL_*` variables when
    /// this server is the process's first.
    pub telemetry: Option<crate::trace::TelemetryFile>,
}

impl SecurityFile {
    /// Parses the TOML text of a security file.
    pub fn parse(text: &str) -> Result<SecurityFile> {
        toml::from_str(text).map_err(|e| {
            Error::new(Code::InvalidArgument, format!("invalid security file: {e}"))
                .with_reason("BAD_SECURITY_CONFIG")
        })
    }

    /// Reads and parses a security file.
    pub fn read(path: &Path) -> Result<SecurityFile> {
        SecurityFile::parse(&super::read_text(
            path,
            "security file",
            "BAD_SECURITY_CONFIG",
        )?)
    }

    /// The limits the file sets, with the defaults of [`Limits`] for those it leaves out.
    pub fn limits(&self) -> Limits {
        let l = &self.limits;
        let d = Limits::default();
        Limits {
            max_message_bytes: l.max_message_bytes.unwrap_or(d.max_message_bytes),
            max_depth: l.max_depth.unwrap_or(d.max_depth),
            max_concurrent_per_connection: l
                .max_concurrent_per_connection
                .unwrap_or(d.max_concurrent_per_connection),
            max_concurrent_per_server: l
                .max_concurrent_per_server
                .unwrap_or(d.max_concurrent_per_server),
            max_deadline: l.max_deadline_ms.map(Duration::from_millis),
        }
    }

    /// The [`Security`] the file describes (opening the audit file). The server applies it with
    /// the limits and socket mode ([`SecurityFile::apply`], in `server`, which owns the options).
    pub fn security(&self) -> Result<Security> {
        let mut security = Security::new();
        if let Some(t) = &self.tls {
            security = security.with_tls(t)?;
        }
        if let Some(j) = &self.jwt {
            security = security.with_jwt(j)?;
        }
        if let Some(r) = self.limits.rate {
            security = security.with_rate_limit(r);
        }
        if let Some(p) = &self.policy {
            security = security.with_policy(p.clone());
        }
        if let Some(a) = &self.audit {
            security =
                security.with_audit(AuditLog::to_file(&a.file, a.queue)?.with_payloads(a.payloads));
        }
        Ok(security)
    }
}
