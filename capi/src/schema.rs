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

/// One version of a schema in a registry: `reference` is `registry+URI#SUBJECT[@N|@latest|
/// @sha256:HEX]` (docs/evolution.md), fetched and checked against its fingerprint, waiting at
/// most `timeout_ms` (0 or less: 10 s). Blocks the calling thread. A bad reference is
/// `INVALID_ARGUMENT`, an unknown subject or version `NOT_FOUND`, an unreachable registry
/// `UNAVAILABLE`.
#[no_mangle]
pub unsafe extern "C" fn hms_schema_from_registry(
    reference: *const c_char,
    timeout_ms: i64,
    out: *mut *mut HmsSchema,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let reference = text(reference, "reference")?;
        let ms = u64::try_from(timeout_ms).ok().filter(|ms| *ms > 0);
        let timeout = std::time::Duration::from_millis(ms.unwrap_or(10_000));
        let schema = ocore::registry::RegistryRef::schema_blocking(reference, timeout)?;
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
