//! Ruby objects as the core's one-pass walk reads and makes them: a request Hash is written as
//! protobuf bytes straight from its Strings, Integers, Floats, Arrays and Hashes, and a reply's
//! bytes become a Hash directly, with no `Value` tree in between (the core's `mapping::Input`
//! and `mapping::Output`; Python's `walk.rs` is the same for Python objects).
//!
//! Each object's [`View`] is the meaning [`convert::from_ruby`] gives it, checked in the same
//! order: `nil`, `true`/`false`, Integer (within 64 bits), Float, String (binary-encoded as
//! bytes, UTF-8 or US-ASCII as text, invalid UTF-8 as bytes), Symbol (as text), Hash, Array. An
//! object without a view of its own (a Time, a Rational, an Integer beyond 64 bits, a String
//! in another encoding, an object of a converter's class or of any other class) sends its
//! message through `from_ruby_converting` and the core's general path, which converts or
//! refuses it exactly as before. The objects [`RbOut`] makes are those `to_ruby` makes: Hashes
//! with Symbol keys for messages and maps with text keys, UTF-8 Strings, binary Strings for
//! bytes, and what the general path and the converters' `from_message` give.
//!
//! Ruby's garbage collector does not see Rust's heap: every object [`RbOut`] makes is kept in
//! an Array on the stack of the call until its parent holds it.
#![allow(unsafe_code)]

use std::borrow::Cow;

use magnus::block::Proc;
use magnus::r_hash::ForEach;
use magnus::value::{Qfalse, Qtrue, ReprValue};
use magnus::{
    prelude::*, Error, Float, Integer, RArray, RHash, RString, Ruby, Symbol, Value as RValue,
};

use crate::convert;
use crate::ocore::mapping::{Input, Native, Output, Scalar, ValueMark, View};
use crate::ocore::Value;

/// A Ruby object read by the core's writer, with what its general path needs: the converters
/// (`[[class, to_message, from_message, target], …]`) and whether it is a handler's reply.
#[derive(Clone, Copy)]
pub(crate) struct RbIn<'a> {
    v: RValue,
    ruby: &'a Ruby,
    convs: Option<RArray>,
    reply: bool,
}

impl<'a> RbIn<'a> {
    /// The request `v` (`reply`: a handler's reply, whose converter failures are `Internal`).
    pub(crate) fn new(ruby: &'a Ruby, v: RValue, convs: Option<RArray>, reply: bool) -> Self {
        RbIn {
            v,
            ruby,
            convs,
            reply,
        }
    }

    fn of(&self, v: RValue) -> Self {
        RbIn { v, ..*self }
    }
}

/// `s`'s bytes, borrowed for as long as the walk reads `s`.
///
/// SAFETY (of the callers): the walk runs no Ruby code while it holds the slice — converters
/// run only on the general path, which reads the objects afresh — and `s` is reachable from the
/// request (or the symbol table) for the whole call.
unsafe fn bytes_of<'x>(s: RString) -> &'x [u8] {
    let slice = s.as_slice();
    std::slice::from_raw_parts(slice.as_ptr(), slice.len())
}

impl Input for RbIn<'_> {
    type Error = Error;

    fn view(&self) -> View<'_> {
        let v = self.v;
        if v.is_nil() {
            return View::Null;
        }
        if Qtrue::from_value(v).is_some() {
            return View::Bool(true);
        }
        if Qfalse::from_value(v).is_some() {
            return View::Bool(false);
        }
        if let Some(i) = Integer::from_value(v) {
            if let Ok(n) = i.to_i64() {
                return View::Int(n);
            }
            return i.to_u64().map_or(View::Other, View::UInt);
        }
        if let Some(f) = Float::from_value(v) {
            return View::Float(f.to_f64());
        }
        if let Some(s) = RString::from_value(v) {
            // SAFETY: see `bytes_of`.
            let bytes = unsafe { bytes_of(s) };
            if s.enc_get() == self.ruby.ascii8bit_encindex() {
                return View::Bytes(bytes);
            }
            if !s.is_utf8_compatible_encoding() {
                return View::Other;
            }
            return std::str::from_utf8(bytes).map_or(View::Bytes(bytes), View::Str);
        }
        if let Some(s) = Symbol::from_value(v) {
            if let Some(name) = s.as_static().and_then(|s| s.name().ok()) {
                return View::Str(name);
            }
            // `Symbol#name` is the symbol's own frozen String (no copy); see `bytes_of`.
            return v
                .funcall::<_, _, RString>("name", ())
                .ok()
                .and_then(|s| std::str::from_utf8(unsafe { bytes_of(s) }).ok())
                .map_or(View::Other, View::Str);
        }
        if RHash::from_value(v).is_some() {
            return View::Map;
        }
        if RArray::from_value(v).is_some() {
            return View::List;
        }
        View::Other
    }

    fn items(&self) -> impl Iterator<Item = Self> + '_ {
        let a = RArray::from_value(self.v);
        let len = a.map_or(0, RArray::len);
        (0..len).filter_map(move |i| {
            let item = a?.entry::<RValue>(i as isize).ok()?;
            Some(self.of(item))
        })
    }

    fn entries(&self) -> impl Iterator<Item = (Self, Self)> + '_ {
        let mut entries = Vec::new();
        if let Some(h) = RHash::from_value(self.v) {
            entries.reserve(h.len());
            let _ = h.foreach(|k: RValue, x: RValue| {
                entries.push((self.of(k), self.of(x)));
                Ok(ForEach::Continue)
            });
        }
        entries.into_iter()
    }

    fn len_hint(&self) -> usize {
        RHash::from_value(self.v).map_or(0, RHash::len)
    }

    fn to_value(&self) -> Result<Cow<'_, Value>, Error> {
        convert::from_ruby_converting(self.ruby, self.v, self.convs, self.reply).map(Cow::Owned)
    }
}

/// Makes Ruby objects for the core's reader, with the converters' `from_message`.
pub(crate) struct RbOut<'a> {
    ruby: &'a Ruby,
    convs: Option<RArray>,
    /// Every object made so far, so the collector keeps the ones no parent holds yet.
    keep: RArray,
}

impl<'a> RbOut<'a> {
    /// An output for one message. Keep it on the stack (a local) while the reader runs.
    pub(crate) fn new(ruby: &'a Ruby, convs: Option<RArray>) -> Self {
        RbOut {
            ruby,
            convs,
            keep: ruby.ary_new(),
        }
    }

    fn kept(&self, v: RValue) -> Option<RValue> {
        self.keep.push(v).ok()?;
        Some(v)
    }
}

impl Output for RbOut<'_> {
    type Node = RValue;
    type Error = Error;

    fn null(&mut self) -> Option<RValue> {
        Some(self.ruby.qnil().as_value())
    }

    fn scalar(&mut self, s: Scalar<'_>) -> Option<RValue> {
        let ruby = self.ruby;
        let v = match s {
            Scalar::Bool(true) => ruby.qtrue().as_value(),
            Scalar::Bool(false) => ruby.qfalse().as_value(),
            Scalar::Int(i) => ruby.integer_from_i64(i).as_value(),
            Scalar::UInt(u) => ruby.integer_from_u64(u).as_value(),
            Scalar::BigInt(t) => ruby.str_new(&t).funcall("to_i", ()).ok()?,
            Scalar::Float(x) => ruby.float_from_f64(x).as_value(),
            Scalar::Str(t) => ruby.str_new(t).as_value(),
            Scalar::Bytes(b) => ruby.str_from_slice(b).as_value(),
        };
        self.kept(v)
    }

    fn list(&mut self, items: Vec<RValue>) -> Option<RValue> {
        let a = self.ruby.ary_new_capa(items.len());
        for x in items {
            a.push(x).ok()?;
        }
        self.kept(a.as_value())
    }

    fn map(&mut self, entries: Vec<(RValue, RValue)>) -> Option<RValue> {
        let h = self.ruby.hash_new();
        for (k, x) in entries {
            // Text keys are Symbols, as `to_ruby` makes them.
            let key = match RString::from_value(k) {
                // SAFETY: `k` is a String the reader made (kept), read at once.
                Some(s) => self.ruby.to_symbol(unsafe { s.as_str() }.ok()?).as_value(),
                None => k,
            };
            h.aset(key, x).ok()?;
        }
        self.kept(h.as_value())
    }

    fn message<'f>(
        &mut self,
        fields: impl ExactSizeIterator<Item = (&'f str, RValue)>,
    ) -> Option<RValue> {
        let h = self.ruby.hash_new();
        for (name, x) in fields {
            h.aset(self.ruby.sym_new(name), x).ok()?;
        }
        self.kept(h.as_value())
    }

    fn value(&mut self, v: Value) -> Result<RValue, Error> {
        let x = convert::to_ruby_converting(self.ruby, &v, self.convs)?;
        let _ = self.kept(x);
        Ok(x)
    }

    fn convert(&mut self, native: &Native, node: RValue) -> Result<RValue, String> {
        let Some(mark) = native.downcast_ref::<ValueMark>() else {
            return Ok(node);
        };
        let entry = self
            .convs
            .and_then(|cs| cs.entry::<Option<RArray>>(mark.0 as isize).ok().flatten());
        let Some(c) = entry else {
            return Ok(node);
        };
        let from_message: Proc = c.entry(2).map_err(|e| e.to_string())?;
        let x = from_message
            .call::<_, RValue>((node,))
            .map_err(|e| convert::why(&e))?;
        let _ = self.kept(x);
        Ok(x)
    }
}
