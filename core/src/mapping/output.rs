//! What the one-pass reader ([`super::wire`]) builds a decoded message into: a binding's own
//! objects (a Python `dict`) or a [`Value`] tree, through the [`Output`] trait — so a binding
//! that can make its objects from Rust gets them straight from the bytes, with no `Value` tree
//! in between.
//!
//! The reader decides everything a message's value holds (which fields, their defaults, enum
//! names, the order of map keys, 64-bit integers as text when asked); an output only makes the
//! objects, so every binding presents a message alike. What the reader leaves to the general
//! path (malformed bytes, well-known types…) comes to the output as a `Value`
//! ([`Output::value`]), converted as the binding converts any `Value`.

use std::convert::Infallible;

use super::convert::Native;
use crate::value::Value;

/// A scalar read from the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// A boolean.
    Bool(bool),
    /// A signed integer (and unsigned ones up to `i64::MAX`).
    Int(i64),
    /// An unsigned integer above `i64::MAX`.
    UInt(u64),
    /// A 64-bit integer as decimal text ([`DecodeOptions::int64_as_bigint`]).
    ///
    /// [`DecodeOptions::int64_as_bigint`]: super::DecodeOptions::int64_as_bigint
    BigInt(String),
    /// A floating point number.
    Float(f64),
    /// Text (a `string` field, or an enum value's name).
    Str(&'a str),
    /// Bytes.
    Bytes(&'a [u8]),
}

impl Scalar<'_> {
    /// An unsigned integer as [`Value`] has it: `Int` up to `i64::MAX`.
    pub(crate) fn unsigned(u: u64) -> Scalar<'static> {
        i64::try_from(u).map_or(Scalar::UInt(u), Scalar::Int)
    }
}

/// A binding's objects as the one-pass reader makes them (see the module docs). Its methods
/// return `None` when an object cannot be made; the reader then leaves the message to the
/// general path, whose [`value`](Output::value) reports the binding's error.
pub trait Output {
    /// An object of the binding (a Python object, a [`Value`]).
    type Node;
    /// A failure to make an object.
    type Error;

    /// No value: an unset field with presence.
    fn null(&mut self) -> Option<Self::Node>;

    /// A scalar.
    fn scalar(&mut self, s: Scalar<'_>) -> Option<Self::Node>;

    /// A list of items (a repeated field).
    fn list(&mut self, items: Vec<Self::Node>) -> Option<Self::Node>;

    /// A protobuf map, its keys in protobuf's order.
    fn map(&mut self, entries: Vec<(Self::Node, Self::Node)>) -> Option<Self::Node>;

    /// A message: every field by its name in the `.proto`, in declaration order.
    fn message<'a>(
        &mut self,
        fields: impl ExactSizeIterator<Item = (&'a str, Self::Node)>,
    ) -> Option<Self::Node>;

    /// A value the general path made (or a default, or a well-known type).
    fn value(&mut self, v: Value) -> Result<Self::Node, Self::Error>;

    /// `node` (a message the reader made, or a format field's text) as the binding's converter
    /// `native` makes it native (see [`super::convert`]). `Err` describes the converter's
    /// failure, which the reader reports at the value's path. An output without converters
    /// keeps the node.
    fn convert(&mut self, native: &Native, node: Self::Node) -> Result<Self::Node, String> {
        let _ = native;
        Ok(node)
    }
}

/// The [`Output`] that makes [`Value`] trees.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValueOut;

impl Output for ValueOut {
    type Node = Value;
    type Error = Infallible;

    fn null(&mut self) -> Option<Value> {
        Some(Value::Null)
    }

    fn scalar(&mut self, s: Scalar<'_>) -> Option<Value> {
        Some(match s {
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Int(i),
            Scalar::UInt(u) => Value::UInt(u),
            Scalar::BigInt(t) => Value::BigInt(t),
            Scalar::Float(x) => Value::Float(x),
            Scalar::Str(t) => Value::String(t.to_string()),
            Scalar::Bytes(b) => Value::Bytes(b.to_vec()),
        })
    }

    fn list(&mut self, items: Vec<Value>) -> Option<Value> {
        Some(Value::List(items))
    }

    fn map(&mut self, entries: Vec<(Value, Value)>) -> Option<Value> {
        Some(Value::Map(entries))
    }

    fn message<'a>(
        &mut self,
        fields: impl ExactSizeIterator<Item = (&'a str, Value)>,
    ) -> Option<Value> {
        Some(Value::Map(
            fields
                .map(|(name, v)| (Value::String(name.to_string()), v))
                .collect(),
        ))
    }

    fn value(&mut self, v: Value) -> Result<Value, Infallible> {
        Ok(v)
    }

    fn convert(&mut self, native: &Native, node: Value) -> Result<Value, String> {
        Ok(match native.downcast_ref::<super::convert::ValueMark>() {
            Some(mark) => super::convert::marked(mark.0, node),
            None => node,
        })
    }
}
