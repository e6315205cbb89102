//! The general path with converters ([`super::convert`]): what [`to_message`](super::to_message)
//! and [`from_message`](super::from_message) take and give, with each converted value made
//! message-shaped (or native) at its place in the schema.
//!
//! Without converters the general path converts a binding's input to a [`Value`] with
//! [`Input::to_value`] and a read `Value` to its objects with [`Output::value`], neither of
//! which knows the schema. With converters, [`value_of`] walks the input along the message's
//! fields, handing each converted value to the binding's converter first, and [`output_of`]
//! walks a read `Value` the same way, handing each converted value to the binding's converter
//! last. A converter's failure is `InvalidArgument` with its path (see
//! [`convert::failed`](super::convert)); the path is rendered only then.

use prost_reflect::{Kind, MessageDescriptor};

use super::convert::{failed, Converters, Native};
use super::input::{Input, View};
use super::native::NATIVE_MAX_DEPTH;
use super::output::Output;
use super::path::{Path, Seg};
use super::table::{table, Field, Shape, Table};
use crate::error::{Code, Error};
use crate::value::Value;

/// Why a guided walk stopped: the binding's own error, or a converter's failure.
pub(crate) enum Fail<E> {
    Native(E),
    Convert(Error),
}

/// The guided walk's state: the converters, the top message's name, the path so far and how
/// many messages deep it is.
struct Guide<'a> {
    conv: &'a Converters,
    top: String,
    path: Path,
    depth: usize,
}

/// `input`, a message of `desc`, as a [`Value`] for `to_message`, converted values made
/// message-shaped by their converters.
pub(crate) fn value_of<I: Input>(
    desc: &MessageDescriptor,
    input: &I,
    conv: &Converters,
) -> Result<Value, Fail<I::Error>> {
    guide(desc, conv).message(desc, input)
}

/// `value` (a read message of `desc`) made into the binding's objects by `out`, converted
/// values made native by their converters.
pub(crate) fn output_of<O: Output>(
    desc: &MessageDescriptor,
    value: Value,
    conv: &Converters,
    out: &mut O,
) -> Result<O::Node, Fail<O::Error>> {
    guide(desc, conv).out_message(desc, value, out)
}

fn guide<'a>(desc: &MessageDescriptor, conv: &'a Converters) -> Guide<'a> {
    Guide {
        conv,
        top: desc.full_name().to_string(),
        path: Path::default(),
        depth: 0,
    }
}

fn plain<I: Input>(v: &I) -> Result<Value, Fail<I::Error>> {
    v.to_value()
        .map(std::borrow::Cow::into_owned)
        .map_err(Fail::Native)
}

/// How a map key shows in a path (`counts["a"]`, `by_id[7]`).
fn key_seg(k: &Value) -> Seg {
    Seg::Key(match k {
        Value::String(s) => format!("{s:?}"),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        other => format!("<{}>", other.kind_name()),
    })
}

impl<'a> Guide<'a> {
    /// The converter of one value of `kind` (a message type's, or `format`'s for text).
    fn native(&self, kind: &Kind, format: Option<&str>) -> Option<(&'a Native, String)> {
        match kind {
            Kind::Message(m) => self
                .conv
                .for_message(m)
                .map(|n| (n, m.full_name().to_string())),
            Kind::String => {
                let f = format?;
                self.conv.for_format(f).map(|n| (n, format!("format {f}")))
            }
            _ => None,
        }
    }

    fn fail(&self, target: &str, why: String) -> Error {
        failed(&self.top, target, &self.path, why)
    }

    fn message<I: Input>(
        &mut self,
        desc: &MessageDescriptor,
        v: &I,
    ) -> Result<Value, Fail<I::Error>> {
        let t = table(desc);
        // Past the binding's own nesting limit its conversion refuses the value (no stack is
        // exhausted here).
        if t.well_known || v.view() != View::Map || self.depth >= NATIVE_MAX_DEPTH {
            return plain(v);
        }
        self.depth += 1;
        let out = self.fields(&t, v);
        self.depth -= 1;
        out
    }

    fn fields<I: Input>(&mut self, t: &Table, v: &I) -> Result<Value, Fail<I::Error>> {
        let mut out = Vec::with_capacity(v.len_hint());
        for (k, item) in v.entries() {
            let key = plain(&k)?;
            let field = match &key {
                Value::String(name) => t
                    .fields
                    .iter()
                    .find(|f| f.name == *name || f.fd.json_name() == name),
                _ => None,
            };
            let value = match field {
                Some(f) => {
                    self.path.push(Seg::Field(f.name.clone()));
                    let value = self.field(f, &item);
                    self.path.pop();
                    value?
                }
                None => plain(&item)?,
            };
            out.push((key, value));
        }
        Ok(Value::Map(out))
    }

    fn field<I: Input>(&mut self, f: &Field, v: &I) -> Result<Value, Fail<I::Error>> {
        let format = f.format.as_deref();
        match (&f.shape, v.view()) {
            (Shape::Single, _) => self.one(&f.kind, format, v),
            (Shape::List, View::List) => {
                let mut out = Vec::new();
                for (i, item) in v.items().enumerate() {
                    self.path.push(Seg::Index(i));
                    let value = self.one(&f.kind, format, &item);
                    self.path.pop();
                    out.push(value?);
                }
                Ok(Value::List(out))
            }
            (Shape::Map(_, value_kind), View::Map) => {
                let mut out = Vec::new();
                for (k, item) in v.entries() {
                    let key = plain(&k)?;
                    self.path.push(key_seg(&key));
                    let value = self.one(value_kind, None, &item);
                    self.path.pop();
                    out.push((key, value?));
                }
                Ok(Value::Map(out))
            }
            _ => plain(v),
        }
    }

    fn one<I: Input>(
        &mut self,
        kind: &Kind,
        format: Option<&str>,
        v: &I,
    ) -> Result<Value, Fail<I::Error>> {
        if v.view() == View::Null {
            return Ok(Value::Null);
        }
        let converted;
        let v = match self.native(kind, format) {
            Some((n, target)) => {
                converted = v
                    .convert(n)
                    .map_err(|why| Fail::Convert(self.fail(&target, why)))?;
                &converted
            }
            None => v,
        };
        match kind {
            Kind::Message(m) => self.message(m, v),
            _ => plain(v),
        }
    }

    fn out_message<O: Output>(
        &mut self,
        desc: &MessageDescriptor,
        v: Value,
        out: &mut O,
    ) -> Result<O::Node, Fail<O::Error>> {
        let t = table(desc);
        let entries = match v {
            Value::Map(entries) if !t.well_known => entries,
            other => return out.value(other).map_err(Fail::Native),
        };
        let mut names = Vec::with_capacity(entries.len());
        let mut nodes = Vec::with_capacity(entries.len());
        for (k, item) in entries {
            let Value::String(name) = k else { continue };
            let node = match t.fields.iter().find(|f| f.name == name) {
                Some(f) => {
                    self.path.push(Seg::Field(name.clone()));
                    let node = self.out_field(f, item, out);
                    self.path.pop();
                    node?
                }
                None => out.value(item).map_err(Fail::Native)?,
            };
            names.push(name);
            nodes.push(node);
        }
        out.message(names.iter().map(String::as_str).zip(nodes))
            .ok_or_else(|| {
                Fail::Convert(Error::new(
                    Code::Internal,
                    format!("could not make a {} value", desc.full_name()),
                ))
            })
    }

    fn out_field<O: Output>(
        &mut self,
        f: &Field,
        v: Value,
        out: &mut O,
    ) -> Result<O::Node, Fail<O::Error>> {
        let format = f.format.as_deref();
        match (&f.shape, v) {
            (Shape::Single, v) => self.out_one(&f.kind, format, v, out),
            (Shape::List, Value::List(items)) => {
                let mut nodes = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    let node = self.out_one(&f.kind, format, item, out);
                    self.path.pop();
                    nodes.push(node?);
                }
                match out.list(nodes) {
                    Some(node) => Ok(node),
                    None => Err(Fail::Convert(Error::new(
                        Code::Internal,
                        "could not make a list",
                    ))),
                }
            }
            (Shape::Map(_, value_kind), Value::Map(entries)) => {
                let mut nodes = Vec::with_capacity(entries.len());
                for (k, item) in entries {
                    self.path.push(key_seg(&k));
                    let node = self.out_one(value_kind, None, item, out);
                    self.path.pop();
                    nodes.push((out.value(k).map_err(Fail::Native)?, node?));
                }
                match out.map(nodes) {
                    Some(node) => Ok(node),
                    None => Err(Fail::Convert(Error::new(
                        Code::Internal,
                        "could not make a map",
                    ))),
                }
            }
            (_, v) => out.value(v).map_err(Fail::Native),
        }
    }

    fn out_one<O: Output>(
        &mut self,
        kind: &Kind,
        format: Option<&str>,
        v: Value,
        out: &mut O,
    ) -> Result<O::Node, Fail<O::Error>> {
        let native = self.native(kind, format);
        if v.is_null() || (native.is_some() && matches!(&v, Value::String(s) if s.is_empty())) {
            // Unset, or a converted format's empty text: null, never converted.
            return out.value(Value::Null).map_err(Fail::Native);
        }
        let node = match kind {
            Kind::Message(m) => self.out_message(m, v, out)?,
            _ => out.value(v).map_err(Fail::Native)?,
        };
        match native {
            Some((n, target)) => out
                .convert(n, node)
                .map_err(|why| Fail::Convert(self.fail(&target, why))),
            None => Ok(node),
        }
    }
}
