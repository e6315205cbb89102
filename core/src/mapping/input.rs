//! What the one-pass writer ([`super::wire_out`]) reads a request or reply from: a binding's
//! own objects (a Python `dict` of `str`, `int`, `list`…) or a [`Value`] tree, through the
//! [`Input`] trait — so a binding that can look at its objects from Rust hands them to the core
//! as they are, and no `Value` tree is built for a plainly valid message (pydantic-core's
//! `Input` trait is the model).
//!
//! An input shows each object as a [`View`] with the meaning the binding's `Value` conversion
//! gives it: a `View::Int` where that conversion gives `Value::Int`, and so on. What has no view
//! of its own (a `datetime`, a big integer, an object of another type) is [`View::Other`]: the
//! writer then leaves the whole message to the general path, which converts the input with
//! [`Input::to_value`] and converts or refuses it exactly as for any `Value`. So the bytes and
//! errors are the same whichever way a message goes.

use std::borrow::Cow;
use std::convert::Infallible;

use super::convert::Native;
use crate::value::Value;

/// One object of an [`Input`], as the writer sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum View<'a> {
    /// No value: an unset field.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A floating point number.
    Float(f64),
    /// Text.
    Str(&'a str),
    /// Bytes.
    Bytes(&'a [u8]),
    /// A list: its items are [`Input::items`].
    List,
    /// A map or message: its entries are [`Input::entries`].
    Map,
    /// Anything else: the message goes to the general path.
    Other,
}

/// A binding's objects as the one-pass writer reads them (see the module docs).
///
/// `Self` is a cheap handle (a reference, a Python object handle): the writer keeps a
/// message's entries while it orders them by field number.
pub trait Input: Clone {
    /// A failure of the binding's own conversion in [`to_value`](Input::to_value).
    type Error;

    /// What the object is.
    fn view(&self) -> View<'_>;

    /// The items of a [`View::List`] (none for anything else).
    fn items(&self) -> impl Iterator<Item = Self> + '_;

    /// The entries of a [`View::Map`], in the object's order (none for anything else).
    fn entries(&self) -> impl Iterator<Item = (Self, Self)> + '_;

    /// How many entries a [`View::Map`] has (a hint for the writer's buffers).
    fn len_hint(&self) -> usize {
        0
    }

    /// The object as a [`Value`] tree, as the binding converts it for the general path.
    fn to_value(&self) -> Result<Cow<'_, Value>, Self::Error>;

    /// The object as the binding's converter `native` makes it for the walk (see
    /// [`super::convert`]): a message-shaped object for a message type's converter, text for a
    /// format's. `Err` describes the converter's failure (`ValueError: bad digits`), which the
    /// walk reports at the value's path. An input without converters keeps the object.
    fn convert(&self, native: &Native) -> Result<Self, String> {
        let _ = native;
        Ok(self.clone())
    }
}

impl Input for &Value {
    type Error = Infallible;

    fn view(&self) -> View<'_> {
        match self {
            Value::Null => View::Null,
            Value::Bool(b) => View::Bool(*b),
            Value::Int(i) => View::Int(*i),
            Value::UInt(u) => View::UInt(*u),
            Value::Float(x) => View::Float(*x),
            Value::String(s) => View::Str(s),
            Value::Bytes(b) => View::Bytes(b),
            Value::List(_) => View::List,
            Value::Map(_) => View::Map,
            Value::BigInt(_) | Value::Timestamp(_) | Value::Duration(_) | Value::Unsupported(_) => {
                View::Other
            }
        }
    }

    fn items(&self) -> impl Iterator<Item = Self> + '_ {
        let items: &[Value] = match self {
            Value::List(items) => items,
            _ => &[],
        };
        items.iter()
    }

    fn entries(&self) -> impl Iterator<Item = (Self, Self)> + '_ {
        let entries: &[(Value, Value)] = match self {
            Value::Map(entries) => entries,
            _ => &[],
        };
        entries.iter().map(|(k, v)| (k, v))
    }

    fn len_hint(&self) -> usize {
        match self {
            Value::Map(entries) => entries.len(),
            _ => 0,
        }
    }

    fn to_value(&self) -> Result<Cow<'_, Value>, Infallible> {
        Ok(Cow::Borrowed(*self))
    }
}
