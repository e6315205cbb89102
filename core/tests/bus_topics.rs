//! Topics declared in the `.proto` (issue 22): `option (hms.ffi.v1.topic) = "…"` on a message
//! type declares which topics carry it, read when the schema loads, so every bus over the schema,
//! in-process or over NATS, starts with the same typed topics and needs no `declare`.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::nats::NatsServer;
use hms_ffi_core::bus::Bus;
use hms_ffi_core::{Code, Schema, Value};

const PROTO: &str = r#"
    syntax = "proto3"; package shop.v1;
    import "hms/ffi/v1/options.proto";
    message OrderPlaced {
      option (hms.ffi.v1.topic) = "orders.>";
      option (hms.ffi.v1.topic) = "archive.orders.*";
      string id = 1; int64 cents = 2;
    }
    message Refund { option (hms.ffi.v1.topic) = "refunds.*"; string id = 1; bool full = 2; }
    message Untopical { string id = 1; }
"#;

fn schema() -> Schema {
    Schema::from_source("shop.proto", PROTO).unwrap()
}

fn reason(e: &hms_ffi_core::Error) -> Option<&str> {
    e.details().error_info.as_ref().map(|i| i.reason.as_str())
}

fn order(id: &str) -> Value {
    Value::message([("id", Value::from(id)), ("cents", Value::from(250i64))])
}

#[test]
fn the_schema_lists_its_topics_in_declaration_order() {
    let topics: Vec<(String, String)> = schema()
        .topics()
        .iter()
        .map(|(p, d)| (p.clone(), d.full_name().to_string()))
        .collect();
    assert_eq!(
        topics,
        [
            ("orders.>".into(), "shop.v1.OrderPlaced".into()),
            ("archive.orders.*".into(), "shop.v1.OrderPlaced".into()),
            ("refunds.*".into(), "shop.v1.Refund".into()),
        ]
    );
    let plain = Schema::from_source("p.proto", "syntax = \"proto3\"; message M {}").unwrap();
    assert!(plain.topics().is_empty());
}

#[tokio::test]
async fn a_bus_starts_with_the_schemas_topics_typed_on_both_ends() {
    let bus = Bus::new(schema());
    let mut sub = bus.subscribe(">", None).await.unwrap();
    bus.publish("orders.eu", &order("A1")).await.unwrap();
    bus.publish("archive.orders.2026", &order("A0"))
        .await
        .unwrap();
    let wrong = Value::message([("full", Value::from("yes"))]);
    let e = bus.publish("refunds.eu", &wrong).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    assert!(e.message().contains("full"), "{e}");
    let e = bus.publish("payments.eu", &order("x")).await.unwrap_err();
    assert_eq!(
        (e.code(), reason(&e)),
        (Code::NotFound, Some("UNDECLARED_TOPIC"))
    );
    for (topic, id) in [("orders.eu", "A1"), ("archive.orders.2026", "A0")] {
        let event = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(&*event.topic, topic);
        assert_eq!(event.message.get("id"), Some(&Value::from(id)));
    }
}

#[test]
fn declaring_again_agrees_with_the_schema_or_is_refused() {
    let bus = Bus::new(schema());
    bus.declare("orders.>", "shop.v1.OrderPlaced").unwrap();
    let e = bus.declare("orders.>", "shop.v1.Refund").unwrap_err();
    assert_eq!(
        (e.code(), reason(&e)),
        (Code::AlreadyExists, Some("TOPIC_DECLARED"))
    );
    assert!(e.message().contains("shop.v1.OrderPlaced"), "{e}");
    // A new pattern for a message without topics of its own is fine.
    bus.declare("misc.*", "shop.v1.Untopical").unwrap();
}

#[test]
fn a_bad_topic_option_fails_the_schema_with_its_message_named() {
    let cases = [
        (
            r#"message A { option (hms.ffi.v1.topic) = "a..b"; }"#,
            "shop.v1.A",
        ),
        (
            r#"message A { option (hms.ffi.v1.topic) = "a.>.b"; }"#,
            "shop.v1.A",
        ),
        (
            r#"message A { option (hms.ffi.v1.topic) = "x.*"; }
               message B { option (hms.ffi.v1.topic) = "x.*"; }"#,
            "shop.v1.B",
        ),
    ];
    for (body, named) in cases {
        let text = format!(
            "syntax = \"proto3\"; package shop.v1; import \"hms/ffi/v1/options.proto\"; {body}"
        );
        let e = Schema::from_source("bad.proto", &text).unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{body}: {e}");
        assert_eq!(reason(&e), Some("SCHEMA_INVALID"), "{body}");
        assert!(e.message().contains(named), "{body}: {e}");
        assert!(e.message().contains("hms.ffi.v1.topic"), "{body}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_topics_over_nats_need_no_declare_on_either_end() {
    let Some(nats) = NatsServer::start(false) else {
        return;
    };
    let uri = nats.uri("shop");
    let publisher = Bus::connect(&uri, schema()).await.unwrap();
    let consumer = Bus::connect(&uri, schema()).await.unwrap();
    let mut sub = consumer.subscribe("refunds.*", None).await.unwrap();
    let refund = Value::message([("id", Value::from("r1")), ("full", Value::from(true))]);
    publisher.publish("refunds.eu", &refund).await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (&*event.topic, event.message.get("full")),
        ("refunds.eu", Some(&Value::from(true)))
    );
}
