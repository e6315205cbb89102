//! [`Client`] and [`connect`]: calls that settle Promises from the core's threads.

use std::collections::HashMap;
use std::time::Duration;

use hms_ffi_core::limits::DEFAULT_MAX_DEPTH;
use hms_ffi_core::mapping::{CborDoc, CborOut};
use hms_ffi_core::{self as core, runtime, CallOptions, ConnectOptions, Metadata, StreamCall};
use napi::bindgen_prelude::{Buffer, Either, Object};
use napi::Env;
use napi_derive::napi;

use crate::cancel::CancelToken;
use crate::error::{from_native, js, throw, CallOutcome, NativeError};
use crate::response::CallResponse;
use crate::schema::{describe, MethodDescription, Schema, SchemaVersion};
use crate::stream::ClientStream;
use crate::values::FOR_JS;

/// A connection to a server.
#[napi]
#[derive(Debug)]
pub struct Client {
    inner: core::Client,
}

/// Connects to `uris` (one or several endpoints of one service); the Promise settles with a
/// [`Client`] (or rejects with `CODE: message`). With `schema`, the server's own schema is not
/// asked for (stock gRPC servers). `resilience` is the core's options as JSON
/// (`docs/resilience.md`: reconnect backoff, retry and hedging policies, keepalive, load
/// balancing); bad options throw `INVALID_ARGUMENT` at once. `expect_schema` is the schema the
/// caller was built against: methods the server's schema breaks are refused
/// (`docs/evolution.md`, "Versions at connect"). `converters` are the targets of the caller's
/// converters (`docs/converters.md`), converter `i` tagged `CONVERTED_TAG + i`. `revision`
/// chooses a schema revision the server serves beside its main one (label or fingerprint).
#[napi(ts_return_type = "Promise<Client>")]
pub fn connect<'env>(
    env: &'env Env,
    uris: Vec<String>,
    schema: Option<&Schema>,
    resilience: Option<String>,
    expect_schema: Option<&Schema>,
    converters: Option<Vec<crate::ConverterTarget>>,
    revision: Option<String>,
) -> napi::Result<Object<'env>> {
    let resilience = match resilience {
        Some(json) => js(core::Resilience::from_json(&json))?,
        None => core::Resilience::default(),
    };
    let options = ConnectOptions {
        schema: schema.map(|s| s.inner.clone()),
        decode: FOR_JS,
        resilience,
        expect_schema: expect_schema.map(|s| s.inner.clone()),
        converters: crate::converters::registry(converters)?,
        revision,
        ..ConnectOptions::default()
    };
    let (deferred, promise) = env.create_deferred()?;
    runtime::handle().spawn(async move {
        let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
        match core::connect_all(&uris, options).await {
            Ok(client) => deferred.resolve(move |_| Ok(Client { inner: client })),
            Err(e) => deferred.reject(throw(e)),
        }
    });
    Ok(promise)
}

/// One endpoint of a client: its URI, connection state and whether it is ejected.
#[napi(object)]
#[derive(Debug)]
pub struct EndpointStatus {
    pub uri: String,
    pub state: String,
    pub ejected: bool,
    /// Where its connection goes while it is up (for `auto://NAME` the transport it picked).
    pub connected: Option<String>,
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
        wait_for_ready: Option<bool>,
        parent: Option<&CallResponse>,
    ) -> napi::Result<Object<'env>> {
        let client = self.inner.clone();
        let request = request.to_vec();
        let opts = call_options(timeout_ms, metadata, cancel, wait_for_ready, parent);
        let (deferred, promise) = env.create_deferred()?;
        let with_metadata = with_metadata.unwrap_or(false);
        // The request is written from this thread before the runtime takes over.
        runtime::spawn_eager(async move {
            let outcome = outcome(&client, &method, &request, &opts, with_metadata).await;
            deferred.resolve(move |_| Ok(outcome));
        });
        Ok(promise)
    }

    /// Calls every `methods[i]` with the CBOR request `requests[i]` as one batch (the core's
    /// rules: one deadline from the batch's start, partial failure, the token cancels every
    /// call not finished). A request the JavaScript encoder refused comes as its error
    /// (`{ code, message, details }`): the core keeps it in its place, never sends it, and
    /// counts it towards the batch's size. The Promise settles with one outcome per call, in
    /// order (a CBOR reply or the call's error); it rejects (`INVALID_ARGUMENT: …`) only for a
    /// batch of more than 100 000 calls, refused whole.
    #[napi(ts_return_type = "Promise<Array<CallOutcome>>")]
    #[allow(clippy::too_many_arguments)]
    pub fn batch<'env>(
        &self,
        env: &'env Env,
        methods: Vec<String>,
        requests: Vec<Either<Buffer, NativeError>>,
        timeout_ms: Option<f64>,
        metadata: Option<HashMap<String, String>>,
        cancel: Option<&CancelToken>,
        wait_for_ready: Option<bool>,
        parent: Option<&CallResponse>,
    ) -> napi::Result<Object<'env>> {
        if methods.len() != requests.len() {
            return Err(throw(core::Error::new(
                core::Code::InvalidArgument,
                "a batch needs one request per method",
            )));
        }
        let client = self.inner.clone();
        let items: Vec<(String, core::Result<Vec<u8>>)> = methods
            .into_iter()
            .zip(requests.into_iter().map(|r| match r {
                Either::A(body) => Ok(body.to_vec()),
                Either::B(refused) => Err(from_native(refused)),
            }))
            .collect();
        let opts = call_options(timeout_ms, metadata, cancel, wait_for_ready, parent);
        let (deferred, promise) = env.create_deferred()?;
        runtime::handle().spawn(async move {
            match client.batch_cbor(&items, &opts).await {
                Ok(results) => deferred.resolve(move |_| {
                    Ok(results
                        .into_iter()
                        .map(|r| CallOutcome::from_result(r.map(|r| Buffer::from(r.message))))
                        .collect::<Vec<_>>())
                }),
                Err(e) => deferred.reject(throw(e)),
            }
        });
        Ok(promise)
    }

    /// Opens a streaming call of any kind; the Promise settles with the stream once the
    /// connection is ready (or rejects with `CODE: message`). The timeout bounds the whole
    /// stream; the token cancels it.
    #[napi(ts_return_type = "Promise<ClientStream>")]
    #[allow(clippy::too_many_arguments)]
    pub fn open_stream<'env>(
        &self,
        env: &'env Env,
        method: String,
        timeout_ms: Option<f64>,
        metadata: Option<HashMap<String, String>>,
        cancel: Option<&CancelToken>,
        wait_for_ready: Option<bool>,
        parent: Option<&CallResponse>,
    ) -> napi::Result<Object<'env>> {
        let client = self.inner.clone();
        let opts = call_options(timeout_ms, metadata, cancel, wait_for_ready, parent);
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

    /// The schema version the server announced in discovery, or `null` when the schema was
    /// given rather than discovered.
    #[napi(getter)]
    pub fn schema_version(&self) -> Option<SchemaVersion> {
        self.inner.schema_version().map(SchemaVersion::from)
    }

    /// The fingerprint of the schema revision this client speaks, `null` for the main schema.
    #[napi(getter)]
    pub fn revision(&self) -> Option<String> {
        self.inner.revision().map(str::to_string)
    }

    /// The revisions the server announced beside its main schema, label → fingerprint.
    #[napi(getter)]
    pub fn revisions(&self) -> HashMap<String, String> {
        let v = self.inner.schema_version();
        v.map(|v| v.revisions.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The methods of `expectSchema` the server's schema breaks, each with its findings
    /// (`path:line:column:RULE_ID message`).
    #[napi]
    pub fn incompatible_methods(&self) -> HashMap<String, Vec<String>> {
        self.inner.incompatible_method_texts().into_iter().collect()
    }

    /// The URI this client is connected to.
    #[napi(getter)]
    pub fn endpoint(&self) -> String {
        self.inner.endpoint().to_string()
    }

    /// The connection's state: `idle` (lost; the next call reconnects), `connecting`, `ready`,
    /// `transient_failure` (waiting to retry) or `shutdown` (closed). With several endpoints,
    /// the best of theirs.
    #[napi(getter)]
    pub fn state(&self) -> String {
        self.inner.state().name().to_string()
    }

    /// Where calls go now, while connected: for `auto://NAME` the transport it picked, else
    /// the endpoint itself; `null` while no connection is up.
    #[napi(getter)]
    pub fn transport(&self) -> Option<String> {
        self.inner.transport()
    }

    /// Each endpoint given to `connect`, in order, with its state and whether it is ejected.
    #[napi]
    pub fn endpoints(&self) -> Vec<EndpointStatus> {
        let all = self.inner.endpoints().into_iter();
        all.map(|e| EndpointStatus {
            uri: e.endpoint,
            state: e.state.name().to_string(),
            ejected: e.ejected,
            connected: e.connected,
        })
        .collect()
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
    wait_for_ready: Option<bool>,
    parent: Option<&CallResponse>,
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
        wait_for_ready,
        // The handler this call is made for (JavaScript knows it, the thread does not): its
        // deadline, cancellation and trace are inherited; none means detached.
        parent: parent.map(CallResponse::inherited),
        detach: parent.is_none(),
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
