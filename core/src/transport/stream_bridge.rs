//! A streaming call between an HTTP request's body and the dispatcher, for the transports that
//! carry streams in HTTP bodies (gRPC over HTTP/2, the Connect protocol's streaming over
//! http://): the peer's messages are fed to the handler within a window, so a slow handler
//! stops the body being read (HTTP/2's or TCP's own flow control then holds the peer back); the
//! handler's responses go out as the response body is polled, each one taken giving the
//! handler credit; then the outcome. Each transport frames messages and the outcome its own way.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::{Stream, StreamExt};

use super::Service;
use crate::call::CallHead;
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::metadata::response::ResponseMetadata;

/// The peer's messages as its transport reads them from the request body; an `Err` ends the
/// requests and cancels the call, and becomes the call's outcome.
pub(crate) type Inbound = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// The responses of a streaming call, then its outcome (an `Err` as the last item).
pub(crate) struct Responses {
    /// The first message, read before the response headers went out.
    first: Option<Bytes>,
    out: mpsc::UnboundedReceiver<Bytes>,
    status: Option<oneshot::Receiver<Result<()>>>,
    outcome: Option<Result<()>>,
    /// The body's side of the stream's buffers: taking a response gives the handler credit.
    flow: Flow,
    /// Cancels the call when the transport drops the responses (the peer reset the stream or
    /// went away): a handler waiting for credit would otherwise wait for ever.
    _cancel: tokio_util::sync::DropGuard,
}

impl Stream for Responses {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        if let Some(b) = self.first.take() {
            self.flow.after_read(b.len());
            return Poll::Ready(Some(Ok(b)));
        }
        if let Poll::Ready(Some(b)) = self.out.poll_recv(cx) {
            self.flow.after_read(b.len());
            return Poll::Ready(Some(Ok(b)));
        }
        if let Some(rx) = self.status.as_mut() {
            match Pin::new(rx).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => {
                    self.status = None;
                    self.outcome = Some(r.unwrap_or(Ok(())));
                }
            }
        }
        // The call has ended: what is left, then the outcome.
        if let Ok(b) = self.out.try_recv() {
            return Poll::Ready(Some(Ok(b)));
        }
        match self.outcome.take() {
            Some(Err(e)) => Poll::Ready(Some(Err(e))),
            _ => Poll::Ready(None),
        }
    }
}

/// Starts the call and waits for its first message, its end, or the handler sending its headers
/// ([`Context::send_headers`](crate::Context::send_headers)), so that the headers the handler
/// set before can go out with the response's head. `Err` is an outcome before any message and
/// any headers sent (a trailers-only response in gRPC's terms).
pub(crate) async fn open(
    core: &Arc<dyn Service>,
    peer: &crate::peer::Peer,
    head: CallHead,
    inbound: Inbound,
    response: Arc<ResponseMetadata>,
) -> Result<Responses> {
    let mut responses = start(core, peer, head, inbound, response.clone());
    tokio::select! {
        biased;
        next = responses.next() => match next {
            Some(Err(e)) => return Err(e),
            Some(Ok(b)) => responses.first = Some(b),
            None => {}
        },
        () = response.flushed() => {}
    }
    Ok(responses)
}

fn start(
    core: &Arc<dyn Service>,
    peer: &crate::peer::Peer,
    head: CallHead,
    mut inbound: Inbound,
    response: Arc<ResponseMetadata>,
) -> Responses {
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (status_tx, status_rx) = oneshot::channel();
    let cancel = core.stop().child_token();
    let reader_cancel = cancel.clone();
    let dropped = cancel.clone().drop_guard();
    // Windows between the body and the handler: a slow side stops the body being read (and so
    // the peer's own window) instead of queueing.
    let (body_side, handler_side) = Flow::pair(crate::flow::STREAM_WINDOW);
    let requests = body_side.window.clone();
    let broken = Arc::new(std::sync::Mutex::new(None::<Error>));
    let reader_broken = broken.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                m = inbound.next() => match m {
                    Some(Ok(b)) => {
                        let len = b.len();
                        let _ = in_tx.send(b);
                        if let Some(w) = &requests {
                            tokio::select! {
                                _ = w.acquire(len) => {}
                                _ = reader_cancel.cancelled() => break,
                            }
                        }
                    }
                    None => break,
                    Some(Err(e)) => {
                        if let Ok(mut slot) = reader_broken.lock() {
                            *slot = Some(e);
                        }
                        reader_cancel.cancel();
                        break;
                    }
                },
                _ = reader_cancel.cancelled() => break,
            }
        }
    });
    let (core, peer) = (core.clone(), peer.clone());
    let ended = body_side.clone();
    tokio::spawn(async move {
        let r = core
            .stream(head, &peer, cancel, (in_rx, out_tx), response, handler_side)
            .await;
        ended.close();
        // A request the transport could not read is why the call ended.
        let taken = broken.lock().ok().and_then(|mut slot| slot.take());
        let _ = status_tx.send(match (r, taken) {
            (Err(_), Some(why)) => Err(why),
            (r, _) => r,
        });
    });
    Responses {
        first: None,
        out: out_rx,
        status: Some(status_rx),
        outcome: None,
        flow: body_side,
        _cancel: dropped,
    }
}
