//! Health checks of a client's endpoints: every `interval`, `grpc.health.v1.Health/Check`
//! (service `""`) to each endpoint; anything but `SERVING` within `timeout` counts as a failure
//! towards the endpoint's ejection ([`Pool::report`]), `SERVING` clears its count. The task
//! ends when the client is closed or dropped.

use std::sync::{Arc, Weak};
use std::time::Instant;

use bytes::Bytes;
use prost::Message;
use tokio_util::sync::CancellationToken;

use super::pool::Pool;
use super::resilience::HealthCheck;
use crate::call::{CallHead, HEALTH_METHOD};
use crate::error::{Error, Result};

/// Starts the checks of `pool`'s endpoints.
pub(crate) fn spawn(pool: &Arc<Pool>, check: HealthCheck, closed: CancellationToken) {
    let pool = Arc::downgrade(pool);
    crate::runtime::handle().spawn(async move {
        loop {
            tokio::select! {
                _ = closed.cancelled() => return,
                _ = tokio::time::sleep(check.interval) => {}
            }
            if !round(&pool, check, &closed).await {
                return;
            }
        }
    });
}

/// Checks every endpoint once; false when the pool is gone.
async fn round(pool: &Weak<Pool>, check: HealthCheck, closed: &CancellationToken) -> bool {
    let Some(pool) = pool.upgrade() else {
        return false;
    };
    for i in 0..pool.len() {
        let result = one(&pool, i, check, closed).await;
        pool.report(i, &result);
    }
    true
}

async fn one(pool: &Pool, i: usize, check: HealthCheck, closed: &CancellationToken) -> Result<()> {
    let deadline = Instant::now() + check.timeout;
    // An endpoint resolved away since the round began needs no check.
    let Some(channel) = pool.channel(i) else {
        return Ok(());
    };
    let transport = channel.ready(false, Some(deadline), closed).await?;
    let head = CallHead {
        method: HEALTH_METHOD.to_string(),
        timeout: Some(check.timeout),
        ..CallHead::default()
    };
    let request = tonic_health::pb::HealthCheckRequest::default().encode_to_vec();
    let call = transport.unary(head, Bytes::from(request));
    let reply = tokio::time::timeout(check.timeout, call)
        .await
        .unwrap_or_else(|_| Err(Error::deadline_exceeded()))?;
    let status = tonic_health::pb::HealthCheckResponse::decode(reply.message)
        .map(|r| r.status())
        .map_err(|e| Error::unavailable(format!("bad health check answer: {e}")))?;
    match status {
        tonic_health::pb::health_check_response::ServingStatus::Serving => Ok(()),
        other => {
            Err(
                Error::unavailable(format!("{} is {}", channel.endpoint(), other.as_str_name()))
                    .with_reason("NOT_SERVING"),
            )
        }
    }
}
