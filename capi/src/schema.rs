//! Schemas.

use std::ffi::c_char;

use crate::error::{guard, text, HmsError};
use crate::ocore::{self, Code, Error};

/// A compiled schema.
#[derive(Debug)]
pub struct HmsSchema(pub(crate) ocore::Schema);

/// Compiles a `.proto` file; imports are looked up in `includes` (`n_includes` paths), the
/// file's folder and the well-known types.
#[no_mangle]
pub unsafe extern "C" fn hms_schema_load(
    path: *const c_char,
    includes: *const *const c_char,
    n_includes: usize,
    out: *mut *mut HmsSchema,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let path = text(path, "path")?;
        let mut dirs = Vec::with_capacity(n_includes);
        for i in 0..n_includes {
            dirs.push(text(*includes.add(i), "include")?.to_string());
        }
        let schema = ocore::Schema::load(&[path], &dirs)?;
        store(out, schema)
    })
}

/// Compiles one `.proto` file given as text.
#[no_mangle]
pub unsafe extern "C" fn hms_schema_from_source(
    name: *const c_char,
    source: *const c_char,
    out: *mut *mut HmsSchema,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let schema = ocore::Schema::from_source(text(name, "name")?, text(source, "source")?)?;
        store(out, schema)
    })
}

unsafe fn store(out: *mut *mut HmsSchema, schema: ocore::Schema) -> Result<(), Error> {
    if out.is_null() {
        return Err(Error::new(Code::InvalidArgument, "out is NULL"));
    }
    *out = Box::into_raw(Box::new(HmsSchema(schema)));
    Ok(())
}

/// Frees a schema (NULL-safe). Servers and clients keep their own reference.
#[no_mangle]
pub unsafe extern "C" fn hms_schema_free(schema: *mut HmsSchema) {
    if !schema.is_null() {
        drop(Box::from_raw(schema));
    }
}
