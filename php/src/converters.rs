//! Converters for custom domain types (`HmsFfi\Converter`, `php/php/converters.php`): the PHP
//! callables the core runs where its walk meets a converted value (`ocore::mapping::convert`).
//!
//! The core decides where a converter applies, both ways. Sending, the PHP value is shown to
//! the core's walk as an [`Input`] ([`PhpIn`]), whose [`Input::convert`] calls the converter's
//! `toMessage`; receiving, the core's reader hands each converted value to
//! [`crate::walk::PhpOut`], whose `convert` calls `fromMessage` ([`Convs::native_from`]; a value
//! left to the general path comes marked, [`ValueMark`], and [`crate::convert`] does the same).
//! This file only holds and calls the callables.

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

use ext_php_rs::convert::IntoZval;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendCallable, Zval};
use ext_php_rs::zend::{ce, ExecutorGlobals};

use crate::convert::{self, Fail};
use crate::errors::{self, php_result};
use crate::ocore::mapping::{self, Converters, Input, Native, Target, ValueMark, View};
use crate::ocore::{Error, NativeResult, Value};

/// One converter: its two callables and the target errors name it by.
struct Conv {
    to_message: ZendCallable<'static>,
    from_message: ZendCallable<'static>,
    target: String,
}

/// The converters of a client or a server, converter `i` marked `i` by the core. Cheap to
/// clone (streams and pending calls share their client's).
#[derive(Clone, Default)]
pub(crate) struct Convs(Rc<(Vec<Conv>, Converters)>);

impl std::fmt::Debug for Convs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0 .0.iter().map(|c| &c.target))
            .finish()
    }
}

/// The class name and message of the exception a converter threw (taken off the engine, so
/// PHP goes on): `InvalidArgumentException: not a date`.
fn thrown(fallback: &str) -> String {
    let Some(e) = ExecutorGlobals::take_exception() else {
        return fallback.to_string();
    };
    let class = e.get_class_name().unwrap_or_else(|_| "Throwable".into());
    let message = e
        .try_call_method("getMessage", vec![])
        .ok()
        .and_then(|m| m.string())
        .unwrap_or_default();
    format!("{class}: {message}")
}

impl Convs {
    /// The converters of a `converters` option (a list of `HmsFfi\Converter`; absent: the
    /// built-ins). A bad list throws `HmsFfi\InvalidArgumentException`.
    pub(crate) fn from_option(option: Option<&Zval>) -> PhpResult<Convs> {
        let list = match option {
            Some(list) => list.shallow_clone(),
            None => call("HmsFfi\\Converter::builtins", vec![])?,
        };
        let native = call("HmsFfi\\Converter::native", vec![&list])?;
        let mut convs = Vec::new();
        let mut registry = Converters::new();
        for (i, row) in native
            .array()
            .into_iter()
            .flat_map(|a| a.values())
            .enumerate()
        {
            let part = |k: i64| row.array().and_then(|r| r.get_index(k));
            let text = |k| part(k).and_then(Zval::string).unwrap_or_default();
            let callable = |k| {
                let f = part(k).map(Zval::shallow_clone).unwrap_or_default();
                ZendCallable::new_owned(f).map_err(|e| errors::bad_option(e.to_string()))
            };
            let target = match text(0).as_str() {
                "message" => Target::Message(text(1)),
                _ => Target::Format(text(1)),
            };
            registry = registry.with(target, Arc::new(ValueMark(i as u32)));
            convs.push(Conv {
                to_message: callable(2)?,
                from_message: callable(3)?,
                target: text(4),
            });
        }
        Ok(Convs(Rc::new((convs, registry))))
    }

    /// The core's registry of these converters, for the client's or server's options.
    pub(crate) fn registry(&self) -> Converters {
        self.0 .1.clone()
    }

    fn get(&self, i: u32) -> Option<&Conv> {
        self.0 .0.get(i as usize)
    }

    /// Converter `i`'s `fromMessage` of `value` (a value the general path marked); a throw is
    /// the core's error at the value's path, gathered on the way out.
    pub(crate) fn native_of(&self, i: u32, value: Zval) -> Result<Zval, Fail> {
        let target = || self.get(i).map_or("", |c| c.target.as_str());
        self.native_by(i, value)
            .map_err(|why| mapping::NativeFail::Deep(mapping::TooDeep::converter(target(), &why)))
    }

    /// The `fromMessage` of the converter `native` marks (the core's reader met a converted
    /// value); a throw is described for the core, which reports it at the value's path.
    pub(crate) fn native_from(&self, native: &Native, value: Zval) -> Result<Zval, String> {
        match native.downcast_ref::<ValueMark>() {
            Some(mark) => self.native_by(mark.0, value),
            None => Ok(value),
        }
    }

    fn native_by(&self, i: u32, value: Zval) -> Result<Zval, String> {
        let Some(c) = self.get(i) else {
            return Ok(value);
        };
        c.from_message
            .try_call(vec![&value])
            .map_err(|e| thrown(&e.to_string()))
    }

    fn message_of(&self, native: &Native, value: &Zval) -> Result<Zval, String> {
        let mark = native
            .downcast_ref::<ValueMark>()
            .ok_or("not a PHP converter")?;
        let c = self.get(mark.0).ok_or("not a PHP converter")?;
        c.to_message
            .try_call(vec![value])
            .map_err(|e| thrown(&e.to_string()))
    }
}

/// What encodes a message a caller sends: a client stream (a request) or a bus (an event on a
/// topic); it holds the converters' registry and decides where they apply.
pub(crate) trait Encode {
    /// `input` walked to the message's bytes.
    fn encode<I: Input>(&self, input: &I) -> NativeResult<bytes::Bytes, I::Error>;
}

impl Encode for crate::ocore::StreamCall {
    fn encode<I: Input>(&self, input: &I) -> NativeResult<bytes::Bytes, I::Error> {
        self.encode_input(input)
    }
}

/// A message a caller sends, encoded by `encoder` (a client stream's request, a bus event).
pub(crate) fn outgoing(encoder: &impl Encode, convs: &Convs, zv: &Zval) -> PhpResult<bytes::Bytes> {
    match encoder.encode(&PhpIn::new(zv, convs)) {
        Ok(bytes) => php_result(bytes),
        Err(f) => Err(f.into_native(errors::to_php)),
    }
}

/// A reply of a streaming handler, encoded by the core's stream (which holds the server's
/// converters). Not a reply of the type, or a converter that threw, is `Internal`, as the core
/// makes it; the outer error is PHP's own.
pub(crate) fn stream_reply(
    stream: &crate::ocore::ServerStream,
    convs: &Convs,
    zv: &Zval,
) -> Result<crate::ocore::Result<bytes::Bytes>, Fail> {
    stream.encode(&PhpIn::new(zv, convs))
}

fn call(function: &str, args: Vec<&dyn ext_php_rs::convert::IntoZvalDyn>) -> PhpResult<Zval> {
    ZendCallable::try_from_name(function)
        .and_then(|f| f.try_call(args))
        .map_err(|e| match ExecutorGlobals::take_exception() {
            // Thrown again as it is (a bad list: `HmsFfi\InvalidArgumentException`).
            Some(thrown) => {
                let message = thrown
                    .try_call_method("getMessage", vec![])
                    .ok()
                    .and_then(|m| m.string())
                    .unwrap_or_default();
                match thrown.into_zval(false) {
                    Ok(object) => {
                        PhpException::new(message, 0, ce::exception()).with_object(object)
                    }
                    Err(e) => errors::php_error(&format!("{function}: {e}")),
                }
            }
            None => errors::php_error(&format!("{function}: {e}")),
        })
}

/// A PHP value as the core's walk reads it ([`Input`]), with the converters its
/// [`convert`](Input::convert) runs.
pub(crate) struct PhpIn<'a> {
    /// One more counted reference to the value, as PHP's own copies are (no allocation).
    zv: Zval,
    convs: &'a Convs,
}

impl Clone for PhpIn<'_> {
    fn clone(&self) -> Self {
        PhpIn {
            zv: self.zv.shallow_clone(),
            convs: self.convs,
        }
    }
}

impl<'a> PhpIn<'a> {
    pub(crate) fn new(zv: &Zval, convs: &'a Convs) -> PhpIn<'a> {
        PhpIn {
            zv: zv.shallow_clone(),
            convs,
        }
    }

    fn zv(&self) -> &Zval {
        let zv: &Zval = &self.zv;
        zv.indirect().unwrap_or(zv).dereference()
    }
}

impl Input for PhpIn<'_> {
    type Error = Fail;

    fn view(&self) -> View<'_> {
        let zv = self.zv();
        if zv.is_null() {
            View::Null
        } else if let Some(b) = zv.bool() {
            View::Bool(b)
        } else if let Some(i) = zv.long() {
            View::Int(i)
        } else if let Some(x) = zv.double() {
            View::Float(x)
        } else if let Some(s) = zv.zend_str() {
            std::str::from_utf8(s.as_bytes()).map_or(View::Bytes(s.as_bytes()), View::Str)
        } else if let Some(a) = zv.array() {
            if convert::is_list(a) {
                View::List
            } else {
                View::Map
            }
        } else {
            // Objects (Timestamps, GMP numbers, enum cases, stdClass) take the general path.
            View::Other
        }
    }

    fn items(&self) -> impl Iterator<Item = Self> + '_ {
        let items = self.zv().array().into_iter().flat_map(|a| a.values());
        items.map(|v| PhpIn::new(v, self.convs))
    }

    fn entries(&self) -> impl Iterator<Item = (Self, Self)> + '_ {
        let entries = self.zv().array().into_iter().flat_map(convert::raw_entries);
        entries.map(|(k, v)| (PhpIn::new(&k, self.convs), PhpIn::new(v, self.convs)))
    }

    fn len_hint(&self) -> usize {
        self.zv().array().map_or(0, |a| a.len())
    }

    fn to_value(&self) -> Result<Cow<'_, Value>, Fail> {
        convert::value_of(self.zv()).map(Cow::Owned)
    }

    fn convert(&self, native: &Native) -> Result<Self, String> {
        let out = self.convs.message_of(native, self.zv())?;
        Ok(PhpIn {
            zv: out,
            convs: self.convs,
        })
    }
}

/// A core error for a converter that threw while a reply was made, or PHP's own error.
pub(crate) fn core_error(f: Fail) -> Result<Error, PhpException> {
    match f {
        mapping::NativeFail::Deep(d) => Ok(d.into_error()),
        mapping::NativeFail::Native(e) => Err(e),
    }
}
