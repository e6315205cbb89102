//! Errors across the boundary.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::ocore::{self, Code, Error};
use crate::HmsBytes;

/// An error: gRPC code, message, and every detail as a serialized `google.rpc.Status`.
#[repr(C)]
#[derive(Debug)]
pub struct HmsError {
    /// The gRPC status code (never 0).
    pub code: i32,
    /// NUL-terminated UTF-8 message.
    pub message: *mut c_char,
    /// `google.rpc.Status` bytes: code, message and details (BadRequest field violations,
    /// ErrorInfo, DebugInfo, hms.ffi.v1.Origin).
    pub status: HmsBytes,
}

pub(crate) fn c_string(s: &str) -> *mut c_char {
    CString::new(s.replace('\0', "\u{FFFD}")).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// Stores `e` in `*err` (when not NULL) and returns its code.
pub(crate) unsafe fn set_error(err: *mut *mut HmsError, e: &Error) -> i32 {
    if !err.is_null() {
        let boxed = Box::new(HmsError {
            code: e.code().as_i32(),
            message: c_string(e.message()),
            status: HmsBytes::from_vec(e.to_status_bytes()),
        });
        *err = Box::into_raw(boxed);
    }
    e.code().as_i32()
}

/// The core's error for one the caller made: `status` (a serialized `google.rpc.Status`), when
/// not empty, gives the code, message and details (a relayed error keeps them all); else `code`
/// and `message` are used. The core's rules for a foreign error apply (code OK refused, details
/// and origin kept, an ErrorInfo without a domain in `hms-ffi`'s): a handler's failure
/// (`hms_call_fail`) and a request the caller refused in a batch (`hms_client_batch`).
pub(crate) unsafe fn caller_error(code: i32, message: *const c_char, status: &[u8]) -> Error {
    let message = text(message, "message").unwrap_or_default().to_string();
    let parts = if status.is_empty() {
        ocore::ErrorParts {
            code,
            message: message.clone(),
            ..Default::default()
        }
    } else {
        let e = Error::from_status_bytes(status);
        ocore::ErrorParts {
            code: e.code().as_i32(),
            message: e.message().to_string(),
            details: e.details().clone(),
            origin: e.origin().cloned(),
        }
    };
    Error::from_foreign(ocore::ForeignError {
        type_name: "error".to_string(),
        message,
        stack: Vec::new(),
        parts: Some(parts),
    })
}

/// Frees an error (NULL-safe).
#[no_mangle]
pub unsafe extern "C" fn hms_error_free(err: *mut HmsError) {
    if err.is_null() {
        return;
    }
    let e = Box::from_raw(err);
    if !e.message.is_null() {
        drop(CString::from_raw(e.message));
    }
    let mut status = e.status;
    crate::hms_bytes_free(&mut status);
}

/// A borrowed C string as `&str`, or `InvalidArgument`.
pub(crate) unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(Error::new(Code::InvalidArgument, format!("{what} is NULL")));
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| Error::new(Code::InvalidArgument, format!("{what} is not UTF-8")))
}

/// Runs `f`, turning an error or a panic into a code stored in `*err`.
pub(crate) unsafe fn guard(err: *mut *mut HmsError, f: impl FnOnce() -> Result<(), Error>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => set_error(err, &e),
        Err(_) => set_error(err, &Error::new(Code::Internal, "panic inside hms-ffi")),
    }
}

/// A borrowed object behind a pointer, or `InvalidArgument` naming it when NULL.
pub(crate) unsafe fn obj<'a, T>(p: *const T, what: &str) -> Result<&'a T, Error> {
    p.as_ref()
        .ok_or_else(|| Error::new(Code::InvalidArgument, format!("{what} is NULL")))
}
