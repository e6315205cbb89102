//! A led connection's reading (`unix_led`): whole frames from the socket, polled for a while
//! before the thread blocks when calls come close together ([`SpinGauge`](super::super::wait::SpinGauge)),
//! an oversized frame refused and skipped without buffering it, a draining server's GOAWAY sent
//! between frames.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::time::Instant;

use bytes::{Buf, Bytes};

use super::super::frame::{self, HEADER_LEN};
use super::super::unix_conn::Connection;
use super::super::wait::sys::read_into;
use super::{Led, Reading};

/// The least a read asks for: a reader keeps up with many small frames in one read.
const CHUNK: usize = 16 * 1024;
use crate::call::JustWait;

impl Led {
    /// The next whole frame; `None`: the connection ended between frames, or the server stopped.
    pub(super) fn next(
        &self,
        reading: &mut Reading,
    ) -> Result<Option<(frame::Header, Bytes)>, String> {
        let max_body = self.conn.max_body();
        loop {
            if !self.fill(reading, HEADER_LEN, None)? {
                return Ok(None);
            }
            let h = frame::peek_header(&reading.buf).map_err(|e| e.to_string())?;
            let len = h.len as usize;
            if len <= max_body {
                if !self.fill(reading, HEADER_LEN + len, None)? {
                    return Ok(None);
                }
                return Ok(Some((h, frame::split_frame(&mut reading.buf, len))));
            }
            let keep = self.conn.oversized(&h)?;
            if !self.fill(reading, HEADER_LEN + keep, None)? {
                return Ok(None);
            }
            let prefix = frame::split_frame(&mut reading.buf, keep);
            reading.skip = len - keep;
            let now = reading.skip.min(reading.buf.len());
            reading.buf.advance(now);
            reading.skip -= now;
            self.write(&self.conn.too_large(&h, &prefix));
        }
    }

    /// Reads until `need` bytes are buffered (true), or the peer closed between frames or the
    /// server stopped (false). A draining server's GOAWAY is sent from here.
    pub(super) fn fill(
        &self,
        reading: &mut Reading,
        need: usize,
        deadline: Option<Instant>,
    ) -> Result<bool, String> {
        let core = &self.conn.core;
        // While serving, a reader polls the socket for a while before it blocks (see
        // `SpinGauge`); the handshake just waits.
        let mut waiting: Option<(Instant, Instant)> = None;
        loop {
            if reading.skip == 0 && reading.buf.len() >= need {
                if let Some((since, _)) = waiting {
                    self.gauge.record(since.elapsed());
                }
                return Ok(true);
            }
            if core.stop().is_cancelled() {
                return Ok(false);
            }
            if deadline.is_none() && !reading.goaway_sent && core.drain().is_cancelled() {
                reading.goaway_sent = true;
                self.write(&Connection::goaway());
            }
            let now = Instant::now();
            let (_, spin_until) = *waiting.get_or_insert_with(|| match deadline {
                None if reading.poll_next => (now, self.gauge.until(now, &JustWait)),
                _ => (now, now),
            });
            let readable = if now < spin_until {
                std::hint::spin_loop();
                true
            } else {
                let timeout = match deadline {
                    None => -1,
                    Some(d) if now >= d => return Err("no HELLO within 10s".into()),
                    Some(d) => d.saturating_duration_since(now).as_millis() as i32 + 1,
                };
                let (readable, woken) = self
                    .source
                    .wait(Some(self.wake.0.as_raw_fd()), timeout)
                    .map_err(|e| format!("poll: {e}"))?;
                if woken {
                    let mut drain = [0u8; 16];
                    while matches!((&self.wake.0).read(&mut drain), Ok(n) if n > 0) {}
                }
                readable
            };
            if !readable {
                continue;
            }
            // Straight into the buffer: the rest of the frame needed, or a chunk.
            let had = reading.buf.len();
            let want = need.saturating_sub(had).max(CHUNK);
            match read_into(&mut reading.buf, want, |b| self.source.read(b)) {
                Ok(0) if had == 0 && reading.skip == 0 => return Ok(false),
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
}
