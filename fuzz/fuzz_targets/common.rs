//! The conformance schema, compiled once, for the value targets.

use std::sync::OnceLock;

use hms_ffi_core::Schema;

pub fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance");
        let file = format!("{dir}/conformance.proto");
        Schema::load(&[file], &[dir]).expect("conformance.proto compiles")
    })
}
