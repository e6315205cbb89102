//! The bus over NATS: an event on topic `T` is a NATS message on `PREFIX.T` with the
//! `hms-type` (the message's full name) and `content-type` headers; a subscription is a NATS
//! subscription (a queue subscription for a queue group) whose messages a task moves into the
//! subscription's bounded queue. With JetStream, publishing goes through the stream instead
//! (`jetstream.rs`).

use std::sync::Arc;

use super::jetstream::Js;
use super::local::Inbox;
use super::RawEvent;
use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::runtime::AbortOnDrop;
use crate::transport::{connect_nats, round_trip, NatsTarget};
use bytes::Bytes;
use futures_util::StreamExt;

/// The header naming an event's message type.
pub(crate) const TYPE_HEADER: &str = "hms-type";

pub(crate) struct Remote {
    client: async_nats::Client,
    pub(crate) target: NatsTarget,
    /// JetStream, on a bus connected with `?jetstream=STREAM`.
    pub(crate) js: Option<Js>,
}

/// An event as a NATS message on `PREFIX.TOPIC` carries it (`skip`: the prefix and its dot).
pub(crate) fn raw_event(m: &async_nats::Message, skip: usize) -> RawEvent {
    let header = |k: &str| {
        m.headers
            .as_ref()
            .and_then(|h| h.get(k))
            .map(|v| v.as_str().to_string())
    };
    let codec = match header("content-type").as_deref() {
        Some("application/json") => Codec::Json,
        _ => Codec::Proto,
    };
    RawEvent {
        topic: Arc::from(m.subject.as_str().get(skip..).unwrap_or_default()),
        message_type: header(TYPE_HEADER).map(Arc::from),
        codec,
        payload: m.payload.clone(),
    }
}

impl Remote {
    /// Connects to the nats-server; with `jetstream`, opens (or creates) that stream.
    pub(crate) async fn connect(target: &NatsTarget, jetstream: Option<&str>) -> Result<Remote> {
        let client = connect_nats(target, "hms-ffi bus").await?;
        let js = match jetstream {
            Some(name) => Some(Js::open(client.clone(), name, &target.prefix).await?),
            None => None,
        };
        Ok(Remote {
            client,
            target: target.clone(),
            js,
        })
    }

    pub(crate) async fn publish(
        &self,
        topic: &str,
        message_type: &str,
        payload: Bytes,
    ) -> Result<()> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(TYPE_HEADER, message_type);
        headers.insert("content-type", "application/proto");
        let subject = format!("{}.{topic}", self.target.prefix);
        if let Some(js) = &self.js {
            return js.publish(subject, headers, payload).await.map(drop);
        }
        self.client
            .publish_with_headers(subject, headers, payload)
            .await
            .map_err(|e| Error::unavailable(format!("NATS publish on {topic}: {e}")))
    }

    /// Subscribes `pattern` (in `queue` when given) and moves its messages into `inbox` until
    /// the returned task is dropped; full queue: the event is dropped and counted.
    pub(crate) async fn subscribe(
        &self,
        pattern: &str,
        queue: Option<&str>,
        inbox: Inbox,
    ) -> Result<AbortOnDrop<()>> {
        let subject = format!("{}.{pattern}", self.target.prefix);
        let failed = |e: &dyn std::fmt::Display| {
            Error::unavailable(format!("NATS subscribe on {pattern}: {e}"))
        };
        let mut sub = match queue {
            Some(q) => self.client.queue_subscribe(subject, q.to_string()).await,
            None => self.client.subscribe(subject).await,
        }
        .map_err(|e| failed(&e))?;
        // Registered with the nats-server before this returns: a publish that follows is seen.
        round_trip(&self.client).await?;
        let skip = self.target.prefix.len() + 1;
        let task = tokio::spawn(async move {
            while let Some(m) = sub.next().await {
                inbox.offer(raw_event(&m, skip));
            }
        });
        Ok(AbortOnDrop(task))
    }
}
