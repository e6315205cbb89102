//! A server-side call handed to a foreign handler, completed with exactly one of
//! [`hms_call_reply`] or [`hms_call_fail`], from any thread, at any time.

use std::ffi::c_char;

use crate::error::{c_string, caller_error, guard, obj, text, HmsError};
use crate::ocore::later::LaterReply;
use crate::ocore::{self, Code, Error};
use std::sync::Arc;

use bytes::Bytes;

use crate::ocore::limits::DEFAULT_MAX_DEPTH;
use crate::ocore::mapping::CborDoc;
use crate::ocore::Exchange;
use crate::{slice, HmsBytes};

/// A call in progress on the server. The handler owns it until it completes it.
#[derive(Debug)]
pub struct HmsCall {
    pub(crate) ctx: ocore::Context,
    /// The route's encoder for a handler that answers in CBOR (`HMS_FORMAT_VALUE`); none for
    /// protobuf, which is sent as it is.
    pub(crate) exchange: Option<Arc<Exchange>>,
    /// The reply's protobuf bytes, or the error.
    pub(crate) reply: LaterReply<Bytes>,
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

/// Everything a handler may read about its call, in one JSON object (free it with
/// `hms_bytes_free`): `method`, `metadata` (`[[key, value], …]` in order), `timeout_ms` (rounded
/// up, -1 without a deadline), `trace_id`, `identity` (or null), `peer`, `transport`,
/// `peer_credentials` (`{uid, gid, pid}` or null; pid -1 where unknown) and `peer_certificate`
/// (`{identity, subject, der: [bytes]}` or null). One crossing instead of one per field.
#[no_mangle]
pub unsafe extern "C" fn hms_call_info(call: *const HmsCall, out: *mut HmsBytes) -> i32 {
    let (Some(c), Some(out)) = (call.as_ref(), out.as_mut()) else {
        return Code::InvalidArgument.as_i32();
    };
    let ctx = &c.ctx;
    let metadata: Vec<[&str; 2]> = ctx.metadata().iter().map(|(k, v)| [k, v]).collect();
    let info = serde_json::json!({
        "method": ctx.method(),
        "metadata": metadata,
        "timeout_ms": hms_call_timeout_ms(call),
        "trace_id": ctx.trace_id(),
        "identity": ctx.identity(),
        "peer": ctx.peer(),
        "transport": ctx.transport(),
        "peer_credentials": ctx.peer_credentials().map(|p| serde_json::json!({
            "uid": p.uid, "gid": p.gid, "pid": p.pid.unwrap_or(-1),
        })),
        "peer_certificate": ctx.peer_certificate().map(|p| serde_json::json!({
            "identity": p.identity, "subject": p.subject, "der": p.der,
        })),
    });
    *out = HmsBytes::from_vec(info.to_string().into_bytes());
    0
}

/// Adds a response header (`trailer` false) or trailer (`trailer` true) to the call; the core
/// checks the key and value (`INVALID_ARGUMENT` for a reserved key such as `grpc-*` or
/// `content-type`; `FAILED_PRECONDITION` for a header after the headers went out).
#[no_mangle]
pub unsafe extern "C" fn hms_call_set_metadata(
    call: *const HmsCall,
    trailer: bool,
    key: *const c_char,
    value: *const c_char,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let c = obj(call, "call")?;
        let (key, value) = (text(key, "key")?, text(value, "value")?);
        if trailer {
            c.ctx.set_trailer(key, value)
        } else {
            c.ctx.set_header(key, value)
        }
    })
}

/// Sends the response headers set so far now, ahead of any reply (gRPC's `SendHeader`): a
/// streaming caller sees them before the first one. A header set later is
/// `FAILED_PRECONDITION`; a second call does nothing. 0, or `INVALID_ARGUMENT` for a NULL call.
#[no_mangle]
pub unsafe extern "C" fn hms_call_send_headers(call: *const HmsCall) -> i32 {
    let Some(c) = call.as_ref() else {
        return Code::InvalidArgument.as_i32();
    };
    c.ctx.send_headers();
    0
}

/// Completes the call with a reply in the handler's format, and frees `call`.
#[no_mangle]
pub unsafe extern "C" fn hms_call_reply(call: *mut HmsCall, data: *const u8, len: usize) {
    if call.is_null() {
        return;
    }
    let call = Box::from_raw(call);
    let bytes = slice(data, len);
    // A CBOR reply is walked to protobuf here, on the thread that answers: CBOR that does not
    // read is the handler's fault, as a reply that does not fit the type is.
    let reply = match &call.exchange {
        None => Ok(Bytes::copy_from_slice(bytes)),
        Some(exchange) => CborDoc::parse(bytes, DEFAULT_MAX_DEPTH)
            .map_err(Error::invalid_reply)
            .and_then(|doc| exchange.reply(&doc.root())?),
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
    let err = caller_error(code, message, slice(status, status_len));
    let _ = call.reply.send(Err(err));
}

/// Frees a string returned by hms-ffi (NULL-safe).
#[no_mangle]
pub unsafe extern "C" fn hms_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(std::ffi::CString::from_raw(s));
    }
}
