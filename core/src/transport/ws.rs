//! `ws://host:port`: the local wire protocol of [`super::frame`] over a WebSocket, server and
//! client. The WebSocket carries the frames as binary messages ([`super::ws_io`]); everything
//! above is the unix transport's connection code, so calls multiplex, stream, cancel, drain and
//! obey the limits exactly as over `unix://`. See `docs/wire.md`.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_util::sync::CancellationToken;

use super::keepalive::Keepalive;
use super::tls::{TlsClient, TlsTarget, HTTP1};
use super::unix_client::UnixClient;
use super::unix_server::serve_frames;
use super::ws_io::{config, halves, SUBPROTOCOL};
use super::Service;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::peer::Peer;

const PROTOCOL_HEADER: &str = "sec-websocket-protocol";

/// What a WebSocket runs over: TCP, or TLS over TCP.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for S {}

/// Serves one WebSocket connection until it ends; a broken one is logged and closed.
pub(crate) async fn serve_connection<S: Stream>(
    stream: S,
    core: Arc<dyn Service>,
    peer: Peer,
    _drain: CancellationToken,
) {
    let address = peer.address.clone();
    if let Err(reason) = serve(stream, core, peer).await {
        tracing::warn!(peer = %address, %reason, "closing ws connection");
    }
}

/// The WebSocket handshake (within 10 s), then the frame protocol.
async fn serve<S: Stream>(
    stream: S,
    core: Arc<dyn Service>,
    peer: Peer,
) -> std::result::Result<(), String> {
    let cfg = config(&core.config().limits);
    let handshake =
        tokio_tungstenite::accept_hdr_async_with_config(stream, choose_subprotocol, Some(cfg));
    let ws = tokio::time::timeout(Duration::from_secs(10), handshake)
        .await
        .map_err(|_| "no WebSocket handshake within 10s".to_string())?
        .map_err(|e| format!("WebSocket handshake: {e}"))?;
    let (r, w) = halves(ws);
    serve_frames(r, w, core, peer).await
}

/// A client that offers our subprotocol gets it echoed; one that offers none is served too
/// (browsers and generic tools); one that offers only others is refused.
#[allow(clippy::result_large_err)] // the signature is tungstenite's handshake callback
fn choose_subprotocol(
    req: &Request,
    mut res: Response,
) -> std::result::Result<Response, ErrorResponse> {
    let offered: Vec<String> = req
        .headers()
        .get_all(PROTOCOL_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_string()))
        .collect();
    if offered.iter().any(|p| p == SUBPROTOCOL) {
        res.headers_mut()
            .insert(PROTOCOL_HEADER, HeaderValue::from_static(SUBPROTOCOL));
    } else if !offered.is_empty() {
        let mut refusal = ErrorResponse::new(Some(format!(
            "unsupported WebSocket subprotocol: this server speaks {SUBPROTOCOL}"
        )));
        *refusal.status_mut() = http::StatusCode::BAD_REQUEST;
        return Err(refusal);
    }
    Ok(res)
}

/// A connection that could not be made (nothing was sent): UNAVAILABLE, `CONNECT_FAILED`.
pub(super) fn failed(uri: &str, e: &dyn std::fmt::Display) -> Error {
    Error::unavailable(format!("cannot connect to {uri}: {e}"))
        .with_reason("CONNECT_FAILED")
        .unsent()
}

/// The handshake request for `uri`, offering our subprotocol.
fn request(uri: &str) -> Result<Request> {
    let mut request = format!("{uri}/")
        .into_client_request()
        .map_err(|e| failed(uri, &e))?;
    request
        .headers_mut()
        .insert(PROTOCOL_HEADER, HeaderValue::from_static(SUBPROTOCOL));
    Ok(request)
}

/// Opens a WebSocket to `authority` and speaks the frame protocol over it.
pub(crate) async fn connect(
    authority: &str,
    limits: &Limits,
    ka: Option<Keepalive>,
) -> Result<UnixClient> {
    let uri = format!("ws://{authority}");
    let request = request(&uri)?;
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config(limits)), true)
        .await
        .map_err(|e| failed(&uri, &e))?;
    let (r, w) = halves(ws);
    UnixClient::over(r, w, uri, limits, ka, None).await
}

/// Opens a WebSocket over TLS to `target` (`wss://`) and speaks the frame protocol over it.
pub(crate) async fn connect_tls(
    target: &TlsTarget,
    limits: &Limits,
    ka: Option<Keepalive>,
) -> Result<UnixClient> {
    let uri = format!("wss://{}", target.authority);
    let tls = TlsClient::new(target, &[HTTP1])?;
    let stream = tls.connect().await.map_err(|e| failed(&uri, &e))?;
    let request = request(&uri)?;
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config(limits)))
            .await
            .map_err(|e| failed(&uri, &e))?;
    let (r, w) = halves(ws);
    UnixClient::over(r, w, uri, limits, ka, None).await
}
