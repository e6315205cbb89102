//! What bindings use of the bus (`bus::SharedSubscription`, `Bus::encode_input`): a publish
//! from a binding's own objects checked as `publish` checks it, events decoded into a binding's
//! objects with the subscriber's checks, and `close` from another thread ending a wait in
//! progress at once.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use hms_ffi_core::bus::{Bus, SharedSubscription};
use hms_ffi_core::mapping::{DecodeOptions, ValueOut};
use hms_ffi_core::{Code, Schema, Value};

const PROTO: &str = r#"
    syntax = "proto3"; package shop.v1;
    message OrderPlaced { string id = 1; int64 cents = 2; }
    message Refund { string id = 1; bool full = 2; }
"#;

fn bus() -> Bus {
    let bus = Bus::new(Schema::from_source("shop.proto", PROTO).unwrap());
    bus.declare("orders.>", "shop.v1.OrderPlaced").unwrap();
    bus
}

fn order(id: &str) -> Value {
    Value::message([("id", Value::from(id)), ("cents", Value::from(5i64))])
}

fn reason(e: &hms_ffi_core::Error) -> Option<&str> {
    e.details().error_info.as_ref().map(|i| i.reason.as_str())
}

fn publish(bus: &Bus, message: Value) {
    let send = bus.publish("orders.eu", &message);
    hms_ffi_core::runtime::block_on(send).unwrap().unwrap();
}

fn shared(bus: &Bus, pattern: &str, pending: usize) -> SharedSubscription {
    let sub = bus.subscribe_pending(pattern, None, pending);
    SharedSubscription::new(hms_ffi_core::runtime::block_on(sub).unwrap().unwrap())
}

#[test]
fn encode_input_checks_topic_and_fields() {
    let bus = bus();
    let bad = bus.encode_input("orders.*", &&order("A"), None).unwrap();
    assert_eq!(bad.unwrap_err().code(), Code::InvalidArgument);
    let undeclared = bus.encode_input("refunds.eu", &&order("A"), None).unwrap();
    let undeclared = undeclared.unwrap_err();
    assert_eq!(undeclared.code(), Code::NotFound);
    assert_eq!(reason(&undeclared), Some("UNDECLARED_TOPIC"));
    let wrong = Value::message([("nope", Value::from(1i64))]);
    let wrong = bus.encode_input("orders.eu", &&wrong, None).unwrap();
    assert_eq!(wrong.unwrap_err().code(), Code::InvalidArgument);
    assert!(bus
        .encode_input("orders.eu", &&order("A"), None)
        .unwrap()
        .is_ok());
}

#[test]
fn decode_output_applies_the_subscribers_checks() {
    let publisher = bus();
    let sub = shared(&publisher, "orders.>", 16);
    let bytes = publisher.encode_input("orders.eu", &&order("A1"), None);
    let send = publisher.publish_encoded("orders.eu", bytes.unwrap().unwrap());
    hms_ffi_core::runtime::block_on(send).unwrap().unwrap();
    let raw = sub.next_raw_blocking(Some(Duration::from_secs(5)), None);
    let raw = raw.unwrap().expect("an event");
    let value = sub.decode_output(&raw, DecodeOptions::default(), None, &mut ValueOut);
    assert_eq!(value.unwrap().unwrap(), order("A1"));
    // The same bytes said to be another type: that event's error, the subscription goes on.
    let mut forged = raw.clone();
    forged.message_type = Some(Arc::from("shop.v1.Refund"));
    let e = sub.decode(forged).unwrap_err();
    assert_eq!(
        (e.code(), reason(&e)),
        (Code::InvalidArgument, Some("WRONG_MESSAGE_TYPE"))
    );
    assert_eq!(&*sub.decode(raw).unwrap().topic, "orders.eu");
}

#[test]
fn close_from_another_thread_ends_a_waiting_next() {
    let bus = bus();
    let sub = Arc::new(shared(&bus, "orders.>", 16));
    let waiter = {
        let sub = sub.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let next = sub.next_raw_blocking(Some(Duration::from_secs(30)), None);
            (next.unwrap().is_none(), start.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    sub.close();
    let (ended, waited) = waiter.join().unwrap();
    assert!(ended, "a closed subscription's next is None");
    assert!(waited < Duration::from_secs(10), "close ended the wait");
    assert!(sub.is_closed());
    // Unsubscribed: a publish finds no one, and later waits end at once.
    publish(&bus, order("B"));
    let later = sub.next_raw_blocking(None, None).unwrap();
    assert!(later.is_none());
}

#[test]
fn stop_token_and_timeout_end_a_wait_without_closing() {
    let bus = bus();
    let sub = shared(&bus, "orders.>", 16);
    assert!(sub
        .next_raw_blocking(Some(Duration::from_millis(20)), None)
        .unwrap()
        .is_none());
    let stop = tokio_util::sync::CancellationToken::new();
    stop.cancel();
    assert!(sub.next_raw_blocking(None, Some(&stop)).unwrap().is_none());
    assert!(!sub.is_closed());
    publish(&bus, order("C"));
    let next = sub.next_raw_blocking(Some(Duration::from_secs(5)), None);
    assert!(next.unwrap().is_some(), "still subscribed");
}

#[test]
fn dropped_counts_survive_close() {
    let bus = bus();
    let sub = shared(&bus, "orders.>", 2);
    for i in 0..5 {
        publish(&bus, order(&i.to_string()));
    }
    assert_eq!(sub.dropped(), 3);
    sub.close();
    assert_eq!(sub.dropped(), 3);
}
