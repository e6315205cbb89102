//! [`Value`] → protobuf message, checking every field and collecting every violation.

use std::collections::HashMap;

use base64::Engine;
use prost_reflect::{
    DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    Value as PValue,
};

use super::path::{Path, Seg};
use super::wkt;
use super::MapOptions;
use crate::error::{Error, FieldViolation, Result};
use crate::value::{Duration, Timestamp, Value};

/// Converts `value` into a message of type `desc`, or returns `InvalidArgument` listing every
/// violation (or `ResourceExhausted` when nesting exceeds `opts.max_depth`).
pub fn to_message(
    desc: &MessageDescriptor,
    value: &Value,
    opts: &MapOptions,
) -> Result<DynamicMessage> {
    let mut enc = Encoder {
        opts,
        path: Path::default(),
        violations: Vec::new(),
        depth: 0,
        too_deep: None,
    };
    let msg = match value {
        Value::Null => DynamicMessage::new(desc.clone()),
        other => enc
            .message(desc, other)
            .unwrap_or_else(|| DynamicMessage::new(desc.clone())),
    };
    if let Some(path) = enc.too_deep {
        let at = if path.is_empty() { "the top" } else { &path };
        let mut err = Error::resource_exhausted(
            "NESTING_TOO_DEEP",
            format!(
                "value nests deeper than the limit of {} at {at}",
                opts.max_depth
            ),
        );
        err.details_mut().field_violations.push(FieldViolation {
            field: path,
            description: format!("nests deeper than {} levels", opts.max_depth),
        });
        return Err(err);
    }
    if !enc.violations.is_empty() {
        return Err(Error::invalid_argument(
            &format!("{} value", desc.full_name()),
            enc.violations,
        ));
    }
    Ok(msg)
}

struct Encoder<'a> {
    opts: &'a MapOptions,
    path: Path,
    violations: Vec<FieldViolation>,
    depth: usize,
    /// Where the value first went deeper than the limit.
    too_deep: Option<String>,
}

/// `expected int64, got str`
fn expected(what: &str, got: &Value) -> String {
    match got {
        Value::Unsupported(type_name) => format!("expected {what}, got {type_name}"),
        _ => format!("expected {what}, got {}", got.kind_name()),
    }
}

impl Encoder<'_> {
    fn violate(&mut self, description: String) {
        self.violations.push(FieldViolation {
            field: self.path.render(),
            description,
        });
    }

    fn enter(&mut self) -> bool {
        self.depth += 1;
        if self.depth > self.opts.max_depth && self.too_deep.is_none() {
            self.too_deep = Some(self.path.render());
        }
        self.too_deep.is_none()
    }

    /// A message from a map value; `None` after recording a violation.
    fn message(&mut self, desc: &MessageDescriptor, value: &Value) -> Option<DynamicMessage> {
        if let Some(m) = self.well_known(desc, value) {
            return m;
        }
        let entries = match value {
            Value::Map(entries) => entries.as_slice(),
            // One array type for lists and maps (PHP): an empty one is an empty message too.
            Value::List(items) if items.is_empty() => &[],
            _ => {
                self.violate(expected(&format!("message {}", desc.name()), value));
                return None;
            }
        };
        if !self.enter() {
            self.depth -= 1;
            return None;
        }
        let mut msg = DynamicMessage::new(desc.clone());
        let mut oneofs: HashMap<String, Vec<FieldDescriptor>> = HashMap::new();
        for (key, v) in entries {
            let Value::String(name) = key else {
                self.path.push(Seg::Key(format!("<{}>", key.kind_name())));
                self.violate(format!(
                    "message keys must be field names, got {}",
                    key.kind_name()
                ));
                self.path.pop();
                continue;
            };
            let field = desc.get_field_by_name(name).or_else(|| {
                self.opts
                    .json
                    .then(|| desc.get_field_by_json_name(name))
                    .flatten()
            });
            self.path.push(Seg::Field(name.clone()));
            match field {
                None => self.violate(format!("unknown field of {}", desc.full_name())),
                Some(_) if v.is_null() => {}
                Some(fd) => {
                    if let Some(value) = self.field(&fd, v) {
                        if let Some(oneof) = fd.containing_oneof() {
                            if !oneof.is_synthetic() {
                                oneofs
                                    .entry(oneof.name().to_string())
                                    .or_default()
                                    .push(fd.clone());
                            }
                        }
                        msg.set_field(&fd, value);
                    }
                }
            }
            self.path.pop();
        }
        for (oneof, mut members) in oneofs {
            if members.len() > 1 {
                members.sort_by_key(|f| f.number());
                let first = members[0].name().to_string();
                for extra in &members[1..] {
                    self.path.push(Seg::Field(extra.name().to_string()));
                    self.violate(format!("oneof {oneof} is already set by {first}"));
                    self.path.pop();
                }
            }
        }
        self.depth -= 1;
        Some(msg)
    }

    fn field(&mut self, fd: &FieldDescriptor, v: &Value) -> Option<PValue> {
        if fd.is_map() {
            return self.map(fd, v);
        }
        if fd.is_list() {
            let Value::List(items) = v else {
                self.violate(expected("list", v));
                return None;
            };
            if !self.enter() {
                self.depth -= 1;
                return None;
            }
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                self.path.push(Seg::Index(i));
                match self.single(&fd.kind(), item, true) {
                    Some(x) => out.push(x),
                    None => ok = false,
                }
                self.path.pop();
            }
            self.depth -= 1;
            return ok.then_some(PValue::List(out));
        }
        self.single(&fd.kind(), v, false)
    }

    fn map(&mut self, fd: &FieldDescriptor, v: &Value) -> Option<PValue> {
        let indexes: Vec<Value>;
        let entries: Vec<(&Value, &Value)> = match v {
            Value::Map(entries) => entries.iter().map(|(k, item)| (k, item)).collect(),
            // One array type for lists and maps (PHP): a list is the map of its indexes.
            Value::List(items) => {
                indexes = (0..items.len() as i64).map(Value::Int).collect();
                indexes.iter().zip(items).collect()
            }
            _ => {
                self.violate(expected("map", v));
                return None;
            }
        };
        let Kind::Message(entry) = fd.kind() else {
            return None;
        };
        let key_kind = entry.map_entry_key_field().kind();
        let value_kind = entry.map_entry_value_field().kind();
        if !self.enter() {
            self.depth -= 1;
            return None;
        }
        let mut out = HashMap::with_capacity(entries.len());
        let mut ok = true;
        for (k, item) in entries {
            let rendered = match k {
                Value::String(s) if key_in_range(&key_kind, s) => s.clone(),
                Value::String(s) => format!("{s:?}"),
                // A key of the wrong kind or out of range is shown quoted, as given.
                Value::Int(i)
                    if matches!(key_kind, Kind::String)
                        || !key_in_range(&key_kind, &i.to_string()) =>
                {
                    format!("\"{i}\"")
                }
                Value::Int(i) => i.to_string(),
                Value::UInt(u) => u.to_string(),
                Value::BigInt(b) => b.clone(),
                Value::Bool(b) => b.to_string(),
                other => format!("<{}>", other.kind_name()),
            };
            self.path.push(Seg::Key(rendered));
            let key = self.map_key(&key_kind, k);
            let value = self.single(&value_kind, item, true);
            match (key, value) {
                (Some(k), Some(v)) => {
                    out.insert(k, v);
                }
                _ => ok = false,
            }
            self.path.pop();
        }
        self.depth -= 1;
        ok.then_some(PValue::Map(out))
    }

    fn map_key(&mut self, kind: &Kind, k: &Value) -> Option<MapKey> {
        match (kind, k) {
            (Kind::String, Value::String(s)) => return Some(MapKey::String(s.clone())),
            // Integer-like text keys become integers in some languages' arrays (PHP's "7").
            (Kind::String, Value::Int(i)) => return Some(MapKey::String(i.to_string())),
            (Kind::String, Value::UInt(u)) => return Some(MapKey::String(u.to_string())),
            _ => {}
        }
        if let (Kind::Bool, Value::String(s)) = (kind, k) {
            return match s.as_str() {
                "true" => Some(MapKey::Bool(true)),
                "false" => Some(MapKey::Bool(false)),
                _ => {
                    self.violate(format!("map key {s:?} is not a bool"));
                    None
                }
            };
        }
        let parsed;
        let k = match k {
            Value::String(s) if !matches!(kind, Kind::String) => match s.parse::<i128>() {
                Ok(_) => {
                    parsed = Value::BigInt(s.clone());
                    &parsed
                }
                Err(_) => {
                    self.violate(format!("map key {s:?} is not an integer"));
                    return None;
                }
            },
            other => other,
        };
        match self.single(kind, k, false)? {
            PValue::Bool(b) => Some(MapKey::Bool(b)),
            PValue::I32(i) => Some(MapKey::I32(i)),
            PValue::I64(i) => Some(MapKey::I64(i)),
            PValue::U32(i) => Some(MapKey::U32(i)),
            PValue::U64(i) => Some(MapKey::U64(i)),
            PValue::String(s) => Some(MapKey::String(s)),
            _ => {
                self.violate("unsupported map key".to_string());
                None
            }
        }
    }

    /// One singular value of `kind`. `in_container`: null is not allowed here.
    fn single(&mut self, kind: &Kind, v: &Value, in_container: bool) -> Option<PValue> {
        if v.is_null()
            && !matches!(kind, Kind::Message(m) if m.full_name() == "google.protobuf.Value")
        {
            let what = if in_container {
                "list items and map values cannot be null"
            } else {
                "null is not allowed here"
            };
            self.violate(what.to_string());
            return None;
        }
        let r = match kind {
            Kind::Double => self.float(v).map(PValue::F64),
            Kind::Float => self.float(v).and_then(|x| {
                if x.is_finite() && (x as f32).is_infinite() {
                    Err(format!("{x} is out of range for float"))
                } else {
                    Ok(PValue::F32(x as f32))
                }
            }),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => self
                .int(v, "int32", i32::MIN.into(), i32::MAX.into())
                .map(|i| PValue::I32(i as i32)),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => self
                .int(v, "int64", i64::MIN.into(), i64::MAX.into())
                .map(|i| PValue::I64(i as i64)),
            Kind::Uint32 | Kind::Fixed32 => self
                .int(v, "uint32", 0, u32::MAX.into())
                .map(|i| PValue::U32(i as u32)),
            Kind::Uint64 | Kind::Fixed64 => self
                .int(v, "uint64", 0, u64::MAX.into())
                .map(|i| PValue::U64(i as u64)),
            Kind::Bool => match v {
                Value::Bool(b) => Ok(PValue::Bool(*b)),
                _ => Err(expected("bool", v)),
            },
            Kind::String => match v {
                Value::String(s) => Ok(PValue::String(s.clone())),
                Value::Bytes(b) if !self.opts.json => String::from_utf8(b.clone())
                    .map(PValue::String)
                    .map_err(|_| "expected str, got bytes that are not valid UTF-8".to_string()),
                _ => Err(expected("str", v)),
            },
            Kind::Bytes => match v {
                Value::Bytes(b) => Ok(PValue::Bytes(b.clone().into())),
                Value::String(s) if self.opts.json => {
                    decode_base64(s).map(|b| PValue::Bytes(b.into()))
                }
                Value::String(s) => Ok(PValue::Bytes(s.clone().into_bytes().into())),
                _ => Err(expected("bytes", v)),
            },
            Kind::Enum(e) => self.enumeration(e, v).map(PValue::EnumNumber),
            Kind::Message(m) => return self.message(m, v).map(PValue::Message),
        };
        match r {
            Ok(x) => Some(x),
            Err(msg) => {
                self.violate(msg);
                None
            }
        }
    }

    fn int(&self, v: &Value, name: &str, min: i128, max: i128) -> Result<i128, String> {
        let n: i128 = match v {
            Value::Int(i) => (*i).into(),
            Value::UInt(u) => (*u).into(),
            Value::BigInt(s) => s.parse::<i128>().unwrap_or(i128::MAX),
            Value::Float(x) if x.fract() == 0.0 && x.is_finite() => {
                if x.abs() > 1e30 {
                    i128::MAX
                } else {
                    *x as i128
                }
            }
            Value::Float(x) => return Err(format!("expected {name}, got non-integral number {x}")),
            Value::String(s) if self.opts.json => match s.parse::<i128>() {
                Ok(n) => n,
                Err(_) => match s.parse::<f64>() {
                    Ok(x) if x.fract() == 0.0 && x.abs() < 1e30 => x as i128,
                    _ => return Err(format!("expected {name}, got str {s:?}")),
                },
            },
            _ => return Err(expected(name, v)),
        };
        if n < min || n > max {
            let shown = match v {
                Value::BigInt(s) | Value::String(s) => s.clone(),
                _ => n.to_string(),
            };
            return Err(format!("{shown} is out of range for {name}"));
        }
        Ok(n)
    }

    fn float(&self, v: &Value) -> Result<f64, String> {
        match v {
            Value::Float(x) => Ok(*x),
            Value::Int(i) => Ok(*i as f64),
            Value::UInt(u) => Ok(*u as f64),
            Value::BigInt(s) => s.parse::<f64>().map_err(|_| format!("invalid number {s}")),
            Value::String(s) if self.opts.json => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                _ => s
                    .parse::<f64>()
                    .map_err(|_| format!("expected number, got str {s:?}")),
            },
            _ => Err(expected("float", v)),
        }
    }

    fn enumeration(&self, e: &EnumDescriptor, v: &Value) -> Result<i32, String> {
        match v {
            Value::String(name) => e
                .get_value_by_name(name)
                .map(|ev| ev.number())
                .ok_or_else(|| format!("{name:?} is not a value of enum {}", e.full_name())),
            Value::Int(_) | Value::UInt(_) | Value::BigInt(_) | Value::Float(_) => self
                .int(v, "enum", i32::MIN.into(), i32::MAX.into())
                .map(|n| n as i32),
            _ => Err(expected(&format!("enum {} name or number", e.name()), v)),
        }
    }

    /// Well-known types with a native form. `None`: not special, encode as a plain message.
    fn well_known(
        &mut self,
        desc: &MessageDescriptor,
        v: &Value,
    ) -> Option<Option<DynamicMessage>> {
        let name = desc.full_name();
        let result: Result<DynamicMessage, String> =
            match (name, v) {
                ("google.protobuf.Timestamp", Value::Timestamp(t)) => {
                    wkt::check_timestamp(*t).map(|_| seconds_nanos(desc, t.seconds, t.nanos))
                }
                ("google.protobuf.Timestamp", Value::String(s)) => wkt::parse_timestamp(s)
                    .map(|t: Timestamp| seconds_nanos(desc, t.seconds, t.nanos)),
                ("google.protobuf.Duration", Value::Duration(d)) => {
                    wkt::check_duration(*d).map(|_| seconds_nanos(desc, d.seconds, d.nanos))
                }
                ("google.protobuf.Duration", Value::String(s)) => wkt::parse_duration(s)
                    .map(|d: Duration| seconds_nanos(desc, d.seconds, d.nanos)),
                ("google.protobuf.Timestamp" | "google.protobuf.Duration", Value::Map(_)) => {
                    return None
                }
                ("google.protobuf.Timestamp", _) => Err(expected("timestamp", v)),
                ("google.protobuf.Duration", _) => Err(expected("duration", v)),
                ("google.protobuf.Struct", Value::Map(_)) => return Some(self.structure(desc, v)),
                ("google.protobuf.Struct", Value::List(items)) if items.is_empty() => {
                    return Some(self.structure(desc, &Value::Map(Vec::new())))
                }
                ("google.protobuf.Struct", _) => Err(expected("map", v)),
                ("google.protobuf.ListValue", Value::List(items)) => {
                    let value_desc = desc
                        .parent_pool()
                        .get_message_by_name("google.protobuf.Value")?;
                    if !self.enter() {
                        self.depth -= 1;
                        return Some(None);
                    }
                    let mut out = Vec::new();
                    let mut ok = true;
                    for (i, item) in items.iter().enumerate() {
                        self.path.push(Seg::Index(i));
                        match self.dynamic_value(&value_desc, item) {
                            Some(m) => out.push(PValue::Message(m)),
                            None => ok = false,
                        }
                        self.path.pop();
                    }
                    self.depth -= 1;
                    let mut msg = DynamicMessage::new(desc.clone());
                    msg.set_field_by_number(1, PValue::List(out));
                    return Some(ok.then_some(msg));
                }
                ("google.protobuf.Value", _) => return Some(self.dynamic_value(desc, v)),
                (name, _) if wkt::WRAPPERS.contains(&name) && !matches!(v, Value::Map(_)) => {
                    let field = desc.get_field(1)?;
                    let inner = self.single(&field.kind(), v, false);
                    return Some(inner.map(|x| {
                        let mut msg = DynamicMessage::new(desc.clone());
                        msg.set_field(&field, x);
                        msg
                    }));
                }
                _ => return None,
            };
        Some(match result {
            Ok(m) => Some(m),
            Err(e) => {
                self.violate(e);
                None
            }
        })
    }

    fn structure(&mut self, desc: &MessageDescriptor, v: &Value) -> Option<DynamicMessage> {
        let Value::Map(entries) = v else { return None };
        let entries = if v.is_empty_object() {
            &[][..]
        } else {
            entries.as_slice()
        };
        let value_desc = desc
            .parent_pool()
            .get_message_by_name("google.protobuf.Value")?;
        if !self.enter() {
            self.depth -= 1;
            return None;
        }
        let mut fields = HashMap::new();
        let mut ok = true;
        for (k, item) in entries {
            let Value::String(key) = k else {
                self.violate(format!("Struct keys must be str, got {}", k.kind_name()));
                ok = false;
                continue;
            };
            self.path.push(Seg::Key(format!("{key:?}")));
            match self.dynamic_value(&value_desc, item) {
                Some(m) => {
                    fields.insert(MapKey::String(key.clone()), PValue::Message(m));
                }
                None => ok = false,
            }
            self.path.pop();
        }
        self.depth -= 1;
        let mut msg = DynamicMessage::new(desc.clone());
        msg.set_field_by_number(1, PValue::Map(fields));
        ok.then_some(msg)
    }

    /// `google.protobuf.Value` from any JSON-like value.
    fn dynamic_value(&mut self, desc: &MessageDescriptor, v: &Value) -> Option<DynamicMessage> {
        let mut msg = DynamicMessage::new(desc.clone());
        let pool = desc.parent_pool();
        match v {
            Value::Null => msg.set_field_by_number(1, PValue::EnumNumber(0)),
            Value::Bool(b) => msg.set_field_by_number(4, PValue::Bool(*b)),
            Value::Int(_) | Value::UInt(_) | Value::BigInt(_) | Value::Float(_) => {
                let x = match self.float(v) {
                    Ok(x) if x.is_finite() => x,
                    Ok(x) => {
                        self.violate(format!(
                            "{x} cannot be a JSON value (numbers must be finite)"
                        ));
                        return None;
                    }
                    Err(e) => {
                        self.violate(e);
                        return None;
                    }
                };
                msg.set_field_by_number(2, PValue::F64(x));
            }
            Value::String(s) => msg.set_field_by_number(3, PValue::String(s.clone())),
            Value::Timestamp(t) => {
                msg.set_field_by_number(3, PValue::String(wkt::format_timestamp(*t)))
            }
            Value::Duration(d) => {
                msg.set_field_by_number(3, PValue::String(wkt::format_duration(*d)))
            }
            Value::Map(_) => {
                let sd = pool.get_message_by_name("google.protobuf.Struct")?;
                let s = self.structure(&sd, v)?;
                msg.set_field_by_number(5, PValue::Message(s));
            }
            Value::List(_) => {
                let ld = pool.get_message_by_name("google.protobuf.ListValue")?;
                let l = self.well_known(&ld, v)??;
                msg.set_field_by_number(6, PValue::Message(l));
            }
            Value::Bytes(_) | Value::Unsupported(_) => {
                self.violate(expected(
                    "JSON value (null, bool, number, str, list, map)",
                    v,
                ));
                return None;
            }
        }
        Some(msg)
    }
}

fn seconds_nanos(desc: &MessageDescriptor, seconds: i64, nanos: i32) -> DynamicMessage {
    let mut msg = DynamicMessage::new(desc.clone());
    msg.set_field_by_number(1, PValue::I64(seconds));
    msg.set_field_by_number(2, PValue::I32(nanos));
    msg
}

fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(s).ok())
        .ok_or_else(|| "expected base64 text for bytes".to_string())
}

/// Whether `s` is an integer key within the range of an integer map key kind.
fn key_in_range(kind: &Kind, s: &str) -> bool {
    let Ok(n) = s.parse::<i128>() else {
        return false;
    };
    let (min, max): (i128, i128) = match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => (i32::MIN.into(), i32::MAX.into()),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => (i64::MIN.into(), i64::MAX.into()),
        Kind::Uint32 | Kind::Fixed32 => (0, u32::MAX.into()),
        Kind::Uint64 | Kind::Fixed64 => (0, u64::MAX.into()),
        _ => return false,
    };
    (min..=max).contains(&n)
}
