//! The one-pass wire reader gives exactly the value the general path (decode into a
//! `DynamicMessage`, then `from_message_with`) gives, and the writer the message or error
//! `to_message` gives: for every conformance request and reply,
//! for every two of them concatenated (protobuf's merge: repeated fields append, maps keep the
//! last value of a key, the last oneof member wins, messages merge), with both decode options,
//! and for broken bytes, which fail with the general path's error.

#![allow(clippy::unwrap_used)]

mod common;

use common::{conformance_schema, load_cases, notation};
use hms_ffi_core::codec::decode_proto;
use hms_ffi_core::mapping::{from_message_with, DecodeOptions};
use hms_ffi_core::{Codec, Value};
use prost_reflect::MessageDescriptor;

const OPTIONS: [DecodeOptions; 2] = [
    DecodeOptions {
        int64_as_bigint: false,
        mark_empty_objects: false,
    },
    DecodeOptions {
        int64_as_bigint: true,
        mark_empty_objects: true,
    },
];

/// Every message the conformance vectors send or expect back, with its type and case name.
fn conformance_values() -> Vec<(String, MessageDescriptor, Value)> {
    let schema = conformance_schema();
    let mut out = Vec::new();
    for case in load_cases() {
        let Some(info) = schema.method(&case.method) else {
            continue;
        };
        out.push((case.name.clone(), info.input(), case.request.clone()));
        if let Some(reply) = case.expect.get("reply") {
            out.push((case.name.clone(), info.output(), notation(reply)));
        }
    }
    out
}

/// Those of them that encode, encoded.
fn samples() -> Vec<(String, MessageDescriptor, Vec<u8>)> {
    conformance_values()
        .into_iter()
        .filter_map(|(name, desc, value)| {
            let bytes = Codec::Proto.encode(Some(&desc), &value, 64).ok()?;
            Some((name, desc, bytes))
        })
        .collect()
}

/// The general path's value, or its error text.
fn general(desc: &MessageDescriptor, bytes: &[u8], o: DecodeOptions) -> Result<String, String> {
    decode_proto(desc, bytes)
        .map(|m| format!("{:?}", from_message_with(&m, o)))
        .map_err(|e| e.to_string())
}

fn reader(desc: &MessageDescriptor, bytes: &[u8], o: DecodeOptions) -> Result<String, String> {
    Codec::Proto
        .decode_with(Some(desc), bytes, 64, o)
        .map(|v: Value| format!("{v:?}"))
        .map_err(|e| e.to_string())
}

#[test]
fn every_conformance_message_reads_the_same_both_ways() {
    let samples = samples();
    assert!(samples.len() > 150, "{} samples", samples.len());
    let mut differ = Vec::new();
    for (name, desc, bytes) in &samples {
        for o in OPTIONS {
            if reader(desc, bytes, o) != general(desc, bytes, o) {
                differ.push(format!("{name} ({o:?})"));
            }
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn merged_messages_read_the_same_both_ways() {
    let samples = samples();
    let mut differ = Vec::new();
    let mut merged = 0;
    for pair in samples.windows(2) {
        let ((a, da, ba), (b, db, bb)) = (&pair[0], &pair[1]);
        if da.full_name() != db.full_name() {
            continue;
        }
        let both = [ba.as_slice(), bb.as_slice()].concat();
        merged += 1;
        for o in OPTIONS {
            if reader(da, &both, o) != general(da, &both, o) {
                differ.push(format!("{a} + {b} ({o:?})"));
            }
        }
    }
    assert!(merged > 50, "{merged} merged pairs");
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn broken_bytes_fail_with_the_general_error() {
    let samples = samples();
    let mut checked = 0;
    for (name, desc, bytes) in samples.iter().filter(|s| s.2.len() > 4) {
        let truncated = &bytes[..bytes.len() - 1];
        let mut bad_tag = bytes.clone();
        bad_tag[0] = 0x07; // field 0 with wire type 7
        for broken in [truncated, bad_tag.as_slice()] {
            let (fast, slow) = (
                reader(desc, broken, OPTIONS[0]),
                general(desc, broken, OPTIONS[0]),
            );
            assert_eq!(fast, slow, "{name}");
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

/// The general path's bytes for a value, read back, or its error text.
fn general_encode(desc: &MessageDescriptor, value: &Value) -> Result<String, String> {
    let opts = hms_ffi_core::mapping::MapOptions {
        json: false,
        max_depth: 64,
    };
    hms_ffi_core::mapping::to_message(desc, value, &opts)
        .map(|m| format!("{:?}", from_message_with(&m, OPTIONS[0])))
        .map_err(|e| format!("{e} {:?}", e.field_violations()))
}

fn writer_encode(desc: &MessageDescriptor, value: &Value) -> Result<String, String> {
    Codec::Proto
        .encode(Some(desc), value, 64)
        .map(|b| {
            format!(
                "{:?}",
                from_message_with(&decode_proto(desc, &b).unwrap(), OPTIONS[0])
            )
        })
        .map_err(|e| format!("{e} {:?}", e.field_violations()))
}

#[test]
fn every_conformance_value_writes_the_general_message_or_error() {
    let (mut written, mut refused, mut differ) = (0, 0, Vec::new());
    for (name, desc, value) in conformance_values() {
        let (fast, slow) = (writer_encode(&desc, &value), general_encode(&desc, &value));
        if fast.is_ok() {
            written += 1;
        } else {
            refused += 1;
        }
        if fast != slow {
            differ.push(format!("{name}: {fast:?} != {slow:?}"));
        }
    }
    assert!(
        written > 150 && refused > 20,
        "{written} written, {refused} refused"
    );
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
