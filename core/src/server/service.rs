//! The server's side of the transport seam: the dispatcher is the [`Service`] every transport
//! hands its calls to, and the [`ListenConfig`] they listen with comes from the server's options.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::dispatch::Dispatcher;
use super::ServerOptions;
use crate::call::CallHead;
use crate::error::{Error, Result};
use crate::handler::BoxFuture;
use crate::metadata::response::ResponseMetadata;
use crate::peer::Peer;
use crate::schema::Schema;
use crate::transport::{ListenConfig, Service};

/// What the transports of a server with `options` listen with.
pub(super) fn listen_config(schema: &Schema, options: &ServerOptions) -> ListenConfig {
    let security = options.security.as_deref();
    ListenConfig {
        limits: options.limits.clone(),
        socket_mode: options.socket_mode,
        tls: security.and_then(|s| s.tls()).map(|t| t.server_config()),
        schema: schema.clone(),
        reflection: !security.is_some_and(|s| s.restricts_discovery()),
        keepalive: options.keepalive,
    }
}

/// The transports' view of the dispatcher (see [`Service`]).
impl Service for Dispatcher {
    fn config(&self) -> &ListenConfig {
        &self.listen
    }

    fn kind(&self, head: &CallHead) -> Option<crate::schema::StreamingKind> {
        self.kind_for(&head.method, &head.metadata)
    }

    fn methods(&self) -> Vec<(String, crate::schema::StreamingKind)> {
        self.served_methods()
    }

    fn drain(&self) -> &CancellationToken {
        &self.drain
    }

    fn stop(&self) -> &CancellationToken {
        &self.stop
    }

    fn host(&self) -> Option<Arc<crate::transport::Host>> {
        self.host.get().cloned()
    }

    /// Counts a reply a transport has yet to write, so that a graceful shutdown does not close
    /// the endpoints under it (it is not a call: [`Dispatcher::inflight`] leaves it out).
    fn start_writing(&self) {
        self.writing.fetch_add(1, Ordering::AcqRel);
    }

    fn end_writing(&self) {
        if self.writing.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }

    fn refused(&self, head: &CallHead, peer: &Peer, e: &Error) {
        let start = Instant::now();
        let mut head = head.clone();
        let ctx = self.context(
            &mut head,
            peer,
            CancellationToken::new(),
            start,
            Arc::default(),
        );
        self.rejected(&ctx, e);
        self.after(&self.chain(), &ctx, Err(e), start.elapsed());
    }

    fn unary<'a>(
        self: Arc<Self>,
        head: CallHead,
        payload: Bytes,
        peer: &'a Peer,
        cancel: CancellationToken,
        response: Arc<ResponseMetadata>,
    ) -> BoxFuture<'a, Result<Bytes>> {
        Box::pin(async move { self.call_unary(head, payload, peer, cancel, response).await })
    }

    fn stream<'a>(
        self: Arc<Self>,
        head: CallHead,
        peer: &'a Peer,
        cancel: CancellationToken,
        io: (mpsc::UnboundedReceiver<Bytes>, mpsc::UnboundedSender<Bytes>),
        response: Arc<ResponseMetadata>,
        flow: crate::flow::Flow,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.call_stream(head, peer, cancel, io, response, flow)
                .await
        })
    }
}
