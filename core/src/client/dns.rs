//! `dns:///HOST:PORT` (gRPC's name syntax; also `dns:HOST:PORT`): a service behind a DNS name
//! with several addresses. At connect the name is resolved and each address becomes a gRPC
//! endpoint (`grpc://ADDRESS:PORT`) of the client's pool, balanced and ejected as any list of
//! endpoints is (`docs/resilience.md`). [`Names`] resolves them again when a call finds no
//! endpoint up (at most once every [`AGAIN`]), so a service that moved is found.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::error::{Code, Error, Result};
use crate::security::ClientTlsConfig;
use crate::transport::Endpoint;

/// How long a resolution may take.
const RESOLVE: Duration = Duration::from_secs(10);

/// The least time between two resolutions of a client's names.
pub(crate) const AGAIN: Duration = Duration::from_secs(1);

/// The endpoints `uris` stand for, each `dns:` URI expanded to its addresses, with `tls`.
pub(super) async fn endpoints(
    uris: &[String],
    tls: Option<&ClientTlsConfig>,
) -> Result<Vec<Endpoint>> {
    let mut endpoints = Vec::with_capacity(uris.len());
    for uri in uris {
        let expanded = expand(uri).await?;
        for uri in &expanded.unwrap_or_else(|| vec![uri.clone()]) {
            let mut endpoint: Endpoint = uri.parse()?;
            if let Some(tls) = tls {
                endpoint = endpoint.with_client_tls(tls);
            }
            endpoints.push(endpoint);
        }
    }
    Ok(endpoints)
}

/// The URIs a client was given, when one of them is a DNS name: what resolving again needs.
pub(crate) struct Names {
    uris: Vec<String>,
    tls: Option<ClientTlsConfig>,
    last: tokio::sync::Mutex<Instant>,
}

impl Names {
    /// `Some` when one of `uris` is a `dns:` name (resolved just now).
    pub(super) fn new(uris: Vec<String>, tls: Option<ClientTlsConfig>) -> Option<Names> {
        uris.iter().any(|u| u.starts_with("dns:")).then(|| Names {
            uris,
            tls,
            last: tokio::sync::Mutex::new(Instant::now()),
        })
    }

    /// The endpoints resolved again, unless the last resolution is less than [`AGAIN`] old or
    /// another caller is resolving now (`None`); a failed resolution is logged and `None`.
    pub(crate) async fn again(&self) -> Option<Vec<Endpoint>> {
        let mut last = self.last.try_lock().ok()?;
        if last.elapsed() < AGAIN {
            return None;
        }
        // Counted from the start, so a resolution given up (the call's deadline) still counts.
        *last = Instant::now();
        endpoints(&self.uris, self.tls.as_ref())
            .await
            .map_err(|e| tracing::debug!(error = %e, "resolving again failed"))
            .ok()
    }
}

/// The addresses of `target` (`HOST:PORT`).
async fn lookup(target: &str) -> std::io::Result<Vec<SocketAddr>> {
    #[cfg(test)]
    if let Some(found) = fake::get(target) {
        return Ok(found);
    }
    Ok(tokio::net::lookup_host(target).await?.collect())
}

/// The tests' resolver: names set here resolve to what was set, whatever DNS says.
#[cfg(test)]
pub(crate) mod fake {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::sync::{Mutex, PoisonError};

    static NAMES: Mutex<Option<HashMap<String, Vec<SocketAddr>>>> = Mutex::new(None);

    pub(crate) fn set(target: &str, addrs: Vec<SocketAddr>) {
        let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
        names
            .get_or_insert_with(HashMap::new)
            .insert(target.to_string(), addrs);
    }

    pub(super) fn get(target: &str) -> Option<Vec<SocketAddr>> {
        NAMES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()?
            .get(target)
            .cloned()
    }
}

/// The endpoints `uri` stands for: its addresses when it is a `dns:` URI, else `None`.
pub(super) async fn expand(uri: &str) -> Result<Option<Vec<String>>> {
    let Some(rest) = uri.strip_prefix("dns:") else {
        return Ok(None);
    };
    let target = name(rest).map_err(|why| {
        Error::new(
            Code::InvalidArgument,
            format!("invalid endpoint {uri:?}: {why}"),
        )
        .with_reason("BAD_ENDPOINT")
    })?;
    let failed = |why: String| {
        Error::unavailable(format!("cannot resolve {uri}: {why}"))
            .with_reason("DNS_FAILED")
            .unsent()
    };
    let found = tokio::time::timeout(RESOLVE, lookup(target))
        .await
        .map_err(|_| failed(format!("no answer within {RESOLVE:?}")))?
        .map_err(|e| failed(e.to_string()))?;
    let mut endpoints: Vec<String> = Vec::new();
    for addr in found {
        let endpoint = format!("grpc://{addr}");
        if !endpoints.contains(&endpoint) {
            endpoints.push(endpoint);
        }
    }
    if endpoints.is_empty() {
        return Err(failed("no address".into()));
    }
    Ok(Some(endpoints))
}

/// `HOST:PORT` from what follows `dns:` (`///HOST:PORT`, `//AUTHORITY/HOST:PORT` with the DNS
/// server left to the system, or `HOST:PORT`).
fn name(rest: &str) -> std::result::Result<&str, &'static str> {
    let target = match rest.strip_prefix("//") {
        Some(after) => after
            .split_once('/')
            .map(|(_, t)| t)
            .ok_or("expected dns:///host:port")?,
        None => rest,
    };
    let (host, port) = target
        .rsplit_once(':')
        .ok_or("dns needs host:port: dns:///svc.example:50051")?;
    if host.is_empty() || host.contains('/') || port.parse::<u16>().is_err() {
        return Err("dns needs host:port: dns:///svc.example:50051");
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_grpc_syntax() {
        assert_eq!(name("///svc.local:50051"), Ok("svc.local:50051"));
        assert_eq!(name("//8.8.8.8/svc.local:50051"), Ok("svc.local:50051"));
        assert_eq!(name("svc.local:50051"), Ok("svc.local:50051"));
        for bad in [
            "///svc.local",
            "//x",
            "///:50051",
            "///svc:port",
            "///a/b:1",
        ] {
            assert!(name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn localhost_expands_to_its_addresses_and_bad_names_are_typed() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let found = rt
            .block_on(expand("dns:///localhost:50051"))
            .unwrap()
            .unwrap();
        assert!(
            found.contains(&"grpc://127.0.0.1:50051".to_string()),
            "{found:?}"
        );
        assert_eq!(rt.block_on(expand("unix:///x.sock")).unwrap(), None);
        let err = rt.block_on(expand("dns:///localhost")).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let err = rt
            .block_on(expand("dns:///no-such-host.invalid:1"))
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{err}");
    }
}

/// A client of a name whose address changes while the client lives.
#[cfg(test)]
mod again {
    use std::net::SocketAddr;
    use std::time::Duration;

    use crate::runtime::block_on;
    use crate::{connect_all, CallOptions, ConnectOptions, Resilience, Schema, Server, Value};

    const PROTO: &str = r#"syntax = "proto3"; package again.v1;
        message Who { string name = 1; }
        service Where { rpc Am(Who) returns (Who); }"#;

    fn server(schema: &Schema, name: &'static str) -> (Server, SocketAddr) {
        let server = Server::new(schema.clone());
        server
            .unary("again.v1.Where/Am", move |_, _| async move {
                Ok(Value::message([("name", Value::from(name))]))
            })
            .unwrap();
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        server.listen(&format!("grpc://{addr}")).unwrap();
        (server, addr)
    }

    fn name(client: &crate::Client, options: &CallOptions) -> String {
        let who = client
            .call_blocking(
                "again.v1.Where/Am",
                &Value::message([("name", Value::from("?"))]),
                options,
            )
            .unwrap();
        who.get("name").and_then(Value::as_str).unwrap().to_string()
    }

    #[test]
    fn a_name_is_resolved_again_when_no_endpoint_is_up() {
        let schema = Schema::from_source("again.proto", PROTO).unwrap();
        let (first, a) = server(&schema, "first");
        super::fake::set("moving.test:1", vec![a]);
        let options = ConnectOptions {
            schema: Some(schema.clone()),
            resilience: Resilience::from_json(
                r#"{"backoff": {"initial": "0.02s", "max": "0.05s"}}"#,
            )
            .unwrap(),
            ..ConnectOptions::default()
        };
        let client = block_on(connect_all(&["dns:///moving.test:1"], options))
            .unwrap()
            .unwrap();
        let wait = CallOptions {
            wait_for_ready: Some(true),
            ..CallOptions::with_timeout(Duration::from_secs(10))
        };
        assert_eq!(name(&client, &wait), "first");
        // The service moves: the old address stops answering, the name points elsewhere.
        first.shutdown_blocking(Duration::ZERO).unwrap();
        let (_second, b) = server(&schema, "second");
        super::fake::set("moving.test:1", vec![b]);
        assert_eq!(name(&client, &wait), "second");
        let shown: Vec<String> = client.endpoints().into_iter().map(|e| e.endpoint).collect();
        assert_eq!(shown, vec![format!("grpc://{b}")]);
        // While an endpoint is up the name is not resolved again: calls stay where they are.
        super::fake::set("moving.test:1", vec![a]);
        std::thread::sleep(super::AGAIN);
        assert_eq!(name(&client, &wait), "second");
        assert_eq!(client.endpoints()[0].endpoint, format!("grpc://{b}"));
    }
}
