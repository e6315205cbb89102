//! A client's TLS settings ([`ClientTlsConfig`]: trust roots and its own certificate, from the
//! `?ca=…&cert=…&key=…` query of a `grpcs://`, `https://` or `wss://` URI or from
//! `ConnectOptions::tls`), and the PEM readers the server's settings in the security layer share.
//! rustls with the `ring` provider does the work.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use crate::error::{Code, Error, Result};

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

/// The crypto provider of every TLS configuration: `ring`.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Certificates from a PEM file or text (`None` when neither is set).
pub(crate) fn certs(
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
pub(crate) fn key(
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
