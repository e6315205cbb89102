//! Publish/subscribe with typed topics (issue 22): `publish(topic, message)` and
//! `subscribe(pattern)`, each topic declared with a message type of the schema and checked on
//! both ends like a call's payload: the publisher encodes through the type (a wrong value is
//! `InvalidArgument` with the field's path), the subscriber decodes through the type *it*
//! declared (an event of another type, or bytes that do not decode, are a typed error for that
//! event, never a crash). Patterns use NATS wildcards (`*` one token, `>` the rest); a queue
//! group shares its events among its members.
//!
//! [`Bus::new`] is the in-process bus (no server); [`Bus::connect`] with `nats://host:port/PREFIX`
//! carries events between processes and machines through a nats-server (`docs/messaging.md`).
//! Delivery is at most once: a subscription whose queue (`pending` events) is full drops what
//! comes and counts it ([`Subscription::dropped`]), as NATS does with a slow consumer.
//!
//! ```
//! use hms_ffi_core::{bus::Bus, Schema, Value};
//! # hms_ffi_core::runtime::block_on(async {
//! let schema = Schema::from_source("ev.proto", r#"
//!     syntax = "proto3"; package shop.v1;
//!     message OrderPlaced { string id = 1; int64 cents = 2; }
//! "#)?;
//! let bus = Bus::new(schema);
//! bus.declare("orders.*", "shop.v1.OrderPlaced")?;
//! let mut sub = bus.subscribe("orders.>", None).await?;
//! bus.publish("orders.eu", &Value::message([("id", Value::from("A1"))])).await?;
//! let event = sub.next().await.expect("an event")?;
//! assert_eq!((&*event.topic, event.message.get("id")), ("orders.eu", Some(&Value::from("A1"))));
//! # Ok::<(), hms_ffi_core::Error>(()) }).unwrap().unwrap();
//! ```

mod durable;
mod jetstream;
mod local;
mod native;
mod remote;
mod shared;
mod subscription;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use prost_reflect::MessageDescriptor;

use crate::codec::Codec;
use crate::error::{Code, Error, Result};
use crate::limits::Limits;
use crate::schema::Schema;
use crate::topic;
use crate::transport::Endpoint;
pub use durable::SharedDurableSubscription;
pub use jetstream::{Answer, Deliver, Delivery, DurableOptions, DurableSubscription};
pub use shared::{Next, SharedSubscription};
pub use subscription::{Event, Subscription};

/// A checked topic (shared by its events) and its declared type's full name.
type Route = (Arc<str>, Arc<str>);

/// Most topics whose checked route a bus keeps.
const ROUTES: usize = 4096;

/// Events a subscription holds before it drops new ones (NATS's default pending limit).
pub const DEFAULT_PENDING: usize = 512 * 1024;

/// An event as it travels: topic, the publisher's message type, codec and encoded message.
#[derive(Debug, Clone)]
pub struct RawEvent {
    /// The topic it was published on.
    pub topic: Arc<str>,
    /// The message type the publisher named (`None` from a publisher that names none).
    pub message_type: Option<Arc<str>>,
    /// How `payload` is encoded.
    pub codec: Codec,
    /// The encoded message.
    pub payload: Bytes,
}

/// A bus: in-process, or over NATS. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    schema: Schema,
    limits: Limits,
    /// Declared topic patterns and their message types, in declaration order.
    topics: RwLock<Vec<(String, MessageDescriptor, Arc<str>)>>,
    /// Topics published lately, checked, with their declared type name (cleared by `declare`
    /// and when it grows past `ROUTES`): a publish on a known topic is one hash lookup.
    routes: RwLock<HashMap<Box<str>, Route>>,
    local: local::Local,
    remote: Option<remote::Remote>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("nats", &self.inner.remote.is_some())
            .finish()
    }
}

impl Bus {
    /// An in-process bus over `schema`'s message types.
    pub fn new(schema: Schema) -> Bus {
        Bus::with(schema, None)
    }

    /// A bus over NATS: `nats://host:port/PREFIX` (events on `PREFIX.TOPIC`). With
    /// `?jetstream=STREAM`, events are stored in that JetStream stream (created when absent,
    /// capturing `PREFIX.>`) and [`subscribe_durable`](Bus::subscribe_durable) reads them.
    pub async fn connect(uri: &str, schema: Schema) -> Result<Bus> {
        let (base, jetstream) = jetstream_query(uri)?;
        match base.parse::<Endpoint>()? {
            Endpoint::Nats(target) => {
                let remote = remote::Remote::connect(&target, jetstream.as_deref()).await?;
                Ok(Bus::with(schema, Some(remote)))
            }
            _ => Err(Error::new(
                Code::InvalidArgument,
                format!("a bus connects to nats://host:port/PREFIX, not {uri}"),
            )
            .with_reason("BAD_ENDPOINT")),
        }
    }

    /// The bus's JetStream and its subject prefix, when it has one.
    fn jetstream(&self) -> Option<(&jetstream::Js, &str)> {
        let remote = self.inner.remote.as_ref()?;
        Some((remote.js.as_ref()?, remote.target.prefix.as_str()))
    }

    fn with(schema: Schema, remote: Option<remote::Remote>) -> Bus {
        let topics = schema.topics().iter();
        let topics = topics.map(|(p, d)| (p.clone(), d.clone(), Arc::from(d.full_name())));
        let topics = RwLock::new(topics.collect());
        Bus {
            inner: Arc::new(Inner {
                schema,
                limits: Limits::default(),
                topics,
                routes: RwLock::new(HashMap::new()),
                local: local::Local::default(),
                remote,
            }),
        }
    }

    /// Declares that events on topics matching `pattern` are `message_type` messages (a full
    /// name from the schema). The first declaration a topic matches is its type; the schema's
    /// own (`option (hms.ffi.v1.topic)`) come first. Declaring a pattern again with the same
    /// type changes nothing; with another type it is `AlreadyExists` (`TOPIC_DECLARED`).
    pub fn declare(&self, pattern: &str, message_type: &str) -> Result<()> {
        topic::check_pattern(pattern)?;
        let desc = self.inner.schema.message(message_type).ok_or_else(|| {
            Error::new(
                Code::NotFound,
                format!("message type {message_type} is not in the schema"),
            )
        })?;
        let name: Arc<str> = Arc::from(desc.full_name());
        let mut topics = self.inner.topics.write().unwrap_or_else(|p| p.into_inner());
        match topics.iter().find(|(p, _, _)| p == pattern) {
            Some((_, _, n)) if *n == name => return Ok(()),
            Some((_, _, n)) => {
                return Err(Error::new(
                    Code::AlreadyExists,
                    format!("topic pattern {pattern} is already declared as {n}"),
                )
                .with_reason("TOPIC_DECLARED"))
            }
            None => topics.push((pattern.to_string(), desc, name)),
        }
        self.inner
            .routes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    /// The declared type of `topic`: `NotFound` when no declaration matches.
    fn type_of(&self, topic: &str) -> Result<(MessageDescriptor, Arc<str>)> {
        let topics = self.inner.topics.read().unwrap_or_else(|p| p.into_inner());
        topics
            .iter()
            .find(|(p, _, _)| topic::matches(p, topic))
            .map(|(_, d, n)| (d.clone(), n.clone()))
            .ok_or_else(|| {
                Error::new(Code::NotFound, format!("topic {topic} is not declared"))
                    .with_reason("UNDECLARED_TOPIC")
            })
    }

    /// Publishes `message` on `topic`, encoded as the topic's declared type.
    pub async fn publish(&self, topic: &str, message: &crate::value::Value) -> Result<()> {
        topic::check_topic(topic)?;
        let (desc, _) = self.type_of(topic)?;
        let bytes = Codec::Proto.encode(Some(&desc), message, self.inner.limits.max_depth)?;
        self.publish_encoded(topic, Bytes::from(bytes)).await
    }

    /// Publishes a message a binding encoded itself as the topic's declared type (subscribers
    /// decode and check it).
    pub async fn publish_encoded(&self, topic: &str, payload: Bytes) -> Result<()> {
        let (topic_arc, name) = self.route(topic)?;
        let max = self.inner.limits.max_message_bytes;
        if payload.len() > max {
            return Err(Error::resource_exhausted(
                "MESSAGE_TOO_LARGE",
                format!(
                    "event of {} bytes exceeds the limit of {max} bytes",
                    payload.len()
                ),
            ));
        }
        match &self.inner.remote {
            Some(r) => r.publish(topic, &name, payload).await,
            None => {
                self.inner.local.deliver(RawEvent {
                    topic: topic_arc,
                    message_type: Some(name),
                    codec: Codec::Proto,
                    payload,
                });
                Ok(())
            }
        }
    }

    /// The checked topic (shared) and its declared type name, from the route cache.
    fn route(&self, topic: &str) -> Result<Route> {
        let routes = &self.inner.routes;
        if let Some(r) = routes.read().unwrap_or_else(|p| p.into_inner()).get(topic) {
            return Ok(r.clone());
        }
        topic::check_topic(topic)?;
        let (_, name) = self.type_of(topic)?;
        let route = (Arc::<str>::from(topic), name);
        let mut routes = routes.write().unwrap_or_else(|p| p.into_inner());
        if routes.len() >= ROUTES {
            routes.clear();
        }
        routes.insert(topic.into(), route.clone());
        Ok(route)
    }

    /// Subscribes to `pattern`; with `queue`, the subscription shares the events with the other
    /// members of that queue group (each goes to one). Dropping it unsubscribes.
    pub async fn subscribe(&self, pattern: &str, queue: Option<&str>) -> Result<Subscription> {
        self.subscribe_pending(pattern, queue, DEFAULT_PENDING)
            .await
    }

    /// [`subscribe`](Bus::subscribe) holding at most `pending` events before it drops new ones.
    pub async fn subscribe_pending(
        &self,
        pattern: &str,
        queue: Option<&str>,
        pending: usize,
    ) -> Result<Subscription> {
        let (inbox, outbox) = local::queue(pending);
        self.subscribe_to(pattern, queue, inbox, outbox).await
    }

    /// Subscribes `handler` to `pattern`: it gets each event, undecoded
    /// ([`Subscription::decode`] checks it), on the publisher's thread in-process (or the NATS
    /// subscription's task), so it must be quick; it is never dropped for a full queue. The
    /// subscription returned has no events of its own (its `next` is `None`): keep it to stay
    /// subscribed, drop it to unsubscribe.
    pub async fn subscribe_with<F>(
        &self,
        pattern: &str,
        queue: Option<&str>,
        handler: F,
    ) -> Result<Subscription>
    where
        F: Fn(RawEvent) + Send + Sync + 'static,
    {
        let (_, outbox) = local::queue(1);
        let inbox = local::Inbox::Handler(Arc::new(handler));
        self.subscribe_to(pattern, queue, inbox, outbox).await
    }

    async fn subscribe_to(
        &self,
        pattern: &str,
        queue: Option<&str>,
        inbox: local::Inbox,
        outbox: local::Outbox,
    ) -> Result<Subscription> {
        topic::check_pattern(pattern)?;
        let end = match &self.inner.remote {
            Some(r) => subscription::End::Remote(r.subscribe(pattern, queue, inbox).await?),
            None => {
                let id = self.inner.local.add(pattern, queue, inbox);
                subscription::End::Local(self.clone(), id)
            }
        };
        Ok(Subscription::new(self.clone(), outbox, end))
    }

    fn unsubscribe_local(&self, id: u64) {
        self.inner.local.remove(id);
    }
}

/// Splits `?jetstream=STREAM` off a bus URI: the URI with the rest of its query (the
/// nats-server's credentials and TLS, which the endpoint's parser checks), and the stream.
fn jetstream_query(uri: &str) -> Result<(String, Option<String>)> {
    let Some((base, query)) = uri.split_once('?') else {
        return Ok((uri.to_string(), None));
    };
    let (mut rest, mut stream) = (Vec::new(), None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("jetstream", name)) if stream.is_none() && !name.is_empty() => {
                stream = Some(name.to_string());
            }
            Some(("jetstream", _)) | None if pair.starts_with("jetstream") => {
                return Err(Error::new(
                    Code::InvalidArgument,
                    format!("a bus URI takes one ?jetstream=STREAM, not ?{query}"),
                )
                .with_reason("BAD_ENDPOINT"));
            }
            _ => rest.push(pair),
        }
    }
    let base = match rest.is_empty() {
        true => base.to_string(),
        false => format!("{base}?{}", rest.join("&")),
    };
    Ok((base, stream))
}
