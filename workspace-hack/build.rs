//! A build script is required for cargo to consider the crate's build dependencies.
fn main() {}
