//! Asynchronous client calls with a completion callback, response metadata, and cancellation by
//! id (the id's token is the core's `CallOptions::cancel`, so the server's handler sees it).

use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio_util::sync::CancellationToken;

use crate::call_options::HmsCallOptions;
use crate::client::{prepare, HmsClient};
use crate::error::{set_error, HmsError};
use crate::ocore::{self, runtime, Metadata, Reply};
use crate::HmsFormat;

/// Called once when an asynchronous call ends, on an hms-ffi thread. On success `code` is 0 and
/// `reply`/`len` hold the reply (valid only during the callback); else `err` describes the
/// failure (valid only during the callback).
pub type HmsDoneFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        code: i32,
        reply: *const u8,
        len: usize,
        err: *const HmsError,
    ),
>;

/// [`HmsDoneFn`] with the response headers and trailers: `response_md`/`response_md_len` hold
/// them as JSON, `{"headers": [[key, value], …], "trailers": […]}`, with a reply or with an
/// error, or are NULL/0 when the call brought none (valid only during the callback).
pub type HmsReplyFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        code: i32,
        reply: *const u8,
        len: usize,
        response_md: *const u8,
        response_md_len: usize,
        err: *const HmsError,
    ),
>;

/// A call's response headers and trailers as JSON; `None` when there are none.
pub(crate) fn response_metadata(r: &ocore::Result<Reply<Vec<u8>>>) -> Option<Vec<u8>> {
    let (headers, trailers) = match r {
        Ok(r) => (r.headers.clone(), r.trailers.clone()),
        Err(e) => (e.headers().clone(), e.trailers().clone()),
    };
    if headers.is_empty() && trailers.is_empty() {
        return None;
    }
    Some(metadata_json(&headers, &trailers))
}

/// Response headers and trailers as JSON, `{"headers": [[key, value], …], "trailers": […]}`.
pub(crate) fn metadata_json(headers: &Metadata, trailers: &Metadata) -> Vec<u8> {
    let pairs = |m: &Metadata| {
        m.iter()
            .map(|(k, v)| [k.to_string(), v.to_string()])
            .collect::<Vec<_>>()
    };
    let json = serde_json::json!({"headers": pairs(headers), "trailers": pairs(trailers)});
    json.to_string().into_bytes()
}

enum Callback {
    Done(unsafe extern "C" fn(*mut c_void, i32, *const u8, usize, *const HmsError)),
    Reply(
        unsafe extern "C" fn(*mut c_void, i32, *const u8, usize, *const u8, usize, *const HmsError),
    ),
}

struct Done {
    f: Callback,
    user_data: *mut c_void,
}

// SAFETY: the header's contract requires the callback and its data to be thread-safe.
unsafe impl Send for Done {}

impl Done {
    fn finish(self, result: ocore::Result<Reply<Vec<u8>>>) {
        let md = match self.f {
            Callback::Reply(_) => response_metadata(&result),
            Callback::Done(_) => None,
        };
        let (md_ptr, md_len) = md
            .as_ref()
            .map_or((std::ptr::null(), 0), |m| (m.as_ptr(), m.len()));
        let mut boxed: *mut HmsError = std::ptr::null_mut();
        let (code, reply) = match &result {
            Ok(r) => (0, r.message.as_slice()),
            // SAFETY: `boxed` receives a fresh error that is freed right after the callback.
            Err(e) => (unsafe { set_error(&mut boxed, e) }, &[][..]),
        };
        let data = if code == 0 {
            reply.as_ptr()
        } else {
            std::ptr::null()
        };
        // SAFETY: every pointer is valid for the duration of the callback.
        unsafe {
            match self.f {
                Callback::Done(f) => f(self.user_data, code, data, reply.len(), boxed),
                Callback::Reply(f) => f(
                    self.user_data,
                    code,
                    data,
                    reply.len(),
                    md_ptr,
                    md_len,
                    boxed,
                ),
            }
            crate::hms_error_free(boxed);
        }
    }
}

fn pending() -> &'static Mutex<HashMap<u64, CancellationToken>> {
    static P: OnceLock<Mutex<HashMap<u64, CancellationToken>>> = OnceLock::new();
    P.get_or_init(|| Mutex::new(HashMap::new()))
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Runs the call `make` builds with a token [`hms_call_cancel`]`(id)` cancels (id 0: none); the
/// token is the core's `CallOptions::cancel`, so the call ends with `CANCELLED` everywhere.
pub(crate) async fn cancel_scope<F, T>(
    id: u64,
    make: impl FnOnce(Option<CancellationToken>) -> F,
) -> T
where
    F: std::future::Future<Output = T>,
{
    let (token, _registered) = register(id);
    make(token).await
}

/// [`cancel_scope`] for a call made on the calling thread.
pub(crate) fn cancel_scope_blocking<T>(
    id: u64,
    make: impl FnOnce(Option<CancellationToken>) -> T,
) -> T {
    let (token, _registered) = register(id);
    make(token)
}

/// The token of cancel id `id` (none for 0), registered until the guard is dropped.
fn register(id: u64) -> (Option<CancellationToken>, Option<Registered>) {
    if id == 0 {
        return (None, None);
    }
    // An id from `hms_cancel_id_new` is registered already, so a cancel that comes before the
    // call starts is kept.
    let token = pending()
        .lock()
        .map(|mut p| p.entry(id).or_default().clone())
        .unwrap_or_default();
    (Some(token), Some(Registered(id)))
}

struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut p) = pending().lock() {
            p.remove(&self.0);
        }
    }
}

unsafe fn start(
    client: *const HmsClient,
    method: *const c_char,
    format: HmsFormat,
    request: *const u8,
    request_len: usize,
    options: *const HmsCallOptions,
    done: Done,
) -> u64 {
    let prepared = prepare(client, method, format, request, request_len, options);
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            done.finish(Err(e));
            return 0;
        }
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let done = Arc::new(Mutex::new(Some(done)));
    runtime::runtime().spawn(async move {
        let result = cancel_scope(id, |t| prepared.run(t)).await;
        if let Some(done) = done.lock().ok().and_then(|mut d| d.take()) {
            done.finish(result);
        }
    });
    id
}

/// Starts a call and returns at once with its id (0 if it could not start: then `done` has
/// already been called with the error). `done` is called exactly once, also after
/// [`hms_call_cancel`] (with `CANCELLED`).
#[no_mangle]
pub unsafe extern "C" fn hms_client_call_async(
    client: *const HmsClient,
    method: *const c_char,
    format: HmsFormat,
    request: *const u8,
    request_len: usize,
    timeout_ms: i64,
    metadata_kv: *const *const c_char,
    n_metadata: usize,
    done: HmsDoneFn,
    user_data: *mut c_void,
) -> u64 {
    let Some(f) = done else { return 0 };
    let done = Done {
        f: Callback::Done(f),
        user_data,
    };
    let options = HmsCallOptions::basic(timeout_ms, metadata_kv, n_metadata);
    start(client, method, format, request, request_len, &options, done)
}

/// [`hms_client_call_async`] whose `done` also receives the response headers and trailers.
#[no_mangle]
pub unsafe extern "C" fn hms_client_call_async_with_metadata(
    client: *const HmsClient,
    method: *const c_char,
    format: HmsFormat,
    request: *const u8,
    request_len: usize,
    timeout_ms: i64,
    metadata_kv: *const *const c_char,
    n_metadata: usize,
    done: HmsReplyFn,
    user_data: *mut c_void,
) -> u64 {
    let options = HmsCallOptions::basic(timeout_ms, metadata_kv, n_metadata);
    hms_client_call_async_with_options(
        client,
        method,
        format,
        request,
        request_len,
        &options,
        done,
        user_data,
    )
}

/// [`hms_client_call_async_with_metadata`] with its options in one struct (NULL: the
/// defaults), which also holds `wait_for_ready`.
#[no_mangle]
pub unsafe extern "C" fn hms_client_call_async_with_options(
    client: *const HmsClient,
    method: *const c_char,
    format: HmsFormat,
    request: *const u8,
    request_len: usize,
    options: *const HmsCallOptions,
    done: HmsReplyFn,
    user_data: *mut c_void,
) -> u64 {
    let Some(f) = done else { return 0 };
    let done = Done {
        f: Callback::Reply(f),
        user_data,
    };
    start(client, method, format, request, request_len, options, done)
}

/// A fresh id for [`crate::hms_client_call`]'s `cancel_id`. It is registered at once, so
/// [`hms_call_cancel`] takes effect even before the call starts (the call then fails with
/// `CANCELLED`); it is released when the call that used it ends, so pass every id to a call.
#[no_mangle]
pub extern "C" fn hms_cancel_id_new() -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut p) = pending().lock() {
        p.insert(id, CancellationToken::new());
    }
    id
}

/// Cancels an asynchronous call (its `done` gets `CANCELLED` unless it already ended), or a
/// blocking call started with this `cancel_id`. A call whose id (from
/// [`hms_cancel_id_new`]) was cancelled before it started fails with `CANCELLED` at once; an
/// id whose call has ended is ignored.
#[no_mangle]
pub extern "C" fn hms_call_cancel(id: u64) {
    if let Some(token) = pending().lock().ok().and_then(|p| p.get(&id).cloned()) {
        token.cancel();
    }
}
