//! `HmsFfi\DurableSubscription` and `HmsFfi\Delivery`: JetStream's durable consumers for a bus
//! connected with `?jetstream=STREAM` (the core's `Bus::subscribe_durable`). PHP has one
//! thread: `next($timeout)` and each acknowledgement block it until the server answered,
//! running this thread's servers' handlers meanwhile as a blocking call does. The rules (where
//! a consumer starts, redelivery, terminating an event that fails its check) are the core's.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::convert;
use crate::converters::Convs;
use crate::errors::{self, php_result};
use crate::ocore::bus::{self, Answer, Deliver, DurableOptions, Next, SharedDurableSubscription};
use crate::ocore::Value;
use crate::stream::until;
use crate::walk::PhpOut;

fn seconds(value: &Zval, key: &str) -> PhpResult<Duration> {
    let s = value.double().or_else(|| value.long().map(|n| n as f64));
    let bad = || errors::bad_option(format!("'{key}' must be a number of seconds (>= 0)"));
    Duration::try_from_secs_f64(s.ok_or_else(bad)?).map_err(|_| bad())
}

/// Where a new consumer starts: "all", "new", "last", a stream sequence (int) or a time (any
/// `DateTimeInterface`).
fn deliver(value: &Zval) -> PhpResult<Deliver> {
    let bad = || {
        let m = "'deliver' is \"all\", \"new\", \"last\", a sequence (>= 0) or a DateTimeInterface";
        errors::bad_option(m.into())
    };
    if let Some(name) = value.str() {
        return php_result(name.parse());
    }
    if let Some(n) = value.long() {
        return u64::try_from(n)
            .map(Deliver::FromSequence)
            .map_err(|_| bad());
    }
    match value
        .object()
        .map(|_| convert::from_php(value))
        .transpose()?
    {
        Some(Value::Timestamp(t)) => {
            let since = u64::try_from(t.seconds).map_err(|_| bad())?;
            let since = Duration::new(since, u32::try_from(t.nanos).unwrap_or(0));
            Ok(Deliver::FromTime(UNIX_EPOCH + since))
        }
        _ => Err(bad()),
    }
}

/// The core's options from `subscribeDurable`'s `$options`; an unknown key is refused.
fn options(options: Option<&ZendHashTable>) -> PhpResult<DurableOptions> {
    let mut o = DurableOptions::default();
    for entry in options.into_iter().flat_map(convert::named_entries) {
        let (key, value) = entry?;
        match key.as_str() {
            _ if value.is_null() => {}
            "deliver" => o.deliver = deliver(value)?,
            "ack_wait" => o.ack_wait = seconds(value, "ack_wait")?.max(Duration::from_millis(1)),
            "max_deliver" => {
                let n = value.long().and_then(|n| u32::try_from(n).ok());
                let bad = || errors::bad_option("'max_deliver' must be a positive int".into());
                o.max_deliver = Some(n.ok_or_else(bad)?);
            }
            "batch" => {
                let n = value.long().and_then(|n| usize::try_from(n).ok());
                let bad = || errors::bad_option("'batch' must be a non-negative int".into());
                o.batch = n.ok_or_else(bad)?;
            }
            other => {
                let known = "deliver, ack_wait, max_deliver, batch";
                let message = format!("unknown subscribeDurable option '{other}' (known: {known})");
                return Err(errors::bad_option(message));
            }
        }
    }
    Ok(o)
}

/// `Bus::subscribeDurable`: subscribes through the core, waiting for the server.
pub(crate) fn subscribe(
    bus: &bus::Bus,
    convs: &Convs,
    pattern: &str,
    name: Option<String>,
    opts: Option<&ZendHashTable>,
) -> PhpResult<DurableSubscription> {
    let options = options(opts)?;
    let (bus, pattern) = (bus.clone(), pattern.to_string());
    let sub = php_result(until(async move {
        bus.subscribe_durable(&pattern, name.as_deref(), &options)
            .await
    }))?;
    Ok(DurableSubscription {
        inner: Arc::new(SharedDurableSubscription::new(sub)),
        convs: convs.clone(),
    })
}

/// Deliveries of a JetStream consumer: `next($timeout)` waits for each.
#[php_class]
#[derive(Debug)]
#[php(name = "HmsFfi\\DurableSubscription")]
pub struct DurableSubscription {
    inner: Arc<SharedDurableSubscription>,
    convs: Convs,
}

#[php_impl]
impl DurableSubscription {
    /// The next `Delivery`, or null once `$timeout` seconds pass (null: no limit) or the
    /// subscription is closed. An event that fails its type's check throws its
    /// `HmsFfi\…Exception` (`InvalidArgumentException` with reason `WRONG_MESSAGE_TYPE`, …);
    /// it is never delivered again and the subscription goes on.
    pub fn next(&self, timeout: Option<f64>) -> PhpResult<Option<Delivery>> {
        let timeout = timeout
            .filter(|t| t.is_finite())
            .map(|t| Duration::from_secs_f64(t.max(0.0)));
        let sub = self.inner.clone();
        let next = php_result(until(async move { Ok(sub.next_within(timeout).await) }))?;
        let d = match next {
            Next::Event(d) => php_result(d)?,
            Next::TimedOut | Next::Closed => return Ok(None),
        };
        // The event's bytes made PHP values by the core's walk (walk.rs).
        let registry = self.convs.registry();
        let made = d.decode_output(
            convert::DECODE,
            Some(&registry),
            &mut PhpOut::new(&self.convs),
        );
        let message = php_result(made.map_err(|f| f.into_native(errors::to_php))?)?;
        Ok(Some(Delivery {
            inner: Arc::new(d),
            message,
        }))
    }

    /// Stops reading; every later `next()` returns null. What was not acknowledged comes again
    /// to the consumer's other readers.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

/// One delivery of a durable event, answered with `ack()`, `nak()`, `term()` or
/// `inProgress()` (each returns once the server confirmed it); unanswered, it comes again
/// after the subscription's `ack_wait`.
#[php_class]
#[derive(Debug)]
#[php(name = "HmsFfi\\Delivery")]
pub struct Delivery {
    inner: Arc<bus::Delivery>,
    /// The message as PHP values (converters applied).
    message: Zval,
}

impl Delivery {
    fn answer(&self, answer: Answer) -> PhpResult<()> {
        let d = self.inner.clone();
        php_result(until(async move { d.answer(answer).await }))
    }
}

#[php_impl]
impl Delivery {
    /// The topic it was published on.
    pub fn topic(&self) -> String {
        self.inner.event.topic.to_string()
    }

    /// The message (converters applied).
    ///
    /// @return array<string, mixed>
    pub fn message(&self) -> Zval {
        self.message.shallow_clone()
    }

    /// Its sequence in the stream (replay from it with the `deliver` option).
    pub fn sequence(&self) -> i64 {
        i64::try_from(self.inner.sequence).unwrap_or(i64::MAX)
    }

    /// How many times it has been delivered, this time included.
    pub fn delivered(&self) -> i64 {
        i64::from(self.inner.delivered)
    }

    /// Done: never delivered again.
    pub fn ack(&self) -> PhpResult<()> {
        self.answer(Answer::Ack)
    }

    /// Not done: delivered again, after `$delay` seconds when given.
    pub fn nak(&self, delay: Option<f64>) -> PhpResult<()> {
        let delay = delay
            .filter(|t| t.is_finite())
            .map(|t| Duration::from_secs_f64(t.max(0.0)));
        self.answer(Answer::Nak(delay))
    }

    /// Never delivered again, though it was not handled.
    pub fn term(&self) -> PhpResult<()> {
        self.answer(Answer::Term)
    }

    /// Still working on it: its `ack_wait` starts again.
    pub fn in_progress(&self) -> PhpResult<()> {
        self.answer(Answer::InProgress)
    }
}
