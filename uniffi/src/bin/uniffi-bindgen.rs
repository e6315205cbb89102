//! The UniFFI bindings generator, built from this workspace so that its version always matches
//! the `uniffi` crate the library was compiled with (used by `scripts/uniffi-gen.sh`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
