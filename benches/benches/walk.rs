//! The Rust side of a Node or Go call's value path, one direction each way, for the payload
//! benches' Order (`benches/protos/orders.proto`) at about 64 B, 1 KiB and 64 KiB: CBOR from the
//! binding to protobuf, and protobuf back to CBOR for it.
//!
//! * `value tree`: what the bindings did before the one walk: CBOR → `Value` → protobuf, and
//!   protobuf → `Value` → CBOR (`cbor::decode`, `Codec::encode`, `Codec::decode_with`,
//!   `cbor::encode`).
//! * `cbor walk`: `mapping::CborDoc` → protobuf and protobuf → `mapping::CborOut`, no `Value`.
//!
//! `cargo bench -p hms-ffi-benches --bench walk`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hms_ffi_core::codec::{decode_cbor, encode_cbor};
use hms_ffi_core::mapping::{CborDoc, CborOut, DecodeOptions};
use hms_ffi_core::{Codec, Schema, Value};
use std::hint::black_box;

const DEPTH: usize = 64;

/// As Node reads values: 64-bit integers as bignums.
const FOR_JS: DecodeOptions = DecodeOptions {
    int64_as_bigint: true,
    mark_empty_objects: false,
};

fn text(s: &str) -> Value {
    Value::String(s.to_string())
}

/// An Order of about `size` bytes on the wire, as the Node and Go payload benches build it.
fn order(size: usize) -> Value {
    let mut fields = vec![(text("id"), text("order-0001"))];
    if size < 100 {
        fields.push((text("payload"), Value::Bytes(vec![0; size - 16])));
        fields.push((text("status"), Value::Int(2)));
        return Value::Map(fields);
    }
    let items = (0..size / 100)
        .map(|i| {
            Value::Map(vec![
                (text("name"), text(&format!("item number {i}"))),
                (text("id"), Value::Int(1_000_000 + i as i64)),
                (text("price"), Value::Float(9.99 + i as f64)),
                (
                    text("tags"),
                    Value::List(vec![text("red"), text("large"), text(&format!("t{i}"))]),
                ),
                (
                    text("blob"),
                    Value::Bytes((0..48).map(|j| (i % 7 + j) as u8).collect()),
                ),
            ])
        })
        .collect();
    fields.push((text("items"), Value::List(items)));
    fields.push((
        text("labels"),
        Value::Map(vec![
            (text("region"), text("eu-west")),
            (text("tier"), text("gold")),
        ]),
    ));
    fields.push((text("payload"), Value::Bytes(vec![0; 16])));
    fields.push((text("status"), Value::Int(2)));
    Value::Map(fields)
}

fn walk(c: &mut Criterion) {
    let proto = include_str!("../protos/orders.proto");
    let schema = Schema::from_source("orders.proto", proto).expect("the bench schema compiles");
    let desc = schema.message("bench.v1.Order").expect("Order");
    let mut g = c.benchmark_group("walk");
    for size in [64, 1024, 65536] {
        let cbor = encode_cbor(&order(size)).expect("CBOR");
        let pb = Codec::Proto
            .encode(
                Some(&desc),
                &decode_cbor(&cbor, DEPTH).expect("read"),
                DEPTH,
            )
            .expect("an Order");
        g.bench_with_input(
            BenchmarkId::new("to protobuf, value tree", size),
            &cbor,
            |b, cbor| {
                b.iter(|| {
                    let v = decode_cbor(black_box(cbor), DEPTH).expect("read");
                    Codec::Proto
                        .encode(Some(&desc), &v, DEPTH)
                        .expect("an Order")
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("to protobuf, cbor walk", size),
            &cbor,
            |b, cbor| {
                b.iter(|| {
                    let doc = CborDoc::parse(black_box(cbor), DEPTH).expect("read");
                    let out = Codec::Proto.encode_input(Some(&desc), &doc.root(), DEPTH);
                    out.expect("no binding error").expect("an Order")
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("to CBOR, value tree", size),
            &pb,
            |b, pb| {
                b.iter(|| {
                    let v = Codec::Proto
                        .decode_with(Some(&desc), black_box(pb), DEPTH, FOR_JS)
                        .expect("an Order");
                    encode_cbor(&v).expect("CBOR")
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("to CBOR, cbor walk", size),
            &pb,
            |b, pb| {
                b.iter(|| {
                    let mut out = CborOut::default();
                    let span = Codec::Proto
                        .decode_output(Some(&desc), black_box(pb), DEPTH, FOR_JS, &mut out)
                        .expect("no binding error")
                        .expect("an Order");
                    out.finish(span)
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, walk);
criterion_main!(benches);
