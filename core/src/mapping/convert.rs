//! Custom domain types: converters between a message type (or a string field's declared format)
//! and a binding's native type — Python's `decimal.Decimal` for `google.type.Decimal`,
//! `uuid.UUID` for a `string` field declared `[(hms.ffi.v1.format) = "uuid"]`.
//!
//! The core decides *where* a converter applies and what its failure means; a binding only
//! supplies the two native functions. [`Converters`] is the registry a client or a server
//! carries: each [`Target`] with the binding's payload (its native functions, opaque to the
//! core). The one walk ([`super::wire_out`], [`super::wire`], and the general path in
//! [`super::guided`]) asks the binding's [`Input::convert`](super::Input::convert) to make a
//! native object message-shaped before writing it, and its
//! [`Output::convert`](super::Output::convert) to make a read message native. With no
//! converters the walk takes the very path it takes without this module.
//!
//! A converter that fails is `InvalidArgument` (`Internal` for a handler's reply) with a field
//! violation at the value's path (`items[2].price`), as every other mapping error.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use prost_reflect::{FieldDescriptor, MessageDescriptor};

use super::path::Path;
use crate::error::{Error, FieldViolation};

/// The field option that declares a string field's format (`hms/ffi/v1/options.proto`).
pub const FORMAT_OPTION: &str = "hms.ffi.v1.format";

/// The message types every binding ships a converter for (its native decimal, money and date
/// types where the language has them; `docs/converters.md`).
pub const BUILTIN_MESSAGES: [&str; 3] = [
    "google.type.Decimal",
    "google.type.Money",
    "google.type.Date",
];

/// The string formats every binding ships a converter for.
pub const BUILTIN_FORMATS: [&str; 1] = ["uuid"];

/// A binding's native functions for one converter, opaque to the core.
pub type Native = Arc<dyn Any + Send + Sync>;

/// Where a converter applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every value of a message type, by its full name (`google.type.Decimal`): singular and
    /// repeated fields, map values, on requests and replies.
    Message(String),
    /// Every `string` field (singular or repeated) declared with this format
    /// (`[(hms.ffi.v1.format) = "uuid"]`).
    Format(String),
}

/// The converters of a client or a server. Cheap to clone; empty by default.
#[derive(Clone, Default)]
pub struct Converters {
    entries: Arc<Vec<(Target, Native)>>,
}

impl fmt::Debug for Converters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(t, _)| t))
            .finish()
    }
}

impl Converters {
    /// No converters.
    pub fn new() -> Converters {
        Converters::default()
    }

    /// These converters and `native` for `target`, which replaces one registered before for
    /// the same target.
    pub fn with(&self, target: Target, native: Native) -> Converters {
        let mut entries: Vec<(Target, Native)> = self
            .entries
            .iter()
            .filter(|(t, _)| *t != target)
            .cloned()
            .collect();
        entries.push((target, native));
        Converters {
            entries: Arc::new(entries),
        }
    }

    /// Whether none is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The targets, in registration order.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.entries.iter().map(|(t, _)| t)
    }

    /// `Some(self)` unless empty: what the walk takes.
    pub(crate) fn active(&self) -> Option<&Converters> {
        (!self.is_empty()).then_some(self)
    }

    /// The converter for values of message type `desc`.
    pub(crate) fn for_message(&self, desc: &MessageDescriptor) -> Option<&Native> {
        let name = desc.full_name();
        self.entries.iter().find_map(|(t, n)| match t {
            Target::Message(m) if m == name => Some(n),
            _ => None,
        })
    }

    /// The converter for a string field declared with `format`.
    pub(crate) fn for_format(&self, format: &str) -> Option<&Native> {
        self.entries.iter().find_map(|(t, n)| match t {
            Target::Format(f) if f == format => Some(n),
            _ => None,
        })
    }
}

/// The converter of a binding that makes [`Value`](crate::Value) trees ([`super::ValueOut`]):
/// a value the core's walk converts comes out [`marked`] with the converter's index, for the
/// binding's conversion of the tree to hand to its native function ([`unmarked`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueMark(pub u32);

/// The start of the key of a marked value's one entry (a NUL, which no field name has),
/// followed by the converter's index.
const MARK: &str = "\u{0}hms-converted:";

/// `node`, converted by converter `index` ([`ValueMark`]), as the value tree carries it.
pub fn marked(index: u32, node: crate::Value) -> crate::Value {
    crate::Value::Map(vec![(crate::Value::String(format!("{MARK}{index}")), node)])
}

/// The converter's index and the value of a [`marked`] value.
pub fn unmarked(v: &crate::Value) -> Option<(u32, &crate::Value)> {
    match v {
        crate::Value::Map(entries) if entries.len() == 1 => match &entries[0] {
            (crate::Value::String(k), node) => {
                k.strip_prefix(MARK)?.parse().ok().map(|i| (i, node))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The declared format of a field (`[(hms.ffi.v1.format) = "uuid"]`), if its schema imports
/// `hms/ffi/v1/options.proto` and the field sets it.
pub fn format_of(fd: &FieldDescriptor) -> Option<String> {
    let ext = fd.parent_pool().get_extension_by_name(FORMAT_OPTION)?;
    let options = fd.options();
    if !options.has_extension(&ext) {
        return None;
    }
    options
        .get_extension(&ext)
        .as_str()
        .filter(|f| !f.is_empty())
        .map(str::to_string)
}

/// A converter's failure that a binding met in its own walk (Node's encoder and decoder run in
/// JavaScript): `InvalidArgument` with the violation at `path` (as [`TooDeep::path`] renders
/// the containers the walk was in), the same shape as the core's own.
///
/// [`TooDeep::path`]: super::TooDeep::path
pub fn converter_failed(target: &str, path: &str, why: &str) -> Error {
    Error::invalid_argument(
        "value",
        vec![FieldViolation {
            field: path.to_string(),
            description: format!("converter for {target} failed: {why}"),
        }],
    )
}

/// `input`, a message of `desc`, as a message-shaped [`Value`]: each value a converter of
/// `conv` applies to (as the core's walk decides) made message-shaped by the binding's
/// [`Input::convert`](super::Input::convert) first. For a binding that hands the core `Value`
/// trees rather than its objects (PHP's handler replies: `PendingCall::reply` takes a value).
/// The outer error is the binding's own conversion failing; the inner one a converter's
/// (`InvalidArgument` at the value's path). With no converters it is [`Input::to_value`].
///
/// [`Input::to_value`]: super::Input::to_value
pub fn message_value<I: super::Input>(
    desc: &MessageDescriptor,
    input: &I,
    conv: &Converters,
) -> Result<crate::Result<crate::Value>, I::Error> {
    if conv.is_empty() {
        return input.to_value().map(|v| Ok(v.into_owned()));
    }
    match super::guided::value_of(desc, input, conv) {
        Ok(v) => Ok(Ok(v)),
        // The binding's error with the whole message's path, as the codec reports it.
        Err(super::guided::Fail::Native(e)) => input.to_value().and(Err(e)),
        Err(super::guided::Fail::Convert(e)) => Ok(Err(e)),
    }
}

/// A converter's failure at `path`: `InvalidArgument` for a value of `owner`.
pub(crate) fn failed(owner: &str, target: &str, path: &Path, why: String) -> Error {
    Error::invalid_argument(
        &format!("{owner} value"),
        vec![FieldViolation {
            field: path.render(),
            description: format!("converter for {target} failed: {why}"),
        }],
    )
}
