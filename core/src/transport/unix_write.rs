//! The writing half of a thread-led `unix://` connection ([`super::unix_led`]): it writes straight
//! to the socket and joins the runtime's reactor only while the socket is full.
//!
//! A socket the reactor watches wakes a runtime thread for every frame that arrives (readable)
//! and, once a write has been waited for, for every reply the peer reads (writable again). A led
//! connection's frames are read by a thread of its own, not by the reactor, so those wake-ups
//! were pure cost: a thread switch on the server for every call. Here the socket is out of the
//! reactor; when a write finds it full, the writer registers a duplicate of its descriptor for
//! writability only, waits, and deregisters once a write goes through.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::AsyncWrite;

use super::wait::sys;

/// A non-blocking unix socket written without the reactor until it is full (see the module
/// docs).
pub(super) struct SockWrite {
    sock: UnixStream,
    /// While the socket is full: its descriptor, registered for writability.
    full: Option<AsyncFd<OwnedFd>>,
}

impl SockWrite {
    /// Writes to `sock`, which must be in non-blocking mode.
    pub(super) fn new(sock: UnixStream) -> SockWrite {
        SockWrite { sock, full: None }
    }
}

impl AsyncWrite for SockWrite {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            match sys::send(this.sock.as_raw_fd(), buf) {
                Ok(n) => {
                    // Out of the reactor again.
                    this.full = None;
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if this.full.is_none() {
                        let fd = this.sock.as_fd().try_clone_to_owned()?;
                        // The writer may run on a thread outside the runtime (a binding's, a
                        // connection's own): registering needs its reactor.
                        let _enter = crate::runtime::handle().enter();
                        // Registered while full: a socket that became writable meanwhile is
                        // reported at once.
                        this.full = Some(sys::writable(fd)?);
                    }
                    let Some(full) = this.full.as_ref() else {
                        continue;
                    };
                    match full.poll_write_ready(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(mut ready)) => ready.clear_ready(),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    }
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(match self.sock.shutdown(std::net::Shutdown::Write) {
            Err(e) if e.kind() != io::ErrorKind::NotConnected => Err(e),
            _ => Ok(()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use tokio::io::AsyncWriteExt;

    /// A write larger than the socket's buffer waits in the reactor while the peer is slow,
    /// and goes on as the peer reads: every byte arrives, in order.
    #[test]
    fn a_full_socket_waits_for_the_peer() {
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let mut w = SockWrite::new(a);
        let data: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let expect = data.clone();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut chunk = [0u8; 8192];
            while got.len() < expect.len() {
                std::thread::sleep(std::time::Duration::from_micros(50));
                let n = b.read(&mut chunk).unwrap();
                assert!(n > 0, "the writer closed early");
                got.extend_from_slice(&chunk[..n]);
            }
            assert!(got == expect, "the bytes arrived changed");
        });
        crate::runtime::handle().block_on(async {
            w.write_all(&data).await.unwrap();
            w.shutdown().await.unwrap();
        });
        assert!(
            w.full.is_none(),
            "the writer left the reactor after its last write"
        );
        reader.join().unwrap();
    }
}
