//! Sets up the linker flags a Node.js addon needs.
fn main() {
    napi_build::setup();
}
