//! Errors both ways: a core error becomes the `HmsFfi` exception class of its code (defined in
//! `lib/hms_ffi/errors.rb`) with the core's details map as a Hash; a Ruby exception raised by a
//! handler becomes a core error by the core's rules (`Error::from_foreign`).

use magnus::error::ErrorType;
use magnus::value::ReprValue;
use magnus::{prelude::*, Error, Exception, RClass, RModule, Ruby};

use crate::ocore::{self, Code, ErrorParts, ForeignError};

fn error_class(ruby: &Ruby) -> Result<RClass, Error> {
    ruby.class_object()
        .const_get::<_, RModule>("HmsFfi")?
        .const_get("Error")
}

/// The Ruby exception for a core error: `HmsFfi::NotFound`, `HmsFfi::InvalidArgument`, …
pub(crate) fn to_ruby(ruby: &Ruby, e: ocore::Error) -> Error {
    let build = || -> Result<Error, Error> {
        let exc: Exception = error_class(ruby)?.funcall(
            "_from_native",
            (
                e.code().as_i32(),
                e.message(),
                crate::convert::to_ruby(ruby, &e.details_value())?,
            ),
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

/// A core error from what a Ruby handler raised; the core applies every rule
/// (`Error::from_foreign`): this function only reads the exception.
pub(crate) fn from_ruby(ruby: &Ruby, err: &Error) -> ocore::Error {
    let exc = match err.error_type() {
        ErrorType::Exception(e) => *e,
        ErrorType::Error(class, msg) => {
            return ocore::Error::from_foreign(ForeignError {
                type_name: unsafe_name(class.as_value()),
                message: msg.to_string(),
                ..ForeignError::default()
            });
        }
        ErrorType::Jump(_) => {
            return ocore::Error::new(Code::Internal, "the handler left with break or throw")
        }
    };
    let stack: Vec<String> = exc
        .funcall::<_, _, Option<Vec<String>>>("backtrace", ())
        .ok()
        .flatten()
        .unwrap_or_default();
    // An HmsFfi::Error gives its code, message and details (`_wire_parts` in errors.rb).
    let is_hms = error_class(ruby).is_ok_and(|c| exc.is_kind_of(c));
    let parts = is_hms
        .then(|| exc.funcall::<_, _, (i32, String, magnus::Value)>("_wire_parts", ()))
        .and_then(Result::ok)
        .map(|(code, message, details)| {
            let details = crate::convert::from_ruby(ruby, details).unwrap_or_default();
            ErrorParts::from_details_value(code, message, &details)
        });
    ocore::Error::from_foreign(ForeignError {
        type_name: unsafe_name(exc.as_value()),
        message: exc.funcall("message", ()).unwrap_or_default(),
        stack,
        parts,
    })
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
