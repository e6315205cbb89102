//! The local wire protocol as a server reads it: frames, then the CALL header inside one, and the
//! head of an oversized CALL read from its first bytes.
#![no_main]

use hms_ffi_core::transport::frame::{self, CallHead, CallHeader, Hello, Kind, Trailer};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let _ = frame::call_head_prefix(data);
    if let Ok(frames) = frame::parse_frames(data, 1 << 20) {
        for f in frames {
            let _ = frame::check_body(f.header.kind, &f.body);
            match f.header.kind {
                Kind::Call => {
                    if let Ok(h) = CallHeader::decode(f.body.clone()) {
                        let _ = CallHead::from_header(h);
                    }
                }
                Kind::Hello => {
                    let _ = Hello::decode(f.body.clone());
                }
                _ => {
                    let _ = Trailer::decode(f.body.clone()).map(Trailer::into_result);
                }
            }
        }
    }
});
