//! [`DurableSubscription`] and [`DurableDelivery`]: JetStream's durable consumers for a bus
//! connected with `?jetstream=STREAM` (the core's `Bus::subscribe_durable`). Every wait (the
//! next delivery, an acknowledgement going to the server and back) runs on the core's runtime
//! and settles a Promise, so the event loop never blocks. The rules (where a consumer starts,
//! redelivery, terminating an event that fails its check, what `close` does to a waiting
//! `next`) are the core's (`SharedDurableSubscription`); the JavaScript idiom is `lib/bus.js`'s.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use hms_ffi_core::bus::{self, Answer, Deliver, DurableOptions, Next, SharedDurableSubscription};
use hms_ffi_core::mapping::Converters;
use hms_ffi_core::{Code, Error};
use napi::bindgen_prelude::{Buffer, Object};
use napi::Env;
use napi_derive::napi;

use crate::bus::promise;
use crate::error::{js, throw};
use crate::values::{to_js, FOR_JS};

/// How a durable subscription reads its stream, as `lib/bus.js` passes it: at most one of
/// `deliver` (`"all"`, `"new"`, `"last"`), `sequence` and `timeMs` (milliseconds since 1970).
#[napi(object)]
#[derive(Debug, Default)]
pub struct DurableConfig {
    /// Where a new consumer starts, by name.
    pub deliver: Option<String>,
    /// Where a new consumer starts: this stream sequence.
    pub sequence: Option<f64>,
    /// Where a new consumer starts: the first event stored at or after this time.
    pub time_ms: Option<f64>,
    /// How long an event may stay unacknowledged before it comes again (default 30 s).
    pub ack_wait_ms: Option<f64>,
    /// Most deliveries of one event (default: no limit).
    pub max_deliver: Option<u32>,
    /// Most events fetched ahead of `next` (default 64).
    pub batch: Option<u32>,
}

fn millis(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms.max(0.0) / 1000.0).unwrap_or(Duration::MAX)
}

fn bad(what: String) -> napi::Error {
    throw(Error::new(Code::InvalidArgument, what))
}

/// The core's options from `config`.
pub(crate) fn options(config: Option<DurableConfig>) -> napi::Result<DurableOptions> {
    let c = config.unwrap_or_default();
    let deliver = match (c.deliver, c.sequence, c.time_ms) {
        (Some(name), None, None) => js(name.parse::<Deliver>())?,
        (None, Some(seq), None) if seq >= 0.0 && seq.fract() == 0.0 => {
            Deliver::FromSequence(seq as u64)
        }
        (None, None, Some(ms)) if ms >= 0.0 => Deliver::FromTime(UNIX_EPOCH + millis(ms)),
        (None, None, None) => Deliver::All,
        _ => {
            return Err(bad(
                "deliver: one name, sequence (>= 0) or time after 1970".into()
            ))
        }
    };
    let defaults = DurableOptions::default();
    Ok(DurableOptions {
        deliver,
        ack_wait: c.ack_wait_ms.map_or(defaults.ack_wait, millis),
        max_deliver: c.max_deliver,
        batch: c.batch.map_or(defaults.batch, |b| b as usize),
    })
}

/// Subscribes through the core and settles the Promise with the [`DurableSubscription`].
pub(crate) fn subscribe<'env>(
    env: &'env Env,
    bus: bus::Bus,
    converters: Converters,
    pattern: String,
    name: Option<String>,
    options: DurableOptions,
) -> napi::Result<Object<'env>> {
    promise(env, async move {
        let sub = bus
            .subscribe_durable(&pattern, name.as_deref(), &options)
            .await?;
        Ok(DurableSubscription {
            inner: Arc::new(SharedDurableSubscription::new(sub)),
            converters,
        })
    })
}

/// A durable subscription: `next` settles with each delivery in turn.
#[napi]
#[derive(Debug)]
pub struct DurableSubscription {
    inner: Arc<SharedDurableSubscription>,
    converters: Converters,
}

#[napi]
impl DurableSubscription {
    /// The next delivery, or `null` once closed or when `timeoutMs` passes; rejects with the
    /// typed error of an event that failed its check (it was terminated; the subscription goes
    /// on).
    #[napi(ts_return_type = "Promise<DurableDelivery | null>")]
    pub fn next<'env>(
        &self,
        env: &'env Env,
        timeout_ms: Option<f64>,
    ) -> napi::Result<Object<'env>> {
        let sub = self.inner.clone();
        let converters = self.converters.clone();
        let timeout = timeout_ms.filter(|t| t.is_finite()).map(millis);
        promise(env, async move {
            match sub.next_within(timeout).await {
                Next::Event(Ok(d)) => to_js(|o| d.decode_output(FOR_JS, Some(&converters), o))
                    .map(|message| Some(DurableDelivery::new(d, message))),
                Next::Event(Err(e)) => Err(e),
                Next::TimedOut | Next::Closed => Ok(None),
            }
        })
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Stops reading: a `next` waiting settles with `null`, and so does every later one; what
    /// was not acknowledged comes again to the consumer's other readers.
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}

/// One delivery of an event, to be answered with `ack`, `nak`, `term` or `inProgress`.
#[napi]
pub struct DurableDelivery {
    inner: Arc<bus::Delivery>,
    message: Vec<u8>,
}

impl std::fmt::Debug for DurableDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl DurableDelivery {
    fn new(inner: bus::Delivery, message: Buffer) -> DurableDelivery {
        DurableDelivery {
            inner: Arc::new(inner),
            message: message.to_vec(),
        }
    }

    /// Sends `answer` on the runtime; the Promise settles once the server confirmed it.
    fn answer<'env>(&self, env: &'env Env, answer: Answer) -> napi::Result<Object<'env>> {
        let d = self.inner.clone();
        promise(env, async move { d.answer(answer).await })
    }
}

#[napi]
impl DurableDelivery {
    /// The topic it was published on.
    #[napi(getter)]
    pub fn topic(&self) -> String {
        self.inner.event.topic.to_string()
    }

    /// The message, as CBOR.
    #[napi(getter)]
    pub fn message(&self) -> Buffer {
        Buffer::from(self.message.clone())
    }

    /// Its sequence in the stream (replay from it with `deliver`).
    #[napi(getter)]
    pub fn sequence(&self) -> f64 {
        self.inner.sequence as f64
    }

    /// How many times it has been delivered, this time included.
    #[napi(getter)]
    pub fn delivered(&self) -> u32 {
        self.inner.delivered
    }

    /// Done: never delivered again (settles once the server has recorded it).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn ack<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        self.answer(env, Answer::Ack)
    }

    /// Not done: delivered again, after `delayMs` when given.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn nak<'env>(&self, env: &'env Env, delay_ms: Option<f64>) -> napi::Result<Object<'env>> {
        let delay = delay_ms.filter(|t| t.is_finite()).map(millis);
        self.answer(env, Answer::Nak(delay))
    }

    /// Never delivered again, though it was not handled.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn term<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        self.answer(env, Answer::Term)
    }

    /// Still working on it: its `ack_wait` starts again.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn in_progress<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        self.answer(env, Answer::InProgress)
    }
}
