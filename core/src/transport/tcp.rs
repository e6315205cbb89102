//! TCP listening shared by the network transports: resolving, binding (`:0` picks a free port)
//! and an accept loop that hands each connection to a task until the listener is stopped; and
//! [`Counted`], a connection counted in the metrics while it lives (what tonic serves).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Service;
use crate::error::{Code, Error, Result};
use crate::metrics::connections::{self, Open};
use crate::peer::Peer;

/// Binds `addr` on the core runtime; returns the listener and the address really bound.
pub(crate) fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr)> {
    let std_listener = std::net::TcpListener::bind(addr).map_err(|e| {
        Error::new(
            Code::FailedPrecondition,
            format!("cannot listen on {addr}: {e}"),
        )
        .with_source(e)
    })?;
    std_listener.set_nonblocking(true)?;
    let bound = std_listener.local_addr()?;
    let _enter = crate::runtime::handle().enter();
    Ok((TcpListener::from_std(std_listener)?, bound))
}

/// Listens on `authority` for `scheme` (`http`, `ws`): accepts connections until `stop` or the
/// dispatcher's hard stop and runs `serve` for each with the peer's address (`TCP_NODELAY` set:
/// calls are small request/reply exchanges). Returns the bound URI (with the real port for `:0`)
/// and the accept task; `serve` gets `stop` to drain its connection gracefully.
pub(crate) fn listen<F, Fut>(
    scheme: &'static str,
    authority: &str,
    core: Arc<dyn Service>,
    stop: CancellationToken,
    serve: F,
) -> Result<(String, JoinHandle<()>)>
where
    F: Fn(TcpStream, Arc<dyn Service>, Peer, CancellationToken) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (listener, bound) = bind(resolve(authority)?)?;
    let task = crate::runtime::handle().spawn(async move {
        loop {
            let (stream, remote) = tokio::select! {
                _ = stop.cancelled() => return,
                _ = core.stop().cancelled() => return,
                r = listener.accept() => match r {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let peer = Peer::new(scheme, format!("{scheme}:{remote}"));
            // ws and wss connections are counted by their frame connection, grpcs ones by
            // tonic's (they are handed over after the handshake).
            let open = matches!(scheme, "http" | "https").then(|| connections::opened(scheme));
            let served = serve(stream, core.clone(), peer, stop.clone());
            tokio::spawn(async move {
                served.await;
                drop(open);
            });
        }
    });
    Ok((format!("{scheme}://{bound}"), task))
}

/// The first address `authority` (`host:port`) resolves to.
pub(crate) fn resolve(authority: &str) -> Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    authority
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            Error::new(Code::InvalidArgument, format!("cannot resolve {authority}"))
                .with_reason("BAD_ENDPOINT")
        })
}

/// A connection counted open in the metrics until it is dropped.
pub(crate) struct Counted<IO> {
    io: IO,
    _open: Open,
}

impl<IO> Counted<IO> {
    pub(crate) fn new(io: IO, transport: &str) -> Counted<IO> {
        Counted {
            io,
            _open: connections::opened(transport),
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Counted<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Counted<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

impl<IO: tonic::transport::server::Connected> tonic::transport::server::Connected for Counted<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}
