//! What `nats://host:port/PREFIX` shares between server and client (specified in
//! `docs/messaging.md`): the endpoint, the subject of a method, and a call's head, reply and
//! error as NATS headers over a protobuf (or JSON, CBOR) payload.
//!
//! NATS headers are converted to and from an [`http::HeaderMap`] (names lower-cased), so the
//! metadata rules and the Connect error body of the other HTTP-like transports serve here too.

use base64::Engine;
use bytes::Bytes;

use super::connect_codec::{
    code_name, codec_from_content_type, content_type, error_body, http_status, parse_timeout_ms,
};
use super::nats_auth::NatsConnect;
use super::{put_metadata, text_metadata};
use crate::call::CallHead;
use crate::codec::Codec;
use crate::error::{Code, Error, Result};
use crate::metadata::response::Reply;
use crate::metadata::{Metadata, BASE64};

/// The prefix of a `nats://` endpoint without a path.
pub(crate) const DEFAULT_PREFIX: &str = "hms";
/// The queue group every server of a service joins (NATS micro's default).
pub(crate) const QUEUE_GROUP: &str = "q";
/// Request: the caller's remaining time in milliseconds.
pub(crate) const TIMEOUT_MS: &str = "hms-timeout-ms";
/// Reply: the canonical code's number (`0` on success).
pub(crate) const STATUS: &str = "hms-status";
/// Error reply: the `google.rpc.Status` (code, message, details), base64.
pub(crate) const STATUS_DETAILS: &str = "hms-status-details-bin";
/// Error reply, NATS micro's convention: the message (in this case: clients of some languages
/// look header names up case-sensitively).
pub(crate) const MICRO_ERROR: &str = "Nats-Service-Error";
/// Error reply, NATS micro's convention: a number (the HTTP status of the code, as Connect's).
pub(crate) const MICRO_ERROR_CODE: &str = "Nats-Service-Error-Code";

/// A `nats://host:port/PREFIX` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsTarget {
    /// `host:port` of a nats-server.
    pub authority: String,
    /// The subject prefix of the service's methods (`hms` when the URI has no path).
    pub prefix: String,
    /// Credentials and TLS for the nats-server (the URI's user part and query).
    pub connect: NatsConnect,
}

impl NatsTarget {
    /// Parses `[CREDENTIALS@]host:port[/PREFIX][?OPTIONS]`; the prefix is one or more subject
    /// tokens without wildcards ([`NatsConnect`] for the rest).
    pub(crate) fn parse(rest: &str) -> std::result::Result<NatsTarget, String> {
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, rest),
        };
        let connect = NatsConnect::parse(userinfo, query)?;
        let (authority, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() || !authority.contains(':') {
            return Err("nats needs host:port: nats://127.0.0.1:4222/PREFIX".into());
        }
        let prefix = prefix.trim_end_matches('/');
        let prefix = if prefix.is_empty() {
            DEFAULT_PREFIX
        } else {
            prefix
        };
        let token_ok = |t: &str| {
            !t.is_empty()
                && !t.contains(|c: char| c.is_whitespace() || matches!(c, '*' | '>' | '/'))
        };
        if !prefix.split('.').all(token_ok) {
            return Err(format!(
                "NATS prefix {prefix:?} must be subject tokens (no spaces, '*', '>' or '/')"
            ));
        }
        Ok(NatsTarget {
            authority: authority.to_string(),
            prefix: prefix.to_string(),
            connect,
        })
    }

    /// The subject of `method` (`package.Service/Method`): `PREFIX.package.Service.Method`.
    pub(crate) fn subject(&self, method: &str) -> String {
        format!("{}.{}", self.prefix, method.replace('/', "."))
    }

    /// The NATS micro service name: the prefix with every character micro does not allow
    /// (`A-Z a-z 0-9 - _`) as `_`.
    pub(crate) fn service_name(&self) -> String {
        micro_name(&self.prefix)
    }
}

/// `text` with every character NATS micro does not allow in a name as `_`.
pub(crate) fn micro_name(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' => c,
            _ => '_',
        })
        .collect()
}

/// NATS headers as HTTP headers (names lower-cased; entries HTTP cannot carry left out).
pub(crate) fn to_http(headers: Option<&async_nats::HeaderMap>) -> http::HeaderMap {
    let mut out = http::HeaderMap::new();
    for (name, values) in headers.into_iter().flat_map(|h| h.iter()) {
        let Ok(name) = http::HeaderName::from_bytes(name.to_string().to_lowercase().as_bytes())
        else {
            continue;
        };
        for v in values {
            if let Ok(v) = http::HeaderValue::from_str(v.as_str()) {
                out.append(name.clone(), v);
            }
        }
    }
    out
}

/// HTTP headers as NATS headers.
pub(crate) fn from_http(headers: &http::HeaderMap) -> async_nats::HeaderMap {
    let mut out = async_nats::HeaderMap::new();
    for (k, v) in headers {
        if let Ok(v) = v.to_str() {
            out.append(k.as_str(), v);
        }
    }
    out
}

/// Whether a header is the protocol's, not call metadata (the schema revision a call asks for
/// is call metadata the server's dispatcher reads, as on every transport).
fn protocol_header(key: &str) -> bool {
    key != crate::call::SCHEMA_REVISION_KEY && key.starts_with("hms-")
        || key.starts_with("nats-")
        || key.starts_with("content-")
        || key.starts_with("trailer-")
}

/// A request's headers: content type, deadline, trace id and metadata.
pub(crate) fn request_headers(head: &CallHead) -> async_nats::HeaderMap {
    let mut h = http::HeaderMap::new();
    put_metadata(&mut h, &head.metadata, "");
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type(head.codec)),
    );
    if let Some(t) = head.timeout {
        let ms = t.as_millis().clamp(1, 9_999_999_999) as u64;
        h.insert(TIMEOUT_MS, http::HeaderValue::from(ms));
    }
    if let Ok(v) = http::HeaderValue::from_str(&head.trace_id) {
        if !head.trace_id.is_empty() {
            h.insert("x-trace-id", v);
        }
    }
    from_http(&h)
}

/// The head of a request on the subject of `method`. A content type no codec has is
/// `InvalidArgument`; no content type is protobuf.
pub(crate) fn request_head(method: &str, headers: &http::HeaderMap) -> Result<CallHead> {
    let codec = match headers.get(http::header::CONTENT_TYPE) {
        None => Codec::Proto,
        Some(v) => codec_from_content_type(v.to_str().unwrap_or_default())
            .filter(|(_, streaming)| !streaming)
            .map(|(c, _)| c)
            .ok_or_else(|| {
                Error::new(
                    Code::InvalidArgument,
                    format!("content type {v:?} is not application/proto, json or cbor"),
                )
                .with_reason("BAD_CONTENT_TYPE")
            })?,
    };
    let text = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    Ok(CallHead {
        method: method.to_string(),
        timeout: text(TIMEOUT_MS).and_then(parse_timeout_ms),
        metadata: text_metadata(headers, protocol_header),
        codec,
        trace_id: text("x-trace-id").unwrap_or_default().to_string(),
        ..CallHead::default()
    })
}

/// A reply's headers and payload: the message with the handler's headers and trailers
/// (`trailer-` keys), or the error as `hms-status`, its `google.rpc.Status`, NATS micro's two
/// error headers and a Connect JSON body.
pub(crate) fn reply(
    result: &Result<Bytes>,
    codec: Codec,
    md: (Metadata, Metadata),
) -> (async_nats::HeaderMap, Bytes) {
    let mut h = http::HeaderMap::new();
    put_metadata(&mut h, &md.0, "");
    put_metadata(&mut h, &md.1, "trailer-");
    let mut micro: Option<(String, u16)> = None;
    let body = match result {
        Ok(message) => {
            h.insert(STATUS, http::HeaderValue::from(0));
            let ct = http::HeaderValue::from_static(content_type(codec));
            h.insert(http::header::CONTENT_TYPE, ct);
            message.clone()
        }
        Err(e) => {
            h.insert(STATUS, http::HeaderValue::from(e.code().as_i32()));
            let details = BASE64.encode(e.to_status_bytes());
            if let Ok(v) = http::HeaderValue::from_str(&details) {
                h.insert(STATUS_DETAILS, v);
            }
            // Header values are one line of printable text.
            let message: String = e
                .message()
                .chars()
                .map(|c| if (' '..='~').contains(&c) { c } else { ' ' })
                .collect();
            let message = if message.is_empty() {
                code_name(e.code())
            } else {
                message
            };
            micro = Some((message, http_status(e.code()).as_u16()));
            let json = http::HeaderValue::from_static("application/json");
            h.insert(http::header::CONTENT_TYPE, json);
            Bytes::from(error_body(e))
        }
    };
    let mut headers = from_http(&h);
    if let Some((message, code)) = micro {
        headers.insert(MICRO_ERROR, message);
        headers.insert(MICRO_ERROR_CODE, code.to_string());
    }
    (headers, body)
}

/// A reply as the client sees it: an `hms-status` other than 0 or a NATS micro error is the
/// error it carries, with the response metadata.
pub(crate) fn read_reply(
    headers: Option<&async_nats::HeaderMap>,
    payload: Bytes,
) -> Result<Reply<Bytes>> {
    let h = to_http(headers);
    let mut trailers = Metadata::new();
    for (k, v) in &h {
        if let (Some(key), Ok(text)) = (k.as_str().strip_prefix("trailer-"), v.to_str()) {
            trailers.insert(key, text);
        }
    }
    let metadata = text_metadata(&h, protocol_header);
    let text = |k: &str| h.get(k.to_ascii_lowercase()).and_then(|v| v.to_str().ok());
    let status = text(STATUS).and_then(|s| s.trim().parse::<i32>().ok());
    let error = match (status, text(MICRO_ERROR_CODE)) {
        (Some(0), _) | (None, None) => None,
        (Some(code), _) => Some(
            // Details that do not decode keep the status's own code (as gRPC's `from_status`).
            match text(STATUS_DETAILS)
                .and_then(|d| BASE64.decode(d).ok())
                .map(|bytes| Error::from_status_bytes(&bytes))
                .filter(|e| e.code() != Code::Internal || code == Code::Internal.as_i32())
            {
                Some(e) => e,
                None => Error::new(Code::from_i32(code), text(MICRO_ERROR).unwrap_or_default()),
            },
        ),
        (None, Some(n)) => {
            let message = text(MICRO_ERROR).unwrap_or_default();
            Some(Error::new(micro_code(n), message.to_string()).with_reason("NATS_SERVICE_ERROR"))
        }
    };
    match error {
        Some(e) => Err(e.with_response_metadata(metadata, trailers)),
        None => Ok(Reply {
            message: payload,
            headers: metadata,
            trailers,
        }),
    }
}

/// The code of a NATS micro error code: the HTTP status Connect gives each code, read back
/// (a service written with a stock micro library uses HTTP-like numbers); `Unknown` otherwise.
fn micro_code(n: &str) -> Code {
    let Ok(n) = n.trim().parse::<u16>() else {
        return Code::Unknown;
    };
    match n {
        400 => Code::InvalidArgument,
        409 => Code::AlreadyExists,
        500 => Code::Internal,
        n => (1..=16)
            .map(Code::from_i32)
            .find(|c| http_status(*c).as_u16() == n)
            .unwrap_or(Code::Unknown),
    }
}
