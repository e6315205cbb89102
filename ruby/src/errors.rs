//! Errors both ways: a core error becomes the `HmsFfi` exception class of its code (defined in
//! `lib/hms_ffi/errors.rb`); a Ruby exception raised by a handler becomes a core error (its own
//! code if it is an `HmsFfi::Error`, else `Internal` with the class, message and backtrace in
//! `DebugInfo`).

use magnus::error::ErrorType;
use magnus::value::ReprValue;
use magnus::{prelude::*, Error, Exception, RClass, RHash, RModule, Ruby};

use crate::ocore::{self, Code, DebugInfo, Details, FieldViolation, Origin};

fn error_class(ruby: &Ruby) -> Result<RClass, Error> {
    ruby.class_object()
        .const_get::<_, RModule>("HmsFfi")?
        .const_get("Error")
}

fn details_hash(ruby: &Ruby, e: &ocore::Error) -> Result<RHash, Error> {
    let d = e.details();
    let h = ruby.hash_new();
    let violations = ruby.ary_new();
    for v in &d.field_violations {
        let item = ruby.hash_new();
        item.aset(ruby.to_symbol("field"), v.field.as_str())?;
        item.aset(ruby.to_symbol("description"), v.description.as_str())?;
        violations.push(item)?;
    }
    h.aset(ruby.to_symbol("field_violations"), violations)?;
    let info = match &d.error_info {
        Some(info) => {
            let i = ruby.hash_new();
            i.aset(ruby.to_symbol("reason"), info.reason.as_str())?;
            i.aset(ruby.to_symbol("domain"), info.domain.as_str())?;
            i.aset(ruby.to_symbol("metadata"), info.metadata.clone())?;
            Some(i)
        }
        None => None,
    };
    h.aset(ruby.to_symbol("error_info"), info)?;
    let debug = match &d.debug_info {
        Some(debug) => {
            let i = ruby.hash_new();
            i.aset(ruby.to_symbol("stack_entries"), debug.stack_entries.clone())?;
            i.aset(ruby.to_symbol("detail"), debug.detail.as_str())?;
            Some(i)
        }
        None => None,
    };
    h.aset(ruby.to_symbol("debug_info"), debug)?;
    let origin = match e.origin() {
        Some(o) => {
            let i = ruby.hash_new();
            i.aset(ruby.to_symbol("language"), o.language.as_str())?;
            i.aset(ruby.to_symbol("service"), o.service.as_str())?;
            i.aset(ruby.to_symbol("method"), o.method.as_str())?;
            Some(i)
        }
        None => None,
    };
    h.aset(ruby.to_symbol("origin"), origin)?;
    Ok(h)
}

/// The Ruby exception for a core error: `HmsFfi::NotFound`, `HmsFfi::InvalidArgument`, …
pub(crate) fn to_ruby(ruby: &Ruby, e: ocore::Error) -> Error {
    let build = || -> Result<Error, Error> {
        let exc: Exception = error_class(ruby)?.funcall(
            "_from_native",
            (e.code().as_i32(), e.message(), details_hash(ruby, &e)?),
        )?;
        Ok(exc.into())
    };
    build().unwrap_or_else(|err| err)
}

/// Shorthand for mapping a core result into Ruby.
pub(crate) fn rb_result<T>(ruby: &Ruby, r: ocore::Result<T>) -> Result<T, Error> {
    r.map_err(|e| to_ruby(ruby, e))
}

/// Whether a handler's error must also end `serve`: anything that is not a `StandardError`
/// (`Interrupt`, `SignalException`, `SystemExit`, …) and non-local exits (`break`, `throw`).
pub(crate) fn ends_serving(ruby: &Ruby, err: &Error) -> bool {
    match err.error_type() {
        ErrorType::Jump(_) => true,
        ErrorType::Error(..) => false,
        ErrorType::Exception(e) => !e.is_kind_of(ruby.exception_standard_error()),
    }
}

/// A core error from what a Ruby handler raised.
pub(crate) fn from_ruby(ruby: &Ruby, err: &Error) -> ocore::Error {
    let exc = match err.error_type() {
        ErrorType::Exception(e) => *e,
        ErrorType::Error(class, msg) => {
            // SAFETY: the class name is copied at once.
            let name = unsafe_name(class.as_value());
            return ocore::Error::new(Code::Internal, format!("{name}: {msg}"));
        }
        ErrorType::Jump(_) => {
            return ocore::Error::new(Code::Internal, "the handler left with break or throw")
        }
    };
    let class = unsafe_name(exc.as_value());
    let message: String = exc.funcall("message", ()).unwrap_or_default();
    let stack: Vec<String> = exc
        .funcall::<_, _, Option<Vec<String>>>("backtrace", ())
        .ok()
        .flatten()
        .unwrap_or_default();
    let mut details = Details {
        debug_info: Some(DebugInfo {
            stack_entries: stack,
            detail: format!("{class}: {message}"),
        }),
        ..Details::default()
    };
    let is_hms = error_class(ruby).is_ok_and(|c| exc.is_kind_of(c));
    if !is_hms {
        return ocore::Error::new(Code::Internal, format!("{class}: {message}"))
            .with_details(details);
    }
    // An HmsFfi::Error carries its own code, message, field violations and reason.
    let code: i32 = exc
        .funcall("code_number", ())
        .unwrap_or(Code::Unknown.as_i32());
    if let Ok(pairs) = exc.funcall::<_, _, Vec<(String, String)>>("_violation_pairs", ()) {
        details.field_violations = pairs
            .into_iter()
            .map(|(field, description)| FieldViolation { field, description })
            .collect();
    }
    let mut e = ocore::Error::new(Code::from_i32(code), message).with_details(details);
    // Its ErrorInfo keeps domain and metadata, and a re-raised error its origin.
    if let Ok(Some(reason)) = exc.funcall::<_, _, Option<String>>("reason", ()) {
        if !reason.is_empty() {
            let (domain, metadata) = exc
                .funcall::<_, _, Option<(String, Vec<(String, String)>)>>("_info_parts", ())
                .ok()
                .flatten()
                .unwrap_or_default();
            e = e.with_error_info(&reason, &domain, metadata.into_iter().collect());
        }
    }
    if let Ok(Some((language, service, method))) =
        exc.funcall::<_, _, Option<(String, String, String)>>("_origin_parts", ())
    {
        e = e.with_origin(Origin {
            language,
            service,
            method,
        });
    }
    e
}

#[allow(unsafe_code)]
fn unsafe_name(v: magnus::Value) -> String {
    if let Some(class) = RClass::from_value(v) {
        // SAFETY: the name is copied at once.
        return unsafe { class.name() }.into_owned();
    }
    // SAFETY: the name is copied at once.
    unsafe { v.classname() }.into_owned()
}
