//! What the gRPC transport shares between server and client: a pass-through codec (the core
//! does its own encoding), status mapping both ways, deadlines and metadata headers.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::error::{Code, Error};
use crate::metadata::Metadata;

/// Messages as raw protobuf bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawCodec;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawCoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCoder;
    type Decoder = RawCoder;

    fn encoder(&mut self) -> RawCoder {
        RawCoder
    }

    fn decoder(&mut self) -> RawCoder {
        RawCoder
    }
}

impl Encoder for RawCoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// Our error as a gRPC status: `grpc-status`, `grpc-message`, and the whole
/// `google.rpc.Status` in `grpc-status-details-bin` so stock rich-status readers see details.
pub(crate) fn to_status(e: &Error) -> tonic::Status {
    tonic::Status::with_details(
        tonic::Code::from_i32(e.code().as_i32()),
        e.message().to_string(),
        Bytes::from(e.to_status_bytes()),
    )
}

/// A gRPC status as our error, keeping the details when the peer sent them.
pub(crate) fn from_status(s: &tonic::Status) -> Error {
    if !s.details().is_empty() {
        let e = Error::from_status_bytes(s.details());
        if e.code() != Code::Internal || s.code() == tonic::Code::Internal {
            return e;
        }
    }
    Error::new(Code::from_i32(s.code() as i32), s.message().to_string())
}

/// The metadata key a retried call's attempts carry: how many attempts came before.
pub(crate) const PREVIOUS_ATTEMPTS: &str = "grpc-previous-rpc-attempts";

/// Parses `grpc-timeout` (`100m`, `5S`, …).
pub(crate) fn parse_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Application metadata from request or response headers (gRPC's own and HTTP's are left
/// out, but for `grpc-previous-rpc-attempts`, which a handler may read; `-bin` values stay
/// base64 text).
pub(crate) fn metadata_from_headers(headers: &http::HeaderMap) -> Metadata {
    super::text_metadata(headers, |key| {
        (key.starts_with("grpc-") && key != PREVIOUS_ATTEMPTS)
            || matches!(
                key,
                "content-type"
                    | "content-length"
                    | "te"
                    | "user-agent"
                    | "accept-encoding"
                    | "date"
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse() {
        assert_eq!(parse_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_timeout("7"), None);
        assert_eq!(parse_timeout(""), None);
    }

    #[test]
    fn status_round_trip_keeps_details() {
        let e = Error::invalid_argument(
            "x",
            vec![crate::FieldViolation {
                field: "a.b".into(),
                description: "bad".into(),
            }],
        );
        let back = from_status(&to_status(&e));
        assert_eq!(back.code(), Code::InvalidArgument);
        assert_eq!(back.field_violations()[0].field, "a.b");
    }
}
