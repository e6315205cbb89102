//! PHP values ⇄ core [`Value`]s. No schema knowledge here: the core checks the tree and reads a
//! PHP array by the field it fills (a list, a message or a map; see docs/types.md).
//!
//! | PHP | Value |
//! | --- | --- |
//! | `null`, `bool`, `int`, `float` | `Null`, `Bool`, `Int`, `Float` |
//! | `string` | `String` when valid UTF-8, else `Bytes` (the core accepts either for both kinds) |
//! | `HmsFfi\\Bytes` | `Bytes` (out: bytes are plain strings) |
//! | list (`array_is_list`) | `List` |
//! | other array | `Map` with `Int`/`String` keys |
//! | `DateTimeInterface` | `Timestamp` (out: `HmsFfi\Timestamp`, a `DateTimeImmutable`) |
//! | `GMP` | `Int`, `UInt` or `BigInt` (out: `GMP` for uint64 above `PHP_INT_MAX`) |
//! | `stdClass` (`(object)[]`) | `Map` of its properties (an empty object where any value goes) |
//! | empty `stdClass` (out) | an empty JSON object (`google.protobuf.Struct`), so `{}` comes back as `{}` |
//! | enum case | its name |
//! | Duration (out) | its protobuf-JSON text, `"1.500s"` (accepted back as is) |

use ext_php_rs::convert::IntoZval;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ArrayKey, ZendCallable, ZendHashTable, ZendObject, ZendStr, Zval};
use ext_php_rs::zend::ClassEntry;

use crate::converters::Convs;
use crate::errors::php_error;
use crate::ocore::mapping::{unmarked, wkt, DecodeOptions, NativeDepth, NativeFail};
use crate::ocore::{Timestamp, Value};

/// How PHP servers and clients ask the core for values: an empty JSON object is marked, and
/// becomes an empty `stdClass` here, since an empty PHP array is also an empty list.
pub(crate) const DECODE: DecodeOptions = DecodeOptions {
    int64_as_bigint: false,
    mark_empty_objects: true,
};

fn call(function: &str, args: Vec<&dyn ext_php_rs::convert::IntoZvalDyn>) -> PhpResult<Zval> {
    ZendCallable::try_from_name(function)
        .and_then(|f| f.try_call(args))
        .map_err(|e| php_error(&format!("{function}: {e}")))
}

fn class(name: &str) -> Option<&'static ClassEntry> {
    ClassEntry::try_find(name)
}

fn text_or_bytes(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => Value::Bytes(bytes.to_vec()),
    }
}

/// An array's entries with their keys as PHP gives them (an `int` or a `string` zval).
/// ext-php-rs's `iter()` and `has_sequential_keys()` panic on a string key that is not UTF-8
/// (`["\xff" => 1]`); this walk cannot.
pub(crate) fn raw_entries(ht: &ZendHashTable) -> impl Iterator<Item = (Zval, &Zval)> {
    let mut it = ht.iter();
    std::iter::from_fn(move || it.next_zval())
}

/// An array's entries, keys as core values: `Int`, `String`, or `Bytes` for a key that is not
/// UTF-8 (the core refuses those, with their path, where it wants text).
pub(crate) fn entries(ht: &ZendHashTable) -> impl Iterator<Item = (Value, &Zval)> {
    raw_entries(ht).map(|(k, v)| (key_value(&k), v))
}

/// An options array's entries, keys as text; a key that is not UTF-8 is
/// `HmsFfi\InvalidArgumentException` (it can name no option nor metadata key).
pub(crate) fn named_entries(
    ht: &ZendHashTable,
) -> impl Iterator<Item = PhpResult<(String, &Zval)>> {
    raw_entries(ht).map(|(k, v)| match key_value(&k) {
        Value::Int(i) => Ok((i.to_string(), v)),
        Value::String(s) => Ok((s, v)),
        _ => Err(crate::errors::bad_option(format!(
            "key \"{}\" is not UTF-8",
            k.zend_str()
                .map_or(&[][..], |s| s.as_bytes())
                .escape_ascii()
        ))),
    })
}

/// `HASH_FLAG_PACKED` (`Zend/zend_hash.h`): the array holds its values by index.
const HASH_FLAG_PACKED: u32 = 1 << 2;

/// Whether an array is a list (keys 0, 1, 2, …), as `array_is_list`; never panics. A packed
/// array without holes is one at once, as PHP's own `zend_array_is_list` finds.
pub(crate) fn is_list(ht: &ZendHashTable) -> bool {
    // SAFETY: `flags` is the plain 32-bit view of the live array's flag bytes.
    #[allow(unsafe_code)]
    let flags = unsafe { ht.u.flags };
    if flags & HASH_FLAG_PACKED != 0 && ht.nNumUsed == ht.nNumOfElements {
        return true;
    }
    (0..)
        .zip(raw_entries(ht))
        .all(|(i, (k, _))| k.long() == Some(i))
}

fn key_value(key: &Zval) -> Value {
    match key.long() {
        Some(i) => Value::Int(i),
        None => text_or_bytes(key.zend_str().map_or(&[], |s| s.as_bytes())),
    }
}

/// A walk's failure: a PHP exception, or nesting past the core's limit (or a converter's
/// failure, which gathers its path the same way).
pub(crate) type Fail = NativeFail<PhpException>;

fn finish(r: Result<Value, Fail>) -> PhpResult<Value> {
    r.map_err(|f| f.into_native(crate::errors::to_php))
}

/// A PHP value as a core value. Values of other types become [`Value::Unsupported`], which the
/// core reports at their path. Nesting deeper than the core's native limit is
/// `HmsFfi\ResourceExhaustedException` with the path, before the stack runs out.
pub(crate) fn from_php(zv: &Zval) -> PhpResult<Value> {
    finish(walk(zv, NativeDepth::default()))
}

/// As [`from_php`], with nesting past the limit kept apart from PHP's own errors.
pub(crate) fn value_of(zv: &Zval) -> Result<Value, Fail> {
    walk(zv, NativeDepth::default())
}

fn walk(zv: &Zval, depth: NativeDepth) -> Result<Value, Fail> {
    let zv = zv.dereference();
    if zv.is_null() {
        return Ok(Value::Null);
    }
    if let Some(b) = zv.bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(i) = zv.long() {
        return Ok(Value::Int(i));
    }
    if let Some(x) = zv.double() {
        return Ok(Value::Float(x));
    }
    if let Some(s) = zv.zend_str() {
        return Ok(text_or_bytes(s.as_bytes()));
    }
    if let Some(ht) = zv.array() {
        return walk_array(ht, depth);
    }
    if let Some(obj) = zv.object() {
        return object_from_php(zv, obj, depth);
    }
    Ok(Value::Unsupported(format!("{:?}", zv.get_type())))
}

fn walk_array(ht: &ZendHashTable, depth: NativeDepth) -> Result<Value, Fail> {
    let depth = depth.descend()?;
    if is_list(ht) {
        return ht
            .values()
            .enumerate()
            .map(|(i, v)| walk(v, depth).map_err(|f| f.at_index(i)))
            .collect::<Result<_, Fail>>()
            .map(Value::List);
    }
    walk_entries(ht, depth)
}

/// The entries of an array or an object's property table; `depth` is the container's own.
fn walk_entries(ht: &ZendHashTable, depth: NativeDepth) -> Result<Value, Fail> {
    let mut out = Vec::with_capacity(ht.len());
    for (key, v) in entries(ht) {
        let value = walk(v.indirect().unwrap_or(v), depth).map_err(|f| f.at_key(&key))?;
        out.push((key, value));
    }
    Ok(Value::Map(out))
}

fn object_from_php(zv: &Zval, obj: &ZendObject, depth: NativeDepth) -> Result<Value, Fail> {
    if class("DateTimeInterface").is_some_and(|ce| obj.instance_of(ce)) {
        let parts = call("HmsFfi\\Timestamp::unixParts", vec![zv])?;
        let part = |i| {
            parts
                .array()
                .and_then(|a| a.get_index(i))
                .and_then(Zval::long)
        };
        let (Some(seconds), Some(nanos)) = (part(0), part(1)) else {
            return Ok(Value::Unsupported("DateTimeInterface".into()));
        };
        return Ok(Value::Timestamp(Timestamp {
            seconds,
            nanos: nanos as i32,
        }));
    }
    if class("HmsFfi\\Bytes").is_some_and(|ce| obj.instance_of(ce)) {
        let data = property(obj, "data").and_then(Zval::zend_str);
        return Ok(Value::Bytes(
            data.map(|s| s.as_bytes().to_vec()).unwrap_or_default(),
        ));
    }
    if obj.get_class_name().is_ok_and(|n| n == "stdClass") {
        // `(object)[]`, json_decode()'s objects: a map of the public properties.
        let props = obj
            .get_properties()
            .map_err(|e| php_error(&e.to_string()))?;
        return walk_entries(props, depth.descend()?);
    }
    if class("GMP").is_some_and(|ce| obj.instance_of(ce)) {
        let text = gmp_text(zv).unwrap_or_default();
        return Ok(match (text.parse::<i64>(), text.parse::<u64>()) {
            (Ok(i), _) => Value::Int(i),
            (_, Ok(u)) => Value::UInt(u),
            _ => Value::BigInt(text),
        });
    }
    if class("UnitEnum").is_some_and(|ce| obj.instance_of(ce)) {
        if let Some(name) = property(obj, "name").and_then(Zval::string) {
            return Ok(Value::String(name));
        }
    }
    Ok(Value::Unsupported(
        obj.get_class_name().unwrap_or_else(|_| "object".into()),
    ))
}

/// A declared property, read from the property table (readonly ones included).
fn property<'a>(obj: &'a ZendObject, name: &str) -> Option<&'a Zval> {
    let v = obj.get_properties().ok()?.get(name)?;
    Some(v.indirect().unwrap_or(v))
}

/// Map keys as PHP array keys: bool keys as `"true"`/`"false"`, integers beyond `PHP_INT_MAX`
/// as decimal text (the core reads both back).
fn php_key(k: &Value) -> ArrayKey<'static> {
    match k {
        Value::Int(i) => ArrayKey::Long(*i),
        Value::String(s) => ArrayKey::from(s.clone()),
        other => ArrayKey::from(match other {
            Value::Bool(b) => b.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::BigInt(s) => s.clone(),
            _ => format!("{other:?}"),
        }),
    }
}

/// A core value as a PHP value: arrays, `HmsFfi\Timestamp`, strings, ints, floats, …
pub(crate) fn to_php(v: &Value) -> PhpResult<Zval> {
    finish_zval(out(v, None))
}

/// A received value the core's walk left to the general path ([`crate::walk::PhpOut`]) as PHP
/// values, each value it converted ([`unmarked`]) made native by its converter's
/// `fromMessage`. The failure is the core's error (a converter that threw, with its path) or
/// PHP's own.
pub(crate) fn received_or_core(v: &Value, convs: &Convs) -> Result<Zval, Fail> {
    out(v, Some(convs))
}

fn finish_zval(r: Result<Zval, Fail>) -> PhpResult<Zval> {
    r.map_err(|f| f.into_native(crate::errors::to_php))
}

fn out(v: &Value, convs: Option<&Convs>) -> Result<Zval, Fail> {
    if let Some((i, inner)) = unmarked(v) {
        let x = out(inner, convs)?;
        return match convs {
            Some(c) => c.native_of(i, x),
            None => Ok(x),
        };
    }
    let mut out = Zval::new();
    match v {
        Value::Null | Value::Unsupported(_) => out.set_null(),
        Value::Bool(b) => out.set_bool(*b),
        Value::Int(i) => out.set_long(*i),
        Value::UInt(u) => match i64::try_from(*u) {
            Ok(i) => out.set_long(i),
            Err(_) => return Ok(big_int(&u.to_string())?),
        },
        Value::BigInt(s) => return Ok(big_int(s)?),
        Value::Float(x) => out.set_double(*x),
        Value::String(s) => out.set_string(s, false).map_err(php_err)?,
        Value::Bytes(b) => out.set_zend_string(ZendStr::new(b, false)),
        Value::List(items) => {
            let mut ht = ZendHashTable::with_capacity(items.len() as u32);
            for (i, item) in items.iter().enumerate() {
                ht.push(self::out(item, convs).map_err(|f| f.at_index(i))?)
                    .map_err(php_err)?;
            }
            out.set_hashtable(ht);
        }
        Value::Map(_) if v.is_empty_object() => {
            return ZendObject::new_stdclass().into_zval(false).map_err(php_err)
        }
        Value::Map(entries) => {
            let mut ht = ZendHashTable::with_capacity(entries.len() as u32);
            for (k, item) in entries {
                let x = self::out(item, convs).map_err(|f| f.at_key(k))?;
                ht.insert(php_key(k), x).map_err(php_err)?;
            }
            out.set_hashtable(ht);
        }
        Value::Timestamp(t) => {
            return Ok(call(
                "HmsFfi\\Timestamp::fromUnix",
                vec![&t.seconds, &i64::from(t.nanos)],
            )?)
        }
        Value::Duration(d) => out
            .set_string(&wkt::format_duration(*d), false)
            .map_err(php_err)?,
    }
    Ok(out)
}

fn php_err(e: ext_php_rs::error::Error) -> Fail {
    NativeFail::Native(php_error(&e.to_string()))
}

/// A `GMP` number's decimal text (`None` for any other value).
pub(crate) fn gmp_text(zv: &Zval) -> Option<String> {
    let obj = zv.object()?;
    if !class("GMP").is_some_and(|ce| obj.instance_of(ce)) {
        return None;
    }
    call("gmp_strval", vec![zv]).ok()?.string()
}

/// An integer beyond PHP's: a `GMP` number when the gmp extension is loaded, else decimal text.
pub(crate) fn big_int(text: &str) -> PhpResult<Zval> {
    if class("GMP").is_some() {
        return call("gmp_init", vec![&text]);
    }
    text.into_zval(false).map_err(|e| php_error(&e.to_string()))
}
