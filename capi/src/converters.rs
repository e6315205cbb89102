//! Converters for custom domain types (`docs/converters.md`) across the C ABI: the caller names
//! each converter's target as JSON (`[{"message": "google.type.Decimal"}, {"format": "uuid"}]`);
//! converter `i`'s values come out of the core's walk in [`HmsFormat::Value`](crate::HmsFormat)
//! replies and requests inside CBOR tag `HMS_CONVERTED_TAG + i`, for the caller's decoder to
//! hand to its function. The core decides where a converter applies and the error a failing one
//! gives ([`hms_converter_error`]).

use std::ffi::c_char;
use std::sync::Arc;

use crate::error::{guard, text, HmsError};
use crate::ocore::exchange::handler_fault;
use crate::ocore::mapping::{CborTag, Converters, Target, TooDeep};
use crate::ocore::{Code, Error, Value};

/// The CBOR tag of converter 0; converter `i` is tagged `HMS_CONVERTED_TAG + i`.
pub const HMS_CONVERTED_TAG: u32 = 0x4846_0000;

/// The core's registry of the converters `json` names (NULL or empty: none).
pub(crate) unsafe fn registry(json: *const c_char) -> Result<Converters, Error> {
    if json.is_null() {
        return Ok(Converters::new());
    }
    let bad = |why: String| Error::new(Code::InvalidArgument, format!("converters: {why}"));
    let list: Vec<serde_json::Value> =
        serde_json::from_str(text(json, "converters")?).map_err(|e| bad(e.to_string()))?;
    let mut out = Converters::new();
    for (i, c) in list.iter().enumerate() {
        let target = match (c.get("message"), c.get("format")) {
            (Some(serde_json::Value::String(m)), None) => Target::Message(m.clone()),
            (None, Some(serde_json::Value::String(f))) => Target::Format(f.clone()),
            _ => {
                return Err(bad(format!(
                    "entry {i} names neither one message nor one format"
                )))
            }
        };
        let tag = u64::from(HMS_CONVERTED_TAG) + i as u64;
        out = out.with(target, Arc::new(CborTag(tag)));
    }
    Ok(out)
}

/// Stores in `*err` the core's error for a converter of `target` (`google.type.Decimal`,
/// `format uuid`) that failed with `why`, at the path `outward_json` gives — the containers the
/// caller's walk was in, innermost first: `[{"index": 2}, {"key": "price"}]` — and returns its
/// code: `INVALID_ARGUMENT` with the path as a field violation, or, for a handler's `reply`,
/// `INTERNAL` with the same details.
#[no_mangle]
pub unsafe extern "C" fn hms_converter_error(
    outward_json: *const c_char,
    target: *const c_char,
    why: *const c_char,
    reply: bool,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let segs: Vec<serde_json::Value> = serde_json::from_str(text(outward_json, "outward")?)
            .map_err(|e| Error::new(Code::InvalidArgument, format!("outward: {e}")))?;
        let mut at = TooDeep::converter(text(target, "target")?, text(why, "why")?);
        for s in segs {
            at = match (s.get("index").and_then(|i| i.as_u64()), s.get("key")) {
                (Some(i), _) => at.at_index(i as usize),
                (None, Some(serde_json::Value::String(k))) => at.at_key(&Value::String(k.clone())),
                (None, Some(k)) => at.at_key(&Value::Int(k.as_i64().unwrap_or_default())),
                (None, None) => at,
            };
        }
        let e = at.into_error();
        Err(if reply { handler_fault(e) } else { e })
    })
}
