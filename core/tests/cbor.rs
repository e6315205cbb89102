//! The core's CBOR reader and writer (`hms_ffi_core::cbor`) on the encodings other
//! implementations produce: half floats, indefinite lengths, the tags hms-ffi gives meaning to,
//! and the inputs it must refuse without allocating what a length claims.

#![allow(clippy::unwrap_used)]

use hms_ffi_core::cbor::{decode, encode};
use hms_ffi_core::{Code, Value};

fn read(hex: &str) -> hms_ffi_core::Result<Value> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    decode(&bytes, 64)
}

fn s(x: &str) -> Value {
    Value::String(x.into())
}

#[test]
fn integers_floats_and_simple_values() {
    assert_eq!(read("17").unwrap(), Value::Int(23));
    assert_eq!(read("3903e7").unwrap(), Value::Int(-1000));
    assert_eq!(read("1bffffffffffffffff").unwrap(), Value::UInt(u64::MAX));
    assert_eq!(
        read("3bffffffffffffffff").unwrap(),
        Value::BigInt("-18446744073709551616".into())
    );
    assert_eq!(read("f93c00").unwrap(), Value::Float(1.0));
    assert_eq!(read("f9c400").unwrap(), Value::Float(-4.0));
    assert_eq!(read("f90001").unwrap(), Value::Float(5.960464477539063e-8));
    assert_eq!(read("f97c00").unwrap(), Value::Float(f64::INFINITY));
    assert!(matches!(read("f97e00").unwrap(), Value::Float(x) if x.is_nan()));
    assert_eq!(read("fa47c35000").unwrap(), Value::Float(100000.0));
    assert_eq!(read("f5").unwrap(), Value::Bool(true));
    assert_eq!(read("f6").unwrap(), Value::Null);
    assert_eq!(read("f7").unwrap(), Value::Null, "undefined");
}

#[test]
fn indefinite_lengths_are_read() {
    assert_eq!(
        read("9f018202039f0405ffff").unwrap(),
        Value::List(vec![
            Value::Int(1),
            Value::List(vec![Value::Int(2), Value::Int(3)]),
            Value::List(vec![Value::Int(4), Value::Int(5)]),
        ])
    );
    assert_eq!(
        read("bf61610161629f0203ffff").unwrap(),
        Value::Map(vec![
            (s("a"), Value::Int(1)),
            (s("b"), Value::List(vec![Value::Int(2), Value::Int(3)])),
        ])
    );
    assert_eq!(read("7f657374726561646d696e67ff").unwrap(), s("streaming"));
    assert_eq!(
        read("5f42010243030405ff").unwrap(),
        Value::Bytes(vec![1, 2, 3, 4, 5])
    );
}

#[test]
fn tags_for_times_durations_and_bignums() {
    let ts = Value::Timestamp(hms_ffi_core::value::Timestamp {
        seconds: 1_363_896_240,
        nanos: 500_000_000,
    });
    assert_eq!(read("c1fb41d452d9ec200000").unwrap(), ts, "epoch float");
    assert_eq!(
        read("c074323031332d30332d32315432303a30343a30305a").unwrap(),
        Value::Timestamp(hms_ffi_core::value::Timestamp {
            seconds: 1_363_896_240,
            nanos: 0
        })
    );
    // {1: 90, -9: 5}
    assert_eq!(
        read("d903eaa201185a2805").unwrap(),
        Value::Duration(hms_ffi_core::value::Duration {
            seconds: 90,
            nanos: 5
        })
    );
    assert_eq!(
        read("c249010000000000000000").unwrap(),
        Value::BigInt("18446744073709551616".into())
    );
    assert_eq!(read("c34100").unwrap(), Value::Int(-1));
    // An unknown tag is its content.
    assert_eq!(
        read("d82076687474703a2f2f7777772e6578616d706c652e636f6d").unwrap(),
        s("http://www.example.com")
    );
}

#[test]
fn what_is_written_reads_back() {
    let v = Value::Map(vec![
        (s("n"), Value::Int(i64::MIN)),
        (s("u"), Value::UInt(u64::MAX)),
        (s("big"), Value::BigInt("-9223372036854775808".into())),
        (s("f"), Value::Float(0.1)),
        (s("g"), Value::Float(1.5)),
        (s("b"), Value::Bytes(vec![0; 300])),
        (
            s("t"),
            Value::Timestamp(hms_ffi_core::value::Timestamp {
                seconds: -1,
                nanos: 7,
            }),
        ),
        (
            s("d"),
            Value::Duration(hms_ffi_core::value::Duration {
                seconds: -3,
                nanos: -9,
            }),
        ),
        (
            s("l"),
            Value::List(vec![
                Value::Null,
                Value::Bool(false),
                s("x".repeat(70_000).as_str()),
            ]),
        ),
    ]);
    let bytes = encode(&v).unwrap();
    // 1.5 fits an f32 exactly; 0.1 does not.
    assert!(bytes.windows(5).any(|w| w == [0xfa, 0x3f, 0xc0, 0, 0]));
    assert!(bytes
        .windows(9)
        .any(|w| w == [0xfb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]));
    let back = decode(&bytes, 64).unwrap();
    // A bignum of 64-bit range reads back as the integer it is.
    let Value::Map(entries) = back else { panic!() };
    assert_eq!(entries[2].1, Value::Int(i64::MIN));
    assert_eq!(
        entries[8],
        (
            s("l"),
            Value::List(vec![
                Value::Null,
                Value::Bool(false),
                s("x".repeat(70_000).as_str())
            ])
        )
    );
}

#[test]
fn bad_bytes_are_refused_with_a_reason() {
    for (hex, what) in [
        ("", "unexpected end"),
        ("1a0001", "unexpected end"),
        ("9b00000000ffffffff01", "unexpected end"),
        ("5bffffffffffffffff00", "unexpected end"),
        ("62c328", "not UTF-8"),
        ("ff", "break outside"),
        ("1c", "reserved"),
        ("5f6161ff", "another type"),
        ("9f01", "unexpected end"),
    ] {
        let e = read(hex).unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{hex}");
        assert!(e.message().contains(what), "{hex}: {}", e.message());
    }
}

#[test]
fn nesting_past_the_limit_is_resource_exhausted() {
    let mut deep = vec![0x81u8; 70];
    deep.push(0x01);
    let e = decode(&deep, 64).unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    let info = e.details().error_info.as_ref().unwrap();
    assert_eq!(info.reason, "NESTING_TOO_DEEP");
    let mut ok = vec![0x81u8; 64];
    ok.push(0x01);
    assert!(decode(&ok, 64).is_ok());
}

#[test]
fn an_unsupported_value_cannot_be_written() {
    let e = encode(&Value::Unsupported("Foo".into())).unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}
