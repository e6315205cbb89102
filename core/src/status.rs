//! Conversion of [`Error`] to and from `google.rpc.Status` bytes, the form gRPC carries in
//! `grpc-status-details-bin` and the local wire carries in its trailers.

use std::collections::BTreeMap;

use prost::Message;

use crate::error::{Code, DebugInfo, Details, Error, ErrorInfo, FieldViolation, Origin};

const BAD_REQUEST: &str = "type.googleapis.com/google.rpc.BadRequest";
const ERROR_INFO: &str = "type.googleapis.com/google.rpc.ErrorInfo";
const DEBUG_INFO: &str = "type.googleapis.com/google.rpc.DebugInfo";
const ORIGIN: &str = "type.googleapis.com/hms.ffi.v1.Origin";

#[derive(Clone, PartialEq, Message)]
struct StatusProto {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<AnyProto>,
}

#[derive(Clone, PartialEq, Message)]
struct AnyProto {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct BadRequestProto {
    #[prost(message, repeated, tag = "1")]
    field_violations: Vec<FieldViolationProto>,
}

#[derive(Clone, PartialEq, Message)]
struct FieldViolationProto {
    #[prost(string, tag = "1")]
    field: String,
    #[prost(string, tag = "2")]
    description: String,
}

#[derive(Clone, PartialEq, Message)]
struct ErrorInfoProto {
    #[prost(string, tag = "1")]
    reason: String,
    #[prost(string, tag = "2")]
    domain: String,
    #[prost(btree_map = "string, string", tag = "3")]
    metadata: BTreeMap<String, String>,
}

#[derive(Clone, PartialEq, Message)]
struct DebugInfoProto {
    #[prost(string, repeated, tag = "1")]
    stack_entries: Vec<String>,
    #[prost(string, tag = "2")]
    detail: String,
}

#[derive(Clone, PartialEq, Message)]
struct OriginProto {
    #[prost(string, tag = "1")]
    language: String,
    #[prost(string, tag = "2")]
    service: String,
    #[prost(string, tag = "3")]
    method: String,
}

fn any(type_url: &str, msg: &impl Message) -> AnyProto {
    AnyProto {
        type_url: type_url.to_string(),
        value: msg.encode_to_vec(),
    }
}

impl Error {
    /// Encodes this error as a `google.rpc.Status` message: field violations as
    /// `google.rpc.BadRequest`, the reason as `google.rpc.ErrorInfo`, the stack as
    /// `google.rpc.DebugInfo` and the origin as `hms.ffi.v1.Origin`, each packed in an `Any`.
    pub fn to_status_bytes(&self) -> Vec<u8> {
        StatusProto {
            code: self.code().as_i32(),
            message: self.message().to_string(),
            details: self.any_details(),
        }
        .encode_to_vec()
    }

    /// The details as `(type_url, encoded message, debug JSON)`, in the order
    /// [`Error::to_status_bytes`] writes them; the JSON is `None` for types this library does not
    /// know. The Connect protocol sends them this way.
    pub(crate) fn detail_parts(&self) -> Vec<(String, Vec<u8>, Option<serde_json::Value>)> {
        use serde_json::json;
        let d = self.details();
        let mut debug = Vec::new();
        if !d.field_violations.is_empty() {
            let v: Vec<_> = d
                .field_violations
                .iter()
                .map(|v| json!({"field": v.field, "description": v.description}))
                .collect();
            debug.push(Some(json!({ "fieldViolations": v })));
        }
        if let Some(i) = &d.error_info {
            debug.push(Some(
                json!({"reason": i.reason, "domain": i.domain, "metadata": i.metadata}),
            ));
        }
        if let Some(i) = &d.debug_info {
            debug.push(Some(
                json!({"stackEntries": i.stack_entries, "detail": i.detail}),
            ));
        }
        if let Some(o) = self.origin() {
            debug.push(Some(
                json!({"language": o.language, "service": o.service, "method": o.method}),
            ));
        }
        debug.resize(debug.len() + d.other.len(), None);
        self.any_details()
            .into_iter()
            .zip(debug)
            .map(|(a, j)| (a.type_url, a.value, j))
            .collect()
    }

    /// An error from its code, message and `(type_url, encoded message)` details.
    pub(crate) fn from_parts(
        code: Code,
        message: String,
        details: Vec<(String, Vec<u8>)>,
    ) -> Error {
        Error::from_proto(StatusProto {
            code: code.as_i32(),
            message,
            details: details
                .into_iter()
                .map(|(type_url, value)| AnyProto { type_url, value })
                .collect(),
        })
    }

    fn any_details(&self) -> Vec<AnyProto> {
        let d = self.details();
        let mut details = Vec::new();
        if !d.field_violations.is_empty() {
            let br = BadRequestProto {
                field_violations: d
                    .field_violations
                    .iter()
                    .map(|v| FieldViolationProto {
                        field: v.field.clone(),
                        description: v.description.clone(),
                    })
                    .collect(),
            };
            details.push(any(BAD_REQUEST, &br));
        }
        if let Some(info) = &d.error_info {
            let p = ErrorInfoProto {
                reason: info.reason.clone(),
                domain: info.domain.clone(),
                metadata: info.metadata.clone(),
            };
            details.push(any(ERROR_INFO, &p));
        }
        if let Some(debug) = &d.debug_info {
            let p = DebugInfoProto {
                stack_entries: debug.stack_entries.clone(),
                detail: debug.detail.clone(),
            };
            details.push(any(DEBUG_INFO, &p));
        }
        if let Some(o) = self.origin() {
            let p = OriginProto {
                language: o.language.clone(),
                service: o.service.clone(),
                method: o.method.clone(),
            };
            details.push(any(ORIGIN, &p));
        }
        for (type_url, value) in &d.other {
            details.push(AnyProto {
                type_url: type_url.clone(),
                value: value.clone(),
            });
        }
        details
    }

    /// Decodes a `google.rpc.Status` message. Details of unknown types are kept in
    /// [`Details::other`]; a status that does not decode becomes `Internal`... never a panic.
    pub fn from_status_bytes(bytes: &[u8]) -> Error {
        let status = match StatusProto::decode(bytes) {
            Ok(s) => s,
            Err(e) => return Error::new(Code::Internal, format!("undecodable error status: {e}")),
        };
        Error::from_proto(status)
    }

    fn from_proto(status: StatusProto) -> Error {
        let mut details = Details::default();
        let mut origin = None;
        for a in status.details {
            let value = a.value.as_slice();
            match a.type_url.as_str() {
                BAD_REQUEST => match BadRequestProto::decode(value) {
                    Ok(br) => details
                        .field_violations
                        .extend(br.field_violations.into_iter().map(|v| FieldViolation {
                            field: v.field,
                            description: v.description,
                        })),
                    Err(_) => details.other.push((a.type_url, a.value)),
                },
                ERROR_INFO => match ErrorInfoProto::decode(value) {
                    Ok(p) => {
                        details.error_info = Some(ErrorInfo {
                            reason: p.reason,
                            domain: p.domain,
                            metadata: p.metadata,
                        })
                    }
                    Err(_) => details.other.push((a.type_url, a.value)),
                },
                DEBUG_INFO => match DebugInfoProto::decode(value) {
                    Ok(p) => {
                        details.debug_info = Some(DebugInfo {
                            stack_entries: p.stack_entries,
                            detail: p.detail,
                        })
                    }
                    Err(_) => details.other.push((a.type_url, a.value)),
                },
                ORIGIN => match OriginProto::decode(value) {
                    Ok(p) => {
                        origin = Some(Origin {
                            language: p.language,
                            service: p.service,
                            method: p.method,
                        })
                    }
                    Err(_) => details.other.push((a.type_url, a.value)),
                },
                _ => details.other.push((a.type_url, a.value)),
            }
        }
        let err = Error::new(Code::from_i32(status.code), status.message).with_details(details);
        match origin {
            Some(o) => err.with_origin(o),
            None => err,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trip_keeps_everything() {
        let mut details = Details {
            field_violations: vec![FieldViolation {
                field: "items[2].price".into(),
                description: "expected double, got str".into(),
            }],
            debug_info: Some(DebugInfo {
                stack_entries: vec!["File \"x.py\", line 3".into()],
                detail: "ValueError: boom".into(),
            }),
            ..Details::default()
        };
        details.other.push(("type.example/x".into(), vec![1, 2, 3]));
        let err = Error::new(Code::NotFound, "no such user")
            .with_details(details)
            .with_reason("USER_MISSING")
            .with_origin(Origin {
                language: "python".into(),
                service: "demo.v1.Users".into(),
                method: "Get".into(),
            });
        let back = Error::from_status_bytes(&err.to_status_bytes());
        assert_eq!(back, err);
    }

    #[test]
    fn garbage_status_is_internal() {
        let err = Error::from_status_bytes(&[0xff, 0xff, 0xff]);
        assert_eq!(err.code(), Code::Internal);
    }
}
