//! Property-based fuzzing of everything that reads bytes or values from a peer: the frame
//! decoder, protobuf/JSON/CBOR decoding and the value mapping. Nothing may panic; valid input
//! must round-trip. `make fuzz` runs it with many more cases (PROPTEST_CASES).

#![allow(clippy::unwrap_used)]

mod common;

use hms_ffi_core::codec::{decode_cbor, decode_proto, encode_cbor};
use hms_ffi_core::mapping::{
    from_message, json, to_message, CborDoc, CborOut, DecodeOptions, Input, MapOptions, ValueOut,
    View,
};
use hms_ffi_core::transport::frame::{self, Kind};
use hms_ffi_core::Codec;
use hms_ffi_core::{Schema, Value};
use proptest::prelude::*;
use prost::Message;
use std::sync::OnceLock;

fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(common::conformance_schema)
}

/// Every object of `input` shows the view the same object of `tree` shows.
fn same_views<I: Input>(input: I, tree: &Value) -> Result<(), TestCaseError> {
    match (input.view(), (&tree).view()) {
        (View::Float(a), View::Float(b)) if a.is_nan() => prop_assert!(b.is_nan()),
        (a, b) => prop_assert_eq!(a, b),
    }
    let items: Vec<I> = input.items().collect();
    let theirs: Vec<&Value> = (&tree).items().collect();
    prop_assert_eq!(items.len(), theirs.len());
    for (a, b) in items.into_iter().zip(theirs) {
        same_views(a, b)?;
    }
    let entries: Vec<(I, I)> = input.entries().collect();
    let theirs: Vec<(&Value, &Value)> = (&tree).entries().collect();
    prop_assert_eq!(entries.len(), theirs.len());
    prop_assert_eq!(input.len_hint(), (&tree).len_hint());
    for ((ka, va), (kb, vb)) in entries.into_iter().zip(theirs) {
        same_views(ka, kb)?;
        same_views(va, vb)?;
    }
    Ok(())
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<u64>().prop_map(Value::UInt),
        any::<f64>().prop_map(Value::Float),
        "[a-z_]{0,12}".prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(Value::Bytes),
        (-62_135_596_800i64..253_402_300_799, 0i32..1_000_000_000).prop_map(|(seconds, nanos)| {
            Value::Timestamp(hms_ffi_core::Timestamp { seconds, nanos })
        }),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("unicode_text".to_string()),
                        Just("weight_mg".to_string()),
                        Just("items".to_string()),
                        Just("counts".to_string()),
                        Just("by_id".to_string()),
                        Just("color".to_string()),
                        Just("meta".to_string()),
                        Just("any_value".to_string()),
                        Just("deep".to_string()),
                        Just("scalars".to_string()),
                        Just("at".to_string()),
                        Just("text".to_string()),
                        Just("number".to_string()),
                        Just("name".to_string()),
                        Just("price".to_string()),
                        "[a-z0-9]{1,6}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Map(
                kv.into_iter().map(|(k, v)| (Value::String(k), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn frame_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = frame::parse_frames(&bytes, 1 << 16);
    }

    #[test]
    fn call_head_prefix_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = frame::call_head_prefix(&bytes);
    }

    /// The head read from the first bytes of a CALL body — cut anywhere inside its payload —
    /// is the head that was sent.
    #[test]
    fn call_head_prefix_reads_the_head_before_any_payload(
        method in "[a-z.]{1,20}/[A-Z][a-z]{0,10}",
        key in "[a-z-]{1,10}",
        value in "[ -~]{0,20}",
        payload in prop::collection::vec(any::<u8>(), 1..300),
        cut in any::<prop::sample::Index>(),
    ) {
        use prost::Message;
        let head = frame::CallHead {
            method,
            timeout: Some(std::time::Duration::from_millis(1500)),
            metadata: [(key, value)].into_iter().collect(),
            codec: hms_ffi_core::Codec::Json,
            trace_id: "t1".into(),
            ..Default::default()
        };
        let body = head.to_header(payload.clone().into()).encode_to_vec();
        let payload_start = body.len() - payload.len();
        let end = payload_start + cut.index(payload.len());
        prop_assert_eq!(frame::call_head_prefix(&body[..end]), Some(head));
    }

    #[test]
    fn frames_round_trip(kind in 1u8..=7, stream in any::<u32>(), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let kind = match kind { 1 => Kind::Hello, 2 => Kind::Call, 3 => Kind::Message, 4 => Kind::End, 5 => Kind::Status, 6 => Kind::Cancel, _ => Kind::GoAway };
        let bytes = frame::encode_frame(kind, 0, stream, &body);
        match frame::parse_frames(&bytes, 1 << 16) {
            Ok(frames) => {
                prop_assert_eq!(frames.len(), 1);
                prop_assert_eq!(frames[0].header.stream, stream);
                prop_assert_eq!(&frames[0].body[..], &body[..]);
            }
            // Only a body that is not valid for its kind may be refused; a MESSAGE body is opaque.
            Err(e) => prop_assert!(matches!(e, frame::WireError::BadBody(_)) && kind != Kind::Message, "{}", e),
        }
    }

    #[test]
    fn proto_decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let desc = schema().message("hms.conformance.v1.AllTypes").unwrap();
        if let Ok(msg) = decode_proto(&desc, &bytes) {
            let _ = from_message(&msg);
        }
    }

    #[test]
    fn cbor_decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_cbor(&bytes, 64);
    }

    #[test]
    fn json_decoding_never_panics(text in "[\\[\\]{}\":,0-9a-zA-Z_ .eE+-]{0,64}") {
        let desc = schema().message("hms.conformance.v1.AllTypes").unwrap();
        let _ = json::message_from_json(&desc, &text, 64);
    }

    #[test]
    fn mapping_accepts_or_explains_and_round_trips(v in value()) {
        let desc = schema().message("hms.conformance.v1.AllTypes").unwrap();
        match to_message(&desc, &v, &MapOptions::default()) {
            Ok(msg) => {
                let back = decode_proto(&desc, &msg.encode_to_vec()).unwrap();
                // What comes out maps back in to the same message. (Compared after a wire round
                // trip, which normalizes map order and explicit defaults; DynamicMessage's Debug
                // recurses through recursive descriptors, so it is never printed.)
                let out = from_message(&back);
                let again = to_message(&desc, &out, &MapOptions::default()).unwrap();
                let back2 = decode_proto(&desc, &again.encode_to_vec()).unwrap();
                prop_assert!(back2 == back, "value round trip differs for {:?}", out);
            }
            Err(e) => {
                let code = e.code();
                prop_assert!(matches!(code, hms_ffi_core::Code::InvalidArgument | hms_ffi_core::Code::ResourceExhausted), "{}", e);
                if code == hms_ffi_core::Code::InvalidArgument {
                    prop_assert!(!e.field_violations().is_empty());
                }
            }
        }
    }

    /// The core's CBOR is read the same by an independent implementation (ciborium): its
    /// re-encoding (its own choices of float widths and lengths) decodes to the same value.
    #[test]
    fn cbor_agrees_with_an_independent_reader(v in value()) {
        let bytes = encode_cbor(&v).unwrap();
        let theirs: ciborium::Value = ciborium::de::from_reader(&bytes[..]).unwrap();
        let mut again = Vec::new();
        ciborium::ser::into_writer(&theirs, &mut again).unwrap();
        let ours = decode_cbor(&bytes, 64).unwrap();
        let via_theirs = decode_cbor(&again, 64).unwrap();
        prop_assert!(via_theirs == ours, "ciborium's re-encoding reads differently");
    }

    #[test]
    fn cbor_round_trips(v in value()) {
        let bytes = encode_cbor(&v).unwrap();
        let back = decode_cbor(&bytes, 64).unwrap();
        let again = encode_cbor(&back).unwrap();
        prop_assert_eq!(again, bytes);
    }

    /// CBOR read as the walks' input refuses exactly what `decode` refuses, with its error,
    /// and holds what `decode` reads: random bytes, and valid values with a byte changed.
    #[test]
    fn cbor_input_reads_what_decode_reads(
        v in value(),
        noise in prop::collection::vec(any::<u8>(), 0..64),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut changed = encode_cbor(&v).unwrap();
        let i = at.index(changed.len());
        changed[i] = byte;
        for bytes in [encode_cbor(&v).unwrap(), changed, noise] {
            let ours = CborDoc::parse(&bytes, 8);
            match (ours, decode_cbor(&bytes, 8)) {
                (Ok(doc), Ok(tree)) => {
                    same_views(doc.root(), &tree)?;
                    let again = doc.root().to_value().unwrap().into_owned();
                    prop_assert_eq!(encode_cbor(&again).unwrap(), encode_cbor(&tree).unwrap());
                }
                (Err(a), Err(b)) => prop_assert_eq!((a.code(), a.message()), (b.code(), b.message())),
                (a, b) => prop_assert!(false, "parse {:?} but decode {:?} for {:02x?}", a.map(|_| ()), b, bytes),
            }
        }
    }

    /// Protobuf walked from CBOR is the protobuf of the value `decode` reads, byte for byte
    /// (or the same error); CBOR written from protobuf is `encode` of the value the reader
    /// makes, with either decoding option.
    #[test]
    fn cbor_walks_agree_with_the_value_path(v in value()) {
        let desc = schema().message("hms.conformance.v1.AllTypes").unwrap();
        let bytes = encode_cbor(&v).unwrap();
        let doc = CborDoc::parse(&bytes, 64).unwrap();
        let walked = Codec::Proto.encode_input(Some(&desc), &doc.root(), 64).unwrap();
        let by_value = Codec::Proto.encode(Some(&desc), &decode_cbor(&bytes, 64).unwrap(), 64);
        match (walked, by_value) {
            (Ok(a), Ok(b)) => {
                // The same message (a Struct's entries are written in hash order either way).
                let read = |bytes: &[u8]| Codec::Proto.decode(Some(&desc), bytes, 64).unwrap();
                prop_assert_eq!(read(&a), read(&b));
                let bigint = DecodeOptions { int64_as_bigint: true, ..DecodeOptions::default() };
                for o in [DecodeOptions::default(), bigint] {
                    let mut out = CborOut::default();
                    let span = Codec::Proto.decode_output(Some(&desc), &a, 64, o, &mut out).unwrap().unwrap();
                    let tree = Codec::Proto.decode_output(Some(&desc), &a, 64, o, &mut ValueOut).unwrap().unwrap();
                    prop_assert_eq!(out.finish(span), encode_cbor(&tree).unwrap());
                }
            }
            (Err(a), Err(b)) => prop_assert_eq!((a.code(), a.message()), (b.code(), b.message())),
            (a, b) => prop_assert!(false, "walk {:?} but value path {:?}", a, b),
        }
    }
}
