//! CBOR bytes from a peer (schemaless calls) into a value and back: nothing may panic.
#![no_main]

use hms_ffi_core::codec::{decode_cbor, encode_cbor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = decode_cbor(data, 64) {
        let _ = encode_cbor(&v);
    }
});
