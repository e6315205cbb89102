//! Durable events with NATS JetStream (the core's `Bus::subscribe_durable`, `docs/messaging.md`,
//! "Durable events"): [`Bus::subscribe_durable`] on a bus connected with `?jetstream=STREAM`,
//! a [`DurableSubscription`] read with a blocking `next(timeout_ms)` or a suspending
//! `next_async` that `unsubscribe` (from any thread) ends, and each [`Delivery`] answered with
//! `ack`, `nak`, `term` or `in_progress` (blocking, or `*_async`), each returning once the
//! server confirmed it. The waiting and closing are the core's `SharedDurableSubscription`;
//! a delivery's message is typed JSON with the bus's converters' values tagged, as an event's.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::bus::Bus;
use crate::error::HmsResult;
use crate::ocore::bus::{self, Next, SharedDurableSubscription};
use crate::ocore::mapping::{notation, Converters, DecodeOptions, ValueOut};
use crate::ocore::{self, runtime};
use crate::runtime::on_runtime;

/// Where a new durable consumer starts (an existing one resumes where it was).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Deliver {
    /// Every event the stream holds.
    All,
    /// Only events published after the consumer is created.
    New,
    /// The last event the stream holds, then the new ones.
    Last,
    /// From this stream sequence on (a replay; [`Delivery::sequence`]).
    FromSequence {
        /// The first sequence delivered.
        sequence: u64,
    },
    /// From the first event stored at or after this time (a replay).
    FromTime {
        /// The earliest time of storage.
        time: SystemTime,
    },
}

impl From<Deliver> for bus::Deliver {
    fn from(d: Deliver) -> bus::Deliver {
        match d {
            Deliver::All => bus::Deliver::All,
            Deliver::New => bus::Deliver::New,
            Deliver::Last => bus::Deliver::Last,
            Deliver::FromSequence { sequence } => bus::Deliver::FromSequence(sequence),
            Deliver::FromTime { time } => bus::Deliver::FromTime(time),
        }
    }
}

#[uniffi::export]
impl Bus {
    /// Subscribes to `pattern` through the durable consumer `name` (`None`: an ephemeral one,
    /// a replay no one resumes) of the bus's JetStream stream: created on first use at
    /// `deliver` (default `All`), resumed afterwards by this process or another; subscriptions
    /// of one name share its events, each to one. `ack_wait_ms` (default 30 s): how long an
    /// event may stay unanswered before it comes again; `max_deliver` (default no limit);
    /// `batch` (default 64): events fetched ahead of `next`. `FailedPrecondition`
    /// (`NO_JETSTREAM`) on a bus connected without `?jetstream=STREAM`, `InvalidArgument` for
    /// a bad pattern.
    #[uniffi::method(default(
        name = None,
        deliver = None,
        ack_wait_ms = None,
        max_deliver = None,
        batch = None
    ))]
    pub fn subscribe_durable(
        &self,
        pattern: String,
        name: Option<String>,
        deliver: Option<Deliver>,
        ack_wait_ms: Option<u64>,
        max_deliver: Option<u32>,
        batch: Option<u32>,
    ) -> HmsResult<Arc<DurableSubscription>> {
        let defaults = bus::DurableOptions::default();
        let options = bus::DurableOptions {
            deliver: deliver.map_or(defaults.deliver, Into::into),
            ack_wait: ack_wait_ms.map_or(defaults.ack_wait, Duration::from_millis),
            max_deliver,
            batch: batch.map_or(defaults.batch, |b| b as usize),
        };
        let subscribe = self
            .bus
            .subscribe_durable(&pattern, name.as_deref(), &options);
        let sub = runtime::block_on(subscribe)??;
        Ok(Arc::new(DurableSubscription {
            sub: Arc::new(SharedDurableSubscription::new(sub)),
            converters: self.converters.clone(),
        }))
    }
}

/// A durable subscription: `next` waits for the next delivery; `unsubscribe` (from any
/// thread) ends a wait in progress.
#[derive(Debug, uniffi::Object)]
pub struct DurableSubscription {
    sub: Arc<SharedDurableSubscription>,
    converters: Converters,
}

/// The delivery of a wait, its message made through `conv`; `None` when it timed out or the
/// subscription is closed.
fn outcome(
    next: Next<ocore::Result<bus::Delivery>>,
    conv: &Converters,
) -> HmsResult<Option<Arc<Delivery>>> {
    let delivery = match next {
        Next::Event(d) => d?,
        Next::TimedOut | Next::Closed => return Ok(None),
    };
    let value = match delivery.decode_output(DecodeOptions::default(), Some(conv), &mut ValueOut) {
        Ok(value) => value?,
        Err(never) => match never {},
    };
    let message = notation::to_text(&value);
    Ok(Some(Arc::new(Delivery { delivery, message })))
}

#[uniffi::export]
impl DurableSubscription {
    /// Waits (blocking) at most `timeout_ms` (`None`: until a delivery comes or the
    /// subscription is closed) for the next delivery; `None` when the timeout passed or the
    /// subscription is closed. An event that fails the subscriber's check throws its error (it
    /// was terminated: never delivered again); the subscription goes on.
    #[uniffi::method(default(timeout_ms = None))]
    pub fn next(&self, timeout_ms: Option<u64>) -> HmsResult<Option<Arc<Delivery>>> {
        let timeout = timeout_ms.map(Duration::from_millis);
        outcome(self.sub.next_blocking(timeout, None)?, &self.converters)
    }

    /// [`next`](DurableSubscription::next) without a timeout and without blocking (a Kotlin
    /// `suspend fun`, a Swift `async func`): `None` once the subscription is closed.
    pub async fn next_async(&self) -> HmsResult<Option<Arc<Delivery>>> {
        let sub = self.sub.clone();
        let next = on_runtime(async move { Ok(sub.next_within(None).await) }).await?;
        outcome(next, &self.converters)
    }

    /// Whether [`unsubscribe`](DurableSubscription::unsubscribe) was called.
    pub fn is_closed(&self) -> bool {
        self.sub.is_closed()
    }

    /// Stops reading (idempotent, without waiting): a `next` in progress returns `None` at
    /// once, and so does every later one. Deliveries not answered come again after their
    /// `ack_wait`. (Not `close`: the generated object owns that name.)
    pub fn unsubscribe(&self) {
        self.sub.close();
    }
}

/// One delivery of an event, to be answered once; one left unanswered comes again after its
/// `ack_wait`. Each answer returns once the server has confirmed it.
#[derive(Debug, uniffi::Object)]
pub struct Delivery {
    delivery: bus::Delivery,
    message: String,
}

#[uniffi::export]
impl Delivery {
    /// The topic it was published on.
    pub fn topic(&self) -> String {
        self.delivery.event.topic.to_string()
    }

    /// The message as typed JSON, decoded through the subscriber's declared type of the topic
    /// (the bus's converters' values tagged, as in a `BusEvent`).
    pub fn message(&self) -> String {
        self.message.clone()
    }

    /// Its sequence in the stream (replay from it with `Deliver::FromSequence`).
    pub fn sequence(&self) -> u64 {
        self.delivery.sequence
    }

    /// How many times it has been delivered, this time included.
    pub fn delivered(&self) -> u32 {
        self.delivery.delivered
    }

    /// Done: it is not delivered again, even when the process stops right after.
    pub fn ack(&self) -> HmsResult<()> {
        self.answer(Answer::Ack)
    }

    /// Not done: delivered again, after `delay_ms` when given.
    #[uniffi::method(default(delay_ms = None))]
    pub fn nak(&self, delay_ms: Option<u64>) -> HmsResult<()> {
        self.answer(Answer::Nak(delay_ms.map(Duration::from_millis)))
    }

    /// Never delivered again, though it was not handled.
    pub fn term(&self) -> HmsResult<()> {
        self.answer(Answer::Term)
    }

    /// Still working on it: its `ack_wait` starts again.
    pub fn in_progress(&self) -> HmsResult<()> {
        self.answer(Answer::InProgress)
    }

    /// [`ack`](Delivery::ack) without blocking (suspending / `async`).
    pub async fn ack_async(&self) -> HmsResult<()> {
        on_runtime(Answer::Ack.send(self.delivery.clone())).await
    }

    /// [`nak`](Delivery::nak) without blocking (suspending / `async`).
    #[uniffi::method(default(delay_ms = None))]
    pub async fn nak_async(&self, delay_ms: Option<u64>) -> HmsResult<()> {
        let nak = Answer::Nak(delay_ms.map(Duration::from_millis));
        on_runtime(nak.send(self.delivery.clone())).await
    }

    /// [`term`](Delivery::term) without blocking (suspending / `async`).
    pub async fn term_async(&self) -> HmsResult<()> {
        on_runtime(Answer::Term.send(self.delivery.clone())).await
    }

    /// [`in_progress`](Delivery::in_progress) without blocking (suspending / `async`).
    pub async fn in_progress_async(&self) -> HmsResult<()> {
        on_runtime(Answer::InProgress.send(self.delivery.clone())).await
    }
}

impl Delivery {
    fn answer(&self, a: Answer) -> HmsResult<()> {
        Ok(runtime::block_on(a.send(self.delivery.clone()))??)
    }
}

/// One of the four answers to a delivery.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Ack,
    Nak(Option<Duration>),
    Term,
    InProgress,
}

impl Answer {
    /// Sends it and waits until the server has confirmed it.
    async fn send(self, d: bus::Delivery) -> ocore::Result<()> {
        match self {
            Answer::Ack => d.ack().await,
            Answer::Nak(delay) => d.nak(delay).await,
            Answer::Term => d.term().await,
            Answer::InProgress => d.in_progress().await,
        }
    }
}
