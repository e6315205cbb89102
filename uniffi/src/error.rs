//! The error model across the boundary: [`HmsError`], one variant per gRPC code, each carrying
//! the code, the message (`msg`, because Kotlin's `Throwable` owns `message`) and the details.

use std::collections::HashMap;

use crate::ocore;
pub use crate::ocore::Code;

/// The gRPC-canonical status codes (the core's own enum, exported as is).
#[uniffi::remote(Enum)]
pub enum Code {
    Ok,
    Cancelled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
}

/// A field that failed validation, with its path (`items[2].price`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldViolation {
    /// Path of the field.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

/// A machine-readable reason (`google.rpc.ErrorInfo`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ErrorInfo {
    /// Short UPPER_SNAKE reason, e.g. `MESSAGE_TOO_LARGE`.
    pub reason: String,
    /// The domain that defines the reason.
    #[uniffi(default)]
    pub domain: String,
    /// Extra facts.
    #[uniffi(default)]
    pub metadata: HashMap<String, String>,
}

/// Stack and exception facts (`google.rpc.DebugInfo`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DebugInfo {
    /// Stack frames, innermost last.
    pub stack_entries: Vec<String>,
    /// Free text, e.g. the exception type and message.
    pub detail: String,
}

/// Where an error was raised.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Origin {
    /// Language of the handler (`rust`, `kotlin`, `python`, …).
    pub language: String,
    /// The fully qualified service.
    pub service: String,
    /// The method name.
    pub method: String,
}

/// A detail of a type the library does not model (`google.protobuf.Any`): kept as it came, so a
/// re-raised error passes it on.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AnyDetail {
    /// The type URL (`type.googleapis.com/google.rpc.RetryInfo`).
    pub type_url: String,
    /// The encoded message.
    pub value: Vec<u8>,
}

/// The structured details of an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct ErrorDetails {
    /// Field violations (`google.rpc.BadRequest`).
    #[uniffi(default)]
    pub field_violations: Vec<FieldViolation>,
    /// A machine-readable reason.
    #[uniffi(default)]
    pub error_info: Option<ErrorInfo>,
    /// Stack and exception facts.
    #[uniffi(default)]
    pub debug_info: Option<DebugInfo>,
    /// Where the error was raised: set by the server when a handler's error has none; a
    /// re-thrown error keeps the one it came with.
    #[uniffi(default)]
    pub origin: Option<Origin>,
    /// Details of other types, as they came.
    #[uniffi(default)]
    pub other: Vec<AnyDetail>,
    /// The response headers the handler set before it failed (a caller's error only).
    #[uniffi(default)]
    pub headers: Vec<crate::MetadataEntry>,
    /// The response trailers the handler set before it failed (a caller's error only).
    #[uniffi(default)]
    pub trailers: Vec<crate::MetadataEntry>,
}

macro_rules! hms_error {
    ($($variant:ident = $doc:literal),* $(,)?) => {
        /// An hms-ffi error: the variant is the gRPC code. Handlers throw it to fail a call
        /// with that code; any other exception reaches the caller as `Internal`.
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
        pub enum HmsError {
            $(
                #[doc = $doc]
                #[error("{code:?}: {msg}")]
                $variant {
                    /// The code (the same as the variant).
                    code: Code,
                    /// The human-readable message.
                    msg: String,
                    /// The structured details.
                    details: ErrorDetails,
                },
            )*
        }

        impl HmsError {
            fn parts(self) -> (Code, String, ErrorDetails) {
                match self {
                    $(HmsError::$variant { msg, details, .. } => (Code::$variant, msg, details),)*
                }
            }

            fn build(code: Code, msg: String, details: ErrorDetails) -> HmsError {
                match code {
                    $(Code::$variant => HmsError::$variant { code, msg, details },)*
                    // Never reached: the core turns an error with code OK into Unknown.
                    Code::Ok => HmsError::Unknown { code: Code::Unknown, msg, details },
                }
            }
        }
    };
}

hms_error!(
    Cancelled = "The call was cancelled, usually by the caller.",
    Unknown = "An error with no better code.",
    InvalidArgument = "The request is invalid; `details.field_violations` say where.",
    DeadlineExceeded = "The deadline passed before the call completed.",
    NotFound = "Something requested was not found.",
    AlreadyExists = "Something to create already exists.",
    PermissionDenied = "The caller may not do this.",
    ResourceExhausted = "A limit was hit (message size, depth, quota).",
    FailedPrecondition = "The system is not in a state to do this.",
    Aborted = "The operation was aborted (a concurrency conflict).",
    OutOfRange = "A value is past the valid range.",
    Unimplemented = "The method is unknown or not served.",
    Internal = "An internal error, including an exception thrown by a handler.",
    Unavailable = "The service cannot be reached now; retrying may help.",
    DataLoss = "Unrecoverable data loss or corruption.",
    Unauthenticated = "The caller is not authenticated.",
);

impl From<ocore::Error> for HmsError {
    fn from(e: ocore::Error) -> HmsError {
        let d = e.details();
        let details = ErrorDetails {
            field_violations: d
                .field_violations
                .iter()
                .map(|v| FieldViolation {
                    field: v.field.clone(),
                    description: v.description.clone(),
                })
                .collect(),
            error_info: d.error_info.as_ref().map(|i| ErrorInfo {
                reason: i.reason.clone(),
                domain: i.domain.clone(),
                metadata: i.metadata.clone().into_iter().collect(),
            }),
            debug_info: d.debug_info.as_ref().map(|i| DebugInfo {
                stack_entries: i.stack_entries.clone(),
                detail: i.detail.clone(),
            }),
            origin: e.origin().map(|o| Origin {
                language: o.language.clone(),
                service: o.service.clone(),
                method: o.method.clone(),
            }),
            other: d
                .other
                .iter()
                .map(|(type_url, value)| AnyDetail {
                    type_url: type_url.clone(),
                    value: value.clone(),
                })
                .collect(),
            headers: crate::context::entries(e.headers()),
            trailers: crate::context::entries(e.trailers()),
        };
        HmsError::build(e.code(), e.message().to_string(), details)
    }
}

impl From<HmsError> for ocore::Error {
    fn from(e: HmsError) -> ocore::Error {
        let (code, msg, d) = e.parts();
        let details = ocore::Details {
            field_violations: d
                .field_violations
                .into_iter()
                .map(|v| ocore::FieldViolation {
                    field: v.field,
                    description: v.description,
                })
                .collect(),
            error_info: d.error_info.map(|i| ocore::ErrorInfo {
                reason: i.reason,
                domain: i.domain,
                metadata: i.metadata.into_iter().collect(),
            }),
            debug_info: d.debug_info.map(|i| ocore::DebugInfo {
                stack_entries: i.stack_entries,
                detail: i.detail,
            }),
            other: d.other.into_iter().map(|a| (a.type_url, a.value)).collect(),
        };
        let origin = d.origin.map(|o| ocore::Origin {
            language: o.language,
            service: o.service,
            method: o.method,
        });
        ocore::Error::from_foreign(ocore::ForeignError {
            type_name: format!("HmsError.{}", code.camel_name()),
            message: msg.clone(),
            stack: Vec::new(),
            parts: Some(ocore::ErrorParts {
                code: code.as_i32(),
                message: msg,
                details,
                origin,
            }),
        })
    }
}

/// An exception the foreign handler did not turn into an [`HmsError`] (UniFFI reports it with
/// its text): `Internal`, keeping that text.
impl From<uniffi::UnexpectedUniFFICallbackError> for HmsError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> HmsError {
        let details = ErrorDetails {
            debug_info: Some(DebugInfo {
                stack_entries: Vec::new(),
                detail: e.reason.clone(),
            }),
            ..ErrorDetails::default()
        };
        HmsError::build(Code::Internal, e.reason, details)
    }
}

/// Shorthand for results crossing the boundary.
pub type HmsResult<T> = Result<T, HmsError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_code_message_and_details_both_ways() {
        let core = ocore::Error::invalid_argument(
            "request",
            vec![ocore::FieldViolation {
                field: "items[2].price".into(),
                description: "expected double, got str".into(),
            }],
        )
        .with_reason("BAD");
        let e = HmsError::from(core.clone());
        let HmsError::InvalidArgument { code, details, .. } = &e else {
            panic!("wrong variant {e:?}")
        };
        assert_eq!(*code, Code::InvalidArgument);
        assert_eq!(details.field_violations[0].field, "items[2].price");
        assert_eq!(details.error_info.as_ref().unwrap().reason, "BAD");
        let back = ocore::Error::from(e);
        assert_eq!(back.code(), Code::InvalidArgument);
        assert_eq!(back.message(), core.message());
        assert_eq!(back.field_violations(), core.field_violations());
    }

    #[test]
    fn a_rethrown_error_keeps_every_detail_and_its_origin() {
        let mut core = ocore::Error::new(Code::NotFound, "no user 7")
            .with_error_info(
                "NO_SUCH_USER",
                "users.example",
                [("id".to_string(), "7".to_string())].into(),
            )
            .with_origin(ocore::Origin {
                language: "go".into(),
                service: "users.v1.Users".into(),
                method: "Get".into(),
            });
        core.details_mut().other = vec![(
            "type.googleapis.com/google.rpc.RetryInfo".into(),
            vec![0x0a, 0x02, 0x08, 0x05],
        )];
        let e = HmsError::from(core.clone());
        let HmsError::NotFound { details, .. } = &e else {
            panic!("wrong variant {e:?}")
        };
        assert_eq!(details.other[0].value, vec![0x0a, 0x02, 0x08, 0x05]);
        let back = ocore::Error::from(e);
        assert_eq!(back.details(), core.details());
        assert_eq!(back.origin(), core.origin());
        assert_eq!(back.message(), core.message());
    }

    #[test]
    fn the_variant_decides_the_code_and_ok_is_never_an_error() {
        let e = HmsError::NotFound {
            code: Code::Internal,
            msg: "gone".into(),
            details: ErrorDetails::default(),
        };
        assert_eq!(ocore::Error::from(e).code(), Code::NotFound);
        let ok = HmsError::build(Code::Ok, "odd".into(), ErrorDetails::default());
        assert!(matches!(ok, HmsError::Unknown { .. }));
    }
}
