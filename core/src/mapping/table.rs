//! What the direct wire reader needs of a message type, computed once per type and thread:
//! its fields in declaration order with their number, kind, shape, presence and default, and
//! an index by field number. `prost_reflect` answers each of these by looking through the
//! descriptor pool on every call (`FieldDescriptor::kind`, `default_value`, `is_map`… were a
//! third of an inproc call's time); a table answers them from a slice.

use std::cell::RefCell;
use std::sync::Arc;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor, Value as PValue};

use super::convert::{Converters, Native};
use super::wkt;
use crate::metrics::FastMap;

/// One field of a [`Table`].
pub(super) struct Field {
    pub(super) fd: FieldDescriptor,
    pub(super) name: String,
    pub(super) kind: Kind,
    pub(super) shape: Shape,
    /// Unset, it reads as null (messages, `optional`, oneof members, proto2 fields).
    pub(super) presence: bool,
    /// Its oneof among the table's (`None` for none, or a proto3 `optional`'s own).
    pub(super) oneof: Option<usize>,
    /// What it reads as when unset and without presence.
    pub(super) default: PValue,
    /// A string field's declared format (`[(hms.ffi.v1.format) = "uuid"]`).
    pub(super) format: Option<String>,
}

/// Singular, repeated, or a map (with its entry's key and value kinds).
pub(super) enum Shape {
    Single,
    List,
    Map(Kind, Kind),
}

/// A message type's fields.
pub(super) struct Table {
    desc: MessageDescriptor,
    pub(super) fields: Vec<Field>,
    /// Field number → index in `fields`, sorted by number.
    by_number: Vec<(u32, usize)>,
    /// A well-known type the general path decodes (`Timestamp`, `Struct`, wrappers…).
    pub(super) well_known: bool,
    /// Declared in a proto3 file (the reader leaves proto2's closed enums and defaults to the
    /// general path).
    pub(super) proto3: bool,
}

impl Table {
    fn new(desc: &MessageDescriptor) -> Table {
        let name = desc.full_name();
        let well_known = matches!(
            name,
            "google.protobuf.Timestamp"
                | "google.protobuf.Duration"
                | "google.protobuf.Struct"
                | "google.protobuf.ListValue"
                | "google.protobuf.Value"
        ) || wkt::WRAPPERS.contains(&name);
        let oneofs: Vec<String> = desc
            .oneofs()
            .filter(|o| !o.is_synthetic())
            .map(|o| o.full_name().to_string())
            .collect();
        let fields: Vec<Field> = desc
            .fields()
            .map(|fd| {
                let kind = fd.kind();
                let shape = if fd.is_map() {
                    match &kind {
                        Kind::Message(entry) => Shape::Map(
                            entry.map_entry_key_field().kind(),
                            entry.map_entry_value_field().kind(),
                        ),
                        _ => Shape::Single,
                    }
                } else if fd.is_list() {
                    Shape::List
                } else {
                    Shape::Single
                };
                let oneof = fd.containing_oneof().and_then(|o| {
                    let name = o.full_name().to_string();
                    oneofs.iter().position(|x| *x == name)
                });
                let format = match kind {
                    Kind::String => super::convert::format_of(&fd),
                    _ => None,
                };
                Field {
                    format,
                    name: fd.name().to_string(),
                    presence: fd.supports_presence() && !fd.is_list() && !fd.is_map(),
                    default: fd.default_value(),
                    kind,
                    shape,
                    oneof,
                    fd,
                }
            })
            .collect();
        let mut by_number: Vec<(u32, usize)> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.fd.number(), i))
            .collect();
        by_number.sort_unstable();
        Table {
            desc: desc.clone(),
            fields,
            by_number,
            well_known,
            proto3: desc.parent_file().syntax() == prost_reflect::Syntax::Proto3,
        }
    }

    /// The converter of field `i`'s values, if `conv` has one: its message type's, or its
    /// declared format's (a map's values: their message type's).
    pub(super) fn converter<'c>(
        &self,
        i: usize,
        conv: Option<&'c Converters>,
    ) -> Option<&'c Native> {
        let (c, f) = (conv?, &self.fields[i]);
        let kind = match &f.shape {
            Shape::Map(_, value) => value,
            _ => &f.kind,
        };
        match kind {
            Kind::Message(m) => c.for_message(m),
            Kind::String => c.for_format(f.format.as_deref()?),
            _ => None,
        }
    }

    /// Whether field `i`, unset, reads as null though it has no presence: a singular string
    /// field whose declared format has a converter in `conv` (its default, empty text, is no
    /// value of the native type).
    pub(super) fn unset_is_null(&self, i: usize, conv: Option<&Converters>) -> bool {
        let f = &self.fields[i];
        matches!(f.shape, Shape::Single) && f.format.is_some() && self.converter(i, conv).is_some()
    }

    /// The index of the field numbered `number`.
    pub(super) fn index(&self, number: u32) -> Option<usize> {
        self.by_number
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|i| self.by_number[i].1)
    }
}

/// Tables kept per thread; a process that keeps making new schemas starts afresh past this.
const MAX_TABLES: usize = 4096;

thread_local! {
    /// By full name, one per descriptor pool (a table is used only for the very descriptor it
    /// was made of): an `inproc://` call walks the client's and the server's descriptors of
    /// the same types on one thread.
    static TABLES: RefCell<FastMap<String, Vec<Arc<Table>>>> = RefCell::new(FastMap::default());
}

/// The table of a message the one-pass reader and writer walk with `budget` levels of nesting
/// left; `None` (the general path's) at the limit and for a type from a proto2 file.
pub(super) fn walkable(desc: &MessageDescriptor, budget: usize) -> Option<Arc<Table>> {
    if budget == 0 {
        return None;
    }
    let t = table(desc);
    t.proto3.then_some(t)
}

/// The table of `desc`, built on first use on this thread.
pub(super) fn table(desc: &MessageDescriptor) -> Arc<Table> {
    TABLES.with(|tables| {
        let mut tables = tables.borrow_mut();
        if let Some(t) = tables
            .get(desc.full_name())
            .and_then(|same_name| same_name.iter().find(|t| t.desc == *desc))
        {
            return t.clone();
        }
        if tables.len() >= MAX_TABLES {
            tables.clear();
        }
        let t = Arc::new(Table::new(desc));
        let same_name = tables.entry(desc.full_name().to_string()).or_default();
        // A name made again and again (new schemas of one program) keeps its newest few.
        if same_name.len() >= 8 {
            same_name.remove(0);
        }
        same_name.push(t.clone());
        t
    })
}
