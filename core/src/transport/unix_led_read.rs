//! A led connection's reading (`unix_led`): whole frames from the socket, polled for a while
//! before the thread blocks when calls come close together ([`SpinGauge`](super::super::wait::SpinGauge)),
//! an oversized frame refused and skipped without buffering it, a draining server's GOAWAY sent
//! between frames; the host's thread ([`super::host`]) takes what is there without waiting.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};

use super::super::frame::{self, Kind, HEADER_LEN};
use super::super::unix_conn::Connection;
use super::super::wait::sys::read_into;
use super::{Led, Reading};

/// The least a read asks for: a reader keeps up with many small frames in one read.
const CHUNK: usize = 16 * 1024;
use crate::call::JustWait;

/// How [`Led::fill`] waits for bytes.
#[derive(Clone, Copy)]
pub(super) enum Wait {
    /// A serving reader: polls a while when calls come close together, then blocks; gives the
    /// reading up when the connection's host asks for it.
    Serve,
    /// The handshake: blocks until the deadline.
    Until(Instant),
    /// The host's thread: takes what is there and never waits.
    Not,
}

/// What [`Led::fill`] and [`Led::next`] found.
pub(super) enum Got<T> {
    Ready(T),
    /// The connection ended between frames, or the server stopped.
    End,
    /// Not all of it is there yet (only with [`Wait::Not`]).
    NotYet,
    /// The host's thread asked for the reading (only with [`Wait::Serve`]).
    Yield,
}

impl Led {
    /// The next whole frame.
    pub(super) fn next(
        &self,
        reading: &mut Reading,
        wait: Wait,
    ) -> Result<Got<(frame::Header, Bytes)>, String> {
        let max_body = self.conn.max_body();
        loop {
            match self.fill(reading, HEADER_LEN, wait)? {
                Got::Ready(()) => {}
                Got::End => return Ok(Got::End),
                Got::NotYet => return Ok(Got::NotYet),
                Got::Yield => return Ok(Got::Yield),
            }
            let h = frame::peek_header(&reading.buf).map_err(|e| e.to_string())?;
            let len = h.len as usize;
            let keep = if len <= max_body {
                len
            } else {
                self.conn.oversized(&h)?
            };
            match self.fill(reading, HEADER_LEN + keep, wait)? {
                Got::Ready(()) => {}
                Got::End => return Ok(Got::End),
                Got::NotYet => return Ok(Got::NotYet),
                Got::Yield => return Ok(Got::Yield),
            }
            if len <= max_body {
                return Ok(Got::Ready((h, frame::split_frame(&mut reading.buf, len))));
            }
            let prefix = frame::split_frame(&mut reading.buf, keep);
            reading.skip = len - keep;
            let now = reading.skip.min(reading.buf.len());
            reading.buf.advance(now);
            reading.skip -= now;
            self.write(&self.conn.too_large(&h, &prefix));
        }
    }

    /// Reads until `need` bytes are buffered. A draining server's GOAWAY is sent from here.
    pub(super) fn fill(
        &self,
        reading: &mut Reading,
        need: usize,
        wait: Wait,
    ) -> Result<Got<()>, String> {
        let core = &self.conn.core;
        // While serving, a reader polls the socket for a while before it blocks (see
        // `SpinGauge`); the handshake just waits.
        let mut waiting: Option<(Instant, Instant)> = None;
        let mut looked = false;
        loop {
            if reading.skip == 0 && reading.buf.len() >= need {
                if let Some((since, _)) = waiting {
                    self.gauge.record(since.elapsed());
                }
                return Ok(Got::Ready(()));
            }
            if core.stop().is_cancelled() {
                return Ok(Got::End);
            }
            if !matches!(wait, Wait::Until(_))
                && !reading.goaway_sent
                && core.drain().is_cancelled()
            {
                reading.goaway_sent = true;
                self.write(&Connection::goaway());
            }
            let now = Instant::now();
            let (_, spin_until) = *waiting.get_or_insert_with(|| match wait {
                Wait::Serve if reading.poll_next => (now, self.gauge.until(now, &JustWait)),
                _ => (now, now),
            });
            let readable = match wait {
                // One read of what is there; the host polled the socket before.
                Wait::Not if looked => return Ok(Got::NotYet),
                Wait::Not => true,
                _ if now < spin_until => {
                    std::hint::spin_loop();
                    true
                }
                _ => {
                    let timeout = match wait {
                        Wait::Until(d) if now >= d => return Err("no HELLO within 10s".into()),
                        Wait::Until(d) => d.saturating_duration_since(now).as_millis() as i32 + 1,
                        _ => -1,
                    };
                    let (readable, woken) = self
                        .source
                        .wait(Some(self.wake.0.as_raw_fd()), timeout)
                        .map_err(|e| format!("poll: {e}"))?;
                    if woken {
                        super::super::wait::drain(&self.wake.0);
                        if matches!(wait, Wait::Serve) && self.host_wants() {
                            return Ok(Got::Yield);
                        }
                    }
                    readable
                }
            };
            looked = true;
            if !readable {
                continue;
            }
            // Straight into the buffer: the rest of the frame needed, or a chunk.
            let had = reading.buf.len();
            let want = need.saturating_sub(had).max(CHUNK);
            match read_into(&mut reading.buf, want, |b| self.source.read(b)) {
                Ok(0) if had == 0 && reading.skip == 0 => return Ok(Got::End),
                Ok(0) => return Err("truncated frame".into()),
                Ok(n) => {
                    // Bytes of a refused frame still coming (the buffer was empty then).
                    let dropped = reading.skip.min(n);
                    reading.skip -= dropped;
                    reading.buf.advance(dropped);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }

    /// The connection's HELLO, answered; within 10 s.
    pub(super) fn handshake(&self, reading: &mut Reading) -> Result<(), String> {
        let deadline = Wait::Until(Instant::now() + Duration::from_secs(10));
        if !matches!(self.fill(reading, HEADER_LEN, deadline)?, Got::Ready(())) {
            return Err("handshake: connection closed".into());
        }
        let h = frame::peek_header(&reading.buf).map_err(|e| e.to_string())?;
        if h.kind != Kind::Hello || h.len as usize > 4096 {
            return Err(format!(
                "expected HELLO, got {:?} of {} bytes",
                h.kind, h.len
            ));
        }
        if !matches!(
            self.fill(reading, HEADER_LEN + h.len as usize, deadline)?,
            Got::Ready(())
        ) {
            return Err("handshake: connection closed".into());
        }
        let body = frame::split_frame(&mut reading.buf, h.len as usize);
        match self.conn.hello(body) {
            Ok(reply) => {
                self.write(&reply);
                Ok(())
            }
            Err((bye, why)) => {
                if !bye.is_empty() {
                    self.write(&bye);
                }
                Err(why)
            }
        }
    }
}
