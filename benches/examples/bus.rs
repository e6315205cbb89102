//! In-process pub/sub throughput (issue 22's target: ≥ 5 M events/s of 64 B in Rust): one
//! publisher task, one subscriber task on a two-worker runtime; events delivered per second
//! from the first publish to the last event received, and how many a full queue dropped.
//!
//! ```text
//! cargo run --release -p hms-ffi-benches --example bus [-- EVENTS]
//! ```
//!
//! Three lanes: `encoded` (the publisher hands the bus 64 encoded bytes, the subscriber task
//! reads them raw: the bus's own cost), `handler` (the same to a `subscribe_with` handler, which
//! runs on the publisher's thread: no hand-over) and `typed` (the publisher encodes a `Value`
//! through the topic's type, the subscriber decodes and checks each event).

use std::time::Instant;

use bytes::Bytes;
use hms_ffi_core::bus::{Bus, DEFAULT_PENDING};
use hms_ffi_core::{Codec, Schema, Value};

const PROTO: &str = r#"
    syntax = "proto3"; package bench.v1;
    message Tick { bytes data = 1; }
"#;

fn internal(why: impl Into<String>) -> hms_ffi_core::Error {
    hms_ffi_core::Error::new(hms_ffi_core::Code::Internal, why)
}

fn main() -> hms_ffi_core::Result<()> {
    let events: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let schema = Schema::from_source("bench.proto", PROTO)?;
        let tick = schema
            .message("bench.v1.Tick")
            .ok_or_else(|| internal("no Tick"))?;
        let value = Value::message([("data", Value::Bytes(vec![7u8; 62]))]);
        let payload = Bytes::from(Codec::Proto.encode(Some(&tick), &value, 64)?);
        assert_eq!(payload.len(), 64);
        let bus = Bus::new(schema);
        bus.declare("ticks.>", "bench.v1.Tick")?;

        // The publisher's own cost: no subscriber.
        let started = Instant::now();
        for _ in 0..events {
            bus.publish_encoded("ticks.a", payload.clone()).await?;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "publish, no subscriber: {:.0} ns/event",
            secs * 1e9 / events as f64
        );

        // Encoded lane.
        let mut sub = bus.subscribe("ticks.*", None).await?;
        let started = Instant::now();
        let publisher = {
            let (bus, payload) = (bus.clone(), payload.clone());
            tokio::spawn(async move {
                for _ in 0..events {
                    bus.publish_encoded("ticks.a", payload.clone()).await?;
                }
                Ok::<_, hms_ffi_core::Error>(())
            })
        };
        let mut got = 0u64;
        while got + sub.dropped() < events {
            match tokio::time::timeout(std::time::Duration::from_secs(5), sub.next_raw()).await {
                Ok(Some(_)) => got += 1,
                _ => break,
            }
        }
        let secs = started.elapsed().as_secs_f64();
        publisher.await.map_err(|e| internal(e.to_string()))??;
        println!(
            "encoded: {got} of {events} events of 64 B in {secs:.3} s: {:.2} M delivered/s ({} dropped, pending limit {DEFAULT_PENDING})",
            got as f64 / secs / 1e6,
            sub.dropped()
        );
        drop(sub);

        // Handler lane: the subscriber's handler runs on the publisher's thread.
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = seen.clone();
        let handler = bus
            .subscribe_with("ticks.*", None, move |_| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
            .await?;
        let started = Instant::now();
        for _ in 0..events {
            bus.publish_encoded("ticks.a", payload.clone()).await?;
        }
        let secs = started.elapsed().as_secs_f64();
        let got = seen.load(std::sync::atomic::Ordering::Relaxed);
        println!(
            "handler: {got} of {events} events in {secs:.3} s: {:.2} M delivered/s",
            got as f64 / secs / 1e6
        );
        drop(handler);

        // Typed lane (fewer events: each is encoded and decoded through the schema).
        let typed = events / 5;
        let mut sub = bus.subscribe("ticks.*", None).await?;
        let started = Instant::now();
        let publisher = {
            let (bus, value) = (bus.clone(), value.clone());
            tokio::spawn(async move {
                for _ in 0..typed {
                    bus.publish("ticks.a", &value).await?;
                }
                Ok::<_, hms_ffi_core::Error>(())
            })
        };
        let mut got = 0u64;
        while got + sub.dropped() < typed {
            match tokio::time::timeout(std::time::Duration::from_secs(5), sub.next()).await {
                Ok(Some(e)) => {
                    e?;
                    got += 1
                }
                _ => break,
            }
        }
        let secs = started.elapsed().as_secs_f64();
        publisher.await.map_err(|e| internal(e.to_string()))??;
        println!(
            "typed:   {got} of {typed} events in {secs:.3} s: {:.2} M delivered/s ({} dropped)",
            got as f64 / secs / 1e6,
            sub.dropped()
        );
        Ok(())
    })
}
