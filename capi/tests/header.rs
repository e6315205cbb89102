//! `include/hms_ffi.h` is what cbindgen generates from the sources, and the Go module carries
//! the same file (`go/include/hms_ffi.h`: a module may not reach outside its directory);
//! `UPDATE_HEADER=1` rewrites both.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

#[test]
fn header_is_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen runs")
        .write(&mut generated);
    for path in [
        dir.join("include/hms_ffi.h"),
        dir.join("../go/include/hms_ffi.h"),
    ] {
        if std::env::var_os("UPDATE_HEADER").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is stale: run `UPDATE_HEADER=1 cargo test -p hms-ffi-capi --test header`",
            path.display()
        );
    }
}
