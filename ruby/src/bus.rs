//! `HmsFfi::Bus` and `HmsFfi::Subscription`: publish/subscribe with typed topics (the core's
//! `bus`). Messages are walked straight to and from their bytes as a call's are (walk.rs,
//! the caller's converters included); every wait (connecting, a publish over NATS, the next
//! event) runs without the GVL and ends when Ruby interrupts the thread, or, for `next`, when
//! another thread closes the subscription. The rules (topic checks, typing, queue groups, drop
//! counting) are the core's; `lib/hms_ffi/bus.rb` adds keyword arguments, `each` and the block
//! form.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use magnus::{function, method, prelude::*, Error, RArray, RModule, Ruby, Value as RValue};
use tokio_util::sync::CancellationToken;

use crate::convert;
use crate::errors::rb_result;
use crate::gvl::without_gvl;
use crate::ocore::bus::{self, SharedSubscription};
use crate::ocore::mapping::{Converters, DecodeOptions};
use crate::ocore::{runtime, Code};
use crate::schema::Schema;
use crate::walk::{RbIn, RbOut};

/// A bus, in-process or over NATS.
#[magnus::wrap(class = "HmsFfi::Bus", free_immediately, size)]
pub(crate) struct Bus {
    pub(crate) inner: bus::Bus,
    pub(crate) converters: Converters,
}

/// Waits without the GVL for what `round(time left, stop)` gives, at most `timeout` seconds
/// (`None`: no limit); nil when it times out or the subscription is `closed`. A Ruby interrupt
/// cancels `stop` and is raised; when its trap handler returns instead, the wait goes on.
pub(crate) fn wait_next<T>(
    ruby: &Ruby,
    timeout: Option<f64>,
    closed: impl Fn() -> bool,
    round: impl Fn(Option<Duration>, &CancellationToken) -> crate::ocore::Result<Option<T>>,
) -> Result<Option<T>, Error> {
    let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)));
    loop {
        let stop = CancellationToken::new();
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let r = without_gvl(|| round(left, &stop), &|| stop.cancel());
        ruby.thread_check_ints()?;
        match r {
            Some(r) => match rb_result(ruby, r)? {
                Some(t) => return Ok(Some(t)),
                // Stopped by an interrupt whose trap handler returned: wait on.
                None if stop.is_cancelled() && !closed() => continue,
                None => return Ok(None),
            },
            // Not run: an interrupt was pending (and its handler returned).
            None => continue,
        }
    }
}

/// Runs `op` on the core's runtime without the GVL; a Ruby interrupt stops it (and is raised).
pub(crate) fn blocking<T>(ruby: &Ruby, op: impl Future<Output = T>) -> Result<T, Error> {
    let stop = CancellationToken::new();
    let mut op = Some(op);
    loop {
        let run = || {
            let op = op.take()?;
            runtime::block_on(async {
                tokio::select! {
                    r = op => Some(r),
                    _ = stop.cancelled() => None,
                }
            })
            .ok()
            .flatten()
        };
        let done = without_gvl(run, &|| stop.cancel()).flatten();
        ruby.thread_check_ints()?;
        match done {
            Some(r) => return Ok(r),
            // Not run (an interrupt was pending and a trap handler ran): run it now.
            None if op.is_some() => continue,
            None => {
                let e = crate::ocore::Error::new(Code::Cancelled, "interrupted");
                return Err(crate::errors::to_ruby(ruby, e));
            }
        }
    }
}

impl Bus {
    /// `HmsFfi::Bus._new(schema, targets)`: an in-process bus; `targets` are the converters'
    /// (`[["message" | "format", name], …]`).
    fn new(ruby: &Ruby, schema: &Schema, targets: Vec<(String, String)>) -> Result<Bus, Error> {
        Ok(Bus {
            inner: bus::Bus::new(schema.inner.clone()),
            converters: convert::registry(ruby, targets)?,
        })
    }

    /// `HmsFfi::Bus._connect(uri, schema, targets)`: a bus over NATS.
    fn connect(
        ruby: &Ruby,
        uri: String,
        schema: &Schema,
        targets: Vec<(String, String)>,
    ) -> Result<Bus, Error> {
        let converters = convert::registry(ruby, targets)?;
        let connected = blocking(ruby, bus::Bus::connect(&uri, schema.inner.clone()))?;
        let inner = rb_result(ruby, connected)?;
        Ok(Bus { inner, converters })
    }

    fn declare(
        ruby: &Ruby,
        rb_self: &Bus,
        pattern: String,
        message_type: String,
    ) -> Result<(), Error> {
        rb_result(ruby, rb_self.inner.declare(&pattern, &message_type))
    }

    /// `_publish(topic, message, convs)`: walks `message` (holding the GVL) through the topic's
    /// type and sends it without.
    fn publish(
        ruby: &Ruby,
        rb_self: &Bus,
        topic: String,
        message: RValue,
        convs: Option<RArray>,
    ) -> Result<(), Error> {
        let message = RbIn::new(ruby, message, convs, false);
        let converters = Some(&rb_self.converters);
        let bytes = rb_result(
            ruby,
            rb_self.inner.encode_input(&topic, &message, converters)?,
        )?;
        let sent = blocking(ruby, rb_self.inner.publish_encoded(&topic, bytes))?;
        rb_result(ruby, sent)
    }

    /// `_subscribe(pattern, queue, pending)`.
    fn subscribe(
        ruby: &Ruby,
        rb_self: &Bus,
        pattern: String,
        queue: Option<String>,
        pending: Option<usize>,
    ) -> Result<Subscription, Error> {
        let pending = pending.unwrap_or(bus::DEFAULT_PENDING);
        let sub = rb_self
            .inner
            .subscribe_pending(&pattern, queue.as_deref(), pending);
        let sub = rb_result(ruby, blocking(ruby, sub)?)?;
        Ok(Subscription {
            inner: Arc::new(SharedSubscription::new(sub)),
            converters: rb_self.converters.clone(),
        })
    }
}

/// A subscription: `_next` waits without the GVL for the next event.
#[magnus::wrap(class = "HmsFfi::Subscription", free_immediately, size)]
pub(crate) struct Subscription {
    inner: Arc<SharedSubscription>,
    converters: Converters,
}

impl Subscription {
    /// `_next(timeout, convs)`: the next event as `[topic, message]`, or nil once `timeout`
    /// seconds pass or the subscription is closed; an event that fails its check raises its
    /// typed error (the subscription goes on).
    fn next(
        ruby: &Ruby,
        rb_self: &Subscription,
        timeout: Option<f64>,
        convs: Option<RArray>,
    ) -> Result<Option<(String, RValue)>, Error> {
        let sub = &rb_self.inner;
        let next = |left, stop: &_| sub.next_raw_blocking(left, Some(stop));
        let Some(raw) = wait_next(ruby, timeout, || sub.is_closed(), next)? else {
            return Ok(None);
        };
        let mut out = RbOut::new(ruby, convs);
        let options = DecodeOptions::default();
        let made = sub.decode_output(&raw, options, Some(&rb_self.converters), &mut out)?;
        Ok(Some((raw.topic.to_string(), rb_result(ruby, made)?)))
    }

    /// Events dropped because the subscription's queue was full.
    fn dropped(&self) -> u64 {
        self.inner.dropped()
    }

    /// Unsubscribes; a `next` waiting on another thread returns nil.
    fn close(&self) {
        self.inner.close();
    }

    fn closed(&self) -> bool {
        self.inner.is_closed()
    }
}

pub(crate) fn define(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("Bus", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_singleton_method("_new", function!(Bus::new, 2))?;
    class.define_singleton_method("_connect", function!(Bus::connect, 3))?;
    class.define_method("_declare", method!(Bus::declare, 2))?;
    class.define_method("_publish", method!(Bus::publish, 3))?;
    class.define_method("_subscribe", method!(Bus::subscribe, 3))?;

    let class = module.define_class("Subscription", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("_next", method!(Subscription::next, 2))?;
    class.define_method("dropped", method!(Subscription::dropped, 0))?;
    class.define_method("_close", method!(Subscription::close, 0))?;
    class.define_method("closed?", method!(Subscription::closed, 0))?;
    Ok(())
}
