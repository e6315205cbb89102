//! Server side of `http://host:port`: the Connect protocol over HTTP/1.1 or h2c — unary calls
//! (`POST /pkg.Service/Method`, `application/proto`, `application/json` or `application/cbor`)
//! and streams (`application/connect+proto` and its kin, `connect_stream`) — fed to the same
//! dispatcher, interceptors and limits as every transport. A unary error is a Connect JSON body
//! with the HTTP status of its code.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::header::{ALLOW, CONTENT_ENCODING, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio_util::sync::CancellationToken;

use super::connect_codec::{
    codec_from_content_type, content_type, error_body, http_status, metadata_from_headers,
    parse_timeout_ms, PROTOCOL_VERSION, TIMEOUT_MS,
};
use super::connect_stream::{self, Body};
use super::put_metadata;
use super::Service;
use crate::call::CallHead;
use crate::error::{Code, Error, Result};
use crate::limits::Limits;
use crate::metadata::response::ResponseMetadata;
use crate::peer::Peer;

/// Bodies up to this many times the message limit are read and refused; larger ones are cut.
const DRAIN_FACTOR: usize = 4;

/// One server's request handler.
#[derive(Clone)]
struct ConnectService {
    core: Arc<dyn Service>,
    peer: Peer,
}

/// A Connect error response with a chosen HTTP status.
fn error_response(status: StatusCode, e: &Error) -> Response<Body> {
    let mut res = Response::new(Full::new(Bytes::from(error_body(e))).boxed_unsync());
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// The HTTP status of a dispatcher error: an unknown method is a 404, as a Connect router
/// answers a path it does not serve; everything else follows its code.
fn status_of(e: &Error) -> StatusCode {
    let unknown = e
        .details()
        .error_info
        .as_ref()
        .is_some_and(|i| i.reason == "UNKNOWN_METHOD");
    if unknown {
        StatusCode::NOT_FOUND
    } else {
        http_status(e.code())
    }
}

impl ConnectService {
    async fn handle(self, req: Request<Incoming>) -> Response<Body> {
        if req.method() != Method::POST {
            let e = Error::new(Code::Unimplemented, "only POST is served (Connect calls)");
            let mut res = error_response(StatusCode::METHOD_NOT_ALLOWED, &e);
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return res;
        }
        let headers = req.headers();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let content = header(CONTENT_TYPE.as_str()).unwrap_or("");
        let Some((codec, streaming)) = codec_from_content_type(content) else {
            let e = Error::new(
                Code::Unimplemented,
                format!(
                    "content type {content:?} is not served: use application/proto, \
                     application/json or application/cbor for unary calls, \
                     application/connect+proto, +json or +cbor for streams"
                ),
            );
            return error_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, &e);
        };
        if let Some(v) = header(PROTOCOL_VERSION).filter(|v| *v != "1") {
            let e = Error::new(
                Code::InvalidArgument,
                format!("unsupported Connect-Protocol-Version {v:?}: expected 1"),
            );
            return error_response(StatusCode::BAD_REQUEST, &e);
        }
        if let Some(enc) = header(CONTENT_ENCODING.as_str()).filter(|v| *v != "identity") {
            let e = Error::new(
                Code::Unimplemented,
                format!("content encoding {enc:?} is not supported: send identity"),
            );
            let mut res = error_response(http_status(Code::Unimplemented), &e);
            res.headers_mut()
                .insert("accept-encoding", HeaderValue::from_static("identity"));
            return res;
        }
        let timeout = match header(TIMEOUT_MS) {
            None => None,
            Some(v) => match parse_timeout_ms(v) {
                Some(t) => Some(t),
                None => {
                    let e = Error::new(
                        Code::InvalidArgument,
                        format!("bad Connect-Timeout-Ms {v:?}: expected 1 to 10 digits"),
                    );
                    return error_response(StatusCode::BAD_REQUEST, &e);
                }
            },
        };
        let head = CallHead {
            method: req.uri().path().trim_start_matches('/').to_string(),
            timeout,
            metadata: metadata_from_headers(headers),
            trace_id: header("x-trace-id").unwrap_or_default().to_string(),
            codec,
            ..CallHead::default()
        };
        if streaming {
            return connect_stream::serve(&self.core, &self.peer, head, req.into_body()).await;
        }
        let payload = match read_body(req.into_body(), &self.core.config().limits).await {
            Ok(b) => b,
            Err(e) => {
                self.core.refused(&head, &self.peer, &e);
                return error_response(status_of(&e), &e);
            }
        };
        let cancel = self.core.stop().child_token();
        // The client closing the connection drops this future, which cancels the handler.
        let _guard = cancel.clone().drop_guard();
        let response = Arc::new(ResponseMetadata::default());
        let result = self
            .core
            .unary(head, payload, &self.peer, cancel, response.clone())
            .await;
        let mut res = match result {
            Ok(reply) => {
                let mut res = Response::new(Full::new(reply).boxed_unsync());
                res.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(content_type(codec)));
                res
            }
            Err(e) => error_response(status_of(&e), &e),
        };
        // Connect unary: headers as they are, trailers as `trailer-` headers (also on errors).
        let (headers, trailers) = response.take_all();
        put_metadata(res.headers_mut(), &headers, "");
        put_metadata(res.headers_mut(), &trailers, "trailer-");
        res
    }
}

/// Reads a request body. Beyond the message limit the rest is read and dropped, up to
/// [`DRAIN_FACTOR`] times the limit, so the reply is `ResourceExhausted` on a connection that
/// stays usable; a larger body is refused as soon as it passes that.
async fn read_body(mut body: Incoming, limits: &Limits) -> Result<Bytes> {
    let limit = limits.max_message_bytes;
    let mut kept = BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            Error::new(
                Code::InvalidArgument,
                format!("unreadable request body: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total <= limit {
            kept.extend_from_slice(&data);
        } else if total > limit.saturating_mul(DRAIN_FACTOR) {
            break;
        }
    }
    limits.check_message(total, "request")?;
    Ok(kept.freeze())
}

/// Serves one connection (HTTP/1.1 or h2c, told apart by the preface) until it closes, `drain`
/// (graceful: calls in flight finish) or the dispatcher's hard stop.
pub(crate) async fn serve_connection<S>(
    stream: S,
    core: Arc<dyn Service>,
    peer: Peer,
    drain: CancellationToken,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let hard_stop = core.stop().clone();
    let service = ConnectService { core, peer };
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // The per-connection limit is HTTP/2's stream limit (HTTP/1 serves one call at a time).
    let streams = u32::try_from(service.core.config().limits.max_concurrent_per_connection)
        .unwrap_or(u32::MAX);
    builder.http2().max_concurrent_streams(streams);
    let svc = hyper::service::service_fn(move |req| {
        let this = service.clone();
        async move { Ok::<_, std::convert::Infallible>(this.handle(req).await) }
    });
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = drain.cancelled() => conn.as_mut().graceful_shutdown(),
        _ = hard_stop.cancelled() => return,
    }
    tokio::select! {
        _ = conn => {},
        _ = hard_stop.cancelled() => {},
    }
}
