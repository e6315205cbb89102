//! Errors across a language boundary, by one set of rules for every binding.
//!
//! A binding raises a core [`Error`] as its own exception built from [`Error::details_value`]
//! (a plain map its value converter already knows how to turn into a dict, hash or array), and
//! turns an exception a handler raised back into a core error with [`Error::from_foreign`]. The
//! binding only reads its exception's type name, message and stack, and — for one of its hms-ffi
//! exceptions — the code, message and details map ([`ErrorParts`]). Every rule lives here:
//!
//! - an exception that is not an hms-ffi error is `Internal`, with `Type: message` as its message
//!   and the type, message and stack in `DebugInfo`;
//! - an hms-ffi error keeps its code, message, field violations, `ErrorInfo` (reason, domain,
//!   metadata), origin and unmodelled details (`other`), so a relay through any number of
//!   servers in any languages loses nothing;
//! - code OK is not an error: it becomes `Unknown` with the reason `OK_IS_NOT_AN_ERROR` (see
//!   [`Error::new`]), and a number outside the canonical codes becomes `Unknown`;
//! - the local stack lands in `DebugInfo`; a relayed error's own stack follows it, after a line
//!   naming where it came from, so the caller sees one stack across languages (innermost last).
//!
//! The details map has the keys `field_violations` (a list of `{field, description}`),
//! `error_info` (`{reason, domain, metadata}` or null), `debug_info` (`{stack_entries, detail}`
//! or null), `origin` (`{language, service, method}` or null) and `other` (a list of
//! `{type_url, value}` with `value` as bytes). Missing keys and nulls are empty. The map a binding
//! receives also holds `headers` and `trailers`: the response metadata that came with the error
//! (first value of each key), which a binding's exception exposes and a relay does not forward.

use std::collections::BTreeMap;

use crate::code::Code;
use crate::error::{DebugInfo, Details, Error, ErrorInfo, FieldViolation, Origin};
use crate::metadata::Metadata;
use crate::value::Value;

/// What a binding reads off one of its own hms-ffi exceptions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorParts {
    /// The code number the exception carries (0, OK, is refused).
    pub code: i32,
    /// Its message, without the code name.
    pub message: String,
    /// Its details (a relayed error's `DebugInfo` included).
    pub details: Details,
    /// Where it was first raised, for a relayed error.
    pub origin: Option<Origin>,
}

impl ErrorParts {
    /// The parts from a details map in the shape [`Error::details_value`] gives (missing keys
    /// and nulls are empty): what bindings whose exceptions hold a native dict pass.
    pub fn from_details_value(code: i32, message: String, details: &Value) -> ErrorParts {
        let (details, origin) = details_from_value(details);
        ErrorParts {
            code,
            message,
            details,
            origin,
        }
    }
}

/// An exception raised in another language, as its binding read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForeignError {
    /// The exception's type (`KeyError`, `RuntimeError`, `TypeError`, …).
    pub type_name: String,
    /// Its message.
    pub message: String,
    /// Its stack, one frame per entry, innermost last.
    pub stack: Vec<String>,
    /// For an hms-ffi exception (one the caller raised on purpose, or a relayed one), its code,
    /// message and details; `None` for any other exception.
    pub parts: Option<ErrorParts>,
}

fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_string()
}

fn items(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::List(items)) => items,
        _ => &[],
    }
}

fn texts(v: Option<&Value>) -> Vec<String> {
    items(v)
        .iter()
        .filter_map(|i| i.as_str().map(str::to_string))
        .collect()
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| matches!(v, Value::Map(_)))
}

/// Reads the details map (see the module docs) into the core's details and origin.
fn details_from_value(v: &Value) -> (Details, Option<Origin>) {
    let field_violations = items(v.get("field_violations"))
        .iter()
        .map(|item| FieldViolation {
            field: text(item.get("field")),
            description: text(item.get("description")),
        })
        .collect();
    let error_info = present(v.get("error_info")).map(|i| ErrorInfo {
        reason: text(i.get("reason")),
        domain: text(i.get("domain")),
        metadata: match i.get("metadata") {
            Some(Value::Map(entries)) => entries
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                .collect(),
            _ => BTreeMap::new(),
        },
    });
    let debug_info = present(v.get("debug_info")).map(|d| DebugInfo {
        stack_entries: texts(d.get("stack_entries")),
        detail: text(d.get("detail")),
    });
    let origin = present(v.get("origin")).map(|o| Origin {
        language: text(o.get("language")),
        service: text(o.get("service")),
        method: text(o.get("method")),
    });
    let other = items(v.get("other"))
        .iter()
        .filter_map(|item| match item.get("value") {
            Some(Value::Bytes(b)) => Some((text(item.get("type_url")), b.clone())),
            Some(Value::String(s)) => Some((text(item.get("type_url")), s.as_bytes().to_vec())),
            _ => None,
        })
        .collect();
    let details = Details {
        field_violations,
        error_info: error_info.filter(|i| !i.reason.is_empty()),
        debug_info,
        other,
    };
    (details, origin)
}

/// The first value of each key, in order (a `-bin` value stays base64 text).
fn first_values(md: &Metadata) -> Value {
    let mut seen: Vec<(Value, Value)> = Vec::new();
    for (k, v) in md.iter() {
        if !seen.iter().any(|(key, _)| key.as_str() == Some(k)) {
            seen.push((Value::String(k.to_string()), Value::String(v.to_string())));
        }
    }
    Value::Map(seen)
}

fn entry(key: &str, value: Value) -> (Value, Value) {
    (Value::String(key.to_string()), value)
}

fn strings(items: &[String]) -> Value {
    Value::List(items.iter().cloned().map(Value::String).collect())
}

impl Error {
    /// The error's details and origin as one plain map (see the module docs), for a binding to
    /// convert with its value converter and hand to its exception class.
    pub fn details_value(&self) -> Value {
        let d = self.details();
        let violations = d
            .field_violations
            .iter()
            .map(|v| {
                Value::Map(vec![
                    entry("field", Value::String(v.field.clone())),
                    entry("description", Value::String(v.description.clone())),
                ])
            })
            .collect();
        let info = d.error_info.as_ref().map_or(Value::Null, |i| {
            let metadata = i
                .metadata
                .iter()
                .map(|(k, v)| (Value::String(k.clone()), Value::String(v.clone())))
                .collect();
            Value::Map(vec![
                entry("reason", Value::String(i.reason.clone())),
                entry("domain", Value::String(i.domain.clone())),
                entry("metadata", Value::Map(metadata)),
            ])
        });
        let debug = d.debug_info.as_ref().map_or(Value::Null, |i| {
            Value::Map(vec![
                entry("stack_entries", strings(&i.stack_entries)),
                entry("detail", Value::String(i.detail.clone())),
            ])
        });
        let origin = self.origin().map_or(Value::Null, |o| {
            Value::Map(vec![
                entry("language", Value::String(o.language.clone())),
                entry("service", Value::String(o.service.clone())),
                entry("method", Value::String(o.method.clone())),
            ])
        });
        let other = d
            .other
            .iter()
            .map(|(url, bytes)| {
                Value::Map(vec![
                    entry("type_url", Value::String(url.clone())),
                    entry("value", Value::Bytes(bytes.clone())),
                ])
            })
            .collect();
        Value::Map(vec![
            entry("field_violations", Value::List(violations)),
            entry("error_info", info),
            entry("debug_info", debug),
            entry("origin", origin),
            entry("other", Value::List(other)),
            entry("headers", first_values(self.headers())),
            entry("trailers", first_values(self.trailers())),
        ])
    }

    /// The core error for an exception raised in another language (see the module docs for
    /// every rule applied).
    pub fn from_foreign(foreign: ForeignError) -> Error {
        let ForeignError {
            type_name,
            message,
            stack,
            parts,
        } = foreign;
        let raised = format!("{type_name}: {message}");
        let Some(parts) = parts else {
            return Error::new(Code::Internal, raised.clone()).with_details(Details {
                debug_info: Some(DebugInfo {
                    stack_entries: stack,
                    detail: raised,
                }),
                ..Details::default()
            });
        };
        let ErrorParts {
            code,
            message: parts_message,
            mut details,
            origin,
        } = parts;
        let relayed = details.debug_info.take();
        // An error with no stack here and none carried gets no DebugInfo (a typed binding
        // such as UniFFI has no stack to give).
        let had_debug = !stack.is_empty() || relayed.is_some();
        let mut stack_entries = stack;
        let mut detail = raised;
        if let Some(relayed) = relayed {
            if !relayed.stack_entries.is_empty() {
                let from = origin.as_ref().map_or_else(String::new, |o| {
                    format!(" from {} {}/{}", o.language, o.service, o.method)
                });
                stack_entries.push(format!("--- relayed{from} ---"));
                stack_entries.extend(relayed.stack_entries);
            }
            if !relayed.detail.is_empty() {
                detail = relayed.detail;
            }
        }
        details.debug_info = had_debug.then_some(DebugInfo {
            stack_entries,
            detail,
        });
        // Code OK is refused by `Error::new`, which keeps the reason that says so.
        let mut err = Error::new(Code::from_i32(code), parts_message).with_details(details);
        if let Some(info) = err.details_mut().error_info.as_mut() {
            if info.domain.is_empty() {
                info.domain = "hms-ffi".to_string();
            }
        }
        match origin {
            Some(origin) => err.with_origin(origin),
            None => err,
        }
    }
}

#[cfg(test)]
#[path = "foreign_tests.rs"]
mod tests;
