//! [`ServerOptions`]: limits, the handlers' language, decoding, security and the socket mode of
//! a [`Server`](super::Server), in code or from a security file. Applying a security file to
//! options is the server's job ([`SecurityFile::apply`]): the security layer below only reads the
//! file into limits and a [`Security`].

use std::sync::Arc;

use crate::client::ServiceConfig;
use crate::error::Result;
use crate::limits::Limits;
use crate::mapping::{Converters, DecodeOptions};
use crate::security::{Security, SecurityFile};

/// Options for a [`Server`].
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Limits for every call.
    pub limits: Limits,
    /// The language of the handlers, reported as the origin of their errors (`rust`, `python`…).
    pub language: String,
    /// How requests are presented to handlers (64-bit integers as text for JavaScript).
    pub decode: DecodeOptions,
    /// Converters for custom domain types, on requests and replies (`mapping::convert`).
    pub converters: Converters,
    /// Authentication, authorization, audit and rate limits (none by default).
    pub security: Option<Arc<Security>>,
    /// The mode of unix socket files (`unix://`, `grpc+unix://`): `0o600` by default, so only
    /// the server's user may connect.
    pub socket_mode: u32,
    /// Keepalive towards clients: PING/PONG on `unix://` and `ws://` (to clients that answer
    /// pings), HTTP/2 PING on `grpc://`; a client that answers nothing within the timeout has
    /// its connection closed and its calls cancelled. Off by default.
    pub keepalive: Option<crate::transport::Keepalive>,
    /// The gRPC service config discovery announces: clients that discover this server's schema
    /// and were given no config of their own call by its policies (see `docs/resilience.md`).
    /// Set it with [`with_service_config`](ServerOptions::with_service_config), which reads it
    /// with the client's own parser.
    pub service_config: Option<Arc<ServiceConfig>>,
}

impl ServerOptions {
    /// These options with `json` as the service config discovery announces. A config the
    /// client's parser refuses is `InvalidArgument` (reason `BAD_SERVICE_CONFIG`) here, when
    /// the server is made, never when a client calls.
    pub fn with_service_config(mut self, json: &str) -> Result<ServerOptions> {
        self.service_config = Some(Arc::new(ServiceConfig::from_json(json)?));
        Ok(self)
    }

    /// Options with `security` in force.
    pub fn with_security(mut self, security: Security) -> ServerOptions {
        self.security = Some(Arc::new(security));
        self
    }

    /// Default options with the limits and security of a TOML security file (see
    /// [`SecurityFile`]): the one entry point the CLI and the
    /// language bindings use.
    pub fn from_security_file(path: impl AsRef<std::path::Path>) -> Result<ServerOptions> {
        SecurityFile::read(path.as_ref())?.apply(ServerOptions::default())
    }

    /// These options with the settings of a security file applied.
    pub fn apply_security_file(self, path: impl AsRef<std::path::Path>) -> Result<ServerOptions> {
        SecurityFile::read(path.as_ref())?.apply(self)
    }
}

/// What a language binding's users may set when they make a server; `None` keeps the default.
/// [`ServerOptions::for_binding`] is the one server setup every binding uses.
#[derive(Debug, Clone, Default)]
pub struct BindingOptions {
    /// Largest message, in bytes.
    pub max_message_bytes: Option<usize>,
    /// Most calls in flight on one connection.
    pub max_concurrent_per_connection: Option<usize>,
    /// The path of a security file (docs/security.md), applied after the limits above.
    pub security: Option<std::path::PathBuf>,
    /// How replies become values for the binding's natives (`DecodeOptions::default()` keeps
    /// the core's).
    pub decode: DecodeOptions,
    /// The gRPC service config (JSON text) discovery announces to clients.
    pub service_config: Option<String>,
    /// Converters for custom domain types (none by default).
    pub converters: Converters,
}

impl ServerOptions {
    /// The options of a language binding's server: its handlers' `language` (the origin of
    /// their errors), what its users set, and the security file they name — a bad file is
    /// `InvalidArgument` (`BAD_SECURITY_CONFIG`), a bad service config `InvalidArgument`
    /// (`BAD_SERVICE_CONFIG`).
    pub fn for_binding(language: &str, options: BindingOptions) -> Result<ServerOptions> {
        let mut out = ServerOptions {
            language: language.to_string(),
            decode: options.decode,
            converters: options.converters,
            ..ServerOptions::default()
        };
        if let Some(n) = options.max_message_bytes {
            out.limits.max_message_bytes = n;
        }
        if let Some(n) = options.max_concurrent_per_connection {
            out.limits.max_concurrent_per_connection = n;
        }
        if let Some(json) = &options.service_config {
            out = out.with_service_config(json)?;
        }
        match options.security {
            Some(path) => out.apply_security_file(path),
            None => Ok(out),
        }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            limits: Limits::default(),
            language: "rust".to_string(),
            decode: DecodeOptions::default(),
            converters: Converters::default(),
            security: None,
            socket_mode: 0o600,
            keepalive: None,
            service_config: None,
        }
    }
}

impl SecurityFile {
    /// Applies the file to `options`: limits, socket mode, and the [`Security`] it describes
    /// (opening the audit file); its `[telemetry]` table starts the export when nothing in the
    /// process has yet.
    pub fn apply(&self, mut options: ServerOptions) -> Result<ServerOptions> {
        options.limits = self.limits();
        if let Some(mode) = self.socket_mode {
            options.socket_mode = mode;
        }
        let options = options.with_security(self.security()?);
        if let Some(telemetry) = &self.telemetry {
            crate::transport::install_otlp_tls();
            telemetry.start();
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use crate::security::SecurityFile;
    use std::time::Duration;

    #[test]
    fn the_documented_example_parses() {
        let text = r#"
            socket_mode = 0o660
            [limits]
            max_deadline_ms = 30000
            rate = { per_second = 100.0, burst = 200.0 }
            [jwt]
            algorithm = "HS256"
            secret = "0123456789abcdef0123456789abcdef"
            issuer = "https://auth.example"
            audience = "billing"
            [policy]
            default_network = "deny"
            [[policy.rule]]
            identities = ["alice"]
            allow = ["billing.v1.Invoices/*"]
        "#;
        let f = SecurityFile::parse(text).unwrap();
        assert_eq!(f.socket_mode, Some(0o660));
        let o = f.apply(ServerOptions::default()).unwrap();
        assert_eq!(o.socket_mode, 0o660);
        assert_eq!(o.limits.max_deadline, Some(Duration::from_secs(30)));
        let policy = o.security.as_ref().unwrap().policy().unwrap();
        assert!(policy.allows(Some("alice"), "grpc", "billing.v1.Invoices/Get"));
    }

    #[test]
    fn mistakes_are_invalid_argument() {
        for bad in [
            "[limits]\nmax_mesage_bytes = 1",
            "[jwt]\nalgorithm = \"HS256\"\nsecret = \"short\"\nissuer = \"i\"\naudience = \"a\"",
            "[jwt]\nalgorithm = \"none\"\nissuer = \"i\"\naudience = \"a\"",
            "[tls]\ncert_fle = \"x.pem\"",
            "[tls]\ncert_pem = \"not pem\"\nkey_pem = \"not pem\"",
            "[tls]\ncert_file = \"/nonexistent.pem\"\nkey_file = \"/nonexistent.key\"",
        ] {
            let r = SecurityFile::parse(bad).and_then(|f| f.apply(ServerOptions::default()));
            assert_eq!(r.unwrap_err().code(), Code::InvalidArgument, "{bad}");
        }
    }
}
