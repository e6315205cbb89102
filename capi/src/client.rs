//! Clients: connecting, and blocking calls (asynchronous calls and cancellation: `async_call`).

use std::ffi::c_char;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::async_call::{cancel_scope_blocking, response_metadata};
use crate::call_options::{HmsCallOptions, Options};
use crate::error::{guard, obj, text, HmsError};
use crate::ocore::limits::DEFAULT_MAX_DEPTH;
use crate::ocore::mapping::{CborDoc, CborOut, CborSpan};
use crate::ocore::JustWait;
use crate::ocore::{self, runtime, CallOptions, Code, Error, Reply};
use crate::schema::HmsSchema;
use crate::{slice, HmsBytes, HmsFormat};

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

/// Closes the connection without freeing the client: calls in flight and later calls end with
/// `CANCELLED` (reason `CLIENT_CLOSED`), as on every transport. Free it with `hms_client_free`.
#[no_mangle]
pub unsafe extern "C" fn hms_client_close(client: *const HmsClient) {
    if let Some(c) = client.as_ref() {
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

async fn call(
    client: ocore::Client,
    method: String,
    format: HmsFormat,
    request: Vec<u8>,
    opts: CallOptions,
) -> ocore::Result<Reply<Vec<u8>>> {
    match format {
        HmsFormat::Proto => client
            .call_raw_with_metadata(&method, Bytes::from(request), &opts)
            .await
            .map(bytes_reply),
        HmsFormat::Value => {
            let doc = CborDoc::parse(&request, DEFAULT_MAX_DEPTH)?;
            let mut out = CborOut::default();
            let reply = client
                .call_native(&method, &doc.root(), &opts, &mut out)
                .await??;
            Ok(cbor_reply(reply, out))
        }
    }
}

/// A proto reply in the C ABI's form.
fn bytes_reply(r: Reply<Bytes>) -> Reply<Vec<u8>> {
    r.map(|m| m.to_vec())
}

/// A reply walked to CBOR by `out`, in the C ABI's form.
fn cbor_reply(r: Reply<CborSpan>, out: CborOut) -> Reply<Vec<u8>> {
    let message = out.finish(r.message);
    r.map(|_| message)
}

/// What a call needs, read (and copied) from the caller's arguments.
pub(crate) struct Prepared {
    client: ocore::Client,
    method: String,
    format: HmsFormat,
    request: Vec<u8>,
    options: Options,
}

impl Prepared {
    /// The call, cancelled by the core when `cancel` is (the server's handler sees it).
    pub(crate) fn run(
        self,
        cancel: Option<CancellationToken>,
    ) -> impl std::future::Future<Output = ocore::Result<Reply<Vec<u8>>>> {
        let opts = self.options.to_core(cancel);
        call(self.client, self.method, self.format, self.request, opts)
    }

    /// [`run`](Prepared::run) on the calling thread (see `Client::call_blocking`).
    pub(crate) fn run_blocking(
        self,
        cancel: Option<CancellationToken>,
    ) -> ocore::Result<Reply<Vec<u8>>> {
        let opts = self.options.to_core(cancel);
        let client = self.client;
        match self.format {
            HmsFormat::Proto => client
                .call_raw_with_metadata_blocking(&self.method, Bytes::from(self.request), &opts)
                .map(bytes_reply),
            HmsFormat::Value => {
                let doc = CborDoc::parse(&self.request, DEFAULT_MAX_DEPTH)?;
                let mut out = CborOut::default();
                let reply = client.call_native_blocking_in(
                    &self.method,
                    &doc.root(),
                    &opts,
                    &JustWait,
                    &mut out,
                )??;
                Ok(cbor_reply(reply, out))
            }
        }
    }
}

/// Reads a call's arguments (copying the request).
pub(crate) unsafe fn prepare(
    client: *const HmsClient,
    method: *const c_char,
    format: HmsFormat,
    request: *const u8,
    request_len: usize,
    options: *const HmsCallOptions,
) -> ocore::Result<Prepared> {
    let c = obj(client, "client")?;
    Ok(Prepared {
        client: c.0.clone(),
        method: text(method, "method")?.to_string(),
        format,
        request: slice(request, request_len).to_vec(),
        options: Options::read(options)?,
    })
}

/// Calls a unary method and blocks until the reply. `metadata` holds `n_metadata` key/value
/// pairs as 2×n strings; `timeout_ms` ≤ 0 means no deadline. `cancel_id` (0 for none) comes
/// from [`crate::hms_cancel_id_new`]: [`crate::hms_call_cancel`] with it, from another thread,
/// ends the call with `CANCELLED`. On success `reply` receives the reply in `format` (free with
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
    hms_client_call_with_metadata(
        client,
        method,
        format,
        request,
        request_len,
        timeout_ms,
        metadata_kv,
        n_metadata,
        cancel_id,
        reply,
        std::ptr::null_mut(),
        err,
    )
}

/// [`hms_client_call`], also filling `response_metadata` (when not NULL; free with
/// `hms_bytes_free`) with the response headers and trailers as JSON,
/// `{"headers": [[key, value], …], "trailers": […]}` — empty when there are none — with a reply
/// or with an error.
#[no_mangle]
pub unsafe extern "C" fn hms_client_call_with_metadata(
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
    response_md: *mut HmsBytes,
    err: *mut *mut HmsError,
) -> i32 {
    let options = HmsCallOptions::basic(timeout_ms, metadata_kv, n_metadata);
    hms_client_call_with_options(
        client,
        method,
        format,
        request,
        request_len,
        &options,
        cancel_id,
        reply,
        response_md,
        err,
    )
}

/// [`hms_client_call_with_metadata`] with its options in one struct (NULL: the defaults), which
/// also holds `wait_for_ready`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn hms_client_call_with_options(
    client: *const HmsClient,
    method: *const c_char,
    format: HmsFormat,
    request: *const u8,
    request_len: usize,
    options: *const HmsCallOptions,
    cancel_id: u64,
    reply: *mut HmsBytes,
    response_md: *mut HmsBytes,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let prepared = prepare(client, method, format, request, request_len, options)?;
        let r = cancel_scope_blocking(cancel_id, |t| prepared.run_blocking(t));
        if let Some(out) = response_md.as_mut() {
            *out = HmsBytes::from_vec(response_metadata(&r).unwrap_or_default());
        }
        let r = r?;
        if !reply.is_null() {
            *reply = HmsBytes::from_vec(r.message);
        }
        Ok(())
    })
}
