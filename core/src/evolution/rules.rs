//! The rule table: every rule of `buf breaking` (buf 1.75, configuration v2) with buf's id, the
//! categories buf puts it in, and what it promises.
//!
//! Rules run whatever the category; [`super::check`] keeps the findings of the rules in the
//! category asked for, so a rule's verdict never depends on the category it runs under (as in
//! buf, where a category is only a set of rule ids).

use serde::Serialize;

/// The `FILE` category bit.
pub(super) const FILE: u8 = 1;
/// The `PACKAGE` category bit.
pub(super) const PACKAGE: u8 = 2;
/// The `WIRE_JSON` category bit.
pub(super) const WIRE_JSON: u8 = 4;
/// The `WIRE` category bit.
pub(super) const WIRE: u8 = 8;

/// One breaking rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// buf's rule id (`FIELD_NO_DELETE`).
    pub id: &'static str,
    #[serde(skip)]
    bits: u8,
    /// What the rule promises, as a phrase.
    pub purpose: &'static str,
}

impl Rule {
    const fn new(id: &'static str, bits: u8, purpose: &'static str) -> Rule {
        Rule { id, bits, purpose }
    }

    /// The categories the rule belongs to, strictest first.
    pub fn categories(&self) -> Vec<super::Category> {
        super::Category::ALL
            .into_iter()
            .filter(|c| self.bits & c.bit() != 0)
            .collect()
    }
}

/// The category bits of a rule id (0 for an unknown id).
pub(super) fn categories(id: &str) -> u8 {
    RULES.iter().find(|r| r.id == id).map_or(0, |r| r.bits)
}

/// Every rule, in the order `buf config ls-breaking-rules` lists them.
pub static RULES: &[Rule] = &[
    Rule::new(
        "EXTENSION_NO_DELETE",
        FILE,
        "an extension stays in its file",
    ),
    Rule::new("SERVICE_NO_DELETE", FILE, "a service stays in its file"),
    Rule::new("ENUM_NO_DELETE", FILE, "an enum stays in its file"),
    Rule::new("FILE_NO_DELETE", FILE, "a file is not deleted"),
    Rule::new("MESSAGE_NO_DELETE", FILE, "a message stays in its file"),
    Rule::new(
        "ENUM_SAME_TYPE",
        FILE | PACKAGE,
        "an enum stays open or closed",
    ),
    Rule::new(
        "FIELD_SAME_CARDINALITY",
        FILE | PACKAGE,
        "a field keeps its cardinality (implicit or explicit presence, required, repeated, map)",
    ),
    Rule::new(
        "FIELD_SAME_CPP_STRING_TYPE",
        FILE | PACKAGE,
        "a string or bytes field keeps its C++ string type (ctype)",
    ),
    Rule::new(
        "FIELD_SAME_JAVA_UTF8_VALIDATION",
        FILE | PACKAGE,
        "a string field keeps its Java UTF-8 check (java_string_check_utf8)",
    ),
    Rule::new(
        "FIELD_SAME_JSTYPE",
        FILE | PACKAGE,
        "a 64-bit integer field keeps its jstype option",
    ),
    Rule::new(
        "FIELD_SAME_UTF8_VALIDATION",
        FILE | PACKAGE,
        "a string field keeps its UTF-8 validation (proto3 checks, proto2 does not)",
    ),
    Rule::new(
        "FILE_SAME_CC_ENABLE_ARENAS",
        FILE | PACKAGE,
        "a file keeps its cc_enable_arenas option",
    ),
    Rule::new(
        "FILE_SAME_CC_GENERIC_SERVICES",
        FILE | PACKAGE,
        "a file keeps its cc_generic_services option",
    ),
    Rule::new(
        "FILE_SAME_CSHARP_NAMESPACE",
        FILE | PACKAGE,
        "a file keeps its csharp_namespace option",
    ),
    Rule::new(
        "FILE_SAME_GO_PACKAGE",
        FILE | PACKAGE,
        "a file keeps its go_package option",
    ),
    Rule::new(
        "FILE_SAME_JAVA_GENERIC_SERVICES",
        FILE | PACKAGE,
        "a file keeps its java_generic_services option",
    ),
    Rule::new(
        "FILE_SAME_JAVA_MULTIPLE_FILES",
        FILE | PACKAGE,
        "a file keeps its java_multiple_files option",
    ),
    Rule::new(
        "FILE_SAME_JAVA_OUTER_CLASSNAME",
        FILE | PACKAGE,
        "a file keeps its java_outer_classname option",
    ),
    Rule::new(
        "FILE_SAME_JAVA_PACKAGE",
        FILE | PACKAGE,
        "a file keeps its java_package option",
    ),
    Rule::new(
        "FILE_SAME_OBJC_CLASS_PREFIX",
        FILE | PACKAGE,
        "a file keeps its objc_class_prefix option",
    ),
    Rule::new(
        "FILE_SAME_OPTIMIZE_FOR",
        FILE | PACKAGE,
        "a file keeps its optimize_for option",
    ),
    Rule::new(
        "FILE_SAME_PHP_CLASS_PREFIX",
        FILE | PACKAGE,
        "a file keeps its php_class_prefix option",
    ),
    Rule::new(
        "FILE_SAME_PHP_METADATA_NAMESPACE",
        FILE | PACKAGE,
        "a file keeps its php_metadata_namespace option",
    ),
    Rule::new(
        "FILE_SAME_PHP_NAMESPACE",
        FILE | PACKAGE,
        "a file keeps its php_namespace option",
    ),
    Rule::new(
        "FILE_SAME_PY_GENERIC_SERVICES",
        FILE | PACKAGE,
        "a file keeps its py_generic_services option",
    ),
    Rule::new(
        "FILE_SAME_RUBY_PACKAGE",
        FILE | PACKAGE,
        "a file keeps its ruby_package option",
    ),
    Rule::new(
        "FILE_SAME_SWIFT_PREFIX",
        FILE | PACKAGE,
        "a file keeps its swift_prefix option",
    ),
    Rule::new(
        "RPC_NO_DELETE",
        FILE | PACKAGE,
        "a method stays in its service",
    ),
    Rule::new(
        "ENUM_VALUE_NO_DELETE",
        FILE | PACKAGE,
        "an enum value number stays in its enum",
    ),
    Rule::new(
        "EXTENSION_MESSAGE_NO_DELETE",
        FILE | PACKAGE,
        "a message keeps every extension range",
    ),
    Rule::new(
        "FIELD_NO_DELETE",
        FILE | PACKAGE,
        "a field number stays in its message",
    ),
    Rule::new(
        "FIELD_SAME_TYPE",
        FILE | PACKAGE,
        "a field keeps its type (and its message or enum type name)",
    ),
    Rule::new(
        "FILE_SAME_SYNTAX",
        FILE | PACKAGE,
        "a file keeps its syntax",
    ),
    Rule::new(
        "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR",
        FILE | PACKAGE,
        "no_standard_descriptor_accessor does not turn on",
    ),
    Rule::new(
        "ONEOF_NO_DELETE",
        FILE | PACKAGE,
        "a oneof stays in its message",
    ),
    Rule::new(
        "ENUM_SAME_JSON_FORMAT",
        FILE | PACKAGE | WIRE_JSON,
        "an enum keeps full JSON support",
    ),
    Rule::new(
        "ENUM_VALUE_SAME_NAME",
        FILE | PACKAGE | WIRE_JSON,
        "an enum value number keeps every name it had",
    ),
    Rule::new(
        "FIELD_SAME_JSON_NAME",
        FILE | PACKAGE | WIRE_JSON,
        "a field keeps its JSON name",
    ),
    Rule::new(
        "FIELD_SAME_NAME",
        FILE | PACKAGE | WIRE_JSON,
        "a field number keeps its name",
    ),
    Rule::new(
        "MESSAGE_SAME_JSON_FORMAT",
        FILE | PACKAGE | WIRE_JSON,
        "a message keeps full JSON support",
    ),
    Rule::new(
        "FIELD_SAME_DEFAULT",
        FILE | PACKAGE | WIRE_JSON | WIRE,
        "a field keeps its default value",
    ),
    Rule::new(
        "FIELD_SAME_ONEOF",
        FILE | PACKAGE | WIRE_JSON | WIRE,
        "a field stays in (or out of) the same oneof",
    ),
    Rule::new(
        "FILE_SAME_PACKAGE",
        FILE | PACKAGE | WIRE_JSON | WIRE,
        "a file keeps its package",
    ),
    Rule::new(
        "MESSAGE_SAME_REQUIRED_FIELDS",
        FILE | PACKAGE | WIRE_JSON | WIRE,
        "a message neither gains nor loses required fields",
    ),
    Rule::new(
        "RESERVED_ENUM_NO_DELETE",
        FILE | PACKAGE | WIRE_JSON | WIRE,
        "an enum keeps its reserved numbers and names",
    ),
    Rule::new(
        "RESERVED_MESSAGE_NO_DELETE",
        FILE | PACKAGE | WIRE_JSON | WIRE,
        "a message keeps its reserved numbers and names",
    ),
    Rule::new(
        "RPC_SAME_CLIENT_STREAMING",
        FILE | PACKAGE | WIRE_JSON | WIRE,
        "a method keeps its client streaming",
    ),
    Rule::new(
        "RPC_SAME_IDEMPOTENCY_LEVEL",
        FILE | PACKAGE | WIRE_JSON | WIRE,
        "a method keeps its idempotency_level",
    ),
    Rule::new(
        "RPC_SAME_REQUEST_TYPE",
        FILE | PACKAGE | WIRE_JSON | WIRE,
        "a method keeps its request type",
    ),
    Rule::new(
        "RPC_SAME_RESPONSE_TYPE",
        FILE | PACKAGE | WIRE_JSON | WIRE,
        "a method keeps its response type",
    ),
    Rule::new(
        "RPC_SAME_SERVER_STREAMING",
        FILE | PACKAGE | WIRE_JSON | WIRE,
        "a method keeps its server streaming",
    ),
    Rule::new(
        "PACKAGE_ENUM_NO_DELETE",
        PACKAGE,
        "an enum stays in its package",
    ),
    Rule::new(
        "PACKAGE_EXTENSION_NO_DELETE",
        PACKAGE,
        "an extension stays in its package",
    ),
    Rule::new(
        "PACKAGE_MESSAGE_NO_DELETE",
        PACKAGE,
        "a message stays in its package",
    ),
    Rule::new("PACKAGE_NO_DELETE", PACKAGE, "a package is not deleted"),
    Rule::new(
        "PACKAGE_SERVICE_NO_DELETE",
        PACKAGE,
        "a service stays in its package",
    ),
    Rule::new(
        "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
        WIRE_JSON,
        "an enum value is deleted only with its names reserved",
    ),
    Rule::new(
        "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
        WIRE_JSON,
        "a field is deleted only with its name reserved",
    ),
    Rule::new(
        "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
        WIRE_JSON,
        "a field's cardinality changes only within what the wire and JSON read alike",
    ),
    Rule::new(
        "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
        WIRE_JSON,
        "a field's type changes only within what the wire and JSON read alike",
    ),
    Rule::new(
        "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
        WIRE_JSON | WIRE,
        "an enum value is deleted only with its number reserved",
    ),
    Rule::new(
        "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
        WIRE_JSON | WIRE,
        "a field is deleted only with its number reserved",
    ),
    Rule::new(
        "FIELD_WIRE_COMPATIBLE_CARDINALITY",
        WIRE,
        "a field's cardinality changes only within what the wire reads alike",
    ),
    Rule::new(
        "FIELD_WIRE_COMPATIBLE_TYPE",
        WIRE,
        "a field's type changes only within what the wire reads alike",
    ),
];
