//! `shm://NAME`: the local wire protocol of [`super::frame`] over shared memory, between the
//! processes of one machine (`docs/transports.md`, layout and handshake in `docs/wire.md`).
//!
//! The server listens on a unix socket named after NAME in the user's runtime directory
//! ([`socket_path`]). For each connection it creates a sealed memfd holding two byte rings
//! ([`super::shm_ring`]) and four eventfds, and passes them to the client with `SCM_RIGHTS`;
//! the socket then only tells each side when the other is gone. The peer's identity is the
//! socket's `SO_PEERCRED`, as on `unix://`, so the security policy applies unchanged; above
//! the rings, calls, streams, limits and drain are the unix transport's own code.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::UnixStream;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::keepalive::Keepalive;
use super::local_dir;
use super::shm_io::{halves, halves_led, ShmSyncRead, ShmWrite};
use super::shm_sys::{self, FDS};
use super::unix_client::UnixClient;
use super::unix_server::{accept_each, bind, peer, serve_frames};
use super::unix_sync::SyncLane;
use super::ws::failed;
use super::Service;
use crate::error::Result;
use crate::limits::Limits;

/// Each ring's size: a 64 KiB message and its frame header fit many times over.
pub(super) const CAPACITY: u32 = 1 << 20;
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The directory of named `shm://` sockets: `shm` in [`local_dir::base`].
pub(super) fn socket_dir() -> PathBuf {
    local_dir::base().join("shm")
}

/// The socket of `shm://NAME` (in [`socket_dir`]) or of `shm:///absolute/path.sock`.
pub(super) fn socket_path(name: &str) -> PathBuf {
    if name.starts_with('/') {
        PathBuf::from(name)
    } else {
        socket_dir().join(format!("{name}.sock"))
    }
}

/// Whether `name` is a valid `shm://` NAME (or an absolute path).
pub(super) fn valid_name(name: &str) -> bool {
    name.starts_with('/') || local_dir::valid_name(name)
}

/// Listens on `shm://name`; the listener removes its socket file when it closes.
pub(super) fn listen(
    name: &str,
    core: Arc<dyn Service>,
    stop: CancellationToken,
) -> Result<(PathBuf, JoinHandle<()>)> {
    let path = socket_path(name);
    if !name.starts_with('/') {
        local_dir::own_dir(&socket_dir())?;
    }
    let listener = bind(&path, &*core)?;
    let at = path.clone();
    let task = crate::runtime::handle().spawn(async move {
        accept_each(&listener, &core, &stop, |s| serve(s, core.clone(), &at)).await;
    });
    Ok((path, task))
}

/// Serves each connection: the handshake, then the unix transport's frames over the rings.
fn serve(stream: UnixStream, core: Arc<dyn Service>, path: &Path) {
    let peer = peer(&stream, "shm", path);
    tokio::spawn(async move {
        let address = peer.address.clone();
        // A thread of its own reads the ring and runs ready handlers (one wake-up a call), as
        // for unix://; else the runtime serves the connection.
        let led = super::unix_led::can_lead();
        let result = match accept(stream, led).await {
            Ok(Accepted::Led(r, w)) => {
                super::unix_led::lead_with(Box::new(r), Box::new(w), &core, peer);
                Ok(())
            }
            Ok(Accepted::Runtime(r, w)) => serve_frames(Box::new(r), Box::new(w), core, peer).await,
            Err(e) => Err(format!("shared memory handshake: {e}")),
        };
        if let Err(reason) = result {
            tracing::warn!(peer = %address, %reason, "closing shm connection");
        }
    });
}

/// A connection's halves, for the runtime or for a connection thread.
enum Accepted {
    Runtime(super::shm_io::ShmRead, ShmWrite),
    Led(ShmSyncRead, ShmWrite),
}

/// The server's side of the handshake: fresh rings and eventfds, sent to the client.
async fn accept(stream: UnixStream, led: bool) -> std::io::Result<Accepted> {
    let (memfd, map) = shm_sys::create(CAPACITY)?;
    map.region().init(CAPACITY);
    let events = [
        shm_sys::eventfd()?,
        shm_sys::eventfd()?,
        shm_sys::eventfd()?,
        shm_sys::eventfd()?,
    ];
    let mut fds = [memfd.as_raw_fd(); FDS];
    for (slot, fd) in fds[1..].iter_mut().zip(&events) {
        *slot = fd.as_raw_fd();
    }
    let sock = stream.as_raw_fd();
    let send = stream.async_io(Interest::WRITABLE, || shm_sys::send_fds(sock, &fds));
    tokio::time::timeout(HANDSHAKE, send)
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)??;
    if led {
        let (r, w) = halves_led(map, CAPACITY, events, stream)?;
        return Ok(Accepted::Led(r, w));
    }
    let (r, w) = halves(map, CAPACITY, events, stream, false)?;
    Ok(Accepted::Runtime(r, w))
}

/// Connects to `shm://name` and speaks the frame protocol over the rings the server sends.
pub(crate) async fn connect(
    name: &str,
    limits: &Limits,
    ka: Option<Keepalive>,
) -> Result<UnixClient> {
    let uri = format!("shm://{name}");
    let path = socket_path(name);
    let stream = UnixStream::connect(&path)
        .await
        .map_err(|e| failed(&uri, &format!("{}: {e}", path.display())))?;
    let (r, w) = handshake(stream).await.map_err(|e| failed(&uri, &e))?;
    // Blocking callers make their calls over a second connection of their own (zero hops).
    let lane = Arc::new(SyncLane::shm(&path, &uri, limits));
    UnixClient::over(Box::new(r), Box::new(w), uri, limits, ka, Some(lane)).await
}

/// The client's side: the server's fds, checked before the memory is used.
async fn handshake(stream: UnixStream) -> std::io::Result<(super::shm_io::ShmRead, ShmWrite)> {
    let sock = stream.as_raw_fd();
    let recv = stream.async_io(Interest::READABLE, || shm_sys::recv_fds(sock));
    let fds = tokio::time::timeout(HANDSHAKE, recv)
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)??;
    let mut fds = fds.into_iter();
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "missing fds");
    let memfd: OwnedFd = fds.next().ok_or_else(bad)?;
    let events: [OwnedFd; 4] = fds.collect::<Vec<_>>().try_into().map_err(|_| bad())?;
    let map = shm_sys::open(&memfd)?;
    let capacity = map
        .region()
        .check()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    halves(map, capacity, events, stream, true)
}
