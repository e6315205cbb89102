//! The byte channel under a blocking lane ([`super::unix_sync`]): a unix socket (`unix://`), or
//! the two rings of a connection of its own to an `shm://` server. The lane reads and writes
//! frames through it on the caller's thread, with no runtime: a reply over shared memory wakes
//! the caller itself (its `poll` on the ring's eventfd), as a reply on a socket does.
//!
//! An shm pipe is set up like the runtime's shm connection (the server's fds over the socket,
//! checked before use; [`super::shm`]) and treats the peer as untrusted the same way: the rings
//! check every position they read, and a bad one ends the connection.

use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::shm_ring::{Consumer, Producer, RingError};
use super::shm_sys::{self, drain, signal, Mapping};
use super::wait::{lock, sys};

/// How long a handshake may take.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// A lane's channel.
pub(super) enum Pipe {
    Unix(UnixStream),
    Shm(Box<ShmPipe>),
}

/// One shm connection, read and written by blocking callers.
pub(super) struct ShmPipe {
    /// Ring 1, with its data (waited on) and space (signalled) eventfds.
    rx: RingIn,
    tx: Mutex<Producer>,
    /// Ring 0's data (ours to signal after a write) and space (ours to wait on when it is
    /// full).
    data_out: RawFd,
    space_out: RawFd,
    /// The socket the connection was set up on: its end is the server's.
    sock: UnixStream,
    _events: [OwnedFd; 4],
    /// Last: the rings point into it.
    _map: Mapping,
}

fn corrupt(e: RingError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl Pipe {
    /// A unix socket, connected, its handshake reads bounded by [`HANDSHAKE`].
    pub(super) fn unix(path: &Path) -> io::Result<Pipe> {
        let sock = UnixStream::connect(path)?;
        sock.set_read_timeout(Some(HANDSHAKE))?;
        Ok(Pipe::Unix(sock))
    }

    /// A new shm connection to the server listening on `path`: its rings and eventfds.
    pub(super) fn shm(path: &Path) -> io::Result<Pipe> {
        let sock = UnixStream::connect(path)?;
        sock.set_read_timeout(Some(HANDSHAKE))?;
        let mut fds = shm_sys::recv_fds(sock.as_raw_fd())?.into_iter();
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "missing fds");
        let memfd: OwnedFd = fds.next().ok_or_else(bad)?;
        let events: [OwnedFd; 4] = fds.collect::<Vec<_>>().try_into().map_err(|_| bad())?;
        let map = shm_sys::open(&memfd)?;
        let region = map.region();
        let capacity = region.check().map_err(corrupt)?;
        // The client reads ring 1 and writes ring 0.
        let rx = region.consumer(1, capacity).map_err(corrupt)?;
        let tx = region.producer(0, capacity).map_err(corrupt)?;
        sock.set_nonblocking(true)?;
        let ev = |i: usize| events[i].as_raw_fd();
        Ok(Pipe::Shm(Box::new(ShmPipe {
            rx: RingIn::new(rx, ev(2), ev(3)),
            tx: Mutex::new(tx),
            data_out: ev(0),
            space_out: ev(1),
            sock,
            _events: events,
            _map: map,
        })))
    }

    /// The handshake is over: reads wait only as long as the caller does.
    pub(super) fn handshaken(&self) -> io::Result<()> {
        match self {
            Pipe::Unix(sock) => sock.set_read_timeout(None),
            Pipe::Shm(_) => Ok(()),
        }
    }

    /// Writes `parts` one after the other (one `writev` on a socket).
    pub(super) fn write_all(&self, parts: &[&[u8]]) -> io::Result<()> {
        match self {
            Pipe::Unix(sock) => write_all_vectored(sock, parts),
            Pipe::Shm(p) => p.write_all(parts),
        }
    }

    /// What is there to read: `Ok(0)` at the end, `WouldBlock` when nothing came yet. The
    /// first `n` bytes of `buf` are initialized when it returns `n`.
    pub(super) fn read(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        match self {
            Pipe::Unix(sock) => sys::read(sock.as_raw_fd(), buf),
            Pipe::Shm(p) => p.read(buf),
        }
    }

    /// Reads exactly `buf.len()` bytes, waiting up to [`HANDSHAKE`] for each (the handshake).
    pub(super) fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        let mut at = 0;
        while at < buf.len() {
            match self.read(sys::as_uninit(&mut buf[at..])) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let wait = HANDSHAKE.as_millis() as i32;
                    if !self.wait(None, wait)?.0 {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Waits up to `timeout_ms` (-1: for ever; 0: only looks) until there is something to read
    /// (true) or `wake` is readable (the second flag).
    pub(super) fn wait(&self, wake: Option<RawFd>, timeout_ms: i32) -> io::Result<(bool, bool)> {
        let wake = wake.unwrap_or(-1);
        match self {
            Pipe::Unix(sock) => sys::poll2(sock.as_raw_fd(), wake, timeout_ms),
            Pipe::Shm(p) => p.wait(wake, timeout_ms),
        }
    }

    /// Shuts the connection: the server sees its end.
    pub(super) fn shutdown(&self) {
        let sock = match self {
            Pipe::Unix(sock) => sock,
            Pipe::Shm(p) => &p.sock,
        };
        let _ = sock.shutdown(std::net::Shutdown::Both);
    }
}

/// What a reader on a thread of its own needs of a connection (a lane's [`Pipe`], a led
/// server connection's socket or shm ring): bytes, a wait for more, and the end.
pub(super) trait Source: Send + Sync {
    /// What is there to read: `Ok(0)` at the end, `WouldBlock` when nothing came yet; the first
    /// `n` bytes of `buf` are initialized when it returns `n`.
    fn read(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize>;
    /// Waits up to `timeout_ms` (-1: for ever; 0: only looks) until there is something to read
    /// (true) or `wake` is readable (the second flag).
    fn wait(&self, wake: Option<RawFd>, timeout_ms: i32) -> io::Result<(bool, bool)>;
    /// Shuts the connection: the peer sees its end.
    fn shutdown(&self);
    /// The descriptor that [`wait`](Source::wait) polls, when it is one (a socket) and another
    /// thread may poll it with others ([`unix_led`](super::unix_led)'s host).
    fn fd(&self) -> Option<RawFd> {
        None
    }
}

impl Source for Pipe {
    fn read(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        Pipe::read(self, buf)
    }

    fn wait(&self, wake: Option<RawFd>, timeout_ms: i32) -> io::Result<(bool, bool)> {
        Pipe::wait(self, wake, timeout_ms)
    }

    fn shutdown(&self) {
        Pipe::shutdown(self)
    }

    fn fd(&self) -> Option<RawFd> {
        match self {
            Pipe::Unix(sock) => Some(sock.as_raw_fd()),
            _ => None,
        }
    }
}

impl ShmPipe {
    /// Whether the server ended the connection (its socket's end, or a stray byte on it).
    fn ended(&self) -> bool {
        let mut byte = [0u8; 1];
        !matches!((&self.sock).read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Writes `parts` one after the other under one hold of the ring, and wakes the server
    /// once, after the last byte (or before it sleeps for room).
    fn write_all(&self, parts: &[&[u8]]) -> io::Result<()> {
        let mut tx = lock(&self.tx);
        let mut wake = false;
        for mut bytes in parts.iter().copied() {
            while !bytes.is_empty() {
                let (n, wanted) = tx.write(bytes).map_err(corrupt)?;
                wake |= wanted;
                bytes = &bytes[n..];
                if n > 0 {
                    continue;
                }
                if std::mem::take(&mut wake) {
                    signal(self.data_out);
                }
                // The ring is full: sleep until the server frees space (or goes).
                tx.arm();
                if tx.free().map_err(corrupt)? > 0 {
                    continue;
                }
                let [space, gone] = sys::poll_all([self.space_out, self.sock.as_raw_fd()], -1)?;
                if gone && self.ended() {
                    return Err(io::ErrorKind::BrokenPipe.into());
                }
                if space {
                    drain(self.space_out);
                }
            }
        }
        if wake {
            signal(self.data_out);
        }
        Ok(())
    }

    fn read(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        self.rx.read(buf, || self.ended())
    }

    fn wait(&self, wake: RawFd, timeout_ms: i32) -> io::Result<(bool, bool)> {
        // The socket's end wakes the poll; `read` then tells the end apart.
        self.rx
            .wait(self.sock.as_raw_fd(), wake, timeout_ms, || false)
    }
}

/// The reading end of an shm ring for a thread that reads it itself, with no runtime (a lane's
/// reply ring, a led server connection's call ring): its bytes, and a wait on its eventfd.
pub(super) struct RingIn {
    ring: Mutex<Consumer>,
    /// Written by the other side after it publishes while this side waits.
    data: RawFd,
    /// Signalled after a read when the other side waits for room.
    space: RawFd,
}

impl RingIn {
    pub(super) fn new(ring: Consumer, data: RawFd, space: RawFd) -> RingIn {
        RingIn {
            ring: Mutex::new(ring),
            data,
            space,
        }
    }

    /// What is there to read: `Ok(0)` once `ended()` says the writer is gone and every byte it
    /// published was read, `WouldBlock` while nothing came.
    pub(super) fn read(
        &self,
        buf: &mut [MaybeUninit<u8>],
        ended: impl Fn() -> bool,
    ) -> io::Result<usize> {
        let (n, wake) = lock(&self.ring).read_uninit(buf).map_err(corrupt)?;
        if wake {
            signal(self.space);
        }
        if n > 0 {
            return Ok(n);
        }
        if ended() && lock(&self.ring).available().map_err(corrupt)? == 0 {
            return Ok(0);
        }
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// Waits up to `timeout_ms` (-1: for ever; 0: only looks, no system call) until the ring
    /// has bytes, `ended()` holds or `also` is readable (the first flag), or `wake` is readable
    /// (the second). `also` and `wake` may be -1.
    pub(super) fn wait(
        &self,
        also: RawFd,
        wake: RawFd,
        timeout_ms: i32,
        ended: impl Fn() -> bool,
    ) -> io::Result<(bool, bool)> {
        let ready = |ring: &Consumer| -> io::Result<bool> {
            Ok(ring.available().map_err(corrupt)? > 0 || ended())
        };
        let ring = lock(&self.ring);
        if ready(&ring)? {
            return Ok((true, false));
        }
        if timeout_ms == 0 {
            return Ok((false, false));
        }
        ring.arm();
        if ready(&ring)? {
            return Ok((true, false));
        }
        drop(ring);
        let [data, other, woken] = sys::poll_all([self.data, also, wake], timeout_ms)?;
        if data {
            drain(self.data);
        }
        Ok((data || other, woken))
    }
}

/// `parts` written whole to `sock`, with as few `writev` calls as it takes.
fn write_all_vectored(sock: &UnixStream, parts: &[&[u8]]) -> io::Result<()> {
    let mut slices: Vec<io::IoSlice<'_>> = parts.iter().map(|b| io::IoSlice::new(b)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match (&*sock).write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
