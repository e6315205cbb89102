//! The policy and security-file parsers, then a decision with the parsed policy.
#![no_main]

use hms_ffi_core::security::{glob_matches, Policy, SecurityFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Policy::from_toml(text) {
        let _ = p.allows(Some("alice"), "grpc", "billing.v1.Invoices/Get");
        let _ = p.allows(None, "unix", "a.B/C");
    }
    let _ = SecurityFile::parse(text);
    if let Some((pattern, subject)) = text.split_once('\n') {
        let _ = glob_matches(pattern, subject);
    }
});
