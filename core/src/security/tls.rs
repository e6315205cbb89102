//! The server's TLS settings: its certificate and key with, for mutual TLS, the CA its clients'
//! certificates must chain to ([`TlsConfig`], the security file's `[tls]` table), and the
//! interceptor that refuses a call without a required client certificate. A client's settings
//! ([`ClientTlsConfig`](crate::transport::ClientTlsConfig)) and the PEM readers belong to the
//! transports, which need them without the security layer. rustls with `ring` does the work.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::{Code, Error, Result};
use crate::interceptor::Interceptor;
use crate::transport::{certs, key, provider};

/// The `[tls]` table of the security file, or the same settings in code
/// ([`Security::with_tls`](super::Security::with_tls)). The certificate chain and the key come
/// from a file or a PEM string; a client CA turns on mutual TLS.
///
/// ```toml
/// [tls]
/// cert_file = "server.pem"        # or cert_pem = "-----BEGIN CERTIFICATE-----…"
/// key_file = "server.key"         # or key_pem = "-----BEGIN PRIVATE KEY-----…"
/// client_ca_file = "clients.pem"  # or client_ca_pem: ask clients for a certificate
/// require_client_cert = true      # with a client CA: the default
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain (PEM file), leaf first.
    pub cert_file: Option<PathBuf>,
    /// The server's certificate chain as PEM text.
    pub cert_pem: Option<String>,
    /// The server's private key (PEM file: PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// The server's private key as PEM text.
    pub key_pem: Option<String>,
    /// CA certificates (PEM file) client certificates must chain to: mutual TLS.
    pub client_ca_file: Option<PathBuf>,
    /// CA certificates as PEM text.
    pub client_ca_pem: Option<String>,
    /// With a client CA, whether a call without a client certificate is refused
    /// (`Unauthenticated`). Defaults to true.
    pub require_client_cert: Option<bool>,
}

/// A server's built TLS settings: the rustls configuration each listener completes with its
/// ALPN ids, and whether a client certificate is required.
#[derive(Debug)]
pub(crate) struct ServerTls {
    base: Arc<ServerConfig>,
    require_client_cert: bool,
}

impl ServerTls {
    pub(crate) fn new(c: &TlsConfig) -> Result<ServerTls> {
        let bad = |m: String| super::jwt::bad_config(m);
        let chain = certs(c.cert_file.as_deref(), c.cert_pem.as_deref(), "cert", bad)?
            .ok_or_else(|| bad("tls needs cert_file or cert_pem".into()))?;
        let key = key(c.key_file.as_deref(), c.key_pem.as_deref(), bad)?
            .ok_or_else(|| bad("tls needs key_file or key_pem".into()))?;
        let client_ca = certs(
            c.client_ca_file.as_deref(),
            c.client_ca_pem.as_deref(),
            "client_ca",
            bad,
        )?;
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(format!("TLS: {e}")))?;
        let require = client_ca.is_some() && c.require_client_cert.unwrap_or(true);
        let builder = match client_ca {
            Some(cas) => {
                let mut roots = RootCertStore::empty();
                for ca in cas {
                    roots
                        .add(ca)
                        .map_err(|e| bad(format!("bad client CA certificate: {e}")))?;
                }
                // A client without a certificate still completes the handshake, so that its
                // calls can be refused with a typed Unauthenticated (see `RequireClientCert`);
                // a certificate that does not chain to the CA fails the handshake.
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(roots.into(), provider())
                        .allow_unauthenticated()
                        .build()
                        .map_err(|e| bad(format!("client CA: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
            None if c.require_client_cert == Some(true) => {
                return Err(bad(
                    "require_client_cert needs client_ca_file or client_ca_pem".into(),
                ))
            }
            None => builder.with_no_client_auth(),
        };
        let base = builder
            .with_single_cert(chain, key)
            .map_err(|e| bad(format!("server certificate and key: {e}")))?;
        Ok(ServerTls {
            base: Arc::new(base),
            require_client_cert: require,
        })
    }

    /// The rustls configuration without ALPN, for the server's listen configuration.
    pub(crate) fn server_config(&self) -> Arc<ServerConfig> {
        self.base.clone()
    }

    /// The interceptor refusing calls without a client certificate, when one is required.
    pub(crate) fn interceptor(&self) -> Option<Arc<dyn Interceptor>> {
        self.require_client_cert
            .then(|| Arc::new(RequireClientCert) as Arc<dyn Interceptor>)
    }
}

/// The transports that run over TLS.
pub(crate) fn is_tls(transport: &str) -> bool {
    matches!(transport, "grpcs" | "https" | "wss")
}

/// Refuses a call over TLS whose connection presented no client certificate.
struct RequireClientCert;

impl Interceptor for RequireClientCert {
    fn before(&self, ctx: &mut Context) -> Result<()> {
        if is_tls(ctx.transport()) && ctx.peer_certificate().is_none() {
            return Err(Error::new(
                Code::Unauthenticated,
                format!(
                    "a client certificate is required over {}:// (mutual TLS)",
                    ctx.transport()
                ),
            )
            .with_reason("MISSING_CREDENTIAL"));
        }
        Ok(())
    }
}
