#!/usr/bin/env bash
# Regenerates workspace-hack/ (the crate that gives every dependency one feature set across the
# workspace's builds) and the dependency line on it in each crate, with cargo-hakari (installed
# from crates.io if missing: about two minutes). Run it after adding or changing a dependency when
# `python3 scripts/check_features.py` (part of `make lint`) says a crate compiles more than once.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-hakari >/dev/null 2>&1 || cargo install cargo-hakari --locked
cargo hakari generate
cargo hakari manage-deps --yes
python3 scripts/check_features.py
