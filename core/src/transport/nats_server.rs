//! Server side of `nats://host:port/PREFIX`: one queue subscription (group `q`) per method
//! on `PREFIX.package.Service.Method` (the main schema's methods and, for the schema
//! revisions added before `listen`, the methods only a revision has), each request handed to
//! the dispatcher like any transport's call, the reply published to the request's reply subject; NATS micro
//! discovery beside them. Stopping drains the subscriptions (messages already delivered are
//! still served) and waits for the replies being written before the connection closes.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::nats_client::{connect_nats, round_trip, streams_refused};
use super::nats_codec::{reply, request_head, to_http, NatsTarget, QUEUE_GROUP};
use super::nats_micro::{Endpoint, Micro};
use super::{Hold, Service};
use crate::call::{DESCRIBE_METHOD, HEALTH_METHOD};
use crate::error::{Code, Error, Result};
use crate::metadata::response::ResponseMetadata;
use crate::peer::Peer;
use crate::schema::StreamingKind;

/// Connects, subscribes every method and discovery, and serves until `stop` (graceful) or the
/// dispatcher's hard stop. Returns the endpoint's URI and the serving task.
pub(crate) fn listen(
    target: &NatsTarget,
    core: Arc<dyn Service>,
    stop: CancellationToken,
) -> Result<(String, JoinHandle<()>)> {
    let uri = format!("nats://{}/{}", target.authority, target.prefix);
    let setup = subscribe_all(target.clone(), core.clone());
    // Subscriptions live on the shared runtime, whose workers keep serving whatever runtime
    // (or none) the caller is on; the caller waits for them to be registered.
    let runtime = crate::runtime::runtime().handle().clone();
    let (tx, rx) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        let _ = tx.send(setup.await);
    });
    let wait = || {
        rx.recv()
            .unwrap_or_else(|_| Err(Error::internal("NATS listener setup ended")))
    };
    let in_multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    let (client, subs, micro) = if in_multi_thread {
        tokio::task::block_in_place(wait)?
    } else {
        wait()?
    };
    let peer = Peer::new("nats", uri.clone());
    let task = runtime.spawn(async move {
        let mut loops = JoinSet::new();
        for (sub, endpoint) in subs {
            let on = On {
                core: core.clone(),
                peer: peer.clone(),
                client: client.clone(),
                micro: micro.clone(),
            };
            loops.spawn(on.serve(sub, endpoint, stop.clone()));
        }
        while loops.join_next().await.is_some() {}
        // The replies are queued on the connection: out they go before it closes.
        let _ = client.flush().await;
    });
    Ok((uri, task))
}

/// Subscriptions and what each serves: a method (its endpoint) or discovery (`None`).
type Subscriptions = Vec<(async_nats::Subscriber, Option<Arc<Endpoint>>)>;

/// Connects and subscribes: each method (with discovery and health) on its subject in the
/// queue group, and the three discovery subjects. The nats-server knows every subscription
/// when this returns (a round trip).
async fn subscribe_all(
    target: NatsTarget,
    core: Arc<dyn Service>,
) -> Result<(async_nats::Client, Subscriptions, Arc<Micro>)> {
    let client = connect_nats(&target, "hms-ffi server").await?;
    let failed = |e: &dyn std::fmt::Display| {
        Error::unavailable(format!(
            "cannot subscribe on nats://{}: {e}",
            target.authority
        ))
    };
    // The main schema's methods and those only a schema revision has: a call reaches a
    // revision's method on its subject, choosing the revision with its metadata entry.
    let methods = core.methods();
    let mut endpoints: Vec<Arc<Endpoint>> = methods
        .iter()
        .map(|(name, kind)| Endpoint::new(name, kind.name(), target.subject(name)))
        .collect();
    for extra in [DESCRIBE_METHOD, HEALTH_METHOD] {
        if !methods.iter().any(|(name, _)| name == extra) {
            endpoints.push(Endpoint::new(extra, "unary", target.subject(extra)));
        }
    }
    let mut subs = Vec::new();
    for e in &endpoints {
        let sub = client
            .queue_subscribe(e.subject.clone(), QUEUE_GROUP.to_string())
            .await
            .map_err(|e| failed(&e))?;
        subs.push((sub, Some(e.clone())));
    }
    // The instance id: the unique token of an inbox (a NUID).
    let inbox = client.new_inbox();
    let id = inbox.rsplit('.').next().unwrap_or("0").to_string();
    let micro = Arc::new(Micro::new(target.service_name(), id, endpoints));
    for subject in micro.subjects() {
        let sub = client.subscribe(subject).await.map_err(|e| failed(&e))?;
        subs.push((sub, None));
    }
    round_trip(&client).await?;
    Ok((client, subs, micro))
}

/// What serving one subscription needs.
struct On {
    core: Arc<dyn Service>,
    peer: Peer,
    client: async_nats::Client,
    micro: Arc<Micro>,
}

impl On {
    /// Serves `sub` until `stop` (then drains it: what was delivered is still served) or the
    /// hard stop, and waits for the calls it started.
    async fn serve(
        self,
        mut sub: async_nats::Subscriber,
        endpoint: Option<Arc<Endpoint>>,
        stop: CancellationToken,
    ) {
        let this = Arc::new(self);
        let mut calls = JoinSet::new();
        let mut draining = false;
        loop {
            let msg = tokio::select! {
                _ = stop.cancelled(), if !draining => {
                    draining = true;
                    let _ = sub.drain().await;
                    continue;
                }
                _ = this.core.stop().cancelled() => break,
                msg = sub.next() => msg,
            };
            let Some(msg) = msg else { break };
            while calls.try_join_next().is_some() {}
            match &endpoint {
                Some(e) => {
                    // Until the reply is written the call counts as in flight.
                    let writing = Hold::new(&this.core);
                    calls.spawn(this.clone().call(msg, e.clone(), writing));
                }
                None => this.discovery(msg).await,
            }
        }
        while calls.join_next().await.is_some() {}
    }

    /// Answers a `$SRV` request.
    async fn discovery(&self, msg: async_nats::Message) {
        if let (Some(reply), Some(body)) = (msg.reply, self.micro.answer(&msg.subject)) {
            let _ = self.client.publish(reply, Bytes::from(body)).await;
        }
    }

    /// Serves one request and publishes its reply.
    async fn call(self: Arc<Self>, msg: async_nats::Message, endpoint: Arc<Endpoint>, _w: Hold) {
        let Some(reply_to) = msg.reply.clone() else {
            // A plain publish on a method's subject has nobody to answer.
            tracing::debug!(subject = %msg.subject, "NATS message without a reply subject");
            return;
        };
        let started = Instant::now();
        let response = Arc::new(ResponseMetadata::default());
        let headers = to_http(msg.headers.as_ref());
        let (result, codec) = match request_head(&endpoint.method, &headers) {
            Err(e) => {
                // Refused before the dispatcher: the interceptors' `after` hooks (audit) see it.
                let head = crate::call::CallHead {
                    method: endpoint.method.clone(),
                    ..Default::default()
                };
                self.core.refused(&head, &self.peer, &e);
                (Err(e), crate::codec::Codec::Proto)
            }
            // Streams are refused in the schema (or revision) the call's metadata chooses.
            Ok(head)
                if self.core.kind(&head).unwrap_or(StreamingKind::Unary)
                    != StreamingKind::Unary =>
            {
                (Err(streams_refused(&head.method)), head.codec)
            }
            Ok(head) => {
                let codec = head.codec;
                let cancel = self.core.stop().child_token();
                let core = self.core.clone();
                let r = core
                    .unary(head, msg.payload, &self.peer, cancel, response.clone())
                    .await;
                (r, codec)
            }
        };
        endpoint.record(started.elapsed(), result.as_ref().err());
        let (headers, body) = reply(&result, codec, response.take_all());
        let sent = self
            .client
            .publish_with_headers(reply_to.clone(), headers, body)
            .await;
        if let Err(e) = sent {
            // Over the nats-server's max_payload: the caller gets a typed error. (Anything
            // else, a lost connection, is UNAVAILABLE, if a second reply gets through at all.)
            let e = match e.kind() {
                async_nats::client::PublishErrorKind::MaxPayloadExceeded => {
                    Error::new(Code::ResourceExhausted, format!("reply not sent: {e}"))
                        .with_reason("MESSAGE_TOO_LARGE")
                }
                _ => Error::unavailable(format!("reply not sent: {e}")),
            };
            let (headers, body) = reply(&Err(e), codec, Default::default());
            let _ = self
                .client
                .publish_with_headers(reply_to, headers, body)
                .await;
        }
    }
}
