//! Values across the boundary: CBOR bytes in the core's CBOR form, walked by the core
//! straight to protobuf and back ([`CborDoc`], [`CborOut`]) with no value tree in between.

use bytes::Bytes;
use hms_ffi_core::limits::DEFAULT_MAX_DEPTH;
use hms_ffi_core::mapping::{self, CborDoc, CborInput, CborOut, CborSpan, DecodeOptions, TooDeep};
use hms_ffi_core::{NativeResult, Result, Value};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::error::{to_native, NativeError};

/// How the core presents values to JavaScript: 64-bit integer fields as bignums.
pub(crate) const FOR_JS: DecodeOptions = DecodeOptions {
    int64_as_bigint: true,
    mark_empty_objects: false,
};

/// Protobuf (or the method's codec) from JavaScript's CBOR, through `encode` (a route's or a
/// stream's encoder).
pub(crate) fn from_js(
    cbor: &[u8],
    encode: impl FnOnce(&CborInput<'_, '_>) -> NativeResult<Bytes, hms_ffi_core::Error>,
) -> Result<Bytes> {
    let doc = CborDoc::parse(cbor, DEFAULT_MAX_DEPTH)?;
    encode(&doc.root())?
}

/// CBOR for JavaScript from a message's bytes, through `decode` (a route's or a stream's
/// decoder).
pub(crate) fn to_js(
    decode: impl FnOnce(&mut CborOut) -> NativeResult<CborSpan, hms_ffi_core::Error>,
) -> Result<Buffer> {
    let mut out = CborOut::default();
    let span = decode(&mut out)??;
    Ok(Buffer::from(out.finish(span)))
}

/// The deepest nesting of containers (arrays, objects, `Map`s) the JavaScript encoder
/// (`lib/cbor.js`) walks before it stops: the core's ceiling for every binding's native walk
/// (`mapping::NATIVE_MAX_DEPTH`).
#[napi]
pub const NATIVE_MAX_DEPTH: u32 = mapping::NATIVE_MAX_DEPTH as u32;

/// One container the JavaScript encoder was in when it stopped: an array item (`index`), or an
/// object or `Map` entry by its text (`key`) or integer (`intKey`) key.
#[napi(object)]
#[derive(Debug)]
pub struct PathSegment {
    /// The item's position in an array.
    pub index: Option<u32>,
    /// The entry's text key.
    pub key: Option<String>,
    /// The entry's integer key (a `Map` with number keys).
    pub int_key: Option<i64>,
}

/// The core's nesting error (`RESOURCE_EXHAUSTED`, reason `NESTING_TOO_DEEP`, the path as a
/// field violation) for a JavaScript value that nests deeper than [`NATIVE_MAX_DEPTH`];
/// `outward` lists the containers the encoder was in, innermost first.
#[napi]
pub fn nesting_too_deep(outward: Vec<PathSegment>) -> NativeError {
    let mut err = TooDeep::at_native_limit();
    for seg in outward {
        err = match (seg.index, seg.key, seg.int_key) {
            (Some(i), _, _) => err.at_index(i as usize),
            (None, Some(key), _) => err.at_key(&Value::String(key)),
            (None, None, Some(n)) => err.at_key(&Value::Int(n)),
            (None, None, None) => err,
        };
    }
    to_native(&err.into_error())
}
