//! Tests of the foreign-error rules (a child module of `foreign`).

use super::*;

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::String(k.to_string()), v))
            .collect(),
    )
}

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

fn full_error() -> Error {
    let mut err = Error::invalid_argument(
        "request",
        vec![FieldViolation {
            field: "items[2].price".into(),
            description: "expected double, got str".into(),
        }],
    )
    .with_error_info(
        "BAD_PRICE",
        "shop.example",
        BTreeMap::from([("sku".to_string(), "A-7".to_string())]),
    )
    .with_origin(Origin {
        language: "go".into(),
        service: "shop.v1.Cart".into(),
        method: "Add".into(),
    });
    err.details_mut().debug_info = Some(DebugInfo {
        stack_entries: vec!["cart.go:12".into(), "price.go:40".into()],
        detail: "price: bad".into(),
    });
    err.details_mut()
        .other
        .push(("type.googleapis.com/shop.v1.Hint".into(), vec![1, 2, 3]));
    err
}

#[test]
fn a_plain_exception_is_internal_with_its_type_message_and_stack() {
    let err = Error::from_foreign(ForeignError {
        type_name: "KeyError".into(),
        message: "'name'".into(),
        stack: vec!["handler.py:3".into()],
        parts: None,
    });
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(err.message(), "KeyError: 'name'");
    let debug = err.details().debug_info.clone().expect("debug info");
    assert_eq!(debug.stack_entries, vec!["handler.py:3".to_string()]);
    assert_eq!(debug.detail, "KeyError: 'name'");
    assert!(err.origin().is_none());
}

#[test]
fn code_ok_is_refused_everywhere() {
    let direct = Error::new(Code::Ok, "fine");
    assert_eq!(direct.code(), Code::Unknown);
    assert!(direct.message().contains("code OK"), "{}", direct.message());
    let reason = |e: &Error| e.details().error_info.as_ref().map(|i| i.reason.clone());
    assert_eq!(reason(&direct).as_deref(), Some("OK_IS_NOT_AN_ERROR"));
    let raised = Error::from_foreign(ForeignError {
        type_name: "Error".into(),
        message: "OK: fine".into(),
        stack: vec![],
        parts: Some(ErrorParts::from_details_value(
            0,
            "fine".into(),
            &map(vec![(
                "error_info",
                map(vec![("reason", s("ALL_GOOD")), ("domain", s("x"))]),
            )]),
        )),
    });
    assert_eq!(raised.code(), Code::Unknown);
    assert_eq!(reason(&raised).as_deref(), Some("OK_IS_NOT_AN_ERROR"));
    let unknown_number = Error::from_foreign(ForeignError {
        parts: Some(ErrorParts::from_details_value(
            99,
            "odd".into(),
            &Value::Null,
        )),
        ..ForeignError::default()
    });
    assert_eq!(unknown_number.code(), Code::Unknown);
}

#[test]
fn details_survive_any_number_of_relays() {
    let original = full_error();
    let mut err = original.clone();
    for hop in 0..3 {
        err = Error::from_foreign(ForeignError {
            type_name: "InvalidArgument".into(),
            message: err.message().to_string(),
            stack: vec![format!("relay{hop}.py:1")],
            parts: Some(ErrorParts::from_details_value(
                err.code().as_i32(),
                err.message().to_string(),
                &err.details_value(),
            )),
        });
    }
    assert_eq!(err.code(), original.code());
    assert_eq!(err.message(), original.message());
    assert_eq!(err.field_violations(), original.field_violations());
    assert_eq!(err.details().error_info, original.details().error_info);
    assert_eq!(err.details().other, original.details().other);
    assert_eq!(err.origin(), original.origin());
    let debug = err.details().debug_info.clone().expect("debug info");
    // The newest relay's frame first, the original's last, each hop marked.
    assert_eq!(
        debug.stack_entries.first().map(String::as_str),
        Some("relay2.py:1")
    );
    assert_eq!(
        debug.stack_entries.last().map(String::as_str),
        Some("price.go:40")
    );
    assert_eq!(
        debug
            .stack_entries
            .iter()
            .filter(|e| e.starts_with("--- relayed from go shop.v1.Cart/Add"))
            .count(),
        3
    );
    assert_eq!(debug.detail, "price: bad");
}

#[test]
fn a_partial_details_map_is_read_without_complaint() {
    let err = Error::from_foreign(ForeignError {
        type_name: "NotFound".into(),
        message: "no user 7".into(),
        stack: vec![],
        parts: Some(ErrorParts::from_details_value(
            Code::NotFound.as_i32(),
            "no user 7".into(),
            &map(vec![
                ("field_violations", Value::Null),
                ("error_info", map(vec![("reason", s("NO_USER"))])),
                ("origin", Value::Int(3)),
            ]),
        )),
    });
    assert_eq!(err.code(), Code::NotFound);
    let info = err.details().error_info.clone().expect("error info");
    assert_eq!(
        (info.reason.as_str(), info.domain.as_str()),
        ("NO_USER", "hms-ffi")
    );
    assert!(err.origin().is_none());
    assert!(err.field_violations().is_empty());
}

#[test]
fn the_details_map_reads_back_to_the_same_details() {
    let err = full_error();
    let (details, origin) = details_from_value(&err.details_value());
    assert_eq!(&details, err.details());
    assert_eq!(origin.as_ref(), err.origin());
    let plain = Error::new(Code::NotFound, "x").details_value();
    assert_eq!(plain.get("error_info"), Some(&Value::Null));
    assert_eq!(plain.get("field_violations"), Some(&Value::List(vec![])));
}
