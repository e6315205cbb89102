//! Durable events with NATS JetStream (the core's `Bus::subscribe_durable`, `docs/messaging.md`,
//! "Durable events"): [`hms_bus_subscribe_durable`] on a bus connected with
//! `?jetstream=STREAM`, a blocking [`hms_durable_next`] that a timeout or
//! [`hms_durable_close`] (from any thread) ends, and each [`HmsDelivery`] answered with
//! [`hms_delivery_ack`], [`hms_delivery_nak`], [`hms_delivery_term`] or
//! [`hms_delivery_in_progress`], each returning once the server confirmed it. The waiting and
//! closing are the core's `SharedDurableSubscription`; this file converts and maps errors.

use std::ffi::c_char;
use std::time::{Duration, UNIX_EPOCH};

use crate::bus::{store, HmsBus};
use crate::error::{guard, obj, text, HmsError};
use crate::ocore::bus::{Deliver, Delivery, DurableOptions, Next, SharedDurableSubscription};
use crate::ocore::mapping::{CborOut, Converters, DecodeOptions};
use crate::ocore::{runtime, Code, Error};
use crate::HmsBytes;

/// [`HmsDurableOptions::deliver`]: every event the stream holds (the default).
pub const HMS_DELIVER_ALL: i32 = 0;
/// [`HmsDurableOptions::deliver`]: only events published after the consumer is created.
pub const HMS_DELIVER_NEW: i32 = 1;
/// [`HmsDurableOptions::deliver`]: the last event the stream holds, then the new ones.
pub const HMS_DELIVER_LAST: i32 = 2;
/// [`HmsDurableOptions::deliver`]: from the stream sequence `start_sequence` on (replay).
pub const HMS_DELIVER_SEQUENCE: i32 = 3;
/// [`HmsDurableOptions::deliver`]: from the first event stored at or after `start_time_ns`.
pub const HMS_DELIVER_TIME: i32 = 4;

/// How a durable subscription reads its stream; a zeroed struct (or a NULL pointer) means the
/// defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HmsDurableOptions {
    /// Where a new consumer starts (an existing one resumes where it was): one of the
    /// `HMS_DELIVER_*` constants; another value is `INVALID_ARGUMENT`.
    pub deliver: i32,
    /// The first stream sequence, for [`HMS_DELIVER_SEQUENCE`].
    pub start_sequence: u64,
    /// Nanoseconds since the Unix epoch, for [`HMS_DELIVER_TIME`].
    pub start_time_ns: i64,
    /// Milliseconds an event may stay unanswered before it is delivered again (0: 30 s).
    pub ack_wait_ms: u64,
    /// Most deliveries of one event (0: no limit).
    pub max_deliver: u32,
    /// Most events fetched ahead of [`hms_durable_next`] (0: 64).
    pub batch: usize,
}

/// A durable subscription; free it with [`hms_durable_free`]. Safe to use from many threads at
/// once (one `next` waits at a time; the others queue behind it).
#[derive(Debug)]
pub struct HmsDurableSubscription {
    sub: SharedDurableSubscription,
    /// The bus's converters: a delivery's converted values come tagged, as an event's do.
    converters: Converters,
}

/// One delivery of an event, to be answered; free it with [`hms_delivery_free`] (an event
/// freed unanswered comes again after its `ack_wait`). Safe to use from many threads.
#[derive(Debug)]
pub struct HmsDelivery {
    delivery: Delivery,
}

fn options(o: &HmsDurableOptions) -> Result<DurableOptions, Error> {
    let defaults = DurableOptions::default();
    let deliver = match o.deliver {
        HMS_DELIVER_ALL => Deliver::All,
        HMS_DELIVER_NEW => Deliver::New,
        HMS_DELIVER_LAST => Deliver::Last,
        HMS_DELIVER_SEQUENCE => Deliver::FromSequence(o.start_sequence),
        HMS_DELIVER_TIME => {
            let nanos = Duration::from_nanos(o.start_time_ns.unsigned_abs());
            let at = if o.start_time_ns < 0 {
                UNIX_EPOCH.checked_sub(nanos)
            } else {
                UNIX_EPOCH.checked_add(nanos)
            };
            Deliver::FromTime(at.ok_or_else(|| {
                Error::new(Code::InvalidArgument, "start_time_ns is out of range")
            })?)
        }
        other => {
            return Err(Error::new(
                Code::InvalidArgument,
                format!("deliver is one of HMS_DELIVER_*, not {other}"),
            ))
        }
    };
    Ok(DurableOptions {
        deliver,
        ack_wait: match o.ack_wait_ms {
            0 => defaults.ack_wait,
            ms => Duration::from_millis(ms),
        },
        max_deliver: (o.max_deliver != 0).then_some(o.max_deliver),
        batch: match o.batch {
            0 => defaults.batch,
            n => n,
        },
    })
}

/// Subscribes to `pattern` through the durable consumer `name` (NULL: an ephemeral one, a
/// replay no one resumes) of the bus's JetStream stream: created on first use at
/// `options->deliver`, resumed afterwards by this process or another; subscriptions of one
/// name share its events, each to one. `FAILED_PRECONDITION` **NO_JETSTREAM** on a bus
/// connected without `?jetstream=STREAM`, `INVALID_ARGUMENT` **BAD_TOPIC** for a bad pattern.
#[no_mangle]
pub unsafe extern "C" fn hms_bus_subscribe_durable(
    bus: *const HmsBus,
    pattern: *const c_char,
    name: *const c_char,
    options_ptr: *const HmsDurableOptions,
    out: *mut *mut HmsDurableSubscription,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let b = obj(bus, "bus")?;
        let pattern = text(pattern, "pattern")?;
        let name = if name.is_null() {
            None
        } else {
            Some(text(name, "name")?)
        };
        let opts = match options_ptr.as_ref() {
            Some(o) => options(o)?,
            None => DurableOptions::default(),
        };
        let sub = runtime::block_on(b.bus.subscribe_durable(pattern, name, &opts))??;
        let sub = SharedDurableSubscription::new(sub);
        let converters = b.converters.clone();
        store(out, HmsDurableSubscription { sub, converters })
    })
}

/// Waits for the next delivery, at most `timeout_ms` milliseconds (< 0: until one comes or the
/// subscription is closed; 0: only looks). Returns 0 with `*topic` (UTF-8, not NUL-terminated)
/// and `*message` (a CBOR value tree, [`crate::HmsFormat::Value`], the bus's converters' values
/// tagged as `hms_subscription_next` tags them) filled — free both with
/// `hms_bytes_free` — and `*delivery` set (free it with [`hms_delivery_free`]); or 0 with
/// `*delivery` NULL when the timeout passed; or 0 with `*end` true once the subscription is
/// closed. An event that fails the subscriber's check returns its code with `*err` set: it
/// was terminated (never delivered again), and the next call goes on.
#[no_mangle]
pub unsafe extern "C" fn hms_durable_next(
    sub: *const HmsDurableSubscription,
    timeout_ms: i64,
    topic: *mut HmsBytes,
    message: *mut HmsBytes,
    delivery: *mut *mut HmsDelivery,
    end: *mut bool,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let s = obj(sub, "subscription")?;
        let (Some(topic), Some(message), Some(delivery), Some(end)) = (
            topic.as_mut(),
            message.as_mut(),
            delivery.as_mut(),
            end.as_mut(),
        ) else {
            let null = "topic, message, delivery or end is NULL";
            return Err(Error::new(Code::InvalidArgument, null));
        };
        *topic = HmsBytes::from_vec(Vec::new());
        *message = HmsBytes::from_vec(Vec::new());
        *delivery = std::ptr::null_mut();
        *end = false;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        match s.sub.next_blocking(timeout, None)? {
            Next::Event(d) => {
                let d = d?;
                let mut out = CborOut::default();
                let options = DecodeOptions::default();
                let span = d.decode_output(options, Some(&s.converters), &mut out)??;
                let cbor = out.finish(span);
                *topic = HmsBytes::from_vec(d.event.topic.as_bytes().to_vec());
                *message = HmsBytes::from_vec(cbor);
                *delivery = Box::into_raw(Box::new(HmsDelivery { delivery: d }));
            }
            Next::TimedOut => {}
            Next::Closed => *end = true,
        }
        Ok(())
    })
}

/// Stops reading (NULL-safe, idempotent, from any thread, without waiting): a
/// [`hms_durable_next`] in progress returns at once with `*end` true, and so does every later
/// one. Deliveries not answered come again to the consumer's other readers after `ack_wait`.
#[no_mangle]
pub unsafe extern "C" fn hms_durable_close(sub: *const HmsDurableSubscription) {
    if let Some(s) = sub.as_ref() {
        s.sub.close();
    }
}

/// Closes and frees a durable subscription (NULL-safe). No call on it may be in progress:
/// close it first, from another thread, to end a waiting [`hms_durable_next`]. Its deliveries
/// stay usable until they are freed.
#[no_mangle]
pub unsafe extern "C" fn hms_durable_free(sub: *mut HmsDurableSubscription) {
    if !sub.is_null() {
        let s = Box::from_raw(sub);
        s.sub.close();
    }
}

/// The delivery's sequence in the stream (replay from it with [`HMS_DELIVER_SEQUENCE`]); 0
/// for NULL.
#[no_mangle]
pub unsafe extern "C" fn hms_delivery_sequence(delivery: *const HmsDelivery) -> u64 {
    delivery.as_ref().map_or(0, |d| d.delivery.sequence)
}

/// How many times the event has been delivered, this time included; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hms_delivery_delivered(delivery: *const HmsDelivery) -> u32 {
    delivery.as_ref().map_or(0, |d| d.delivery.delivered)
}

/// Sends one answer and waits for the server to confirm it (`UNAVAILABLE` when it does not).
unsafe fn answer<F>(delivery: *const HmsDelivery, err: *mut *mut HmsError, f: F) -> i32
where
    F: AsyncFnOnce(&Delivery) -> crate::ocore::Result<()>,
{
    guard(err, || {
        let d = obj(delivery, "delivery")?;
        runtime::block_on(f(&d.delivery))?
    })
}

/// Done with it: it is not delivered again (returns once the server has recorded it, so not
/// even when the process stops right after).
#[no_mangle]
pub unsafe extern "C" fn hms_delivery_ack(
    delivery: *const HmsDelivery,
    err: *mut *mut HmsError,
) -> i32 {
    answer(delivery, err, async |d| d.ack().await)
}

/// Not done: deliver it again, after `delay_ms` milliseconds (< 0: at once).
#[no_mangle]
pub unsafe extern "C" fn hms_delivery_nak(
    delivery: *const HmsDelivery,
    delay_ms: i64,
    err: *mut *mut HmsError,
) -> i32 {
    let delay = u64::try_from(delay_ms).ok().map(Duration::from_millis);
    answer(delivery, err, async move |d| d.nak(delay).await)
}

/// Never deliver it again, though it was not handled.
#[no_mangle]
pub unsafe extern "C" fn hms_delivery_term(
    delivery: *const HmsDelivery,
    err: *mut *mut HmsError,
) -> i32 {
    answer(delivery, err, async |d| d.term().await)
}

/// Still working on it: its `ack_wait` starts again.
#[no_mangle]
pub unsafe extern "C" fn hms_delivery_in_progress(
    delivery: *const HmsDelivery,
    err: *mut *mut HmsError,
) -> i32 {
    answer(delivery, err, async |d| d.in_progress().await)
}

/// Frees a delivery (NULL-safe); one not answered comes again after its `ack_wait`.
#[no_mangle]
pub unsafe extern "C" fn hms_delivery_free(delivery: *mut HmsDelivery) {
    if !delivery.is_null() {
        drop(Box::from_raw(delivery));
    }
}
