//! The call layer's own types: the [`CallHead`] every transport hands the server and every
//! client hands its transport, and discovery ([`DESCRIBE_METHOD`]), the method every server
//! answers with its schema.
//!
//! They sit above the base and the schema, below the transports: a transport reads and writes
//! a head on its wire (the unix frames' conversions are in
//! [`transport::frame`](crate::transport::frame)), the server dispatches on it, the client and
//! the security policy name the discovery method, and none of them has to import another.

use prost::Message;

use crate::codec::Codec;
use crate::metadata::Metadata;

/// The call's head, as the dispatcher sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallHead {
    /// `package.Service/Method`.
    pub method: String,
    /// How long the caller waits.
    pub timeout: Option<std::time::Duration>,
    /// Metadata.
    pub metadata: Metadata,
    /// Codec of the messages.
    pub codec: Codec,
    /// Trace id ("" for none).
    pub trace_id: String,
    /// The caller's cancellation, for an in-process handler to see (never on a wire: the
    /// network transports cancel by ending the call's stream).
    pub cancel: CallerCancel,
}

/// The caller's cancellation token carried by a [`CallHead`]; heads compare equal whatever
/// tokens they carry.
#[derive(Debug, Clone, Default)]
pub struct CallerCancel(pub Option<tokio_util::sync::CancellationToken>);

impl PartialEq for CallerCancel {
    fn eq(&self, _: &CallerCancel) -> bool {
        true
    }
}

/// The standard health check, answered by every server on every transport (on `grpc://` by
/// the standard service): `SERVING` for the empty service name and each served service,
/// `NOT_SERVING` once the server drains, `NotFound` for a service it does not serve.
pub const HEALTH_METHOD: &str = "grpc.health.v1.Health/Check";

/// The method every server answers with its schema (discovery).
pub const DESCRIBE_METHOD: &str = "hms.ffi.v1.Discovery/Describe";

/// The reply of [`DESCRIBE_METHOD`].
#[derive(Clone, PartialEq, Message)]
pub struct DescribeResponse {
    /// The server's schema as a `FileDescriptorSet`.
    #[prost(bytes = "vec", tag = "1")]
    pub descriptor_set: Vec<u8>,
    /// Methods served without a schema (CBOR).
    #[prost(string, repeated, tag = "2")]
    pub schemaless: Vec<String>,
    /// The fingerprint of the server's whole schema (`sha256:…`, as the schema registry computes
    /// it); empty from a server that does not announce one.
    #[prost(string, tag = "3")]
    pub schema_fingerprint: String,
    /// The schema registry subject of the server's schema, when the server was told.
    #[prost(string, tag = "4")]
    pub registry_subject: String,
    /// The registry version of the server's schema (0: unknown).
    #[prost(uint32, tag = "5")]
    pub registry_version: u32,
    /// The gRPC service config (JSON text) the server suggests to its clients: retry and
    /// hedging policies, `waitForReady`, `timeout`, `retryThrottling`. Empty: none.
    #[prost(string, tag = "6")]
    pub service_config: String,
    /// Other revisions of the schema the server serves beside it, each chosen by a call with
    /// [`SCHEMA_REVISION_KEY`] (see `docs/evolution.md`).
    #[prost(message, repeated, tag = "7")]
    pub revisions: Vec<AnnouncedRevision>,
}

/// The call metadata key that chooses which revision of the schema a call speaks: a revision's
/// label or fingerprint, as discovery announces them; without it, the server's main schema.
pub const SCHEMA_REVISION_KEY: &str = "hms-schema-revision";

/// `FailedPrecondition` (reason `UNKNOWN_SCHEMA_REVISION`) for a revision `key` the server
/// does not serve, naming the ones it does.
pub(crate) fn unknown_revision(key: &str, known: &[String]) -> crate::error::Error {
    let message = format!(
        "the server serves no schema revision {key:?} (known: {})",
        known.join(", ")
    );
    let metadata = std::collections::BTreeMap::from([("revision".to_string(), key.to_string())]);
    crate::error::Error::new(crate::code::Code::FailedPrecondition, message).with_error_info(
        "UNKNOWN_SCHEMA_REVISION",
        "",
        metadata,
    )
}

/// One revision a server serves beside its main schema, as discovery announces it.
#[derive(Clone, PartialEq, Message)]
pub struct AnnouncedRevision {
    /// The name the server gave it (`v1`).
    #[prost(string, tag = "1")]
    pub label: String,
    /// Its fingerprint (`sha256:…`, as the schema registry computes it).
    #[prost(string, tag = "2")]
    pub fingerprint: String,
    /// Its `FileDescriptorSet`, filtered as the main one is by the server's policy.
    #[prost(bytes = "vec", tag = "3")]
    pub descriptor_set: Vec<u8>,
}

/// What a server announces about its schema in discovery: `server.schema_version()`,
/// `client.schema_version()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaVersion {
    /// `sha256:…` of the normalized schema (see `docs/evolution.md`).
    pub fingerprint: String,
    /// The registry subject, when known.
    pub subject: String,
    /// The registry version, 0 when unknown.
    pub version: u32,
    /// The revisions served beside this schema, as `(label, fingerprint)`.
    pub revisions: Vec<(String, String)>,
}

/// How the thread of a blocking call waits when it has to block. A binding whose runtime lock
/// is costly to give up and take back (Ruby's GVL costs tens of microseconds a call) implements
/// it to give the lock up only around the waits that block, after the call has polled for its
/// reply with the lock held for up to [`spin`](Blocker::spin).
pub trait Blocker {
    /// Runs `wait`, which blocks until the call can go on (with the runtime's lock released,
    /// for instance). An interrupt of the language's own (Ruby's `Thread#raise`) should cancel
    /// the call's token (`CallOptions::cancel`), which makes `wait` return.
    fn block(&self, wait: &mut dyn FnMut());

    /// Runs the transport part of a call made with a binding's own objects (sending, waiting,
    /// reading the reply; see `Client::call_native_blocking_in`), between the walks of the
    /// request and the reply: a binding that needs its runtime's lock only for those walks
    /// gives it up here (Python's GIL). By default it just runs `call`, whose waits go through
    /// [`block`](Blocker::block).
    fn unlocked(&self, call: &mut dyn FnMut()) {
        call()
    }

    /// How long a call polls for its reply before it blocks, when replies lately came that
    /// fast and the machine has a core to spare for the server: [`crate::runtime::spin_time`]
    /// by default.
    fn spin(&self) -> std::time::Duration {
        crate::runtime::spin_time()
    }
}

/// The blocker of a thread that has nothing to give up: it just waits.
#[derive(Debug)]
pub struct JustWait;

impl Blocker for JustWait {
    fn block(&self, wait: &mut dyn FnMut()) {
        wait()
    }
}

/// What ends a client's call before its reply: the caller's cancellation, the client's close
/// and the deadline, checked in that order (a handler that saw the cancellation may have
/// answered already, but the caller asked first). The async path's `select!` and the blocking
/// lanes apply the same rule with the same errors.
#[derive(Debug, Clone)]
pub(crate) struct Watch {
    pub(crate) cancel: Option<tokio_util::sync::CancellationToken>,
    pub(crate) closed: tokio_util::sync::CancellationToken,
    pub(crate) deadline: Option<std::time::Instant>,
}

impl Watch {
    /// The error the call ends with, if it has to end now.
    pub(crate) fn stopped(&self) -> Option<crate::error::Error> {
        if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Some(cancelled_at(self.deadline));
        }
        if self.closed.is_cancelled() {
            return Some(crate::error::Error::client_closed());
        }
        if self
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            return Some(crate::error::Error::deadline_exceeded());
        }
        None
    }

    /// `call`, unless the caller cancels, the client closes or the deadline passes first (with
    /// the errors of [`stopped`](Watch::stopped), in its order).
    pub(crate) async fn until<T>(
        &self,
        call: impl std::future::Future<Output = crate::error::Result<T>>,
    ) -> crate::error::Result<T> {
        let cancelled = async {
            match &self.cancel {
                Some(cancel) => cancel.cancelled().await,
                None => std::future::pending().await,
            }
        };
        let deadline = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = cancelled => Err(cancelled_at(self.deadline)),
            () = self.closed.cancelled() => Err(crate::error::Error::client_closed()),
            () = deadline => Err(crate::error::Error::deadline_exceeded()),
            r = call => r,
        }
    }

    /// The tokens to watch.
    pub(crate) fn tokens(&self) -> impl Iterator<Item = &tokio_util::sync::CancellationToken> {
        self.cancel.iter().chain(std::iter::once(&self.closed))
    }
}

/// Runs `wait` in `blocker`; a blocker that returns without running it was interrupted before
/// the wait began (`CANCELLED`).
pub(crate) fn in_blocker<T>(
    blocker: &dyn Blocker,
    wait: impl FnOnce() -> crate::error::Result<T>,
) -> crate::error::Result<T> {
    let mut out = None;
    let mut wait = Some(wait);
    blocker.block(&mut || {
        if let Some(wait) = wait.take() {
            out = Some(wait());
        }
    });
    out.unwrap_or_else(|| {
        Err(crate::error::Error::new(
            crate::error::Code::Cancelled,
            "the call was interrupted before it started",
        ))
    })
}

/// How close to its deadline a cancellation counts as the deadline itself. A call made inside a
/// handler inherits the handler's deadline and token; the token fires when the handler's caller
/// gives up at *its* deadline, which reaches this process a little before the deadline this
/// call computed from the time that was left (both are the same instant, seen through a socket
/// and two clocks readings apart).
pub(crate) const DEADLINE_SLACK: std::time::Duration = std::time::Duration::from_millis(2);

/// The error of a call whose cancel token fired: at (or within [`DEADLINE_SLACK`] of) its
/// deadline, the call ended by its deadline (a token inherited from a handler fires when the
/// handler's call reaches the same deadline, so both come at once), else the caller cancelled it.
pub(crate) fn cancelled_at(deadline: Option<std::time::Instant>) -> crate::error::Error {
    if deadline.is_some_and(|d| std::time::Instant::now() + DEADLINE_SLACK >= d) {
        return crate::error::Error::deadline_exceeded();
    }
    caller_cancelled()
}

/// The error of a call its caller cancelled.
pub(crate) fn caller_cancelled() -> crate::error::Error {
    crate::error::Error::new(
        crate::error::Code::Cancelled,
        "call cancelled by the caller",
    )
}
