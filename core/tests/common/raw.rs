//! Speaking the `unix://` wire by hand, for tests that play a misbehaving (or fake) peer. Every
//! connection made here reads with a 5 s timeout.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use bytes::Bytes;
use hms_ffi_core::transport::frame::{self, CallHead, Hello, Kind, FLAG_UNARY, HEADER_LEN};

/// A raw connection to the socket at `path`, reads timing out after 5 s.
pub fn raw(path: &std::path::Path) -> UnixStream {
    let s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Sends a client HELLO and checks the server's.
pub fn hello(s: &mut UnixStream) {
    let h = Hello {
        magic: frame::MAGIC.into(),
        version: frame::WIRE_VERSION,
        max_message: 1 << 22,
        agent: "test".into(),
        // A peer without flow control, as before v1 had it: no WINDOW frames either way.
        stream_window: 0,
        pings: false,
        headers: false,
    };
    s.write_all(&frame::encode_message_frame(Kind::Hello, 0, 0, &h))
        .unwrap();
    let (hdr, _) = read_frame(s).expect("HELLO back");
    assert_eq!(hdr.kind, Kind::Hello);
}

/// The next frame; `None` when the stream ended (or timed out) first.
pub fn read_frame(s: &mut UnixStream) -> Option<(frame::Header, Vec<u8>)> {
    let mut hb = [0u8; HEADER_LEN];
    s.read_exact(&mut hb).ok()?;
    let h = frame::parse_header(&hb).unwrap();
    let mut body = vec![0u8; h.len as usize];
    s.read_exact(&mut body).ok()?;
    Some((h, body))
}

/// A unary CALL of `method` with the encoded request `payload`, on stream `id`.
pub fn call_frame(method: &str, id: u32, payload: Vec<u8>) -> Vec<u8> {
    let head = CallHead {
        method: method.into(),
        ..CallHead::default()
    };
    frame::encode_message_frame(
        Kind::Call,
        FLAG_UNARY,
        id,
        &head.to_header(Bytes::from(payload)),
    )
}
