//! [`Context`]: what a handler sees besides the request. The call's [`Metadata`] lives in the
//! base module [`metadata`](crate::metadata) and is re-exported here.

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
use crate::trace::CallTrace;

mod inherit;
pub(crate) use inherit::Scoped;
pub use inherit::{inherited, Entered, Inherited};

/// The context of one call, on the server (what the handler sees) and in interceptors.
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) method: Arc<str>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) metadata: Metadata,
    pub(crate) identity: Option<Arc<str>>,
    pub(crate) peer: Arc<str>,
    pub(crate) peer_cred: Option<PeerCredentials>,
    pub(crate) peer_cert: Option<Arc<PeerCertificate>>,
    pub(crate) transport: &'static str,
    pub(crate) trace: CallTrace,
    /// The trace id as hex, made when first asked for.
    trace_hex: std::sync::OnceLock<[u8; 32]>,
    /// The method's metrics (on a server's context).
    pub(crate) metrics: Option<Arc<crate::metrics::MethodMetrics>>,
    pub(crate) cancel: CancellationToken,
    extensions: Extensions,
    pub(crate) response: Arc<ResponseMetadata>,
}

impl Context {
    /// A context for `method` with no deadline, as a transport creates it.
    pub fn new(
        method: impl Into<Arc<str>>,
        transport: &'static str,
        peer: impl Into<Arc<str>>,
    ) -> Context {
        Context::replying(method, transport, peer, Arc::default())
    }

    /// [`Context::new`] whose response metadata goes to `response` (a server's call).
    pub(crate) fn replying(
        method: impl Into<Arc<str>>,
        transport: &'static str,
        peer: impl Into<Arc<str>>,
        response: Arc<ResponseMetadata>,
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
            trace: CallTrace::default(),
            trace_hex: std::sync::OnceLock::new(),
            metrics: None,
            cancel: CancellationToken::new(),
            extensions: Extensions::new(),
            response,
        }
    }

    /// Sets the call's trace from its metadata (`traceparent`…; `legacy`: an earlier release's
    /// trace id), unless it has one.
    pub(crate) fn finish_setup(&mut self, legacy: &str) {
        if self.trace.trace_id.is_zero() {
            self.set_trace(CallTrace::incoming(&self.metadata, legacy));
        }
    }

    pub(crate) fn set_trace(&mut self, trace: CallTrace) {
        self.trace_hex = std::sync::OnceLock::new();
        self.trace = trace;
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
        self.identity = Some(identity.into().into());
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
    /// The trace id, 32 lower-case hex digits: the caller's (from its `traceparent`, or the
    /// `x-trace-id` of earlier releases), or a new one.
    pub fn trace_id(&self) -> &str {
        let hex = self.trace_hex.get_or_init(|| self.trace.trace_id.hex());
        std::str::from_utf8(hex).unwrap_or_default()
    }
    /// The call's place in its trace: its span id, its parent's, whether it is sampled, the
    /// `tracestate` and `baggage` that came with it.
    pub fn trace(&self) -> &CallTrace {
        &self.trace
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
    /// Sends the response headers set so far now, ahead of any message, as gRPC servers can
    /// (`SendHeader`): a streaming caller sees them before the first response (on `unix://`,
    /// `ws://` and `shm://` when the client reads the `HEADERS` frame, see `docs/wire.md`; on
    /// `grpc://` and `inproc://` always). Later `set_header` calls are `FailedPrecondition`.
    /// Calling it again does nothing; for a unary call the headers still go with the reply.
    pub fn send_headers(&self) {
        self.response.flush_headers();
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
