//! Client side of `nats://host:port/PREFIX`: each unary call is one NATS request on the
//! method's subject, its deadline the request's timeout. No responders is `Unavailable`; a
//! lost connection is async-nats's to re-establish (calls meanwhile wait or time out).
//! Streaming calls are refused with `Unimplemented` (see `docs/messaging.md`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::RequestErrorKind;
use bytes::Bytes;

use super::nats_auth::connect_error;
use super::nats_codec::{read_reply, request_headers, NatsTarget};
use super::{ClientTransport, RawStream};
use crate::call::CallHead;
use crate::error::{Code, Error, Result};
use crate::handler::BoxFuture;
use crate::limits::Limits;
use crate::metadata::response::Reply;

/// How long connecting to a nats-server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to the nats-server of `target`, with its credentials and TLS, no default
/// request timeout (a call waits as long as its deadline says) and reconnection without end.
pub(crate) async fn connect_nats(target: &NatsTarget, name: &str) -> Result<async_nats::Client> {
    target
        .connect
        .options()
        .await?
        .name(name)
        .connection_timeout(CONNECT_TIMEOUT)
        .request_timeout(None)
        .max_reconnects(None)
        .connect(format!("nats://{}", target.authority))
        .await
        .map_err(|e| connect_error(&target.authority, &e))
}

/// Returns once the nats-server has processed everything `client` sent before (its
/// subscriptions): a message on a fresh inbox, sent after them, has come back. async-nats's
/// `flush` only writes the socket; the server may not have read it yet.
pub(crate) async fn round_trip(client: &async_nats::Client) -> Result<()> {
    use futures_util::StreamExt;
    let failed = |e: &dyn std::fmt::Display| Error::unavailable(format!("NATS round trip: {e}"));
    let inbox = client.new_inbox();
    let mut echo = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| failed(&e))?;
    client
        .publish(inbox, Bytes::new())
        .await
        .map_err(|e| failed(&e))?;
    client.flush().await.map_err(|e| failed(&e))?;
    match tokio::time::timeout(CONNECT_TIMEOUT, echo.next()).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(failed(&"the connection closed")),
        Err(_) => Err(failed(&"no answer within 5 s")),
    }
}

pub(crate) struct NatsClient {
    client: async_nats::Client,
    target: NatsTarget,
    max_message: usize,
    closed: AtomicBool,
}

impl NatsClient {
    pub(crate) async fn connect(target: &NatsTarget, limits: &Limits) -> Result<NatsClient> {
        let client = connect_nats(target, "hms-ffi client").await?;
        Ok(NatsClient {
            client,
            target: target.clone(),
            max_message: limits.max_message_bytes,
            closed: AtomicBool::new(false),
        })
    }
}

impl ClientTransport for NatsClient {
    fn unary(&self, head: CallHead, payload: Bytes) -> BoxFuture<'_, Result<Reply<Bytes>>> {
        Box::pin(async move {
            if self.closed.load(Ordering::Acquire) {
                return Err(Error::cancelled());
            }
            let max = self.client.server_info().max_payload;
            if payload.len() > max {
                return Err(Error::resource_exhausted(
                    "MESSAGE_TOO_LARGE",
                    format!(
                        "request of {} bytes is over the nats-server's max_payload ({max})",
                        payload.len()
                    ),
                ));
            }
            let subject = self.target.subject(&head.method);
            let request = async_nats::Request::new()
                .payload(payload)
                .headers(request_headers(&head))
                .timeout(head.timeout);
            let reply = self
                .client
                .send_request(subject, request)
                .await
                .map_err(|e| match e.kind() {
                    RequestErrorKind::TimedOut => Error::deadline_exceeded(),
                    RequestErrorKind::NoResponders => Error::unavailable(format!(
                        "no server answers {} on nats://{}/{}",
                        head.method, self.target.authority, self.target.prefix
                    ))
                    .with_reason("NO_RESPONDERS"),
                    RequestErrorKind::Other => {
                        Error::unavailable(format!("NATS request for {}: {e}", head.method))
                    }
                })?;
            if reply.payload.len() > self.max_message {
                return Err(Error::resource_exhausted(
                    "MESSAGE_TOO_LARGE",
                    format!(
                        "response of {} bytes over {}",
                        reply.payload.len(),
                        self.max_message
                    ),
                ));
            }
            read_reply(reply.headers.as_ref(), reply.payload)
        })
    }

    fn open(&self, head: CallHead) -> BoxFuture<'_, Result<RawStream>> {
        Box::pin(async move { Err(streams_refused(&head.method)) })
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }
}

/// The error for a streaming call over NATS, on either side.
pub(crate) fn streams_refused(method: &str) -> Error {
    Error::new(
        Code::Unimplemented,
        format!(
            "{method} is streaming: nats:// carries unary calls only; use grpc://, unix:// or ws://"
        ),
    )
    .with_reason("NATS_STREAMS_UNSUPPORTED")
}
