//! Errors across the boundary: the core's error as plain objects, and back.

use std::collections::HashMap;

use hms_ffi_core::{Code, DebugInfo, Details, Error, ErrorInfo, ErrorParts, ForeignError, Origin};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use serde::Serialize;

/// A field that failed validation (`google.rpc.BadRequest.FieldViolation`).
#[napi(object)]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldViolation {
    /// Path of the field: `items[2].price`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

/// Where an error was raised.
#[napi(object)]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorOrigin {
    /// The handler's language: `node`, `python`, `rust`, …
    pub language: String,
    /// `demo.v1.Greeter`.
    pub service: String,
    /// `SayHello`.
    pub method: String,
}

/// A detail the core does not model (a `google.rpc.Status` detail of another type), kept as is
/// so that a handler relaying the error forwards it.
#[napi(object)]
pub struct OtherDetail {
    /// The detail's type URL (`type.googleapis.com/…`).
    pub type_url: String,
    /// Its encoded bytes.
    pub value: Buffer,
}

impl std::fmt::Debug for OtherDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtherDetail")
            .field("type_url", &self.type_url)
            .field("len", &self.value.len())
            .finish()
    }
}

/// The structured details of an error.
#[napi(object)]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    /// Field violations (`google.rpc.BadRequest`).
    pub field_violations: Vec<FieldViolation>,
    /// Machine-readable reason (`google.rpc.ErrorInfo.reason`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The reason's domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Extra facts of the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<HashMap<String, String>>,
    /// Stack frames of the original exception (`google.rpc.DebugInfo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<Vec<String>>,
    /// The original exception's type and message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug: Option<String>,
    /// Where the error was raised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<ErrorOrigin>,
    /// The response headers that came with the error (the first value of each key; `-bin`
    /// values in base64). Read only: a handler that relays the error does not forward them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<HashMap<String, String>>,
    /// The response trailers that came with the error (as `headers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trailers: Option<HashMap<String, String>>,
    /// Details of types the core does not model, kept for a relay (not in a thrown error).
    #[serde(skip)]
    pub other: Option<Vec<OtherDetail>>,
}

/// An error with its gRPC code name (`NOT_FOUND`).
#[napi(object)]
#[derive(Debug)]
pub struct NativeError {
    /// The canonical code name, `NOT_FOUND`; empty for an exception that is not an `HmsError`.
    pub code: String,
    /// The message.
    pub message: String,
    /// Structured details.
    pub details: ErrorDetails,
    /// For an exception a handler threw: its class and stack (the core puts them in DebugInfo).
    pub raised: Option<Raised>,
}

/// The class and stack of an exception a handler threw.
#[napi(object)]
#[derive(Debug)]
pub struct Raised {
    /// The exception's class name (`TypeError`).
    pub type_name: String,
    /// Its stack frames, innermost first as JavaScript writes them.
    pub stack: Vec<String>,
}

/// How a call ended: a CBOR reply or an error. Handlers answer with the same shape.
#[napi(object)]
pub struct CallOutcome {
    /// The reply, as CBOR.
    pub reply: Option<Buffer>,
    /// The error.
    pub error: Option<NativeError>,
    /// The response headers, when asked for (the first value of each key; `-bin` in base64).
    pub headers: Option<HashMap<String, String>>,
    /// The response trailers, when asked for (as `headers`).
    pub trailers: Option<HashMap<String, String>>,
}

impl std::fmt::Debug for CallOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallOutcome")
            .field("reply_len", &self.reply.as_ref().map(|r| r.len()))
            .field("error", &self.error)
            .finish()
    }
}

impl CallOutcome {
    pub(crate) fn from_result(r: hms_ffi_core::Result<Buffer>) -> CallOutcome {
        match r {
            Ok(reply) => CallOutcome {
                reply: Some(reply),
                ..CallOutcome::done()
            },
            Err(e) => CallOutcome::failed(&e),
        }
    }

    /// Neither a reply nor an error: a send that went out, or a stream's end.
    pub(crate) fn done() -> CallOutcome {
        CallOutcome {
            reply: None,
            error: None,
            headers: None,
            trailers: None,
        }
    }

    /// The error.
    pub(crate) fn failed(e: &Error) -> CallOutcome {
        CallOutcome {
            error: Some(to_native(e)),
            ..CallOutcome::done()
        }
    }
}

pub(crate) fn to_native(e: &Error) -> NativeError {
    let d = e.details();
    NativeError {
        code: e.code().name().to_string(),
        message: e.message().to_string(),
        raised: None,
        details: ErrorDetails {
            field_violations: d
                .field_violations
                .iter()
                .map(|v| FieldViolation {
                    field: v.field.clone(),
                    description: v.description.clone(),
                })
                .collect(),
            reason: d.error_info.as_ref().map(|i| i.reason.clone()),
            domain: d.error_info.as_ref().map(|i| i.domain.clone()),
            metadata: d
                .error_info
                .as_ref()
                .map(|i| i.metadata.clone().into_iter().collect()),
            stack: d.debug_info.as_ref().map(|i| i.stack_entries.clone()),
            debug: d.debug_info.as_ref().map(|i| i.detail.clone()),
            origin: e.origin().map(|o| ErrorOrigin {
                language: o.language.clone(),
                service: o.service.clone(),
                method: o.method.clone(),
            }),
            headers: Some(e.headers().first_values()),
            trailers: Some(e.trailers().first_values()),
            other: (!d.other.is_empty()).then(|| {
                d.other
                    .iter()
                    .map(|(type_url, value)| OtherDetail {
                        type_url: type_url.clone(),
                        value: value.clone().into(),
                    })
                    .collect()
            }),
        },
    }
}

/// The core error for what a handler threw (see `toNative` in `lib/errors.js`): the core applies
/// every rule (`Error::from_foreign`); this only converts the shapes.
pub(crate) fn from_native(n: NativeError) -> Error {
    let d = n.details;
    let parts = (!n.code.is_empty()).then(|| ErrorParts {
        code: n.code.parse().unwrap_or(Code::Unknown).as_i32(),
        message: n.message.clone(),
        details: Details {
            field_violations: d
                .field_violations
                .into_iter()
                .map(|v| hms_ffi_core::FieldViolation {
                    field: v.field,
                    description: v.description,
                })
                .collect(),
            error_info: d.reason.map(|reason| ErrorInfo {
                reason,
                domain: d.domain.unwrap_or_default(),
                metadata: d.metadata.unwrap_or_default().into_iter().collect(),
            }),
            debug_info: (d.stack.is_some() || d.debug.is_some()).then(|| DebugInfo {
                stack_entries: d.stack.unwrap_or_default(),
                detail: d.debug.unwrap_or_default(),
            }),
            other: d
                .other
                .unwrap_or_default()
                .into_iter()
                .map(|o| (o.type_url, o.value.to_vec()))
                .collect(),
        },
        origin: d.origin.map(|o| Origin {
            language: o.language,
            service: o.service,
            method: o.method,
        }),
    });
    let raised = n.raised.unwrap_or(Raised {
        type_name: "Error".to_string(),
        stack: Vec::new(),
    });
    Error::from_foreign(ForeignError {
        type_name: raised.type_name,
        message: n.message,
        stack: raised.stack,
        parts,
    })
}

/// A core error thrown into JavaScript: `CODE: message`, then a NUL and the details as JSON,
/// which the JavaScript layer turns into the matching `HmsError` subclass with its details.
pub(crate) fn throw(e: Error) -> napi::Error {
    let details = serde_json::to_string(&to_native(&e).details).unwrap_or_default();
    napi::Error::new(
        napi::Status::GenericFailure,
        format!("{}: {}\u{0}{details}", e.code().name(), e.message()),
    )
}

/// `Result` of the core → `Result` for napi.
pub(crate) fn js<T>(r: hms_ffi_core::Result<T>) -> napi::Result<T> {
    r.map_err(throw)
}
