//! Kotlin types of the generated code (`hms-ffi gen --lang kotlin`, [`super::kotlin`]): the
//! type of each field, its default, and the expressions that read it from the binding's values
//! and write it back. A field a built-in converter makes native has its native type (the
//! binding's `io.github.hmsffi.Converters.BUILTINS`; docs/converters.md).

use super::model::{Field, Shape, Type};
use hms_ffi_core::mapping::Target;

/// A field's (or oneof's) property name: `lowerCamelCase`, in backticks when it is one of
/// Kotlin's hard keywords (`` `when` ``).
pub(super) fn kt_name(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "as",
        "break",
        "class",
        "continue",
        "do",
        "else",
        "false",
        "for",
        "fun",
        "if",
        "in",
        "interface",
        "is",
        "null",
        "object",
        "package",
        "return",
        "super",
        "this",
        "throw",
        "true",
        "try",
        "typealias",
        "typeof",
        "val",
        "var",
        "when",
        "while",
    ];
    let n = super::camel(name);
    if KEYWORDS.contains(&n.as_str()) {
        format!("`{n}`")
    } else {
        n
    }
}

pub(super) fn kt_type(t: &Type) -> String {
    match t {
        Type::Float => "Double".into(),
        Type::Int32 => "Int".into(),
        Type::UInt32 => "UInt".into(),
        Type::Int64 => "Long".into(),
        Type::UInt64 => "ULong".into(),
        Type::Bool => "Boolean".into(),
        Type::String => "String".into(),
        Type::Bytes => "ByteArray".into(),
        Type::Enum(n) | Type::Message(n) => n.clone(),
        Type::Timestamp => "java.time.Instant".into(),
        Type::Duration => "java.time.Duration".into(),
        Type::Struct | Type::Empty => "Map<*, *>".into(),
        Type::JsonValue => "Any?".into(),
        Type::ListValue => "List<*>".into(),
        Type::Wrapper(t) => kt_type(t),
    }
}

/// The native type the binding's built-in converter gives a field's values
/// (`io.github.hmsffi.Converters.BUILTINS`; docs/converters.md), if one applies.
pub(super) fn native(f: &Field) -> Option<&'static str> {
    match f.converted.as_ref()? {
        Target::Message(m) if m == "google.type.Decimal" => Some("java.math.BigDecimal"),
        Target::Message(m) if m == "google.type.Money" => Some("io.github.hmsffi.Money"),
        Target::Message(m) if m == "google.type.Date" => Some("java.time.LocalDate"),
        Target::Format(x) if x == "uuid" => Some("java.util.UUID"),
        _ => None,
    }
}

/// The Kotlin type of one of a field's values.
pub(super) fn value_type(f: &Field) -> String {
    native(f).map_or_else(|| kt_type(&f.ty), str::to_string)
}

/// Whether a singular field is nullable: presence, or a converted value (an unset format
/// field reads as null).
pub(super) fn nullable(f: &Field) -> bool {
    match f.shape {
        Shape::Single { presence } => {
            (presence && !matches!(f.ty, Type::JsonValue)) || native(f).is_some()
        }
        _ => false,
    }
}

/// An expression reading `x` as a nullable value of the field's values.
pub(super) fn read_value(f: &Field, x: &str) -> String {
    match native(f) {
        Some(t) => format!("({x} as? {t})"),
        None => read(&f.ty, x),
    }
}

/// An expression turning `x` (a non-null value of the field's values) into what the binding
/// sends: a converted value as it is (the binding's encoder converts it).
pub(super) fn write_value(f: &Field, x: &str) -> String {
    match native(f) {
        Some(_) => x.to_string(),
        None => write(&f.ty, x),
    }
}

/// The type of a oneof member's value, written in full: `kotlin.String`, `demo.v1.Item`.
pub(super) fn member_type(f: &Field, package: &str) -> String {
    fn full(t: &Type, package: &str) -> String {
        match t {
            Type::Enum(n) | Type::Message(n) => format!("{package}.{n}"),
            Type::Struct | Type::Empty => "kotlin.collections.Map<*, *>".into(),
            Type::ListValue => "kotlin.collections.List<*>".into(),
            Type::JsonValue => "kotlin.Any".into(),
            Type::Timestamp | Type::Duration => kt_type(t),
            Type::Wrapper(t) => full(t, package),
            _ => format!("kotlin.{}", kt_type(t)),
        }
    }
    native(f).map_or_else(|| full(&f.ty, package), str::to_string)
}

pub(super) fn field_type(f: &Field) -> String {
    match &f.shape {
        Shape::Single { .. } if nullable(f) => format!("{}?", value_type(f)),
        Shape::Single { .. } => kt_type(&f.ty),
        Shape::Repeated => format!("List<{}>", value_type(f)),
        Shape::Map(k) => format!("Map<{}, {}>", kt_type(k), value_type(f)),
    }
}

pub(super) fn zero(f: &Field) -> String {
    if nullable(f) {
        return "null".into();
    }
    match (&f.shape, &f.ty) {
        (Shape::Single { presence: true }, _) | (_, Type::JsonValue) => "null".into(),
        (Shape::Repeated, _) => "emptyList()".into(),
        (Shape::Map(_), _) => "emptyMap()".into(),
        (_, Type::Struct | Type::Empty) => "emptyMap<String, Any?>()".into(),
        (_, Type::Float) => "0.0".into(),
        (_, Type::Int32) => "0".into(),
        (_, Type::UInt32) => "0u".into(),
        (_, Type::Int64) => "0L".into(),
        (_, Type::UInt64) => "0uL".into(),
        (_, Type::Bool) => "false".into(),
        (_, Type::String) => "\"\"".into(),
        (_, Type::Bytes) => "ByteArray(0)".into(),
        (_, Type::Enum(n)) => format!("{n}.values()[0]"),
        (_, Type::Message(n)) => format!("{n}()"),
        (_, Type::Timestamp) => "java.time.Instant.EPOCH".into(),
        (_, Type::Duration) => "java.time.Duration.ZERO".into(),
        (_, Type::ListValue) => "emptyList<Any?>()".into(),
        (_, Type::Wrapper(_)) => "null".into(),
    }
}

/// An expression reading `x` (an `Any?` from the binding) as a nullable value of `t`.
pub(super) fn read(t: &Type, x: &str) -> String {
    match t {
        Type::Float => format!("({x} as? Number)?.toDouble()"),
        Type::Int32 => format!("({x} as? Number)?.toInt()"),
        Type::UInt32 => format!("({x} as? Number)?.toLong()?.toUInt()"),
        Type::Int64 => format!("({x} as? Number)?.toLong()"),
        Type::UInt64 => format!("({x} as? Number)?.toLong()?.toULong()"),
        Type::Bool => format!("({x} as? Boolean)"),
        Type::String => format!("({x} as? String)"),
        Type::Bytes => format!("({x} as? ByteArray)"),
        Type::Enum(n) => {
            format!("({x} as? String)?.let {{ s -> {n}.values().firstOrNull {{ it.name == s }} }}")
        }
        Type::Message(n) => format!("({x} as? Map<*, *>)?.let {{ {n}.fromValue(it) }}"),
        Type::Timestamp => format!("({x} as? java.time.Instant)"),
        Type::Duration => format!("({x} as? java.time.Duration)"),
        Type::Struct | Type::Empty => format!("({x} as? Map<*, *>)"),
        Type::JsonValue => x.to_string(),
        Type::ListValue => format!("({x} as? List<*>)"),
        Type::Wrapper(t) => read(t, x),
    }
}

/// An expression reading a map key (text in the binding's reply) as `t`.
pub(super) fn read_key(t: &Type) -> &'static str {
    match t {
        Type::Int32 => "k.toString().toInt()",
        Type::UInt32 => "k.toString().toUInt()",
        Type::Int64 => "k.toString().toLong()",
        Type::UInt64 => "k.toString().toULong()",
        Type::Bool => "k.toString().toBoolean()",
        _ => "k.toString()",
    }
}

/// An expression turning `x` (a non-null value of `t`) into what the binding sends.
pub(super) fn write(t: &Type, x: &str) -> String {
    match t {
        Type::UInt32 => format!("{x}.toLong()"),
        Type::UInt64 => format!("java.math.BigInteger({x}.toString())"),
        Type::Enum(_) => format!("{x}.name"),
        Type::Message(_) => format!("{x}.toValue()"),
        Type::Wrapper(t) => write(t, x),
        _ => x.to_string(),
    }
}
