//! Who is at the other end: the credentials of a local peer, read from the socket
//! (`SO_PEERCRED`), or the certificate of a mutual-TLS client, and the [`Peer`] a transport
//! hands the server with each call.
//!
//! A base module: transports fill a [`Peer`], the call's [`Context`](crate::Context) exposes it,
//! and security checks it, so it can belong to none of them.

use std::sync::Arc;

/// Who is calling, as the transport knows it.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) transport: &'static str,
    /// Shared by every call of the connection (a call's context holds it without a copy).
    pub(crate) address: Arc<str>,
    /// The kernel's credentials of a unix peer: its identity is `uid:<uid>`.
    cred: Option<PeerCredentials>,
    /// The verified certificate of a mutual-TLS client: its identity is the certificate's.
    cert: Option<Arc<PeerCertificate>>,
    /// What the credentials or the certificate prove, made once per connection.
    identity: Option<Arc<str>>,
}

impl Peer {
    pub(crate) fn new(transport: &'static str, address: impl Into<Arc<str>>) -> Peer {
        Peer {
            transport,
            address: address.into(),
            cred: None,
            cert: None,
            identity: None,
        }
    }

    /// The kernel's credentials of a unix peer.
    pub(crate) fn cred(&self) -> Option<PeerCredentials> {
        self.cred
    }

    /// The verified certificate of a mutual-TLS client.
    pub(crate) fn cert(&self) -> Option<&Arc<PeerCertificate>> {
        self.cert.as_ref()
    }

    /// Sets the unix peer's credentials, and so its identity.
    pub(crate) fn set_cred(&mut self, cred: Option<PeerCredentials>) {
        self.cred = cred;
        self.settle();
    }

    /// Sets the mutual-TLS client's certificate, and so its identity.
    pub(crate) fn set_cert(&mut self, cert: Arc<PeerCertificate>) {
        self.cert = Some(cert);
        self.settle();
    }

    fn settle(&mut self) {
        self.identity = match (&self.cred, &self.cert) {
            (Some(c), _) => Some(c.identity().into()),
            (None, Some(c)) if !c.identity.is_empty() => Some(c.identity.as_str().into()),
            _ => None,
        };
    }

    /// The caller's identity as the connection proves it: `uid:<uid>` for a unix peer, the
    /// certificate's identity for a mutual-TLS client (when it has one).
    pub(crate) fn identity(&self) -> Option<Arc<str>> {
        self.identity.clone()
    }
}

/// Who is at the other end of a unix socket, as the kernel reports it when the connection is
/// accepted. A unix caller's identity is `uid:<uid>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCredentials {
    /// The peer process's effective user id.
    pub uid: u32,
    /// The peer process's effective group id.
    pub gid: u32,
    /// The peer process id, where the platform reports it.
    pub pid: Option<i32>,
}

impl PeerCredentials {
    /// The identity these credentials give a caller: `uid:<uid>`.
    pub fn identity(&self) -> String {
        format!("uid:{}", self.uid)
    }

    pub(crate) fn from_ucred(c: &tokio::net::unix::UCred) -> PeerCredentials {
        PeerCredentials {
            uid: c.uid(),
            gid: c.gid(),
            pid: c.pid(),
        }
    }
}

/// True for transports that cross a machine boundary (`grpc`, `http`, `ws` and their TLS forms
/// `grpcs`, `https`, `wss`); `inproc`, `unix`, `shm`
/// and `grpc+unix` stay on one machine.
pub fn is_network(transport: &str) -> bool {
    !matches!(transport, "inproc" | "unix" | "shm" | "grpc+unix")
}

/// The certificate a client presented over mutual TLS (`grpcs://`, `https://`, `wss://`),
/// verified against the server's client CA during the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    /// The caller's identity: the certificate's first URI SAN, else its first DNS SAN, else
    /// its subject's common name (empty when it has none of these).
    pub identity: String,
    /// The subject's distinguished name (RFC 4514), e.g. `CN=alice,O=Example`.
    pub subject: String,
    /// The whole certificate, DER-encoded.
    pub der: Vec<u8>,
}

impl PeerCertificate {
    /// Reads the identity and subject of a DER-encoded X.509 certificate.
    pub fn from_der(der: &[u8]) -> Option<PeerCertificate> {
        use x509_cert::der::{Decode, Tag, Tagged};
        use x509_cert::ext::pkix::name::GeneralName;
        use x509_cert::ext::pkix::SubjectAltName;
        let cert = x509_cert::Certificate::from_der(der).ok()?;
        let tbs = &cert.tbs_certificate;
        let sans = match tbs.get::<SubjectAltName>() {
            Ok(Some((_, san))) => san.0,
            _ => Vec::new(),
        };
        let uri = sans.iter().find_map(|n| match n {
            GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
            _ => None,
        });
        let dns = || {
            sans.iter().find_map(|n| match n {
                GeneralName::DnsName(d) => Some(d.to_string()),
                _ => None,
            })
        };
        const CN: x509_cert::der::oid::ObjectIdentifier =
            x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.4.3");
        let cn = || {
            tbs.subject
                .0
                .iter()
                .flat_map(|rdn| rdn.0.iter())
                .find_map(|atv| {
                    let text = matches!(
                        atv.value.tag(),
                        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String
                    );
                    (atv.oid == CN && text)
                        .then(|| String::from_utf8(atv.value.value().to_vec()).ok())
                        .flatten()
                })
        };
        Some(PeerCertificate {
            identity: uri.or_else(dns).or_else(cn).unwrap_or_default(),
            subject: tbs.subject.to_string(),
            der: der.to_vec(),
        })
    }
}
