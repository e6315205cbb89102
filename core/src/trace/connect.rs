//! How an export reaches its collector: plain TCP for an `http://` endpoint, TLS for an
//! `https://` one. TLS belongs to the transport layer, above this base module, so the transport
//! installs the dialer ([`set_tls_dialer`]) before the first server or client starts the export;
//! this module holds the hook, the collector's TLS files read from the standard variables
//! (`OTEL_EXPORTER_OTLP_CERTIFICATE`, `…_CLIENT_CERTIFICATE`, `…_CLIENT_KEY`, each with its
//! `TRACES_`/`METRICS_` form first) and the connector hyper's client uses (hyper's own
//! `HttpConnector` for plain TCP, as the transports' HTTP client has it).

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::export::env;

/// The files of a TLS connection to the collector (PEM): the CA its certificate must chain to
/// (without one, the public web roots) and the client's own certificate and key (mutual TLS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportTls {
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`: the CA file.
    pub ca: Option<PathBuf>,
    /// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`: the client's certificate chain.
    pub cert: Option<PathBuf>,
    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY`: the client's private key.
    pub key: Option<PathBuf>,
}

impl ExportTls {
    /// The files of `signal` (`TRACES` or `METRICS`): its own variable, else the general one.
    pub(super) fn from_env(signal: &str) -> ExportTls {
        let file = |what: &str| {
            env(&format!("OTEL_EXPORTER_OTLP_{signal}_{what}"))
                .or_else(|| env(&format!("OTEL_EXPORTER_OTLP_{what}")))
                .map(PathBuf::from)
        };
        ExportTls {
            ca: file("CERTIFICATE"),
            cert: file("CLIENT_CERTIFICATE"),
            key: file("CLIENT_KEY"),
        }
    }
}

/// A boxed future, as a dialer returns it.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A byte stream to the collector.
pub trait ExportIo: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> ExportIo for T {}

/// A connection to the collector, plain or TLS.
pub struct ExportStream(Box<dyn ExportIo>);

impl std::fmt::Debug for ExportStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExportStream")
    }
}

impl ExportStream {
    /// Wraps a connected stream.
    pub fn new(io: impl ExportIo) -> ExportStream {
        ExportStream(Box::new(io))
    }
}

/// Opens one connection to the collector (a TLS dialer bound to its authority and files).
pub type Dial = Arc<dyn Fn() -> BoxFuture<io::Result<ExportStream>> + Send + Sync>;

/// Makes the [`Dial`] of an `https://` collector at `authority` (`host:port`): its files, and
/// whether it speaks HTTP/2 (gRPC) or HTTP/1.1. An error says what is wrong with the files.
pub type TlsDialer = fn(authority: &str, tls: &ExportTls, h2: bool) -> Result<Dial, String>;

static TLS_DIALER: OnceLock<TlsDialer> = OnceLock::new();

/// Installs the TLS dialer (the transport layer does, once; later calls do nothing).
pub fn set_tls_dialer(dialer: TlsDialer) {
    let _ = TLS_DIALER.set(dialer);
}

/// The connector of an export to `endpoint`: hyper's own over plain TCP, or TLS over it for
/// `https://`.
#[derive(Clone)]
pub(super) enum Connector {
    Plain(HttpConnector),
    Tls(Dial),
}

impl Connector {
    /// The connector for `endpoint`; an error (logged by the caller: no export) for an
    /// `https://` endpoint whose TLS files are wrong, or when no dialer was installed.
    pub(super) fn for_endpoint(endpoint: &str, tls: &ExportTls, h2: bool) -> Result<Self, String> {
        let uri: http::Uri = endpoint.parse().map_err(|e| format!("bad endpoint: {e}"))?;
        match uri.scheme_str() {
            Some("https") => {
                let host = uri.host().ok_or("an https endpoint needs a host")?;
                let authority = format!("{host}:{}", uri.port_u16().unwrap_or(443));
                let dialer = TLS_DIALER.get().ok_or(
                    "TLS is installed by the first server or client: make one before the export",
                )?;
                dialer(&authority, tls, h2).map(Connector::Tls)
            }
            Some("http") => {
                let mut plain = HttpConnector::new();
                plain.set_nodelay(true);
                Ok(Connector::Plain(plain))
            }
            _ => Err("the endpoint must be http:// or https://".into()),
        }
    }
}

impl tower::Service<http::Uri> for Connector {
    type Response = TokioIo<ExportStream>;
    type Error = io::Error;
    type Future = BoxFuture<io::Result<TokioIo<ExportStream>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Connector::Plain(c) => c.poll_ready(cx).map_err(io::Error::other),
            Connector::Tls(_) => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        match self {
            Connector::Tls(dial) => {
                let dial = dial.clone();
                Box::pin(async move { dial().await.map(TokioIo::new) })
            }
            Connector::Plain(c) => {
                let connecting = c.call(uri);
                Box::pin(async move {
                    let tcp = connecting.await.map_err(io::Error::other)?.into_inner();
                    Ok(TokioIo::new(ExportStream::new(tcp)))
                })
            }
        }
    }
}

impl Connection for ExportStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for ExportStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ExportStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}
