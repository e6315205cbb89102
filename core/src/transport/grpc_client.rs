//! Client side of `grpc://host:port` and `grpc+unix:///path`: calls over HTTP/2 gRPC with
//! tonic, to hms-ffi servers and to any stock gRPC server.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use http::uri::PathAndQuery;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_stream::StreamExt;
use tonic::client::Grpc;
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint as TonicEndpoint};

use super::frame::HEADER_SLACK;
use super::grpc_codec::{from_status, RawCodec};
use super::keepalive::Keepalive;
use super::tls::{TlsClient, TlsTarget, H2};
use super::{ClientTransport, RawStream};
use crate::call::CallHead;
use crate::error::{Code, Error, Result};
use crate::flow::{CloseOnDrop, Flow};
use crate::handler::BoxFuture;
use crate::limits::Limits;
use crate::metadata::response::{Reply, ResponseMetadata};
use crate::metadata::Metadata;
use crate::runtime::AbortOnDrop;

/// Application metadata of a response: gRPC's and HTTP's own headers left out.
fn response_metadata(map: &MetadataMap) -> Metadata {
    super::grpc_codec::metadata_from_headers(map.as_ref())
}

pub(crate) struct GrpcClient {
    channel: Channel,
    max_message: usize,
    /// Set when a call found the connection refused or lost: the client then makes a new
    /// channel, with its own backoff, instead of tonic's lazy reconnect on every call.
    broken: std::sync::atomic::AtomicBool,
}

/// An error's message followed by those of its sources (tonic's own says only "transport error").
pub(crate) fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        source = s.source();
    }
    text
}

fn unavailable(target: &str, e: impl std::fmt::Display) -> Error {
    Error::unavailable(format!("cannot connect to {target}: {e}"))
        .with_reason("CONNECT_FAILED")
        .unsent()
}

/// HTTP/2 keepalive on a channel: a PING after `interval`, even with no call in flight; the
/// connection is dropped when no answer comes within `timeout`.
fn keepalive(endpoint: TonicEndpoint, ka: Option<Keepalive>) -> TonicEndpoint {
    match ka {
        None => endpoint,
        Some(ka) => endpoint
            .http2_keep_alive_interval(ka.interval)
            .keep_alive_timeout(ka.timeout)
            .keep_alive_while_idle(true),
    }
}

impl GrpcClient {
    pub(crate) async fn connect_tcp(
        authority: &str,
        limits: &Limits,
        ka: Option<Keepalive>,
    ) -> Result<GrpcClient> {
        let target = format!("grpc://{authority}");
        let endpoint = TonicEndpoint::from_shared(format!("http://{authority}"))
            .map_err(|e| unavailable(&target, e))?;
        let endpoint = keepalive(endpoint, ka);
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| unavailable(&target, e))?;
        Ok(GrpcClient {
            channel,
            max_message: limits.max_message_bytes,
            broken: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// A channel over TLS (`grpcs://`), with the settings of the URI's query.
    pub(crate) async fn connect_tls(
        target: &TlsTarget,
        limits: &Limits,
        ka: Option<Keepalive>,
    ) -> Result<GrpcClient> {
        let uri = format!("grpcs://{}", target.authority);
        let tls = TlsClient::new(target, &[H2])?;
        let endpoint = TonicEndpoint::from_shared(format!("https://{}", target.authority))
            .map_err(|e| unavailable(&uri, e))?;
        let endpoint = keepalive(endpoint, ka);
        let channel = endpoint
            .connect_with_connector(tower::service_fn(move |_: http::Uri| {
                let tls = tls.clone();
                async move { tls.connect().await.map(hyper_util::rt::TokioIo::new) }
            }))
            .await
            .map_err(|e| unavailable(&uri, with_sources(&e)))?;
        Ok(GrpcClient {
            channel,
            max_message: limits.max_message_bytes,
            broken: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub(crate) async fn connect_unix(
        path: PathBuf,
        limits: &Limits,
        ka: Option<Keepalive>,
    ) -> Result<GrpcClient> {
        let target = format!("grpc+unix://{}", path.display());
        // h2 rejects a path as :authority, so the authority is `localhost`, as stock clients do.
        let endpoint = keepalive(TonicEndpoint::from_static("http://localhost"), ka);
        let channel = endpoint
            .connect_with_connector(tower::service_fn(move |_: http::Uri| {
                let path = path.clone();
                async move {
                    tokio::net::UnixStream::connect(path)
                        .await
                        .map(hyper_util::rt::TokioIo::new)
                }
            }))
            .await
            .map_err(|e| unavailable(&target, e))?;
        Ok(GrpcClient {
            channel,
            max_message: limits.max_message_bytes,
            broken: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn grpc(&self) -> Grpc<Channel> {
        Grpc::new(self.channel.clone())
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
            .max_decoding_message_size(self.max_message + HEADER_SLACK)
            .max_encoding_message_size(self.max_message + HEADER_SLACK)
    }
}

fn request<T>(head: &CallHead, message: T) -> Result<(tonic::Request<T>, PathAndQuery)> {
    let path = PathAndQuery::from_str(&format!("/{}", head.method)).map_err(|_| {
        Error::new(
            Code::InvalidArgument,
            format!("invalid method name {:?}", head.method),
        )
    })?;
    let mut headers = http::HeaderMap::new();
    super::put_metadata(&mut headers, &head.metadata, "");
    if !head.trace_id.is_empty() {
        if let Ok(v) = http::HeaderValue::from_str(&head.trace_id) {
            headers.insert("x-trace-id", v);
        }
    }
    let mut req = tonic::Request::from_parts(
        MetadataMap::from_headers(headers),
        Default::default(),
        message,
    );
    if let Some(t) = head.timeout {
        req.set_timeout(t);
    }
    Ok((req, path))
}

impl ClientTransport for GrpcClient {
    fn unary(&self, head: CallHead, payload: Bytes) -> BoxFuture<'_, Result<Reply<Bytes>>> {
        Box::pin(async move {
            let (req, path) = request(&head, payload)?;
            let mut grpc = self.grpc();
            grpc.ready().await.map_err(|e| {
                Error::unavailable(format!("connection not ready: {e}"))
                    .with_reason("CONNECT_FAILED")
                    .unsent()
            })?;
            let start = std::time::Instant::now();
            // A status carries the trailers (a trailers-only answer: headers and trailers in
            // one); headers already received come with it.
            let failed = |s: tonic::Status, headers: &Metadata| {
                // tonic reports its own client-side timeout as CANCELLED.
                let expired = head.timeout.is_some_and(|t| start.elapsed() >= t);
                if s.code() == tonic::Code::Cancelled && expired {
                    Error::deadline_exceeded()
                } else {
                    self.checked(from_client_status(&s))
                        .with_response_metadata(headers.clone(), response_metadata(s.metadata()))
                }
            };
            // What tonic's `unary` does, keeping the headers apart from the trailers.
            let reply = grpc
                .server_streaming(req, path, RawCodec)
                .await
                .map_err(|s| failed(s, &Metadata::new()))?;
            let headers = response_metadata(reply.metadata());
            let mut body = reply.into_inner();
            let message = body
                .message()
                .await
                .map_err(|s| failed(s, &headers))?
                .ok_or_else(|| Error::internal("the server sent no response message"))?;
            let trailers = body.trailers().await.map_err(|s| failed(s, &headers))?;
            Ok(Reply {
                message,
                headers,
                trailers: trailers.map_or_else(Metadata::new, |t| response_metadata(&t)),
            })
        })
    }

    fn open(&self, head: CallHead) -> BoxFuture<'_, Result<RawStream>> {
        Box::pin(async move {
            let (req_tx, req_rx) = mpsc::unbounded_channel::<Bytes>();
            let (res_tx, res_rx) = mpsc::unbounded_channel();
            // HTTP/2 windows between the peers; these bound the buffers between HTTP/2 and the
            // caller: a request leaves the buffer when HTTP/2 takes it, a response is read from
            // HTTP/2 only as the caller reads the one before.
            let (caller, h2_side) = Flow::pair(crate::flow::STREAM_WINDOW);
            let taken = h2_side.credit.clone();
            let outgoing = UnboundedReceiverStream::new(req_rx).map(move |b| {
                if let Some(c) = &taken {
                    c.read(b.len());
                }
                b
            });
            let (req, path) = request(&head, outgoing)?;
            let mut grpc = self.grpc();
            grpc.ready().await.map_err(|e| {
                Error::unavailable(format!("connection not ready: {e}"))
                    .with_reason("CONNECT_FAILED")
                    .unsent()
            })?;
            let response = Arc::new(ResponseMetadata::default());
            let received = response.clone();
            let responses = h2_side.window.clone();
            let ended = caller.clone();
            let task = tokio::spawn(async move {
                let _ended = CloseOnDrop(ended);
                let mut inbound = match grpc.streaming(req, path, RawCodec).await {
                    Ok(r) => {
                        received.received(Some(response_metadata(r.metadata())), None);
                        r.into_inner()
                    }
                    Err(s) => {
                        received.received(None, Some(response_metadata(s.metadata())));
                        let _ = res_tx.send(Err(from_client_status(&s)));
                        return;
                    }
                };
                loop {
                    match inbound.message().await {
                        Ok(Some(b)) => {
                            let len = b.len();
                            let _ = res_tx.send(Ok(b));
                            if let Some(w) = &responses {
                                w.acquire(len).await;
                            }
                        }
                        Ok(None) => {
                            if let Ok(Some(t)) = inbound.trailers().await {
                                received.received(None, Some(response_metadata(&t)));
                            }
                            return;
                        }
                        Err(s) => {
                            received.received(None, Some(response_metadata(s.metadata())));
                            let _ = res_tx.send(Err(from_status(&s)));
                            return;
                        }
                    }
                }
            });
            // Dropping the stream aborts the task, which resets the HTTP/2 stream (cancellation).
            Ok(RawStream {
                tx: req_tx,
                rx: res_rx,
                _guard: Box::new(AbortOnDrop(task)),
                response,
                flow: caller,
            })
        })
    }

    fn close(&self) {}

    fn alive(&self) -> bool {
        !self.broken.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl GrpcClient {
    /// Notes a connection refused or lost (see `broken`), and returns the error.
    fn checked(&self, e: Error) -> Error {
        let reason = e.details().error_info.as_ref().map(|i| i.reason.as_str());
        if matches!(reason, Some("CONNECT_FAILED" | "CONNECTION_LOST")) {
            self.broken
                .store(true, std::sync::atomic::Ordering::Release);
        }
        e
    }
}

/// Whether a transport error was a refused connection (nothing was sent).
fn refused(s: &tonic::Status) -> bool {
    let mut next = std::error::Error::source(s);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::{AddrNotAvailable, ConnectionRefused, NotFound};
            return matches!(io.kind(), ConnectionRefused | NotFound | AddrNotAvailable);
        }
        next = e.source();
    }
    false
}

/// A status seen by the client as our error. A CANCELLED, UNKNOWN, INTERNAL (an h2 protocol
/// error) or UNAVAILABLE that tonic made from a transport error (it has a source; a peer's
/// status has none) is the connection going away (or a TLS handshake the server refused):
/// `Unavailable`, with the causes in the message; a connection refused is `CONNECT_FAILED`,
/// and the call never left (unsent).
fn from_client_status(s: &tonic::Status) -> Error {
    let local = matches!(
        s.code(),
        tonic::Code::Cancelled
            | tonic::Code::Unknown
            | tonic::Code::Internal
            | tonic::Code::Unavailable
    );
    if local && std::error::Error::source(s).is_some() {
        let cause = std::error::Error::source(s)
            .map(with_sources)
            .unwrap_or_default();
        if refused(s) {
            return Error::unavailable(format!("cannot connect: {}: {cause}", s.message()))
                .with_reason("CONNECT_FAILED")
                .unsent();
        }
        return Error::unavailable(format!("connection lost: {}: {cause}", s.message()))
            .with_reason("CONNECTION_LOST");
    }
    from_status(s)
}
