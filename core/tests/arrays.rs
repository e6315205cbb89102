//! One array type for lists and maps (PHP): the mapping reads an array by the field it fills.
//! An empty list is also an empty message, map or Struct; a list fills a map by index; integer
//! keys fill string-keyed maps.

#![allow(clippy::unwrap_used)]

mod common;

use common::{conformance_schema, msg};
use hms_ffi_core::mapping::{from_message, to_message, MapOptions};
use hms_ffi_core::{Code, Value};

fn echo(value: &Value) -> hms_ffi_core::Result<Value> {
    let desc = conformance_schema()
        .message("hms.conformance.v1.AllTypes")
        .unwrap();
    to_message(&desc, value, &MapOptions::default()).map(|m| from_message(&m))
}

#[test]
fn empty_lists_are_empty_messages_maps_and_structs() {
    let empty = Value::List(Vec::new());
    let reply = echo(&msg(&[
        ("nested", empty.clone()),
        ("counts", empty.clone()),
        ("by_id", empty.clone()),
        ("meta", empty.clone()),
        ("numbers", empty.clone()),
    ]))
    .unwrap();
    assert_eq!(
        reply.get("nested"),
        Some(&msg(&[
            ("name", "".into()),
            ("price", 0.0.into()),
            ("qty", 0.into())
        ]))
    );
    assert_eq!(reply.get("counts"), Some(&Value::Map(Vec::new())));
    assert_eq!(reply.get("by_id"), Some(&Value::Map(Vec::new())));
    assert_eq!(reply.get("meta"), Some(&Value::Map(Vec::new())));
    assert_eq!(reply.get("numbers"), Some(&Value::List(Vec::new())));
}

#[test]
fn a_list_fills_a_map_by_index_and_integer_keys_fill_string_maps() {
    let item = msg(&[("name", "a".into())]);
    let reply = echo(&msg(&[
        ("by_id", Value::List(vec![item.clone(), item.clone()])),
        ("counts", Value::List(vec![Value::from(5), Value::from(6)])),
    ]))
    .unwrap();
    let Some(Value::Map(by_id)) = reply.get("by_id") else {
        panic!("{reply:?}")
    };
    assert_eq!(
        by_id.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        vec![Value::Int(0), Value::Int(1)]
    );
    assert_eq!(
        reply.get("counts"),
        Some(&Value::Map(vec![
            (Value::from("0"), Value::Int(5)),
            (Value::from("1"), Value::Int(6)),
        ]))
    );
    let reply = echo(&msg(&[(
        "counts",
        Value::Map(vec![(Value::Int(7), Value::from(1))]),
    )]))
    .unwrap();
    assert_eq!(
        reply.get("counts"),
        Some(&Value::Map(vec![(Value::from("7"), Value::Int(1))]))
    );
}

#[test]
fn non_empty_lists_are_still_not_messages_and_paths_stay_exact() {
    let err = echo(&msg(&[("nested", Value::list([1]))])).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.field_violations()[0].field, "nested");
    assert_eq!(
        err.field_violations()[0].description,
        "expected message Item, got list"
    );
    let err = echo(&msg(&[(
        "counts",
        Value::Map(vec![(Value::Int(7), Value::from("x"))]),
    )]))
    .unwrap_err();
    assert_eq!(err.field_violations()[0].field, "counts[\"7\"]");
    let err = echo(&msg(&[("by_id", Value::list(["x"]))])).unwrap_err();
    assert_eq!(err.field_violations()[0].field, "by_id[0]");
}

/// `DecodeOptions::mark_empty_objects`: an empty JSON object (an empty Struct, as a field or
/// inside a Value) is marked so a PHP array-based binding can show it as `stdClass` and send
/// `{}` back; empty map fields and empty messages stay empty maps, and the marker encodes back
/// as an empty Struct.
#[test]
fn empty_json_objects_can_be_marked_and_encode_back_as_objects() {
    use hms_ffi_core::mapping::{from_message_with, DecodeOptions};
    let desc = conformance_schema()
        .message("hms.conformance.v1.AllTypes")
        .unwrap();
    let empty_map = Value::Map(Vec::new());
    let meta = msg(&[
        ("obj", msg(&[("deepest", empty_map.clone())])),
        (
            "list",
            Value::List(vec![empty_map.clone(), Value::List(vec![])]),
        ),
    ]);
    let request = msg(&[
        ("meta", meta),
        ("counts", empty_map.clone()),
        ("nested", empty_map.clone()),
    ]);
    let marked = DecodeOptions {
        mark_empty_objects: true,
        ..DecodeOptions::default()
    };
    let message = to_message(&desc, &request, &MapOptions::default()).unwrap();
    let reply = from_message_with(&message, marked);
    let meta = reply.get("meta").unwrap();
    let deepest = meta.get("obj").and_then(|o| o.get("deepest")).unwrap();
    assert!(deepest.is_empty_object(), "{deepest:?}");
    let Some(Value::List(list)) = meta.get("list") else {
        panic!("{meta:?}")
    };
    assert!(list[0].is_empty_object(), "{list:?}");
    assert_eq!(list[1], Value::List(Vec::new()));
    assert_eq!(reply.get("counts"), Some(&Value::Map(Vec::new())));
    assert!(!reply.get("nested").unwrap().is_empty_object());

    // An empty Struct field is marked too, and the marker encodes back as an empty object.
    let empty_meta = to_message(&desc, &msg(&[("meta", empty_map)]), &MapOptions::default());
    let empty_meta = from_message_with(&empty_meta.unwrap(), marked);
    assert!(empty_meta.get("meta").unwrap().is_empty_object());
    let again = to_message(&desc, &reply, &MapOptions::default()).unwrap();
    assert_eq!(from_message(&again), from_message(&message));
    let plain = from_message(&message);
    let deepest = plain
        .get("meta")
        .and_then(|m| m.get("obj"))
        .and_then(|o| o.get("deepest"));
    assert_eq!(deepest, Some(&Value::Map(Vec::new())));
}
