//! The client side of `auto://NAME` ([`super::auto`]): which endpoints to try, in which order,
//! and [`AutoClient`], the connection it made, which says which transport it picked.

use std::sync::Arc;

use bytes::Bytes;

use super::auto::{record_path, AutoTarget, Record, Via};
use super::keepalive::Keepalive;
use super::{inproc, local_dir, ClientTransport, Endpoint, RawStream};
use crate::call::{in_blocker, Blocker, CallHead, Watch};
use crate::error::{Error, Result};
use crate::handler::BoxFuture;
use crate::limits::Limits;
use crate::metadata::response::Reply;

/// A connection made through `auto://`: the transport picked, and its connection. A call
/// costs one more virtual call than on the transport itself.
pub(super) struct AutoClient {
    via: Endpoint,
    inner: Arc<dyn ClientTransport>,
}

/// Connects to the first of `target`'s endpoints that answers (see [`candidates`]).
pub(super) async fn connect(
    target: &AutoTarget,
    limits: &Limits,
    ka: Option<Keepalive>,
) -> Result<AutoClient> {
    let (found, record) = candidates(target)?;
    let mut failures = Vec::with_capacity(found.len());
    // A failure other than UNAVAILABLE (a refused handshake, a directory not ours) keeps its
    // code and details: the caller sees why, not only that nothing answered.
    let mut telling: Option<Error> = None;
    for endpoint in found {
        match Box::pin(super::connect(&endpoint, limits, ka.as_ref())).await {
            Ok(inner) => {
                tracing::info!(service = %target, via = %endpoint, "auto:// connected");
                return Ok(AutoClient {
                    via: endpoint,
                    inner,
                });
            }
            Err(e) => {
                failures.push(format!("{endpoint}: {}", e.message()));
                if telling.is_none() && e.code() != crate::error::Code::Unavailable {
                    telling = Some(e);
                }
            }
        }
    }
    let stale = record
        .filter(|r| !local_dir::running(r.pid))
        .map(|r| {
            format!(
                " (the record {} was written by pid {}, which is no longer running)",
                record_path(&target.name).display(),
                r.pid
            )
        })
        .unwrap_or_default();
    let message = format!("cannot connect to {target}: {}{stale}", failures.join("; "));
    Err(match telling {
        Some(e) => {
            let unsent = e.is_unsent();
            let kept = Error::new(e.code(), message).with_details(e.details().clone());
            if unsent {
                kept.unsent()
            } else {
                kept
            }
        }
        None => Error::unavailable(message)
            .with_reason("CONNECT_FAILED")
            .unsent(),
    })
}

/// The endpoints to try, in the target's order: `inproc://NAME` when a server of that name is
/// in this process, then the record's endpoints of the transports the target allows.
fn candidates(target: &AutoTarget) -> Result<(Vec<Endpoint>, Option<Record>)> {
    let name = &target.name;
    let mut found = Vec::new();
    if target.order.contains(&Via::Inproc) && inproc::served(name) {
        found.push(Endpoint::Inproc(name.clone()));
    }
    let record = Record::read(name)?;
    for uri in record.iter().flat_map(|r| &r.endpoints) {
        // A record is only read, never trusted to name what auto:// would not pick itself.
        let Ok(endpoint) = uri.parse::<Endpoint>() else {
            continue;
        };
        if Via::of(&endpoint).is_some_and(|v| v != Via::Inproc && target.order.contains(&v)) {
            found.push(endpoint.with_client_tls(&target.tls));
        }
    }
    let rank = |e: &Endpoint| {
        let via = Via::of(e);
        target.order.iter().position(|v| Some(*v) == via)
    };
    found.sort_by_key(rank);
    if found.is_empty() {
        let why = match &record {
            None => format!(
                "no server in this process and no service record {}",
                record_path(name).display()
            ),
            Some(_) => "its record lists none of the transports allowed".to_string(),
        };
        return Err(Error::unavailable(format!("no service {target}: {why}"))
            .with_reason("SERVICE_NOT_FOUND")
            .unsent());
    }
    Ok((found, record))
}

impl ClientTransport for AutoClient {
    fn unary(&self, head: CallHead, payload: Bytes) -> BoxFuture<'_, Result<Reply<Bytes>>> {
        self.inner.unary(head, payload)
    }

    /// The picked transport's blocking lane (`unix://`); on another, the call runs on the
    /// runtime while the caller waits in its blocker, as a blocking call to that transport
    /// named directly does.
    fn unary_blocking(
        &self,
        head: CallHead,
        payload: Bytes,
        watch: &Watch,
        blocker: &dyn Blocker,
    ) -> Result<Reply<Bytes>> {
        if self.inner.has_lane() {
            return self.inner.unary_blocking(head, payload, watch, blocker);
        }
        let call = watch.until(self.inner.unary(head, payload));
        in_blocker(blocker, || crate::runtime::block_on(call).and_then(|r| r))
    }

    fn has_lane(&self) -> bool {
        true
    }

    fn open(&self, head: CallHead) -> BoxFuture<'_, Result<RawStream>> {
        self.inner.open(head)
    }

    fn close(&self) {
        self.inner.close()
    }

    fn alive(&self) -> bool {
        self.inner.alive()
    }

    fn via(&self) -> Option<String> {
        Some(self.via.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_no_server_and_no_record_is_not_found_unsent() {
        let target = AutoTarget::parse("//no-such-service-anywhere").unwrap();
        let err = candidates(&target).unwrap_err();
        assert_eq!(err.code(), crate::error::Code::Unavailable, "{err}");
        assert!(err.is_unsent());
        assert!(err
            .message()
            .contains("no service auto://no-such-service-anywhere"));
    }
}
