//! [`Value`]: the language-neutral tree every binding converts its native objects to and from.
//!
//! A binding maps its natives onto these variants without looking at the schema (a Python
//! `dict` becomes [`Value::Map`], a `datetime` becomes [`Value::Timestamp`]); the core then
//! walks the method's descriptor to check and convert the tree (see [`crate::mapping`]).

pub mod time;

use std::fmt;

/// A point in time: seconds and nanoseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z (may be negative).
    pub seconds: i64,
    /// Nanoseconds, 0..=999_999_999.
    pub nanos: i32,
}

/// A signed span of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    /// Whole seconds.
    pub seconds: i64,
    /// Nanoseconds with the same sign as `seconds` (or either sign when `seconds` is 0).
    pub nanos: i32,
}

/// A native-agnostic value.
#[derive(Clone, PartialEq, Default)]
pub enum Value {
    /// Python `None`, JS `null`/`undefined`, Ruby `nil`, PHP `null`: an unset field.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer above `i64::MAX` (bindings may use it for any non-negative integer).
    UInt(u64),
    /// An integer outside the 64-bit range, as decimal text (reported as out of range).
    BigInt(String),
    /// A floating point number.
    Float(f64),
    /// Text.
    String(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A list (repeated field).
    List(Vec<Value>),
    /// A message (string keys) or a protobuf map (keys of the map's key type), in insertion order.
    Map(Vec<(Value, Value)>),
    /// A `google.protobuf.Timestamp`.
    Timestamp(Timestamp),
    /// A `google.protobuf.Duration`.
    Duration(Duration),
    /// A native object the binding could not map onto any variant, with its type name; the core
    /// reports it at its path (`items[0]: expected int64, got Foo`).
    Unsupported(String),
}

impl Value {
    /// The marker for an empty JSON object that [`DecodeOptions::mark_empty_objects`] asks
    /// for: a map whose only entry is `(Null, Null)`, which no decoded message or map holds.
    /// The encoder reads it back as an empty `google.protobuf.Struct`.
    ///
    /// [`DecodeOptions::mark_empty_objects`]: crate::mapping::DecodeOptions::mark_empty_objects
    pub fn empty_object() -> Value {
        Value::Map(vec![(Value::Null, Value::Null)])
    }

    /// True for [`Value::empty_object`]'s marker.
    pub fn is_empty_object(&self) -> bool {
        matches!(self, Value::Map(entries)
            if matches!(entries.as_slice(), [(Value::Null, Value::Null)]))
    }

    /// The name of the variant's kind as a user reads it in errors: `int`, `str`, `list`…
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::UInt(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Timestamp(_) => "timestamp",
            Value::Duration(_) => "duration",
            Value::Unsupported(_) => "unsupported object",
        }
    }

    /// Builds a message value from `(field name, value)` pairs.
    pub fn message<K: Into<String>>(fields: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(
            fields
                .into_iter()
                .map(|(k, v)| (Value::String(k.into()), v))
                .collect(),
        )
    }

    /// Looks up a string key in a [`Value::Map`].
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find_map(|(k, v)| match k {
                Value::String(s) if s == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    /// The text of a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer of a [`Value::Int`] or a small [`Value::UInt`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::UInt(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::UInt(u) => write!(f, "{u}u"),
            Value::BigInt(s) => write!(f, "{s}n"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Bytes(b) if b.len() > 32 => write!(f, "b<{} bytes>", b.len()),
            Value::Bytes(b) => write!(f, "b{:?}", String::from_utf8_lossy(b)),
            Value::List(items) => f.debug_list().entries(items).finish(),
            Value::Map(entries) => f
                .debug_map()
                .entries(entries.iter().map(|(k, v)| (k, v)))
                .finish(),
            Value::Timestamp(t) => write!(f, "Timestamp({})", time::format_timestamp(*t)),
            Value::Duration(d) => {
                write!(f, "Duration({})", time::format_duration(*d))
            }
            Value::Unsupported(t) => write!(f, "<{t}>"),
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value { Value::Int(i64::from(v)) }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        i64::try_from(v).map_or(Value::UInt(v), Value::Int)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Value {
        Value::Float(f64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::String(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::String(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bytes(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl Value {
    /// Builds a list value from anything that converts into values.
    pub fn list<T: Into<Value>>(items: impl IntoIterator<Item = T>) -> Value {
        Value::List(items.into_iter().map(Into::into).collect())
    }
}
