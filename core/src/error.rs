//! The one error model: a gRPC-canonical [`Code`], a message, structured details and an origin.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub use crate::code::Code;
use crate::metadata::{Metadata, EMPTY};

/// A field that failed validation, with its path in the message (`items[2].price`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field: dotted names, `[i]` for list items, `["k"]`/`[7]` for map entries.
    pub field: String,
    /// What is wrong with it: `expected double, got str`.
    pub description: String,
}

/// Machine-readable reason for an error (maps to `google.rpc.ErrorInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorInfo {
    /// Short UPPER_SNAKE reason, e.g. `MESSAGE_TOO_LARGE`.
    pub reason: String,
    /// The domain that defines the reason, e.g. `hms-ffi`.
    pub domain: String,
    /// Extra key/value facts.
    pub metadata: BTreeMap<String, String>,
}

/// Debugging facts: the stack where the error was raised (maps to `google.rpc.DebugInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DebugInfo {
    /// Stack frames, innermost last, as text.
    pub stack_entries: Vec<String>,
    /// Free text, e.g. the original exception type and message.
    pub detail: String,
}

/// Where an error was raised: which language, service and method.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The language of the handler that raised it (`rust`, `python`, …).
    pub language: String,
    /// The fully qualified service (`demo.v1.Greeter`).
    pub service: String,
    /// The method name (`SayHello`).
    pub method: String,
}

/// The structured details of an [`Error`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Details {
    /// Field violations (`google.rpc.BadRequest`).
    pub field_violations: Vec<FieldViolation>,
    /// A machine-readable reason (`google.rpc.ErrorInfo`).
    pub error_info: Option<ErrorInfo>,
    /// Stack and exception facts (`google.rpc.DebugInfo`).
    pub debug_info: Option<DebugInfo>,
    /// Details of types this library does not know, kept as `(type_url, bytes)`.
    pub other: Vec<(String, Vec<u8>)>,
}

impl Details {
    /// True when no detail is set.
    pub fn is_empty(&self) -> bool {
        self.field_violations.is_empty()
            && self.error_info.is_none()
            && self.debug_info.is_none()
            && self.other.is_empty()
    }
}

/// The error returned by every fallible hms-ffi operation, and sent between processes.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    code: Code,
    message: String,
    details: Details,
    origin: Option<Origin>,
    /// The response headers and trailers that came with the error, when there were any.
    response: Option<Box<(Metadata, Metadata)>>,
    /// What caused it in this process (never sent: a peer gets the code, message and details).
    source: Source,
}

/// An error's cause, as [`std::error::Error::source`] gives it. Errors compare equal whatever
/// their causes: the cause is for logs and debugging, the wire parts are what an error means.
#[derive(Clone, Default)]
struct Source(
    Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
    /// The call this error ended never reached a server (see [`Error::is_unsent`]).
    bool,
);

impl PartialEq for Source {
    fn eq(&self, _: &Source) -> bool {
        true
    }
}

impl Eq for Source {}

/// The reason of an error raised with code OK, which [`Error::new`] turns into `Unknown`.
pub const OK_IS_NOT_AN_ERROR: &str = "OK_IS_NOT_AN_ERROR";

/// Shorthand for `Result<T, hms_ffi_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with a code and a message.
    ///
    /// Code OK is not an error: it becomes [`Code::Unknown`] with the reason
    /// `OK_IS_NOT_AN_ERROR`, so that no transport ever writes a failure as a success.
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        if code == Code::Ok {
            let message = format!("an error was raised with code OK: {}", message.into());
            return Error::new(Code::Unknown, message).with_reason(OK_IS_NOT_AN_ERROR);
        }
        Error {
            inner: Box::new(Inner {
                code,
                message: message.into(),
                details: Details::default(),
                origin: None,
                response: None,
                source: Source::default(),
            }),
        }
    }

    /// `InvalidArgument` listing every violation; the message names them all.
    pub fn invalid_argument(what: &str, violations: Vec<FieldViolation>) -> Error {
        let listed: Vec<String> = violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect();
        let message = match violations.len() {
            0 => format!("invalid {what}"),
            1 => format!("invalid {what}: {}", listed[0]),
            n => format!("invalid {what} ({n} violations): {}", listed.join("; ")),
        };
        let mut err = Error::new(Code::InvalidArgument, message);
        err.inner.details.field_violations = violations;
        err
    }

    /// `ResourceExhausted` with an `ErrorInfo` reason (`MESSAGE_TOO_LARGE`, …).
    pub fn resource_exhausted(reason: &str, message: impl Into<String>) -> Error {
        Error::new(Code::ResourceExhausted, message).with_reason(reason)
    }

    /// Sets an `ErrorInfo` with the given reason in the `hms-ffi` domain.
    pub fn with_reason(self, reason: &str) -> Error {
        self.with_error_info(reason, "", BTreeMap::new())
    }

    /// Sets an `ErrorInfo` (`google.rpc.ErrorInfo`); an empty `domain` means `hms-ffi`. The
    /// bindings use it to keep a re-raised error's reason, domain and metadata.
    pub fn with_error_info(
        mut self,
        reason: &str,
        domain: &str,
        metadata: BTreeMap<String, String>,
    ) -> Error {
        let domain = if domain.is_empty() { "hms-ffi" } else { domain };
        self.inner.details.error_info = Some(ErrorInfo {
            reason: reason.to_string(),
            domain: domain.to_string(),
            metadata,
        });
        self
    }

    /// Replaces the details. An error made with code OK keeps the reason that says so (see
    /// [`Error::new`]) over any `ErrorInfo` in `details`.
    pub fn with_details(mut self, mut details: Details) -> Error {
        let refused_ok = self.inner.details.error_info.as_ref().is_some_and(|i| {
            i.reason == OK_IS_NOT_AN_ERROR
                && i.domain == "hms-ffi"
                && self.inner.code == Code::Unknown
        });
        if refused_ok {
            details.error_info = self.inner.details.error_info.take();
        }
        self.inner.details = details;
        self
    }

    /// Sets the origin.
    pub fn with_origin(mut self, origin: Origin) -> Error {
        self.inner.origin = Some(origin);
        self
    }

    /// Attaches the response headers and trailers the handler sent with the error (a client
    /// transport does, on every transport), so a caller reads them as it does with a reply.
    pub fn with_response_metadata(mut self, headers: Metadata, trailers: Metadata) -> Error {
        self.inner.response =
            (!headers.is_empty() || !trailers.is_empty()).then(|| Box::new((headers, trailers)));
        self
    }

    /// The response headers (gRPC initial metadata) that came with the error.
    pub fn headers(&self) -> &Metadata {
        self.inner.response.as_ref().map_or(&EMPTY, |r| &r.0)
    }

    /// The response trailers (gRPC trailing metadata) that came with the error.
    pub fn trailers(&self) -> &Metadata {
        self.inner.response.as_ref().map_or(&EMPTY, |r| &r.1)
    }

    /// Sets the origin if none is set yet.
    pub(crate) fn or_origin(mut self, origin: impl FnOnce() -> Origin) -> Error {
        if self.inner.origin.is_none() {
            self.inner.origin = Some(origin());
        }
        // A handler's error: the call did reach this server, whatever the handler's own
        // outgoing call it may relay.
        self.inner.source.1 = false;
        self
    }

    /// The status code.
    pub fn code(&self) -> Code {
        self.inner.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The structured details.
    pub fn details(&self) -> &Details {
        &self.inner.details
    }

    /// Mutable access to the details.
    pub fn details_mut(&mut self) -> &mut Details {
        &mut self.inner.details
    }

    /// Where the error was raised, when known.
    pub fn origin(&self) -> Option<&Origin> {
        self.inner.origin.as_ref()
    }

    /// The field violations (empty unless `InvalidArgument`-like).
    pub fn field_violations(&self) -> &[FieldViolation] {
        &self.inner.details.field_violations
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> Error {
        Error::new(Code::Unavailable, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Error {
        Error::new(Code::Internal, message)
    }

    pub(crate) fn unimplemented_method(method: &str) -> Error {
        Error::new(Code::Unimplemented, format!("unknown method {method}"))
            .with_reason("UNKNOWN_METHOD")
    }

    /// A handler's reply its binding could not read back into a value (malformed typed JSON or
    /// CBOR): the server's fault, `Internal`, with the cause's reason and details; a reply
    /// nested too deep stays `ResourceExhausted`, as in every binding.
    pub fn invalid_reply(cause: Error) -> Error {
        if cause.code() == Code::ResourceExhausted {
            return cause;
        }
        let message = format!(
            "the handler replied with an invalid value: {}",
            cause.message()
        );
        let details = cause.details().clone();
        Error::new(Code::Internal, message)
            .with_details(details)
            .with_source(cause)
    }

    /// The error with `source` as its cause ([`std::error::Error::source`]), as tonic's
    /// `Status` keeps one: an I/O error, a decoding error, the error a relayed call failed
    /// with. The cause stays in this process; what travels is the code, message and details.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.inner.source.0 = Some(Arc::new(source));
        self
    }

    /// Marks the error of a call that never reached a server: the connection could not be
    /// made, was closed, or the request was not written whole. Such a call may be made again
    /// whatever its method does (gRPC's transparent retry). The mark stays in this process.
    pub(crate) fn unsent(mut self) -> Error {
        self.inner.source.1 = true;
        self
    }

    /// Whether [`unsent`](Error::unsent) marked the error.
    pub fn is_unsent(&self) -> bool {
        self.inner.source.1
    }

    /// A call on a closed client (or in flight when it closed), on every transport.
    pub(crate) fn client_closed() -> Error {
        Error::new(Code::Cancelled, "client closed").with_reason("CLIENT_CLOSED")
    }

    pub(crate) fn cancelled() -> Error {
        Error::new(Code::Cancelled, "call cancelled")
    }

    pub(crate) fn deadline_exceeded() -> Error {
        Error::new(Code::DeadlineExceeded, "deadline exceeded")
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("code", &self.inner.code)
            .field("message", &self.inner.message);
        if !self.inner.details.is_empty() {
            d.field("details", &self.inner.details);
        }
        if let Some(origin) = &self.inner.origin {
            d.field("origin", origin);
        }
        if let Some(source) = &self.inner.source.0 {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.code, self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source = self.inner.source.0.as_deref()?;
        Some(source)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::unavailable(format!("i/o error: {e}")).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_chain_is_kept_locally_and_never_changes_equality() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe closed");
        let err = Error::from(io);
        let cause = err.source().expect("an i/o error keeps its cause");
        let io = cause
            .downcast_ref::<std::io::Error>()
            .expect("the cause is the io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::BrokenPipe);
        // Two levels: a reply that could not be read keeps the decoding error as its cause.
        let reply =
            Error::invalid_reply(Error::new(Code::InvalidArgument, "bad cbor").with_source(
                std::io::Error::new(std::io::ErrorKind::InvalidData, "truncated"),
            ));
        let cause = reply.source().expect("the cause");
        assert_eq!(cause.to_string(), "INVALID_ARGUMENT: bad cbor");
        assert_eq!(
            cause.source().map(|s| s.to_string()).as_deref(),
            Some("truncated")
        );
        assert!(format!("{reply:?}").contains("source"), "{reply:?}");
        // The cause is not part of what the error means, nor of what is sent.
        let plain = Error::new(Code::Internal, "x");
        let caused = Error::new(Code::Internal, "x").with_source(std::fmt::Error);
        assert_eq!(plain, caused);
        assert!(Error::from_status_bytes(&caused.to_status_bytes())
            .source()
            .is_none());
    }

    #[test]
    fn invalid_argument_lists_every_violation() {
        let err = Error::invalid_argument(
            "request",
            vec![
                FieldViolation {
                    field: "items[2].price".into(),
                    description: "expected double, got str".into(),
                },
                FieldViolation {
                    field: "qty".into(),
                    description: "out of range for int32".into(),
                },
            ],
        );
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err
            .message()
            .contains("items[2].price: expected double, got str"));
        assert!(err.message().contains("2 violations"));
        assert_eq!(err.field_violations().len(), 2);
        assert_eq!(err.to_string().split(':').next(), Some("INVALID_ARGUMENT"));
    }

    #[test]
    fn error_info_keeps_its_domain_and_an_empty_one_is_ours() {
        let md = BTreeMap::from([("id".to_string(), "7".to_string())]);
        let err = Error::new(Code::NotFound, "no user 7").with_error_info(
            "NO_USER",
            "users.example",
            md.clone(),
        );
        let info = err.details().error_info.clone().expect("error info");
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("NO_USER", "users.example")
        );
        assert_eq!(info.metadata, md);
        let ours = Error::new(Code::NotFound, "x").with_error_info("R", "", BTreeMap::new());
        assert_eq!(
            ours.details()
                .error_info
                .as_ref()
                .map(|i| i.domain.as_str()),
            Some("hms-ffi")
        );
        let reason_only = Error::new(Code::NotFound, "x").with_reason("R");
        let info = reason_only
            .details()
            .error_info
            .clone()
            .expect("error info");
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("R", "hms-ffi")
        );
        assert!(info.metadata.is_empty());
    }
}
