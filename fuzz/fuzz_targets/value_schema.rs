//! Protobuf (first byte even) or JSON (odd) bytes from a peer into a value of the conformance
//! schema's richest message (maps, oneofs, recursion, well-known types), then back out:
//! nothing may panic.
#![no_main]

#[path = "common.rs"]
mod common;

use hms_ffi_core::Codec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((first, bytes)) = data.split_first() else {
        return;
    };
    let codec = if first % 2 == 0 { Codec::Proto } else { Codec::Json };
    let desc = common::schema()
        .message("hms.conformance.v1.AllTypes")
        .expect("AllTypes");
    if let Ok(v) = codec.decode(Some(&desc), bytes, 64) {
        let _ = codec.encode(Some(&desc), &v, 64);
    }
});
