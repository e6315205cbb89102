//! Well-known types: RFC 3339 timestamps and protobuf-JSON durations (defined with
//! [`Value`](crate::value::Value) in [`value::time`](crate::value::time) and re-exported here),
//! and the wrapper types.

pub use crate::value::time::*;

/// The wrapper types (`google.protobuf.Int64Value`, …): one field `value`, shown as the plain value.
pub const WRAPPERS: [&str; 9] = [
    "google.protobuf.DoubleValue",
    "google.protobuf.FloatValue",
    "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.Int32Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue",
    "google.protobuf.StringValue",
    "google.protobuf.BytesValue",
];
