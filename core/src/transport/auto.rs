//! `auto://NAME`: one name for a service of this machine, and the fastest way to it
//! (`docs/transports.md`, "auto://").
//!
//! A server that listens on `auto://NAME` listens on `inproc://NAME`, `shm://NAME` and a unix
//! socket in the user's directory ([`super::local_dir`]), and writes a record of its endpoints
//! there (`auto/NAME.json`), with the network endpoints it also listens on. A client of
//! `auto://NAME` tries, in order: the server in its own process, then the record's endpoints,
//! shared memory first, then the unix socket, then gRPC, Connect and WebSocket; the first that
//! connects is used ([`AutoClient`]). Every reconnect resolves the name again.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::{local_dir, ClientTlsConfig, Endpoint};
use crate::error::{Code, Error, Result};

/// A transport `auto://` can pick, in the order it tries them by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    /// `inproc://NAME`: the server is in the caller's process.
    Inproc,
    /// `shm://NAME`.
    Shm,
    /// `unix://` in the user's directory.
    Unix,
    /// `grpc://`.
    Grpc,
    /// `grpcs://`.
    Grpcs,
    /// `http://` (Connect).
    Http,
    /// `https://` (Connect over TLS).
    Https,
    /// `ws://`.
    Ws,
    /// `wss://`.
    Wss,
}

impl Via {
    /// Every transport, in the default order.
    pub const ALL: [Via; 9] = [
        Via::Inproc,
        Via::Shm,
        Via::Unix,
        Via::Grpc,
        Via::Grpcs,
        Via::Http,
        Via::Https,
        Via::Ws,
        Via::Wss,
    ];

    /// The URI scheme.
    pub fn scheme(self) -> &'static str {
        match self {
            Via::Inproc => "inproc",
            Via::Shm => "shm",
            Via::Unix => "unix",
            Via::Grpc => "grpc",
            Via::Grpcs => "grpcs",
            Via::Http => "http",
            Via::Https => "https",
            Via::Ws => "ws",
            Via::Wss => "wss",
        }
    }

    fn parse(scheme: &str) -> Option<Via> {
        Via::ALL.into_iter().find(|v| v.scheme() == scheme)
    }

    /// The transport of `endpoint`, if `auto://` may pick it.
    pub(super) fn of(endpoint: &Endpoint) -> Option<Via> {
        Some(match endpoint {
            Endpoint::Inproc(_) => Via::Inproc,
            Endpoint::Shm(_) => Via::Shm,
            Endpoint::Unix(_) => Via::Unix,
            Endpoint::Grpc(_) => Via::Grpc,
            Endpoint::Grpcs(_) => Via::Grpcs,
            Endpoint::Http(_) => Via::Http,
            Endpoint::Https(_) => Via::Https,
            Endpoint::Ws(_) => Via::Ws,
            Endpoint::Wss(_) => Via::Wss,
            _ => return None,
        })
    }

    /// Whether the server of `auto://` listens on it itself (the others come from its other
    /// listeners).
    pub(super) fn local(self) -> bool {
        matches!(self, Via::Inproc | Via::Shm | Via::Unix)
    }
}

/// `auto://NAME`, or `auto://NAME?transports=unix,grpc` to allow only those, in that order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoTarget {
    /// The service's name: letters, digits, '.', '_', '-'.
    pub name: String,
    /// The transports allowed, in the order tried.
    pub order: Vec<Via>,
    /// TLS settings for a `grpcs://`, `https://` or `wss://` endpoint found in the record.
    pub tls: ClientTlsConfig,
}

impl AutoTarget {
    /// Parses what follows `auto:` (`//NAME` and an optional `?transports=…`).
    pub(crate) fn parse(rest: &str) -> std::result::Result<AutoTarget, String> {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (name, query) = match rest.split_once('?') {
            Some((n, q)) => (n, Some(q)),
            None => (rest, None),
        };
        if !local_dir::valid_name(name) {
            return Err("auto needs a name of letters, digits, '.', '_', '-' (auto://name)".into());
        }
        let mut order = Via::ALL.to_vec();
        if let Some(query) = query {
            let list = query
                .strip_prefix("transports=")
                .filter(|l| !l.is_empty() && !l.contains('&'))
                .ok_or(
                    "auto:// takes one query, transports=LIST (for instance ?transports=shm,unix)",
                )?;
            order.clear();
            for scheme in list.split(',') {
                let via = Via::parse(scheme).ok_or_else(|| {
                    format!("unknown transport {scheme:?} in transports= (one of inproc, shm, unix, grpc, grpcs, http, https, ws, wss)")
                })?;
                if order.contains(&via) {
                    return Err(format!("transport {scheme} is listed twice"));
                }
                order.push(via);
            }
        }
        Ok(AutoTarget {
            name: name.to_string(),
            order,
            tls: ClientTlsConfig::default(),
        })
    }
}

impl std::fmt::Display for AutoTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "auto://{}", self.name)?;
        if self.order != Via::ALL {
            let list: Vec<&str> = self.order.iter().map(|v| v.scheme()).collect();
            write!(f, "?transports={}", list.join(","))?;
        }
        Ok(())
    }
}

/// The directory of `auto://` sockets and records: `auto` in [`local_dir::base`].
pub(super) fn dir() -> PathBuf {
    local_dir::base().join("auto")
}

/// The unix socket a server of `auto://NAME` listens on.
pub(super) fn socket_path(name: &str) -> PathBuf {
    dir().join(format!("{name}.sock"))
}

pub(super) fn record_path(name: &str) -> PathBuf {
    dir().join(format!("{name}.json"))
}

/// What a server of `auto://NAME` writes about itself: its endpoints (not `inproc://`, which
/// only its own process can reach) in the order a client tries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Record {
    pub(super) name: String,
    pub(super) pid: u32,
    /// Which listener wrote it: a new server on the name (a restart in place) writes its own,
    /// and the old one removes the record only while it is still its own.
    pub(super) listener: String,
    pub(super) endpoints: Vec<String>,
}

impl Record {
    pub(super) fn new(name: &str, endpoints: Vec<String>) -> Record {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let pid = std::process::id();
        Record {
            name: name.to_string(),
            pid,
            listener: format!("{pid}-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
            endpoints,
        }
    }

    /// Writes the record in place of any other (a new file renamed over the old one, mode
    /// 0600, so a reader never sees half of it).
    pub(super) fn write(&self) -> Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = record_path(&self.name);
        let tmp = dir().join(format!(".{}.{}.tmp", self.name, self.listener));
        let failed = |e: std::io::Error| {
            Error::new(
                Code::FailedPrecondition,
                format!("cannot write the service record {}: {e}", path.display()),
            )
        };
        let text = serde_json::to_vec_pretty(self).map_err(|e| Error::internal(e.to_string()))?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(failed)?;
        file.write_all(&text).map_err(failed)?;
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            failed(e)
        })
    }

    /// The record of `name`: `Ok(None)` when there is none.
    pub(super) fn read(name: &str) -> Result<Option<Record>> {
        if !local_dir::trusted(&dir())? {
            return Ok(None);
        }
        let path = record_path(name);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::unavailable(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        let record: Record = serde_json::from_slice(&text).map_err(|e| {
            Error::unavailable(format!(
                "the service record {} is not valid: {e}",
                path.display()
            ))
            .with_reason("BAD_SERVICE_RECORD")
        })?;
        if record.name != name {
            return Err(Error::unavailable(format!(
                "the service record {} names {:?}",
                path.display(),
                record.name
            ))
            .with_reason("BAD_SERVICE_RECORD"));
        }
        Ok(Some(record))
    }

    /// Removes the record of `name` if `listener` wrote it.
    pub(super) fn remove(name: &str, listener: &str) {
        if let Ok(Some(r)) = Record::read(name) {
            if r.listener == listener {
                let _ = std::fs::remove_file(record_path(name));
            }
        }
    }
}

/// A network endpoint as a client on this machine reaches it: a wildcard host (`0.0.0.0`,
/// `[::]`) becomes the loopback address.
pub(super) fn reachable(uri: &str) -> String {
    uri.replacen("://0.0.0.0:", "://127.0.0.1:", 1)
        .replacen("://[::]:", "://[::1]:", 1)
}
