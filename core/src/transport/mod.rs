//! Transports: endpoints by URI, listeners for servers and connections for clients.
//!
//! - `inproc://name`: same process, no serialization shortcut (same interceptors, errors, limits).
//! - `unix:///path.sock`: the local wire protocol of [`frame`] over a unix socket.
//! - `grpc://host:port`, `grpc+unix:///path.sock`: gRPC over HTTP/2 (tonic).
//! - `http://host:port`: the Connect protocol's unary calls over HTTP/1.1 or h2c.
//! - `ws://host:port`: the frames of [`frame`] in binary WebSocket messages.
//! - `shm://name`: the frames of [`frame`] through rings in shared memory ([`shm`]).
//! - `nats://host:port/PREFIX`: unary calls as NATS request/reply on `PREFIX.package.Service.Method`
//!   through a nats-server (`docs/messaging.md`), with NATS micro discovery.
//! - `grpcs://`, `https://`, `wss://`: the same over TLS ([`tls`]); a client's TLS settings
//!   ride in the URI's query: `grpcs://host:port?ca=ca.pem&cert=me.pem&key=me.key`.

mod auto;
mod auto_client;
mod connect_codec;
mod connect_stream;
pub mod frame;
mod frame_body;
mod grpc_client;
mod grpc_codec;
mod grpc_server;
mod http_client;
mod http_server;
mod inproc;
mod keepalive;
mod lane_conn;
mod lane_pipe;
mod listen;
#[allow(unsafe_code)]
mod local_dir;
mod nats_auth;
// The shared-memory transport maps memory and passes fds: its unsafe code is in these modules,
// each block with its SAFETY argument.
mod nats_client;
mod nats_codec;
mod nats_micro;
mod nats_server;
mod otlp_tls;
pub(crate) use otlp_tls::{init_telemetry, install as install_otlp_tls};
#[allow(unsafe_code)]
mod shm;
#[allow(unsafe_code)]
mod shm_io;
#[allow(unsafe_code)]
pub mod shm_ring;
#[allow(unsafe_code)]
#[doc(hidden)]
pub mod shm_sys;
mod stream_bridge;
pub(crate) mod tcp;
mod tls;
mod tls_config;
mod unix_client;
mod unix_conn;
mod unix_led;
mod unix_write;
pub(crate) use unix_led::host::Host;
#[cfg(test)]
pub(crate) use unix_led::host::HOSTED_FRAMES;
#[cfg(test)]
pub(crate) use unix_led::HOLD_UP as LED_HOLD_UP;
mod unix_server;
mod unix_stream;
mod unix_sync;
mod wait;
mod watchdog;
mod ws;
mod ws_io;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::call::{Blocker, CallHead, Watch};
use crate::error::{Code, Error, Result};
use crate::handler::BoxFuture;
use crate::limits::Limits;
use crate::metadata::response::{Reply, ResponseMetadata};
pub use auto::{AutoTarget, Via};
pub(crate) use grpc_codec::PREVIOUS_ATTEMPTS;
pub use keepalive::Keepalive;
pub(crate) use listen::{
    claim_socket_path, listen, publish, Hold, ListenConfig, Listener, Service,
};
pub use nats_auth::{NatsAuth, NatsConnect};
pub(crate) use nats_client::{connect_nats, round_trip};
pub use nats_codec::NatsTarget;
pub use tls::TlsTarget;
pub use tls_config::ClientTlsConfig;
pub(crate) use tls_config::{certs, key, provider};

/// The schemes this build serves and connects to, for messages and help texts.
pub const SCHEMES: &str = "inproc://, unix://, shm://, auto://, grpc://, grpc+unix://, http://, \
     ws://, grpcs://, https://, wss://, nats://";

/// A parsed endpoint URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `inproc://name`.
    Inproc(String),
    /// `unix:///absolute/path.sock` or `unix:relative.sock`.
    Unix(PathBuf),
    /// `grpc://host:port`: gRPC over HTTP/2 on TCP (`:0` picks a free port when listening).
    Grpc(String),
    /// `grpc+unix:///path.sock`: gRPC over HTTP/2 on a unix socket.
    GrpcUnix(PathBuf),
    /// `http://host:port`: Connect unary calls (JSON or protobuf bodies) over HTTP/1.1 or h2c.
    Http(String),
    /// `ws://host:port`: the local wire protocol over a WebSocket.
    Ws(String),
    /// `grpcs://host:port?ca=…`: gRPC over TLS.
    Grpcs(TlsTarget),
    /// `https://host:port?ca=…`: Connect unary calls over TLS.
    Https(TlsTarget),
    /// `wss://host:port?ca=…`: the local wire protocol over a WebSocket over TLS.
    Wss(TlsTarget),
    /// `nats://host:port/PREFIX`: unary calls by NATS request/reply through a nats-server.
    Nats(NatsTarget),
    /// `shm://NAME` (a socket in the user's runtime directory) or `shm:///path.sock`: the local
    /// wire protocol through shared memory.
    Shm(String),
    /// `auto://NAME`: the service of that name on this machine, by the fastest transport that
    /// answers (`docs/transports.md`).
    Auto(AutoTarget),
}

impl Endpoint {
    /// The endpoint with each TLS setting its URI query lacks taken from `tls` (no change for
    /// schemes without TLS).
    pub fn with_client_tls(self, tls: &ClientTlsConfig) -> Endpoint {
        let fill = |t: TlsTarget| TlsTarget {
            tls: t.tls.or(tls),
            ..t
        };
        match self {
            Endpoint::Grpcs(t) => Endpoint::Grpcs(fill(t)),
            Endpoint::Https(t) => Endpoint::Https(fill(t)),
            Endpoint::Wss(t) => Endpoint::Wss(fill(t)),
            Endpoint::Auto(t) => Endpoint::Auto(AutoTarget {
                tls: t.tls.or(tls),
                ..t
            }),
            other => other,
        }
    }
}

impl FromStr for Endpoint {
    type Err = Error;

    fn from_str(uri: &str) -> Result<Endpoint> {
        let bad = |why: &str| {
            Error::new(
                Code::InvalidArgument,
                format!("invalid endpoint {uri:?}: {why}"),
            )
            .with_reason("BAD_ENDPOINT")
        };
        let (scheme, rest) = uri
            .split_once(':')
            .ok_or_else(|| bad("expected scheme://…"))?;
        match scheme {
            "inproc" => {
                let name = rest.strip_prefix("//").unwrap_or(rest);
                if name.is_empty() {
                    return Err(bad("inproc needs a name: inproc://name"));
                }
                Ok(Endpoint::Inproc(name.to_string()))
            }
            "unix" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(bad("unix needs a path: unix:///tmp/x.sock"));
                }
                Ok(Endpoint::Unix(PathBuf::from(path)))
            }
            "grpc" | "http" | "ws" | "grpcs" | "https" | "wss" => {
                let rest = rest.strip_prefix("//").unwrap_or(rest);
                let (authority, query) = match rest.split_once('?') {
                    Some((a, q)) => (a, Some(q)),
                    None => (rest, None),
                };
                let authority = authority.trim_end_matches('/');
                if authority.is_empty() || !authority.contains(':') || authority.contains('/') {
                    return Err(bad(&format!(
                        "{scheme} needs host:port: {scheme}://127.0.0.1:50051"
                    )));
                }
                let target = || TlsTarget::parse(authority, query).map_err(|e| bad(&e));
                if query.is_some() && !scheme.ends_with('s') {
                    return Err(bad(&format!("{scheme}:// takes no query")));
                }
                Ok(match scheme {
                    "grpc" => Endpoint::Grpc(authority.to_string()),
                    "http" => Endpoint::Http(authority.to_string()),
                    "ws" => Endpoint::Ws(authority.to_string()),
                    "grpcs" => Endpoint::Grpcs(target()?),
                    "https" => Endpoint::Https(target()?),
                    _ => Endpoint::Wss(target()?),
                })
            }
            "grpc+unix" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(bad("grpc+unix needs a path: grpc+unix:///tmp/x.sock"));
                }
                Ok(Endpoint::GrpcUnix(PathBuf::from(path)))
            }
            "nats" => {
                let rest = rest.strip_prefix("//").unwrap_or(rest);
                Ok(Endpoint::Nats(
                    NatsTarget::parse(rest).map_err(|e| bad(&e))?,
                ))
            }
            "shm" => {
                let name = rest.strip_prefix("//").unwrap_or(rest);
                if !shm::valid_name(name) {
                    return Err(bad(
                        "shm needs a name of letters, digits, '.', '_', '-' (shm://name) \
                         or an absolute socket path (shm:///run/x.sock)",
                    ));
                }
                Ok(Endpoint::Shm(name.to_string()))
            }
            "auto" => Ok(Endpoint::Auto(
                AutoTarget::parse(rest).map_err(|e| bad(&e))?,
            )),
            _ => Err(bad(&format!("unknown scheme (supported: {SCHEMES})"))),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Inproc(n) => write!(f, "inproc://{n}"),
            Endpoint::Unix(p) => write!(f, "unix://{}", p.display()),
            Endpoint::Grpc(a) => write!(f, "grpc://{a}"),
            Endpoint::GrpcUnix(p) => write!(f, "grpc+unix://{}", p.display()),
            Endpoint::Http(a) => write!(f, "http://{a}"),
            Endpoint::Ws(a) => write!(f, "ws://{a}"),
            Endpoint::Grpcs(t) => write!(f, "grpcs://{}", t.authority),
            Endpoint::Https(t) => write!(f, "https://{}", t.authority),
            Endpoint::Wss(t) => write!(f, "wss://{}", t.authority),
            Endpoint::Nats(t) => write!(f, "nats://{}/{}", t.authority, t.prefix),
            Endpoint::Shm(n) => write!(f, "shm://{n}"),
            Endpoint::Auto(t) => write!(f, "{t}"),
        }
    }
}

/// One call's streams, as the client sees them.
pub(crate) struct RawStream {
    /// Requests to send; dropping it half-closes.
    pub(crate) tx: mpsc::UnboundedSender<Bytes>,
    /// Responses, then at most one error, then the end.
    pub(crate) rx: mpsc::UnboundedReceiver<Result<Bytes>>,
    /// Cancels the call when dropped before the end.
    pub(crate) _guard: Box<dyn Send + Sync>,
    /// The response headers and trailers, filled by the transport as they arrive (before the
    /// message or the end that follows them is queued on `rx`).
    pub(crate) response: Arc<ResponseMetadata>,
    /// The client side's flow control: requests wait on `window`, responses read give `credit`.
    pub(crate) flow: crate::flow::Flow,
}

/// The client side of a transport.
pub(crate) trait ClientTransport: Send + Sync + 'static {
    fn unary(&self, head: CallHead, payload: Bytes) -> BoxFuture<'_, Result<Reply<Bytes>>>;
    /// A unary call made on the calling thread, without the runtime; `watch` ends it early.
    /// Only `unix://` and `shm://` clients have this blocking lane (the client's pool knows which
    /// endpoints are `unix://`); a blocking caller of another waits on
    /// [`unary`](ClientTransport::unary).
    fn unary_blocking(
        &self,
        head: CallHead,
        payload: Bytes,
        watch: &Watch,
        blocker: &dyn Blocker,
    ) -> Result<Reply<Bytes>> {
        let _ = (head, payload, watch, blocker);
        Err(Error::internal("this transport has no blocking lane"))
    }
    /// Whether [`unary_blocking`](ClientTransport::unary_blocking) serves calls.
    fn has_lane(&self) -> bool {
        false
    }
    /// The endpoint this connection reached when it differs from the one asked for (the
    /// transport `auto://` picked).
    fn via(&self) -> Option<String> {
        None
    }
    fn open(&self, head: CallHead) -> BoxFuture<'_, Result<RawStream>>;
    fn close(&self);
    /// False once the connection is lost or the server said GOAWAY: the client makes a new
    /// one for its next calls. Transports that reconnect by themselves (gRPC's channel, HTTP's
    /// pool) are always alive.
    fn alive(&self) -> bool {
        true
    }
}

/// A client connection to `endpoint`, with `keepalive` where the transport has connections.
pub(crate) async fn connect(
    endpoint: &Endpoint,
    limits: &Limits,
    keepalive: Option<&Keepalive>,
) -> Result<Arc<dyn ClientTransport>> {
    let ka = keepalive.copied();
    match endpoint {
        Endpoint::Inproc(name) => Ok(Arc::new(inproc::connect(name, limits)?)),
        Endpoint::Unix(path) => Ok(Arc::new(
            unix_client::UnixClient::connect(path, limits, ka).await?,
        )),
        Endpoint::Grpc(authority) => Ok(Arc::new(
            grpc_client::GrpcClient::connect_tcp(authority, limits, ka).await?,
        )),
        Endpoint::GrpcUnix(path) => Ok(Arc::new(
            grpc_client::GrpcClient::connect_unix(path.clone(), limits, ka).await?,
        )),
        Endpoint::Http(authority) => Ok(Arc::new(http_client::HttpClient::new(authority, limits))),
        Endpoint::Ws(authority) => Ok(Arc::new(ws::connect(authority, limits, ka).await?)),
        Endpoint::Grpcs(t) => Ok(Arc::new(
            grpc_client::GrpcClient::connect_tls(t, limits, ka).await?,
        )),
        Endpoint::Https(t) => Ok(Arc::new(http_client::HttpClient::new_tls(t, limits)?)),
        Endpoint::Wss(t) => Ok(Arc::new(ws::connect_tls(t, limits, ka).await?)),
        Endpoint::Nats(t) => Ok(Arc::new(nats_client::NatsClient::connect(t, limits).await?)),
        Endpoint::Shm(name) => Ok(Arc::new(shm::connect(name, limits, ka).await?)),
        Endpoint::Auto(t) => Ok(Arc::new(auto_client::connect(t, limits, ka).await?)),
    }
}

/// Metadata from HTTP headers: every header `protocol(key)` does not claim. Binary (`-bin`)
/// values stay the base64 text they are on the wire. Shared by grpc and http.
pub(crate) fn text_metadata(
    headers: &http::HeaderMap,
    protocol: impl Fn(&str) -> bool,
) -> crate::metadata::Metadata {
    let mut md = crate::metadata::Metadata::new();
    for (k, v) in headers {
        let key = k.as_str();
        if protocol(key) {
            continue;
        }
        if let Ok(text) = v.to_str() {
            md.insert(key, text);
        }
    }
    md
}

/// Appends `md` to HTTP headers, each key after `prefix` (`trailer-` for Connect's trailers).
/// Values are already wire text (base64 for `-bin` keys); an entry HTTP cannot carry is left out.
pub(crate) fn put_metadata(
    headers: &mut http::HeaderMap,
    md: &crate::metadata::Metadata,
    prefix: &str,
) {
    for (k, v) in md.iter() {
        let name = http::HeaderName::from_bytes(format!("{prefix}{k}").as_bytes());
        if let (Ok(name), Ok(value)) = (name, http::HeaderValue::from_str(v)) {
            headers.append(name, value);
        }
    }
}
