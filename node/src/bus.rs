//! [`Bus`] and [`BusSubscription`]: publish/subscribe with typed topics (the core's `bus`).
//! A message crosses as CBOR, as a call's request does, walked by the core through the topic's
//! declared type (with the converters' tags); every wait runs on the core's runtime and settles
//! a Promise, so the event loop never blocks. The rules (topic checks, typing, queue groups,
//! drop counting, what `close` does to a waiting `next`) are the core's; the JavaScript idiom
//! (async iterator, callback) is `lib/bus.js`'s.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hms_ffi_core::bus::{self, SharedSubscription};
use hms_ffi_core::mapping::Converters;
use hms_ffi_core::runtime;
use napi::bindgen_prelude::{Buffer, Object, ToNapiValue};
use napi::Env;
use napi_derive::napi;

use crate::bus_durable::{self, DurableConfig};
use crate::converters::{registry, ConverterTarget};
use crate::error::{js, throw, to_native, CallOutcome, NativeError};
use crate::schema::Schema;
use crate::values::{from_js, to_js, FOR_JS};

/// A bus: in-process, or over NATS ([`connect_bus`]).
#[napi]
pub struct Bus {
    inner: bus::Bus,
    converters: Converters,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// A bus over NATS, `nats://host:port/PREFIX` (events on `PREFIX.TOPIC`); the Promise settles
/// with the [`Bus`] or rejects with `CODE: message`. `converters` as [`Bus::new`] takes them.
#[napi(ts_return_type = "Promise<Bus>")]
pub fn connect_bus<'env>(
    env: &'env Env,
    uri: String,
    schema: &Schema,
    converters: Option<Vec<ConverterTarget>>,
) -> napi::Result<Object<'env>> {
    let schema = schema.inner.clone();
    let converters = registry(converters)?;
    promise(env, async move {
        let inner = bus::Bus::connect(&uri, schema).await?;
        Ok(Bus { inner, converters })
    })
}

/// Runs `work` on the core's runtime; the Promise settles with what it makes, or rejects with
/// `CODE: message` (the JavaScript layer makes that the `HmsError` subclass).
pub(crate) fn promise<'env, T, F>(env: &'env Env, work: F) -> napi::Result<Object<'env>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = hms_ffi_core::Result<T>> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    runtime::handle().spawn(async move {
        match work.await {
            Ok(v) => deferred.resolve(move |_| Ok(v)),
            Err(e) => deferred.reject(throw(e)),
        }
    });
    Ok(promise)
}

#[napi]
impl Bus {
    /// An in-process bus over `schema`'s message types; `converters` are the targets of the
    /// caller's converters (`docs/converters.md`), converter `i` tagged `CONVERTED_TAG + i`.
    #[napi(constructor)]
    pub fn new(schema: &Schema, converters: Option<Vec<ConverterTarget>>) -> napi::Result<Bus> {
        Ok(Bus {
            inner: bus::Bus::new(schema.inner.clone()),
            converters: registry(converters)?,
        })
    }

    /// Declares that events on topics matching `pattern` are `messageType` messages; throws
    /// `INVALID_ARGUMENT` for a bad pattern, `NOT_FOUND` for a type not in the schema.
    #[napi]
    pub fn declare(&self, pattern: String, message_type: String) -> napi::Result<()> {
        js(self.inner.declare(&pattern, &message_type))
    }

    /// Publishes the CBOR `message` on `topic`, encoded as the topic's declared type (here,
    /// before the Promise); it settles with the outcome (nothing, or the error: a bad or
    /// undeclared topic, a wrong field) and never rejects.
    #[napi(ts_return_type = "Promise<CallOutcome>")]
    pub fn publish<'env>(
        &self,
        env: &'env Env,
        topic: String,
        message: Buffer,
    ) -> napi::Result<Object<'env>> {
        let encoded = from_js(&message, |doc| {
            self.inner.encode_input(&topic, doc, Some(&self.converters))
        });
        let bus = self.inner.clone();
        let (deferred, promise) = env.create_deferred()?;
        // An in-process publish ends on this thread; one over NATS on the runtime.
        runtime::spawn_eager(async move {
            let sent = match encoded {
                Ok(bytes) => bus.publish_encoded(&topic, bytes).await,
                Err(e) => Err(e),
            };
            let outcome = match sent {
                Ok(()) => CallOutcome::done(),
                Err(e) => CallOutcome::failed(&e),
            };
            deferred.resolve(move |_| Ok(outcome));
        });
        Ok(promise)
    }

    /// Subscribes to `pattern` (in the queue group `queue` when given), holding at most
    /// `pending` events before it drops new ones; the Promise settles with the subscription
    /// once it is registered (over NATS: with the server), or rejects with `CODE: message`.
    #[napi(ts_return_type = "Promise<BusSubscription>")]
    pub fn subscribe<'env>(
        &self,
        env: &'env Env,
        pattern: String,
        queue: Option<String>,
        pending: Option<u32>,
    ) -> napi::Result<Object<'env>> {
        let bus = self.inner.clone();
        let converters = self.converters.clone();
        let pending = pending.map_or(bus::DEFAULT_PENDING, |p| p as usize);
        promise(env, async move {
            let sub = bus
                .subscribe_pending(&pattern, queue.as_deref(), pending)
                .await?;
            Ok(BusSubscription {
                inner: Arc::new(SharedSubscription::new(sub)),
                converters,
            })
        })
    }

    /// Subscribes to `pattern` through the JetStream consumer `name` (ephemeral without one);
    /// the Promise settles with the subscription, or rejects with `CODE: message`
    /// (`FAILED_PRECONDITION` on a bus connected without `?jetstream=STREAM`).
    #[napi(ts_return_type = "Promise<DurableSubscription>")]
    pub fn subscribe_durable<'env>(
        &self,
        env: &'env Env,
        pattern: String,
        name: Option<String>,
        config: Option<DurableConfig>,
    ) -> napi::Result<Object<'env>> {
        let options = bus_durable::options(config)?;
        let (bus, converters) = (self.inner.clone(), self.converters.clone());
        bus_durable::subscribe(env, bus, converters, pattern, name, options)
    }
}

/// One event, or none: `topic` and the CBOR `message`, or the `error` of an event that failed
/// its checks (the subscription goes on); neither once the subscription is closed or the wait
/// timed out.
#[napi(object)]
pub struct BusEvent {
    /// The topic it was published on.
    pub topic: Option<String>,
    /// The message, as CBOR.
    pub message: Option<Buffer>,
    /// Why this event failed its checks (`WRONG_MESSAGE_TYPE`, …).
    pub error: Option<NativeError>,
}

impl std::fmt::Debug for BusEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusEvent")
            .field("topic", &self.topic)
            .finish()
    }
}

/// A subscription: `next` settles with each event in turn.
#[napi]
#[derive(Debug)]
pub struct BusSubscription {
    inner: Arc<SharedSubscription>,
    converters: Converters,
}

#[napi]
impl BusSubscription {
    /// The next event; with `timeoutMs`, no event (neither topic nor error) once it passes.
    /// Never rejects.
    #[napi(ts_return_type = "Promise<BusEvent>")]
    pub fn next<'env>(
        &self,
        env: &'env Env,
        timeout_ms: Option<f64>,
    ) -> napi::Result<Object<'env>> {
        let sub = self.inner.clone();
        let converters = self.converters.clone();
        let timeout = timeout_ms
            .filter(|t| t.is_finite())
            .map(|t| Duration::from_secs_f64(t.max(0.0) / 1000.0));
        let (deferred, promise) = env.create_deferred()?;
        runtime::handle().spawn(async move {
            let raw = sub.next_raw_within(timeout).await;
            let mut event = BusEvent {
                topic: None,
                message: None,
                error: None,
            };
            if let Some(raw) = raw {
                match to_js(|o| sub.decode_output(&raw, FOR_JS, Some(&converters), o)) {
                    Ok(message) => {
                        event.topic = Some(raw.topic.to_string());
                        event.message = Some(message);
                    }
                    Err(e) => event.error = Some(to_native(&e)),
                }
            }
            deferred.resolve(move |_| Ok(event));
        });
        Ok(promise)
    }

    /// Events dropped because the subscription's queue was full (a slow consumer).
    #[napi(getter)]
    pub fn dropped(&self) -> f64 {
        self.inner.dropped() as f64
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Unsubscribes: a `next` waiting settles with no event, and so does every later one.
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}
