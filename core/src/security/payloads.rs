//! The messages of a call, for an audit log that records payloads (`[audit] payloads = true`).
//!
//! The dispatcher keeps a unary call's request and reply bytes in its [`Context`]'s extensions
//! (as an `Arc<CallPayloads>`) only when the server's audit log asks for them; the audit thread — never the call path — turns them into
//! JSON: protobuf JSON when the message type is known (proto codec), the text itself for the
//! JSON codec, and base64 (`request_base64`, `response_base64`) for anything else (CBOR, bytes
//! that do not decode).
//!
//! [`Context`]: crate::Context

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use prost_reflect::{DynamicMessage, MessageDescriptor};

use crate::codec::Codec;

/// The request and reply of one unary call, as the server received and sent them.
#[derive(Debug, Clone)]
pub struct CallPayloads {
    /// The codec both messages are in.
    pub codec: Codec,
    /// The request's bytes.
    pub request: Bytes,
    /// The reply's bytes; `None` when the call failed.
    pub response: Option<Bytes>,
    /// The request's message type, for methods with a schema.
    pub input: Option<MessageDescriptor>,
    /// The reply's message type, for methods with a schema.
    pub output: Option<MessageDescriptor>,
}

impl CallPayloads {
    /// The payloads of the call of `ctx`, in interceptors' `after` hooks, when the server's audit
    /// log records payloads (`[audit] payloads = true`); otherwise `None`.
    pub fn of(ctx: &crate::Context) -> Option<&CallPayloads> {
        ctx.extensions()
            .get::<std::sync::Arc<CallPayloads>>()
            .map(|p| &**p)
    }

    /// Adds `request` and `response` (or their `_base64` forms) to an audit line.
    pub fn write_to(&self, line: &mut serde_json::Value) {
        put(
            line,
            "request",
            self.codec,
            &self.request,
            self.input.as_ref(),
        );
        if let Some(response) = &self.response {
            put(line, "response", self.codec, response, self.output.as_ref());
        }
    }
}

fn put(
    line: &mut serde_json::Value,
    key: &str,
    codec: Codec,
    bytes: &[u8],
    desc: Option<&MessageDescriptor>,
) {
    let json = match (codec, desc) {
        (Codec::Json, _) => serde_json::from_slice::<serde_json::Value>(bytes).ok(),
        (Codec::Proto, Some(desc)) => DynamicMessage::decode(desc.clone(), bytes)
            .ok()
            .and_then(|m| serde_json::to_value(&m).ok()),
        _ => None,
    };
    match json {
        Some(v) => line[key] = v,
        None => line[format!("{key}_base64")] = STANDARD.encode(bytes).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> crate::Schema {
        crate::Schema::from_source(
            "t.proto",
            "syntax = \"proto3\"; package t; message M { string name = 1; int64 n = 2; }",
        )
        .unwrap()
    }

    #[test]
    fn proto_bytes_become_protobuf_json_and_the_rest_base64() {
        let desc = schema().message("t.M").unwrap();
        let mut msg = DynamicMessage::new(desc.clone());
        msg.set_field_by_name("name", prost_reflect::Value::String("ada".into()));
        msg.set_field_by_name("n", prost_reflect::Value::I64(7));
        let bytes = Bytes::from(prost::Message::encode_to_vec(&msg));
        let p = CallPayloads {
            codec: Codec::Proto,
            request: bytes,
            response: Some(Bytes::from_static(b"\xff\xff")),
            input: Some(desc.clone()),
            output: Some(desc),
        };
        let mut line = serde_json::json!({});
        p.write_to(&mut line);
        assert_eq!(
            line["request"],
            serde_json::json!({"name": "ada", "n": "7"})
        );
        assert_eq!(line["response_base64"], "//8=");
        assert!(line.get("response").is_none());
    }

    #[test]
    fn json_text_is_kept_and_a_failed_call_has_no_response() {
        let p = CallPayloads {
            codec: Codec::Json,
            request: Bytes::from_static(br#"{"name":"ada"}"#),
            response: None,
            input: None,
            output: None,
        };
        let mut line = serde_json::json!({});
        p.write_to(&mut line);
        assert_eq!(line, serde_json::json!({"request": {"name": "ada"}}));
    }
}
