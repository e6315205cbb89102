//! [`Context`]: what a handler sees besides the request, and the [`Metadata`] of a call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// Call metadata: ordered `key: value` text pairs; keys are lower-case ASCII.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    entries: Vec<(String, String)>,
}

impl Metadata {
    /// Empty metadata.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Adds an entry (the key is lower-cased); keys may repeat.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl Into<String>) {
        self.entries
            .push((key.as_ref().to_ascii_lowercase(), value.into()));
    }

    /// The first value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        let key = key.to_ascii_lowercase();
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every entry in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: AsRef<str>, V: Into<String>> FromIterator<(K, V)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = Metadata::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

/// The context of one call, on the server (what the handler sees) and in interceptors.
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) method: String,
    pub(crate) deadline: Option<Instant>,
    pub(crate) metadata: Metadata,
    pub(crate) identity: Option<String>,
    pub(crate) peer: String,
    pub(crate) peer_cred: Option<crate::security::PeerCredentials>,
    pub(crate) peer_cert: Option<std::sync::Arc<crate::security::PeerCertificate>>,
    pub(crate) transport: &'static str,
    pub(crate) trace_id: String,
    pub(crate) cancel: CancellationToken,
    pub(crate) payloads: Option<std::sync::Arc<crate::security::CallPayloads>>,
}

static TRACE_COUNTER: AtomicU64 = AtomicU64::new(1);

fn new_trace_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(TRACE_COUNTER.fetch_add(1, Ordering::Relaxed));
    let a = h.finish();
    h.write_u64(a);
    format!("{a:016x}{:016x}", h.finish())
}

impl Context {
    /// A context for `method` with no deadline, as a transport creates it.
    pub fn new(
        method: impl Into<String>,
        transport: &'static str,
        peer: impl Into<String>,
    ) -> Context {
        Context {
            method: method.into(),
            deadline: None,
            metadata: Metadata::new(),
            identity: None,
            peer: peer.into(),
            peer_cred: None,
            peer_cert: None,
            transport,
            trace_id: String::new(),
            cancel: CancellationToken::new(),
            payloads: None,
        }
    }

    pub(crate) fn finish_setup(&mut self) {
        if self.trace_id.is_empty() {
            self.trace_id = self
                .metadata
                .get("x-trace-id")
                .map(str::to_string)
                .unwrap_or_else(new_trace_id);
        }
    }

    /// The method called, `package.Service/Method`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request and reply of a unary call, in interceptors' `after` hooks, when the
    /// server's audit log records payloads (`[audit] payloads = true`); otherwise `None`.
    pub fn payloads(&self) -> Option<&crate::security::CallPayloads> {
        self.payloads.as_deref()
    }
    /// When the caller stops waiting, if it set a deadline.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
    /// Time left before the deadline (zero once passed); `None` without a deadline.
    pub fn time_remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }
    /// The caller's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
    /// Mutable metadata (for interceptors).
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }
    /// The authenticated caller, once an interceptor has set it.
    pub fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }
    /// Sets the authenticated caller (for authentication interceptors).
    pub fn set_identity(&mut self, identity: impl Into<String>) {
        self.identity = Some(identity.into());
    }
    /// The kernel's credentials of a unix peer (`unix://`, `grpc+unix://`): uid, gid, pid.
    pub fn peer_credentials(&self) -> Option<crate::security::PeerCredentials> {
        self.peer_cred
    }
    /// The verified certificate of a mutual-TLS client (`grpcs://`, `https://`, `wss://`).
    pub fn peer_certificate(&self) -> Option<&crate::security::PeerCertificate> {
        self.peer_cert.as_deref()
    }
    /// The peer as the transport sees it (`inproc:NAME`, `unix:PATH`).
    pub fn peer(&self) -> &str {
        &self.peer
    }
    /// The transport's scheme: `inproc`, `unix`, `grpc`, `grpc+unix`, `http`, `ws`, `grpcs`,
    /// `https`, `wss`.
    pub fn transport(&self) -> &'static str {
        self.transport
    }
    /// The trace id (from `x-trace-id` metadata, or generated).
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }
    /// True once the caller cancelled, went away, or the deadline passed.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled() || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
    /// Resolves when the call is cancelled (caller gone, deadline passed, server stopping).
    pub async fn cancelled(&self) {
        match self.deadline {
            Some(d) => {
                tokio::select! {
                    _ = self.cancel.cancelled() => {}
                    _ = tokio::time::sleep_until(d.into()) => {}
                }
            }
            None => self.cancel.cancelled().await,
        }
    }
    /// The cancellation token, for code that wants to select on it.
    pub fn cancellation_token(&self) -> &CancellationToken {
        &self.cancel
    }
}
