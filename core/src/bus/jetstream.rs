//! Durable events with NATS JetStream: a bus connected with `?jetstream=STREAM` stores every
//! event it publishes in the JetStream stream `STREAM` (created when absent, capturing
//! `PREFIX.>` on the server's disk) and returns once the server has stored it; a durable
//! subscription reads through a named pull consumer on that stream, which the server keeps
//! across restarts of the subscriber and of the server itself. Delivery is at least once: an
//! event not acknowledged within `ack_wait` (or refused with `nak`) comes again, up to
//! `max_deliver` times.
//!
//! Each event is checked as on any subscription. One that fails the check (undeclared topic,
//! wrong message type, bytes that do not decode) would fail on every delivery, so it is
//! terminated (never redelivered) and returned as that event's error; the subscription goes on.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_nats::jetstream::{self, consumer, AckKind};
use futures_util::StreamExt;

use super::{remote, Bus, Event, RawEvent};
use crate::error::{Code, Error, Result};
use crate::mapping::{Converters, DecodeOptions, Output};
use crate::NativeResult;

/// Where a durable consumer starts when it is created (an existing one resumes where it was).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deliver {
    /// Every event the stream still holds.
    #[default]
    All,
    /// Only events published after the consumer is created.
    New,
    /// The last event the stream holds, then the new ones.
    Last,
    /// From this stream sequence on (replay).
    FromSequence(u64),
    /// From the first event stored at or after this time (replay).
    FromTime(SystemTime),
}

impl std::str::FromStr for Deliver {
    type Err = Error;

    /// `"all"`, `"new"` or `"last"`, as bindings take a start by name; anything else is
    /// `InvalidArgument`.
    fn from_str(name: &str) -> Result<Deliver> {
        match name {
            "all" => Ok(Deliver::All),
            "new" => Ok(Deliver::New),
            "last" => Ok(Deliver::Last),
            other => Err(Error::new(
                Code::InvalidArgument,
                format!(
                    "deliver is \"all\", \"new\", \"last\", a sequence or a time, not {other:?}"
                ),
            )),
        }
    }
}

/// How a durable subscription reads its stream.
#[derive(Debug, Clone)]
pub struct DurableOptions {
    /// Where a new consumer starts.
    pub deliver: Deliver,
    /// How long an event may stay unacknowledged before it is delivered again.
    pub ack_wait: Duration,
    /// Most deliveries of one event (`None`: no limit).
    pub max_deliver: Option<u32>,
    /// Most events fetched ahead of `next` at a time.
    pub batch: usize,
}

impl Default for DurableOptions {
    fn default() -> DurableOptions {
        DurableOptions {
            deliver: Deliver::All,
            ack_wait: Duration::from_secs(30),
            max_deliver: None,
            batch: 64,
        }
    }
}

/// The JetStream side of a bus over NATS.
pub(crate) struct Js {
    context: jetstream::Context,
    stream: String,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::unavailable(format!("JetStream {what}: {e}"))
}

impl Js {
    /// Opens (or creates, capturing `PREFIX.>` in file storage) the stream `name`.
    pub(crate) async fn open(client: async_nats::Client, name: &str, prefix: &str) -> Result<Js> {
        if name.is_empty() || name.contains(['.', '*', '>', ' ', '/', '\\']) {
            return Err(Error::new(
                Code::InvalidArgument,
                format!("JetStream stream name {name:?}: no '.', '*', '>', '/', '\\' or space"),
            )
            .with_reason("BAD_ENDPOINT"));
        }
        let context = jetstream::new(client);
        let config = jetstream::stream::Config {
            name: name.to_string(),
            subjects: vec![format!("{prefix}.>")],
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        };
        context
            .get_or_create_stream(config)
            .await
            .map_err(|e| unavailable(&format!("stream {name}"), e))?;
        Ok(Js {
            context,
            stream: name.to_string(),
        })
    }

    /// Publishes and waits until the stream has stored the event; its stream sequence.
    pub(crate) async fn publish(
        &self,
        subject: String,
        headers: async_nats::HeaderMap,
        payload: bytes::Bytes,
    ) -> Result<u64> {
        let ack = self
            .context
            .publish_with_headers(subject, headers, payload)
            .await
            .map_err(|e| unavailable("publish", e))?;
        let ack = ack.await.map_err(|e| unavailable("publish", e))?;
        Ok(ack.sequence)
    }
}

fn deliver_policy(d: Deliver) -> consumer::DeliverPolicy {
    use consumer::DeliverPolicy as P;
    match d {
        Deliver::All => P::All,
        Deliver::New => P::New,
        Deliver::Last => P::Last,
        Deliver::FromSequence(start_sequence) => P::ByStartSequence { start_sequence },
        Deliver::FromTime(t) => P::ByStartTime {
            start_time: time::OffsetDateTime::from(t),
        },
    }
}

impl Bus {
    /// Subscribes to `pattern` through the durable consumer `name` of the bus's JetStream
    /// stream: created on first use (starting at `options.deliver`), resumed afterwards, by this
    /// process or another. Subscriptions with the same name share its events (each to one), as
    /// a queue group does. With `name` `None` the consumer is ephemeral (a replay that no one
    /// resumes). `FailedPrecondition` on a bus without JetStream.
    pub async fn subscribe_durable(
        &self,
        pattern: &str,
        name: Option<&str>,
        options: &DurableOptions,
    ) -> Result<DurableSubscription> {
        crate::topic::check_pattern(pattern)?;
        let Some((js, prefix)) = self.jetstream() else {
            return Err(Error::new(
                Code::FailedPrecondition,
                "durable subscriptions need a bus connected with ?jetstream=STREAM",
            )
            .with_reason("NO_JETSTREAM"));
        };
        let config = consumer::pull::Config {
            durable_name: name.map(str::to_string),
            filter_subject: format!("{prefix}.{pattern}"),
            deliver_policy: deliver_policy(options.deliver),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: options.ack_wait,
            max_deliver: options.max_deliver.map_or(-1, i64::from),
            ..Default::default()
        };
        let stream = js
            .context
            .get_stream(&js.stream)
            .await
            .map_err(|e| unavailable(&format!("stream {}", js.stream), e))?;
        let consumer = match name {
            Some(n) => stream.get_or_create_consumer(n, config).await,
            None => stream.create_consumer(config).await,
        }
        .map_err(|e| unavailable("consumer", e))?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(options.batch.max(1))
            .messages()
            .await
            .map_err(|e| unavailable("consumer", e))?;
        Ok(DurableSubscription {
            bus: self.clone(),
            messages: Some(messages),
            skip: prefix.len() + 1,
        })
    }
}

/// A durable subscription: each [`Delivery`] is to be acknowledged.
pub struct DurableSubscription {
    bus: Bus,
    /// `None` only while it is dropped.
    messages: Option<consumer::pull::Stream>,
    skip: usize,
}

impl Drop for DurableSubscription {
    /// The NATS subscription unsubscribes from a task of the runtime: dropped on a thread of
    /// the caller's (a binding's), it needs the runtime entered.
    fn drop(&mut self) {
        let _runtime = crate::runtime::handle().enter();
        drop(self.messages.take());
    }
}

impl std::fmt::Debug for DurableSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableSubscription").finish()
    }
}

impl DurableSubscription {
    /// The next delivery; `None` once the connection is gone for good. An event that fails its
    /// check is terminated and is its own `Err` (the subscription goes on).
    pub async fn next(&mut self) -> Option<Result<Delivery>> {
        let message = match self.messages.as_mut()?.next().await? {
            Ok(m) => m,
            Err(e) => return Some(Err(unavailable("delivery", e))),
        };
        let raw = remote::raw_event(&message.message, self.skip);
        let (sequence, delivered) = match message.info() {
            Ok(i) => (i.stream_sequence, u32::try_from(i.delivered).unwrap_or(0)),
            Err(_) => (0, 0),
        };
        match self.bus.decode_event(raw.clone()) {
            Ok(event) => Some(Ok(Delivery {
                event,
                sequence,
                delivered,
                message: Arc::new(message),
                bus: self.bus.clone(),
                raw,
            })),
            Err(e) => {
                let _ = message.ack_with(AckKind::Term).await;
                Some(Err(e))
            }
        }
    }

    /// [`next`](DurableSubscription::next) from synchronous code, waiting at most `timeout`.
    pub fn next_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<Delivery>> {
        let wait = async {
            match timeout {
                Some(t) => tokio::time::timeout(t, self.next()).await.ok().flatten(),
                None => self.next().await,
            }
        };
        crate::runtime::block_on(wait)?.transpose()
    }
}

/// How a [`Delivery`] is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Done: not delivered again.
    Ack,
    /// Not done: delivered again, after the delay when given.
    Nak(Option<Duration>),
    /// Never delivered again, though it was not handled.
    Term,
    /// Still working on it: its `ack_wait` starts again.
    InProgress,
}

/// An event of a durable subscription, with what it takes to acknowledge it. Cheap to clone.
#[derive(Clone)]
pub struct Delivery {
    /// The event, checked against the subscriber's declared type.
    pub event: Event,
    /// Its sequence in the stream (replay from it with [`Deliver::FromSequence`]).
    pub sequence: u64,
    /// How many times it has been delivered, this time included.
    pub delivered: u32,
    message: Arc<jetstream::Message>,
    bus: Bus,
    raw: RawEvent,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("event", &self.event)
            .field("sequence", &self.sequence)
            .field("delivered", &self.delivered)
            .finish()
    }
}

impl Delivery {
    /// The message made into a binding's own objects by `out` (through `converters` when
    /// given), as [`SharedSubscription::decode_output`](super::SharedSubscription::decode_output)
    /// makes an ordinary subscription's: the event passed its checks already.
    pub fn decode_output<O: Output>(
        &self,
        options: DecodeOptions,
        converters: Option<&Converters>,
        out: &mut O,
    ) -> NativeResult<O::Node, O::Error> {
        self.bus
            .decode_event_output(&self.raw, options, converters, out)
    }

    /// Answers with `answer` and returns once the server confirmed it: an acknowledged event
    /// is not delivered again, even when the process or the server stops right after. (A
    /// binding's one door to the four answers below.)
    pub async fn answer(&self, answer: Answer) -> Result<()> {
        let kind = match answer {
            Answer::Ack => AckKind::Ack,
            Answer::Nak(delay) => AckKind::Nak(delay),
            Answer::Term => AckKind::Term,
            Answer::InProgress => AckKind::Progress,
        };
        self.message
            .double_ack_with(kind)
            .await
            .map_err(|e| unavailable("acknowledgement", e))
    }

    /// Done with it: it is not delivered again (returns once the server has recorded it).
    pub async fn ack(&self) -> Result<()> {
        self.answer(Answer::Ack).await
    }

    /// Not done: deliver it again, after `delay` when given.
    pub async fn nak(&self, delay: Option<Duration>) -> Result<()> {
        self.answer(Answer::Nak(delay)).await
    }

    /// Never deliver it again, though it was not handled.
    pub async fn term(&self) -> Result<()> {
        self.answer(Answer::Term).await
    }

    /// Still working on it: the `ack_wait` starts again.
    pub async fn in_progress(&self) -> Result<()> {
        self.answer(Answer::InProgress).await
    }
}
