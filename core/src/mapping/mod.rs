//! Descriptor-guided conversion between [`Value`] trees and protobuf messages, written once for
//! every language. See `docs/types.md` for the table.
//!
//! [`to_message`] checks a whole tree and reports every violation with its path
//! (`items[2].price: expected double, got str`); [`from_message`] never fails.

mod cbor_io;
mod cbor_out;
pub mod convert;
#[cfg(test)]
mod convert_tests;
mod decode;
mod encode;
pub(crate) mod guided;
mod input;
pub mod json;
mod native;
pub mod notation;
mod output;
mod path;
mod table;
pub(crate) mod wire;
#[cfg(test)]
mod wire_fixture;
pub(crate) mod wire_out;
#[cfg(test)]
mod wire_tests;
pub mod wkt;

pub use cbor_io::{CborDoc, CborInput};
pub use cbor_out::{CborOut, CborSpan, CborTag};
pub use convert::{
    converter_failed, format_of, marked, message_value, unmarked, Converters, Native, Target,
    ValueMark, BUILTIN_FORMATS, BUILTIN_MESSAGES,
};
pub use decode::{from_message, from_message_with, DecodeOptions};
pub use encode::to_message;
pub use input::{Input, View};
pub use native::{NativeDepth, NativeFail, TooDeep, NATIVE_MAX_DEPTH};
pub use output::{Output, Scalar, ValueOut};

/// How lenient [`to_message`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapOptions {
    /// Protobuf-JSON input: field names may be lowerCamelCase, 64-bit integers and floats may be
    /// strings, bytes are base64 text.
    pub json: bool,
    /// Deepest nesting of messages, lists and maps accepted; deeper is `ResourceExhausted`.
    pub max_depth: usize,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            json: false,
            max_depth: crate::limits::DEFAULT_MAX_DEPTH,
        }
    }
}

impl MapOptions {
    /// Options for protobuf-JSON input.
    pub fn json() -> Self {
        MapOptions {
            json: true,
            ..MapOptions::default()
        }
    }
}
