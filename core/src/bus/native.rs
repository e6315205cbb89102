//! The bus for bindings that walk their own objects (with [`Bus::encode_input`] in `shared.rs`):
//! protobuf bytes the binding made itself with their type's name checked, and an event decoded
//! straight into the binding's objects ([`Output`]) — one walk each way, no [`Value`](crate::Value) tree in
//! between, and the same checks as [`Bus::publish`] and [`Subscription::decode`].

use std::sync::Arc;

use bytes::Bytes;
use prost_reflect::MessageDescriptor;

use super::{Bus, RawEvent, Subscription};
use crate::error::{Code, Error, Result};
use crate::exchange::NativeResult;
use crate::mapping::{Converters, DecodeOptions, Output};

/// The error of an event (or a message published) whose type is not the topic's declared one.
pub(super) fn wrong_type(topic: &str, sent: &str, declared: &str) -> Error {
    Error::new(
        Code::InvalidArgument,
        format!("event on {topic} is a {sent}, the topic's declared type is {declared}"),
    )
    .with_reason("WRONG_MESSAGE_TYPE")
}

impl Bus {
    /// Publishes protobuf bytes of `message_type` (a full name) that a binding encoded from its
    /// own generated message: `INVALID_ARGUMENT` **WRONG_MESSAGE_TYPE** when the topic is
    /// declared with another type, else as [`publish_encoded`](Bus::publish_encoded).
    pub async fn publish_proto(
        &self,
        topic: &str,
        message_type: &str,
        payload: Bytes,
    ) -> Result<()> {
        let (_, declared) = self.route(topic)?;
        if *declared != *message_type {
            return Err(wrong_type(topic, message_type, &declared));
        }
        self.publish_encoded(topic, payload).await
    }
}

impl Bus {
    /// This bus's declared type of `raw`'s topic, checked against the type its publisher named
    /// and the size limit.
    pub(crate) fn check_event(&self, raw: &RawEvent) -> Result<(MessageDescriptor, Arc<str>)> {
        let (desc, name) = self.type_of(&raw.topic)?;
        if let Some(sent) = &raw.message_type {
            if **sent != *name {
                return Err(wrong_type(&raw.topic, sent, &name));
            }
        }
        let limits = &self.inner.limits;
        if raw.payload.len() > limits.max_message_bytes {
            return Err(Error::resource_exhausted(
                "MESSAGE_TOO_LARGE",
                format!("event of {} bytes on {}", raw.payload.len(), raw.topic),
            ));
        }
        Ok((desc, name))
    }

    /// An event decoded straight into a binding's objects, after [`check_event`](Bus::check_event).
    pub(crate) fn decode_event_output<O: Output>(
        &self,
        raw: &RawEvent,
        options: DecodeOptions,
        converters: Option<&Converters>,
        out: &mut O,
    ) -> NativeResult<O::Node, O::Error> {
        let desc = match self.check_event(raw) {
            Ok((desc, _)) => desc,
            Err(e) => return Ok(Err(e)),
        };
        let max_depth = self.inner.limits.max_depth;
        raw.codec.decode_converted(
            Some(&desc),
            &raw.payload,
            max_depth,
            options,
            converters,
            out,
        )
    }

    /// An event decoded and checked against this bus's declared type of its topic.
    pub(crate) fn decode_event(&self, raw: RawEvent) -> Result<super::Event> {
        let (_, name) = self.check_event(&raw)?;
        let out = &mut crate::mapping::ValueOut;
        let options = DecodeOptions::default();
        let message = crate::codec::never(self.decode_event_output(&raw, options, None, out))?;
        Ok(super::Event {
            topic: raw.topic,
            message_type: name,
            message,
        })
    }
}

impl Subscription {
    /// [`decode`](Subscription::decode) straight into a binding's own objects, through
    /// `converters` when given: the same checks, each failure an error for this event only. The
    /// outer error is the binding failing to make its objects.
    pub fn decode_output<O: Output>(
        &self,
        raw: &RawEvent,
        converters: Option<&Converters>,
        out: &mut O,
    ) -> NativeResult<O::Node, O::Error> {
        let options = DecodeOptions::default();
        self.bus.decode_event_output(raw, options, converters, out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::mapping::ValueOut;
    use crate::{Schema, Value};

    fn bus() -> Bus {
        let schema = Schema::from_source(
            "t.proto",
            "syntax = \"proto3\"; package t.v1; message A { string id = 1; } message B { int64 n = 1; }",
        )
        .unwrap();
        let bus = Bus::new(schema);
        bus.declare("a.*", "t.v1.A").unwrap();
        bus
    }

    fn never<T>(r: std::result::Result<T, std::convert::Infallible>) -> T {
        r.unwrap_or_else(|e| match e {})
    }

    #[test]
    fn encode_input_checks_topic_declaration_and_fields() {
        let bus = bus();
        let ok = Value::message([("id", Value::from("x"))]);
        assert!(never(bus.encode_input("a.eu", &&ok, None)).is_ok());
        let code = |t: &str, v: &Value| never(bus.encode_input(t, &v, None)).unwrap_err().code();
        assert_eq!(code("a.*", &ok), Code::InvalidArgument);
        assert_eq!(code("b.eu", &ok), Code::NotFound);
        let bad = Value::message([("id", Value::from(5i64))]);
        assert_eq!(code("a.eu", &bad), Code::InvalidArgument);
    }

    #[test]
    fn proto_bytes_of_another_type_are_refused_and_decoded_events_are_checked() {
        let bus = bus();
        crate::runtime::block_on(async {
            let mut sub = bus.subscribe("a.>", None).await.unwrap();
            let e = bus.publish_proto("a.eu", "t.v1.B", Bytes::new()).await;
            let e = e.unwrap_err();
            assert_eq!(
                e.details().error_info.as_ref().unwrap().reason,
                "WRONG_MESSAGE_TYPE"
            );
            let bytes =
                never(bus.encode_input("a.eu", &&Value::message([("id", Value::from("q"))]), None));
            bus.publish_proto("a.eu", "t.v1.A", bytes.unwrap())
                .await
                .unwrap();
            let raw = sub.next_raw().await.unwrap();
            let v = never(sub.decode_output(&raw, None, &mut ValueOut)).unwrap();
            assert_eq!(v.get("id"), Some(&Value::from("q")));
            let other = RawEvent {
                message_type: Some(Arc::from("t.v1.B")),
                ..raw
            };
            let e = never(sub.decode_output(&other, None, &mut ValueOut)).unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument);
        })
        .unwrap();
    }
}
