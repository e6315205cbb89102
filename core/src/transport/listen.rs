//! The seam between the transports and the server (tonic's seam): a transport listens with a
//! [`ListenConfig`] and hands every call it accepts to a [`Service`], which the server's
//! dispatcher implements. No transport imports the server; the server reaches the transports
//! only through [`listen`] and the [`Listener`] it returns.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::auto::{self, AutoTarget, Record, Via};
use super::{
    grpc_server, http_server, inproc, local_dir, nats_server, shm, tcp, tls, unix_server, ws,
    ClientTlsConfig, Endpoint,
};
use crate::call::CallHead;
use crate::error::{Code, Error, Result};
use crate::handler::BoxFuture;
use crate::limits::Limits;
use crate::metadata::response::ResponseMetadata;
use crate::peer::Peer;
use crate::schema::Schema;

/// What a transport needs to know to listen, fixed when the server is built.
#[derive(Clone)]
pub(crate) struct ListenConfig {
    /// Message sizes and calls per connection (HTTP/2 streams, unix streams).
    pub(crate) limits: Limits,
    /// The mode of unix socket files (`unix://`, `grpc+unix://`).
    pub(crate) socket_mode: u32,
    /// The server's TLS settings without ALPN (`grpcs://`, `https://`, `wss://` need them).
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    /// The schema gRPC reflection and health describe.
    pub(crate) schema: Schema,
    /// Whether gRPC reflection and per-service health may list the schema to anyone (not when
    /// callers are authenticated or authorized: discovery then goes through `Describe`).
    pub(crate) reflection: bool,
    /// PING clients that stay silent, and close their connections when nothing comes back.
    pub(crate) keepalive: Option<super::Keepalive>,
}

/// What serves the calls a transport accepts: admission, interceptors, handlers, limits. The
/// server's dispatcher is the one implementation; transports hold it as `Arc<dyn Service>`.
pub(crate) trait Service: Send + Sync + 'static {
    /// How to listen.
    fn config(&self) -> &ListenConfig;
    /// Cancelled when a graceful shutdown begins: no new call is admitted (unix sends GOAWAY).
    fn drain(&self) -> &CancellationToken;
    /// Cancelled on hard stop: connections close; every call's token is a child of it.
    fn stop(&self) -> &CancellationToken;
    /// Counts a reply the transport is still writing. Call it through [`Hold::new`], whose
    /// drop calls [`end_writing`](Service::end_writing).
    fn start_writing(&self);
    /// Ends one [`start_writing`](Service::start_writing).
    fn end_writing(&self);
    /// The streaming kind of the call `head` makes, in the schema revision its metadata
    /// chooses (the main schema's without one); `None` for a method that schema lacks.
    fn kind(&self, head: &CallHead) -> Option<crate::schema::StreamingKind>;
    /// Every method the server answers, each with its streaming kind: the main schema's, then
    /// those only a schema revision has (with the kind of the first revision that has it). A
    /// transport that subscribes per method (`nats://`) reads it when it starts listening.
    fn methods(&self) -> Vec<(String, crate::schema::StreamingKind)>;
    /// A call the transport refused before serving it (a body over the size limit): the
    /// interceptors' `after` hooks (the audit log) still see it.
    fn refused(&self, head: &CallHead, peer: &Peer, error: &Error);
    /// A unary call: request bytes in, reply bytes out; the handler's response metadata is
    /// left in `response` for the transport to send.
    fn unary<'a>(
        self: Arc<Self>,
        head: CallHead,
        payload: Bytes,
        peer: &'a Peer,
        cancel: CancellationToken,
        response: Arc<ResponseMetadata>,
    ) -> BoxFuture<'a, Result<Bytes>>;
    /// A streaming call (any kind): requests arrive on `input`, responses leave on `output`;
    /// the headers in `response` are sealed before the first response is queued.
    fn stream<'a>(
        self: Arc<Self>,
        head: CallHead,
        peer: &'a Peer,
        cancel: CancellationToken,
        io: (mpsc::UnboundedReceiver<Bytes>, mpsc::UnboundedSender<Bytes>),
        response: Arc<ResponseMetadata>,
        flow: crate::flow::Flow,
    ) -> BoxFuture<'a, Result<()>>;
    /// The thread that serves this server's calls from a queue, which reads the server's
    /// `unix://` connections itself while it waits ([`super::Host`]), if the server has one.
    fn host(&self) -> Option<Arc<super::Host>> {
        None
    }
}

/// A reply a transport is still writing: a graceful shutdown waits for it (it is not a call
/// in flight). Ends the [`Service::start_writing`] it started when dropped.
pub(crate) struct Hold(Arc<dyn Service>);

impl Hold {
    pub(crate) fn new(service: &Arc<dyn Service>) -> Hold {
        service.start_writing();
        Hold(service.clone())
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.0.end_writing();
    }
}

/// A running listener.
pub(crate) struct Listener {
    pub(crate) uri: String,
    accept_stop: CancellationToken,
    task: Option<JoinHandle<()>>,
    cleanup: Cleanup,
}

/// What a listener undoes when it closes: only what is still its own, since a new server may
/// have taken the name or the path over while this one drained (a restart in place).
enum Cleanup {
    Inproc(String, std::sync::Weak<dyn Service>),
    /// The socket file, and its (device, inode) once bound.
    Unix(PathBuf, Option<(u64, u64)>),
    /// `auto://`: the listeners it made and the record it wrote.
    Auto(Box<AutoParts>),
    None,
}

struct AutoParts {
    target: AutoTarget,
    parts: Vec<Listener>,
    /// The record as last written (its network endpoints change with the server's listeners).
    record: std::sync::Mutex<Record>,
}

/// The identity of the file at `path` (not following a symlink), if there is one.
fn file_id(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

impl Listener {
    pub(crate) fn stop_accepting(&self) {
        self.accept_stop.cancel();
        self.close_now();
    }

    pub(crate) fn close_now(&self) {
        match &self.cleanup {
            Cleanup::Inproc(name, core) => inproc::unregister(name, core),
            Cleanup::Unix(path, id) => {
                if id.is_some() && file_id(path) == *id {
                    let _ = std::fs::remove_file(path);
                }
            }
            Cleanup::Auto(auto) => {
                for part in &auto.parts {
                    part.stop_accepting();
                }
                let record = auto.record.lock().unwrap_or_else(|e| e.into_inner());
                Record::remove(&record.name, &record.listener);
            }
            Cleanup::None => {}
        }
    }

    pub(crate) async fn close(mut self) {
        self.stop_accepting();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Cleanup::Auto(auto) = std::mem::replace(&mut self.cleanup, Cleanup::None) {
            for part in auto.parts {
                Box::pin(part.close()).await;
            }
        }
    }
}

/// Rewrites the record of each `auto://` listener among `listeners` with the network endpoints
/// of the others (the server was given a new one, or stopped listening on one).
pub(crate) fn publish(listeners: &[Listener]) {
    let network: Vec<(Via, String)> = listeners
        .iter()
        .filter_map(|l| {
            let via = Via::of(&l.uri.parse().ok()?).filter(|v| !v.local())?;
            Some((via, auto::reachable(&l.uri)))
        })
        .collect();
    for l in listeners {
        let Cleanup::Auto(auto) = &l.cleanup else {
            continue;
        };
        let mut record = auto.record.lock().unwrap_or_else(|e| e.into_inner());
        let mut endpoints: Vec<String> = auto.parts.iter().map(|p| p.uri.clone()).collect();
        endpoints.retain(|e| !e.starts_with("inproc:"));
        let allowed = network
            .iter()
            .filter(|(v, _)| auto.target.order.contains(v));
        endpoints.extend(allowed.map(|(_, uri)| uri.clone()));
        if endpoints != record.endpoints {
            record.endpoints = endpoints;
            if let Err(e) = record.write() {
                tracing::warn!(service = %auto.target, error = %e, "cannot update the record");
            }
        }
    }
}

/// Listens on `auto://NAME`: `inproc://NAME`, `shm://NAME` and a unix socket in the user's
/// directory (those the target allows), and writes the record clients find them by.
fn listen_auto(target: &AutoTarget, core: Arc<dyn Service>) -> Result<Listener> {
    let name = &target.name;
    local_dir::own_dir(&auto::dir())?;
    let mut parts: Vec<Listener> = Vec::new();
    let undo = |parts: &[Listener]| parts.iter().for_each(Listener::stop_accepting);
    for via in target.order.iter().filter(|v| v.local()) {
        let endpoint = match via {
            Via::Inproc => Endpoint::Inproc(name.clone()),
            Via::Shm => Endpoint::Shm(name.clone()),
            _ => Endpoint::Unix(auto::socket_path(name)),
        };
        match listen(&endpoint, core.clone()) {
            Ok(l) => parts.push(l),
            Err(e) => {
                undo(&parts);
                return Err(e);
            }
        }
    }
    if parts.is_empty() {
        return Err(Error::new(
            Code::InvalidArgument,
            format!(
                "{target}: a server of auto:// listens on inproc, shm or unix; its network \
                 endpoints are the server's other listeners (listen on grpc://… too)"
            ),
        )
        .with_reason("BAD_ENDPOINT"));
    }
    let local = parts.iter().map(|p| p.uri.clone());
    let record = Record::new(name, local.filter(|u| !u.starts_with("inproc:")).collect());
    if let Err(e) = record.write() {
        undo(&parts);
        return Err(e);
    }
    Ok(Listener {
        uri: target.to_string(),
        accept_stop: CancellationToken::new(),
        task: None,
        cleanup: Cleanup::Auto(Box::new(AutoParts {
            target: target.clone(),
            parts,
            record: std::sync::Mutex::new(record),
        })),
    })
}

pub(crate) fn listen(endpoint: &Endpoint, core: Arc<dyn Service>) -> Result<Listener> {
    let accept_stop = CancellationToken::new();
    match endpoint {
        Endpoint::Auto(target) => listen_auto(target, core),
        Endpoint::Inproc(name) => {
            inproc::register(name, &core)?;
            Ok(Listener {
                uri: endpoint.to_string(),
                accept_stop,
                task: None,
                cleanup: Cleanup::Inproc(name.clone(), Arc::downgrade(&core)),
            })
        }
        Endpoint::Unix(path) => {
            let task = unix_server::listen(path, core, accept_stop.clone())?;
            Ok(Listener {
                uri: endpoint.to_string(),
                accept_stop,
                task: Some(task),
                cleanup: Cleanup::Unix(path.clone(), file_id(path)),
            })
        }
        Endpoint::Shm(name) => {
            let (path, task) = shm::listen(name, core, accept_stop.clone())?;
            Ok(Listener {
                uri: endpoint.to_string(),
                accept_stop,
                task: Some(task),
                cleanup: Cleanup::Unix(path.clone(), file_id(&path)),
            })
        }
        Endpoint::Grpc(authority) => {
            let addr = tcp::resolve(authority)?;
            let (uri, task) =
                grpc_server::listen(grpc_server::Bind::Tcp(addr), core, accept_stop.clone())?;
            Ok(Listener {
                uri,
                accept_stop,
                task: Some(task),
                cleanup: Cleanup::None,
            })
        }
        Endpoint::GrpcUnix(path) => {
            let bind = grpc_server::Bind::Unix(path.clone());
            let (uri, task) = grpc_server::listen(bind, core, accept_stop.clone())?;
            Ok(Listener {
                uri,
                accept_stop,
                task: Some(task),
                cleanup: Cleanup::Unix(path.clone(), file_id(path)),
            })
        }
        Endpoint::Grpcs(t) | Endpoint::Https(t) | Endpoint::Wss(t) => {
            if t.tls != ClientTlsConfig::default() {
                return Err(Error::new(
                    Code::InvalidArgument,
                    format!(
                        "{endpoint}: a listening URI takes no query; the server's TLS settings \
                         come from the security file's [tls] table"
                    ),
                )
                .with_reason("BAD_ENDPOINT"));
            }
            let stop = accept_stop.clone();
            let (uri, task) = match endpoint {
                Endpoint::Grpcs(_) => {
                    let acceptor = tls::acceptor(&*core, "grpcs", &[tls::H2])?;
                    let bind = grpc_server::Bind::Tls(t.authority.clone(), acceptor);
                    grpc_server::listen(bind, core, stop)?
                }
                Endpoint::Https(_) => {
                    let acceptor = tls::acceptor(&*core, "https", &[tls::H2, tls::HTTP1])?;
                    let serve = tls::serving(acceptor, http_server::serve_connection);
                    tcp::listen("https", &t.authority, core, stop, serve)?
                }
                _ => {
                    let acceptor = tls::acceptor(&*core, "wss", &[tls::HTTP1])?;
                    let serve = tls::serving(acceptor, ws::serve_connection);
                    tcp::listen("wss", &t.authority, core, stop, serve)?
                }
            };
            Ok(Listener {
                uri,
                accept_stop,
                task: Some(task),
                cleanup: Cleanup::None,
            })
        }
        Endpoint::Nats(target) => {
            let (uri, task) = nats_server::listen(target, core, accept_stop.clone())?;
            Ok(Listener {
                uri,
                accept_stop,
                task: Some(task),
                cleanup: Cleanup::None,
            })
        }
        Endpoint::Http(authority) | Endpoint::Ws(authority) => {
            let stop = accept_stop.clone();
            let (uri, task) = match endpoint {
                Endpoint::Http(_) => {
                    tcp::listen("http", authority, core, stop, http_server::serve_connection)?
                }
                _ => tcp::listen("ws", authority, core, stop, ws::serve_connection)?,
            };
            Ok(Listener {
                uri,
                accept_stop,
                task: Some(task),
                cleanup: Cleanup::None,
            })
        }
    }
}

/// Makes `path` free for a new socket: a stale socket file is removed, a live one is
/// `AlreadyExists`.
pub(crate) fn claim_socket_path(path: &std::path::Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(Error::new(
            Code::AlreadyExists,
            format!("a server already listens on {}", path.display()),
        ));
    }
    std::fs::remove_file(path).map_err(|e| {
        Error::new(
            Code::FailedPrecondition,
            format!("cannot replace stale socket {}: {e}", path.display()),
        )
    })
}
