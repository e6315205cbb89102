//! `dns:///HOST:PORT` (gRPC's name syntax; also `dns:HOST:PORT`): a service behind a DNS name
//! with several addresses. At connect the name is resolved and each address becomes a gRPC
//! endpoint (`grpc://ADDRESS:PORT`) of the client's pool, balanced and ejected as any list of
//! endpoints is (`docs/resilience.md`). The name is resolved once per connect.

use std::time::Duration;

use crate::error::{Code, Error, Result};

/// How long a resolution may take.
const RESOLVE: Duration = Duration::from_secs(10);

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
    let found = tokio::time::timeout(RESOLVE, tokio::net::lookup_host(target))
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
