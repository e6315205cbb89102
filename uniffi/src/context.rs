//! [`CallContext`]: what a handler sees besides the request (with [`PeerCredentials`] and
//! [`PeerCertificate`]) and the response headers and trailers it sets; [`MetadataEntry`],
//! [`CallOptions`] and [`CancelToken`] for calls; [`CallParent`], what a call made elsewhere
//! inherits from a handler's call.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::error::HmsResult;
use crate::ocore;
use crate::runtime::on_runtime;

/// One `key: value` metadata pair (keys are lower-case ASCII; a key may repeat).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MetadataEntry {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// Options for one call.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct CallOptions {
    /// How long to wait, in milliseconds; the server sees it as the call's deadline.
    #[uniffi(default)]
    pub timeout_ms: Option<u64>,
    /// Metadata sent with the call.
    #[uniffi(default)]
    pub metadata: Vec<MetadataEntry>,
    /// Cancelling this token, from any thread, ends the call with `Cancelled` (the server's
    /// handler sees its context cancelled).
    #[uniffi(default)]
    pub cancel: Option<Arc<CancelToken>>,
    /// A call made in a handler inherits that call's deadline, cancellation and trace; `true`
    /// opts out.
    #[uniffi(default)]
    pub detach: bool,
    /// `true`: wait for a connection up to the deadline instead of failing `Unavailable` at
    /// once while there is none; `None`: the client's `waitForReady`.
    #[uniffi(default)]
    pub wait_for_ready: Option<bool>,
    /// The handler call this call inherits from (deadline, cancellation, trace), for a call
    /// made off the handler's thread (a coroutine on another dispatcher); `None`: the handler
    /// running on this thread, if any.
    #[uniffi(default)]
    pub parent: Option<Arc<CallParent>>,
}

impl From<CallOptions> for ocore::CallOptions {
    fn from(o: CallOptions) -> ocore::CallOptions {
        ocore::CallOptions {
            timeout: o.timeout_ms.map(std::time::Duration::from_millis),
            metadata: o.metadata.into_iter().map(|e| (e.key, e.value)).collect(),
            cancel: o.cancel.map(|c| c.0.clone()),
            detach: o.detach,
            wait_for_ready: o.wait_for_ready,
            parent: o.parent.map(|p| p.0.clone()),
            ..ocore::CallOptions::default()
        }
    }
}

/// Cancels the calls whose [`CallOptions`] carry it (the core's cancellation token).
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken(CancellationToken);

#[uniffi::export]
impl CancelToken {
    /// A token not yet cancelled.
    #[uniffi::constructor]
    pub fn new() -> Arc<CancelToken> {
        Arc::new(CancelToken::default())
    }

    /// Cancels every call made with this token, in flight or later.
    pub fn cancel(&self) {
        self.0.cancel()
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

/// A handler call's deadline, cancellation and trace, as calls made from it inherit them
/// (`Context::inherited` in the core): kept by a binding whose handler's work moves to other
/// threads, and given back in [`CallOptions::parent`]. It outlives the handler's
/// [`CallContext`].
#[derive(Debug, uniffi::Object)]
pub struct CallParent(ocore::context::Inherited);

/// The handler call running on this thread (the core sets it around every handler), if any.
#[uniffi::export]
pub fn current_parent() -> Option<Arc<CallParent>> {
    ocore::context::inherited().map(|i| Arc::new(CallParent(i)))
}

/// Metadata as entries, in order.
pub(crate) fn entries(md: &ocore::Metadata) -> Vec<MetadataEntry> {
    md.iter()
        .map(|(k, v)| MetadataEntry {
            key: k.to_string(),
            value: v.to_string(),
        })
        .collect()
}

/// The certificate a client presented over mutual TLS (`grpcs://`, `https://`, `wss://`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PeerCertificate {
    /// The first URI SAN, else the first DNS SAN, else the subject's common name.
    pub identity: String,
    /// The subject's distinguished name (RFC 4514).
    pub subject: String,
    /// The whole certificate, DER-encoded.
    pub der: Vec<u8>,
}

/// The kernel's credentials of a unix caller (`unix://`, `grpc+unix://`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct PeerCredentials {
    /// The caller's effective user id.
    pub uid: u32,
    /// The caller's effective group id.
    pub gid: u32,
    /// The caller's process id, where the platform reports it.
    pub pid: Option<i32>,
}

/// The context of one call, as a handler sees it.
#[derive(Debug, uniffi::Object)]
pub struct CallContext(pub(crate) ocore::Context);

#[uniffi::export]
impl CallContext {
    /// The method called, `package.Service/Method`.
    pub fn method(&self) -> String {
        self.0.method().to_string()
    }

    /// The caller's metadata, in order.
    pub fn metadata(&self) -> Vec<MetadataEntry> {
        entries(self.0.metadata())
    }

    /// The first metadata value for `key` (case-insensitive).
    pub fn header(&self, key: String) -> Option<String> {
        self.0.metadata().get(&key).map(str::to_string)
    }

    /// Milliseconds left before the caller's deadline; `None` without one.
    pub fn remaining_ms(&self) -> Option<u64> {
        self.0
            .time_remaining()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// True once the caller cancelled, went away, the deadline passed or the server is stopping.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }

    /// The peer as the transport sees it (`inproc:NAME`, `unix:PATH`).
    pub fn peer(&self) -> String {
        self.0.peer().to_string()
    }

    /// The authenticated caller, once an interceptor has set it.
    pub fn identity(&self) -> Option<String> {
        self.0.identity().map(str::to_string)
    }

    /// The kernel's credentials of a unix caller; `None` on other transports.
    pub fn peer_credentials(&self) -> Option<PeerCredentials> {
        self.0.peer_credentials().map(|c| PeerCredentials {
            uid: c.uid,
            gid: c.gid,
            pid: c.pid,
        })
    }

    /// The client certificate of a mutual-TLS caller; `None` without one.
    pub fn peer_certificate(&self) -> Option<PeerCertificate> {
        self.0.peer_certificate().map(|c| PeerCertificate {
            identity: c.identity.clone(),
            subject: c.subject.clone(),
            der: c.der.clone(),
        })
    }

    /// The transport the call came over (`inproc`, `unix`, `grpc`, …).
    pub fn transport(&self) -> String {
        self.0.transport().to_string()
    }

    /// The trace id: the caller's (its `traceparent`, or the legacy `x-trace-id`), or a new one.
    pub fn trace_id(&self) -> String {
        self.0.trace_id().to_string()
    }

    /// What calls made from this handler inherit, for calls made on other threads.
    pub fn parent(&self) -> Arc<CallParent> {
        Arc::new(CallParent(self.0.inherited()))
    }

    /// Adds a response header; a reserved key (`grpc-*`, `content-type`, …) is
    /// `InvalidArgument`, a header after the headers went out `FailedPrecondition`.
    pub fn set_header(&self, key: String, value: String) -> HmsResult<()> {
        Ok(self.0.set_header(&key, value)?)
    }

    /// Sends the response headers set so far now, ahead of any message (gRPC's `SendHeader`):
    /// a streaming caller sees them before the first reply. Later `set_header` calls are
    /// `FailedPrecondition`; a second call does nothing.
    pub fn send_headers(&self) {
        self.0.send_headers();
    }

    /// Resolves once the call is cancelled (the caller cancelled or went away, the deadline
    /// passed, the server is stopping): a suspending handler races its work against it.
    pub async fn cancelled(&self) {
        let ctx = self.0.clone();
        let _ = on_runtime(async move {
            ctx.cancelled().await;
            Ok(())
        })
        .await;
    }

    /// Adds a response trailer, sent with the outcome (a reply or an error).
    pub fn set_trailer(&self, key: String, value: String) -> HmsResult<()> {
        Ok(self.0.set_trailer(&key, value)?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::{current_parent, CallContext, CallOptions, MetadataEntry};
    use crate::{Client, Handler, HmsResult, Schema, Server};

    const PROTO: &str = r#"syntax = "proto3"; package parent.v1;
        message M { string trace_id = 1; bool deadline = 2; }
        service S { rpc Inner(M) returns (M); rpc Outer(M) returns (M); }"#;
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    /// Reports the trace it is in and whether it has a deadline.
    struct Inner;
    impl Handler for Inner {
        fn handle(&self, _: String, ctx: Arc<CallContext>) -> HmsResult<String> {
            let deadline = ctx.remaining_ms().is_some();
            Ok(format!(
                r#"{{"trace_id": "{}", "deadline": {deadline}}}"#,
                ctx.trace_id()
            ))
        }
    }

    /// Calls `Inner` from a thread of its own, with its call as the parent or without.
    struct Outer {
        to: Arc<Client>,
        with_parent: bool,
        /// The handler's thread has a current parent; the spawned thread has none.
        seen: Arc<AtomicBool>,
    }
    impl Handler for Outer {
        fn handle(&self, _: String, ctx: Arc<CallContext>) -> HmsResult<String> {
            let parent = self.with_parent.then(|| ctx.parent());
            let (to, on_handler) = (self.to.clone(), current_parent().is_some());
            let (off_handler, reply) = std::thread::spawn(move || {
                let opts = CallOptions {
                    parent,
                    ..CallOptions::default()
                };
                (
                    current_parent().is_none(),
                    to.call("parent.v1.S/Inner".into(), "{}".into(), opts),
                )
            })
            .join()
            .expect("the calling thread");
            self.seen.store(on_handler && off_handler, Ordering::SeqCst);
            reply
        }
    }

    fn outer(with_parent: bool, name: &str) -> (String, bool) {
        let schema = Schema::from_source("parent.proto".into(), PROTO.into()).unwrap();
        let server = Server::new(schema, "rust".into(), None, None, vec![]).unwrap();
        server
            .handle("parent.v1.S/Inner".into(), Arc::new(Inner))
            .unwrap();
        let uri = server
            .listen(format!("inproc://uniffi-parent-{name}"))
            .unwrap();
        let seen = Arc::new(AtomicBool::new(false));
        let to = Client::connect(uri.clone()).unwrap();
        let handler = Outer {
            to,
            with_parent,
            seen: seen.clone(),
        };
        server
            .handle("parent.v1.S/Outer".into(), Arc::new(handler))
            .unwrap();
        let opts = CallOptions {
            timeout_ms: Some(10_000),
            metadata: vec![MetadataEntry {
                key: "traceparent".into(),
                value: format!("00-{TRACE}-00f067aa0ba902b7-01"),
            }],
            ..CallOptions::default()
        };
        let reply = Client::connect(uri).unwrap();
        let reply = reply
            .call("parent.v1.S/Outer".into(), "{}".into(), opts)
            .unwrap();
        server.shutdown(1000).unwrap();
        (reply, seen.load(Ordering::SeqCst))
    }

    #[test]
    fn a_call_off_the_handler_thread_inherits_from_the_parent_given() {
        let (reply, seen) = outer(true, "given");
        assert!(seen, "current_parent: set on the handler's thread only");
        assert!(
            reply.contains(&format!(r#""trace_id":"{TRACE}""#)),
            "{reply}"
        );
        assert!(reply.contains(r#""deadline":true"#), "{reply}");
    }

    #[test]
    fn without_it_a_call_off_the_handler_thread_is_on_its_own() {
        let (reply, _) = outer(false, "none");
        assert!(!reply.contains(TRACE), "{reply}");
        assert!(!reply.contains(r#""deadline":true"#), "{reply}");
    }
}
