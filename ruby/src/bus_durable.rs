//! `HmsFfi::DurableSubscription` and `HmsFfi::Delivery`: JetStream's durable consumers for a bus
//! connected with `?jetstream=STREAM` (the core's `Bus::subscribe_durable`). A wait for the next
//! delivery and an acknowledgement going to the server and back both run without the GVL and
//! end when Ruby interrupts the thread; `close` from another thread ends a `next` waiting (the
//! core's `SharedDurableSubscription`). `lib/hms_ffi/bus.rb` adds keyword arguments, `each`
//! and the message each delivery carries.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use magnus::{method, prelude::*, Error, RArray, RModule, Ruby, Value as RValue};

use crate::bus::{blocking, wait_next, Bus};
use crate::errors::rb_result;
use crate::ocore::bus::{self, Answer, Deliver, DurableOptions, Next, SharedDurableSubscription};
use crate::ocore::mapping::{Converters, DecodeOptions};
use crate::ocore::{Code, Error as CoreError};
use crate::walk::RbOut;

fn invalid(ruby: &Ruby, what: &str) -> Error {
    crate::errors::to_ruby(ruby, CoreError::new(Code::InvalidArgument, what))
}

/// Where a new consumer starts: at most one of a name ("all", "new", "last"), a stream
/// sequence and a time (seconds since 1970), as `lib/hms_ffi/bus.rb` passes them.
fn deliver(
    ruby: &Ruby,
    name: Option<String>,
    sequence: Option<i64>,
    time: Option<f64>,
) -> Result<Deliver, Error> {
    let bad = "deliver: one name, sequence (>= 0) or time after 1970";
    match (name, sequence, time) {
        (None, None, None) => Ok(Deliver::All),
        (Some(n), None, None) => rb_result(ruby, n.parse()),
        (None, Some(s), None) => Ok(Deliver::FromSequence(
            u64::try_from(s).map_err(|_| invalid(ruby, bad))?,
        )),
        (None, None, Some(t)) => match Duration::try_from_secs_f64(t) {
            Ok(since) => Ok(Deliver::FromTime(UNIX_EPOCH + since)),
            Err(_) => Err(invalid(ruby, bad)),
        },
        _ => Err(invalid(ruby, bad)),
    }
}

/// `Bus#_subscribe_durable(pattern, name, deliver_name, sequence, time, ack_wait,
/// max_deliver, batch)`.
#[allow(clippy::too_many_arguments)]
fn subscribe_durable(
    ruby: &Ruby,
    rb_self: &Bus,
    pattern: String,
    name: Option<String>,
    deliver_name: Option<String>,
    sequence: Option<i64>,
    time: Option<f64>,
    ack_wait: f64,
    max_deliver: Option<u32>,
    batch: usize,
) -> Result<DurableSubscription, Error> {
    let options = DurableOptions {
        deliver: deliver(ruby, deliver_name, sequence, time)?,
        ack_wait: Duration::from_secs_f64(ack_wait.max(0.001)),
        max_deliver,
        batch,
    };
    let sub = rb_self
        .inner
        .subscribe_durable(&pattern, name.as_deref(), &options);
    let sub = rb_result(ruby, blocking(ruby, sub)?)?;
    Ok(DurableSubscription {
        inner: Arc::new(SharedDurableSubscription::new(sub)),
        converters: rb_self.converters.clone(),
    })
}

/// A durable subscription: `_next` waits without the GVL for the next delivery.
#[magnus::wrap(class = "HmsFfi::DurableSubscription", free_immediately, size)]
pub(crate) struct DurableSubscription {
    inner: Arc<SharedDurableSubscription>,
    converters: Converters,
}

impl DurableSubscription {
    /// `_next(timeout, convs)`: the next delivery and its message as `[delivery, message]`, or
    /// nil once `timeout` seconds pass or the subscription is closed; an event that fails its
    /// check raises its typed error (it was terminated; the subscription goes on).
    fn next(
        ruby: &Ruby,
        rb_self: &DurableSubscription,
        timeout: Option<f64>,
        convs: Option<RArray>,
    ) -> Result<Option<(Delivery, RValue)>, Error> {
        let sub = &rb_self.inner;
        let round = |left, stop: &_| {
            sub.next_blocking(left, Some(stop)).map(|n| match n {
                Next::Event(d) => Some(d),
                Next::TimedOut | Next::Closed => None,
            })
        };
        let Some(d) = wait_next(ruby, timeout, || sub.is_closed(), round)? else {
            return Ok(None);
        };
        let d = rb_result(ruby, d)?;
        let mut out = RbOut::new(ruby, convs);
        let made = d.decode_output(
            DecodeOptions::default(),
            Some(&rb_self.converters),
            &mut out,
        )?;
        let message = rb_result(ruby, made)?;
        Ok(Some((Delivery { inner: Arc::new(d) }, message)))
    }

    /// Stops reading; a `next` waiting on another thread returns nil.
    fn close(&self) {
        self.inner.close();
    }

    fn closed(&self) -> bool {
        self.inner.is_closed()
    }
}

/// One delivery of an event, answered with `ack`, `nak`, `term` or `in_progress`.
#[magnus::wrap(class = "HmsFfi::Delivery", free_immediately, size)]
pub(crate) struct Delivery {
    inner: Arc<bus::Delivery>,
}

impl Delivery {
    fn topic(&self) -> String {
        self.inner.event.topic.to_string()
    }

    fn sequence(&self) -> u64 {
        self.inner.sequence
    }

    fn delivered(&self) -> u32 {
        self.inner.delivered
    }

    /// Sends `answer` without the GVL and returns once the server confirmed it.
    fn answer(ruby: &Ruby, d: &Delivery, answer: Answer) -> Result<(), Error> {
        let sent = blocking(ruby, d.inner.answer(answer))?;
        rb_result(ruby, sent)
    }

    fn ack(ruby: &Ruby, rb_self: &Delivery) -> Result<(), Error> {
        Delivery::answer(ruby, rb_self, Answer::Ack)
    }

    /// `_nak(delay)`: `delay` in seconds, or nil.
    fn nak(ruby: &Ruby, rb_self: &Delivery, delay: Option<f64>) -> Result<(), Error> {
        let delay = delay.map(|s| Duration::from_secs_f64(s.max(0.0)));
        Delivery::answer(ruby, rb_self, Answer::Nak(delay))
    }

    fn term(ruby: &Ruby, rb_self: &Delivery) -> Result<(), Error> {
        Delivery::answer(ruby, rb_self, Answer::Term)
    }

    fn in_progress(ruby: &Ruby, rb_self: &Delivery) -> Result<(), Error> {
        Delivery::answer(ruby, rb_self, Answer::InProgress)
    }
}

pub(crate) fn define(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let bus = module.define_class("Bus", ruby.class_object())?;
    bus.define_method("_subscribe_durable", method!(subscribe_durable, 8))?;

    let class = module.define_class("DurableSubscription", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("_next", method!(DurableSubscription::next, 2))?;
    class.define_method("_close", method!(DurableSubscription::close, 0))?;
    class.define_method("closed?", method!(DurableSubscription::closed, 0))?;

    let class = module.define_class("Delivery", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("topic", method!(Delivery::topic, 0))?;
    class.define_method("sequence", method!(Delivery::sequence, 0))?;
    class.define_method("delivered", method!(Delivery::delivered, 0))?;
    class.define_method("ack", method!(Delivery::ack, 0))?;
    class.define_method("_nak", method!(Delivery::nak, 1))?;
    class.define_method("term", method!(Delivery::term, 0))?;
    class.define_method("in_progress", method!(Delivery::in_progress, 0))?;
    Ok(())
}
