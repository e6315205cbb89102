//! The message type the one-pass reader's and writer's tests use: every shape of field.

use prost_reflect::MessageDescriptor;

use crate::schema::Schema;
use crate::value::Value;

const PROTO: &str = r#"syntax = "proto3"; package t.v1;
    import "google/protobuf/timestamp.proto";
    enum Color { COLOR_UNSET = 0; RED = 1; }
    message Inner { string s = 1; repeated sint64 z = 2; }
    message All {
      int32 i32 = 1; int64 i64 = 2; uint64 u64 = 3; sint32 s32 = 4; fixed64 f64 = 5;
      double d = 6; float f = 7; bool b = 8; string text = 9; bytes raw = 10; Color color = 11;
      Inner inner = 12; repeated int32 packed = 13; repeated Inner inners = 14;
      map<string, int64> counts = 15; map<int32, Inner> by_id = 16;
      oneof pick { string name = 17; int32 number = 18; }
      optional int32 maybe = 19; google.protobuf.Timestamp at = 20;
    }"#;

/// `t.v1.All`.
pub(super) fn all() -> MessageDescriptor {
    Schema::from_source("t.proto", PROTO)
        .unwrap()
        .message("t.v1.All")
        .unwrap()
}

/// A value from the conformance notation.
pub(super) fn value(text: &str) -> Value {
    crate::mapping::notation::from_text(text).unwrap()
}

/// A value setting every field of `All` (`by_id` with text keys, as the notation has them).
pub(super) const EVERY_FIELD: &str = r#"{"i32": -5, "i64": -9000000000,
    "u64": {"$int": "18446744073709551615"}, "s32": -7, "f64": 3, "d": 1.5, "f": 0.25,
    "b": true, "text": "héllo", "raw": {"$bytes": "AAEC"}, "color": "RED",
    "inner": {"s": "x", "z": [-1, 2]}, "packed": [1, -2, 3], "inners": [{"s": "a"}, {}],
    "counts": {"b": 2, "a": 1}, "by_id": {"7": {"s": "seven"}, "-1": {}},
    "number": 4, "maybe": 0, "at": {"$timestamp": "2026-12-06T00:00:00Z"}}"#;
