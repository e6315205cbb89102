//! Errors both ways: a core error becomes the `HmsFfi\…Exception` of its code (the classes are
//! declared in `php/hms_ffi.php`); an exception thrown by a handler becomes a core error (its own
//! code if it is an `HmsFfi\Exception`, else `Internal` with the class, message and trace).

use ext_php_rs::boxed::ZBox;
use ext_php_rs::convert::IntoZval;
use ext_php_rs::exception::PhpException;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendCallable, ZendHashTable, ZendObject, Zval};
use ext_php_rs::zend::{ce, ExecutorGlobals};

use crate::ocore::{Code, DebugInfo, Details, Error, FieldViolation, Origin};

fn details_array(e: &Error) -> PhpResult<ZBox<ZendHashTable>> {
    let d = e.details();
    let mut out = ZendHashTable::new();
    let mut violations = ZendHashTable::new();
    for v in &d.field_violations {
        let mut item = ZendHashTable::new();
        item.insert("field", v.field.as_str())?;
        item.insert("description", v.description.as_str())?;
        violations.push(item)?;
    }
    out.insert("field_violations", violations)?;
    let null = Zval::null;
    match &d.error_info {
        Some(info) => {
            let mut i = ZendHashTable::new();
            i.insert("reason", info.reason.as_str())?;
            i.insert("domain", info.domain.as_str())?;
            i.insert("metadata", info.metadata.clone())?;
            out.insert("error_info", i)?;
        }
        None => out.insert("error_info", null())?,
    }
    match &d.debug_info {
        Some(debug) => {
            let mut i = ZendHashTable::new();
            i.insert("stack_entries", debug.stack_entries.clone())?;
            i.insert("detail", debug.detail.as_str())?;
            out.insert("debug_info", i)?;
        }
        None => out.insert("debug_info", null())?,
    }
    match e.origin() {
        Some(o) => {
            let mut i = ZendHashTable::new();
            i.insert("language", o.language.as_str())?;
            i.insert("service", o.service.as_str())?;
            i.insert("method", o.method.as_str())?;
            out.insert("origin", i)?;
        }
        None => out.insert("origin", null())?,
    }
    Ok(out)
}

/// The PHP exception for a core error: `HmsFfi\NotFoundException($message, $details)`, …
pub(crate) fn to_php(e: Error) -> PhpException {
    let build = || -> PhpResult<Zval> {
        let details = details_array(&e)?;
        ZendCallable::try_from_name("HmsFfi\\Exception::fromStatus")
            .and_then(|f| f.try_call(vec![&e.code().as_i32(), &e.message(), &details]))
            .map_err(|err| PhpException::from_message(err.to_string()))
    };
    match build() {
        Ok(object) => {
            PhpException::new(e.message().to_string(), e.code().as_i32(), ce::exception())
                .with_object(object)
        }
        // The classes are missing only if the request startup failed; keep the text at least.
        Err(_) => PhpException::new(
            format!("{}: {}", e.code(), e.message()),
            e.code().as_i32(),
            ce::exception(),
        ),
    }
}

/// A bad call or constructor option: `HmsFfi\InvalidArgumentException`.
pub(crate) fn bad_option(message: String) -> PhpException {
    to_php(Error::new(Code::InvalidArgument, message))
}

/// Shorthand for mapping a core result into PHP.
pub(crate) fn php_result<T>(r: crate::ocore::Result<T>) -> PhpResult<T> {
    r.map_err(to_php)
}

/// An `HmsFfi\InternalException` for a failure inside the extension itself.
pub(crate) fn php_error(message: &str) -> PhpException {
    to_php(Error::new(Code::Internal, message))
}

fn strings(zv: Option<&Zval>) -> Vec<String> {
    zv.and_then(Zval::array)
        .map(|a| a.values().filter_map(Zval::string).collect())
        .unwrap_or_default()
}

/// A core error from the exception a handler threw (taken off the engine, so PHP goes on).
pub(crate) fn from_php(exception: ZBox<ZendObject>) -> Error {
    let class = exception
        .get_class_name()
        .unwrap_or_else(|_| "Throwable".into());
    let zv = match exception.into_zval(false) {
        Ok(zv) => zv,
        Err(e) => return Error::new(Code::Internal, format!("{class}: {e}")),
    };
    let described = ZendCallable::try_from_name("HmsFfi\\Exception::describe")
        .and_then(|f| f.try_call(vec![&zv]));
    let described = match described {
        Ok(d) => d,
        Err(e) => {
            drop(ExecutorGlobals::take_exception());
            return Error::new(Code::Internal, format!("{class} (not describable: {e})"));
        }
    };
    let Some(d) = described.array() else {
        return Error::new(Code::Internal, class);
    };
    let code = d.get("code").and_then(Zval::long).unwrap_or(13) as i32;
    let message = d.get("message").and_then(Zval::string).unwrap_or_default();
    let violations = d
        .get("field_violations")
        .and_then(Zval::array)
        .map(|list| {
            list.values()
                .filter_map(Zval::array)
                .map(|v| FieldViolation {
                    field: v.get("field").and_then(Zval::string).unwrap_or_default(),
                    description: v
                        .get("description")
                        .and_then(Zval::string)
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let details = Details {
        field_violations: violations,
        debug_info: Some(DebugInfo {
            stack_entries: strings(d.get("stack")),
            detail: d.get("detail").and_then(Zval::string).unwrap_or_default(),
        }),
        ..Details::default()
    };
    let mut error = Error::new(Code::from_i32(code), message).with_details(details);
    // A re-raised hms-ffi exception keeps its ErrorInfo (reason, domain, metadata) and origin.
    if let Some(reason) = non_empty(d.get("reason")) {
        let metadata = d
            .get("metadata")
            .and_then(Zval::array)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.to_string(), v.string()?)))
                    .collect()
            })
            .unwrap_or_default();
        let domain = non_empty(d.get("domain")).unwrap_or_default();
        error = error.with_error_info(&reason, &domain, metadata);
    }
    if let Some(o) = d.get("origin").and_then(Zval::array) {
        let field = |name| o.get(name).and_then(Zval::string).unwrap_or_default();
        error = error.with_origin(Origin {
            language: field("language"),
            service: field("service"),
            method: field("method"),
        });
    }
    error
}

fn non_empty(zv: Option<&Zval>) -> Option<String> {
    zv.and_then(Zval::string).filter(|s| !s.is_empty())
}
