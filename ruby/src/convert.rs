//! Ruby objects ⇄ core [`Value`]s. No schema knowledge here: the core checks the tree.
//!
//! In: `nil`, `true`/`false`, Integer (beyond 64 bits as `BigInt`, which the core reports out
//! of range), Float, String (binary-encoded strings as bytes, others as text), Symbol (as
//! text: enum names and hash keys), Array, Hash (String or Symbol keys), Time, and Rational
//! seconds for a Duration. Out: Hash with Symbol keys for message fields (and string map keys),
//! UTF-8 Strings, binary Strings for bytes, Time (UTC) for timestamps, Rational seconds for
//! durations.
#![allow(unsafe_code)]

use std::num::NonZero;
use std::sync::Arc;

use magnus::block::Proc;
use magnus::error::ErrorType;
use magnus::r_hash::ForEach;
use magnus::time::{Offset, Timespec};
use magnus::value::{Qfalse, Qtrue, ReprValue};
use magnus::{
    prelude::*, Error, Float, Integer, RArray, RClass, RHash, RRational, RString, Ruby, Symbol,
    Time, Value as RValue,
};

use crate::ocore::exchange::handler_fault;
use crate::ocore::mapping::{
    unmarked, Converters, NativeDepth, NativeFail, Target, TooDeep, ValueMark,
};
use crate::ocore::{Duration, Timestamp, Value};

const NANOS: i64 = 1_000_000_000;

/// A walk's failure: a Ruby error, or nesting past the core's limit.
type Fail = NativeFail<Error>;

/// A Ruby object as a value. Objects of other classes become [`Value::Unsupported`] with their
/// class name, which the core reports at their path. Nesting deeper than the core's native
/// limit is `HmsFfi::ResourceExhausted` with the path, before the stack runs out.
pub(crate) fn from_ruby(ruby: &Ruby, v: RValue) -> Result<Value, Error> {
    from_ruby_converting(ruby, v, None, false)
}

/// [`from_ruby`] with the converters `convs` (`[[class, to_message, from_message, target], …]`,
/// `lib/hms_ffi/converters.rb`): an object of a converter's class goes through its
/// `to_message`. One that raises is the core's error with the path (`HmsFfi::InvalidArgument`;
/// `Internal` for a handler's `reply`).
pub(crate) fn from_ruby_converting(
    ruby: &Ruby,
    v: RValue,
    convs: Option<RArray>,
    reply: bool,
) -> Result<Value, Error> {
    walk(ruby, v, NativeDepth::default(), convs).map_err(|f| {
        f.into_native(|e| crate::errors::to_ruby(ruby, if reply { handler_fault(e) } else { e }))
    })
}

/// A request of a batch as a value, or the core's error when the walk refused it (a converter
/// that raised, nesting past the limit; a `StandardError` raised while reading it), for the
/// core to keep in its place. The outer error is an interrupt or a non-local exit, which ends
/// the whole batch.
pub(crate) fn request_of(
    ruby: &Ruby,
    v: RValue,
    convs: Option<RArray>,
) -> Result<crate::ocore::Result<Value>, Error> {
    match walk(ruby, v, NativeDepth::default(), convs) {
        Ok(value) => Ok(Ok(value)),
        Err(NativeFail::Deep(d)) => Ok(Err(d.into_error())),
        Err(NativeFail::Native(e)) if crate::errors::ends_serving(ruby, &e) => Err(e),
        Err(NativeFail::Native(e)) => Ok(Err(crate::errors::from_ruby(ruby, &e))),
    }
}

/// The core's registry of the converters' `targets` (`[["message" | "format", name], …]`),
/// converter `i` marked `i` in the value trees the core makes.
pub(crate) fn registry(ruby: &Ruby, targets: Vec<(String, String)>) -> Result<Converters, Error> {
    let mut out = Converters::new();
    for (i, (kind, name)) in targets.into_iter().enumerate() {
        let target = match kind.as_str() {
            "message" => Target::Message(name),
            "format" => Target::Format(name),
            _ => return Err(Error::new(ruby.exception_arg_error(), "converter kind")),
        };
        out = out.with(target, Arc::new(ValueMark(i as u32)));
    }
    Ok(out)
}

/// The message-shaped object the converter of `v`'s class makes of it, if one has its class.
fn sent(v: RValue, convs: RArray) -> Result<Option<RValue>, Fail> {
    for entry in convs.into_iter() {
        let c = RArray::from_value(entry).ok_or(NativeFail::Deep(TooDeep::at_native_limit()))?;
        let Some(class) = RClass::from_value(c.entry::<RValue>(0)?) else {
            continue;
        };
        if !v.is_kind_of(class) {
            continue;
        }
        let to_message: Proc = c.entry(1)?;
        return match to_message.call::<_, RValue>((v,)) {
            Ok(m) => Ok(Some(m)),
            Err(e) => Err(failed(c, &e)),
        };
    }
    Ok(None)
}

/// A converter's failure, to gather its path on the way out.
fn failed(c: RArray, e: &Error) -> Fail {
    let target: String = c.entry(3).unwrap_or_default();
    NativeFail::Deep(TooDeep::converter(&target, &why(e)))
}

/// How a converter's failure reads (`ArgumentError: bad digits`).
pub(crate) fn why(e: &Error) -> String {
    match e.error_type() {
        ErrorType::Exception(x) => {
            let message: String = x.funcall("message", ()).unwrap_or_default();
            format!("{}: {message}", unsafe_class_name(x.as_value()))
        }
        _ => e.to_string(),
    }
}

fn walk(ruby: &Ruby, v: RValue, depth: NativeDepth, convs: Option<RArray>) -> Result<Value, Fail> {
    if v.is_nil() {
        return Ok(Value::Null);
    }
    if Qtrue::from_value(v).is_some() {
        return Ok(Value::Bool(true));
    }
    if Qfalse::from_value(v).is_some() {
        return Ok(Value::Bool(false));
    }
    if let Some(i) = Integer::from_value(v) {
        return Ok(integer(i));
    }
    if let Some(f) = Float::from_value(v) {
        return Ok(Value::Float(f.to_f64()));
    }
    if let Some(s) = RString::from_value(v) {
        return Ok(string(ruby, s));
    }
    if let Some(s) = Symbol::from_value(v) {
        return Ok(Value::String(s.name()?.into_owned()));
    }
    if let Some(h) = RHash::from_value(v) {
        let depth = depth.descend()?;
        let mut entries = Vec::with_capacity(h.len());
        // `foreach` takes Ruby errors only: a nesting error waits here while it stops.
        let mut deep = None;
        h.foreach(|k: RValue, x: RValue| {
            let entry = walk(ruby, k, depth, convs).and_then(|key| {
                let value = walk(ruby, x, depth, convs).map_err(|f| f.at_key(&key))?;
                Ok((key, value))
            });
            match entry {
                Ok(entry) => entries.push(entry),
                Err(NativeFail::Native(e)) => return Err(e),
                Err(NativeFail::Deep(d)) => {
                    deep = Some(d);
                    return Ok(ForEach::Stop);
                }
            }
            Ok(ForEach::Continue)
        })?;
        return match deep {
            Some(d) => Err(NativeFail::Deep(d)),
            None => Ok(Value::Map(entries)),
        };
    }
    if let Some(a) = RArray::from_value(v) {
        let depth = depth.descend()?;
        let mut items = Vec::with_capacity(a.len());
        for i in 0..a.len() {
            let item = a.entry::<RValue>(i as isize)?;
            items.push(walk(ruby, item, depth, convs).map_err(|f| f.at_index(i))?);
        }
        return Ok(Value::List(items));
    }
    if let Some(m) = convs.map(|cs| sent(v, cs)).transpose()?.flatten() {
        return walk(ruby, m, depth, convs);
    }
    if let Some(t) = Time::from_value(v) {
        let ts = t.timespec().map_err(NativeFail::Native)?;
        return Ok(Value::Timestamp(Timestamp {
            seconds: ts.tv_sec,
            nanos: ts.tv_nsec as i32,
        }));
    }
    if let Some(r) = RRational::from_value(v) {
        return Ok(duration(r));
    }
    Ok(Value::Unsupported(unsafe_class_name(v)))
}

fn integer(i: Integer) -> Value {
    if let Ok(n) = i.to_i64() {
        return Value::Int(n);
    }
    if let Ok(n) = i.to_u64() {
        return Value::UInt(n);
    }
    Value::BigInt(i.to_string())
}

/// The bytes of a String, copied.
pub(crate) fn copy(s: RString) -> Vec<u8> {
    // SAFETY: the slice is copied at once, before any Ruby code can run.
    unsafe { s.as_slice() }.to_vec()
}

fn string(ruby: &Ruby, s: RString) -> Value {
    if s.enc_get() == ruby.ascii8bit_encindex() {
        return Value::Bytes(copy(s));
    }
    // Text in any encoding travels as UTF-8; bytes that are not text stay bytes, which a
    // `string` field reports as "not valid UTF-8".
    let utf8 = if s.is_utf8_compatible_encoding() {
        s
    } else {
        match s.funcall::<_, _, RString>("encode", ("UTF-8",)) {
            Ok(u) => u,
            Err(_) => return Value::Bytes(copy(s)),
        }
    };
    String::from_utf8(copy(utf8)).map_or_else(|e| Value::Bytes(e.into_bytes()), Value::String)
}

fn duration(r: RRational) -> Value {
    let (num, den) = (r.num().to_i128(), r.den().to_i128());
    match (num, den) {
        (Ok(num), Ok(den)) if den != 0 => {
            let nanos = num.saturating_mul(i128::from(NANOS)) / den;
            Value::Duration(Duration {
                seconds: i64::try_from(nanos / i128::from(NANOS)).unwrap_or(i64::MAX),
                nanos: (nanos % i128::from(NANOS)) as i32,
            })
        }
        _ => Value::Unsupported("Rational out of range".into()),
    }
}

fn unsafe_class_name(v: RValue) -> String {
    // SAFETY: the name is copied at once.
    unsafe { v.classname() }.into_owned()
}

/// A value as a Ruby object (see the module docs for the classes).
pub(crate) fn to_ruby(ruby: &Ruby, v: &Value) -> Result<RValue, Error> {
    to_ruby_converting(ruby, v, None)
}

/// [`to_ruby`] with the converters `convs` (as [`from_ruby_converting`]): a value the core's walk
/// converted ([`unmarked`]) goes through its converter's `from_message`. One that raises is
/// the core's error with the path (`HmsFfi::InvalidArgument`).
pub(crate) fn to_ruby_converting(
    ruby: &Ruby,
    v: &Value,
    convs: Option<RArray>,
) -> Result<RValue, Error> {
    out(ruby, v, convs).map_err(|f| f.into_native(|e| crate::errors::to_ruby(ruby, e)))
}

fn out(ruby: &Ruby, v: &Value, convs: Option<RArray>) -> Result<RValue, Fail> {
    if let Some((i, inner)) = unmarked(v) {
        let x = out(ruby, inner, convs)?;
        let Some(c) = convs.and_then(|cs| cs.entry::<Option<RArray>>(i as isize).ok().flatten())
        else {
            return Ok(x);
        };
        let from_message: Proc = c.entry(2)?;
        return from_message.call((x,)).map_err(|e| failed(c, &e));
    }
    Ok(match v {
        Value::Null | Value::Unsupported(_) => ruby.qnil().as_value(),
        Value::Bool(true) => ruby.qtrue().as_value(),
        Value::Bool(false) => ruby.qfalse().as_value(),
        Value::Int(i) => ruby.integer_from_i64(*i).as_value(),
        Value::UInt(u) => ruby.integer_from_u64(*u).as_value(),
        Value::BigInt(s) => ruby.str_new(s).funcall("to_i", ())?,
        Value::Float(x) => ruby.float_from_f64(*x).as_value(),
        Value::String(s) => ruby.str_new(s).as_value(),
        Value::Bytes(b) => ruby.str_from_slice(b).as_value(),
        Value::List(items) => {
            let a = ruby.ary_new_capa(items.len());
            for (i, x) in items.iter().enumerate() {
                a.push(out(ruby, x, convs).map_err(|f| f.at_index(i))?)?;
            }
            a.as_value()
        }
        Value::Map(entries) => {
            let h = ruby.hash_new();
            for (k, x) in entries {
                let key = match k {
                    Value::String(s) => ruby.to_symbol(s).as_value(),
                    other => out(ruby, other, None)?,
                };
                h.aset(key, out(ruby, x, convs).map_err(|f| f.at_key(k))?)?;
            }
            h.as_value()
        }
        Value::Timestamp(t) => {
            let ts = Timespec {
                tv_sec: t.seconds,
                tv_nsec: i64::from(t.nanos),
            };
            ruby.time_timespec_new(ts, Offset::utc())?.as_value()
        }
        Value::Duration(d) => {
            let nanos = i128::from(d.seconds) * i128::from(NANOS) + i128::from(d.nanos);
            rational_seconds(ruby, nanos)?
        }
    })
}

/// `nanos` nanoseconds as exact Rational seconds (`Rational(3, 2)` for 1.5 s).
fn rational_seconds(ruby: &Ruby, nanos: i128) -> Result<RValue, Error> {
    match i64::try_from(nanos) {
        Ok(n) => {
            let den = NonZero::new(NANOS).unwrap_or(NonZero::<i64>::MIN);
            Ok(ruby.rational_new(n, den).as_value())
        }
        // Beyond ±292 years in nanoseconds: let Ruby build it from text.
        Err(_) => ruby
            .str_new(&format!("{nanos}/{NANOS}"))
            .funcall("to_r", ()),
    }
}
