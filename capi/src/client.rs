//! Clients: blocking calls, and asynchronous calls with a completion callback and cancellation.

use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::error::{guard, obj, set_error, text, HmsError};
use crate::ocore::{self, runtime, CallOptions, Code, Error, Metadata};
use crate::schema::HmsSchema;
use crate::{slice, value_from_bytes, value_to_bytes, HmsBytes, HmsFormat};

/// A connection to a server; calls may run concurrently from many threads.
#[derive(Debug)]
pub struct HmsClient(pub(crate) ocore::Client);

/// Connects to `uri` (`inproc://name`, `unix:///path.sock`, `grpc://host:port`,
/// `grpc+unix:///path.sock`) and discovers the server's schema.
#[no_mangle]
pub unsafe extern "C" fn hms_connect(
    uri: *const c_char,
    out: *mut *mut HmsClient,
    err: *mut *mut HmsError,
) -> i32 {
    hms_connect_with_schema(uri, std::ptr::null(), out, err)
}

/// Like [`hms_connect`], with the schema given instead of discovered (NULL: discover) — for
/// servers without hms-ffi discovery, such as a stock gRPC server.
#[no_mangle]
pub unsafe extern "C" fn hms_connect_with_schema(
    uri: *const c_char,
    schema: *const HmsSchema,
    out: *mut *mut HmsClient,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let uri = text(uri, "uri")?;
        let options = ocore::ConnectOptions {
            schema: schema.as_ref().map(|s| s.0.clone()),
            ..Default::default()
        };
        let client = runtime::block_on(ocore::connect_with(uri, options))??;
        if out.is_null() {
            return Err(Error::new(Code::InvalidArgument, "out is NULL"));
        }
        *out = Box::into_raw(Box::new(HmsClient(client)));
        Ok(())
    })
}

/// Closes the connection and frees the client (NULL-safe).
#[no_mangle]
pub unsafe extern "C" fn hms_client_free(client: *mut HmsClient) {
    if !client.is_null() {
        let c = Box::from_raw(client);
        c.0.close();
    }
}

/// The server's methods as JSON: `[{"name", "input", "output", "kind"}, …]`.
#[no_mangle]
pub unsafe extern "C" fn hms_client_methods(client: *const HmsClient, out: *mut HmsBytes) -> i32 {
    let (Some(c), false) = (client.as_ref(), out.is_null()) else {
        return Code::InvalidArgument.as_i32();
    };
    let list: Vec<serde_json::Value> = c
        .0
        .methods()
        .iter()
        .map(|m| {
            serde_json::json!({"name": m.name, "input": m.input().full_name(), "output": m.output().full_name(), "kind": m.kind().name()})
        })
        .collect();
    *out = HmsBytes::from_vec(serde_json::Value::Array(list).to_string().into_bytes());
    0
}

fn options(timeout_ms: i64, md: &[(String, String)]) -> CallOptions {
    let mut metadata = Metadata::new();
    for (k, v) in md {
        metadata.insert(k, v.clone());
    }
    CallOptions {
        timeout: u64::try_from(timeout_ms)
            .ok()
            .filter(|t| *t > 0)
            .map(Duration::from_millis),
        metadata,
        ..CallOptions::default()
    }
}

unsafe fn metadata(
    kv: *const *const c_char,
    n_pairs: usize,
) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::with_capacity(n_pairs);
    for i in 0..n_pairs {
        out.push((
            text(*kv.add(2 * i), "metadata key")?.to_string(),
            text(*kv.add(2 * i + 1), "metadata value")?.to_string(),
        ));
    }
    Ok(out)
}

async fn call(
    client: ocore::Client,
    method: String,
    format: HmsFormat,
    request: Vec<u8>,
    opts: CallOptions,
) -> ocore::Result<Vec<u8>> {
    match format {
        HmsFormat::Proto => Ok(client
            .call_raw(&method, Bytes::from(request), &opts)
            .await?
            .to_vec()),
        HmsFormat::Value => {
            let value = value_from_bytes(&request)?;
            value_to_bytes(&client.call(&method, &value, &opts).await?)
        }
    }
}

/// Reads a call's arguments (copying the request) into a future that makes the call.
#[allow(clippy::too_many_arguments)]
unsafe fn prepare(
    client: *const HmsClient,
    method: *const c_char,
    format: HmsFormat,
    request: *const u8,
    request_len: usize,
    timeout_ms: i64,
    metadata_kv: *const *const c_char,
    n_metadata: usize,
) -> ocore::Result<impl std::future::Future<Output = ocore::Result<Vec<u8>>>> {
    let c = obj(client, "client")?;
    let opts = options(timeout_ms, &metadata(metadata_kv, n_metadata)?);
    let method = text(method, "method")?.to_string();
    Ok(call(
        c.0.clone(),
        method,
        format,
        slice(request, request_len).to_vec(),
        opts,
    ))
}

/// Calls a unary method and blocks until the reply. `metadata` holds `n_metadata` key/value
/// pairs as 2×n strings; `timeout_ms` ≤ 0 means no deadline. `cancel_id` (0 for none) comes
/// from [`hms_cancel_id_new`]: [`hms_call_cancel`] with it, from another thread, ends the call
/// with `CANCELLED`. On success `reply` receives the reply in `format` (free with
/// `hms_bytes_free`).
#[no_mangle]
pub unsafe extern "C" fn hms_client_call(
    client: *const HmsClient,
    method: *const c_char,
    format: HmsFormat,
    request: *const u8,
    request_len: usize,
    timeout_ms: i64,
    metadata_kv: *const *const c_char,
    n_metadata: usize,
    cancel_id: u64,
    reply: *mut HmsBytes,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let fut = prepare(
            client,
            method,
            format,
            request,
            request_len,
            timeout_ms,
            metadata_kv,
            n_metadata,
        )?;
        let r = runtime::block_on(cancellable(cancel_id, fut));
        let bytes = r??;
        if !reply.is_null() {
            *reply = HmsBytes::from_vec(bytes);
        }
        Ok(())
    })
}

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

fn pending() -> &'static Mutex<HashMap<u64, CancellationToken>> {
    static P: OnceLock<Mutex<HashMap<u64, CancellationToken>>> = OnceLock::new();
    P.get_or_init(|| Mutex::new(HashMap::new()))
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

struct Done {
    f: unsafe extern "C" fn(*mut c_void, i32, *const u8, usize, *const HmsError),
    user_data: *mut c_void,
}

// SAFETY: the header's contract requires the callback and its data to be thread-safe.
unsafe impl Send for Done {}

impl Done {
    fn finish(self, result: ocore::Result<Vec<u8>>) {
        match result {
            // SAFETY: the pointers are valid for the duration of the callback.
            Ok(bytes) => unsafe {
                (self.f)(
                    self.user_data,
                    0,
                    bytes.as_ptr(),
                    bytes.len(),
                    std::ptr::null(),
                )
            },
            Err(e) => {
                let mut boxed: *mut HmsError = std::ptr::null_mut();
                // SAFETY: `boxed` receives a fresh error that is freed right after the callback.
                unsafe {
                    let code = set_error(&mut boxed, &e);
                    (self.f)(self.user_data, code, std::ptr::null(), 0, boxed);
                    crate::hms_error_free(boxed);
                }
            }
        }
    }
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
    let done = Done { f, user_data };
    let prepared = prepare(
        client,
        method,
        format,
        request,
        request_len,
        timeout_ms,
        metadata_kv,
        n_metadata,
    );
    let fut = match prepared {
        Ok(fut) => fut,
        Err(e) => {
            done.finish(Err(e));
            return 0;
        }
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let done = Arc::new(Mutex::new(Some(done)));
    runtime::runtime().spawn(async move {
        let result = cancellable(id, fut).await;
        if let Some(done) = done.lock().ok().and_then(|mut d| d.take()) {
            done.finish(result);
        }
    });
    id
}

/// Runs `fut` while [`hms_call_cancel`]`(id)` can end it with `CANCELLED` (id 0: not
/// cancellable).
async fn cancellable<T>(
    id: u64,
    fut: impl std::future::Future<Output = ocore::Result<T>>,
) -> ocore::Result<T> {
    let token = CancellationToken::new();
    if id != 0 {
        if let Ok(mut p) = pending().lock() {
            p.insert(id, token.clone());
        }
    }
    let result = tokio::select! {
        r = fut => r,
        _ = token.cancelled() => Err(Error::new(Code::Cancelled, "call cancelled by the caller")),
    };
    if id != 0 {
        if let Ok(mut p) = pending().lock() {
            p.remove(&id);
        }
    }
    result
}

/// A fresh id for [`hms_client_call`]'s `cancel_id`.
#[no_mangle]
pub extern "C" fn hms_cancel_id_new() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Cancels an asynchronous call (its `done` gets `CANCELLED` unless it already ended), or a
/// blocking call started with this `cancel_id`; an id whose call has not started yet or has
/// ended is ignored.
#[no_mangle]
pub extern "C" fn hms_call_cancel(id: u64) {
    if let Some(token) = pending().lock().ok().and_then(|p| p.get(&id).cloned()) {
        token.cancel();
    }
}
