//! [`Client`] and [`connect`]: calls that settle Promises from the core's threads.

use std::collections::HashMap;
use std::time::Duration;

use hms_ffi_core::limits::DEFAULT_MAX_DEPTH;
use hms_ffi_core::mapping::{CborDoc, CborOut};
use hms_ffi_core::{self as core, runtime, CallOptions, ConnectOptions, Metadata, StreamCall};
use napi::bindgen_prelude::{Buffer, Object};
use napi::Env;
use napi_derive::napi;

use crate::cancel::CancelToken;
use crate::error::{throw, CallOutcome};
use crate::schema::{describe, MethodDescription, Schema};
use crate::stream::ClientStream;
use crate::values::FOR_JS;

/// A connection to a server.
#[napi]
#[derive(Debug)]
pub struct Client {
    inner: core::Client,
}

/// Connects to `uri`; the Promise settles with a [`Client`] (or rejects with `CODE: message`).
/// With `schema`, the server's own schema is not asked for (stock gRPC servers).
#[napi(ts_return_type = "Promise<Client>")]
pub fn connect<'env>(
    env: &'env Env,
    uri: String,
    schema: Option<&Schema>,
) -> napi::Result<Object<'env>> {
    let options = ConnectOptions {
        schema: schema.map(|s| s.inner.clone()),
        decode: FOR_JS,
        ..ConnectOptions::default()
    };
    let (deferred, promise) = env.create_deferred()?;
    runtime::handle().spawn(async move {
        match core::connect_with(&uri, options).await {
            Ok(client) => deferred.resolve(move |_| Ok(Client { inner: client })),
            Err(e) => deferred.reject(throw(e)),
        }
    });
    Ok(promise)
}

#[napi]
impl Client {
    /// Calls a unary method with a CBOR request; the Promise settles with the outcome (a CBOR
    /// reply or an error with its code and details) and never rejects. With `withMetadata`, a
    /// reply comes with the response headers and trailers.
    #[napi(ts_return_type = "Promise<CallOutcome>")]
    #[allow(clippy::too_many_arguments)]
    pub fn call<'env>(
        &self,
        env: &'env Env,
        method: String,
        request: Buffer,
        timeout_ms: Option<f64>,
        metadata: Option<HashMap<String, String>>,
        cancel: Option<&CancelToken>,
        with_metadata: Option<bool>,
    ) -> napi::Result<Object<'env>> {
        let client = self.inner.clone();
        let request = request.to_vec();
        let opts = call_options(timeout_ms, metadata, cancel);
        let (deferred, promise) = env.create_deferred()?;
        let with_metadata = with_metadata.unwrap_or(false);
        // The request is written from this thread before the runtime takes over.
        runtime::spawn_eager(async move {
            let outcome = outcome(&client, &method, &request, &opts, with_metadata).await;
            deferred.resolve(move |_| Ok(outcome));
        });
        Ok(promise)
    }

    /// Opens a streaming call of any kind; the Promise settles with the stream once the
    /// connection is ready (or rejects with `CODE: message`). The timeout bounds the whole
    /// stream; the token cancels it.
    #[napi(ts_return_type = "Promise<ClientStream>")]
    pub fn open_stream<'env>(
        &self,
        env: &'env Env,
        method: String,
        timeout_ms: Option<f64>,
        metadata: Option<HashMap<String, String>>,
        cancel: Option<&CancelToken>,
    ) -> napi::Result<Object<'env>> {
        let client = self.inner.clone();
        let opts = call_options(timeout_ms, metadata, cancel);
        let (deferred, promise) = env.create_deferred()?;
        runtime::handle().spawn(async move {
            match StreamCall::open(&client, &method, &opts).await {
                Ok(call) => deferred.resolve(move |_| Ok(ClientStream::new(call))),
                Err(e) => deferred.reject(throw(e)),
            }
        });
        Ok(promise)
    }

    /// The methods the server offers.
    #[napi]
    pub fn methods(&self) -> Vec<MethodDescription> {
        describe(self.inner.schema())
    }

    /// The URI this client is connected to.
    #[napi(getter)]
    pub fn endpoint(&self) -> String {
        self.inner.endpoint().to_string()
    }

    /// Closes the connection, as the core does on every transport: calls in flight and every
    /// later call end with `CANCELLED` (reason `CLIENT_CLOSED`). Closing twice is harmless.
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}

/// A call's options from JavaScript's arguments.
fn call_options(
    timeout_ms: Option<f64>,
    metadata: Option<HashMap<String, String>>,
    cancel: Option<&CancelToken>,
) -> CallOptions {
    let mut md = Metadata::new();
    for (k, v) in metadata.unwrap_or_default() {
        md.insert(k, v);
    }
    CallOptions {
        timeout: timeout_ms
            .filter(|t| t.is_finite())
            .map(|t| Duration::from_secs_f64(t.max(0.0) / 1000.0)),
        metadata: md,
        cancel: cancel.map(|c| c.0.clone()),
        ..CallOptions::default()
    }
}

/// The outcome of one call: the CBOR reply (with the response metadata when asked for) or the
/// error. The request's CBOR is walked straight to protobuf and the reply's protobuf straight
/// to CBOR (no value tree in between).
async fn outcome(
    client: &core::Client,
    method: &str,
    request: &[u8],
    opts: &CallOptions,
    with_metadata: bool,
) -> CallOutcome {
    let doc = match CborDoc::parse(request, DEFAULT_MAX_DEPTH) {
        Ok(doc) => doc,
        Err(e) => return CallOutcome::from_result(Err(e)),
    };
    let mut out = CborOut::default();
    let reply = match client
        .call_native(method, &doc.root(), opts, &mut out)
        .await
    {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) | Err(e) => return CallOutcome::from_result(Err(e)),
    };
    let mut outcome = CallOutcome::from_result(Ok(Buffer::from(out.finish(reply.message))));
    if with_metadata {
        outcome.headers = Some(reply.headers.first_values());
        outcome.trailers = Some(reply.trailers.first_values());
    }
    outcome
}
