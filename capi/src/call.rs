//! A server-side call handed to a foreign handler, completed with exactly one of
//! [`hms_call_reply`] or [`hms_call_fail`], from any thread, at any time.

use std::ffi::c_char;

use tokio::sync::oneshot;

use crate::error::{c_string, text};
use crate::ocore::{self, Code, Error};
use crate::{slice, value_from_bytes, HmsFormat};

/// A call in progress on the server. The handler owns it until it completes it.
#[derive(Debug)]
pub struct HmsCall {
    pub(crate) ctx: ocore::Context,
    pub(crate) format: HmsFormat,
    pub(crate) reply: oneshot::Sender<ocore::Result<Reply>>,
}

/// What a foreign handler answered.
#[derive(Debug)]
pub(crate) enum Reply {
    Bytes(Vec<u8>),
    Value(ocore::Value),
}

/// The method called (`package.Service/Method`); valid until the call is completed. The
/// returned string must be freed with [`hms_string_free`].
#[no_mangle]
pub unsafe extern "C" fn hms_call_method(call: *const HmsCall) -> *mut c_char {
    match call.as_ref() {
        Some(c) => c_string(c.ctx.method()),
        None => std::ptr::null_mut(),
    }
}

/// Milliseconds left before the caller's deadline (rounded up), or -1 without a deadline.
#[no_mangle]
pub unsafe extern "C" fn hms_call_timeout_ms(call: *const HmsCall) -> i64 {
    call.as_ref()
        .and_then(|c| c.ctx.time_remaining())
        // Rounded up, so a handler's own deadline never fires before the server's.
        .map_or(-1, |d| {
            i64::try_from(d.as_micros().div_ceil(1000)).unwrap_or(i64::MAX)
        })
}

/// True once the caller cancelled, went away, or the deadline passed.
#[no_mangle]
pub unsafe extern "C" fn hms_call_is_cancelled(call: *const HmsCall) -> bool {
    call.as_ref().is_none_or(|c| c.ctx.is_cancelled())
}

/// The first metadata value for `key`, or NULL; free it with [`hms_string_free`].
#[no_mangle]
pub unsafe extern "C" fn hms_call_metadata(
    call: *const HmsCall,
    key: *const c_char,
) -> *mut c_char {
    let (Some(c), Ok(key)) = (call.as_ref(), text(key, "key")) else {
        return std::ptr::null_mut();
    };
    c.ctx
        .metadata()
        .get(key)
        .map_or(std::ptr::null_mut(), c_string)
}

/// The caller as the transport sees it; free it with [`hms_string_free`].
#[no_mangle]
pub unsafe extern "C" fn hms_call_peer(call: *const HmsCall) -> *mut c_char {
    call.as_ref()
        .map_or(std::ptr::null_mut(), |c| c_string(c.ctx.peer()))
}

/// The authenticated caller (`uid:1000`, a bearer token's `sub`), or NULL when there is none;
/// free it with [`hms_string_free`].
#[no_mangle]
pub unsafe extern "C" fn hms_call_identity(call: *const HmsCall) -> *mut c_char {
    call.as_ref()
        .and_then(|c| c.ctx.identity())
        .map_or(std::ptr::null_mut(), c_string)
}

/// The kernel's credentials of a unix caller (`unix://`, `grpc+unix://`): true with `*uid`,
/// `*gid` and `*pid` (-1 where the platform does not report it) set, false on other
/// transports. Any of the out pointers may be NULL.
#[no_mangle]
pub unsafe extern "C" fn hms_call_peer_credentials(
    call: *const HmsCall,
    uid: *mut u32,
    gid: *mut u32,
    pid: *mut i32,
) -> bool {
    let Some(cred) = call.as_ref().and_then(|c| c.ctx.peer_credentials()) else {
        return false;
    };
    if let Some(uid) = uid.as_mut() {
        *uid = cred.uid;
    }
    if let Some(gid) = gid.as_mut() {
        *gid = cred.gid;
    }
    if let Some(pid) = pid.as_mut() {
        *pid = cred.pid.unwrap_or(-1);
    }
    true
}

/// Completes the call with a reply in the handler's format, and frees `call`.
#[no_mangle]
pub unsafe extern "C" fn hms_call_reply(call: *mut HmsCall, data: *const u8, len: usize) {
    if call.is_null() {
        return;
    }
    let call = Box::from_raw(call);
    let bytes = slice(data, len);
    let reply = match call.format {
        HmsFormat::Proto => Ok(Reply::Bytes(bytes.to_vec())),
        HmsFormat::Value => value_from_bytes(bytes).map(Reply::Value).map_err(|e| {
            Error::new(
                Code::Internal,
                format!("handler replied with an invalid value: {}", e.message()),
            )
            .with_details(e.details().clone())
        }),
    };
    let _ = call.reply.send(reply);
}

/// Completes the call with an error, and frees `call`. `status`/`status_len` may carry a
/// serialized `google.rpc.Status` with details (its code and message then win); else `code`
/// and `message` are used.
#[no_mangle]
pub unsafe extern "C" fn hms_call_fail(
    call: *mut HmsCall,
    code: i32,
    message: *const c_char,
    status: *const u8,
    status_len: usize,
) {
    if call.is_null() {
        return;
    }
    let call = Box::from_raw(call);
    let err = if status.is_null() || status_len == 0 {
        // Code OK is refused by the core (`Unknown`, reason OK_IS_NOT_AN_ERROR).
        Error::new(
            Code::from_i32(code),
            text(message, "message").unwrap_or_default(),
        )
    } else {
        Error::from_status_bytes(slice(status, status_len))
    };
    let _ = call.reply.send(Err(err));
}

/// Frees a string returned by hms-ffi (NULL-safe).
#[no_mangle]
pub unsafe extern "C" fn hms_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(std::ffi::CString::from_raw(s));
    }
}
