//! The gRPC-canonical status codes.

use std::fmt;
use std::str::FromStr;

/// A gRPC-canonical status code. The numbers are the ones gRPC puts in `grpc-status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
pub enum Code {
    /// Not an error; returned on success.
    Ok = 0,
    /// The operation was cancelled, typically by the caller.
    Cancelled = 1,
    /// Unknown error, e.g. a status from another address space that this side does not know.
    Unknown = 2,
    /// The client specified an invalid argument (bad type, out-of-range value, unknown field).
    InvalidArgument = 3,
    /// The deadline expired before the operation could complete.
    DeadlineExceeded = 4,
    /// Some requested entity was not found.
    NotFound = 5,
    /// The entity that a client attempted to create already exists.
    AlreadyExists = 6,
    /// The caller does not have permission to execute the operation.
    PermissionDenied = 7,
    /// Some resource has been exhausted (message size, concurrency, rate, nesting depth).
    ResourceExhausted = 8,
    /// The system is not in a state required for the operation.
    FailedPrecondition = 9,
    /// The operation was aborted, typically due to a concurrency issue.
    Aborted = 10,
    /// The operation was attempted past the valid range.
    OutOfRange = 11,
    /// The method is not implemented or not supported.
    Unimplemented = 12,
    /// An internal invariant was broken, or a handler raised an unexpected exception.
    Internal = 13,
    /// The service is currently unavailable (not listening, connection lost, shutting down).
    Unavailable = 14,
    /// Unrecoverable data loss or corruption.
    DataLoss = 15,
    /// The request does not have valid authentication credentials.
    Unauthenticated = 16,
}

/// Every code, in numeric order.
pub const ALL_CODES: [Code; 17] = [
    Code::Ok,
    Code::Cancelled,
    Code::Unknown,
    Code::InvalidArgument,
    Code::DeadlineExceeded,
    Code::NotFound,
    Code::AlreadyExists,
    Code::PermissionDenied,
    Code::ResourceExhausted,
    Code::FailedPrecondition,
    Code::Aborted,
    Code::OutOfRange,
    Code::Unimplemented,
    Code::Internal,
    Code::Unavailable,
    Code::DataLoss,
    Code::Unauthenticated,
];

impl Code {
    /// The code's number, as sent in `grpc-status`.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// The code for a number; numbers outside 0..=16 become [`Code::Unknown`], as gRPC does.
    pub fn from_i32(n: i32) -> Code {
        usize::try_from(n)
            .ok()
            .and_then(|i| ALL_CODES.get(i).copied())
            .unwrap_or(Code::Unknown)
    }

    /// The canonical upper-snake name: `"NOT_FOUND"`.
    pub fn name(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// The UpperCamel name used for exception classes: `"NotFound"`.
    pub fn camel_name(self) -> &'static str {
        match self {
            Code::Ok => "Ok",
            Code::Cancelled => "Cancelled",
            Code::Unknown => "Unknown",
            Code::InvalidArgument => "InvalidArgument",
            Code::DeadlineExceeded => "DeadlineExceeded",
            Code::NotFound => "NotFound",
            Code::AlreadyExists => "AlreadyExists",
            Code::PermissionDenied => "PermissionDenied",
            Code::ResourceExhausted => "ResourceExhausted",
            Code::FailedPrecondition => "FailedPrecondition",
            Code::Aborted => "Aborted",
            Code::OutOfRange => "OutOfRange",
            Code::Unimplemented => "Unimplemented",
            Code::Internal => "Internal",
            Code::Unavailable => "Unavailable",
            Code::DataLoss => "DataLoss",
            Code::Unauthenticated => "Unauthenticated",
        }
    }

    /// Whether a retry of the same call may succeed (gRPC's usual retryable set).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Code::Unavailable | Code::Aborted | Code::ResourceExhausted | Code::DeadlineExceeded
        )
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a string that names no code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCodeName(pub String);

impl fmt::Display for UnknownCodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown status code name {:?}", self.0)
    }
}

impl std::error::Error for UnknownCodeName {}

impl FromStr for Code {
    type Err = UnknownCodeName;

    /// Accepts `NOT_FOUND`, `not_found`, `NotFound` and the number as text.
    fn from_str(s: &str) -> Result<Code, UnknownCodeName> {
        if let Ok(n) = s.parse::<i32>() {
            return if (0..=16).contains(&n) {
                Ok(Code::from_i32(n))
            } else {
                Err(UnknownCodeName(s.to_string()))
            };
        }
        let folded: String = s
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect();
        ALL_CODES
            .iter()
            .copied()
            .find(|c| c.camel_name().to_lowercase() == folded)
            .ok_or_else(|| UnknownCodeName(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for code in ALL_CODES {
            assert_eq!(code.name().parse::<Code>(), Ok(code));
            assert_eq!(code.camel_name().parse::<Code>(), Ok(code));
            assert_eq!(Code::from_i32(code.as_i32()), code);
        }
        assert_eq!("not_found".parse::<Code>(), Ok(Code::NotFound));
        assert!("NOPE".parse::<Code>().is_err());
        assert_eq!(Code::from_i32(99), Code::Unknown);
    }
}
