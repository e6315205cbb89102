//! The bodies of the local wire protocol's frames (`docs/wire.md`, "Bodies"): HELLO, the CALL
//! header, the STATUS/GOAWAY trailer, as prost messages, and their conversions to and from the
//! core's call head, replies and errors.

use bytes::Bytes;
use prost::Message;

use super::frame::{Kind, MAGIC, WIRE_VERSION};
use crate::call::CallHead;
use crate::codec::Codec;
use crate::error::{Code, Error, Result};
use crate::metadata::{Metadata, Reply};

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
    /// The receive window the sender offers each stream, in bytes; 0 (an older peer): it does
    /// no flow control, and must get no WINDOW frames.
    #[prost(uint32, tag = "5")]
    pub stream_window: u32,
    /// The sender answers PING with PONG (false, an older peer: it must get no PING).
    #[prost(bool, tag = "6")]
    pub pings: bool,
    /// The sender reads HEADERS frames (false, an older peer: a server sends it a stream's
    /// headers with the STATUS only).
    #[prost(bool, tag = "7")]
    pub headers: bool,
}

impl Hello {
    /// The HELLO this build sends, announcing the largest message it accepts.
    pub fn ours(max_message: usize) -> Hello {
        Hello {
            magic: MAGIC.to_string(),
            version: WIRE_VERSION,
            max_message: max_message as u64,
            agent: concat!("hms-ffi-core/", env!("CARGO_PKG_VERSION")).to_string(),
            stream_window: crate::flow::STREAM_WINDOW,
            pings: true,
            headers: true,
        }
    }
}

/// Checks the server's answer to a client's HELLO (`shown`: the endpoint, for messages): a
/// HELLO of this magic and version (returned), or a GOAWAY whose error is returned.
pub fn check_server_hello(kind: Kind, body: Bytes, shown: &str) -> Result<Hello> {
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
            Ok(hello)
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

/// [`CallHeader::payload`]'s field number.
pub const CALL_PAYLOAD_TAG: u32 = 6;
/// [`Trailer::payload`]'s field number.
pub const STATUS_PAYLOAD_TAG: u32 = 4;

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

/// HEADERS body: a stream's response headers, sent ahead of its messages. The field number is
/// `Trailer.headers`' own, so the body also reads as a `Trailer` holding only headers.
#[derive(Clone, PartialEq, Message)]
pub struct HeadersBody {
    /// The response headers the handler set.
    #[prost(message, repeated, tag = "5")]
    pub headers: Vec<Entry>,
}

impl HeadersBody {
    /// The body carrying `headers`.
    pub fn new(headers: &Metadata) -> HeadersBody {
        HeadersBody {
            headers: entries(headers),
        }
    }

    /// The headers it carries.
    pub fn into_metadata(self) -> Metadata {
        from_entries(self.headers)
    }
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
