//! TLS under the network transports (`grpcs://`, `https://`, `wss://`): the server-side
//! handshake that puts a client certificate's identity on the connection's [`Peer`] (as
//! `SO_PEERCRED` does on unix sockets), the client-side connector, and the `?ca=…&cert=…&key=…`
//! query that carries a client's settings in its URI, so every binding gets them for free.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_util::sync::CancellationToken;

use super::{ClientTlsConfig, Service};
use crate::error::{Code, Error, Result};
use crate::handler::BoxFuture;
use crate::peer::{Peer, PeerCertificate};

/// ALPN ids: gRPC speaks HTTP/2 only, WebSockets HTTP/1.1, Connect either.
pub(crate) const H2: &[u8] = b"h2";
pub(crate) const HTTP1: &[u8] = b"http/1.1";

/// A client's target: `host:port` and the TLS settings of its URI query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsTarget {
    /// `host:port`.
    pub authority: String,
    /// `ca`, `cert`, `key` and `server_name` from the query.
    pub tls: ClientTlsConfig,
}

impl TlsTarget {
    /// Parses `host:port?ca=…&cert=…&key=…&server_name=…` (values percent-decoded).
    pub(crate) fn parse(authority: &str, query: Option<&str>) -> std::result::Result<Self, String> {
        let mut tls = ClientTlsConfig::default();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v).ok_or_else(|| format!("bad percent-encoding in {k}"))?;
            match k {
                "ca" => tls.ca_file = Some(v.into()),
                "cert" => tls.cert_file = Some(v.into()),
                "key" => tls.key_file = Some(v.into()),
                "server_name" => tls.server_name = Some(v),
                _ => {
                    return Err(format!(
                        "unknown TLS parameter {k:?} (expected ca, cert, key, server_name)"
                    ))
                }
            }
        }
        Ok(TlsTarget {
            authority: authority.to_string(),
            tls,
        })
    }
}

pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The acceptor of a `scheme` listener offering `alpn`: the server's `[tls]` settings, or a
/// clear `InvalidArgument` when it has none.
pub(crate) fn acceptor(core: &dyn Service, scheme: &str, alpn: &[&[u8]]) -> Result<TlsAcceptor> {
    let tls = core.config().tls.as_deref().ok_or_else(|| {
        Error::new(
            Code::InvalidArgument,
            format!(
                "{scheme}:// needs a certificate: give the server a security file with a [tls] \
                 table (cert_file, key_file) or Security::with_tls"
            ),
        )
        .with_reason("BAD_TLS_CONFIG")
    })?;
    let mut config = tls.clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The handshake on an accepted connection (within 10 s); the peer gets the verified client
/// certificate, if one was presented.
pub(crate) async fn accept(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    peer: &mut Peer,
) -> std::result::Result<tokio_rustls::server::TlsStream<TcpStream>, String> {
    let stream = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
        .await
        .map_err(|_| "no TLS handshake within 10s".to_string())?
        .map_err(|e| format!("TLS handshake: {e}"))?;
    let (_, conn) = stream.get_ref();
    if let Some(der) = conn.peer_certificates().and_then(|c| c.first()) {
        let cert = PeerCertificate::from_der(der)
            .ok_or_else(|| "unreadable client certificate".to_string())?;
        peer.set_cert(Arc::new(cert));
    }
    Ok(stream)
}

/// `serve` for [`super::tcp::listen`] behind a TLS handshake; a failed handshake is logged and
/// the connection closed (other connections are not affected).
pub(crate) fn serving<F, Fut>(
    acceptor: TlsAcceptor,
    serve: F,
) -> impl Fn(TcpStream, Arc<dyn Service>, Peer, CancellationToken) -> BoxFuture<'static, ()>
       + Send
       + 'static
where
    F: Fn(
            tokio_rustls::server::TlsStream<TcpStream>,
            Arc<dyn Service>,
            Peer,
            CancellationToken,
        ) -> Fut
        + Send
        + Sync
        + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let serve = Arc::new(serve);
    move |tcp, core, mut peer, drain| {
        let (acceptor, serve) = (acceptor.clone(), serve.clone());
        Box::pin(async move {
            match accept(&acceptor, tcp, &mut peer).await {
                Ok(stream) => serve(stream, core, peer, drain).await,
                Err(reason) => tracing::warn!(peer = %peer.address, %reason, "TLS refused"),
            }
        })
    }
}

/// A client's TLS settings, built once per client.
#[derive(Clone)]
pub(crate) struct TlsClient {
    connector: TlsConnector,
    name: ServerName<'static>,
    authority: String,
    /// HTTP/2 with a client certificate: wait for the server's verdict on it (see [`verdict`]).
    await_verdict: bool,
}

impl TlsClient {
    pub(crate) fn new(target: &TlsTarget, alpn: &[&[u8]]) -> Result<TlsClient> {
        let t = &target.tls;
        Ok(TlsClient {
            connector: TlsConnector::from(t.build(alpn)?),
            name: t.server_name(&target.authority)?,
            authority: target.authority.clone(),
            await_verdict: alpn == [H2] && (t.cert_file.is_some() || t.cert_pem.is_some()),
        })
    }

    /// Opens a TCP connection and completes the TLS handshake.
    pub(crate) async fn connect(&self) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(&self.authority).await?;
        let _ = tcp.set_nodelay(true);
        let handshake = |e: io::Error| io::Error::new(e.kind(), format!("TLS handshake: {e}"));
        let mut stream = self
            .connector
            .connect(self.name.clone(), tcp)
            .await
            .map_err(handshake)?;
        let tls13 = stream.get_ref().1.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
        if self.await_verdict && tls13 {
            verdict(&mut stream).await.map_err(handshake)?;
        }
        Ok(stream)
    }
}

/// In TLS 1.3 a client finishes its handshake before the server has checked the client's
/// certificate; a server that refuses it answers with an alert where its first bytes would be.
/// HTTP/2 servers speak first (their SETTINGS), so a gRPC client with a certificate waits for
/// those bytes (5 s at most), leaving them buffered, and a refusal is a connect error with its
/// reason (`received fatal alert: UnknownCA`) instead of a connection lost at the first call.
async fn verdict(stream: &mut tokio_rustls::client::TlsStream<TcpStream>) -> io::Result<()> {
    struct Nonblocking<'a>(&'a TcpStream);
    impl io::Read for Nonblocking<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.try_read(buf)
        }
    }
    let (tcp, conn) = stream.get_mut();
    let wait = async {
        loop {
            let state = conn
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::PermissionDenied, e))?;
            if state.plaintext_bytes_to_read() > 0 {
                return Ok(());
            }
            if state.peer_has_closed() {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the server closed the connection after the handshake",
                ));
            }
            tcp.readable().await?;
            match conn.read_tls(&mut Nonblocking(tcp)) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the server closed the connection after the handshake",
                    ))
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    };
    // A server that stays silent is not refused here: the first call will tell.
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .unwrap_or(Ok(()))
}

/// A connection: plain TCP or TLS over TCP, with the peer a server saw on it.
pub(crate) struct Io {
    inner: Inner,
    peer: Option<Peer>,
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

impl Io {
    /// A server connection after its handshake, carrying its peer to the request handlers.
    pub(crate) fn server(stream: tokio_rustls::server::TlsStream<TcpStream>, peer: Peer) -> Io {
        Io {
            inner: Inner::Tls(Box::new(stream.into())),
            peer: Some(peer),
        }
    }
}

/// The peer of a gRPC connection accepted over TLS, in each request's extensions.
#[derive(Clone)]
pub(crate) struct TlsPeer(pub(crate) Option<Peer>);

impl tonic::transport::server::Connected for Io {
    type ConnectInfo = TlsPeer;
    fn connect_info(&self) -> TlsPeer {
        TlsPeer(self.peer.clone())
    }
}

impl Connection for Io {
    fn connected(&self) -> Connected {
        match &self.inner {
            Inner::Plain(tcp) => tcp.connected(),
            Inner::Tls(_) => Connected::new(),
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Inner::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.inner {
            Inner::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Inner::Plain(s) => Pin::new(s).poll_flush(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Inner::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The HTTP client's connector: hyper's plain one, or TLS to the client's target.
#[derive(Clone)]
pub(crate) enum Connector {
    Plain(HttpConnector),
    Tls(TlsClient),
}

impl tower::Service<http::Uri> for Connector {
    type Response = TokioIo<Io>;
    type Error = io::Error;
    type Future = BoxFuture<'static, io::Result<TokioIo<Io>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Connector::Plain(c) => c.poll_ready(cx).map_err(io::Error::other),
            Connector::Tls(_) => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let wrap = |inner| TokioIo::new(Io { inner, peer: None });
        match self {
            Connector::Plain(c) => {
                let connecting = c.call(uri);
                Box::pin(async move {
                    let tcp = connecting.await.map_err(io::Error::other)?.into_inner();
                    Ok(wrap(Inner::Plain(tcp)))
                })
            }
            Connector::Tls(t) => {
                let t = t.clone();
                Box::pin(async move {
                    let s = t.connect().await?;
                    Ok(wrap(Inner::Tls(Box::new(s.into()))))
                })
            }
        }
    }
}
