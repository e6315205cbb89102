//! The local wire protocol (version 1): length-prefixed, multiplexed frames. See `docs/wire.md`.
//!
//! ```text
//! frame  = length:u32le kind:u8 flags:u8 stream:u32le body[length]
//! ```

use bytes::{Bytes, BytesMut};
use prost::Message;

pub use super::frame_body::{
    call_head_prefix, check_server_hello, CallHeader, Entry, HeadersBody, Hello, Trailer,
    CALL_PAYLOAD_TAG, STATUS_PAYLOAD_TAG,
};
pub use crate::call::CallHead;

/// Bytes in a frame header.
pub const HEADER_LEN: usize = 10;
/// The protocol version this build speaks.
pub const WIRE_VERSION: u32 = 1;
/// The magic text in a HELLO.
pub const MAGIC: &str = "hms-ffi";
/// Room for the call header next to the largest message.
pub const HEADER_SLACK: usize = 64 * 1024;

/// Frame kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Handshake, both ways, on stream 0.
    Hello = 1,
    /// Opens a call (client → server); with [`FLAG_UNARY`] it carries the whole request.
    Call = 2,
    /// One message of a stream, either way; [`FLAG_END`] from the client half-closes.
    Message = 3,
    /// Client half-close without a message.
    End = 4,
    /// The call's outcome (server → client); ends the stream. May carry the unary reply.
    Status = 5,
    /// The client gave up on the call (cancelled, deadline passed, dropped).
    Cancel = 6,
    /// The server accepts no new calls on this connection (shutting down).
    GoAway = 7,
    /// Flow control, either way: the receiver has read this many more bytes of a stream's
    /// messages (a u32 little-endian body). Sent only to a peer whose HELLO offered a window.
    Window = 8,
    /// Keepalive, either way, on stream 0: the receiver answers with a PONG carrying the same
    /// body (at most 8 bytes). Sent only to a peer whose HELLO said it answers pings.
    Ping = 9,
    /// The answer to a PING.
    Pong = 10,
    /// A stream's response headers, ahead of its messages (server → client). Sent only to a
    /// client whose HELLO said it reads them; its body is a [`HeadersBody`].
    Headers = 11,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Hello,
            2 => Kind::Call,
            3 => Kind::Message,
            4 => Kind::End,
            5 => Kind::Status,
            6 => Kind::Cancel,
            7 => Kind::GoAway,
            8 => Kind::Window,
            9 => Kind::Ping,
            10 => Kind::Pong,
            11 => Kind::Headers,
            _ => return None,
        })
    }
}

/// CALL: the body holds the whole request and the client sends nothing more.
pub const FLAG_UNARY: u8 = 0x01;
/// MESSAGE: the last message from the client.
pub const FLAG_END: u8 = 0x02;

/// A frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Body length.
    pub len: u32,
    /// Kind.
    pub kind: Kind,
    /// Flags.
    pub flags: u8,
    /// Stream id (0 for connection frames; odd ids are opened by the client).
    pub stream: u32,
}

/// Why bytes are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// Unknown kind byte.
    UnknownKind(u8),
    /// Flags not defined for this kind.
    BadFlags(u8),
    /// A body that does not decode.
    BadBody(String),
    /// Fewer bytes than the header announced.
    Truncated,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::UnknownKind(k) => write!(f, "unknown frame kind {k}"),
            WireError::BadFlags(x) => write!(f, "undefined flags {x:#x}"),
            WireError::BadBody(e) => write!(f, "malformed frame body: {e}"),
            WireError::Truncated => f.write_str("truncated frame"),
        }
    }
}

/// Parses a frame header.
pub fn parse_header(b: &[u8; HEADER_LEN]) -> std::result::Result<Header, WireError> {
    let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let kind = Kind::from_u8(b[4]).ok_or(WireError::UnknownKind(b[4]))?;
    let flags = b[5];
    let allowed = match kind {
        Kind::Call => FLAG_UNARY,
        Kind::Message => FLAG_END,
        _ => 0,
    };
    if flags & !allowed != 0 {
        return Err(WireError::BadFlags(flags));
    }
    let stream = u32::from_le_bytes([b[6], b[7], b[8], b[9]]);
    Ok(Header {
        len,
        kind,
        flags,
        stream,
    })
}

/// The header at the front of `buf`, which holds at least [`HEADER_LEN`] bytes.
pub(crate) fn peek_header(buf: &[u8]) -> std::result::Result<Header, WireError> {
    let mut hb = [0u8; HEADER_LEN];
    hb.copy_from_slice(&buf[..HEADER_LEN]);
    parse_header(&hb)
}

/// Takes a whole frame (header and `len` bytes of body) off the front of `buf`: its body.
pub(crate) fn split_frame(buf: &mut BytesMut, len: usize) -> Bytes {
    let mut whole = buf.split_to(HEADER_LEN + len);
    whole.split_off(HEADER_LEN).freeze()
}

/// Writes one frame into a fresh buffer.
pub fn encode_frame(kind: Kind, flags: u8, stream: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    encode_frame_into(&mut out, kind, flags, stream, body);
    out
}

/// [`encode_frame`] appending to `out` (several frames written with one write).
pub fn encode_frame_into(out: &mut Vec<u8>, kind: Kind, flags: u8, stream: u32, body: &[u8]) {
    push_header(out, kind, flags, stream, body.len());
    out.extend_from_slice(body);
}

fn push_header(out: &mut Vec<u8>, kind: Kind, flags: u8, stream: u32, len: usize) {
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.push(kind as u8);
    out.push(flags);
    out.extend_from_slice(&stream.to_le_bytes());
}

/// Writes a frame whose body is a protobuf message.
pub fn encode_message_frame(kind: Kind, flags: u8, stream: u32, body: &impl Message) -> Vec<u8> {
    let len = body.encoded_len();
    let mut out = Vec::with_capacity(HEADER_LEN + len);
    push_header(&mut out, kind, flags, stream, len);
    // Encoding into a Vec with enough capacity cannot fail.
    let _ = body.encode(&mut out);
    out
}

/// The frame [`encode_message_frame`] makes of `body` with the bytes field `tag` set to
/// `payload` (`body` holding none), all but the payload's bytes: the caller writes `payload`
/// right after, so a large payload is not copied into the frame first. Decoders see the same
/// message (fields may come in any order).
pub fn encode_message_frame_head(
    kind: Kind,
    flags: u8,
    stream: u32,
    body: &impl Message,
    tag: u32,
    payload: &[u8],
) -> Vec<u8> {
    use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};
    let field = match payload.len() {
        0 => 0,
        n => key_len(tag) + encoded_len_varint(n as u64) + n,
    };
    let len = body.encoded_len() + field;
    // A payload that `payload_frame` appends to the head has its room already.
    let inline = if payload.len() < SPLIT_AT {
        payload.len()
    } else {
        0
    };
    let mut out = Vec::with_capacity(HEADER_LEN + len - payload.len() + inline);
    push_header(&mut out, kind, flags, stream, len);
    // Encoding into a Vec with enough capacity cannot fail.
    let _ = body.encode(&mut out);
    if !payload.is_empty() {
        encode_key(tag, WireType::LengthDelimited, &mut out);
        encode_varint(payload.len() as u64, &mut out);
    }
    out
}

/// From this size on, a payload is written from its own buffer after the rest of its frame
/// ([`payload_frame`]); below it, copying it into the frame costs less than a second slice.
pub const SPLIT_AT: usize = 8 * 1024;

/// The frame [`encode_message_frame`] makes of `body` with its bytes field `tag` set to
/// `payload` (`body` holding none), as two parts to write one after the other: the frame up to
/// the payload, and a large payload itself (not copied; empty when the payload was small and
/// is in the first part).
pub fn payload_frame(
    kind: Kind,
    flags: u8,
    stream: u32,
    body: &impl Message,
    tag: u32,
    payload: Bytes,
) -> (Vec<u8>, Bytes) {
    let mut head = encode_message_frame_head(kind, flags, stream, body, tag, &payload);
    if payload.len() >= SPLIT_AT {
        return (head, payload);
    }
    head.extend_from_slice(&payload);
    (head, Bytes::new())
}

/// A WINDOW frame giving stream `stream` `bytes` more of credit.
pub fn window_frame(stream: u32, bytes: u64) -> Vec<u8> {
    let n = u32::try_from(bytes).unwrap_or(u32::MAX);
    encode_frame(Kind::Window, 0, stream, &n.to_le_bytes())
}

/// The credit a WINDOW body gives (`None`: not a WINDOW body).
pub fn window_increment(body: &[u8]) -> Option<u64> {
    let b: [u8; 4] = body.try_into().ok()?;
    Some(u64::from(u32::from_le_bytes(b)))
}

/// A whole frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Header.
    pub header: Header,
    /// Body.
    pub body: Bytes,
}

/// Parses every frame in `buf` and checks each body decodes for its kind: the same checks the
/// server makes, as one pure function for tests and fuzzing.
pub fn parse_frames(buf: &[u8], max_body: usize) -> std::result::Result<Vec<Frame>, WireError> {
    let mut rest = BytesMut::from(buf);
    let mut out = Vec::new();
    while !rest.is_empty() {
        if rest.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let mut hb = [0u8; HEADER_LEN];
        hb.copy_from_slice(&rest[..HEADER_LEN]);
        let header = parse_header(&hb)?;
        if header.len as usize > max_body {
            return Err(WireError::BadBody(format!(
                "body of {} bytes over {max_body}",
                header.len
            )));
        }
        let _ = rest.split_to(HEADER_LEN);
        if rest.len() < header.len as usize {
            return Err(WireError::Truncated);
        }
        let body = rest.split_to(header.len as usize).freeze();
        check_body(header.kind, &body)?;
        out.push(Frame { header, body });
    }
    Ok(out)
}

/// Checks that a body decodes for its kind.
pub fn check_body(kind: Kind, body: &Bytes) -> std::result::Result<(), WireError> {
    let bad = |e: prost::DecodeError| WireError::BadBody(e.to_string());
    match kind {
        Kind::Hello => Hello::decode(body.clone()).map(|_| ()).map_err(bad),
        Kind::Call => CallHeader::decode(body.clone()).map(|_| ()).map_err(bad),
        Kind::Status | Kind::GoAway => Trailer::decode(body.clone()).map(|_| ()).map_err(bad),
        Kind::Headers => HeadersBody::decode(body.clone()).map(|_| ()).map_err(bad),
        Kind::Message => Ok(()),
        Kind::End | Kind::Cancel if body.is_empty() => Ok(()),
        Kind::End | Kind::Cancel => Err(WireError::BadBody("END/CANCEL carry no body".into())),
        Kind::Window if body.len() == 4 => Ok(()),
        Kind::Window => Err(WireError::BadBody("a WINDOW body is 4 bytes".into())),
        Kind::Ping | Kind::Pong if body.len() <= 8 => Ok(()),
        Kind::Ping | Kind::Pong => Err(WireError::BadBody(
            "a PING/PONG body is at most 8 bytes".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame written as its head and then the payload is the frame written whole.
    #[test]
    fn a_split_frame_is_the_whole_frame() {
        for n in [0usize, 1, 127, 128, 20_000, 70_000] {
            let payload = Bytes::from((0..n).map(|i| i as u8).collect::<Vec<u8>>());
            let head = CallHead {
                method: "a.B/C".into(),
                trace_id: "t".into(),
                ..CallHead::default()
            };
            let whole =
                encode_message_frame(Kind::Call, FLAG_UNARY, 7, &head.to_header(payload.clone()));
            let mut split = encode_message_frame_head(
                Kind::Call,
                FLAG_UNARY,
                7,
                &head.to_header(Bytes::new()),
                6,
                &payload,
            );
            split.extend_from_slice(&payload);
            assert_eq!(split, whole, "payload of {n} bytes");
            let body = head.to_header(Bytes::new());
            let (mut first, rest) = payload_frame(Kind::Call, FLAG_UNARY, 7, &body, 6, payload);
            assert_eq!(rest.is_empty(), n < SPLIT_AT, "payload of {n} bytes");
            first.extend_from_slice(&rest);
            assert_eq!(first, whole, "payload of {n} bytes");
        }
    }
}
