//! `inproc://name`: calls to a server in the same process, through the same dispatcher as
//! remote calls (interceptors, limits, errors), without a socket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::Service;
use super::{ClientTransport, RawStream};
use crate::call::CallHead;
use crate::error::{Code, Error, Result};
use crate::handler::BoxFuture;
use crate::limits::Limits;
use crate::metadata::response::{Reply, ResponseMetadata};
use crate::peer::Peer;
use crate::runtime::AbortOnDrop;

fn registry() -> &'static Mutex<HashMap<String, Weak<dyn Service>>> {
    static REG: OnceLock<Mutex<HashMap<String, Weak<dyn Service>>>> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(HashMap::new()))
}

pub(super) fn register(name: &str, core: &Arc<dyn Service>) -> Result<()> {
    let mut reg = registry()
        .lock()
        .map_err(|_| Error::internal("inproc registry poisoned"))?;
    if reg.get(name).is_some_and(|w| {
        w.strong_count() > 0 && w.upgrade().is_some_and(|c| !c.drain().is_cancelled())
    }) {
        return Err(Error::new(
            Code::AlreadyExists,
            format!("inproc://{name} is already served in this process"),
        ));
    }
    reg.insert(name.to_string(), Arc::downgrade(core));
    Ok(())
}

/// Takes `name` out of the registry if `core` still holds it (a new server may have taken a
/// draining one's name over).
pub(super) fn unregister(name: &str, core: &Weak<dyn Service>) {
    if let Ok(mut reg) = registry().lock() {
        if reg.get(name).is_some_and(|w| Weak::ptr_eq(w, core)) {
            reg.remove(name);
        }
    }
}

/// Whether a server of this process listens on `inproc://name` (and is not draining).
pub(super) fn served(name: &str) -> bool {
    registry().lock().is_ok_and(|reg| {
        reg.get(name)
            .and_then(Weak::upgrade)
            .is_some_and(|c| !c.drain().is_cancelled())
    })
}

pub(super) struct InprocClient {
    name: String,
    core: Weak<dyn Service>,
    active: Arc<AtomicUsize>,
    max_active: usize,
    peer: Peer,
    /// Cancelled by `close` (and when the server stops): every handler context of this client
    /// is a child of it, so an in-process handler sees its caller go away.
    closed: CancellationToken,
}

pub(super) fn connect(name: &str, limits: &Limits) -> Result<InprocClient> {
    let reg = registry()
        .lock()
        .map_err(|_| Error::internal("inproc registry poisoned"))?;
    let core = reg
        .get(name)
        .filter(|w| w.strong_count() > 0)
        .cloned()
        .ok_or_else(|| {
            Error::unavailable(format!("no server listens on inproc://{name}"))
                .with_reason("NO_SERVER")
        })?;
    let server = core.upgrade();
    let max_active = server
        .as_ref()
        .map_or(limits.max_concurrent_per_connection, |c| {
            c.config().limits.max_concurrent_per_connection
        });
    let closed = server.map_or_else(CancellationToken::new, |c| c.stop().child_token());
    Ok(InprocClient {
        name: name.to_string(),
        core,
        active: Arc::new(AtomicUsize::new(0)),
        max_active,
        closed,
        peer: Peer::new(
            "inproc",
            format!("inproc:{name}:pid={}", std::process::id()),
        ),
    })
}

struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl InprocClient {
    fn begin(&self) -> Result<(Arc<dyn Service>, ActiveGuard)> {
        let core = self
            .core
            .upgrade()
            .filter(|c| !c.stop().is_cancelled())
            .ok_or_else(|| {
                Error::unavailable(format!("the server at inproc://{} has stopped", self.name))
            })?;
        if self.closed.is_cancelled() {
            return Err(Error::client_closed());
        }
        let n = self.active.fetch_add(1, Ordering::AcqRel);
        let guard = ActiveGuard(self.active.clone());
        if n >= self.max_active {
            return Err(Error::resource_exhausted(
                "TOO_MANY_CALLS",
                format!(
                    "{n} calls in flight on this connection, the limit is {}",
                    self.max_active
                ),
            ));
        }
        Ok((core, guard))
    }
}

impl ClientTransport for InprocClient {
    fn unary(&self, head: CallHead, payload: Bytes) -> BoxFuture<'_, Result<Reply<Bytes>>> {
        Box::pin(async move {
            let (core, _guard) = self.begin()?;
            let cancel = self.closed.child_token();
            // A caller's own cancellation reaches the handler even while it runs inline.
            let _watch = head.cancel.0.clone().map(|caller| {
                let handler = cancel.clone();
                AbortOnDrop(tokio::spawn(async move {
                    caller.cancelled().await;
                    handler.cancel();
                }))
            });
            // Dropping this future (deadline, caller gone) cancels the handler's context.
            let _drop = cancel.clone().drop_guard();
            let response = Arc::new(ResponseMetadata::default());
            let result = core
                .unary(head, payload, &self.peer, cancel, response.clone())
                .await;
            let (headers, trailers) = response.take_all();
            let message =
                result.map_err(|e| e.with_response_metadata(headers.clone(), trailers.clone()))?;
            Ok(Reply {
                message,
                headers,
                trailers,
            })
        })
    }

    fn open(&self, head: CallHead) -> BoxFuture<'_, Result<RawStream>> {
        Box::pin(async move {
            let (core, guard) = self.begin()?;
            let cancel = self.closed.child_token();
            let (req_tx, req_rx) = mpsc::unbounded_channel();
            let (out_tx, out_rx) = mpsc::unbounded_channel::<Bytes>();
            let (res_tx, res_rx) = mpsc::unbounded_channel();
            let peer = self.peer.clone();
            let token = cancel.clone();
            let served = Arc::new(ResponseMetadata::default());
            let received = Arc::new(ResponseMetadata::default());
            let client_side = received.clone();
            let (client_flow, server_flow) = crate::flow::Flow::pair(crate::flow::STREAM_WINDOW);
            let ended = client_flow.clone();
            tokio::spawn(async move {
                let _guard = guard;
                let run = core.stream(
                    head,
                    &peer,
                    token,
                    (req_rx, out_tx),
                    served.clone(),
                    server_flow,
                );
                // Responses go to the caller from a task of their own: a handler waiting for
                // credit (flow control) blocks its own task, and the credit comes as the caller
                // reads these.
                // The headers reach the caller ahead of the first response, or when the
                // handler sends them; a lock keeps a response from overtaking them.
                let first = Arc::new(std::sync::Mutex::new(true));
                let pass_headers = {
                    let (got, headers, first) = (received.clone(), served.clone(), first.clone());
                    move || {
                        let mut first = first.lock().unwrap_or_else(|p| p.into_inner());
                        if std::mem::replace(&mut *first, false) {
                            got.received(Some(headers.take_headers()), None);
                        }
                    }
                };
                let (ahead, to_caller) = (pass_headers.clone(), res_tx.clone());
                let forwarder = crate::flow::forward(out_rx, move |batch| {
                    ahead();
                    for b in batch {
                        let _ = to_caller.send(Ok(b));
                    }
                    std::future::ready(())
                });
                tokio::pin!(run);
                let mut flushed = false;
                let result = loop {
                    tokio::select! {
                        r = &mut run => break r,
                        () = served.flushed(), if !flushed => {
                            flushed = true;
                            pass_headers();
                        }
                    }
                };
                forwarder.finish().await;
                let first = *first.lock().unwrap_or_else(|p| p.into_inner());
                // A request waiting for credit goes no further: the call has ended.
                ended.close();
                let (headers, trailers) = served.take_all();
                received.received(first.then_some(headers), Some(trailers));
                if let Err(e) = result {
                    let _ = res_tx.send(Err(e));
                }
            });
            let drop_guard: DropGuard = cancel.drop_guard();
            Ok(RawStream {
                tx: req_tx,
                rx: res_rx,
                _guard: Box::new(drop_guard),
                response: client_side,
                flow: client_flow,
            })
        })
    }

    fn close(&self) {
        self.closed.cancel();
    }
}
