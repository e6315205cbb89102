//! Publish/subscribe with typed topics (the core's `bus`, `docs/messaging.md`): an in-process
//! bus or one over NATS, topics declared with message types, messages published as CBOR value
//! trees (or protobuf bytes naming their type), and subscriptions read with a blocking
//! [`hms_subscription_next`] that a timeout or [`hms_subscription_close`] (from any thread)
//! ends. Every rule — topic checks, typed decoding, `WRONG_MESSAGE_TYPE`, queue groups, drop
//! counting — is the core's; this file converts and maps errors.

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::error::{guard, obj, text, HmsError};
use crate::ocore::bus::{Bus, Next, SharedSubscription, DEFAULT_PENDING};
use crate::ocore::limits::DEFAULT_MAX_DEPTH;
use crate::ocore::mapping::{CborDoc, CborOut, Converters};
use crate::ocore::{runtime, Code, Error};
use crate::schema::HmsSchema;
use crate::{slice, HmsBytes, HmsFormat};

/// A bus; free it with [`hms_bus_free`]. Safe to use from many threads at once.
pub struct HmsBus {
    pub(crate) bus: Bus,
    pub(crate) converters: Converters,
}

/// A subscription; free it with [`hms_subscription_free`]. Safe to use from many threads at
/// once (one `next` waits at a time; the others queue behind it).
pub struct HmsSubscription {
    sub: SharedSubscription,
    converters: Converters,
}

impl std::fmt::Debug for HmsBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.bus.fmt(f)
    }
}

impl std::fmt::Debug for HmsSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sub.fmt(f)
    }
}

/// Stores `value`, boxed, in `*out` (`INVALID_ARGUMENT` when `out` is NULL).
pub(crate) unsafe fn store<T>(out: *mut *mut T, value: T) -> Result<(), Error> {
    let out = out
        .as_mut()
        .ok_or_else(|| Error::new(Code::InvalidArgument, "out is NULL"))?;
    *out = Box::into_raw(Box::new(value));
    Ok(())
}

/// An in-process bus over `schema`'s message types (no server, no socket: it sees only its own
/// subscriptions). `converters_json` names converters for custom domain types as
/// `hms_connect_all_expecting` does (NULL: none; docs/converters.md).
#[no_mangle]
pub unsafe extern "C" fn hms_bus_new(
    schema: *const HmsSchema,
    converters_json: *const c_char,
    out: *mut *mut HmsBus,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let schema = obj(schema, "schema")?.0.clone();
        let converters = crate::converters::registry(converters_json)?;
        store(
            out,
            HmsBus {
                bus: Bus::new(schema),
                converters,
            },
        )
    })
}

/// A bus over NATS: `uri` is `nats://host:port/PREFIX` (an event on topic `T` is a NATS
/// message on `PREFIX.T`). Blocks until connected: `UNAVAILABLE` when no nats-server answers,
/// `INVALID_ARGUMENT` for another scheme.
#[no_mangle]
pub unsafe extern "C" fn hms_bus_connect(
    uri: *const c_char,
    schema: *const HmsSchema,
    converters_json: *const c_char,
    out: *mut *mut HmsBus,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let uri = text(uri, "uri")?;
        let schema = obj(schema, "schema")?.0.clone();
        let converters = crate::converters::registry(converters_json)?;
        let bus = runtime::block_on(Bus::connect(uri, schema))??;
        store(out, HmsBus { bus, converters })
    })
}

/// Frees a bus (NULL-safe). Its subscriptions stay usable until they are freed.
#[no_mangle]
pub unsafe extern "C" fn hms_bus_free(bus: *mut HmsBus) {
    if !bus.is_null() {
        drop(Box::from_raw(bus));
    }
}

/// Declares that events on topics matching `pattern` (`*` one token, a final `>` the rest) are
/// `message_type` messages (a full name from the schema): `INVALID_ARGUMENT` **BAD_TOPIC** for
/// a bad pattern, `NOT_FOUND` for a type not in the schema.
#[no_mangle]
pub unsafe extern "C" fn hms_bus_declare(
    bus: *const HmsBus,
    pattern: *const c_char,
    message_type: *const c_char,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let b = obj(bus, "bus")?;
        b.bus.declare(
            text(pattern, "pattern")?,
            text(message_type, "message_type")?,
        )
    })
}

/// Publishes a message on `topic` (no wildcards), encoded as the topic's declared type.
/// With [`HmsFormat::Value`] `data` is a CBOR value tree checked like a request (a wrong field
/// is `INVALID_ARGUMENT` with its path) and `message_type` is ignored (NULL); with
/// [`HmsFormat::Proto`] `data` is protobuf bytes of `message_type` (a full name;
/// `INVALID_ARGUMENT` **WRONG_MESSAGE_TYPE** when the topic is declared another type). An
/// undeclared topic is `NOT_FOUND` **UNDECLARED_TOPIC**, a bad one `INVALID_ARGUMENT`
/// **BAD_TOPIC**.
#[no_mangle]
pub unsafe extern "C" fn hms_bus_publish(
    bus: *const HmsBus,
    topic: *const c_char,
    format: HmsFormat,
    message_type: *const c_char,
    data: *const u8,
    len: usize,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let b = obj(bus, "bus")?;
        let topic = text(topic, "topic")?;
        let data = slice(data, len);
        match format {
            HmsFormat::Value => {
                let doc = CborDoc::parse(data, DEFAULT_MAX_DEPTH)?;
                let bytes = b
                    .bus
                    .encode_input(topic, &doc.root(), Some(&b.converters))??;
                runtime::block_on(b.bus.publish_encoded(topic, bytes))?
            }
            HmsFormat::Proto => {
                let name = text(message_type, "message_type")?;
                let bytes = Bytes::copy_from_slice(data);
                runtime::block_on(b.bus.publish_proto(topic, name, bytes))?
            }
        }
    })
}

/// Subscribes to `pattern`; with `queue` (NULL: none) the subscription shares the events with
/// the queue group's other members, each event to one. It holds at most `pending` events (0:
/// 512 Ki, NATS's default) and drops and counts what comes while it is full
/// ([`hms_subscription_dropped`]).
#[no_mangle]
pub unsafe extern "C" fn hms_bus_subscribe(
    bus: *const HmsBus,
    pattern: *const c_char,
    queue: *const c_char,
    pending: usize,
    out: *mut *mut HmsSubscription,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let b = obj(bus, "bus")?;
        let pattern = text(pattern, "pattern")?;
        let queue = if queue.is_null() {
            None
        } else {
            Some(text(queue, "queue")?)
        };
        let pending = if pending == 0 {
            DEFAULT_PENDING
        } else {
            pending
        };
        let sub = runtime::block_on(b.bus.subscribe_pending(pattern, queue, pending))??;
        let sub = SharedSubscription::new(sub);
        let converters = b.converters.clone();
        store(out, HmsSubscription { sub, converters })
    })
}

/// Waits for the next event, at most `timeout_ms` milliseconds (< 0: until one comes or the
/// subscription is closed; 0: only looks). Returns 0 with `*topic` (UTF-8, not NUL-terminated)
/// and `*message` (a CBOR value tree, [`HmsFormat::Value`]) filled — free both with
/// `hms_bytes_free` — or 0 with `*topic` empty when the timeout passed, or 0 with `*end` true
/// once the subscription is closed. An event that fails the subscriber's check (its publisher
/// named another type: `INVALID_ARGUMENT` **WRONG_MESSAGE_TYPE**; bytes that do not decode)
/// returns its code with `*err` set: an error for that event only, the next call goes on.
#[no_mangle]
pub unsafe extern "C" fn hms_subscription_next(
    sub: *const HmsSubscription,
    timeout_ms: i64,
    topic: *mut HmsBytes,
    message: *mut HmsBytes,
    end: *mut bool,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let s = obj(sub, "subscription")?;
        let (Some(topic), Some(message), Some(end)) =
            (topic.as_mut(), message.as_mut(), end.as_mut())
        else {
            return Err(Error::new(
                Code::InvalidArgument,
                "topic, message or end is NULL",
            ));
        };
        *topic = HmsBytes::from_vec(Vec::new());
        *message = HmsBytes::from_vec(Vec::new());
        *end = false;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let next = s.sub.next_blocking(timeout, |sub, raw| {
            let mut out = CborOut::default();
            let options = crate::ocore::mapping::DecodeOptions::default();
            let span = sub.decode_output(&raw, options, Some(&s.converters), &mut out)??;
            Ok::<_, Error>((Arc::clone(&raw.topic), out.finish(span)))
        })?;
        match next {
            Next::Event(event) => {
                let (t, m) = event?;
                *topic = HmsBytes::from_vec(t.as_bytes().to_vec());
                *message = HmsBytes::from_vec(m);
            }
            Next::TimedOut => {}
            Next::Closed => *end = true,
        }
        Ok(())
    })
}

/// Events dropped because the subscription's queue was full (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn hms_subscription_dropped(sub: *const HmsSubscription) -> u64 {
    sub.as_ref().map_or(0, |s| s.sub.dropped())
}

/// Unsubscribes (NULL-safe, idempotent, from any thread, without waiting): a
/// [`hms_subscription_next`] in progress returns at once with `*end` true, and so does every
/// later one. Free the subscription once no call on it is in progress.
#[no_mangle]
pub unsafe extern "C" fn hms_subscription_close(sub: *const HmsSubscription) {
    if let Some(s) = sub.as_ref() {
        s.sub.close();
    }
}

/// Closes and frees a subscription (NULL-safe). No call on it may be in progress: close it
/// first, from another thread, to end a waiting [`hms_subscription_next`].
#[no_mangle]
pub unsafe extern "C" fn hms_subscription_free(sub: *mut HmsSubscription) {
    if !sub.is_null() {
        let s = Box::from_raw(sub);
        s.sub.close();
    }
}
