//! Publish/subscribe (issue 22): typed topics checked on both ends, NATS wildcards, queue
//! groups and the slow-consumer rule, on the in-process bus and over a nats-server of the test's
//! own (those tests are skipped, saying so, only when nats-server is not installed).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::nats::NatsServer;
use hms_ffi_core::bus::{Bus, Subscription};
use hms_ffi_core::{Code, Schema, Value};

const PROTO: &str = r#"
    syntax = "proto3"; package shop.v1;
    message OrderPlaced { string id = 1; int64 cents = 2; }
    message Refund { string id = 1; bool full = 2; }
"#;

fn schema() -> Schema {
    Schema::from_source("shop.proto", PROTO).unwrap()
}

fn order(id: &str, cents: i64) -> Value {
    Value::message([("id", Value::from(id)), ("cents", Value::from(cents))])
}

fn reason(e: &hms_ffi_core::Error) -> Option<&str> {
    e.details().error_info.as_ref().map(|i| i.reason.as_str())
}

fn bus() -> Bus {
    let bus = Bus::new(schema());
    bus.declare("orders.>", "shop.v1.OrderPlaced").unwrap();
    bus.declare("refunds.*", "shop.v1.Refund").unwrap();
    bus
}

/// Events received within `wait`, decoded (errors as `Err`).
async fn drain(sub: &mut Subscription, wait: Duration) -> Vec<hms_ffi_core::Result<String>> {
    let mut out = Vec::new();
    while let Ok(Some(e)) = tokio::time::timeout(wait, sub.next()).await {
        out.push(e.map(|e| {
            format!(
                "{}:{}",
                e.topic,
                e.message.get("id").and_then(Value::as_str).unwrap_or("")
            )
        }));
    }
    out
}

#[tokio::test]
async fn wildcards_and_queue_groups_in_process() {
    let bus = bus();
    let mut all = bus.subscribe("orders.>", None).await.unwrap();
    let mut eu = bus.subscribe("orders.eu.*", None).await.unwrap();
    let mut q1 = bus.subscribe("orders.>", Some("workers")).await.unwrap();
    let mut q2 = bus.subscribe("orders.>", Some("workers")).await.unwrap();
    for i in 0..10 {
        let region = if i % 2 == 0 { "eu.paris" } else { "us" };
        bus.publish(&format!("orders.{region}"), &order(&i.to_string(), i))
            .await
            .unwrap();
    }
    let wait = Duration::from_millis(100);
    assert_eq!(drain(&mut all, wait).await.len(), 10);
    let eu_ids: Vec<String> = drain(&mut eu, wait)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        eu_ids,
        [
            "orders.eu.paris:0",
            "orders.eu.paris:2",
            "orders.eu.paris:4",
            "orders.eu.paris:6",
            "orders.eu.paris:8"
        ]
    );
    let (n1, n2) = (
        drain(&mut q1, wait).await.len(),
        drain(&mut q2, wait).await.len(),
    );
    assert_eq!((n1 + n2, n1 > 0, n2 > 0), (10, true, true), "{n1} + {n2}");
}

#[tokio::test]
async fn topics_are_typed_on_publish() {
    let bus = bus();
    let bad = Value::message([("cents", Value::from("ten"))]);
    let err = bus.publish("orders.eu", &bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.field_violations()[0].field, "cents");
    let err = bus
        .publish("invoices.eu", &order("1", 1))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::NotFound, Some("UNDECLARED_TOPIC"))
    );
    let err = bus.publish("orders.*", &order("1", 1)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        bus.declare("x.>", "shop.v1.Nope").unwrap_err().code(),
        Code::NotFound
    );
    // Bytes that are no OrderPlaced reach the subscriber as a typed error, then it goes on.
    let mut sub = bus.subscribe("orders.>", None).await.unwrap();
    bus.publish_encoded("orders.eu", Bytes::from_static(b"\xff\xff"))
        .await
        .unwrap();
    bus.publish("orders.eu", &order("ok", 1)).await.unwrap();
    let got = drain(&mut sub, Duration::from_millis(100)).await;
    assert_eq!(got[0].as_ref().unwrap_err().code(), Code::InvalidArgument);
    assert_eq!(got[1].as_ref().unwrap(), "orders.eu:ok");
}

#[tokio::test]
async fn a_slow_subscriber_drops_and_counts_never_blocks_the_publisher() {
    let bus = bus();
    let mut slow = bus.subscribe_pending("orders.>", None, 3).await.unwrap();
    for i in 0..8 {
        bus.publish("orders.eu", &order(&i.to_string(), i))
            .await
            .unwrap();
    }
    assert_eq!(slow.dropped(), 5);
    assert_eq!(drain(&mut slow, Duration::from_millis(50)).await.len(), 3);
    drop(slow);
    // Unsubscribed: publishing still works, to nobody.
    bus.publish("orders.eu", &order("x", 1)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_processes_over_nats_typed_on_both_ends() {
    let Some(nats) = NatsServer::start(false) else {
        return;
    };
    let uri = nats.uri("shop");
    let publisher = Bus::connect(&uri, schema()).await.unwrap();
    publisher
        .declare("orders.>", "shop.v1.OrderPlaced")
        .unwrap();
    publisher.declare("refunds.*", "shop.v1.Refund").unwrap();
    let consumer = Bus::connect(&uri, schema()).await.unwrap();
    consumer.declare("orders.>", "shop.v1.OrderPlaced").unwrap();
    // This subscriber believes refunds are orders: each refund is a typed error for it.
    consumer
        .declare("refunds.*", "shop.v1.OrderPlaced")
        .unwrap();
    let mut all = consumer.subscribe(">", None).await.unwrap();
    let (w1, w2) = (
        Bus::connect(&uri, schema()).await.unwrap(),
        Bus::connect(&uri, schema()).await.unwrap(),
    );
    for w in [&w1, &w2] {
        w.declare("orders.>", "shop.v1.OrderPlaced").unwrap();
    }
    let mut q1 = w1.subscribe("orders.*", Some("workers")).await.unwrap();
    let mut q2 = w2.subscribe("orders.*", Some("workers")).await.unwrap();
    for i in 0..20 {
        publisher
            .publish("orders.eu", &order(&i.to_string(), i))
            .await
            .unwrap();
    }
    let refund = Value::message([("id", Value::from("r1")), ("full", Value::from(true))]);
    publisher.publish("refunds.eu", &refund).await.unwrap();
    // A stock NATS publisher sends garbage on the subject: a typed error, no crash.
    let raw = async_nats::connect(nats.addr()).await.unwrap();
    raw.publish("shop.orders.eu", Bytes::from_static(b"\x08"))
        .await
        .unwrap();
    raw.flush().await.unwrap();
    let wait = Duration::from_millis(500);
    let got = drain(&mut all, wait).await;
    assert_eq!(got.len(), 22, "{got:?}");
    assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 20);
    let wrong = got.iter().find_map(|r| {
        r.as_ref()
            .err()
            .filter(|e| reason(e) == Some("WRONG_MESSAGE_TYPE"))
    });
    assert!(wrong.is_some(), "{got:?}");
    let (n1, n2) = (
        drain(&mut q1, wait).await.len(),
        drain(&mut q2, wait).await.len(),
    );
    assert_eq!((n1 + n2, n1 > 0, n2 > 0), (21, true, true), "{n1} + {n2}");
}

#[tokio::test]
async fn a_handler_subscription_runs_on_the_publishers_thread_until_dropped() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let bus = bus();
    let count = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(Mutex::new(None));
    let publisher = std::thread::current().id();
    let (c, l) = (count.clone(), last.clone());
    let sub = bus
        .subscribe_with("orders.*", None, move |raw| {
            assert_eq!(std::thread::current().id(), publisher);
            c.fetch_add(1, Ordering::Relaxed);
            *l.lock().unwrap() = Some(raw);
        })
        .await
        .unwrap();
    for i in 0..5 {
        bus.publish("orders.eu", &order(&i.to_string(), i))
            .await
            .unwrap();
    }
    assert_eq!(count.load(Ordering::Relaxed), 5);
    let raw = last.lock().unwrap().take().unwrap();
    let event = sub.decode(raw).unwrap();
    assert_eq!(event.message.get("id"), Some(&Value::from("4")));
    drop(sub);
    bus.publish("orders.eu", &order("late", 1)).await.unwrap();
    assert_eq!(count.load(Ordering::Relaxed), 5);
}
