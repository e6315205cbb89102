//! Values across the boundary: CBOR bytes in the core's CBOR form.

use hms_ffi_core::limits::DEFAULT_MAX_DEPTH;
use hms_ffi_core::mapping::DecodeOptions;
use hms_ffi_core::{Codec, Result, Value};
use napi::bindgen_prelude::Buffer;

/// How the core presents values to JavaScript: 64-bit integer fields as bignums.
pub(crate) const FOR_JS: DecodeOptions = DecodeOptions {
    int64_as_bigint: true,
    mark_empty_objects: false,
};

/// CBOR from JavaScript → a value tree (the schema checks come later, in the core).
pub(crate) fn from_js(bytes: &[u8]) -> Result<Value> {
    Codec::Cbor.decode(None, bytes, DEFAULT_MAX_DEPTH)
}

/// A value tree → CBOR for JavaScript.
pub(crate) fn to_js(value: &Value) -> Result<Buffer> {
    Codec::Cbor
        .encode(None, value, DEFAULT_MAX_DEPTH)
        .map(Buffer::from)
}
