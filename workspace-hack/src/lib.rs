//! Feature unification for the hms-ffi workspace: no code, only dependencies (managed by
//! `cargo hakari`; regenerate with `scripts/hakari.sh`).
