//! Converters through both walks: a toy binding whose "native decimal" is
//! `Value::Unsupported(digits)` and whose "native uuid" is `Value::Bytes`, written in one pass,
//! through the general path, and refused with the value's path.

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;

use super::convert::{Converters, Native, Target};
use super::{Input, Output, ValueOut, View};
use crate::codec::Codec;
use crate::schema::Schema;
use crate::{Code, Value};

const SRC: &str = r#"
syntax = "proto3";
package t;
import "google/type/decimal.proto";
import "hms/ffi/v1/options.proto";
message Item { google.type.Decimal price = 1; }
message Order {
  repeated Item items = 1;
  string id = 2 [(hms.ffi.v1.format) = "uuid"];
  map<string, google.type.Decimal> totals = 3;
  repeated string tags = 4 [(hms.ffi.v1.format) = "uuid"];
  uint64 big = 5;
}
"#;

/// The toy binding's two functions for a converter.
struct Conv {
    to: fn(&Value) -> Result<Value, String>,
    from: fn(Value) -> Result<Value, String>,
}

fn decimal_to(v: &Value) -> Result<Value, String> {
    match v {
        Value::Unsupported(d) if d.chars().all(|c| c.is_ascii_digit() || c == '.') => {
            Ok(map(&[("value", Value::String(d.clone()))]))
        }
        other => Err(format!("bad digits {other:?}")),
    }
}

fn decimal_from(v: Value) -> Result<Value, String> {
    match v {
        Value::Map(e) => match &e[0].1 {
            Value::String(d) if !d.contains('z') => Ok(Value::Unsupported(d.clone())),
            _ => Err("not a decimal".into()),
        },
        _ => Err("not a message".into()),
    }
}

fn uuid_to(v: &Value) -> Result<Value, String> {
    match v {
        Value::Bytes(b) => Ok(Value::String(String::from_utf8_lossy(b).into_owned())),
        other => Err(format!("not a uuid: {other:?}")),
    }
}

fn uuid_from(v: Value) -> Result<Value, String> {
    match v {
        Value::String(s) => Ok(Value::Bytes(s.into_bytes())),
        _ => Err("not text".into()),
    }
}

fn converters() -> Converters {
    let dec: Native = Arc::new(Conv {
        to: decimal_to,
        from: decimal_from,
    });
    let uuid: Native = Arc::new(Conv {
        to: uuid_to,
        from: uuid_from,
    });
    Converters::new()
        .with(Target::Message("google.type.Decimal".into()), dec)
        .with(Target::Format("uuid".into()), uuid)
}

/// A toy binding's input: an owned value, converted by [`Conv::to`].
#[derive(Clone)]
struct Own(Arc<Value>);

impl Input for Own {
    type Error = Infallible;
    fn view(&self) -> View<'_> {
        match &*self.0 {
            Value::Unsupported(_) => View::Other,
            Value::String(s) => View::Str(s),
            Value::Bytes(b) => View::Bytes(b),
            Value::Int(i) => View::Int(*i),
            Value::List(_) => View::List,
            Value::Map(_) => View::Map,
            Value::Null => View::Null,
            _ => View::Other,
        }
    }
    fn items(&self) -> impl Iterator<Item = Self> + '_ {
        let items: &[Value] = match &*self.0 {
            Value::List(items) => items,
            _ => &[],
        };
        items.iter().map(|v| Own(Arc::new(v.clone())))
    }
    fn entries(&self) -> impl Iterator<Item = (Self, Self)> + '_ {
        let entries: &[(Value, Value)] = match &*self.0 {
            Value::Map(entries) => entries,
            _ => &[],
        };
        entries
            .iter()
            .map(|(k, v)| (Own(Arc::new(k.clone())), Own(Arc::new(v.clone()))))
    }
    fn to_value(&self) -> Result<Cow<'_, Value>, Infallible> {
        Ok(Cow::Borrowed(&self.0))
    }
    fn convert(&self, native: &Native) -> Result<Self, String> {
        let c = native.downcast_ref::<Conv>().ok_or("not ours")?;
        (c.to)(&self.0).map(|v| Own(Arc::new(v)))
    }
}

/// A toy binding's output: values, converted by [`Conv::from`].
struct Out;

impl Output for Out {
    type Node = Value;
    type Error = Infallible;
    fn null(&mut self) -> Option<Value> {
        ValueOut.null()
    }
    fn scalar(&mut self, s: super::Scalar<'_>) -> Option<Value> {
        ValueOut.scalar(s)
    }
    fn list(&mut self, items: Vec<Value>) -> Option<Value> {
        ValueOut.list(items)
    }
    fn map(&mut self, entries: Vec<(Value, Value)>) -> Option<Value> {
        ValueOut.map(entries)
    }
    fn message<'a>(
        &mut self,
        fields: impl ExactSizeIterator<Item = (&'a str, Value)>,
    ) -> Option<Value> {
        ValueOut.message(fields)
    }
    fn value(&mut self, v: Value) -> Result<Value, Infallible> {
        Ok(v)
    }
    fn convert(&mut self, native: &Native, node: Value) -> Result<Value, String> {
        let c = native.downcast_ref::<Conv>().ok_or("not ours")?;
        (c.from)(node)
    }
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (Value::from(*k), v.clone()))
            .collect(),
    )
}

fn order(prices: &[&str], big: Value) -> Value {
    let items = prices
        .iter()
        .map(|p| map(&[("price", Value::Unsupported(p.to_string()))]))
        .collect();
    map(&[
        ("items", Value::List(items)),
        ("id", Value::Bytes(b"0f1e".to_vec())),
        ("totals", map(&[("eur", Value::Unsupported("9.5".into()))])),
        ("tags", Value::List(vec![Value::Bytes(b"ab".to_vec())])),
        ("big", big),
    ])
}

/// The same order as plain message-shaped values, which need no converter.
fn plain(prices: &[&str]) -> Value {
    let dec = |d: &str| map(&[("value", Value::from(d))]);
    let items = prices.iter().map(|p| map(&[("price", dec(p))])).collect();
    map(&[
        ("items", Value::List(items)),
        ("id", Value::from("0f1e")),
        ("totals", map(&[("eur", dec("9.5"))])),
        ("tags", Value::List(vec![Value::from("ab")])),
        ("big", Value::Int(5)),
    ])
}

fn encode(v: Value, conv: &Converters) -> crate::Result<Vec<u8>> {
    let schema = Schema::from_source("t.proto", SRC).expect("schema");
    let desc = schema.message("t.Order").expect("Order");
    let input = Own(Arc::new(v));
    let r = Codec::Proto.encode_converted(Some(&desc), &input, 64, Some(conv));
    crate::codec::never(r)
}

fn decode(bytes: &[u8], conv: &Converters) -> crate::Result<Value> {
    let schema = Schema::from_source("t.proto", SRC).expect("schema");
    let desc = schema.message("t.Order").expect("Order");
    let o = super::DecodeOptions::default();
    let r = Codec::Proto.decode_converted(Some(&desc), bytes, 64, o, Some(conv), &mut Out);
    crate::codec::never(r)
}

#[test]
fn natives_round_trip_in_one_pass_and_through_the_general_path() {
    let conv = converters();
    let expected = encode(plain(&["1.5", "2", "30"]), &Converters::new()).expect("plain");
    // Int: the one pass; BigInt: the general path (it has no view of its own).
    for big in [Value::Int(5), Value::BigInt("5".into())] {
        let bytes = encode(order(&["1.5", "2", "30"], big), &conv).expect("converted");
        assert_eq!(bytes, expected);
    }
    // The first is written, and the bytes read, in one pass.
    let schema = Schema::from_source("t.proto", SRC).expect("schema");
    let desc = schema.message("t.Order").expect("Order");
    let input = Own(Arc::new(order(&["1.5", "2", "30"], Value::Int(5))));
    assert!(super::wire_out::encode(&desc, &input, 64, Some(&conv)).is_some());
    let o = super::DecodeOptions::default();
    assert!(super::wire::decode(&desc, &expected, 64, o, Some(&conv), &mut Out).is_some());
    let back = decode(&expected, &conv).expect("decoded");
    assert_eq!(back, order(&["1.5", "2", "30"], Value::Int(5)));
    // Without converters the message reads as plain values.
    assert_eq!(
        decode(&expected, &Converters::new()).unwrap(),
        plain(&["1.5", "2", "30"])
    );
}

#[test]
fn an_unset_format_field_reads_as_null() {
    let bytes = encode(map(&[]), &converters()).expect("empty");
    let back = decode(&bytes, &converters()).expect("decoded");
    let Value::Map(fields) = back else {
        panic!("a message")
    };
    assert_eq!(fields[1], (Value::from("id"), Value::Null));
}

#[test]
fn a_failing_converter_is_invalid_argument_at_the_path() {
    let err = encode(order(&["1", "2", "x1"], Value::Int(5)), &converters()).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let v = &err.field_violations()[0];
    assert_eq!(v.field, "items[2].price");
    assert!(v
        .description
        .starts_with("converter for google.type.Decimal failed: bad digits"));
    // Reading: a decimal whose text the native side refuses.
    let bytes = encode(plain(&["1", "zz"]), &Converters::new()).expect("plain");
    let err = decode(&bytes, &converters()).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.field_violations()[0].field, "items[1].price");
    // A format's converter, in a map value's place and a list's.
    let mut bad = order(&["1"], Value::Int(5));
    if let Value::Map(f) = &mut bad {
        f[3].1 = Value::List(vec![Value::Bytes(b"a".to_vec()), Value::Int(3)]);
    }
    let err = encode(bad, &converters()).unwrap_err();
    assert_eq!(err.field_violations()[0].field, "tags[1]");
    assert!(err.field_violations()[0]
        .description
        .contains("format uuid"));
}

#[test]
fn value_trees_carry_marks_where_the_walk_converts() {
    use super::{marked, unmarked, TooDeep, ValueMark};
    let conv = Converters::new()
        .with(
            Target::Message("google.type.Decimal".into()),
            Arc::new(ValueMark(0)),
        )
        .with(Target::Format("uuid".into()), Arc::new(ValueMark(1)));
    let bytes = encode(plain(&["1.5"]), &Converters::new()).expect("plain");
    let schema = Schema::from_source("t.proto", SRC).expect("schema");
    let desc = schema.message("t.Order").expect("Order");
    let o = super::DecodeOptions::default();
    let r = Codec::Proto.decode_converted(Some(&desc), &bytes, 64, o, Some(&conv), &mut ValueOut);
    let Value::Map(fields) = crate::codec::never(r).expect("decoded") else {
        panic!("a message")
    };
    assert_eq!(fields[1].1, marked(1, Value::from("0f1e")));
    let Value::List(items) = &fields[0].1 else {
        panic!("a list")
    };
    let Value::Map(item) = &items[0] else {
        panic!("an item")
    };
    let (i, price) = unmarked(&item[0].1).expect("marked");
    assert_eq!((i, price), (0, &map(&[("value", Value::from("1.5"))])));
    assert_eq!(unmarked(&map(&[("value", Value::from("1.5"))])), None);
    // A binding's own walk reports a converter's failure at its path.
    let err = TooDeep::converter("format uuid", "bad")
        .at_index(1)
        .at_key(&Value::from("refs"))
        .into_error();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.field_violations()[0].field, "refs[1]");
    assert_eq!(
        err.field_violations()[0].description,
        "converter for format uuid failed: bad"
    );
}

#[test]
fn message_value_makes_natives_message_shaped_where_the_walk_converts() {
    let schema = Schema::from_source("t.proto", SRC).expect("schema");
    let desc = schema.message("t.Order").expect("Order");
    let input = Own(Arc::new(order(&["1.5", "2"], Value::Int(5))));
    let v = super::message_value(&desc, &input, &converters()).expect("walked");
    assert_eq!(v.expect("converted"), plain(&["1.5", "2"]));
    // Without converters: the input's own value, unconverted.
    let v = super::message_value(&desc, &input, &Converters::new()).expect("walked");
    assert_eq!(v.expect("plain"), order(&["1.5", "2"], Value::Int(5)));
    // A failing converter: InvalidArgument at the path.
    let bad = Own(Arc::new(order(&["1", "x"], Value::Int(5))));
    let err = super::message_value(&desc, &bad, &converters()).expect("walked");
    assert_eq!(
        err.unwrap_err().field_violations()[0].field,
        "items[1].price"
    );
}
