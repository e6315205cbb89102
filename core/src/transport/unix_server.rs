//! Server side of `unix://`: accepts connections and serves the frames of [`super::frame`].
//! The connection code works on any byte stream; `ws://` runs it over a WebSocket.
//!
//! A connection that breaks the protocol (garbage, unknown kind, oversized or truncated
//! frame, bad handshake) is closed with a logged reason; other connections never notice.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::frame::{
    self, CallHead, CallHeader, Hello, Kind, Trailer, FLAG_END, FLAG_UNARY, HEADER_LEN,
};
use super::{Hold, Service};
use crate::error::{Code, Error, Result};
use crate::metadata::response::ResponseMetadata;
use crate::peer::{Peer, PeerCredentials};

/// Bodies up to this many times the message limit are read and refused with
/// `ResourceExhausted`; larger ones close the connection.
const DRAIN_FACTOR: usize = 4;

/// The reading half of a connection's byte stream.
pub(crate) type BoxRead = Box<dyn AsyncRead + Send + Unpin>;
/// The writing half of a connection's byte stream.
pub(crate) type BoxWrite = Box<dyn AsyncWrite + Send + Unpin>;

pub(super) fn listen(
    path: &Path,
    core: Arc<dyn Service>,
    stop: CancellationToken,
) -> Result<JoinHandle<()>> {
    super::claim_socket_path(path)?;
    let std_listener = std::os::unix::net::UnixListener::bind(path).map_err(|e| {
        Error::new(
            Code::FailedPrecondition,
            format!("cannot listen on {}: {e}", path.display()),
        )
        .with_source(e)
    })?;
    std::fs::set_permissions(
        path,
        std::fs::Permissions::from_mode(core.config().socket_mode),
    )?;
    std_listener.set_nonblocking(true)?;
    let handle = crate::runtime::handle();
    let _enter = handle.enter();
    let listener = UnixListener::from_std(std_listener)?;
    let path = path.to_path_buf();
    Ok(handle.spawn(accept_loop(listener, path, core, stop)))
}

async fn accept_loop(
    listener: UnixListener,
    path: PathBuf,
    core: Arc<dyn Service>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = core.stop().cancelled() => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    let core = core.clone();
                    let cred = stream.peer_cred().ok().map(|c| PeerCredentials::from_ucred(&c));
                    let address = match cred {
                        Some(c) => format!("unix:{}:uid={},gid={},pid={}", path.display(), c.uid, c.gid, c.pid.unwrap_or(0)),
                        None => format!("unix:{}", path.display()),
                    };
                    tokio::spawn(async move {
                        let (r, w) = stream.into_split();
                        let peer = Peer { transport: "unix", address: address.clone(), cred, cert: None };
                        if let Err(reason) = serve_frames(Box::new(r), Box::new(w), core, peer).await {
                            tracing::warn!(peer = %address, %reason, "closing unix connection");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    }
}

struct StreamState {
    cancel: CancellationToken,
    input: Option<mpsc::UnboundedSender<Bytes>>,
}

type Writer = Arc<tokio::sync::Mutex<BoxWrite>>;

struct Connection {
    core: Arc<dyn Service>,
    peer: Peer,
    writer: Writer,
    streams: Arc<Mutex<HashMap<u32, StreamState>>>,
}

pub(super) async fn write_frame(writer: &Writer, bytes: &[u8]) -> std::io::Result<()> {
    let mut w = writer.lock().await;
    w.write_all(bytes).await?;
    // A no-op on a socket; sends the message on a WebSocket.
    w.flush().await
}

async fn read_body(r: &mut BufReader<BoxRead>, len: usize) -> std::io::Result<Bytes> {
    let mut body = BytesMut::zeroed(len);
    r.read_exact(&mut body).await?;
    Ok(body.freeze())
}

async fn skip(r: &mut BufReader<BoxRead>, mut len: usize) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    while len > 0 {
        let n = len.min(buf.len());
        r.read_exact(&mut buf[..n]).await?;
        len -= n;
    }
    Ok(())
}

/// Serves one connection's frames until it ends; `Err` holds why it was closed.
pub(crate) async fn serve_frames(
    r: BoxRead,
    w: BoxWrite,
    core: Arc<dyn Service>,
    peer: Peer,
) -> std::result::Result<(), String> {
    let mut r = BufReader::with_capacity(64 * 1024, r);
    let writer: Writer = Arc::new(tokio::sync::Mutex::new(w));
    let conn = Connection {
        core,
        peer,
        writer,
        streams: Arc::new(Mutex::new(HashMap::new())),
    };
    let result = conn.run(&mut r).await;
    // Whatever ended the connection, every call still running on it is cancelled.
    if let Ok(streams) = conn.streams.lock() {
        for s in streams.values() {
            s.cancel.cancel();
        }
    }
    result
}

impl Connection {
    async fn handshake(&self, r: &mut BufReader<BoxRead>) -> std::result::Result<(), String> {
        let mut hb = [0u8; HEADER_LEN];
        let timeout = std::time::Duration::from_secs(10);
        tokio::time::timeout(timeout, r.read_exact(&mut hb))
            .await
            .map_err(|_| "no HELLO within 10s".to_string())?
            .map_err(|e| format!("handshake: {e}"))?;
        let h = frame::parse_header(&hb).map_err(|e| format!("handshake: {e}"))?;
        if h.kind != Kind::Hello || h.len as usize > 4096 {
            return Err(format!(
                "expected HELLO, got {:?} of {} bytes",
                h.kind, h.len
            ));
        }
        let body = read_body(r, h.len as usize)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let hello = Hello::decode(body).map_err(|e| format!("bad HELLO: {e}"))?;
        if hello.magic != frame::MAGIC {
            return Err(format!("bad magic {:?}", hello.magic));
        }
        let reply = Hello::ours(self.core.config().limits.max_message_bytes);
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
            let _ = write_frame(
                &self.writer,
                &frame::encode_message_frame(Kind::GoAway, 0, 0, &bye),
            )
            .await;
            return Err(format!("client speaks wire version {}", hello.version));
        }
        write_frame(
            &self.writer,
            &frame::encode_message_frame(Kind::Hello, 0, 0, &reply),
        )
        .await
        .map_err(|e| e.to_string())
    }

    async fn run(&self, r: &mut BufReader<BoxRead>) -> std::result::Result<(), String> {
        self.handshake(r).await?;
        let max_body = self.core.config().limits.max_message_bytes + frame::HEADER_SLACK;
        let mut goaway_sent = false;
        // The header being read survives the other branches of the select: `read` is cancel
        // safe (a branch that wins reads nothing), and what it read is kept in `hb`/`filled`,
        // so a GOAWAY sent in the middle of a header never loses its first bytes.
        let mut hb = [0u8; HEADER_LEN];
        let mut filled = 0;
        loop {
            tokio::select! {
                r = r.read(&mut hb[filled..]) => match r {
                    Ok(0) if filled == 0 => return Ok(()),
                    Ok(0) => return Err(format!("truncated frame header ({filled} bytes)")),
                    Ok(n) => filled += n,
                    Err(e) => return Err(format!("read: {e}")),
                },
                _ = self.core.drain().cancelled(), if !goaway_sent => {
                    goaway_sent = true;
                    let bye = Trailer { code: Code::Unavailable.as_i32(), message: "server is shutting down".into(), ..Trailer::default() };
                    let _ = write_frame(&self.writer, &frame::encode_message_frame(Kind::GoAway, 0, 0, &bye)).await;
                    continue;
                }
                _ = self.core.stop().cancelled() => return Ok(()),
            }
            if filled < HEADER_LEN {
                continue;
            }
            filled = 0;
            let h = frame::parse_header(&hb).map_err(|e| e.to_string())?;
            let len = h.len as usize;
            if len > max_body {
                if len > max_body * DRAIN_FACTOR
                    || !matches!(h.kind, Kind::Call | Kind::Message)
                    || h.stream == 0
                {
                    return Err(format!(
                        "{:?} frame of {len} bytes is over any limit",
                        h.kind
                    ));
                }
                // A CALL's head (method, metadata) comes before its payload: keep it for the
                // audit line.
                let keep = if h.kind == Kind::Call {
                    frame::HEADER_SLACK
                } else {
                    0
                };
                let prefix = read_body(r, keep.min(len))
                    .await
                    .map_err(|e| format!("read: {e}"))?;
                skip(r, len - prefix.len())
                    .await
                    .map_err(|e| format!("read: {e}"))?;
                let err = Error::resource_exhausted(
                    "MESSAGE_TOO_LARGE",
                    format!(
                        "message of {len} bytes exceeds the limit of {} bytes",
                        self.core.config().limits.max_message_bytes
                    ),
                );
                if let Some(head) = frame::call_head_prefix(&prefix) {
                    self.core.refused(&head, &self.peer, &err);
                }
                self.finish(h.stream, Err(err)).await;
                continue;
            }
            let body = tokio::select! {
                b = read_body(r, len) => b.map_err(|e| format!("truncated frame: {e}"))?,
                // A hard stop ends the connection: the rest of the frame no longer matters.
                _ = self.core.stop().cancelled() => return Ok(()),
            };
            self.frame(h, body).await?;
        }
    }

    async fn frame(&self, h: frame::Header, body: Bytes) -> std::result::Result<(), String> {
        match h.kind {
            Kind::Call => {
                if h.stream == 0 || h.stream % 2 == 0 {
                    return Err(format!("CALL on invalid stream id {}", h.stream));
                }
                let header =
                    CallHeader::decode(body).map_err(|e| format!("bad CALL header: {e}"))?;
                match CallHead::from_header(header) {
                    Ok((head, payload)) => {
                        self.open(h.stream, h.flags & FLAG_UNARY != 0, head, payload)
                            .await
                    }
                    Err(e) => {
                        self.finish(h.stream, Err(e)).await;
                        Ok(())
                    }
                }
            }
            Kind::Message => {
                let mut streams = self.streams.lock().map_err(|_| "poisoned".to_string())?;
                if let Some(s) = streams.get_mut(&h.stream) {
                    if let Some(input) = &s.input {
                        let _ = input.send(body);
                    }
                    if h.flags & FLAG_END != 0 {
                        s.input = None;
                    }
                }
                Ok(())
            }
            Kind::End => {
                if let Some(s) = self
                    .streams
                    .lock()
                    .map_err(|_| "poisoned".to_string())?
                    .get_mut(&h.stream)
                {
                    s.input = None;
                }
                Ok(())
            }
            Kind::Cancel => {
                if let Some(s) = self
                    .streams
                    .lock()
                    .map_err(|_| "poisoned".to_string())?
                    .get(&h.stream)
                {
                    s.cancel.cancel();
                }
                Ok(())
            }
            Kind::Hello | Kind::Status | Kind::GoAway => {
                Err(format!("unexpected {:?} frame from a client", h.kind))
            }
        }
    }

    async fn open(
        &self,
        id: u32,
        unary: bool,
        head: CallHead,
        payload: Bytes,
    ) -> std::result::Result<(), String> {
        let cancel = self.core.stop().child_token();
        let (input_tx, input_rx) = mpsc::unbounded_channel();
        let full = {
            let mut streams = self.streams.lock().map_err(|_| "poisoned".to_string())?;
            if streams.contains_key(&id) {
                return Err(format!("stream id {id} reused while open"));
            }
            let full = streams.len() >= self.core.config().limits.max_concurrent_per_connection;
            if !full {
                streams.insert(
                    id,
                    StreamState {
                        cancel: cancel.clone(),
                        input: (!unary).then_some(input_tx),
                    },
                );
            }
            full
        };
        if full {
            let err = Error::resource_exhausted(
                "TOO_MANY_CALLS",
                format!(
                    "connection has the most calls in flight allowed ({})",
                    self.core.config().limits.max_concurrent_per_connection
                ),
            );
            let bytes =
                frame::encode_message_frame(Kind::Status, 0, id, &Trailer::from_result(&Err(err)));
            return write_frame(&self.writer, &bytes)
                .await
                .map_err(|e| e.to_string());
        }
        let core = self.core.clone();
        let peer = self.peer.clone();
        let writer = self.writer.clone();
        let streams = self.streams.clone();
        // Until the reply is written the call counts as in flight: a graceful shutdown waits
        // for it instead of closing the connection under it.
        let writing = Hold::new(&core);
        if unary {
            tokio::spawn(async move {
                let _writing = writing;
                let response = Arc::new(ResponseMetadata::default());
                let result = core
                    .unary(head, payload, &peer, cancel, response.clone())
                    .await;
                if let Ok(mut s) = streams.lock() {
                    s.remove(&id);
                }
                let trailer = Trailer::from_result(&result).with_metadata(response.take_all());
                let bytes = frame::encode_message_frame(Kind::Status, 0, id, &trailer);
                let _ = write_frame(&writer, &bytes).await;
            });
        } else {
            tokio::spawn(async move {
                let _writing = writing;
                let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Bytes>();
                let response = Arc::new(ResponseMetadata::default());
                let run = core.stream(head, &peer, cancel, (input_rx, out_tx), response.clone());
                tokio::pin!(run);
                let result = loop {
                    tokio::select! {
                        biased;
                        Some(b) = out_rx.recv() => {
                            let _ = write_frame(&writer, &frame::encode_frame(Kind::Message, 0, id, &b)).await;
                        }
                        r = &mut run => break r,
                    }
                };
                while let Ok(b) = out_rx.try_recv() {
                    let _ =
                        write_frame(&writer, &frame::encode_frame(Kind::Message, 0, id, &b)).await;
                }
                if let Ok(mut s) = streams.lock() {
                    s.remove(&id);
                }
                // v1 has no frame for headers: a stream's headers come with its STATUS too.
                let status = result.map(|_| Bytes::new());
                let trailer = Trailer::from_result(&status).with_metadata(response.take_all());
                let _ = write_frame(
                    &writer,
                    &frame::encode_message_frame(Kind::Status, 0, id, &trailer),
                )
                .await;
            });
        }
        Ok(())
    }

    async fn finish(&self, id: u32, result: Result<Bytes>) {
        if let Ok(mut s) = self.streams.lock() {
            if let Some(st) = s.remove(&id) {
                st.cancel.cancel();
            }
        }
        let bytes =
            frame::encode_message_frame(Kind::Status, 0, id, &Trailer::from_result(&result));
        let _ = write_frame(&self.writer, &bytes).await;
    }
}
