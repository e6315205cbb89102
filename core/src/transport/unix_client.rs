//! Client side of `unix://` (and, over [`super::ws_io`], of `ws://`): one connection
//! multiplexing many calls with the frames of [`super::frame`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

use super::frame::{self, Hello, Kind, FLAG_UNARY};
use super::keepalive::{Heard, Keepalive};
use super::unix_server::{BoxRead, BoxWrite};
use super::unix_sync::SyncLane;
use super::{ClientTransport, RawStream};
use crate::call::{Blocker, CallHead, Watch};
use crate::error::{Code, Error, Result};
use crate::flow::{Credit, Flow, Window, STREAM_WINDOW};
use crate::handler::BoxFuture;
use crate::limits::Limits;
use crate::metadata::response::{Reply, ResponseMetadata};

#[path = "unix_client_read.rs"]
mod read;

use read::read_frame;

enum Pending {
    Unary(oneshot::Sender<Result<Reply<Bytes>>>),
    Stream(
        mpsc::UnboundedSender<Result<Bytes>>,
        Arc<ResponseMetadata>,
        Flow,
    ),
}

impl Pending {
    /// The call is over: a request waiting for credit goes no further.
    fn ended(&self) {
        if let Pending::Stream(_, _, flow) = self {
            flow.close();
        }
    }
}

struct Shared {
    writer: tokio::sync::Mutex<BoxWrite>,
    pending: Mutex<HashMap<u32, Pending>>,
    next_id: AtomicU32,
    closed: AtomicBool,
    draining: AtomicBool,
    /// The endpoint, for messages: `unix:///x.sock`, `ws://host:port`.
    uri: String,
    /// The receive window the server offers each stream (0: it does no flow control).
    peer_window: std::sync::atomic::AtomicU32,
    /// When the server was last heard (kept only with keepalive).
    heard: Option<Arc<Heard>>,
}

pub(crate) struct UnixClient {
    shared: Arc<Shared>,
    reader: tokio::task::JoinHandle<()>,
    /// Where blocking callers make unary calls on their own threads (`unix://` only).
    lane: Option<Arc<SyncLane>>,
    keepalive: Option<tokio::task::JoinHandle<()>>,
}

/// Sends CANCEL for a call dropped before it finished.
struct CallGuard {
    shared: Arc<Shared>,
    id: u32,
    armed: bool,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let removed = self
            .shared
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.remove(&self.id))
            .inspect(Pending::ended)
            .is_some();
        if removed && !self.shared.closed.load(Ordering::Acquire) {
            let shared = self.shared.clone();
            let id = self.id;
            crate::runtime::handle().spawn(async move {
                let _ = shared
                    .write(&frame::encode_frame(Kind::Cancel, 0, id, &[]))
                    .await;
            });
        }
    }
}

/// A write to the connection to `uri` failed.
pub(super) fn write_failed(uri: &str, e: std::io::Error) -> Error {
    Error::unavailable(format!("connection to {uri} lost: {e}"))
        .with_reason("WRITE_FAILED")
        .with_source(e)
        .unsent()
}

/// The connection to `uri` ended while calls were in flight.
pub(super) fn connection_lost(uri: &str, reason: &str) -> Error {
    Error::unavailable(format!("connection to {uri} lost: {reason}")).with_reason("CONNECTION_LOST")
}

/// A call on a connection that has ended.
pub(super) fn connection_closed(uri: &str) -> Error {
    Error::unavailable(format!("connection to {uri} is closed"))
        .with_reason("CONNECTION_CLOSED")
        .unsent()
}

/// A call after the server's GOAWAY.
pub(super) fn shutting_down(uri: &str) -> Error {
    Error::unavailable(format!("server at {uri} is shutting down"))
        .with_reason("SHUTTING_DOWN")
        .unsent()
}

/// The largest frame body a client reads from its server.
pub(super) fn max_body(max_message: usize) -> usize {
    max_message.max(1) * 4 + frame::HEADER_SLACK
}

impl Shared {
    async fn write(&self, bytes: &[u8]) -> Result<()> {
        let mut w = self.writer.lock().await;
        let lost = |e: std::io::Error| write_failed(&self.uri, e);
        w.write_all(bytes).await.map_err(lost)?;
        // A no-op on a socket; sends the message on a WebSocket.
        w.flush().await.map_err(lost)
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(connection_closed(&self.uri));
        }
        if self.draining.load(Ordering::Acquire) {
            return Err(shutting_down(&self.uri));
        }
        Ok(())
    }

    fn register(self: &Arc<Self>, p: Pending) -> Result<CallGuard> {
        self.check_open()?;
        let id = self.next_id.fetch_add(2, Ordering::Relaxed);
        self.pending
            .lock()
            .map_err(|_| Error::internal("poisoned"))?
            .insert(id, p);
        Ok(CallGuard {
            shared: self.clone(),
            id,
            armed: true,
        })
    }

    /// A new stream's flow control, when the server does it: its requests wait on a window of
    /// the size the server offered.
    fn stream_flow(&self) -> Flow {
        match self.peer_window.load(Ordering::Acquire) {
            0 => Flow::default(),
            size => Flow {
                window: Some(Window::new(size)),
                credit: None,
                tally: Default::default(),
            },
        }
    }

    /// `flow` with the credit of stream `id`'s reads, given back in WINDOW frames (to a server
    /// that does flow control only).
    fn with_credit(self: &Arc<Self>, mut flow: Flow, id: u32) -> Flow {
        if flow.window.is_some() {
            let shared = self.clone();
            flow.credit = Some(Credit::new(STREAM_WINDOW, move |n| {
                let shared = shared.clone();
                crate::runtime::handle().spawn(async move {
                    let _ = shared.write(&frame::window_frame(id, n)).await;
                });
            }));
        }
        flow
    }

    fn fail_all(&self, err: &Error) {
        self.closed.store(true, Ordering::Release);
        let pending: Vec<Pending> = self
            .pending
            .lock()
            .map(|mut p| p.drain().map(|(_, v)| v).collect())
            .unwrap_or_default();
        for p in pending {
            p.ended();
            match p {
                Pending::Unary(tx) => {
                    let _ = tx.send(Err(err.clone()));
                }
                Pending::Stream(tx, _, _) => {
                    let _ = tx.send(Err(err.clone()));
                }
            }
        }
    }
}

impl UnixClient {
    pub(crate) async fn connect(
        path: &Path,
        limits: &Limits,
        ka: Option<Keepalive>,
    ) -> Result<UnixClient> {
        let uri = format!("unix://{}", path.display());
        let stream = UnixStream::connect(path).await.map_err(|e| {
            Error::unavailable(format!("cannot connect to {uri}: {e}"))
                .with_reason("CONNECT_FAILED")
                .with_source(e)
                .unsent()
        })?;
        let (r, w) = stream.into_split();
        let lane = Arc::new(SyncLane::new(path, limits));
        UnixClient::over(Box::new(r), Box::new(w), uri, limits, ka, Some(lane)).await
    }

    /// Speaks the frame protocol over an open byte stream to `uri`: the handshake, then a
    /// reader task (and, with keepalive and a server that answers pings, a keepalive task).
    pub(crate) async fn over(
        r: BoxRead,
        w: BoxWrite,
        uri: String,
        limits: &Limits,
        ka: Option<Keepalive>,
        lane: Option<Arc<SyncLane>>,
    ) -> Result<UnixClient> {
        let shown = uri.clone();
        let mut r = BufReader::with_capacity(64 * 1024, r);
        let hello = Hello::ours(limits.max_message_bytes);
        let shared = Arc::new(Shared {
            writer: tokio::sync::Mutex::new(w),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU32::new(1),
            closed: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            uri,
            peer_window: std::sync::atomic::AtomicU32::new(0),
            heard: ka.map(|_| Arc::new(Heard::default())),
        });
        shared
            .write(&frame::encode_message_frame(Kind::Hello, 0, 0, &hello))
            .await?;
        let max_body = max_body(limits.max_message_bytes);
        let (h, body) = tokio::time::timeout(Duration::from_secs(10), read_frame(&mut r, max_body))
            .await
            .map_err(|_| Error::unavailable(format!("{shown} did not answer the handshake")))?
            .map_err(|e| Error::unavailable(format!("handshake with {shown} failed: {e}")))?;
        let theirs = frame::check_server_hello(h.kind, body, &shown)?;
        shared
            .peer_window
            .store(theirs.stream_window, Ordering::Release);
        let reader = tokio::spawn(Self::read_loop(shared.clone(), r, max_body));
        let keepalive = match (ka, &shared.heard) {
            (Some(ka), Some(heard)) if theirs.pings => {
                heard.now();
                Some(Self::keep_alive(
                    &shared,
                    ka,
                    heard.clone(),
                    &reader,
                    lane.clone(),
                ))
            }
            _ => None,
        };
        Ok(UnixClient {
            shared,
            reader,
            lane,
            keepalive,
        })
    }
}

impl ClientTransport for UnixClient {
    fn unary(&self, head: CallHead, payload: Bytes) -> BoxFuture<'_, Result<Reply<Bytes>>> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            let mut guard = self.shared.register(Pending::Unary(tx))?;
            let bytes = frame::encode_message_frame(
                Kind::Call,
                FLAG_UNARY,
                guard.id,
                &head.to_header(payload),
            );
            self.shared.write(&bytes).await?;
            let result = rx
                .await
                .unwrap_or_else(|_| Err(Error::unavailable("connection closed")));
            guard.armed = false;
            result
        })
    }

    fn open(&self, head: CallHead) -> BoxFuture<'_, Result<RawStream>> {
        Box::pin(async move {
            let (res_tx, res_rx) = mpsc::unbounded_channel();
            let response = Arc::new(ResponseMetadata::default());
            let flow = self.shared.stream_flow();
            let guard =
                self.shared
                    .register(Pending::Stream(res_tx, response.clone(), flow.clone()))?;
            let id = guard.id;
            let flow = self.shared.with_credit(flow, id);
            self.shared
                .write(&frame::encode_message_frame(
                    Kind::Call,
                    0,
                    id,
                    &head.to_header(Bytes::new()),
                ))
                .await?;
            let (req_tx, mut req_rx) = mpsc::unbounded_channel::<Bytes>();
            let shared = self.shared.clone();
            tokio::spawn(async move {
                while let Some(b) = req_rx.recv().await {
                    if shared
                        .write(&frame::encode_frame(Kind::Message, 0, id, &b))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                let _ = shared
                    .write(&frame::encode_frame(Kind::End, 0, id, &[]))
                    .await;
            });
            Ok(RawStream {
                tx: req_tx,
                rx: res_rx,
                _guard: Box::new(guard),
                response,
                flow,
            })
        })
    }

    fn unary_blocking(
        &self,
        head: CallHead,
        payload: Bytes,
        watch: &Watch,
        blocker: &dyn Blocker,
    ) -> Result<Reply<Bytes>> {
        let Some(lane) = &self.lane else {
            return Err(Error::internal("this connection has no blocking lane"));
        };
        let result = lane.unary(head, payload, watch, blocker);
        if let Err(e) = &result {
            if e.is_unsent() && e.code() == Code::Unavailable {
                // The lane could not reach the server (it went away, or another took its
                // socket): this connection takes no new calls, so the next one reconnects
                // through the channel's backoff instead of retrying here at once.
                self.shared.draining.store(true, Ordering::Release);
            }
        }
        result
    }

    fn has_lane(&self) -> bool {
        self.lane.is_some()
    }

    fn alive(&self) -> bool {
        !self.shared.closed.load(Ordering::Acquire) && !self.shared.draining.load(Ordering::Acquire)
    }

    fn close(&self) {
        if let Some(lane) = &self.lane {
            lane.close();
        }
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let in_flight: Vec<u32> = self
            .shared
            .pending
            .lock()
            .map(|p| p.keys().copied().collect())
            .unwrap_or_default();
        self.reader.abort();
        self.shared.fail_all(&Error::client_closed());
        // The server cancels the handlers of the calls in flight (as on every transport), then
        // sees the connection end.
        let shared = self.shared.clone();
        crate::runtime::handle().spawn(async move {
            let mut bytes = Vec::new();
            for id in in_flight {
                bytes.extend(frame::encode_frame(Kind::Cancel, 0, id, &[]));
            }
            let mut w = shared.writer.lock().await;
            let _ = w.write_all(&bytes).await;
            let _ = w.flush().await;
            let _ = w.shutdown().await;
        });
    }
}

impl Drop for UnixClient {
    fn drop(&mut self) {
        self.reader.abort();
        if let Some(k) = &self.keepalive {
            k.abort();
        }
    }
}
