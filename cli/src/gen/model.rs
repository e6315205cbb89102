//! The generator's view of a schema: one [`Package`] per protobuf package of the files asked
//! for, with its messages (nested ones flattened as `Outer_Inner`, as protoc-gen-go names them),
//! enums and services, each field reduced to the [`Type`] the value mapping gives it
//! (`docs/types.md`), and the `.proto` comments as docs. Every language generator reads this
//! model only, never the descriptors.

use std::collections::{BTreeMap, BTreeSet};

use hms_ffi_core::mapping::{format_of, Target, BUILTIN_FORMATS, BUILTIN_MESSAGES};
use hms_ffi_core::{Schema, StreamingKind};
use prost_reflect::{
    Cardinality, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor,
};

/// The type of a field (or a map key or value) as the value mapping sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Type {
    /// `double` and `float`.
    Float,
    /// `int32`, `sint32`, `sfixed32`.
    Int32,
    /// `uint32`, `fixed32`.
    UInt32,
    /// `int64`, `sint64`, `sfixed64`.
    Int64,
    /// `uint64`, `fixed64`.
    UInt64,
    Bool,
    String,
    Bytes,
    /// An enum, by its local name in the generated package.
    Enum(String),
    /// A message, by its local name in the generated package.
    Message(String),
    Timestamp,
    Duration,
    /// `google.protobuf.Struct`: a string-keyed map of JSON values.
    Struct,
    /// `google.protobuf.Value`: any JSON value.
    JsonValue,
    /// `google.protobuf.ListValue`: a list of JSON values.
    ListValue,
    /// `google.protobuf.Empty`.
    Empty,
    /// A wrapper (`Int64Value`, …): the bare scalar, unset as null.
    Wrapper(Box<Type>),
}

/// How many values a field holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// One value; `presence` when unset is distinct (received as null).
    Single {
        presence: bool,
    },
    Repeated,
    /// `map<key, value>`: the field's `Type` is the value's.
    Map(Type),
}

/// A message field.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub name: String,
    pub ty: Type,
    pub shape: Shape,
    /// The name of the (real, not synthetic) oneof the field belongs to.
    pub oneof: Option<String>,
    pub doc: String,
    /// The built-in converter that makes the field's values native, if one applies (a
    /// `google.type` message's, or a declared format's such as `uuid`).
    pub converted: Option<Target>,
}

impl Field {
    /// The field's doc, with a note naming its oneof when it is in one (the oneof's name
    /// between two `quote`s, as the language's docs mark code).
    pub(crate) fn doc_with_oneof(&self, quote: &str) -> String {
        match &self.oneof {
            Some(o) => crate::gen::docs::join(
                &self.doc,
                &format!("One of the oneof {quote}{o}{quote}: at most one of its fields is set."),
            ),
            None => self.doc.clone(),
        }
    }
}

/// A message, flattened.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub name: String,
    pub full_name: String,
    pub fields: Vec<Field>,
    pub doc: String,
}

/// An enum value.
#[derive(Debug, Clone)]
pub(crate) struct EnumValue {
    pub name: String,
    pub number: i32,
    pub doc: String,
}

/// An enum, flattened.
#[derive(Debug, Clone)]
pub(crate) struct Enum {
    pub name: String,
    pub full_name: String,
    pub values: Vec<EnumValue>,
    pub doc: String,
}

/// A method of a service.
#[derive(Debug, Clone)]
pub(crate) struct Method {
    /// The `.proto` name (`SayHello`).
    pub name: String,
    /// `package.Service/Method`, as the binding's dynamic API names it.
    pub path: String,
    pub input: Type,
    pub output: Type,
    pub kind: StreamingKind,
    pub doc: String,
}

/// A service.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub name: String,
    pub full_name: String,
    pub methods: Vec<Method>,
    pub doc: String,
}

/// Everything generated for one protobuf package.
#[derive(Debug, Clone)]
pub(crate) struct Package {
    /// `demo.v1` (empty for files without a package).
    pub name: String,
    /// The `.proto` files it comes from.
    pub files: Vec<String>,
    pub messages: Vec<Message>,
    pub enums: Vec<Enum>,
    pub services: Vec<Service>,
}

impl Package {
    /// The name of the first value (the zero value) of the enum of this package named `name`.
    pub(crate) fn enum_zero(&self, name: &str) -> Option<&str> {
        let e = self.enums.iter().find(|e| e.name == name)?;
        e.values.first().map(|v| v.name.as_str())
    }

    /// Whether any method of the package's services streams (its file then carries the
    /// stream helpers and imports).
    pub(crate) fn streams(&self) -> bool {
        self.services
            .iter()
            .flat_map(|s| &s.methods)
            .any(|m| m.kind != StreamingKind::Unary)
    }

    /// The package's name with `_` for `.` (`demo_v1`), or `root` for no package.
    pub(crate) fn snake(&self) -> String {
        if self.name.is_empty() {
            "root".to_string()
        } else {
            self.name.replace('.', "_")
        }
    }
}

/// The packages of `files` (names as the schema knows them: `greeter.proto`), in name order.
pub(crate) fn packages(schema: &Schema, files: &[String]) -> Vec<Package> {
    let mut by_name: BTreeMap<String, Vec<FileDescriptor>> = BTreeMap::new();
    for file in schema.pool().files() {
        if files.iter().any(|f| f == file.name()) {
            by_name
                .entry(file.package_name().to_string())
                .or_default()
                .push(file);
        }
    }
    by_name
        .into_iter()
        .map(|(name, files)| package(name, &files))
        .collect()
}

fn package(name: String, files: &[FileDescriptor]) -> Package {
    let mut b = Builder {
        package: name.clone(),
        messages: Vec::new(),
        enums: Vec::new(),
        seen: BTreeSet::new(),
    };
    let mut services = Vec::new();
    for file in files {
        let mut nested: Vec<MessageDescriptor> = file.messages().collect();
        for e in file.enums() {
            b.enumeration(&e);
        }
        let mut next = 0;
        while let Some(m) = nested.get(next).cloned() {
            next += 1;
            nested.extend(m.child_messages());
            for e in m.child_enums() {
                b.enumeration(&e);
            }
            b.message(&m);
        }
        for s in file.services() {
            let methods = s
                .methods()
                .map(|m| Method {
                    path: format!("{}/{}", s.full_name(), m.name()),
                    name: m.name().to_string(),
                    input: b.message_type(&m.input()),
                    output: b.message_type(&m.output()),
                    kind: kind(m.is_client_streaming(), m.is_server_streaming()),
                    doc: crate::gen::docs::of(&m.parent_file(), m.path()),
                })
                .collect();
            services.push(Service {
                name: s.name().to_string(),
                full_name: s.full_name().to_string(),
                methods,
                doc: crate::gen::docs::of(file, s.path()),
            });
        }
    }
    Package {
        name,
        files: files.iter().map(|f| f.name().to_string()).collect(),
        messages: b.messages,
        enums: b.enums,
        services,
    }
}

fn kind(client: bool, server: bool) -> StreamingKind {
    match (client, server) {
        (false, false) => StreamingKind::Unary,
        (false, true) => StreamingKind::ServerStreaming,
        (true, false) => StreamingKind::ClientStreaming,
        (true, true) => StreamingKind::Bidi,
    }
}

struct Builder {
    package: String,
    messages: Vec<Message>,
    enums: Vec<Enum>,
    /// Full names of the types generated or waiting to be.
    seen: BTreeSet<String>,
}

impl Builder {
    /// The local name of a type: its path under the package with `_` for `.`, or its whole
    /// full name so mangled when it comes from another package.
    fn local(&self, full_name: &str, package: &str) -> String {
        let rest = if package == self.package {
            full_name
                .strip_prefix(package)
                .map(|r| r.trim_start_matches('.'))
                .unwrap_or(full_name)
        } else {
            full_name
        };
        rest.replace('.', "_")
    }

    fn message(&mut self, m: &MessageDescriptor) {
        // A message of another package that a field names is generated here too, under a
        // mangled name; `seen` stops the recursion of a message that contains itself.
        if m.is_map_entry() || !self.seen.insert(m.full_name().to_string()) {
            return;
        }
        let fields = m.fields().map(|f| self.field(&f)).collect();
        self.messages.push(Message {
            name: self.local(m.full_name(), m.package_name()),
            full_name: m.full_name().to_string(),
            fields,
            doc: crate::gen::docs::of(&m.parent_file(), m.path()),
        });
    }

    fn enumeration(&mut self, e: &EnumDescriptor) {
        if self.enums.iter().any(|x| x.full_name == e.full_name()) {
            return;
        }
        let file = e.parent_file();
        self.enums.push(Enum {
            name: self.local(e.full_name(), e.package_name()),
            full_name: e.full_name().to_string(),
            values: e
                .values()
                .map(|v| EnumValue {
                    name: v.name().to_string(),
                    number: v.number(),
                    doc: crate::gen::docs::of(&file, v.path()),
                })
                .collect(),
            doc: crate::gen::docs::of(&file, e.path()),
        });
    }

    fn field(&mut self, f: &FieldDescriptor) -> Field {
        let oneof = f
            .containing_oneof()
            .filter(|o| !o.is_synthetic())
            .map(|o| o.name().to_string());
        let (ty, shape) = if f.is_map() {
            let Kind::Message(entry) = f.kind() else {
                unreachable!("a map field's kind is its entry message")
            };
            let key = self.kind(&entry.map_entry_key_field());
            (self.kind(&entry.map_entry_value_field()), Shape::Map(key))
        } else if f.cardinality() == Cardinality::Repeated {
            (self.kind(f), Shape::Repeated)
        } else {
            let presence = f.supports_presence();
            (self.kind(f), Shape::Single { presence })
        };
        Field {
            converted: builtin_converter(f),
            name: f.name().to_string(),
            ty,
            shape,
            oneof,
            doc: crate::gen::docs::of(&f.parent_file(), f.path()),
        }
    }

    fn kind(&mut self, f: &FieldDescriptor) -> Type {
        match f.kind() {
            Kind::Double | Kind::Float => Type::Float,
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Type::Int32,
            Kind::Uint32 | Kind::Fixed32 => Type::UInt32,
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Type::Int64,
            Kind::Uint64 | Kind::Fixed64 => Type::UInt64,
            Kind::Bool => Type::Bool,
            Kind::String => Type::String,
            Kind::Bytes => Type::Bytes,
            Kind::Enum(e) => {
                self.enumeration(&e);
                Type::Enum(self.local(e.full_name(), e.package_name()))
            }
            Kind::Message(m) => self.message_type(&m),
        }
    }

    /// The type of a message field or a method's input or output: a well-known type's own
    /// form, or a generated message (queued when it is not generated yet).
    fn message_type(&mut self, m: &MessageDescriptor) -> Type {
        if let Some(t) = well_known(m.full_name()) {
            return t;
        }
        self.message(m);
        Type::Message(self.local(m.full_name(), m.package_name()))
    }
}

/// The built-in converter (`hms_ffi_core::mapping::convert`) that applies to a field's values:
/// its (map value's) message type's, or its declared format's.
fn builtin_converter(f: &FieldDescriptor) -> Option<Target> {
    let kind = match f.kind() {
        Kind::Message(entry) if f.is_map() => entry.map_entry_value_field().kind(),
        other => other,
    };
    match kind {
        Kind::Message(m) if BUILTIN_MESSAGES.contains(&m.full_name()) => {
            Some(Target::Message(m.full_name().to_string()))
        }
        Kind::String if !f.is_map() => format_of(f)
            .filter(|x| BUILTIN_FORMATS.contains(&x.as_str()))
            .map(Target::Format),
        _ => None,
    }
}

/// The well-known types the value mapping gives a form of their own.
fn well_known(full_name: &str) -> Option<Type> {
    let wrapped = |t: Type| Some(Type::Wrapper(Box::new(t)));
    match full_name {
        "google.protobuf.Timestamp" => Some(Type::Timestamp),
        "google.protobuf.Duration" => Some(Type::Duration),
        "google.protobuf.Struct" => Some(Type::Struct),
        "google.protobuf.Value" => Some(Type::JsonValue),
        "google.protobuf.ListValue" => Some(Type::ListValue),
        "google.protobuf.Empty" => Some(Type::Empty),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => wrapped(Type::Float),
        "google.protobuf.Int64Value" => wrapped(Type::Int64),
        "google.protobuf.UInt64Value" => wrapped(Type::UInt64),
        "google.protobuf.Int32Value" => wrapped(Type::Int32),
        "google.protobuf.UInt32Value" => wrapped(Type::UInt32),
        "google.protobuf.BoolValue" => wrapped(Type::Bool),
        "google.protobuf.StringValue" => wrapped(Type::String),
        "google.protobuf.BytesValue" => wrapped(Type::Bytes),
        _ => None,
    }
}
