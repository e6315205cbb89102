//! What the server side of a `unix://` (or `ws://`) connection does with each frame, whoever
//! reads it: the runtime's task ([`super::unix_server`]) or a thread of the connection's own
//! ([`super::unix_led`]). Every decision here is synchronous; writing the answer is the
//! reader's part.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use prost::Message;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::frame::{self, CallHead, CallHeader, Hello, Kind, Trailer, FLAG_END, FLAG_UNARY};
use super::keepalive::Heard;
use super::unix_server::{write_frame, write_frame_parts, BoxWrite};
use super::unix_stream::ServedStream;
use super::{Hold, Service};
use crate::error::{Code, Error, Result};
use crate::flow::{Credit, Flow, Window, STREAM_WINDOW};
use crate::metadata::response::ResponseMetadata;
use crate::metrics::FastMap;
use crate::peer::Peer;

/// Bodies up to this many times the message limit are read and refused with
/// `ResourceExhausted`; larger ones close the connection.
const DRAIN_FACTOR: usize = 4;

pub(super) struct StreamState {
    cancel: CancellationToken,
    input: Option<mpsc::UnboundedSender<Bytes>>,
    /// The stream's flow control (none for a unary call; empty for a client that does none).
    flow: Option<Flow>,
}

pub(super) type Writer = Arc<tokio::sync::Mutex<BoxWrite>>;

/// One server connection's calls and where their replies go.
pub(super) struct Connection {
    pub(super) core: Arc<dyn Service>,
    pub(super) peer: Peer,
    pub(super) writer: Writer,
    streams: Arc<Mutex<FastMap<u32, StreamState>>>,
    /// The receive window the client offers each stream (0: it does no flow control).
    peer_window: AtomicU32,
    /// When the client was last heard (kept only with the server's keepalive).
    heard: Option<Arc<Heard>>,
    /// The client's HELLO said it answers PING.
    pings: std::sync::atomic::AtomicBool,
    /// The client's HELLO said it reads HEADERS frames.
    peer_headers: std::sync::atomic::AtomicBool,
    /// Counted open in the metrics while the connection lives.
    _open: crate::metrics::connections::Open,
}

/// A CALL frame to start.
pub(super) struct Opening {
    id: u32,
    unary: bool,
    head: CallHead,
    payload: Bytes,
}

/// What a frame asks of the reader.
pub(super) enum Step {
    /// Nothing more (the frame was handled).
    Done,
    /// Start a call.
    Open(Opening),
    /// Write these bytes (a refusal).
    Write(Vec<u8>),
}

impl Connection {
    pub(super) fn new(core: Arc<dyn Service>, peer: Peer, writer: Writer) -> Connection {
        Connection {
            heard: core.config().keepalive.map(|_| Arc::new(Heard::default())),
            core,
            writer,
            streams: Arc::new(Mutex::new(FastMap::default())),
            peer_window: AtomicU32::new(0),
            pings: std::sync::atomic::AtomicBool::new(false),
            peer_headers: std::sync::atomic::AtomicBool::new(false),
            _open: crate::metrics::connections::opened(peer.transport),
            peer,
        }
    }

    /// Starts the server's keepalive on this connection (when configured, and the client
    /// answers pings): PING after silence, `dead` when nothing comes back in time. The task
    /// ends with `ended`.
    pub(super) fn keepalive(&self, ended: CancellationToken, dead: impl FnOnce() + Send + 'static) {
        let (Some(ka), Some(heard)) = (self.core.config().keepalive, &self.heard) else {
            return;
        };
        if !self.pings.load(Ordering::Acquire) {
            return;
        }
        heard.now();
        let writer = self.writer.clone();
        let peer = self.peer.address.clone();
        let watch = super::keepalive::watch(
            ka,
            heard.clone(),
            move || {
                let writer = writer.clone();
                crate::runtime::handle().spawn(async move {
                    let _ = write_frame(&writer, &frame::encode_frame(Kind::Ping, 0, 0, &[])).await;
                });
                true
            },
            move || {
                tracing::warn!(%peer, "keepalive: the client sent nothing after a PING");
                dead();
            },
        );
        crate::runtime::handle().spawn(async move {
            tokio::select! {
                _ = ended.cancelled() => {}
                _ = watch => {}
            }
        });
    }

    /// The largest frame body this connection accepts.
    pub(super) fn max_body(&self) -> usize {
        self.core.config().limits.max_message_bytes + frame::HEADER_SLACK
    }

    /// The answer to a client's HELLO body: our HELLO, or (a GOAWAY to send, why we close).
    pub(super) fn hello(&self, body: Bytes) -> std::result::Result<Vec<u8>, (Vec<u8>, String)> {
        let hello = Hello::decode(body).map_err(|e| (Vec::new(), format!("bad HELLO: {e}")))?;
        if hello.magic != frame::MAGIC {
            return Err((Vec::new(), format!("bad magic {:?}", hello.magic)));
        }
        if hello.version != frame::WIRE_VERSION {
            let bye = Trailer {
                code: Code::FailedPrecondition.as_i32(),
                message: format!(
                    "wire version {} is not supported (this server speaks {})",
                    hello.version,
                    frame::WIRE_VERSION
                ),
                ..Trailer::default()
            };
            return Err((
                frame::encode_message_frame(Kind::GoAway, 0, 0, &bye),
                format!("client speaks wire version {}", hello.version),
            ));
        }
        self.peer_window
            .store(hello.stream_window, Ordering::Release);
        self.pings.store(hello.pings, Ordering::Release);
        self.peer_headers.store(hello.headers, Ordering::Release);
        let ours = Hello::ours(self.core.config().limits.max_message_bytes);
        Ok(frame::encode_message_frame(Kind::Hello, 0, 0, &ours))
    }

    /// The GOAWAY a draining server sends.
    pub(super) fn goaway() -> Vec<u8> {
        let bye = Trailer {
            code: Code::Unavailable.as_i32(),
            message: "server is shutting down".into(),
            ..Trailer::default()
        };
        frame::encode_message_frame(Kind::GoAway, 0, 0, &bye)
    }

    /// For a frame whose body is over [`max_body`](Self::max_body): how many of its first
    /// bytes to keep (a CALL's head, for the audit line) before the rest is skipped and the call
    /// refused; `Err` closes the connection.
    pub(super) fn oversized(&self, h: &frame::Header) -> std::result::Result<usize, String> {
        let len = h.len as usize;
        if len > self.max_body() * DRAIN_FACTOR
            || !matches!(h.kind, Kind::Call | Kind::Message)
            || h.stream == 0
        {
            return Err(format!(
                "{:?} frame of {len} bytes is over any limit",
                h.kind
            ));
        }
        Ok(if h.kind == Kind::Call {
            frame::HEADER_SLACK.min(len)
        } else {
            0
        })
    }

    /// Refuses an oversized frame whose first bytes were `prefix`: the STATUS to write.
    pub(super) fn too_large(&self, h: &frame::Header, prefix: &[u8]) -> Vec<u8> {
        let err = Error::resource_exhausted(
            "MESSAGE_TOO_LARGE",
            format!(
                "message of {} bytes exceeds the limit of {} bytes",
                h.len,
                self.core.config().limits.max_message_bytes
            ),
        );
        if let Some(head) = frame::call_head_prefix(prefix) {
            self.core.refused(&head, &self.peer, &err);
        }
        self.finish(h.stream, Err(err))
    }

    /// Handles one whole frame as far as it can without waiting.
    pub(super) fn step(&self, h: frame::Header, body: Bytes) -> std::result::Result<Step, String> {
        if let Some(heard) = &self.heard {
            heard.now();
        }
        let mut streams = self.streams.lock().map_err(|_| "poisoned".to_string())?;
        match h.kind {
            Kind::Call => {
                drop(streams);
                if h.stream == 0 || h.stream % 2 == 0 {
                    return Err(format!("CALL on invalid stream id {}", h.stream));
                }
                let header =
                    CallHeader::decode(body).map_err(|e| format!("bad CALL header: {e}"))?;
                Ok(match CallHead::from_header(header) {
                    Ok((head, payload)) => Step::Open(Opening {
                        id: h.stream,
                        unary: h.flags & FLAG_UNARY != 0,
                        head,
                        payload,
                    }),
                    Err(e) => Step::Write(self.finish(h.stream, Err(e))),
                })
            }
            Kind::Message => {
                if let Some(s) = streams.get_mut(&h.stream) {
                    if let Some(input) = &s.input {
                        let _ = input.send(body);
                    }
                    if h.flags & FLAG_END != 0 {
                        s.input = None;
                    }
                }
                Ok(Step::Done)
            }
            Kind::End => {
                if let Some(s) = streams.get_mut(&h.stream) {
                    s.input = None;
                }
                Ok(Step::Done)
            }
            Kind::Cancel => {
                if let Some(s) = streams.get(&h.stream) {
                    s.cancel.cancel();
                }
                Ok(Step::Done)
            }
            Kind::Window => {
                let n = frame::window_increment(&body).ok_or("bad WINDOW body")?;
                if let Some(w) = streams
                    .get(&h.stream)
                    .and_then(|s| s.flow.as_ref()?.window.as_ref())
                {
                    w.grant(n);
                }
                Ok(Step::Done)
            }
            Kind::Ping => {
                let echo = &body[..body.len().min(8)];
                Ok(Step::Write(frame::encode_frame(Kind::Pong, 0, 0, echo)))
            }
            Kind::Pong => Ok(Step::Done),
            Kind::Hello | Kind::Status | Kind::GoAway | Kind::Headers => {
                Err(format!("unexpected {:?} frame from a client", h.kind))
            }
        }
    }

    /// Starts a call: `start` runs its task (spawned, or polled first on the reading thread).
    /// `Some`: the refusal to write (the connection has the most calls allowed).
    pub(super) fn open(
        &self,
        call: Opening,
        start: impl FnOnce(crate::handler::BoxFuture<'static, ()>),
    ) -> std::result::Result<Option<Vec<u8>>, String> {
        let Opening {
            id,
            unary,
            head,
            payload,
        } = call;
        let cancel = self.core.stop().child_token();
        // A stream's requests come through a channel; a unary call's is already here.
        let (input_tx, input_rx) = (!unary).then(mpsc::unbounded_channel).unzip();
        let flow;
        {
            let mut streams = self.streams.lock().map_err(|_| "poisoned".to_string())?;
            if streams.contains_key(&id) {
                return Err(format!("stream id {id} reused while open"));
            }
            let limit = self.core.config().limits.max_concurrent_per_connection;
            if streams.len() >= limit {
                let err = Error::resource_exhausted(
                    "TOO_MANY_CALLS",
                    format!("connection has the most calls in flight allowed ({limit})"),
                );
                let trailer = Trailer::from_result(&Err(err));
                return Ok(Some(frame::encode_message_frame(
                    Kind::Status,
                    0,
                    id,
                    &trailer,
                )));
            }
            let state = StreamState {
                cancel: cancel.clone(),
                input: input_tx,
                flow: (!unary).then(|| self.stream_flow(id)),
            };
            flow = state.flow.clone();
            streams.insert(id, state);
        }
        let core = self.core.clone();
        let peer = self.peer.clone();
        let writer = self.writer.clone();
        let streams = self.streams.clone();
        // Until the reply is written the call counts as in flight: a graceful shutdown waits
        // for it instead of closing the connection under it.
        let writing = Hold::new(&core);
        if unary {
            start(Box::pin(async move {
                let _writing = writing;
                let response = Arc::new(ResponseMetadata::default());
                let result = core
                    .unary(head, payload, &peer, cancel, response.clone())
                    .await;
                if let Ok(mut s) = streams.lock() {
                    s.remove(&id);
                }
                let mut trailer = Trailer::from_result(&result).with_metadata(response.take_all());
                // A large reply goes from its buffer to the connection, not copied into a frame.
                let payload = std::mem::take(&mut trailer.payload);
                let (bytes, payload) = frame::payload_frame(
                    Kind::Status,
                    0,
                    id,
                    &trailer,
                    frame::STATUS_PAYLOAD_TAG,
                    payload,
                );
                let _ = write_frame_parts(&writer, &[&bytes, &payload]).await;
            }));
            return Ok(None);
        }
        let (Some(input_rx), Some(flow)) = (input_rx, flow) else {
            return Err(format!("stream {id} opened without its request channel"));
        };
        let call = ServedStream {
            id,
            core,
            peer,
            writer,
            cancel,
            input: input_rx,
            flow,
            headers_frame: self.peer_headers.load(Ordering::Acquire),
        };
        start(Box::pin(async move {
            let _writing = writing;
            call.run(head, move || {
                if let Ok(mut s) = streams.lock() {
                    s.remove(&id);
                }
            })
            .await;
        }));
        Ok(None)
    }

    /// A new stream's flow control, when the client does it (a unary call has none): responses
    /// wait on a window of the size the client offered; reading requests gives credit back in
    /// WINDOW frames.
    fn stream_flow(&self, id: u32) -> Flow {
        let size = self.peer_window.load(Ordering::Acquire);
        if size == 0 {
            return Flow::default();
        }
        let writer = self.writer.clone();
        Flow {
            window: Some(Window::new(size)),
            credit: Some(Credit::new(STREAM_WINDOW, move |n| {
                let writer = writer.clone();
                crate::runtime::handle().spawn(async move {
                    let _ = write_frame(&writer, &frame::window_frame(id, n)).await;
                });
            })),
            tally: Default::default(),
        }
    }

    /// Ends call `id` with `result` (cancelling it if it runs): the STATUS to write.
    pub(super) fn finish(&self, id: u32, result: Result<Bytes>) -> Vec<u8> {
        if let Ok(mut s) = self.streams.lock() {
            if let Some(st) = s.remove(&id) {
                st.cancel.cancel();
                if let Some(flow) = &st.flow {
                    flow.close();
                }
            }
        }
        frame::encode_message_frame(Kind::Status, 0, id, &Trailer::from_result(&result))
    }

    /// Cancels every call still running: the connection has ended.
    pub(super) fn cancel_all(&self) {
        if let Ok(streams) = self.streams.lock() {
            for s in streams.values() {
                s.cancel.cancel();
                if let Some(flow) = &s.flow {
                    flow.close();
                }
            }
        }
    }
}
