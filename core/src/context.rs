//! [`Context`]: what a handler sees besides the request. The call's [`Metadata`] lives in the
//! base module [`metadata`](crate::metadata) and is re-exported here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;

pub use http::Extensions;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::metadata::response::{require_bin_key, ResponseMetadata};
use crate::metadata::BASE64;
pub use crate::metadata::{is_bin_key, Metadata};
use crate::peer::{PeerCertificate, PeerCredentials};

mod inherit;
pub(crate) use inherit::Scoped;
pub use inherit::{inherited, Entered, Inherited};

/// The context of one call, on the server (what the handler sees) and in interceptors.
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) method: String,
    pub(crate) deadline: Option<Instant>,
    pub(crate) metadata: Metadata,
    pub(crate) identity: Option<String>,
    pub(crate) peer: String,
    pub(crate) peer_cred: Option<PeerCredentials>,
    pub(crate) peer_cert: Option<Arc<PeerCertificate>>,
    pub(crate) transport: &'static str,
    pub(crate) trace_id: String,
    pub(crate) cancel: CancellationToken,
    extensions: Extensions,
    pub(crate) response: Arc<ResponseMetadata>,
}

static TRACE_COUNTER: AtomicU64 = AtomicU64::new(1);

/// A 128-bit random-looking id as 32 hex digits: a per-process random seed and a counter mixed
/// with splitmix64 (unique in the process, unpredictable across processes; no hashing state or
/// formatting machinery per call).
fn new_trace_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(u64::from(std::process::id()));
        h.finish()
    });
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let n = TRACE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let a = mix(seed ^ n);
    let b = mix(a ^ seed.rotate_left(32));
    let mut out = String::with_capacity(32);
    for word in [a, b] {
        for i in (0..16).rev() {
            let digit = ((word >> (i * 4)) & 0xf) as u8;
            out.push(char::from(if digit < 10 {
                b'0' + digit
            } else {
                b'a' + digit - 10
            }));
        }
    }
    out
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
            extensions: Extensions::new(),
            response: Arc::default(),
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

    /// Typed values the layers above the call attach to it (tonic's `Request::extensions`):
    /// the server puts the audit log's [`CallPayloads`](crate::security::CallPayloads) here, an
    /// interceptor may leave what a later one or the handler reads. One value per type.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }
    /// Mutable [`extensions`](Context::extensions) (for interceptors and the server).
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
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
    pub fn peer_credentials(&self) -> Option<PeerCredentials> {
        self.peer_cred
    }
    /// The verified certificate of a mutual-TLS client (`grpcs://`, `https://`, `wss://`).
    pub fn peer_certificate(&self) -> Option<&PeerCertificate> {
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

    /// Adds a response header (gRPC initial metadata), sent with the first response message
    /// (or with the outcome when there is none). Keys may repeat. A `-bin` key takes base64
    /// text (see [`Context::set_header_bin`]). `FailedPrecondition` once the headers have gone
    /// out (a streaming handler's first response was sent); `InvalidArgument` for a reserved
    /// key (`grpc-*`, `content-type`, …) or a value that is not printable ASCII.
    pub fn set_header(&self, key: &str, value: impl Into<String>) -> Result<()> {
        self.response.add_header(key, value.into())
    }
    /// [`set_header`](Context::set_header) with a binary value for a `-bin` key.
    pub fn set_header_bin(&self, key: &str, value: &[u8]) -> Result<()> {
        require_bin_key(key)?;
        self.response.add_header(key, BASE64.encode(value))
    }
    /// Adds a response trailer (gRPC trailing metadata), sent with the call's outcome, success
    /// or error. Same keys and values as [`set_header`](Context::set_header); allowed until the
    /// handler returns.
    pub fn set_trailer(&self, key: &str, value: impl Into<String>) -> Result<()> {
        self.response.add_trailer(key, value.into())
    }
    /// [`set_trailer`](Context::set_trailer) with a binary value for a `-bin` key.
    pub fn set_trailer_bin(&self, key: &str, value: &[u8]) -> Result<()> {
        require_bin_key(key)?;
        self.response.add_trailer(key, BASE64.encode(value))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn trace_ids_are_distinct_lowercase_hex() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| super::new_trace_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))));
    }
}
