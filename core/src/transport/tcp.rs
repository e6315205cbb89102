//! TCP listening shared by the network transports: resolving, binding (`:0` picks a free port)
//! and an accept loop that hands each connection to a task until the listener is stopped.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Service;
use crate::error::{Code, Error, Result};
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
            tokio::spawn(serve(stream, core.clone(), peer, stop.clone()));
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
