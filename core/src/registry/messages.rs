//! The messages of `hms/ffi/v1/registry.proto` as prost types, which the registry's handlers
//! and its Rust client encode and decode (a test checks them against the `.proto`).

use prost::Message;

/// `hms.ffi.v1.RegisterRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct RegisterRequest {
    /// The subject (a package of the set); empty: the set's one package.
    #[prost(string, tag = "1")]
    pub subject: String,
    /// A serialized `FileDescriptorSet`, imports included.
    #[prost(bytes = "vec", tag = "2")]
    pub descriptor_set: Vec<u8>,
}

/// `hms.ffi.v1.RegisterResponse`.
#[derive(Clone, PartialEq, Message)]
pub struct RegisterResponse {
    /// The version registered, or the existing one with the same content.
    #[prost(message, optional, tag = "1")]
    pub version: Option<SchemaVersion>,
    /// False when the same content was already registered under the subject.
    #[prost(bool, tag = "2")]
    pub created: bool,
}

/// `hms.ffi.v1.SchemaVersion`: one immutable version of a subject.
#[derive(Clone, PartialEq, Message)]
pub struct SchemaVersion {
    /// The subject.
    #[prost(string, tag = "1")]
    pub subject: String,
    /// 1, 2, … in registration order.
    #[prost(uint32, tag = "2")]
    pub version: u32,
    /// `sha256:<hex>` of the normalized descriptor set.
    #[prost(string, tag = "3")]
    pub fingerprint: String,
    /// The descriptor set as registered (empty in `ListVersions` replies).
    #[prost(bytes = "vec", tag = "4")]
    pub descriptor_set: Vec<u8>,
    /// Whether the version was deprecated.
    #[prost(bool, tag = "5")]
    pub deprecated: bool,
    /// Why, when it was.
    #[prost(string, tag = "6")]
    pub deprecation_reason: String,
    /// When it was registered.
    #[prost(message, optional, tag = "7")]
    pub created_at: Option<prost_types::Timestamp>,
}

/// `hms.ffi.v1.GetVersionRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct GetVersionRequest {
    /// The subject.
    #[prost(string, tag = "1")]
    pub subject: String,
    /// The version; 0 for the latest.
    #[prost(uint32, tag = "2")]
    pub version: u32,
    /// When set, the version with this fingerprint.
    #[prost(string, tag = "3")]
    pub fingerprint: String,
}

/// `hms.ffi.v1.ListSubjectsRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ListSubjectsRequest {}

/// `hms.ffi.v1.SubjectInfo`.
#[derive(Clone, PartialEq, Message)]
pub struct SubjectInfo {
    /// The subject.
    #[prost(string, tag = "1")]
    pub subject: String,
    /// Its newest version.
    #[prost(uint32, tag = "2")]
    pub latest_version: u32,
    /// Its compatibility mode.
    #[prost(string, tag = "3")]
    pub mode: String,
    /// Its rule category.
    #[prost(string, tag = "4")]
    pub category: String,
}

/// `hms.ffi.v1.ListSubjectsResponse`.
#[derive(Clone, PartialEq, Message)]
pub struct ListSubjectsResponse {
    /// Every subject, by name.
    #[prost(message, repeated, tag = "1")]
    pub subjects: Vec<SubjectInfo>,
}

/// `hms.ffi.v1.ListVersionsRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ListVersionsRequest {
    /// The subject.
    #[prost(string, tag = "1")]
    pub subject: String,
}

/// `hms.ffi.v1.ListVersionsResponse`.
#[derive(Clone, PartialEq, Message)]
pub struct ListVersionsResponse {
    /// The versions, oldest first, without descriptor sets.
    #[prost(message, repeated, tag = "1")]
    pub versions: Vec<SchemaVersion>,
}

/// `hms.ffi.v1.DeprecateRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct DeprecateRequest {
    /// The subject.
    #[prost(string, tag = "1")]
    pub subject: String,
    /// The version to deprecate.
    #[prost(uint32, tag = "2")]
    pub version: u32,
    /// Why.
    #[prost(string, tag = "3")]
    pub reason: String,
}

/// `hms.ffi.v1.GetModeRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct GetModeRequest {
    /// The subject.
    #[prost(string, tag = "1")]
    pub subject: String,
}

/// `hms.ffi.v1.SetModeRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct SetModeRequest {
    /// The subject.
    #[prost(string, tag = "1")]
    pub subject: String,
    /// The compatibility mode; empty: unchanged.
    #[prost(string, tag = "2")]
    pub mode: String,
    /// The rule category; empty: unchanged.
    #[prost(string, tag = "3")]
    pub category: String,
}

/// `hms.ffi.v1.SubjectConfig`.
#[derive(Clone, PartialEq, Message)]
pub struct SubjectConfig {
    /// The subject.
    #[prost(string, tag = "1")]
    pub subject: String,
    /// The compatibility mode.
    #[prost(string, tag = "2")]
    pub mode: String,
    /// The rule category.
    #[prost(string, tag = "3")]
    pub category: String,
}
