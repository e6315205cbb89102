//! Converters for custom domain types: the JavaScript side (`index.js`, `lib/cbor*.js`) holds
//! the functions; the core's registry holds each converter's target with a CBOR tag
//! ([`CborTag`]) under which the core's walk hands a converted value to the decoder, which
//! calls the converter's `fromMessage`. The core decides where a converter applies.

use std::sync::Arc;

use hms_ffi_core::exchange::handler_fault;
use hms_ffi_core::mapping::{CborTag, Converters, Target, TooDeep};
use hms_ffi_core::Value;
use napi_derive::napi;

use crate::error::{to_native, NativeError};
use crate::values::PathSegment;

/// The CBOR tag of converter `i` is `CONVERTED_TAG + i` (a tag no CBOR of the core uses).
#[napi]
pub const CONVERTED_TAG: u32 = 0x4846_0000;

/// Where one converter applies: a message type by full name, or a string field's format.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ConverterTarget {
    /// A message type's full name (`google.type.Decimal`).
    pub message: Option<String>,
    /// A declared format (`uuid`).
    pub format: Option<String>,
}

/// The core's registry of `targets`, converter `i` tagged `CONVERTED_TAG + i`.
pub(crate) fn registry(targets: Option<Vec<ConverterTarget>>) -> napi::Result<Converters> {
    let mut out = Converters::new();
    for (i, t) in targets.unwrap_or_default().into_iter().enumerate() {
        let target = match (t.message, t.format) {
            (Some(m), None) => Target::Message(m),
            (None, Some(f)) => Target::Format(f),
            _ => {
                return Err(napi::Error::from_reason(
                    "INVALID_ARGUMENT: a converter targets one message type or one format",
                ))
            }
        };
        let tag = u64::from(CONVERTED_TAG) + i as u64;
        out = out.with(target, Arc::new(CborTag(tag)));
    }
    Ok(out)
}

/// The core's error for a converter that threw (`INVALID_ARGUMENT`, the value's path as a field
/// violation; `INTERNAL` with the same details for a handler's `reply`); `outward` lists the
/// containers the encoder or decoder was in, innermost first.
#[napi]
pub fn converter_failed_at(
    outward: Vec<PathSegment>,
    target: String,
    why: String,
    reply: bool,
) -> NativeError {
    let mut at = TooDeep::converter(&target, &why);
    for seg in outward {
        at = match (seg.index, seg.key, seg.int_key) {
            (Some(i), _, _) => at.at_index(i as usize),
            (None, Some(key), _) => at.at_key(&Value::String(key)),
            (None, None, Some(n)) => at.at_key(&Value::Int(n)),
            (None, None, None) => at,
        };
    }
    let err = at.into_error();
    to_native(&if reply { handler_fault(err) } else { err })
}
