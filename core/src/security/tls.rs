//! TLS settings: the server's certificate and key with, for mutual TLS, the CA its clients'
//! certificates must chain to ([`TlsConfig`], the security file's `[tls]` table), and a client's
//! trust roots and own certificate ([`ClientTlsConfig`], the `?ca=…&cert=…&key=…` query of a
//! `grpcs://`, `https://` or `wss://` URI). rustls with the `ring` provider does the work.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::{Code, Error, Result};
use crate::interceptor::Interceptor;

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

/// A client's TLS settings: from the URI query (`ca`, `cert`, `key`, `server_name`) or
/// [`ConnectOptions::tls`](crate::ConnectOptions::tls). Without a CA the server must present a
/// certificate from Mozilla's root program (webpki-roots).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTlsConfig {
    /// CA certificates (PEM file) the server's certificate must chain to (`?ca=`).
    pub ca_file: Option<PathBuf>,
    /// CA certificates as PEM text.
    pub ca_pem: Option<String>,
    /// The client's certificate chain for mutual TLS (PEM file, `?cert=`).
    pub cert_file: Option<PathBuf>,
    /// The client's certificate chain as PEM text.
    pub cert_pem: Option<String>,
    /// The client's private key (PEM file, `?key=`).
    pub key_file: Option<PathBuf>,
    /// The client's private key as PEM text.
    pub key_pem: Option<String>,
    /// The name the server's certificate must carry (`?server_name=`); the URI's host otherwise.
    pub server_name: Option<String>,
}

impl ClientTlsConfig {
    /// Fills each setting this one lacks from `other`.
    pub fn or(self, other: &ClientTlsConfig) -> ClientTlsConfig {
        let o = other.clone();
        ClientTlsConfig {
            ca_file: self.ca_file.or(o.ca_file),
            ca_pem: self.ca_pem.or(o.ca_pem),
            cert_file: self.cert_file.or(o.cert_file),
            cert_pem: self.cert_pem.or(o.cert_pem),
            key_file: self.key_file.or(o.key_file),
            key_pem: self.key_pem.or(o.key_pem),
            server_name: self.server_name.or(o.server_name),
        }
    }

    /// The rustls configuration, offering `alpn`.
    pub(crate) fn build(&self, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>> {
        let bad = |m: String| Error::new(Code::InvalidArgument, m).with_reason("BAD_TLS_CONFIG");
        let mut roots = RootCertStore::empty();
        match certs(self.ca_file.as_deref(), self.ca_pem.as_deref(), "ca", bad)? {
            Some(cas) => {
                for c in cas {
                    roots
                        .add(c)
                        .map_err(|e| bad(format!("bad CA certificate: {e}")))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(format!("TLS: {e}")))?
            .with_root_certificates(roots);
        let chain = certs(
            self.cert_file.as_deref(),
            self.cert_pem.as_deref(),
            "cert",
            bad,
        )?;
        let key = key(self.key_file.as_deref(), self.key_pem.as_deref(), bad)?;
        let mut config = match (chain, key) {
            (Some(chain), Some(key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad(format!("client certificate and key: {e}")))?,
            (None, None) => builder.with_no_client_auth(),
            _ => return Err(bad("a client certificate needs both cert and key".into())),
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// The name to check the server's certificate against: `server_name`, else the host of
    /// `authority` (`host:port`, `[v6]:port`).
    pub(crate) fn server_name(&self, authority: &str) -> Result<ServerName<'static>> {
        let host = match &self.server_name {
            Some(n) => n.as_str(),
            None => {
                let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
                host.trim_start_matches('[').trim_end_matches(']')
            }
        };
        ServerName::try_from(host.to_string()).map_err(|e| {
            Error::new(
                Code::InvalidArgument,
                format!("bad TLS server name {host:?}: {e}"),
            )
            .with_reason("BAD_TLS_CONFIG")
        })
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Certificates from a PEM file or text (`None` when neither is set).
fn certs(
    file: Option<&Path>,
    pem: Option<&str>,
    what: &str,
    bad: impl Fn(String) -> Error,
) -> Result<Option<Vec<CertificateDer<'static>>>> {
    let read: Vec<_> = match (file, pem) {
        (Some(_), Some(_)) => return Err(bad(format!("set {what}_file or {what}_pem, not both"))),
        (Some(f), None) => CertificateDer::pem_file_iter(f)
            .map_err(|e| bad(format!("cannot read {what} {}: {e}", f.display())))?
            .collect(),
        (None, Some(p)) => CertificateDer::pem_slice_iter(p.as_bytes()).collect(),
        (None, None) => return Ok(None),
    };
    let list = read
        .into_iter()
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("bad PEM in {what}: {e}")))?;
    if list.is_empty() {
        return Err(bad(format!("{what} holds no PEM certificate")));
    }
    Ok(Some(list))
}

/// A private key from a PEM file or text.
fn key(
    file: Option<&Path>,
    pem: Option<&str>,
    bad: impl Fn(String) -> Error,
) -> Result<Option<PrivateKeyDer<'static>>> {
    match (file, pem) {
        (Some(_), Some(_)) => Err(bad("set key_file or key_pem, not both".into())),
        (Some(f), None) => PrivateKeyDer::from_pem_file(f)
            .map(Some)
            .map_err(|e| bad(format!("no usable private key in {}: {e}", f.display()))),
        (None, Some(p)) => PrivateKeyDer::from_pem_slice(p.as_bytes())
            .map(Some)
            .map_err(|e| bad(format!("no usable private key in key_pem: {e}"))),
        (None, None) => Ok(None),
    }
}

/// A server's built TLS settings: one rustls configuration per ALPN set.
#[derive(Debug)]
pub(crate) struct ServerTls {
    base: ServerConfig,
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
            base,
            require_client_cert: require,
        })
    }

    /// The rustls configuration for a listener offering `alpn`.
    pub(crate) fn config(&self, alpn: &[&[u8]]) -> Arc<ServerConfig> {
        let mut config = self.base.clone();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
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
