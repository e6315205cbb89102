//! TLS to an OpenTelemetry collector: the dialer the span and metric export use for an
//! `https://` endpoint, installed into the base layer's hook ([`crate::trace::set_tls_dialer`])
//! by the first server or client a process makes, before it starts the export. It is the same
//! rustls client as `grpcs://` and `https://` calls (`TlsClient`): the CA file, or the public
//! web roots without one, and a client certificate for mutual TLS.

use std::sync::Arc;

use super::tls::{TlsClient, H2, HTTP1};
use super::{ClientTlsConfig, TlsTarget};
use crate::trace::{Dial, ExportStream, ExportTls};

/// Installs the dialer, then starts the export the environment asks for (once per process).
pub(crate) fn init_telemetry() {
    install();
    crate::trace::init_from_env();
}

/// Installs the dialer (once per process; later calls do nothing).
pub(crate) fn install() {
    crate::trace::set_tls_dialer(dialer);
}

/// The dialer of a collector at `authority`: its TLS files checked now, so a wrong one is
/// reported when the export starts rather than at every batch.
fn dialer(authority: &str, tls: &ExportTls, h2: bool) -> Result<Dial, String> {
    let target = TlsTarget {
        authority: authority.to_string(),
        tls: ClientTlsConfig {
            ca_file: tls.ca.clone(),
            cert_file: tls.cert.clone(),
            key_file: tls.key.clone(),
            ..ClientTlsConfig::default()
        },
    };
    let alpn: &[&[u8]] = if h2 { &[H2] } else { &[HTTP1] };
    let client = TlsClient::new(&target, alpn).map_err(|e| e.message().to_string())?;
    Ok(Arc::new(move || {
        let client = client.clone();
        Box::pin(async move { client.connect().await.map(ExportStream::new) })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(tls: &ExportTls) -> String {
        match dialer("localhost:4318", tls, false) {
            Ok(_) => panic!("dialer made with {tls:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn wrong_tls_files_are_refused_when_the_export_starts() {
        let missing = ExportTls {
            ca: Some("/nonexistent/ca.pem".into()),
            ..ExportTls::default()
        };
        assert!(
            err(&missing).contains("/nonexistent/ca.pem"),
            "{}",
            err(&missing)
        );
        let half = ExportTls {
            cert: Some("/nonexistent/client.pem".into()),
            ..ExportTls::default()
        };
        assert!(!err(&half).is_empty());
        // No files: the public web roots, nothing to refuse.
        assert!(dialer("localhost:4318", &ExportTls::default(), true).is_ok());
    }
}
