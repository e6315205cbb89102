//! Batched calls through the C ABI: [`hms_client_batch`] makes many unary calls as one request
//! of the caller's and fills one [`HmsBatchResult`] per call, in order. The rules (one deadline,
//! partial failure, cancellation, the size limit over every call) are the core's
//! `Client::batch_cbor`; a call whose request the caller could not encode is handed to the core
//! as its error (`refused`), never left out, so the core counts it and keeps its place.

use std::ffi::c_char;

use crate::async_call::{cancel_scope_blocking, response_metadata};
use crate::call_options::{HmsCallOptions, Options};
use crate::client::HmsClient;
use crate::error::{caller_error, guard, obj, set_error, text, HmsError};
use crate::ocore::{runtime, Code, Error};
use crate::{slice, HmsBytes};

/// One call's outcome in a batch: `code` 0 with `reply` (CBOR), or the call's error in `error`
/// (its code in `code`), and either way the call's response metadata. Owned by the array
/// [`hms_client_batch`] returns; freed with it by [`hms_batch_free`].
#[repr(C)]
#[derive(Debug)]
pub struct HmsBatchResult {
    /// 0 on success, else the error's gRPC code.
    pub code: i32,
    /// The reply as a CBOR value tree (`HMS_FORMAT_VALUE`); empty on failure.
    pub reply: HmsBytes,
    /// The call's error (NULL on success).
    pub error: *mut HmsError,
    /// The response headers and trailers as JSON, `{"headers": [[key, value], …], "trailers":
    /// […]}`, with a reply or with an error; empty when there are none.
    pub metadata: HmsBytes,
}

/// Calls `n` unary methods as one batch and blocks until every call has ended. Call `i` is
/// `methods[i]` with the CBOR request (`HMS_FORMAT_VALUE`) at `requests` +
/// (`request_lens[0]` + … + `request_lens[i-1]`), `request_lens[i]` bytes long: the requests
/// lie one after another in one buffer. Everything passed in is only borrowed for the call.
///
/// `refused` (NULL when every request was encoded) holds `n` pointers: a non-NULL
/// `refused[i]` says the caller could not encode call `i`'s request (its encoder or a converter
/// failed), and is that call's error — its status bytes, when not empty, give the code, message
/// and details (a field path from `hms_converter_error`, say); else its code and message. The
/// call keeps its place, is never sent, and counts towards the batch's size as any call does;
/// its `request_lens[i]` bytes (0, normally) are skipped. The errors stay the caller's to free.
///
/// The core's rules (`docs/messaging.md`, "Batched calls"): `options->timeout_ms` is one
/// deadline for the whole batch; a failed call is that call's result and the others go on;
/// `options`' metadata and `wait_for_ready` apply to every call; cancelling `cancel_id` (from
/// `hms_cancel_id_new`, 0 for none) ends every call not finished with `CANCELLED`.
///
/// On 0, `*results` receives an array of `n` [`HmsBatchResult`] (NULL when `n` is 0), in the
/// calls' order, owned by the caller: free it with `hms_batch_free(*results, n)`. A batch of
/// more than 100 000 calls, or NULL arguments, fail whole (`INVALID_ARGUMENT` in `*err`) and
/// nothing is sent.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn hms_client_batch(
    client: *const HmsClient,
    methods: *const *const c_char,
    requests: *const u8,
    request_lens: *const usize,
    refused: *const *const HmsError,
    n: usize,
    options: *const HmsCallOptions,
    cancel_id: u64,
    results: *mut *mut HmsBatchResult,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let c = obj(client, "client")?;
        if results.is_null() || (n > 0 && (methods.is_null() || request_lens.is_null())) {
            return Err(Error::new(
                Code::InvalidArgument,
                "results, methods or request_lens is NULL",
            ));
        }
        let items = read_items(methods, requests, request_lens, refused, n)?;
        let options = Options::read(options)?;
        let outcome = cancel_scope_blocking(cancel_id, |token| {
            let opts = options.to_core(token);
            runtime::block_on(c.0.batch_cbor(&items, &opts))
        })??;
        let out: Vec<HmsBatchResult> = outcome.into_iter().map(result_of).collect();
        *results = if out.is_empty() {
            std::ptr::null_mut()
        } else {
            Box::into_raw(out.into_boxed_slice()).cast::<HmsBatchResult>()
        };
        Ok(())
    })
}

/// Frees the `n` results of [`hms_client_batch`] with every reply, error and metadata they hold
/// (NULL-safe). `n` must be the batch's size.
#[no_mangle]
pub unsafe extern "C" fn hms_batch_free(results: *mut HmsBatchResult, n: usize) {
    if results.is_null() || n == 0 {
        return;
    }
    let all = Box::from_raw(std::ptr::slice_from_raw_parts_mut(results, n));
    for mut r in all.into_vec() {
        crate::hms_bytes_free(&mut r.reply);
        crate::hms_bytes_free(&mut r.metadata);
        crate::hms_error_free(r.error);
    }
}

/// One call as the core's `batch_cbor` takes it: its method and its CBOR request, or the error
/// the caller refused it with.
type Item = (String, crate::ocore::Result<Vec<u8>>);

/// Each call's method and request, copied from the caller's memory; a refused call's request is
/// its error.
unsafe fn read_items(
    methods: *const *const c_char,
    requests: *const u8,
    request_lens: *const usize,
    refused: *const *const HmsError,
    n: usize,
) -> Result<Vec<Item>, Error> {
    if n == 0 {
        // The arrays may be NULL then, and a slice may not be made from NULL, even empty.
        return Ok(Vec::new());
    }
    let lens = std::slice::from_raw_parts(request_lens, n);
    let refused: &[*const HmsError] = if refused.is_null() {
        &[]
    } else {
        std::slice::from_raw_parts(refused, n)
    };
    let total = lens.iter().try_fold(0usize, |t, l| t.checked_add(*l));
    let total = total.ok_or_else(|| Error::new(Code::InvalidArgument, "request_lens overflow"))?;
    if total > 0 && requests.is_null() {
        return Err(Error::new(Code::InvalidArgument, "requests is NULL"));
    }
    let all = slice(requests, total);
    let mut at = 0;
    let mut items = Vec::with_capacity(n);
    for (i, len) in lens.iter().enumerate() {
        let method = text(*methods.add(i), "method")?.to_string();
        let request = match refused.get(i).and_then(|e| e.as_ref()) {
            Some(e) => Err(caller_error(
                e.code,
                e.message,
                slice(e.status.data, e.status.len),
            )),
            None => Ok(all[at..at + len].to_vec()),
        };
        items.push((method, request));
        at += len;
    }
    Ok(items)
}

fn result_of(r: crate::ocore::Result<crate::ocore::Reply<Vec<u8>>>) -> HmsBatchResult {
    let metadata = HmsBytes::from_vec(response_metadata(&r).unwrap_or_default());
    match r {
        Ok(reply) => HmsBatchResult {
            code: 0,
            reply: HmsBytes::from_vec(reply.message),
            error: std::ptr::null_mut(),
            metadata,
        },
        Err(e) => {
            let mut error = std::ptr::null_mut();
            // SAFETY: `error` is a valid place for the fresh error.
            let code = unsafe { set_error(&mut error, &e) };
            HmsBatchResult {
                code,
                reply: HmsBytes::from_vec(Vec::new()),
                error,
                metadata,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::hms_error_free;
    use crate::ocore::mapping::TooDeep;
    use crate::ocore::Value;

    /// An empty batch reads no array, so NULL ones are fine (a slice is never made from NULL).
    #[test]
    fn an_empty_batch_may_pass_null_arrays() {
        let items = unsafe {
            read_items(
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                0,
            )
        };
        assert!(items.expect("an empty batch").is_empty());
    }

    /// A refused call's error, as a caller hands it over: from the status bytes when there
    /// are some (the field path kept), else from its code and message.
    #[test]
    fn a_refused_call_is_its_error_in_its_place() {
        let path = TooDeep::converter("google.type.Decimal", "bad")
            .at_key(&Value::from("price"))
            .into_error();
        let mut with_status = std::ptr::null_mut();
        let mut bare = std::ptr::null_mut();
        unsafe {
            set_error(&mut with_status, &path);
            set_error(&mut bare, &Error::new(Code::InvalidArgument, "no"));
            crate::hms_bytes_free(&mut (*bare).status);
        }
        let m = c"pkg.S/M";
        let methods = [m.as_ptr(), m.as_ptr(), m.as_ptr()];
        let lens = [2usize, 0, 0];
        let refused: [*const HmsError; 3] = [std::ptr::null(), with_status, bare];
        let items = unsafe {
            read_items(
                methods.as_ptr(),
                [7u8, 8].as_ptr(),
                lens.as_ptr(),
                refused.as_ptr(),
                3,
            )
        };
        let items = items.expect("items read");
        assert_eq!(items[0].1.as_ref().ok(), Some(&vec![7u8, 8]));
        let err = items[1].1.as_ref().expect_err("refused");
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(err.field_violations()[0].field, "price");
        let err = items[2].1.as_ref().expect_err("refused");
        assert_eq!((err.code(), err.message()), (Code::InvalidArgument, "no"));
        unsafe {
            hms_error_free(with_status);
            hms_error_free(bare);
        }
    }
}
