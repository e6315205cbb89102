//! Converters for custom domain types (docs/converters.md): the targets a client or server
//! registers ([`ConverterTarget`]) and the core's error for a converter that failed in the
//! foreign language's own walk ([`converter_error`]).
//!
//! The core decides where a received value converts: its walk marks each such value, and the
//! typed JSON it hands over carries it as `{"$converted": {"index": i, "value": …}}` (converter
//! `i` of the list given to `connect_all` or `Server::new`), which the Kotlin and Swift
//! decoders give to that converter. A sent object of a converter's type is made
//! message-shaped by the package's encoder before the text crosses.

use std::sync::Arc;

use crate::error::HmsResult;
use crate::ocore::exchange::handler_fault;
use crate::ocore::mapping::{Converters, Target, TooDeep, ValueMark};
use crate::ocore::Value;

/// What a converter applies to.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ConverterTarget {
    /// Every value of a message type, by its full name (`google.type.Decimal`).
    Message {
        /// The message type's full name.
        name: String,
    },
    /// Every `string` field declared with this format (`[(hms.ffi.v1.format) = "uuid"]`).
    Format {
        /// The format's name.
        name: String,
    },
}

/// One container a foreign walk was in when a converter failed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PathSegment {
    /// An item of a list.
    Index {
        /// Its position.
        index: u64,
    },
    /// An entry of a message or map (a text key reads as a field name).
    Key {
        /// The field name or map key.
        key: String,
    },
}

/// The core's registry of `targets`, converter `i` marked `i` in the values it decodes.
pub(crate) fn registry(targets: Vec<ConverterTarget>) -> Converters {
    targets
        .into_iter()
        .enumerate()
        .fold(Converters::new(), |out, (i, t)| {
            let target = match t {
                ConverterTarget::Message { name } => Target::Message(name),
                ConverterTarget::Format { name } => Target::Format(name),
            };
            out.with(target, Arc::new(ValueMark(i as u32)))
        })
}

/// Always fails, with the core's error for a converter of `target` (`google.type.Decimal`,
/// `format uuid`) that failed with `why` in a foreign walk, at the path `outward` gives (the
/// containers the walk was in, innermost first): `INVALID_ARGUMENT` with the path as a field
/// violation (`items[2].price`), or, for a handler's `reply`, `INTERNAL` with the same details.
#[uniffi::export]
pub fn converter_error(
    target: String,
    why: String,
    outward: Vec<PathSegment>,
    reply: bool,
) -> HmsResult<()> {
    let at = outward
        .into_iter()
        .fold(TooDeep::converter(&target, &why), |at, seg| match seg {
            PathSegment::Index { index } => at.at_index(index as usize),
            PathSegment::Key { key } => at.at_key(&Value::String(key)),
        });
    let e = at.into_error();
    Err(if reply { handler_fault(e) } else { e }.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HmsError;

    #[test]
    fn the_error_has_the_core_path_and_code() {
        let outward = vec![
            PathSegment::Key {
                key: "price".into(),
            },
            PathSegment::Index { index: 2 },
            PathSegment::Key {
                key: "items".into(),
            },
        ];
        let e = converter_error("google.type.Decimal".into(), "bad".into(), outward, false);
        let Err(HmsError::InvalidArgument { details, .. }) = e else {
            panic!("{e:?}")
        };
        assert_eq!(details.field_violations[0].field, "items[2].price");
        let e = converter_error("format uuid".into(), "bad".into(), vec![], true);
        assert!(matches!(e, Err(HmsError::Internal { .. })), "{e:?}");
    }
}
