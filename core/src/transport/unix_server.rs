//! Server side of `unix://`: accepts connections and serves the frames of [`super::frame`].
//! The connection code works on any byte stream; `ws://` runs it over a WebSocket.
//!
//! A connection that breaks the protocol (garbage, unknown kind, oversized or truncated
//! frame, bad handshake) is closed with a logged reason; other connections never notice.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::frame::{self, Kind, HEADER_LEN};
use super::unix_conn::{Connection, Step, Writer};
use super::Service;
use crate::error::{Code, Error, Result};
use crate::peer::{Peer, PeerCredentials};

/// The reading half of a connection's byte stream.
pub(crate) type BoxRead = Box<dyn AsyncRead + Send + Unpin>;
/// The writing half of a connection's byte stream.
pub(crate) type BoxWrite = Box<dyn AsyncWrite + Send + Unpin>;

pub(super) fn listen(
    path: &Path,
    core: Arc<dyn Service>,
    stop: CancellationToken,
) -> Result<JoinHandle<()>> {
    let listener = bind(path, &*core)?;
    let path = path.to_path_buf();
    Ok(crate::runtime::handle().spawn(accept_loop(listener, path, core, stop)))
}

/// A listening socket at `path` (a stale socket file replaced), with the server's socket mode.
pub(super) fn bind(path: &Path, core: &dyn Service) -> Result<UnixListener> {
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
    let _enter = crate::runtime::handle().enter();
    Ok(UnixListener::from_std(std_listener)?)
}

/// Who is on the other end of an accepted socket (`SO_PEERCRED`), for the security policy.
pub(super) fn peer(stream: &tokio::net::UnixStream, transport: &'static str, path: &Path) -> Peer {
    let cred = stream
        .peer_cred()
        .ok()
        .map(|c| PeerCredentials::from_ucred(&c));
    let address = match cred {
        Some(c) => format!(
            "{transport}:{}:uid={},gid={},pid={}",
            path.display(),
            c.uid,
            c.gid,
            c.pid.unwrap_or(0)
        ),
        None => format!("{transport}:{}", path.display()),
    };
    let mut peer = Peer::new(transport, address);
    peer.set_cred(cred);
    peer
}

async fn accept_loop(
    listener: UnixListener,
    path: PathBuf,
    core: Arc<dyn Service>,
    stop: CancellationToken,
) {
    accept_each(&listener, &core, &stop, |stream| {
        let core = core.clone();
        let peer = peer(&stream, "unix", &path);
        let address = peer.address.clone();
        // A connection of its own thread, where it can have one (see `unix_led`).
        let Some((stream, peer)) = super::unix_led::lead(stream, &core, peer) else {
            return;
        };
        tokio::spawn(async move {
            let (r, w) = stream.into_split();
            if let Err(reason) = serve_frames(Box::new(r), Box::new(w), core, peer).await {
                tracing::warn!(peer = %address, %reason, "closing unix connection");
            }
        });
    })
    .await;
}

/// Hands each accepted connection to `serve` until `stop` or the server's stop.
pub(super) async fn accept_each(
    listener: &UnixListener,
    core: &Arc<dyn Service>,
    stop: &CancellationToken,
    mut serve: impl FnMut(tokio::net::UnixStream),
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = core.stop().cancelled() => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => serve(stream),
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    }
}

pub(super) async fn write_frame(writer: &Writer, bytes: &[u8]) -> std::io::Result<()> {
    write_frame_parts(writer, &[bytes]).await
}

/// Writes `parts` (one frame or more, in pieces) one after the other, no other frame between.
pub(super) async fn write_frame_parts(writer: &Writer, parts: &[&[u8]]) -> std::io::Result<()> {
    let mut w = writer.lock().await;
    for part in parts.iter().filter(|p| !p.is_empty()) {
        w.write_all(part).await?;
    }
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
    let conn = Connection::new(core, peer, Arc::new(tokio::sync::Mutex::new(w)));
    let result = run(&conn, &mut r).await;
    // Whatever ended the connection, every call still running on it is cancelled.
    conn.cancel_all();
    result
}

async fn handshake(
    conn: &Connection,
    r: &mut BufReader<BoxRead>,
) -> std::result::Result<(), String> {
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
    let reply = match conn.hello(body) {
        Ok(reply) => reply,
        Err((bye, why)) => {
            if !bye.is_empty() {
                let _ = write_frame(&conn.writer, &bye).await;
            }
            return Err(why);
        }
    };
    write_frame(&conn.writer, &reply)
        .await
        .map_err(|e| e.to_string())
}

async fn run(conn: &Connection, r: &mut BufReader<BoxRead>) -> std::result::Result<(), String> {
    handshake(conn, r).await?;
    let ended = CancellationToken::new();
    let _ended = ended.clone().drop_guard();
    let dead = CancellationToken::new();
    let dying = dead.clone();
    conn.keepalive(ended, move || dying.cancel());
    let core = &conn.core;
    let max_body = conn.max_body();
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
            _ = core.drain().cancelled(), if !goaway_sent => {
                goaway_sent = true;
                let _ = write_frame(&conn.writer, &Connection::goaway()).await;
                continue;
            }
            _ = core.stop().cancelled() => return Ok(()),
            _ = dead.cancelled() => return Err("keepalive: no answer to a PING".to_string()),
        }
        if filled < HEADER_LEN {
            continue;
        }
        filled = 0;
        let h = frame::parse_header(&hb).map_err(|e| e.to_string())?;
        let len = h.len as usize;
        if len > max_body {
            let keep = conn.oversized(&h)?;
            let prefix = read_body(r, keep).await.map_err(|e| format!("read: {e}"))?;
            skip(r, len - keep)
                .await
                .map_err(|e| format!("read: {e}"))?;
            let _ = write_frame(&conn.writer, &conn.too_large(&h, &prefix)).await;
            continue;
        }
        let body = tokio::select! {
            b = read_body(r, len) => b.map_err(|e| format!("truncated frame: {e}"))?,
            // A hard stop ends the connection: the rest of the frame no longer matters.
            _ = core.stop().cancelled() => return Ok(()),
        };
        let refusal = match conn.step(h, body)? {
            Step::Done => None,
            Step::Write(bytes) => Some(bytes),
            Step::Open(call) => conn.open(call, |task| {
                tokio::spawn(task);
            })?,
        };
        if let Some(bytes) = refusal {
            let _ = write_frame(&conn.writer, &bytes).await;
        }
    }
}
