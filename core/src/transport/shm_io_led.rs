//! The reading half of an `shm://` server connection for a connection thread
//! ([`super::super::unix_led`]): the thread reads the ring itself and sleeps in `poll` on its
//! eventfd, woken by the client's publish or by the end of the connection (the watcher marks it
//! closed and signals the eventfd); replies go through the runtime's writing half.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::super::lane_pipe::Source;
use super::super::shm_ring::Consumer;
use super::super::wait::{lock, sys};
use super::{corrupt, drain, link_up, signal, Guard, Mapping, ShmWrite};

/// A server connection's halves for a connection thread: the ring read
/// on that thread without the runtime, the replies written through the runtime's half.
pub(in crate::transport) fn halves_led(
    map: Mapping,
    capacity: u32,
    events: [OwnedFd; 4],
    sock: tokio::net::UnixStream,
) -> io::Result<(ShmSyncRead, ShmWrite)> {
    let (up, write) = link_up(map, capacity, events, sock, false)?;
    let read = ShmSyncRead {
        ring: Mutex::new(up.consumer),
        data_in: up.data_in,
        space_in: up.space_in,
        guard: up.guard,
    };
    Ok((read, write))
}

/// The reading half of a led server connection.
pub(in crate::transport) struct ShmSyncRead {
    ring: Mutex<Consumer>,
    data_in: RawFd,
    space_in: RawFd,
    guard: Arc<Guard>,
}

impl Source for ShmSyncRead {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let closed = self.guard.link.closed.load(Ordering::Acquire);
        let (n, wake) = lock(&self.ring).read(buf).map_err(corrupt)?;
        if wake {
            signal(self.space_in);
        }
        match n {
            0 if closed => Ok(0),
            0 => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }

    fn wait(&self, wake: Option<RawFd>, timeout_ms: i32) -> io::Result<(bool, bool)> {
        let ready = |ring: &Consumer| -> io::Result<bool> {
            Ok(ring.available().map_err(corrupt)? > 0
                || self.guard.link.closed.load(Ordering::Acquire))
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
        let [data, woken] = sys::poll_all([self.data_in, wake.unwrap_or(-1)], timeout_ms)?;
        if data {
            drain(self.data_in);
        }
        Ok((data, woken))
    }

    fn shutdown(&self) {
        // SAFETY: a plain call on the socket the link owns.
        unsafe { libc::shutdown(self.guard.link.sock.as_raw_fd(), libc::SHUT_RDWR) };
    }
}
