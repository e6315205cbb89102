//! The server's call path, shared by every transport: admission, interceptors, decode,
//! handler (with deadline, cancellation and panic capture), encode, limits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use super::catch::CatchPanic;
use super::routes::RouteEntry;
use super::ServerOptions;
use crate::call::{CallHead, DESCRIBE_METHOD, HEALTH_METHOD};
use crate::codec::Codec;
use crate::context::Context;
use crate::error::{Code, Error, Result};
use crate::handler::{RequestStream, ResponseSink, Route};
use crate::interceptor::{run_before, Interceptor};
use crate::limits::Limits;
use crate::mapping::DecodeOptions;
use crate::metadata::response::ResponseMetadata;
use crate::metrics::FastMap;
use crate::peer::Peer;
use crate::schema::{MethodInfo, Schema};
use crate::security::{CallPayloads, Security};
use crate::transport::ListenConfig;

pub(crate) struct Dispatcher {
    pub(crate) schema: Schema,
    pub(crate) limits: Limits,
    pub(crate) language: String,
    pub(crate) decode: DecodeOptions,
    pub(crate) converters: crate::mapping::Converters,
    pub(crate) security: Option<Arc<Security>>,
    /// The audit log records payloads: unary calls keep theirs on the context.
    pub(super) audit_payloads: bool,
    /// What the transports listen with.
    pub(super) listen: ListenConfig,
    pub(super) routes: RwLock<FastMap<String, Arc<RouteEntry>>>,
    pub(super) revisions: RwLock<Vec<Arc<super::revisions::Revision>>>,
    pub(super) announce: super::routes::Announce,
    /// Each served method's metrics, found once per call with the context.
    pub(super) metrics: RwLock<crate::metrics::ByMethod>,
    pub(super) interceptors: RwLock<Arc<Vec<Arc<dyn Interceptor>>>>,
    pub(super) inflight: AtomicUsize,
    /// Replies still being written by a transport (see
    /// [`Service::start_writing`](crate::transport::Service::start_writing)).
    pub(super) writing: AtomicUsize,
    pub(super) idle: Notify,
    /// Cancelled when a graceful shutdown begins: no new calls are admitted.
    pub(crate) drain: CancellationToken,
    /// Cancelled on hard stop: every handler's context is a child of it.
    pub(crate) stop: CancellationToken,
    /// The queue's thread that reads the connections itself (the first queue a method was
    /// routed to; see [`crate::transport::Host`]).
    pub(super) host: std::sync::OnceLock<Arc<crate::transport::Host>>,
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

impl Dispatcher {
    pub(crate) fn new(schema: Schema, mut options: ServerOptions) -> Dispatcher {
        let served = options.service_config.take();
        Dispatcher {
            listen: super::service::listen_config(&schema, &options),
            metrics: RwLock::default(),
            schema,
            limits: options.limits,
            language: options.language,
            decode: options.decode,
            converters: options.converters.clone(),
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
            routes: RwLock::new(FastMap::default()),
            revisions: RwLock::default(),
            announce: super::routes::Announce::new(served),
            inflight: AtomicUsize::new(0),
            writing: AtomicUsize::new(0),
            idle: Notify::new(),
            drain: CancellationToken::new(),
            stop: CancellationToken::new(),
            host: std::sync::OnceLock::new(),
        }
    }

    pub(crate) fn add_interceptor(&self, i: Arc<dyn Interceptor>) {
        if let Ok(mut chain) = self.interceptors.write() {
            let mut v: Vec<_> = chain.as_ref().clone();
            v.push(i);
            *chain = Arc::new(v);
        }
    }

    pub(super) fn chain(&self) -> Arc<Vec<Arc<dyn Interceptor>>> {
        self.interceptors
            .read()
            .map(|c| c.clone())
            .unwrap_or_default()
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

    /// [`admit`](Self::admit); a refused call still reaches the interceptors' `after` hooks
    /// (the audit log records it).
    fn admit_or_audit(
        self: &Arc<Self>,
        chain: &[Arc<dyn Interceptor>],
        ctx: &Context,
        start: Instant,
    ) -> Result<InflightGuard> {
        self.admit().inspect_err(|e| {
            self.rejected(ctx, e);
            self.after(chain, ctx, Err(e), start.elapsed())
        })
    }

    /// The handler's context; takes the metadata and trace id out of `head`.
    pub(super) fn context(
        &self,
        head: &mut CallHead,
        peer: &Peer,
        cancel: CancellationToken,
        start: Instant,
        response: Arc<ResponseMetadata>,
    ) -> Context {
        let mut ctx = Context::replying(
            head.method.as_str(),
            peer.transport,
            peer.address.clone(),
            response,
        );
        let timeout = match (head.timeout, self.limits.max_deadline) {
            (Some(t), Some(max)) => Some(t.min(max)),
            (None, Some(max)) => Some(max),
            (t, None) => t,
        };
        ctx.deadline = timeout.map(|t| start + t);
        ctx.metadata = std::mem::take(&mut head.metadata);
        ctx.peer_cred = peer.cred();
        ctx.peer_cert = peer.cert().cloned();
        ctx.identity = peer.identity();
        ctx.cancel = cancel;
        ctx.finish_setup(&head.trace_id);
        let table = self.metrics.read().ok();
        let found = table.as_ref().and_then(|m| m.get(&head.method));
        let metrics = found.unwrap_or_else(|| crate::metrics::other()).clone();
        metrics.server(ctx.transport).start();
        ctx.metrics = Some(metrics);
        ctx
    }

    /// A unary call: request bytes in, reply bytes out; the handler's response metadata is
    /// left in `response` for the transport to send.
    pub(super) async fn call_unary(
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
        let payload_len = payload.len();
        let result = CatchPanic(Box::pin(self.unary_inner(&head, payload, &mut ctx, &chain))).await;
        let result = result.map_err(|e| e.or_origin(|| self.origin(&head)));
        if let (Some(m), Ok(reply)) = (&ctx.metrics, &result) {
            m.server(ctx.transport).sizes(reply.len(), payload_len);
        }
        if let Some(request) = request {
            let entry = self.route(&head.method, &ctx.metadata).ok();
            let info = entry.and_then(|e| e.bridge.clone().or_else(|| e.info.clone()));
            ctx.extensions_mut().insert(Arc::new(CallPayloads {
                codec: head.codec,
                request,
                response: result.as_ref().ok().cloned(),
                input: info.as_ref().map(MethodInfo::input),
                output: info.as_ref().map(MethodInfo::output),
            }));
        }
        self.after(&chain, &ctx, result.as_ref().map(|_| ()), start.elapsed());
        result
    }

    async fn unary_inner(
        &self,
        head: &CallHead,
        payload: Bytes,
        ctx: &mut Context,
        chain: &[Arc<dyn Interceptor>],
    ) -> Result<Bytes> {
        if head.method == HEALTH_METHOD {
            // Open to every caller, as the standard service is on `grpc://`.
            return self.health(&payload);
        }
        run_before(chain, ctx).inspect_err(|e| self.rejected(ctx, e))?;
        if head.method == DESCRIBE_METHOD {
            return Ok(self.describe(ctx));
        }
        let entry = self
            .route(&head.method, &ctx.metadata)
            .inspect_err(|e| self.rejected(ctx, e))?;
        self.limits.check_message(payload.len(), "request")?;
        let (payload, codec) = entry.incoming(payload, head.codec, self.limits.max_depth)?;
        let reply = match &entry.route {
            Route::Raw(h) => {
                if codec != Codec::Proto {
                    return Err(Error::new(
                        Code::InvalidArgument,
                        format!("method {} accepts only the proto codec", head.method),
                    ));
                }
                self.guarded(ctx, h.call(payload, ctx.clone())).await?
            }
            Route::Unary(h) => {
                let exchange = self.exchange(&entry, codec)?;
                let request = exchange.request_value(&payload)?;
                let value = self.guarded(ctx, h.call(request, ctx.clone())).await?;
                exchange.reply_value(&value)?
            }
            Route::Native(h) => {
                let exchange = self.exchange(&entry, codec)?;
                self.guarded(ctx, h.call(payload, exchange, ctx.clone()))
                    .await?
            }
            Route::Stream(_) => {
                return Err(Error::new(
                    Code::Unimplemented,
                    format!("method {} is streaming; call it as a stream", head.method),
                ))
            }
        };
        let reply = entry.outgoing(reply, head.codec)?;
        self.limits.check_message(reply.len(), "response")?;
        Ok(reply)
    }

    /// A streaming call (any kind): requests arrive on `input`, responses leave on `output`.
    /// The response headers in `response` are sealed before the first response is queued.
    pub(super) async fn call_stream(
        self: &Arc<Self>,
        mut head: CallHead,
        peer: &Peer,
        cancel: CancellationToken,
        (input, output): (mpsc::UnboundedReceiver<Bytes>, mpsc::UnboundedSender<Bytes>),
        response: Arc<ResponseMetadata>,
        flow: crate::flow::Flow,
    ) -> Result<()> {
        let start = Instant::now();
        let mut ctx = self.context(&mut head, peer, cancel, start, response);
        let chain = self.chain();
        let _guard = self.admit_or_audit(&chain, &ctx, start)?;
        let tally = flow.tally.clone();
        let result = async {
            run_before(&chain, &mut ctx).inspect_err(|e| self.rejected(&ctx, e))?;
            let entry = self
                .route(&head.method, &ctx.metadata)
                .inspect_err(|e| self.rejected(&ctx, e))?;
            let (codec, transcode) = entry.stream_transcode(head.codec, self.limits.max_depth);
            let exchange = self.exchange(&entry, codec)?;
            let requests = RequestStream {
                rx: input,
                exchange: exchange.clone(),
                transcode: transcode.clone(),
                cancel: ctx.cancel.clone(),
                flow: flow.clone(),
            };
            let sink = ResponseSink {
                tx: output,
                exchange: exchange.clone(),
                transcode,
                response: ctx.response.clone(),
                cancel: ctx.cancel.clone(),
                flow,
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
                Route::Native(h) => {
                    let h = h.clone();
                    let c = ctx.clone();
                    self.guarded(&ctx, async move {
                        let mut requests = requests;
                        let req = requests.next_bytes().await.ok_or_else(|| {
                            Error::new(Code::InvalidArgument, "unary call without a request")
                        })??;
                        sink.send_bytes(h.call(req, exchange, c).await?)
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
        if let Some(m) = &ctx.metrics {
            let side = m.server(ctx.transport);
            side.sizes(tally.sent() as usize, tally.read() as usize);
        }
        self.after(&chain, &ctx, result.as_ref().map(|_| ()), start.elapsed());
        result
    }
}
