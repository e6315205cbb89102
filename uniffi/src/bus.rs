//! Publish/subscribe with typed topics (the core's `bus`, `docs/messaging.md`): [`Bus`]
//! (in-process, or over NATS) and [`BusSubscription`] with a blocking `next(timeout_ms)`, a
//! suspending `next_async`, and an `unsubscribe` from any thread that ends a wait in progress. Messages
//! cross as typed JSON text, as calls' requests and replies do (or protobuf bytes naming their
//! type, `publish_raw`). Every rule — topic checks, typed decoding, `WRONG_MESSAGE_TYPE`, queue
//! groups, drop counting — is the core's.

use std::sync::Arc;
use std::time::Duration;

use crate::converters::{registry, ConverterTarget};
use crate::error::HmsResult;
use crate::ocore::bus::{self, Next, SharedSubscription};
use crate::ocore::mapping::{notation, Converters, ValueOut};
use crate::ocore::{self, runtime};
use crate::runtime::on_runtime;
use crate::schema::Schema;

/// One event: its topic and its message as typed JSON.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BusEvent {
    /// The topic it was published on.
    pub topic: String,
    /// The message as typed JSON, decoded through the subscriber's declared type of the topic.
    pub message: String,
}

/// A bus: in-process ([`Bus::new`]) or over NATS ([`Bus::connect`]). Safe to use from any
/// thread.
#[derive(Debug, uniffi::Object)]
pub struct Bus {
    pub(crate) bus: bus::Bus,
    pub(crate) converters: Converters,
}

#[uniffi::export]
impl Bus {
    /// An in-process bus over `schema`'s message types. `converters`: the targets of the
    /// caller's converters, as for `Client::connect_all` (docs/converters.md).
    #[uniffi::constructor(default(converters = []))]
    pub fn new(schema: Arc<Schema>, converters: Vec<ConverterTarget>) -> Arc<Bus> {
        let bus = bus::Bus::new(schema.0.clone());
        Arc::new(Bus {
            bus,
            converters: registry(converters),
        })
    }

    /// A bus over NATS: `nats://host:port/PREFIX` (blocking until connected; `Unavailable`
    /// when no nats-server answers).
    #[uniffi::constructor(default(converters = []))]
    pub fn connect(
        uri: String,
        schema: Arc<Schema>,
        converters: Vec<ConverterTarget>,
    ) -> HmsResult<Arc<Bus>> {
        let bus = runtime::block_on(bus::Bus::connect(&uri, schema.0.clone()))??;
        Ok(Arc::new(Bus {
            bus,
            converters: registry(converters),
        }))
    }

    /// Declares that events on topics matching `pattern` (`*` one token, a final `>` the rest)
    /// are `message_type` messages (a full name from the schema).
    pub fn declare(&self, pattern: String, message_type: String) -> HmsResult<()> {
        Ok(self.bus.declare(&pattern, &message_type)?)
    }

    /// Publishes `message` (typed JSON) on `topic`, checked against the topic's declared type:
    /// a bad topic is `InvalidArgument` (`BAD_TOPIC`), an undeclared one `NotFound`
    /// (`UNDECLARED_TOPIC`), a wrong field `InvalidArgument` with its path.
    pub fn publish(&self, topic: String, message: String) -> HmsResult<()> {
        let value = notation::from_text(&message)?;
        let bytes = match self
            .bus
            .encode_input(&topic, &&value, Some(&self.converters))
        {
            Ok(bytes) => bytes?,
            Err(never) => match never {},
        };
        Ok(runtime::block_on(self.bus.publish_encoded(&topic, bytes))??)
    }

    /// Publishes protobuf bytes of `message_type` (a full name) on `topic`:
    /// `InvalidArgument` (`WRONG_MESSAGE_TYPE`) when the topic is declared another type.
    pub fn publish_raw(
        &self,
        topic: String,
        message_type: String,
        message: Vec<u8>,
    ) -> HmsResult<()> {
        let publish = self
            .bus
            .publish_proto(&topic, &message_type, message.into());
        Ok(runtime::block_on(publish)??)
    }

    /// Subscribes to `pattern`; with `queue`, shares the events with the queue group's other
    /// members (each event to one). It holds at most `pending` events (default 512 Ki) and
    /// drops and counts what comes while it is full.
    #[uniffi::method(default(queue = None, pending = None))]
    pub fn subscribe(
        &self,
        pattern: String,
        queue: Option<String>,
        pending: Option<u64>,
    ) -> HmsResult<Arc<BusSubscription>> {
        let pending = pending.map_or(bus::DEFAULT_PENDING, |p| {
            usize::try_from(p).unwrap_or(usize::MAX)
        });
        let subscribe = self
            .bus
            .subscribe_pending(&pattern, queue.as_deref(), pending);
        let sub = runtime::block_on(subscribe)??;
        Ok(Arc::new(BusSubscription {
            sub: Arc::new(SharedSubscription::new(sub)),
            converters: self.converters.clone(),
        }))
    }
}

/// A subscription: `next` waits for the next event; `unsubscribe` (from any thread) ends a
/// wait in progress.
#[derive(Debug, uniffi::Object)]
pub struct BusSubscription {
    sub: Arc<SharedSubscription>,
    converters: Converters,
}

/// An event as typed JSON, or the error its check gave.
fn event(
    sub: &SharedSubscription,
    raw: bus::RawEvent,
    conv: &Converters,
) -> ocore::Result<BusEvent> {
    let options = ocore::mapping::DecodeOptions::default();
    let value = match sub.decode_output(&raw, options, Some(conv), &mut ValueOut) {
        Ok(value) => value?,
        Err(never) => match never {},
    };
    Ok(BusEvent {
        topic: raw.topic.to_string(),
        message: notation::to_text(&value),
    })
}

/// The event of a wait, `None` when it timed out or the subscription is closed.
fn outcome(next: Next<ocore::Result<BusEvent>>) -> HmsResult<Option<BusEvent>> {
    match next {
        Next::Event(e) => Ok(Some(e?)),
        Next::TimedOut | Next::Closed => Ok(None),
    }
}

#[uniffi::export]
impl BusSubscription {
    /// Waits (blocking) at most `timeout_ms` (`None`: until an event comes or the subscription
    /// is closed) for the next event; `None` when the timeout passed or the subscription is
    /// closed ([`is_closed`](BusSubscription::is_closed) tells which). An event that fails the
    /// subscriber's check (another type: `InvalidArgument`, `WRONG_MESSAGE_TYPE`) throws its
    /// error; the subscription goes on.
    #[uniffi::method(default(timeout_ms = None))]
    pub fn next(&self, timeout_ms: Option<u64>) -> HmsResult<Option<BusEvent>> {
        let conv = &self.converters;
        let timeout = timeout_ms.map(Duration::from_millis);
        outcome(
            self.sub
                .next_blocking(timeout, |s, raw| event(s, raw, conv))?,
        )
    }

    /// [`next`](BusSubscription::next) without a timeout and without blocking (a Kotlin
    /// `suspend fun`, a Swift `async func`): `None` once the subscription is closed. Cancelling
    /// the coroutine or task stops the wait; no event is lost.
    pub async fn next_async(&self) -> HmsResult<Option<BusEvent>> {
        let (sub, conv) = (self.sub.clone(), self.converters.clone());
        let next =
            on_runtime(async move { Ok(sub.next_with(None, |s, raw| event(s, raw, &conv)).await) });
        outcome(next.await?)
    }

    /// Events dropped because the subscription's queue was full.
    pub fn dropped(&self) -> u64 {
        self.sub.dropped()
    }

    /// Whether [`unsubscribe`](BusSubscription::unsubscribe) was called.
    pub fn is_closed(&self) -> bool {
        self.sub.is_closed()
    }

    /// Unsubscribes (idempotent, without waiting): a `next` in progress returns `None` at once,
    /// and so does every later one. (Not `close`: the generated Kotlin object owns that name,
    /// for freeing the native object.)
    pub fn unsubscribe(&self) {
        self.sub.close();
    }
}
