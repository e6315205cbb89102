//! `HmsFfi\Bus` and `HmsFfi\Subscription`: publish/subscribe with typed topics (the core's
//! `bus`). A message is converted as a call's request and reply are (converters included);
//! every rule (topic checks, typing on both ends, queue groups, drop counting) is the core's.
//! PHP has one thread: `Subscription::next($timeout)` blocks it, running this thread's servers'
//! handlers meanwhile as a blocking call does.

use std::sync::Arc;
use std::time::Duration;

use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::convert;
use crate::converters::{self, Convs, Encode};
use crate::errors::{self, php_result};
use crate::ocore::bus::{self, SharedSubscription};
use crate::ocore::mapping::Input;
use crate::ocore::{runtime, NativeResult};
use crate::schema::Schema;
use crate::stream::until;
use crate::walk::PhpOut;

/// A bus, in-process or over NATS (`Bus::connect`).
#[php_class]
#[derive(Debug)]
#[php(name = "HmsFfi\\Bus")]
pub struct Bus {
    inner: bus::Bus,
    convs: Convs,
}

/// A topic of a bus, as what encodes its events.
struct Topic<'a>(&'a Bus, &'a str);

impl Encode for Topic<'_> {
    fn encode<I: Input>(&self, input: &I) -> NativeResult<bytes::Bytes, I::Error> {
        let converters = self.0.convs.registry();
        self.0.inner.encode_input(self.1, input, Some(&converters))
    }
}

/// The `converters` of `$options` (absent: the built-ins); any other key is refused.
fn converters_option(options: Option<&ZendHashTable>) -> PhpResult<Convs> {
    for entry in options.into_iter().flat_map(convert::named_entries) {
        let (key, _) = entry?;
        if key != "converters" {
            let message = format!("unknown bus option '{key}' (known: converters)");
            return Err(errors::bad_option(message));
        }
    }
    Convs::from_option(options.and_then(|o| o.get("converters")))
}

#[php_impl]
impl Bus {
    /// An in-process bus over `$schema`'s message types. Options: `converters`, a list of
    /// `HmsFfi\Converter` for custom domain types (docs/converters.md; absent, the built-ins).
    ///
    /// @param array{converters?: list<Converter>} $options
    pub fn __construct(schema: &Schema, options: Option<&ZendHashTable>) -> PhpResult<Bus> {
        Ok(Bus {
            inner: bus::Bus::new(schema.inner.clone()),
            convs: converters_option(options)?,
        })
    }

    /// A bus over NATS: `nats://host:port/PREFIX` (events on `PREFIX.TOPIC`); options as the
    /// constructor's. `UnavailableException` when the server cannot be reached.
    ///
    /// @param array{converters?: list<Converter>} $options
    pub fn connect(uri: &str, schema: &Schema, options: Option<&ZendHashTable>) -> PhpResult<Bus> {
        let convs = converters_option(options)?;
        let connected = runtime::block_on(bus::Bus::connect(uri, schema.inner.clone()));
        let inner = php_result(connected.and_then(|r| r))?;
        Ok(Bus { inner, convs })
    }

    /// Events on topics matching `$pattern` (`*` one token, a final `>` the rest) are
    /// `$message_type` messages (a full name from the schema); the first declaration a topic
    /// matches gives its type.
    pub fn declare(&self, pattern: &str, message_type: &str) -> PhpResult<()> {
        php_result(self.inner.declare(pattern, message_type))
    }

    /// Publishes `$message` on `$topic`, checked against the topic's declared type:
    /// `InvalidArgumentException` for a bad topic or a wrong field (with its path),
    /// `NotFoundException` for an undeclared topic.
    ///
    /// @param array<string, mixed> $message
    pub fn publish(&self, topic: &str, message: &ZendHashTable) -> PhpResult<()> {
        let mut zv = Zval::new();
        zv.set_hashtable(message.to_owned());
        let bytes = converters::outgoing(&Topic(self, topic), &self.convs, &zv)?;
        let (bus, topic) = (self.inner.clone(), topic.to_string());
        php_result(until(
            async move { bus.publish_encoded(&topic, bytes).await },
        ))
    }

    /// Subscribes to `$pattern`. Options: `queue`, a queue group whose members share the events
    /// (each goes to one); `pending`, how many events it holds before it drops new ones
    /// (counted by `dropped()`).
    ///
    /// @param array{queue?: string, pending?: int} $options
    pub fn subscribe(
        &self,
        pattern: &str,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Subscription> {
        let (mut queue, mut pending) = (None, bus::DEFAULT_PENDING);
        for entry in options.into_iter().flat_map(convert::named_entries) {
            let (key, value) = entry?;
            match key.as_str() {
                "queue" if value.is_null() => {}
                "queue" => {
                    let q = value.string();
                    queue =
                        Some(q.ok_or_else(|| {
                            errors::bad_option("'queue' must be a string".into())
                        })?);
                }
                "pending" => {
                    let n = value.long().and_then(|n| usize::try_from(n).ok());
                    let bad = || errors::bad_option("'pending' must be a non-negative int".into());
                    pending = n.ok_or_else(bad)?;
                }
                other => {
                    let message =
                        format!("unknown subscribe option '{other}' (known: queue, pending)");
                    return Err(errors::bad_option(message));
                }
            }
        }
        let sub = self
            .inner
            .subscribe_pending(pattern, queue.as_deref(), pending);
        let sub = php_result(runtime::block_on(sub).and_then(|r| r))?;
        Ok(Subscription {
            inner: Arc::new(SharedSubscription::new(sub)),
            convs: self.convs.clone(),
        })
    }

    /// Reads `$pattern` through the JetStream consumer `$name` (a bus connected with
    /// `?jetstream=STREAM`): created on first use and resumed afterwards by any process; readers
    /// of one name share its events. Without a name the consumer is ephemeral (a replay).
    /// Options: `deliver`, where a new consumer starts (`"all"` by default, `"new"`, `"last"`,
    /// a stream sequence, or a `DateTimeInterface`); `ack_wait`, seconds an event may stay
    /// unanswered before it comes again (30); `max_deliver`, most deliveries of one event;
    /// `batch`, events fetched ahead (64). `FailedPreconditionException` on a bus without
    /// JetStream, `InvalidArgumentException` for a bad pattern or option.
    ///
    /// @param array{deliver?: string|int|\DateTimeInterface, ack_wait?: float, max_deliver?: int, batch?: int} $options
    pub fn subscribe_durable(
        &self,
        pattern: &str,
        name: Option<String>,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<crate::bus_durable::DurableSubscription> {
        crate::bus_durable::subscribe(&self.inner, &self.convs, pattern, name, options)
    }
}

/// Events on a topic pattern: `next($timeout)` waits for each.
#[php_class]
#[derive(Debug)]
#[php(name = "HmsFfi\\Subscription")]
pub struct Subscription {
    inner: Arc<SharedSubscription>,
    convs: Convs,
}

#[php_impl]
impl Subscription {
    /// The next event as `[$topic, $message]`, or null once `$timeout` seconds pass (null: no
    /// limit) or the subscription is closed. An event that fails its type's check throws its
    /// `HmsFfi\…Exception` (`InvalidArgumentException` with reason `WRONG_MESSAGE_TYPE`, …);
    /// the subscription goes on.
    ///
    /// @return array{0: string, 1: array<string, mixed>}|null
    pub fn next(&self, timeout: Option<f64>) -> PhpResult<Option<Vec<Zval>>> {
        let timeout = timeout
            .filter(|t| t.is_finite())
            .map(|t| Duration::from_secs_f64(t.max(0.0)));
        let sub = self.inner.clone();
        let raw = php_result(until(async move { Ok(sub.next_raw_within(timeout).await) }))?;
        let Some(raw) = raw else {
            return Ok(None);
        };
        // The event's bytes made PHP values by the core's walk (walk.rs).
        let mut out = PhpOut::new(&self.convs);
        let registry = self.convs.registry();
        let made = self
            .inner
            .decode_output(&raw, convert::DECODE, Some(&registry), &mut out);
        let message = php_result(made.map_err(|f| f.into_native(errors::to_php))?)?;
        let mut topic = Zval::new();
        topic.set_string(&raw.topic, false)?;
        Ok(Some(vec![topic, message]))
    }

    /// Events dropped because the subscription's queue was full (a slow consumer).
    pub fn dropped(&self) -> i64 {
        i64::try_from(self.inner.dropped()).unwrap_or(i64::MAX)
    }

    /// Unsubscribes; every later `next()` returns null.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}
