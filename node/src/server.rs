//! [`Server`]: handlers written in JavaScript, run on the event loop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hms_ffi_core::handler::{BoxFuture, NativeHandler, StreamHandler};
use hms_ffi_core::later::reply_later;
use hms_ffi_core::{
    self as core, runtime, Code, Context, Exchange, RequestStream, ResponseSink, ServerOptions,
};
use napi::bindgen_prelude::{Buffer, FnArgs, Object};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;

use crate::error::js;
use crate::response::CallResponse;
use crate::schema::{Schema, SchemaVersion};
use crate::stream::ServerStream;
use crate::values::{to_js, FOR_JS};

/// What a handler is told about its call.
#[napi(object)]
#[derive(Debug)]
pub struct CallInfo {
    /// An id unique in this process, passed to the `onCancel` callback if the call is cancelled.
    pub id: u32,
    /// `package.Service/Method`.
    pub method: String,
    /// The caller's metadata.
    pub metadata: HashMap<String, String>,
    /// Milliseconds left before the caller's deadline, if it set one.
    pub time_remaining_ms: Option<f64>,
    /// Who is calling (a socket path, an address, `inproc`).
    pub peer: String,
    /// `inproc`, `unix`, `grpc`, …
    pub transport: String,
    /// The call's trace id.
    pub trace_id: String,
    /// The authenticated caller, if any.
    pub identity: Option<String>,
    /// The kernel's credentials of a unix caller (`unix://`, `grpc+unix://`).
    pub peer_credentials: Option<PeerCredentials>,
    /// The client certificate of a mutual-TLS caller.
    pub peer_certificate: Option<PeerCertificate>,
}

/// A mutual-TLS caller's certificate.
#[napi(object)]
pub struct PeerCertificate {
    /// Its first URI SAN, else its first DNS SAN, else its subject's common name.
    pub identity: String,
    /// The subject's distinguished name (RFC 4514).
    pub subject: String,
    /// The whole certificate, DER-encoded.
    pub der: Buffer,
}

impl std::fmt::Debug for PeerCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerCertificate")
            .field("identity", &self.identity)
            .field("subject", &self.subject)
            .finish()
    }
}

/// The uid, gid and pid of a unix caller, as the kernel reports them.
#[napi(object)]
#[derive(Debug)]
pub struct PeerCredentials {
    /// The caller's effective user id.
    pub uid: u32,
    /// The caller's effective group id.
    pub gid: u32,
    /// The caller's process id, where the platform reports it.
    pub pid: Option<i32>,
}

/// A JavaScript handler: `(request: Buffer, info: CallInfo, response: CallResponse) => void`,
/// which ends the call with `response.finish(outcome)` and never throws; weak, so a registered
/// handler does not keep the process alive by itself.
type Handler = ThreadsafeFunction<
    FnArgs<(Buffer, CallInfo, CallResponse)>,
    (),
    FnArgs<(Buffer, CallInfo, CallResponse)>,
    Status,
    false,
    true,
>;

/// A JavaScript streaming handler: `(info: CallInfo, stream: ServerStream, response:
/// CallResponse) => void`, which reads and sends on `stream` and ends the call with
/// `response.finish(outcome)`; weak, as [`Handler`].
type StreamHandlerFn = ThreadsafeFunction<
    FnArgs<(CallInfo, ServerStream, CallResponse)>,
    (),
    FnArgs<(CallInfo, ServerStream, CallResponse)>,
    Status,
    false,
    true,
>;

/// `(id: number) => void`, told when a call still running in JavaScript is cancelled.
type OnCancel = ThreadsafeFunction<u32, (), u32, Status, false, true>;

static NEXT_CALL: AtomicU32 = AtomicU32::new(1);

/// A server whose handlers are JavaScript functions.
#[napi]
pub struct Server {
    inner: Arc<core::Server>,
    on_cancel: Arc<OnCancel>,
}

#[napi]
impl Server {
    /// A server for `schema`; `onCancel(id)` is called when a running call is cancelled;
    /// `security` is the path of a security file (policy, tokens, limits, audit);
    /// `serviceConfig` the JSON text of the service config discovery announces; `converters`
    /// the targets of the handlers' converters (`docs/converters.md`).
    #[napi(
        constructor,
        ts_args_type = "schema: Schema, onCancel: (id: number) => void, security?: string | undefined | null, serviceConfig?: string | undefined | null, converters?: Array<ConverterTarget> | undefined | null"
    )]
    pub fn new(
        schema: &Schema,
        on_cancel: OnCancel,
        security: Option<String>,
        service_config: Option<String>,
        converters: Option<Vec<crate::ConverterTarget>>,
    ) -> napi::Result<Server> {
        let options = core::BindingOptions {
            security: security.map(Into::into),
            service_config,
            decode: FOR_JS,
            converters: crate::converters::registry(converters)?,
            ..Default::default()
        };
        let options = js(ServerOptions::for_binding("node", options))?;
        Ok(Server {
            inner: Arc::new(core::Server::with_options(schema.inner.clone(), options)),
            on_cancel: Arc::new(on_cancel),
        })
    }

    /// Registers the handler of a unary method.
    /// With `revision`, of that schema revision (`addRevision`).
    #[napi(
        ts_args_type = "name: string, handler: (request: Buffer, info: CallInfo, response: CallResponse) => void, revision?: string | undefined | null"
    )]
    pub fn method(
        &self,
        name: String,
        handler: Handler,
        revision: Option<String>,
    ) -> napi::Result<()> {
        let handler = Arc::new(NodeUnary {
            handler: Arc::new(handler),
            on_cancel: self.on_cancel.clone(),
        });
        js(self
            .inner
            .on_revision(revision.as_deref())
            .and_then(|s| s.unary_native(&name, handler)))
    }

    /// Registers the handler of a streaming method (server-, client- or bidi-streaming).
    #[napi(
        ts_args_type = "name: string, handler: (info: CallInfo, stream: ServerStream, response: CallResponse) => void, revision?: string | undefined | null"
    )]
    pub fn stream_method(
        &self,
        name: String,
        handler: StreamHandlerFn,
        revision: Option<String>,
    ) -> napi::Result<()> {
        let handler = Arc::new(NodeStream {
            handler: Arc::new(handler),
            on_cancel: self.on_cancel.clone(),
        });
        js(self
            .inner
            .on_revision(revision.as_deref())
            .and_then(|s| s.stream_handler(&name, handler)))
    }

    /// Serves `schema` beside the main one as the revision `label`; returns its fingerprint.
    #[napi]
    pub fn add_revision(&self, label: String, schema: &Schema) -> napi::Result<String> {
        js(self.inner.add_revision(&label, schema.inner.clone()))
    }

    /// The revisions served beside the main schema, label → fingerprint.
    #[napi(getter)]
    pub fn revisions(&self) -> HashMap<String, String> {
        self.inner.revisions().into_iter().collect()
    }

    /// Serves the main schema's `method` with the handler of `revision` (a WIRE check first).
    #[napi]
    pub fn bridge(&self, revision: String, method: String) -> napi::Result<()> {
        js(self.inner.bridge(&revision, &method))
    }

    /// Starts serving on `uri`; returns the URI actually bound (an ephemeral port filled in).
    #[napi]
    pub fn listen(&self, uri: String) -> napi::Result<String> {
        js(self.inner.listen(&uri))
    }

    /// Starts the admin listener on `uri` (`http://host:port`; port 0 picks a free one):
    /// `/metrics` (Prometheus text), `/healthz` and the live monitoring page at `/`. Returns the
    /// URI bound; it stops with the server.
    #[napi]
    pub fn admin(&self, uri: String) -> napi::Result<String> {
        js(self.inner.admin(&uri))
    }

    /// The URIs being served.
    #[napi]
    pub fn endpoints(&self) -> Vec<String> {
        self.inner.endpoints()
    }

    /// The schema version discovery announces (the fingerprint; subject and version once set).
    #[napi(getter)]
    pub fn schema_version(&self) -> SchemaVersion {
        SchemaVersion::from(&self.inner.schema_version())
    }

    /// Records the registry subject and version of the schema served (announced in discovery).
    #[napi]
    pub fn set_schema_version(&self, subject: String, version: u32) {
        self.inner.set_schema_version(&subject, version)
    }

    /// Stops accepting calls, waits up to `graceMs` for calls in flight, then stops.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn shutdown<'env>(
        &self,
        env: &'env Env,
        grace_ms: Option<f64>,
    ) -> napi::Result<Object<'env>> {
        let server = self.inner.clone();
        let grace = Duration::from_secs_f64(grace_ms.unwrap_or(5000.0).max(0.0) / 1000.0);
        let (deferred, promise) = env.create_deferred()?;
        runtime::handle().spawn(async move {
            server.shutdown(grace).await;
            deferred.resolve(|_| Ok(()));
        });
        Ok(promise)
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("endpoints", &self.inner.endpoints())
            .finish()
    }
}

fn call_info(ctx: &Context) -> CallInfo {
    CallInfo {
        id: NEXT_CALL.fetch_add(1, Ordering::Relaxed),
        method: ctx.method().to_string(),
        metadata: ctx.metadata().first_values(),
        time_remaining_ms: ctx.time_remaining().map(|d| d.as_secs_f64() * 1000.0),
        peer: ctx.peer().to_string(),
        transport: ctx.transport().to_string(),
        trace_id: ctx.trace_id().to_string(),
        identity: ctx.identity().map(str::to_string),
        peer_credentials: ctx.peer_credentials().map(|c| PeerCredentials {
            uid: c.uid,
            gid: c.gid,
            pid: c.pid,
        }),
        peer_certificate: ctx.peer_certificate().map(|c| PeerCertificate {
            identity: c.identity.clone(),
            subject: c.subject.clone(),
            der: c.der.clone().into(),
        }),
    }
}

/// A unary method served by a JavaScript handler on the event loop. The request's protobuf is
/// walked straight to the CBOR the handler reads, and its CBOR reply straight to protobuf.
struct NodeUnary {
    handler: Arc<Handler>,
    on_cancel: Arc<OnCancel>,
}

impl NativeHandler for NodeUnary {
    fn call(
        &self,
        request: Bytes,
        exchange: Arc<Exchange>,
        ctx: Context,
    ) -> BoxFuture<'static, core::Result<Bytes>> {
        let (handler, on_cancel) = (self.handler.clone(), self.on_cancel.clone());
        Box::pin(async move {
            let request = to_js(|o| exchange.request(&request, o))?;
            let info = call_info(&ctx);
            // Dropped before the reply (caller gone, deadline): JavaScript is told.
            let guard = CancelGuard {
                id: Some(info.id),
                on_cancel,
            };
            // The handler ends the call on the event loop's thread (`response.finish`), where
            // the reply is encoded and written: no thread of ours waits for it.
            let (later, reply) = reply_later();
            let response = CallResponse::new(ctx.clone(), later, exchange);
            let status = handler.call(
                (request, info, response).into(),
                ThreadsafeFunctionCallMode::NonBlocking,
            );
            if status != Status::Ok {
                return Err(handler_failed(napi::Error::from_status(status)));
            }
            let result = reply.await;
            guard.disarm();
            result
        })
    }
}

/// A streaming method served by a JavaScript handler on the event loop.
struct NodeStream {
    handler: Arc<StreamHandlerFn>,
    on_cancel: Arc<OnCancel>,
}

impl StreamHandler for NodeStream {
    fn call(
        &self,
        requests: RequestStream,
        sink: ResponseSink,
        ctx: Context,
    ) -> BoxFuture<'static, core::Result<()>> {
        let (handler, on_cancel) = (self.handler.clone(), self.on_cancel.clone());
        Box::pin(async move {
            let info = call_info(&ctx);
            let guard = CancelGuard {
                id: Some(info.id),
                on_cancel,
            };
            let (later, ended) = reply_later();
            let response = CallResponse::for_stream(ctx, later);
            let stream = ServerStream::new(core::ServerStream::new(requests, sink));
            let status = handler.call(
                (info, stream, response).into(),
                ThreadsafeFunctionCallMode::NonBlocking,
            );
            if status != Status::Ok {
                return Err(handler_failed(napi::Error::from_status(status)));
            }
            let result = ended.await;
            guard.disarm();
            result
        })
    }
}

fn handler_failed(e: napi::Error) -> core::Error {
    core::Error::new(
        Code::Internal,
        format!("the JavaScript handler could not be run: {e}"),
    )
}

struct CancelGuard {
    id: Option<u32>,
    on_cancel: Arc<OnCancel>,
}

impl CancelGuard {
    fn disarm(mut self) {
        self.id = None;
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.on_cancel
                .call(id, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}
