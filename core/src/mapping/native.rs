//! Depth for a binding's walk over its native values, so that no input exhausts a stack.
//!
//! A binding turns a native value (a Python `dict`, a Ruby `Hash`, a PHP array…) into a
//! [`Value`](crate::Value) by recursion. It counts depth as it walks, with
//! [`NativeDepth::enter`] at every container, and stops at [`NATIVE_MAX_DEPTH`]: a 100 000-deep
//! list is refused after a few hundred frames instead of overflowing the stack. The error is
//! `ResourceExhausted` with the reason `NESTING_TOO_DEEP` (the same as the core's own mapping
//! limit) and one field violation whose path is built only on the way out, as the error passes
//! each container ([`TooDeep::at_index`], [`TooDeep::at_key`]): the success path builds no path.
//!
//! ```
//! use hms_ffi_core::mapping::{NativeDepth, TooDeep};
//! use hms_ffi_core::Value;
//!
//! // A binding's walk over nested lists, here of a toy native type.
//! enum Native { Leaf, List(Vec<Native>) }
//! fn walk(n: &Native, depth: NativeDepth) -> Result<Value, TooDeep> {
//!     match n {
//!         Native::Leaf => Ok(Value::Null),
//!         Native::List(items) => {
//!             let depth = depth.enter()?;
//!             let mut out = Vec::new();
//!             for (i, item) in items.iter().enumerate() {
//!                 out.push(walk(item, depth).map_err(|e| e.at_index(i))?);
//!             }
//!             Ok(Value::List(out))
//!         }
//!     }
//! }
//! let mut deep = Native::Leaf;
//! for _ in 0..100_000 { deep = Native::List(vec![deep]); }
//! let err = walk(&deep, NativeDepth::default()).unwrap_err().into_error();
//! assert_eq!(err.code(), hms_ffi_core::Code::ResourceExhausted);
//! assert!(err.field_violations()[0].field.starts_with("[0][0]"));
//! # std::mem::forget(deep); // a 100 000-deep tree would also overflow the stack when dropped
//! ```

use super::path::{Path, Seg};
use crate::error::{Error, FieldViolation};

/// The deepest nesting of containers a binding converts from native values. It is a ceiling
/// for stack safety above the configurable [`Limits::max_depth`](crate::Limits::max_depth)
/// (default 64), which the core's mapping applies afterwards.
pub const NATIVE_MAX_DEPTH: usize = 256;

/// How deep a native walk is; `Copy`, passed down by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeDepth {
    level: usize,
    max: usize,
}

impl Default for NativeDepth {
    fn default() -> Self {
        NativeDepth::new(NATIVE_MAX_DEPTH)
    }
}

impl NativeDepth {
    /// A walk that refuses more than `max` nested containers.
    pub fn new(max: usize) -> NativeDepth {
        NativeDepth { level: 0, max }
    }

    /// [`enter`](NativeDepth::enter) for a walk that fails with [`NativeFail`].
    pub fn descend<E>(self) -> Result<NativeDepth, NativeFail<E>> {
        self.enter().map_err(NativeFail::Deep)
    }

    /// The depth inside one more container, or the nesting error.
    pub fn enter(self) -> Result<NativeDepth, TooDeep> {
        if self.level >= self.max {
            return Err(TooDeep {
                outward: Vec::new(),
                max: self.max,
                converter: None,
            });
        }
        Ok(NativeDepth {
            level: self.level + 1,
            max: self.max,
        })
    }
}

impl TooDeep {
    /// The error of a native walk that stopped at [`NATIVE_MAX_DEPTH`], for a binding whose
    /// walk runs outside Rust (Node's JavaScript encoder) and gives the path afterwards.
    pub fn at_native_limit() -> TooDeep {
        TooDeep {
            outward: Vec::new(),
            max: NATIVE_MAX_DEPTH,
            converter: None,
        }
    }

    /// Not a nesting error but a converter's ([`super::convert`]) that failed in a binding's
    /// own walk — of `target` (`google.type.Decimal`, `format uuid`), with `why` — gathering
    /// its path on the way out as a nesting error does. [`into_error`](TooDeep::into_error)
    /// makes it [`converter_failed`](super::converter_failed) at that path.
    pub fn converter(target: &str, why: &str) -> TooDeep {
        TooDeep {
            outward: Vec::new(),
            max: NATIVE_MAX_DEPTH,
            converter: Some((target.to_string(), why.to_string())),
        }
    }
}

/// A native value nested deeper than its walk allows (or a converter's failure,
/// [`TooDeep::converter`]); gathers its path on the way out.
#[derive(Debug, Clone)]
pub struct TooDeep {
    /// Path segments, innermost first.
    outward: Vec<Seg>,
    max: usize,
    /// A converter's target and failure, for [`TooDeep::converter`].
    converter: Option<(String, String)>,
}

impl TooDeep {
    /// The error passed through item `i` of a list.
    pub fn at_index(mut self, i: usize) -> TooDeep {
        self.outward.push(Seg::Index(i));
        self
    }

    /// The error passed through the entry `key` of a map or message: a text key reads as a
    /// field name (`meta.items`), any other key in brackets (`by_id[7]`).
    pub fn at_key(mut self, key: &crate::Value) -> TooDeep {
        self.outward.push(match key {
            crate::Value::String(name) => Seg::Field(name.clone()),
            crate::Value::Int(n) => Seg::Key(n.to_string()),
            crate::Value::UInt(n) => Seg::Key(n.to_string()),
            other => Seg::Key(format!("<{}>", other.kind_name())),
        });
        self
    }

    /// The path, as the core's field violations write it.
    pub fn path(&self) -> String {
        let mut path = Path::default();
        for seg in self.outward.iter().rev() {
            path.push(seg.clone());
        }
        path.render()
    }

    /// `ResourceExhausted` (`NESTING_TOO_DEEP`) with the path as a field violation (for a
    /// converter's failure, `InvalidArgument` with it).
    pub fn into_error(self) -> Error {
        let path = self.path();
        if let Some((target, why)) = &self.converter {
            return super::converter_failed(target, &path, why);
        }
        let mut err = Error::resource_exhausted(
            "NESTING_TOO_DEEP",
            format!(
                "value nests deeper than the limit of {} at {}",
                self.max,
                if path.is_empty() { "the top" } else { &path }
            ),
        );
        err.details_mut().field_violations.push(FieldViolation {
            field: path,
            description: format!("nests deeper than {} levels", self.max),
        });
        err
    }
}

/// Why a binding's walk over its native values stopped: its own error (a Python exception, a
/// Ruby or PHP one), or nesting past the limit. `?` turns the binding's error into it;
/// [`NativeDepth::descend`] gives the nesting one.
#[derive(Debug)]
pub enum NativeFail<E> {
    /// The binding's own error.
    Native(E),
    /// Nesting past the limit, with the path gathered so far.
    Deep(TooDeep),
}

impl<E> From<E> for NativeFail<E> {
    fn from(e: E) -> NativeFail<E> {
        NativeFail::Native(e)
    }
}

impl<E> NativeFail<E> {
    /// [`TooDeep::at_index`] for a nesting error; the binding's own passes unchanged.
    pub fn at_index(self, i: usize) -> NativeFail<E> {
        match self {
            NativeFail::Deep(d) => NativeFail::Deep(d.at_index(i)),
            native => native,
        }
    }

    /// [`TooDeep::at_key`] for a nesting error; the binding's own passes unchanged.
    pub fn at_key(self, key: &crate::Value) -> NativeFail<E> {
        match self {
            NativeFail::Deep(d) => NativeFail::Deep(d.at_key(key)),
            native => native,
        }
    }

    /// The binding's own error; a nesting error becomes one through `raise` (the binding's
    /// conversion of a core error).
    pub fn into_native(self, raise: impl FnOnce(Error) -> E) -> E {
        match self {
            NativeFail::Native(e) => e,
            NativeFail::Deep(d) => raise(d.into_error()),
        }
    }
}

impl From<TooDeep> for Error {
    fn from(t: TooDeep) -> Error {
        t.into_error()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Code, Value};

    #[test]
    fn the_path_is_written_outermost_first() {
        let depth = NativeDepth::new(1).enter().expect("one level");
        let err = depth
            .enter()
            .unwrap_err()
            .at_index(3)
            .at_key(&Value::Int(7))
            .at_key(&Value::from("meta"));
        assert_eq!(err.path(), "meta[7][3]");
        let err = err.into_error();
        assert_eq!(err.code(), Code::ResourceExhausted);
        assert_eq!(err.field_violations()[0].field, "meta[7][3]");
        assert!(err.message().contains("limit of 1 at meta[7][3]"));
    }

    #[test]
    fn the_limit_counts_containers() {
        let mut depth = NativeDepth::new(3);
        for _ in 0..3 {
            depth = depth.enter().expect("within the limit");
        }
        assert!(depth.enter().is_err());
    }
}
