//! Errors both ways: a core error becomes the `HmsFfi\…Exception` of its code (the classes are
//! declared in `php/hms_ffi.php`), with the core's details map as an array; an exception thrown
//! by a handler becomes a core error by the core's rules (`Error::from_foreign`).

use ext_php_rs::boxed::ZBox;
use ext_php_rs::convert::IntoZval;
use ext_php_rs::exception::PhpException;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendCallable, ZendObject, Zval};
use ext_php_rs::zend::{ce, ExecutorGlobals};

use crate::ocore::{Code, Error, ErrorParts, ForeignError};

/// The PHP exception for a core error: `HmsFfi\NotFoundException($message, $details)`, …
pub(crate) fn to_php(e: Error) -> PhpException {
    match exception_object(&e) {
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

/// The `HmsFfi\…Exception` object of a core error, as a value (a batch's entries hold it
/// without throwing it).
pub(crate) fn exception_object(e: &Error) -> PhpResult<Zval> {
    let details = crate::convert::to_php(&e.details_value())?;
    ZendCallable::try_from_name("HmsFfi\\Exception::fromStatus")
        .and_then(|f| f.try_call(vec![&e.code().as_i32(), &e.message(), &details]))
        .map_err(|err| PhpException::from_message(err.to_string()))
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

/// A core error from the exception a handler threw (taken off the engine, so PHP goes on); the
/// core applies every rule (`Error::from_foreign`): this function only reads the exception.
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
    let parts = d.get("parts").and_then(Zval::array).map(|p| {
        let details = p.get_index(2).map(crate::convert::from_php);
        ErrorParts::from_details_value(
            p.get_index(0).and_then(Zval::long).unwrap_or(0) as i32,
            p.get_index(1).and_then(Zval::string).unwrap_or_default(),
            &details.and_then(Result::ok).unwrap_or_default(),
        )
    });
    Error::from_foreign(ForeignError {
        type_name: d.get("class").and_then(Zval::string).unwrap_or(class),
        message: d.get("message").and_then(Zval::string).unwrap_or_default(),
        stack: strings(d.get("stack")),
        parts,
    })
}
