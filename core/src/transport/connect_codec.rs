//! What the `http://` transport (the Connect protocol's unary calls) shares between server and
//! client: codes as HTTP statuses and back, errors as Connect JSON bodies, content types,
//! `Connect-Timeout-Ms`, and metadata headers.

use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value as Json};

use crate::codec::Codec;
use crate::error::{Code, Error};
use crate::metadata::Metadata;

/// The protocol version header every Connect request carries.
pub(crate) const PROTOCOL_VERSION: &str = "connect-protocol-version";
/// The deadline header: the caller's remaining time in milliseconds.
pub(crate) const TIMEOUT_MS: &str = "connect-timeout-ms";
/// Type URLs in a Connect error detail leave out this prefix.
const TYPE_PREFIX: &str = "type.googleapis.com/";

/// The HTTP status the Connect protocol gives each code (the `google.rpc.Code` mapping).
pub(crate) fn http_status(code: Code) -> StatusCode {
    let n = match code {
        Code::Ok => 200,
        Code::Cancelled => 499,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
        Code::Unauthenticated => 401,
        Code::PermissionDenied => 403,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::ResourceExhausted => 429,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::DeadlineExceeded => 504,
    };
    StatusCode::from_u16(n).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The code for an HTTP status whose body is not a Connect error (gRPC's mapping, which the
/// Connect protocol adopts for responses from proxies).
pub(crate) fn code_from_http(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// The Connect name of a code: lower snake case, with the American `canceled`.
pub(crate) fn code_name(code: Code) -> String {
    match code {
        Code::Cancelled => "canceled".to_string(),
        c => c.name().to_ascii_lowercase(),
    }
}

fn code_from_name(name: &str) -> Option<Code> {
    match name {
        "canceled" => Some(Code::Cancelled),
        n => n.parse().ok().filter(|c| *c != Code::Ok),
    }
}

/// The Connect JSON body of an error: code, message, and each detail as its type name, its
/// base64 protobuf bytes and, for the types this library knows, a readable `debug` object.
pub(crate) fn error_body(e: &Error) -> Vec<u8> {
    let details: Vec<Json> = e
        .detail_parts()
        .into_iter()
        .map(|(type_url, value, debug)| {
            let name = type_url.strip_prefix(TYPE_PREFIX).unwrap_or(&type_url);
            let mut d = json!({"type": name, "value": STANDARD_NO_PAD.encode(value)});
            if let Some(debug) = debug {
                d["debug"] = debug;
            }
            d
        })
        .collect();
    let mut body = json!({"code": code_name(e.code()), "message": e.message()});
    if !details.is_empty() {
        body["details"] = Json::Array(details);
    }
    body.to_string().into_bytes()
}

/// The error a non-200 response carries: its Connect JSON body when there is one, else the code
/// the HTTP status maps to.
pub(crate) fn error_from_response(status: StatusCode, body: &[u8]) -> Error {
    let parsed: Option<Json> = serde_json::from_slice(body).ok();
    let Some(code) = parsed
        .as_ref()
        .and_then(|j| j.get("code"))
        .and_then(Json::as_str)
        .and_then(code_from_name)
    else {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        return Error::new(
            code_from_http(status),
            format!("HTTP {status} without a Connect error: {text}"),
        );
    };
    let j = parsed.unwrap_or_default();
    let message = j
        .get("message")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    let details = j
        .get("details")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(detail_from_json).collect())
        .unwrap_or_default();
    Error::from_parts(code, message, details)
}

fn detail_from_json(d: &Json) -> Option<(String, Vec<u8>)> {
    let name = d.get("type")?.as_str()?;
    let text = d.get("value")?.as_str()?;
    // Encoders should leave out the padding; decoders accept both.
    let value = STANDARD_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(text))
        .ok()?;
    Some((format!("{TYPE_PREFIX}{name}"), value))
}

/// The unary content type of a codec: `application/proto`, `application/json`, `application/cbor`.
pub(crate) fn content_type(codec: Codec) -> &'static str {
    match codec {
        Codec::Proto => "application/proto",
        Codec::Json => "application/json",
        Codec::Cbor => "application/cbor",
    }
}

/// The codec of a content type, and whether it is a stream's: `application/proto` (unary) or
/// `application/connect+proto` (streaming), and the same for `json` and `cbor` (parameters such
/// as `; charset=utf-8` are ignored).
pub(crate) fn codec_from_content_type(value: &str) -> Option<(Codec, bool)> {
    let mime = value.split(';').next().unwrap_or_default().trim();
    let mime = mime.to_ascii_lowercase();
    let sub = mime.strip_prefix("application/")?;
    let (streaming, sub) = match sub.strip_prefix("connect+") {
        Some(rest) => (true, rest),
        None => (false, sub),
    };
    let codec = match sub {
        "proto" | "protobuf" => Codec::Proto,
        "json" => Codec::Json,
        "cbor" => Codec::Cbor,
        _ => return None,
    };
    Some((codec, streaming))
}

/// Parses `Connect-Timeout-Ms`: a positive integer of at most 10 digits.
pub(crate) fn parse_timeout_ms(value: &str) -> Option<Duration> {
    if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().map(Duration::from_millis)
}

/// A Connect unary response's metadata: its headers (HTTP's and the protocol's own left out)
/// and its trailers (the `trailer-` headers, prefix removed).
pub(crate) fn response_metadata(headers: &HeaderMap) -> (Metadata, Metadata) {
    let http_own = |key: &str| {
        key.starts_with("content-")
            || matches!(
                key,
                "date" | "server" | "vary" | "connection" | "keep-alive" | "transfer-encoding"
            )
    };
    let mut trailers = Metadata::new();
    for (k, v) in headers {
        if let (Some(key), Ok(text)) = (k.as_str().strip_prefix("trailer-"), v.to_str()) {
            trailers.insert(key, text);
        }
    }
    let headers = super::text_metadata(headers, |k| k.starts_with("trailer-") || http_own(k));
    (headers, trailers)
}

/// Application metadata from request headers: everything but HTTP's and the protocol's own
/// headers. Binary (`-bin`) values are the base64 text they are on the wire.
pub(crate) fn metadata_from_headers(headers: &HeaderMap) -> Metadata {
    super::text_metadata(headers, |key| {
        key.starts_with("connect-")
            || key.starts_with("content-")
            || matches!(
                key,
                "host"
                    | "accept"
                    | "accept-encoding"
                    | "user-agent"
                    | "connection"
                    | "keep-alive"
                    | "te"
                    | "trailer"
                    | "transfer-encoding"
                    | "upgrade"
                    | "expect"
                    | "x-trace-id"
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldViolation;

    #[test]
    fn every_code_has_the_spec_status_and_name() {
        assert_eq!(http_status(Code::InvalidArgument).as_u16(), 400);
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
        assert_eq!(http_status(Code::DeadlineExceeded).as_u16(), 504);
        assert_eq!(http_status(Code::Unimplemented).as_u16(), 501);
        assert_eq!(code_name(Code::Cancelled), "canceled");
        for code in crate::code::ALL_CODES.into_iter().skip(1) {
            assert_eq!(code_from_name(&code_name(code)), Some(code));
        }
    }

    #[test]
    fn error_body_round_trip_keeps_details() {
        let e = Error::invalid_argument(
            "bad request",
            vec![FieldViolation {
                field: "items[2].price".into(),
                description: "expected double, got str".into(),
            }],
        );
        let body = error_body(&e);
        let j: Json = serde_json::from_slice(&body).unwrap();
        assert_eq!(j["code"], "invalid_argument");
        assert_eq!(j["details"][0]["type"], "google.rpc.BadRequest");
        assert_eq!(
            j["details"][0]["debug"]["fieldViolations"][0]["field"],
            "items[2].price"
        );
        let back = error_from_response(StatusCode::BAD_REQUEST, &body);
        assert_eq!(back, e);
    }

    #[test]
    fn a_response_without_connect_body_maps_the_http_status() {
        let e = error_from_response(StatusCode::NOT_FOUND, b"<html>nope</html>");
        assert_eq!(e.code(), Code::Unimplemented);
        let e = error_from_response(StatusCode::BAD_GATEWAY, b"");
        assert_eq!(e.code(), Code::Unavailable);
    }

    #[test]
    fn timeouts_and_content_types_parse() {
        assert_eq!(parse_timeout_ms("1500"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_timeout_ms("12345678901"), None);
        assert_eq!(parse_timeout_ms("-1"), None);
        assert_eq!(parse_timeout_ms(""), None);
        assert_eq!(
            codec_from_content_type("application/json; charset=utf-8"),
            Some((Codec::Json, false))
        );
        assert_eq!(
            codec_from_content_type("Application/Connect+Proto"),
            Some((Codec::Proto, true))
        );
        assert_eq!(codec_from_content_type("text/plain"), None);
        assert_eq!(codec_from_content_type("application/connect+xml"), None);
    }
}
