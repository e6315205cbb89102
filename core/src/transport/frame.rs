//! The local wire protocol (version 1): length-prefixed, multiplexed frames. See `docs/wire.md`.
//!
//! ```text
//! frame  = length:u32le kind:u8 flags:u8 stream:u32le body[length]
//! ```

use bytes::{Bytes, BytesMut};
use prost::Message;

pub use crate::call::CallHead;
use crate::codec::Codec;
use crate::error::{Code, Error, Result};
use crate::metadata::{Metadata, Reply};

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
    push_header(&mut out, kind, flags, stream, body.len());
    out.extend_from_slice(body);
    out
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

/// HELLO body.
#[derive(Clone, PartialEq, Message)]
pub struct Hello {
    /// Always [`MAGIC`].
    #[prost(string, tag = "1")]
    pub magic: String,
    /// The sender's protocol version.
    #[prost(uint32, tag = "2")]
    pub version: u32,
    /// The largest message the sender accepts.
    #[prost(uint64, tag = "3")]
    pub max_message: u64,
    /// Free text naming the implementation (`hms-ffi-core/0.1.0`).
    #[prost(string, tag = "4")]
    pub agent: String,
}

impl Hello {
    /// The HELLO this build sends, announcing the largest message it accepts.
    pub fn ours(max_message: usize) -> Hello {
        Hello {
            magic: MAGIC.to_string(),
            version: WIRE_VERSION,
            max_message: max_message as u64,
            agent: concat!("hms-ffi-core/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// Checks the server's answer to a client's HELLO (`shown`: the endpoint, for messages): a
/// HELLO of this magic and version, or a GOAWAY whose error is returned.
pub fn check_server_hello(kind: Kind, body: Bytes, shown: &str) -> Result<()> {
    match kind {
        Kind::Hello => {
            let hello = Hello::decode(body)
                .map_err(|e| Error::unavailable(format!("bad HELLO from server: {e}")))?;
            if hello.magic != MAGIC {
                return Err(Error::unavailable(format!(
                    "{shown} is not an hms-ffi server"
                )));
            }
            if hello.version != WIRE_VERSION {
                return Err(Error::new(
                    Code::FailedPrecondition,
                    format!(
                        "{shown} speaks wire version {}, this client {}",
                        hello.version, WIRE_VERSION
                    ),
                ));
            }
            Ok(())
        }
        Kind::GoAway => {
            let t = Trailer::decode(body).unwrap_or_default();
            Err(Error::new(Code::from_i32(t.code), t.message))
        }
        other => Err(Error::unavailable(format!(
            "unexpected {other:?} in handshake"
        ))),
    }
}

/// One metadata entry.
#[derive(Clone, PartialEq, Message)]
pub struct Entry {
    /// Key (lower-case).
    #[prost(string, tag = "1")]
    pub key: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// CALL body.
#[derive(Clone, PartialEq, Message)]
pub struct CallHeader {
    /// `package.Service/Method`.
    #[prost(string, tag = "1")]
    pub method: String,
    /// The caller's remaining time in microseconds; 0 for none.
    #[prost(uint64, tag = "2")]
    pub timeout_micros: u64,
    /// Metadata.
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<Entry>,
    /// Codec number (0 proto, 1 json, 2 cbor).
    #[prost(uint32, tag = "4")]
    pub codec: u32,
    /// Trace id, when the caller has one.
    #[prost(string, tag = "5")]
    pub trace_id: String,
    /// The request, for unary calls.
    #[prost(bytes = "bytes", tag = "6")]
    pub payload: Bytes,
}

/// STATUS and GOAWAY body.
#[derive(Clone, PartialEq, Message)]
pub struct Trailer {
    /// Status code, 0 for OK.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// Status message.
    #[prost(string, tag = "2")]
    pub message: String,
    /// `google.rpc.Status` with the details, when the call failed.
    #[prost(bytes = "vec", tag = "3")]
    pub status: Vec<u8>,
    /// The reply of a unary call.
    #[prost(bytes = "bytes", tag = "4")]
    pub payload: Bytes,
    /// The response headers the handler set (STATUS only; a v1 addition, ignored by older
    /// clients).
    #[prost(message, repeated, tag = "5")]
    pub headers: Vec<Entry>,
    /// The response trailers the handler set (STATUS only; a v1 addition).
    #[prost(message, repeated, tag = "6")]
    pub trailers: Vec<Entry>,
}

fn entries(md: &Metadata) -> Vec<Entry> {
    md.iter()
        .map(|(k, v)| Entry {
            key: k.into(),
            value: v.into(),
        })
        .collect()
}

fn from_entries(entries: Vec<Entry>) -> Metadata {
    entries.into_iter().map(|e| (e.key, e.value)).collect()
}

impl Trailer {
    /// The trailer of a finished call.
    pub fn from_result(r: &Result<Bytes>) -> Trailer {
        match r {
            Ok(payload) => Trailer {
                code: 0,
                message: String::new(),
                status: Vec::new(),
                payload: payload.clone(),
                ..Trailer::default()
            },
            Err(e) => Trailer {
                code: e.code().as_i32(),
                message: e.message().to_string(),
                status: e.to_status_bytes(),
                ..Trailer::default()
            },
        }
    }

    /// Adds the response headers and trailers.
    pub fn with_metadata(mut self, (headers, trailers): (Metadata, Metadata)) -> Trailer {
        self.headers = entries(&headers);
        self.trailers = entries(&trailers);
        self
    }

    /// The response headers and trailers it carries.
    pub fn take_metadata(&mut self) -> (Metadata, Metadata) {
        (
            from_entries(std::mem::take(&mut self.headers)),
            from_entries(std::mem::take(&mut self.trailers)),
        )
    }

    /// Back to the call's result with its response metadata: an error carries it too.
    pub fn into_reply(mut self) -> Result<Reply<Bytes>> {
        let (headers, trailers) = self.take_metadata();
        match self.into_result() {
            Ok(message) => Ok(Reply {
                message,
                headers,
                trailers,
            }),
            Err(e) => Err(e.with_response_metadata(headers, trailers)),
        }
    }

    /// Back to the call's result.
    pub fn into_result(self) -> Result<Bytes> {
        if self.code == 0 {
            return Ok(self.payload);
        }
        if self.status.is_empty() {
            return Err(Error::new(Code::from_i32(self.code), self.message));
        }
        Err(Error::from_status_bytes(&self.status))
    }
}

/// The wire form of the call layer's [`CallHead`] (re-exported here, where it used to live).
impl CallHead {
    /// To the wire form (the payload is added by the caller).
    pub fn to_header(&self, payload: Bytes) -> CallHeader {
        CallHeader {
            method: self.method.clone(),
            timeout_micros: self.timeout.map_or(0, |t| (t.as_micros() as u64).max(1)),
            metadata: entries(&self.metadata),
            codec: self.codec.as_u32(),
            trace_id: self.trace_id.clone(),
            payload,
        }
    }

    /// From the wire form; returns the payload too.
    pub fn from_header(h: CallHeader) -> Result<(CallHead, Bytes)> {
        let head = CallHead {
            method: h.method,
            timeout: (h.timeout_micros > 0)
                .then(|| std::time::Duration::from_micros(h.timeout_micros)),
            metadata: from_entries(h.metadata),
            codec: Codec::from_u32(h.codec)?,
            trace_id: h.trace_id,
            ..CallHead::default()
        };
        Ok((head, h.payload))
    }
}

/// The head of a CALL body too large to read whole, from its first bytes: the fields before the
/// payload (field 6, which prost writes last). `None` when those bytes do not hold a whole,
/// valid head. Lets a server audit a refused oversized call with its method and metadata.
pub fn call_head_prefix(prefix: &[u8]) -> Option<CallHead> {
    use prost::encoding::decode_varint;
    let mut rest = prefix;
    let end = loop {
        let at = prefix.len() - rest.len();
        if rest.is_empty() {
            break at;
        }
        let key = decode_varint(&mut rest).ok()?;
        match (key >> 3, key & 7) {
            (6, _) => break at,
            (_, 0) => {
                decode_varint(&mut rest).ok()?;
            }
            (_, 2) => {
                let n = usize::try_from(decode_varint(&mut rest).ok()?).ok()?;
                rest = rest.get(n..)?;
            }
            _ => return None,
        }
    };
    let header = CallHeader::decode(&prefix[..end]).ok()?;
    CallHead::from_header(header).ok().map(|(head, _)| head)
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
        Kind::Message => Ok(()),
        Kind::End | Kind::Cancel if body.is_empty() => Ok(()),
        Kind::End | Kind::Cancel => Err(WireError::BadBody("END/CANCEL carry no body".into())),
    }
}
