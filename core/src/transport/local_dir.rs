//! The user's own directory for the endpoints of one machine: named `shm://` sockets and the
//! `auto://` service directory live under `$XDG_RUNTIME_DIR/hms-ffi`, else `/tmp/hms-ffi-$UID`.
//! Every directory in it has mode 0700 and belongs to the user: anyone else who could enter it
//! could replace a socket or a service record.

use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::{Code, Error, Result};

/// `$XDG_RUNTIME_DIR/hms-ffi` (when set to an absolute path), else `/tmp/hms-ffi-$UID`.
pub(super) fn base() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir.join("hms-ffi"),
        _ => PathBuf::from(format!("/tmp/hms-ffi-{}", uid())),
    }
}

fn uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

/// Whether `name` may name a local endpoint: letters, digits, '.', '_', '-', at most 100
/// bytes, not starting with '.'.
pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Creates `dir` and its parent with mode 0700 if missing, and refuses one that another user
/// owns or others can enter.
pub(super) fn own_dir(dir: &Path) -> Result<()> {
    for d in [dir.parent().unwrap_or(dir), dir] {
        match std::fs::DirBuilder::new().mode(0o700).create(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(refuse(format!("cannot create {}: {e}", d.display()))),
        }
        check(d)?;
    }
    Ok(())
}

/// Refuses `dir` (and its parent) if another user owns it or others can enter it; a missing
/// directory is `Ok(false)`: nothing to read there.
pub(super) fn trusted(dir: &Path) -> Result<bool> {
    for d in [dir.parent().unwrap_or(dir), dir] {
        match std::fs::symlink_metadata(d) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            _ => check(d)?,
        }
    }
    Ok(true)
}

fn check(d: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(d).map_err(|e| refuse(format!("{}: {e}", d.display())))?;
    let uid = uid();
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(refuse(format!(
            "{} must be a directory of uid {uid} with mode 0700",
            d.display()
        )));
    }
    Ok(())
}

/// Whether process `pid` is running (or cannot be told: another user's process).
pub(super) fn running(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 sends nothing; it only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    alive || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

fn refuse(why: String) -> Error {
    Error::new(Code::FailedPrecondition, why).with_reason("UNSAFE_DIRECTORY")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_runs_and_an_impossible_pid_does_not() {
        assert!(running(std::process::id()));
        assert!(!running(u32::MAX));
        assert!(!running(i32::MAX as u32));
    }

    #[test]
    fn names_are_plain() {
        assert!(valid_name("orders.v1_a-b"));
        for bad in ["", ".hidden", "a/b", "a b", &"x".repeat(101)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }
}
