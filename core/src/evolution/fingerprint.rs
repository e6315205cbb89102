//! An [`Image`] as a serialized `FileDescriptorSet` and back, and its content fingerprint.
//!
//! The fingerprint is what the schema registry (`crate::registry`) keys versions by: the
//! SHA-256 of the *normalized* set, written `sha256:<64 hex digits>`. Normalized means:
//!
//! - every file of the set (imports included), sorted by file name, each once;
//! - each file as `google.protobuf.FileDescriptorProto` without `source_code_info` (comments,
//!   spacing and places do not change a fingerprint);
//! - encoded by prost in field-number order; fields prost-types does not know (custom options,
//!   which are extensions of the descriptor options) are not part of it.
//!
//! Two sets that differ only in file order, comments or layout have the same fingerprint; any
//! change to a name, number, type, option or import gives another.

use std::collections::BTreeSet;

use prost::Message;
use prost_types::FileDescriptorSet;
use sha2::{Digest, Sha256};

use super::image::{spans_of, Image};
use crate::error::{Code, Error, Result};

/// The reason of an error for a `FileDescriptorSet` that does not decode or does not resolve.
pub const SCHEMA_INVALID: &str = "SCHEMA_INVALID";

impl Image {
    /// The image of a serialized `FileDescriptorSet` (as `protoc -o`, `buf build -o` or
    /// [`Image::to_descriptor_set`] write it); places come from its source info when it has
    /// some. A set that does not decode, is empty, names a file twice or refers to a type or
    /// import it lacks is `InvalidArgument` with reason [`SCHEMA_INVALID`].
    pub fn from_descriptor_set(bytes: &[u8]) -> Result<Image> {
        let invalid = |what: String| {
            Error::new(
                Code::InvalidArgument,
                format!("invalid FileDescriptorSet: {what}"),
            )
            .with_reason(SCHEMA_INVALID)
        };
        let set = FileDescriptorSet::decode(bytes).map_err(|e| invalid(e.to_string()))?;
        if set.file.is_empty() {
            return Err(invalid("it holds no file".into()));
        }
        let mut names = BTreeSet::new();
        for f in &set.file {
            if f.name().is_empty() {
                return Err(invalid("a file has no name".into()));
            }
            if !names.insert(f.name()) {
                return Err(invalid(format!("file {} appears twice", f.name())));
            }
        }
        // Resolves every type name and import, as a server loading the set would.
        prost_reflect::DescriptorPool::decode(bytes).map_err(|e| invalid(e.to_string()))?;
        let mut files = set.file;
        files.sort_by(|a, b| a.name().cmp(b.name()));
        let spans = files.iter().map(spans_of).collect();
        Ok(Image { files, spans })
    }

    /// The image's files (imports included, sorted by name, with source info) as a serialized
    /// `FileDescriptorSet`.
    pub fn to_descriptor_set(&self) -> Vec<u8> {
        FileDescriptorSet {
            file: self.files.clone(),
        }
        .encode_to_vec()
    }

    /// The content fingerprint, `sha256:<hex>` of the normalized set (see the module docs).
    pub fn fingerprint(&self) -> String {
        let mut files = self.files.clone();
        for f in &mut files {
            f.source_code_info = None;
        }
        let digest = Sha256::digest(FileDescriptorSet { file: files }.encode_to_vec());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }

    /// The packages of the image's own files, leaving out the well-known types
    /// (`google/protobuf/*.proto`), sorted, each once.
    pub fn packages(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self
            .files
            .iter()
            .filter(|f| !f.name().starts_with("google/protobuf/"))
            .map(|f| f.package())
            .collect();
        set.into_iter().map(str::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str =
        "syntax = \"proto3\";\npackage shop.v1;\nmessage Item { string name = 1; }\n";

    #[test]
    fn the_fingerprint_ignores_comments_and_layout_but_not_content() {
        let a = Image::from_sources(&[("shop.proto", SHOP)]).expect("compiles");
        let spaced = format!("// a comment\n\n{SHOP}");
        let b = Image::from_sources(&[("shop.proto", &spaced)]).expect("compiles");
        let changed = SHOP.replace("name = 1", "title = 1");
        let c = Image::from_sources(&[("shop.proto", &changed)]).expect("compiles");
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert!(a.fingerprint().starts_with("sha256:"));
        assert_eq!(a.fingerprint().len(), "sha256:".len() + 64);
    }

    #[test]
    fn a_descriptor_set_round_trips_with_its_places() {
        let a = Image::from_sources(&[("shop.proto", SHOP)]).expect("compiles");
        let b = Image::from_descriptor_set(&a.to_descriptor_set()).expect("decodes");
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(b.packages(), vec!["shop.v1".to_string()]);
        let changed = SHOP.replace("string name", "int64 name");
        let c = Image::from_sources(&[("shop.proto", &changed)]).expect("compiles");
        let found = super::super::check(&b, &c, super::super::Category::Wire);
        assert_eq!(found[0].rule, "FIELD_WIRE_COMPATIBLE_TYPE");
        assert_eq!(found[0].line, Some(3));
    }

    #[test]
    fn malformed_sets_are_invalid_argument() {
        let garbage = Image::from_descriptor_set(b"\xff\xff\xff").expect_err("garbage");
        assert_eq!(garbage.code(), Code::InvalidArgument);
        assert_eq!(
            garbage
                .details()
                .error_info
                .as_ref()
                .map(|i| i.reason.as_str()),
            Some(SCHEMA_INVALID)
        );
        let empty = Image::from_descriptor_set(&[]).expect_err("empty");
        assert_eq!(empty.code(), Code::InvalidArgument);
        // A field of a type the set does not define.
        let dangling = FileDescriptorSet {
            file: vec![prost_types::FileDescriptorProto {
                name: Some("x.proto".into()),
                package: Some("x".into()),
                message_type: vec![prost_types::DescriptorProto {
                    name: Some("M".into()),
                    field: vec![prost_types::FieldDescriptorProto {
                        name: Some("f".into()),
                        number: Some(1),
                        label: Some(1),
                        r#type: Some(11),
                        type_name: Some(".x.Missing".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let err = Image::from_descriptor_set(&dangling.encode_to_vec()).expect_err("dangling");
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("Missing"), "{}", err.message());
    }
}
