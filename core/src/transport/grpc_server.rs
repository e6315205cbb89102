//! Server side of `grpc://host:port` and `grpc+unix:///path`: HTTP/2 gRPC on tonic, with every
//! method of the runtime schema routed to the dispatcher through a fallback service over raw
//! bytes, plus server reflection (v1 and v1alpha) and the standard health service.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Frame;
use prost::Message;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::metadata::MetadataMap;
use tonic::server::Grpc;

use super::frame::HEADER_SLACK;
use super::grpc_codec::{metadata_from_headers, parse_timeout, to_status, RawCodec};
use super::put_metadata;
use super::stream_bridge::{self, Responses};
use super::Service;
use crate::call::CallHead;
use crate::codec::Codec;
use crate::error::{Code, Error, Result};
use crate::handler::BoxFuture;
use crate::metadata::response::ResponseMetadata;
use crate::peer::{Peer, PeerCredentials};
use crate::schema::StreamingKind;

/// Routes every gRPC path the other services do not claim to the dispatcher.
#[derive(Clone)]
struct Fallback {
    core: Arc<dyn Service>,
    peer: Peer,
}

impl Fallback {
    /// The peer of one request: the remote address on TCP, the kernel's credentials of the
    /// peer on a unix socket.
    fn peer_of(&self, req: &http::Request<axum::body::Body>) -> Peer {
        use tonic::transport::server::{TcpConnectInfo, UdsConnectInfo};
        let ext = req.extensions();
        if let Some(super::tls::TlsPeer(Some(peer))) = ext.get::<super::tls::TlsPeer>() {
            return peer.clone();
        }
        let mut peer = self.peer.clone();
        if let Some(addr) = ext.get::<TcpConnectInfo>().and_then(|i| i.remote_addr()) {
            peer.address = format!("{}:{addr}", peer.transport).into();
        }
        if let Some(c) = ext.get::<UdsConnectInfo>().and_then(|i| i.peer_cred) {
            let c = PeerCredentials::from_ucred(&c);
            peer.address = format!(
                "{}:uid={},gid={},pid={}",
                peer.address,
                c.uid,
                c.gid,
                c.pid.unwrap_or(0)
            )
            .into();
            peer.set_cred(Some(c));
        }
        peer
    }

    async fn handle(
        mut self,
        req: http::Request<axum::body::Body>,
    ) -> http::Response<axum::body::Body> {
        self.peer = self.peer_of(&req);
        let method = req.uri().path().trim_start_matches('/').to_string();
        let headers = req.headers();
        let head = CallHead {
            timeout: headers
                .get("grpc-timeout")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_timeout),
            metadata: metadata_from_headers(headers),
            trace_id: headers
                .get("x-trace-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            codec: Codec::Proto,
            method,
            ..CallHead::default()
        };
        let limit = self.core.config().limits.max_message_bytes;
        let gzip = tonic::codec::CompressionEncoding::Gzip;
        // Replies are compressed when the request was (as grpc-go does): a client that accepts
        // gzip but sends plain requests (hms-ffi's own) gets plain replies, which saves a deflate
        // state (some 300 KiB, allocated and zeroed) per call.
        let gzipped = headers
            .get("grpc-encoding")
            .is_some_and(|v| v.as_bytes() == b"gzip");
        let mut grpc = Grpc::new(RawCodec);
        if gzipped {
            grpc = grpc.send_compressed(gzip);
        }
        let mut grpc = grpc
            .accept_compressed(gzip)
            // Up to 4× the limit is read and refused by the dispatcher as ResourceExhausted (as
            // on unix://); beyond that tonic refuses it (OutOfRange) without buffering it all.
            .max_decoding_message_size((limit + HEADER_SLACK).saturating_mul(4))
            .max_encoding_message_size(limit + HEADER_SLACK);
        let streaming = self
            .core
            .kind(&head)
            .is_some_and(|k| k != StreamingKind::Unary);
        let response = Arc::new(ResponseMetadata::default());
        let meta = response.clone();
        let reply = if streaming {
            let mut once = Some((self, head, response));
            let svc = tower::service_fn(move |r: tonic::Request<tonic::Streaming<Bytes>>| {
                let call = once.take();
                async move {
                    let (this, head, response) = call.ok_or_else(called_twice)?;
                    this.stream(head, r.into_inner(), response).await
                }
            });
            grpc.streaming(svc, req).await
        } else {
            let mut once = Some((self, head, response));
            let svc = tower::service_fn(move |r: tonic::Request<Bytes>| {
                let call = once.take();
                async move {
                    let (this, head, response) = call.ok_or_else(called_twice)?;
                    let cancel = this.core.stop().child_token();
                    // The peer resetting the stream drops this future, which cancels the handler.
                    let _guard = cancel.clone().drop_guard();
                    let result = this
                        .core
                        .unary(head, r.into_inner(), &this.peer, cancel, response.clone())
                        .await;
                    respond(result, &response)
                }
            });
            grpc.unary(svc, req).await
        };
        // The handler's trailers join the trailers frame (a trailers-only error has them already).
        reply.map(|body| {
            axum::body::Body::new(body.map_frame(move |f| match f.into_trailers() {
                Ok(mut t) => {
                    put_metadata(&mut t, &meta.take_trailers(), "");
                    Frame::trailers(t)
                }
                Err(f) => f,
            }))
        })
    }

    /// Serves a streaming call. The response (its headers) waits for the first message or the
    /// end, so that the headers the handler set before its first message go with it.
    async fn stream(
        &self,
        head: CallHead,
        inbound: tonic::Streaming<Bytes>,
        response: Arc<ResponseMetadata>,
    ) -> std::result::Result<tonic::Response<GrpcResponses>, tonic::Status> {
        // A request tonic cannot read (undecodable, over its size limit) cancels the call.
        let inbound = Box::pin(inbound.map(|m| {
            m.map_err(|s| Error::new(Code::Cancelled, format!("request stream: {}", s.message())))
        }));
        match stream_bridge::open(&self.core, &self.peer, head, inbound, response.clone()).await {
            // An error before any message: a trailers-only response, with all the metadata.
            Err(e) => Err(with_metadata(to_status(&e), &response)),
            Ok(responses) => Ok(respond_ok(responses.map(grpc_item), &response)),
        }
    }
}

/// A streaming call's responses as tonic sends them: the outcome becomes the status.
type GrpcResponses = tokio_stream::adapters::Map<
    Responses,
    fn(Result<Bytes>) -> std::result::Result<Bytes, tonic::Status>,
>;

fn grpc_item(item: Result<Bytes>) -> std::result::Result<Bytes, tonic::Status> {
    item.map_err(|e| to_status(&e))
}

/// tonic calls the service of one request once; a second call would be a tonic bug.
fn called_twice() -> tonic::Status {
    tonic::Status::internal("the call's service was called twice")
}

/// A reply with the handler's headers.
fn respond_ok<T>(message: T, response: &ResponseMetadata) -> tonic::Response<T> {
    let mut headers = http::HeaderMap::new();
    put_metadata(&mut headers, &response.take_headers(), "");
    let mut reply = tonic::Response::new(message);
    *reply.metadata_mut() = MetadataMap::from_headers(headers);
    reply
}

/// An error status carrying the handler's headers and trailers (a trailers-only response).
fn with_metadata(mut status: tonic::Status, response: &ResponseMetadata) -> tonic::Status {
    let (headers, trailers) = response.take_all();
    let mut map = http::HeaderMap::new();
    put_metadata(&mut map, &headers, "");
    put_metadata(&mut map, &trailers, "");
    *status.metadata_mut() = MetadataMap::from_headers(map);
    status
}

/// The outcome of a unary call as tonic's reply.
fn respond(
    result: Result<Bytes>,
    response: &ResponseMetadata,
) -> std::result::Result<tonic::Response<Bytes>, tonic::Status> {
    match result {
        Ok(message) => Ok(respond_ok(message, response)),
        Err(e) => Err(with_metadata(to_status(&e), response)),
    }
}

impl tower::Service<http::Request<axum::body::Body>> for Fallback {
    type Response = http::Response<axum::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, std::result::Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<std::result::Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<axum::body::Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}

/// The tonic routes: reflection v1 and v1alpha and health, then everything else to `core`.
fn routes(
    core: &Arc<dyn Service>,
    transport: &'static str,
    address: String,
) -> Result<tonic::service::Routes> {
    let fds =
        prost_types::FileDescriptorSet::decode(core.config().schema.to_descriptor_set().as_slice())
            .map_err(|e| Error::internal(format!("schema for reflection: {e}")))?;
    let reflection =
        |e: tonic_reflection::server::Error| Error::internal(format!("reflection: {e}"));
    let builder = || {
        tonic_reflection::server::Builder::configure()
            .register_file_descriptor_set(fds.clone())
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let v1 = builder().build_v1().map_err(reflection)?;
    let v1alpha = builder().build_v1alpha().map_err(reflection)?;
    let (reporter, health) = tonic_health::server::health_reporter();
    // With authentication or a policy, health answers only the overall status (service ""),
    // which probes use without credentials; per-service statuses would list the schema.
    let restricted = !core.config().reflection;
    let services = if restricted {
        Vec::new()
    } else {
        core.config().schema.services()
    };
    tokio::spawn(async move {
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        for s in services {
            reporter
                .set_service_status(s, tonic_health::ServingStatus::Serving)
                .await;
        }
    });
    let mut builder = tonic::service::Routes::builder();
    // Reflection lists the whole schema to anyone: with authentication or a policy, discovery
    // goes through Describe, which checks the caller and lists only what it may call.
    if !restricted {
        builder.add_service(v1).add_service(v1alpha);
    }
    let routes = builder.add_service(health).clone().routes();
    let fallback = Fallback {
        core: core.clone(),
        peer: Peer::new(transport, address),
    };
    Ok(tonic::service::Routes::from(
        routes.into_axum_router().fallback_service(fallback),
    ))
}

/// Where a gRPC server listens.
pub(crate) enum Bind {
    Tcp(std::net::SocketAddr),
    Unix(std::path::PathBuf),
    /// `host:port`, over TLS (`grpcs://`).
    Tls(String, tokio_rustls::TlsAcceptor),
}

/// Binds and serves; returns the bound address (with the real port for `:0`) and the task.
pub(crate) fn listen(
    bind: Bind,
    core: Arc<dyn Service>,
    stop: CancellationToken,
) -> Result<(String, JoinHandle<()>)> {
    let handle = crate::runtime::handle();
    let _enter = handle.enter();
    let shutdown = {
        let (a, b) = (stop.clone(), core.stop().clone());
        async move {
            tokio::select! { _ = a.cancelled() => {}, _ = b.cancelled() => {} }
        }
    };
    match bind {
        Bind::Tcp(addr) => {
            let (listener, bound) = super::tcp::bind(addr)?;
            let routes = routes(&core, "grpc", format!("grpc://{bound}"))?;
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            let task = spawn(&handle, &*core, routes, counted(incoming, "grpc"), shutdown);
            Ok((format!("grpc://{bound}"), task))
        }
        Bind::Unix(path) => {
            super::claim_socket_path(&path)?;
            let listener = tokio::net::UnixListener::bind(&path).map_err(|e| {
                Error::new(
                    Code::FailedPrecondition,
                    format!("cannot listen on {}: {e}", path.display()),
                )
            })?;
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::Permissions::from_mode(core.config().socket_mode);
            std::fs::set_permissions(&path, mode)?;
            let routes = routes(
                &core,
                "grpc+unix",
                format!("grpc+unix://{}", path.display()),
            )?;
            let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
            let incoming = counted(incoming, "grpc+unix");
            let task = spawn(&handle, &*core, routes, incoming, shutdown);
            Ok((format!("grpc+unix://{}", path.display()), task))
        }
        Bind::Tls(authority, acceptor) => {
            // Handshakes run in the per-connection tasks of the TCP accept loop (a slow one
            // holds only its own); finished connections, with their peer, go to tonic.
            let (tx, rx) = mpsc::unbounded_channel();
            let serve = super::tls::serving(acceptor, move |stream, _, peer, _| {
                let _ = tx.send(Ok::<_, std::io::Error>(super::tls::Io::server(
                    stream, peer,
                )));
                std::future::ready(())
            });
            let (uri, _accept) =
                super::tcp::listen("grpcs", &authority, core.clone(), stop, serve)?;
            let routes = routes(&core, "grpcs", uri.clone())?;
            let incoming = tokio_stream::wrappers::UnboundedReceiverStream::new(rx);
            let incoming = counted(incoming, "grpcs");
            Ok((uri, spawn(&handle, &*core, routes, incoming, shutdown)))
        }
    }
}

/// Each connection of `incoming` counted in the metrics while tonic serves it.
fn counted<IO, E>(
    incoming: impl tokio_stream::Stream<Item = std::result::Result<IO, E>>,
    transport: &'static str,
) -> impl tokio_stream::Stream<Item = std::result::Result<super::tcp::Counted<IO>, E>> {
    use tokio_stream::StreamExt;
    incoming.map(move |r| r.map(|io| super::tcp::Counted::new(io, transport)))
}

/// Serves `routes` on `incoming` until `shutdown`.
fn spawn<I, IO, IE>(
    handle: &tokio::runtime::Handle,
    core: &dyn Service,
    routes: tonic::service::Routes,
    incoming: I,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> JoinHandle<()>
where
    I: tokio_stream::Stream<Item = std::result::Result<IO, IE>> + Send + 'static,
    IO: tokio::io::AsyncRead
        + tokio::io::AsyncWrite
        + tonic::transport::server::Connected
        + Unpin
        + Send
        + 'static,
    IO::ConnectInfo: Clone + Send + Sync + 'static,
    IE: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // The per-connection limit is HTTP/2's stream limit: more calls wait for a free stream.
    let streams =
        u32::try_from(core.config().limits.max_concurrent_per_connection).unwrap_or(u32::MAX);
    let keepalive = core.config().keepalive;
    handle.spawn(async move {
        let server = tonic::transport::Server::builder()
            .max_concurrent_streams(streams)
            .http2_keepalive_interval(keepalive.map(|k| k.interval))
            .http2_keepalive_timeout(keepalive.map(|k| k.timeout))
            .add_routes(routes);
        if let Err(e) = server
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
        {
            tracing::warn!(error = %e, "grpc server ended");
        }
    })
}
