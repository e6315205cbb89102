//! Tests of the one-pass reader (`wire.rs`) and writer (`wire_out.rs`): what they read and
//! write matches the general path exactly, and what they do not handle is left to it.

mod reader {
    use crate::codec::{decode_proto, Codec};
    use crate::mapping::output::ValueOut;
    use crate::mapping::wire::decode;
    use crate::mapping::wire_fixture::{all, value, EVERY_FIELD};
    use crate::mapping::{from_message_with, DecodeOptions};

    #[test]
    fn valid_messages_are_read_in_one_pass_as_the_general_path_reads_them() {
        let desc = all();
        let v = value(EVERY_FIELD);
        let bytes = Codec::Proto.encode(Some(&desc), &v, 64).unwrap();
        for o in [
            DecodeOptions::default(),
            DecodeOptions {
                int64_as_bigint: true,
                mark_empty_objects: true,
            },
        ] {
            let fast = decode(&desc, &bytes, 64, o, None, &mut ValueOut).expect("read in one pass");
            let general = from_message_with(&decode_proto(&desc, &bytes).unwrap(), o);
            assert_eq!(format!("{fast:?}"), format!("{general:?}"));
        }
        // An empty message: every field at its default, presence fields null.
        let fast = decode(
            &desc,
            &[],
            64,
            DecodeOptions::default(),
            None,
            &mut ValueOut,
        )
        .unwrap();
        let general =
            from_message_with(&decode_proto(&desc, &[]).unwrap(), DecodeOptions::default());
        assert_eq!(format!("{fast:?}"), format!("{general:?}"));
    }

    #[test]
    fn what_it_does_not_read_is_left_to_the_general_path() {
        let desc = all();
        let o = DecodeOptions::default();
        let inner = Codec::Proto
            .encode(Some(&desc), &value(r#"{"inner": {"s": "x"}}"#), 64)
            .unwrap();
        // A singular message twice is merged by protobuf.
        assert!(decode(
            &desc,
            &[inner.clone(), inner.clone()].concat(),
            64,
            o,
            None,
            &mut ValueOut
        )
        .is_none());
        // Broken bytes, and nesting past the limit.
        assert!(decode(&desc, &inner[..inner.len() - 1], 64, o, None, &mut ValueOut).is_none());
        assert!(decode(&desc, &inner, 1, o, None, &mut ValueOut).is_none());
        assert!(decode(&desc, &inner, 2, o, None, &mut ValueOut).is_some());
    }
}

mod writer {
    use crate::codec::decode_proto;
    use crate::mapping::wire_fixture::{all, value, EVERY_FIELD};
    use crate::mapping::wire_out::encode;
    use crate::mapping::{from_message, to_message, MapOptions};
    use crate::value::Value;

    #[test]
    fn plainly_valid_values_are_written_in_one_pass_as_to_message_writes_them() {
        let desc = all();
        // Two fields given twice: left to to_message (which keeps the last).
        let Value::Map(mut entries) = value(EVERY_FIELD) else {
            unreachable!()
        };
        entries.push((Value::from("text"), Value::from("")));
        entries.push((Value::from("i32"), Value::Int(0)));
        let v = Value::Map(entries);
        assert!(encode(&desc, &&v, 64, None).is_none());
        let Value::Map(mut entries) = v else {
            unreachable!()
        };
        entries.truncate(entries.len() - 2);
        // Integer map keys as a binding gives them (the notation's keys are all text).
        let by_id = entries
            .iter_mut()
            .find(|(k, _)| *k == Value::from("by_id"))
            .unwrap();
        by_id.1 = Value::Map(vec![
            (Value::Int(7), value(r#"{"s": "seven"}"#)),
            (Value::Int(-1), Value::Map(Vec::new())),
        ]);
        let v = Value::Map(entries);
        let fast = encode(&desc, &&v, 64, None).expect("written in one pass");
        let general = to_message(&desc, &v, &MapOptions::default()).unwrap();
        assert_eq!(
            format!("{:?}", from_message(&decode_proto(&desc, &fast).unwrap())),
            format!("{:?}", from_message(&general))
        );
        // Signed zeros and NaN come back as the general path gives them.
        for d in [-0.0, 0.0, f64::NAN, f64::INFINITY] {
            let v = Value::Map(vec![
                (Value::from("d"), Value::Float(d)),
                (Value::from("f"), Value::Float(d)),
            ]);
            let fast = encode(&desc, &&v, 64, None).expect("written in one pass");
            let general = to_message(&desc, &v, &MapOptions::default()).unwrap();
            assert_eq!(
                format!("{:?}", from_message(&decode_proto(&desc, &fast).unwrap())),
                format!("{:?}", from_message(&general)),
                "{d}"
            );
        }
        // Defaults of fields without presence are left out; `maybe` (optional) is kept.
        let zero = encode(
            &desc,
            &&value(r#"{"i32": 0, "text": "", "maybe": 0}"#),
            64,
            None,
        )
        .unwrap();
        assert_eq!(zero, vec![0x98, 0x01, 0], "only field 19, as 0");
    }

    /// Nested messages, packed lists and map entries are written in place after a one-byte
    /// length that grows when the content is longer: bytes equal to prost's at 127, 128, 16383
    /// and 16384 bytes of content and beyond.
    #[test]
    fn long_nested_content_gets_its_whole_length() {
        use prost::Message;
        let desc = all();
        for n in [
            0, 1, 124, 125, 126, 127, 16_380, 16_381, 16_382, 20_000, 2_100_000,
        ] {
            let text = "x".repeat(n);
            let inner = Value::Map(vec![(Value::from("s"), Value::from(text.as_str()))]);
            let v = Value::Map(vec![
                (Value::from("inner"), inner.clone()),
                (
                    Value::from("packed"),
                    Value::List(vec![Value::Int(-1); n / 16]),
                ),
                (
                    Value::from("by_id"),
                    Value::Map(vec![(Value::Int(3), inner)]),
                ),
            ]);
            let fast = encode(&desc, &&v, 64, None).expect("written in one pass");
            let general = to_message(&desc, &v, &MapOptions::default()).unwrap();
            assert_eq!(fast, general.encode_to_vec(), "{n} bytes");
        }
    }

    #[test]
    fn what_needs_converting_or_refusing_is_left_to_to_message() {
        let desc = all();
        for text in [
            r#"{"i32": 1.0}"#,
            r#"{"i32": 3000000000}"#,
            r#"{"text": 0}"#,
            r#"{"color": "BLUE"}"#,
            r#"{"name": "a", "number": 1}"#,
            r#"{"packed": [1, null]}"#,
            r#"{"nope": 1}"#,
            r#"{"counts": {"7": "x"}}"#,
            r#"{"by_id": {"seven": {}}}"#,
        ] {
            assert!(encode(&desc, &&value(text), 64, None).is_none(), "{text}");
        }
        let nested = value(r#"{"inner": {"s": "x"}}"#);
        assert!(encode(&desc, &&nested, 1, None).is_none());
        assert!(encode(&desc, &&nested, 2, None).is_some());
    }
}
