//! The server's call path, shared by every transport: admission, interceptors, decode,
//! handler (with deadline, cancellation and panic capture), encode, limits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use bytes::Bytes;
use prost::Message;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use super::catch::CatchPanic;
use super::ServerOptions;
use crate::codec::Codec;
use crate::context::Context;
use crate::error::{Code, Error, Origin, Result};
use crate::handler::{DecodeFn, EncodeFn, RequestStream, ResponseSink, Route};
use crate::interceptor::{run_after, run_before, Interceptor};
use crate::limits::Limits;
use crate::mapping::DecodeOptions;
use crate::response::ResponseMetadata;
use crate::schema::{MethodInfo, Schema};
use crate::security::{
    filter_descriptor_set, CallPayloads, PeerCertificate, PeerCredentials, Security,
};
use crate::transport::frame::CallHead;

/// The method every server answers with its schema (discovery).
pub const DESCRIBE_METHOD: &str = "hms.ffi.v1.Discovery/Describe";

/// The reply of [`DESCRIBE_METHOD`].
#[derive(Clone, PartialEq, Message)]
pub struct DescribeResponse {
    /// The server's schema as a `FileDescriptorSet`.
    #[prost(bytes = "vec", tag = "1")]
    pub descriptor_set: Vec<u8>,
    /// Methods served without a schema (CBOR).
    #[prost(string, repeated, tag = "2")]
    pub schemaless: Vec<String>,
}

pub(crate) struct RouteEntry {
    pub(crate) info: Option<MethodInfo>,
    pub(crate) route: Route,
}

/// Who is calling, as the transport knows it.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) transport: &'static str,
    pub(crate) address: String,
    /// The kernel's credentials of a unix peer: its identity is `uid:<uid>`.
    pub(crate) cred: Option<PeerCredentials>,
    /// The verified certificate of a mutual-TLS client: its identity is the certificate's.
    pub(crate) cert: Option<Arc<PeerCertificate>>,
}

impl Peer {
    pub(crate) fn new(transport: &'static str, address: String) -> Peer {
        Peer {
            transport,
            address,
            cred: None,
            cert: None,
        }
    }
}

pub(crate) struct Dispatcher {
    pub(crate) schema: Schema,
    pub(crate) limits: Limits,
    pub(crate) language: String,
    pub(crate) decode: DecodeOptions,
    pub(crate) security: Option<Arc<Security>>,
    /// The audit log records payloads: unary calls keep theirs on the context.
    audit_payloads: bool,
    pub(crate) socket_mode: u32,
    routes: RwLock<HashMap<String, Arc<RouteEntry>>>,
    interceptors: RwLock<Arc<Vec<Arc<dyn Interceptor>>>>,
    inflight: AtomicUsize,
    /// Replies still being written by a transport (see [`Dispatcher::hold`]).
    writing: AtomicUsize,
    idle: Notify,
    /// Cancelled when a graceful shutdown begins: no new calls are admitted.
    pub(crate) drain: CancellationToken,
    /// Cancelled on hard stop: every handler's context is a child of it.
    pub(crate) stop: CancellationToken,
}

/// Counts a call in flight; wakes a draining shutdown when the last one ends.
pub(crate) struct InflightGuard(Arc<Dispatcher>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        if self.0.inflight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Counts a reply a transport is still writing; a draining shutdown waits for it too.
pub(crate) struct WritingGuard(Arc<Dispatcher>);

impl Drop for WritingGuard {
    fn drop(&mut self) {
        if self.0.writing.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Dispatcher {
    pub(crate) fn new(schema: Schema, options: ServerOptions) -> Dispatcher {
        Dispatcher {
            schema,
            limits: options.limits,
            language: options.language,
            decode: options.decode,
            interceptors: RwLock::new(Arc::new(
                options
                    .security
                    .as_ref()
                    .map(|s| s.interceptors())
                    .unwrap_or_default(),
            )),
            audit_payloads: options
                .security
                .as_ref()
                .and_then(|s| s.audit())
                .is_some_and(|a| a.records_payloads()),
            security: options.security,
            socket_mode: options.socket_mode,
            routes: RwLock::new(HashMap::new()),
            inflight: AtomicUsize::new(0),
            writing: AtomicUsize::new(0),
            idle: Notify::new(),
            drain: CancellationToken::new(),
            stop: CancellationToken::new(),
        }
    }

    pub(crate) fn add_route(&self, name: String, entry: RouteEntry) {
        if let Ok(mut routes) = self.routes.write() {
            routes.insert(name, Arc::new(entry));
        }
    }

    pub(crate) fn add_interceptor(&self, i: Arc<dyn Interceptor>) {
        if let Ok(mut chain) = self.interceptors.write() {
            let mut v: Vec<_> = chain.as_ref().clone();
            v.push(i);
            *chain = Arc::new(v);
        }
    }

    fn chain(&self) -> Arc<Vec<Arc<dyn Interceptor>>> {
        self.interceptors
            .read()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    fn route(&self, method: &str) -> Result<Arc<RouteEntry>> {
        let routes = self
            .routes
            .read()
            .map_err(|_| Error::internal("route table poisoned"))?;
        if let Some(r) = routes.get(method) {
            return Ok(r.clone());
        }
        match self.schema.method(method) {
            Some(m) => routes.get(&m.name).cloned().ok_or_else(|| {
                Error::new(
                    Code::Unimplemented,
                    format!("method {} has no handler on this server", m.name),
                )
            }),
            None => Err(Error::unimplemented_method(method)),
        }
    }

    /// The schema and schemaless methods, as far as the caller of `ctx` may call them.
    pub(crate) fn describe(&self, ctx: &Context) -> Bytes {
        let policy = self.security.as_ref().and_then(|s| s.policy());
        let allowed = |m: &str| policy.is_none_or(|p| p.allows(ctx.identity(), ctx.transport(), m));
        let schemaless = self
            .routes
            .read()
            .map(|r| {
                r.iter()
                    .filter(|(k, e)| e.info.is_none() && allowed(k))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        let set = self.schema.to_descriptor_set();
        DescribeResponse {
            descriptor_set: match policy {
                Some(_) => filter_descriptor_set(&set, allowed),
                None => set,
            },
            schemaless,
        }
        .encode_to_vec()
        .into()
    }

    pub(crate) fn begin_drain(&self) {
        self.drain.cancel();
    }

    pub(crate) fn inflight(&self) -> usize {
        self.inflight.load(Ordering::Acquire)
    }

    /// Waits until no call is in flight and no reply is being written.
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.idle.notified();
            if self.inflight() == 0 && self.writing.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Counts a reply a transport has yet to write, so that a graceful shutdown does not close
    /// the endpoints under it (it is not a call: [`Dispatcher::inflight`] leaves it out).
    pub(crate) fn hold(self: &Arc<Self>) -> WritingGuard {
        self.writing.fetch_add(1, Ordering::AcqRel);
        WritingGuard(self.clone())
    }

    fn admit(self: &Arc<Self>) -> Result<InflightGuard> {
        if self.drain.is_cancelled() {
            return Err(Error::unavailable("server is shutting down").with_reason("SHUTTING_DOWN"));
        }
        let n = self.inflight.fetch_add(1, Ordering::AcqRel);
        let guard = InflightGuard(self.clone());
        if n >= self.limits.max_concurrent_per_server {
            return Err(Error::resource_exhausted(
                "TOO_MANY_CALLS",
                format!(
                    "server has {n} calls in flight, the limit is {}",
                    self.limits.max_concurrent_per_server
                ),
            ));
        }
        Ok(guard)
    }

    /// A call a transport refused before the dispatcher saw it (a body over the size limit):
    /// the interceptors' `after` hooks (the audit log) still see it.
    pub(crate) fn refused(&self, head: &CallHead, peer: &Peer, e: &Error) {
        let start = Instant::now();
        let mut head = head.clone();
        let ctx = self.context(
            &mut head,
            peer,
            CancellationToken::new(),
            start,
            Arc::default(),
        );
        run_after(&self.chain(), &ctx, Err(e), start.elapsed());
    }

    /// [`admit`](Self::admit); a refused call still reaches the interceptors' `after` hooks
    /// (the audit log records it).
    fn admit_or_audit(
        self: &Arc<Self>,
        chain: &[Arc<dyn Interceptor>],
        ctx: &Context,
        start: Instant,
    ) -> Result<InflightGuard> {
        self.admit()
            .inspect_err(|e| run_after(chain, ctx, Err(e), start.elapsed()))
    }

    /// The handler's context; takes the metadata and trace id out of `head`.
    fn context(
        &self,
        head: &mut CallHead,
        peer: &Peer,
        cancel: CancellationToken,
        start: Instant,
        response: Arc<ResponseMetadata>,
    ) -> Context {
        let mut ctx = Context::new(head.method.clone(), peer.transport, peer.address.clone());
        let timeout = match (head.timeout, self.limits.max_deadline) {
            (Some(t), Some(max)) => Some(t.min(max)),
            (None, Some(max)) => Some(max),
            (t, None) => t,
        };
        ctx.deadline = timeout.map(|t| start + t);
        ctx.metadata = std::mem::take(&mut head.metadata);
        ctx.peer_cred = peer.cred;
        ctx.peer_cert = peer.cert.clone();
        ctx.identity = match (&peer.cred, &peer.cert) {
            (Some(c), _) => Some(c.identity()),
            (None, Some(c)) if !c.identity.is_empty() => Some(c.identity.clone()),
            _ => None,
        };
        ctx.trace_id = std::mem::take(&mut head.trace_id);
        ctx.cancel = cancel;
        ctx.response = response;
        ctx.finish_setup();
        ctx
    }

    fn origin(&self, head: &CallHead) -> Origin {
        let (service, method) = head
            .method
            .rsplit_once('/')
            .unwrap_or(("", head.method.as_str()));
        Origin {
            language: self.language.clone(),
            service: service.to_string(),
            method: method.to_string(),
        }
    }

    /// Runs `fut` until it ends, the deadline passes, or the call is cancelled.
    async fn guarded<T>(
        &self,
        ctx: &Context,
        fut: impl std::future::Future<Output = Result<T>> + Send,
    ) -> Result<T> {
        let fut = CatchPanic(Box::pin(fut));
        let deadline = ctx.deadline;
        let sleep = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        let deadline_passed = |r: Result<T>| match r {
            Err(e)
                if e.code() == Code::Cancelled
                    && !ctx.cancel.is_cancelled()
                    && deadline.is_some_and(|d| Instant::now() >= d) =>
            {
                Err(Error::deadline_exceeded())
            }
            other => other,
        };
        tokio::select! {
            biased;
            _ = sleep => Err(Error::deadline_exceeded()),
            r = fut => deadline_passed(r),
            _ = ctx.cancel.cancelled() => Err(if self.stop.is_cancelled() {
                Error::unavailable("server stopped").with_reason("SHUTTING_DOWN")
            } else {
                Error::cancelled()
            }),
        }
    }

    /// A unary call: request bytes in, reply bytes out; the handler's response metadata is
    /// left in `response` for the transport to send.
    pub(crate) async fn unary(
        self: &Arc<Self>,
        mut head: CallHead,
        payload: Bytes,
        peer: &Peer,
        cancel: CancellationToken,
        response: Arc<ResponseMetadata>,
    ) -> Result<Bytes> {
        let start = Instant::now();
        let mut ctx = self.context(&mut head, peer, cancel, start, response);
        let chain = self.chain();
        let _guard = self.admit_or_audit(&chain, &ctx, start)?;
        let request = self.audit_payloads.then(|| payload.clone());
        let result = CatchPanic(Box::pin(self.unary_inner(&head, payload, &mut ctx, &chain))).await;
        let result = result.map_err(|e| e.or_origin(|| self.origin(&head)));
        if let Some(request) = request {
            let info = self.route(&head.method).ok().and_then(|e| e.info.clone());
            ctx.payloads = Some(Arc::new(CallPayloads {
                codec: head.codec,
                request,
                response: result.as_ref().ok().cloned(),
                input: info.as_ref().map(MethodInfo::input),
                output: info.as_ref().map(MethodInfo::output),
            }));
        }
        run_after(&chain, &ctx, result.as_ref().map(|_| ()), start.elapsed());
        result
    }

    async fn unary_inner(
        &self,
        head: &CallHead,
        payload: Bytes,
        ctx: &mut Context,
        chain: &[Arc<dyn Interceptor>],
    ) -> Result<Bytes> {
        run_before(chain, ctx)?;
        if head.method == DESCRIBE_METHOD {
            return Ok(self.describe(ctx));
        }
        let entry = self.route(&head.method)?;
        self.limits.check_message(payload.len(), "request")?;
        let reply = match &entry.route {
            Route::Raw(h) => {
                if head.codec != Codec::Proto {
                    return Err(Error::new(
                        Code::InvalidArgument,
                        format!("method {} accepts only the proto codec", head.method),
                    ));
                }
                self.guarded(ctx, h.call(payload, ctx.clone())).await?
            }
            Route::Unary(h) => {
                let (decode, encode) = self.codecs(&entry, head.codec)?;
                let request = decode(&payload)?;
                let value = self.guarded(ctx, h.call(request, ctx.clone())).await?;
                encode(&value)?
            }
            Route::Stream(_) => {
                return Err(Error::new(
                    Code::Unimplemented,
                    format!("method {} is streaming; call it as a stream", head.method),
                ))
            }
        };
        self.limits.check_message(reply.len(), "response")?;
        Ok(reply)
    }

    /// Decoder for requests and encoder for responses of a route, for a codec.
    fn codecs(&self, entry: &RouteEntry, codec: Codec) -> Result<(DecodeFn, EncodeFn)> {
        let depth = self.limits.max_depth;
        let (input, output) = match &entry.info {
            Some(_) if codec == Codec::Cbor => {
                return Err(Error::new(
                    Code::InvalidArgument,
                    format!(
                        "method {} has a schema: use the proto or json codec",
                        entry_name(entry)
                    ),
                ))
            }
            Some(info) => (Some(info.input()), Some(info.output())),
            None if codec == Codec::Cbor => (None, None),
            None => {
                return Err(Error::new(
                    Code::InvalidArgument,
                    "schemaless methods take the cbor codec",
                ))
            }
        };
        let limits = self.limits.clone();
        let present = self.decode;
        let decode: DecodeFn = Arc::new(move |b: &[u8]| {
            limits.check_message(b.len(), "request")?;
            codec.decode_with(input.as_ref(), b, depth, present)
        });
        let limits_out = self.limits.clone();
        let encode: EncodeFn = Arc::new(move |v| {
            let bytes = codec.encode(output.as_ref(), v, depth).map_err(|e| {
                if e.code() == Code::InvalidArgument {
                    Error::new(
                        Code::Internal,
                        format!("handler returned an invalid response: {}", e.message()),
                    )
                    .with_details(e.details().clone())
                } else {
                    e
                }
            })?;
            limits_out.check_message(bytes.len(), "response")?;
            Ok(Bytes::from(bytes))
        });
        Ok((decode, encode))
    }

    /// A streaming call (any kind): requests arrive on `input`, responses leave on `output`.
    /// The response headers in `response` are sealed before the first response is queued.
    pub(crate) async fn stream(
        self: &Arc<Self>,
        mut head: CallHead,
        peer: &Peer,
        cancel: CancellationToken,
        (input, output): (mpsc::UnboundedReceiver<Bytes>, mpsc::UnboundedSender<Bytes>),
        response: Arc<ResponseMetadata>,
    ) -> Result<()> {
        let start = Instant::now();
        let mut ctx = self.context(&mut head, peer, cancel, start, response);
        let chain = self.chain();
        let _guard = self.admit_or_audit(&chain, &ctx, start)?;
        let result = async {
            run_before(&chain, &mut ctx)?;
            let entry = self.route(&head.method)?;
            let (decode, encode) = self.codecs(&entry, head.codec)?;
            let requests = RequestStream { rx: input, decode };
            let sink = ResponseSink {
                tx: output,
                encode,
                response: ctx.response.clone(),
            };
            match &entry.route {
                Route::Stream(h) => {
                    self.guarded(&ctx, h.call(requests, sink, ctx.clone()))
                        .await
                }
                Route::Unary(h) => {
                    let h = h.clone();
                    let c = ctx.clone();
                    self.guarded(&ctx, async move {
                        let mut requests = requests;
                        let req = requests.next().await.ok_or_else(|| {
                            Error::new(Code::InvalidArgument, "unary call without a request")
                        })??;
                        sink.send(&h.call(req, c).await?)
                    })
                    .await
                }
                Route::Raw(_) => Err(Error::new(
                    Code::Unimplemented,
                    "raw methods are unary only",
                )),
            }
        }
        .await
        .map_err(|e| e.or_origin(|| self.origin(&head)));
        run_after(&chain, &ctx, result.as_ref().map(|_| ()), start.elapsed());
        result
    }
}

fn entry_name(entry: &RouteEntry) -> &str {
    entry.info.as_ref().map_or("", |i| i.name.as_str())
}
