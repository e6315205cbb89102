//! [`SqliteStore`]: the schema registry's default store, one SQLite file (`registry serve --db`).
//!
//! - **Missing file**: created (with its tables) when its folder exists; a missing folder is
//!   `NotFound` (`REGISTRY_DB_MISSING`).
//! - **Durability**: WAL journal, `synchronous = FULL`; a version is acknowledged only after its
//!   transaction commits, so a registry killed at any point (SIGKILL) keeps every acknowledged
//!   version and the file opens again (SQLite rolls back or ignores an unfinished transaction).
//! - **Concurrency**: one connection per process behind a lock, and each registration in a
//!   `BEGIN IMMEDIATE` transaction: registrations of one subject serialize across threads and
//!   across processes sharing the file. A lock held elsewhere longer than the busy timeout is
//!   `Unavailable` (`REGISTRY_LOCKED`), which a client may retry.
//! - **Bad files**: a file that is not a database or fails `PRAGMA quick_check` is `DataLoss`
//!   (`REGISTRY_CORRUPT`); one that cannot be opened or written is `PermissionDenied`
//!   (`REGISTRY_UNREADABLE`); one written by a newer hms-ffi (`user_version` above ours) is
//!   `FailedPrecondition` (`REGISTRY_DB_VERSION`).

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use hms_ffi_core::evolution::Category;
use hms_ffi_core::registry::{
    no_version, now_unix_ms, Admit, Config, Mode, NewVersion, RegistryStore, StoredVersion,
};
use hms_ffi_core::{Code, Error, Result};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

/// The layout this build writes (`PRAGMA user_version`).
const LAYOUT: i64 = 1;

const CREATE: &str = "
CREATE TABLE IF NOT EXISTS versions (
    subject TEXT NOT NULL,
    version INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    descriptor_set BLOB NOT NULL,
    deprecated INTEGER NOT NULL DEFAULT 0,
    deprecation_reason TEXT NOT NULL DEFAULT '',
    created_unix_ms INTEGER NOT NULL,
    PRIMARY KEY (subject, version),
    UNIQUE (subject, fingerprint)
);
CREATE INDEX IF NOT EXISTS versions_by_fingerprint ON versions (fingerprint);
CREATE TABLE IF NOT EXISTS subjects (
    subject TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    category TEXT NOT NULL
);
";

const COLUMNS: &str =
    "subject, version, fingerprint, descriptor_set, deprecated, deprecation_reason, created_unix_ms";

/// A registry store in one SQLite file.
#[derive(Debug)]
pub(crate) struct SqliteStore {
    conn: Mutex<Connection>,
}

/// A SQLite failure as a typed error; `what` says what was being done.
fn db_error(what: &str, e: rusqlite::Error) -> Error {
    let (code, reason) = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            (Code::Unavailable, "REGISTRY_LOCKED")
        }
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            (Code::DataLoss, "REGISTRY_CORRUPT")
        }
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            (Code::PermissionDenied, "REGISTRY_UNREADABLE")
        }
        Some(ErrorCode::DiskFull) => (Code::ResourceExhausted, "REGISTRY_DISK_FULL"),
        _ => (Code::Internal, "REGISTRY_STORE"),
    };
    Error::new(code, format!("registry database: {what}: {e}")).with_reason(reason)
}

fn stored_error(what: String) -> Error {
    Error::new(Code::DataLoss, format!("registry database: {what}")).with_reason("REGISTRY_CORRUPT")
}

fn row_version(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredVersion> {
    let deprecated: bool = row.get(4)?;
    let reason: String = row.get(5)?;
    Ok(StoredVersion {
        subject: row.get(0)?,
        version: row.get(1)?,
        fingerprint: row.get(2)?,
        descriptor_set: row.get(3)?,
        deprecated: deprecated.then_some(reason),
        created_unix_ms: row.get(6)?,
    })
}

fn read_versions(conn: &Connection, subject: &str) -> Result<Vec<StoredVersion>> {
    let sql = format!("SELECT {COLUMNS} FROM versions WHERE subject = ?1 ORDER BY version");
    let read = || -> rusqlite::Result<Vec<StoredVersion>> {
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![subject], row_version)?;
        rows.collect()
    };
    read().map_err(|e| db_error("reading versions", e))
}

fn read_config(conn: &Connection, subject: &str) -> Result<Option<Config>> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT mode, category FROM subjects WHERE subject = ?1",
            params![subject],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(|e| db_error("reading a subject's mode", e))?;
    let Some((mode, category)) = row else {
        return Ok(None);
    };
    let parsed = mode.parse::<Mode>().and_then(|mode| {
        let category = category.parse::<Category>()?;
        Ok(Config { mode, category })
    });
    parsed
        .map(Some)
        .map_err(|e| stored_error(format!("subject {subject:?}: {}", e.message())))
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`; a lock held elsewhere is waited for up to
    /// `busy`.
    pub(crate) fn open(path: &Path, busy: Duration) -> Result<SqliteStore> {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !folder.is_dir() {
            return Err(Error::new(
                Code::NotFound,
                format!(
                    "registry database {}: no folder {}",
                    path.display(),
                    folder.display()
                ),
            )
            .with_reason("REGISTRY_DB_MISSING"));
        }
        let what = format!("opening {}", path.display());
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| db_error(&what, e))?;
        conn.busy_timeout(busy).map_err(|e| db_error(&what, e))?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| db_error(&what, e))?;
        if check != "ok" {
            return Err(stored_error(format!(
                "{} fails quick_check: {check}",
                path.display()
            )));
        }
        if conn.is_readonly("main").map_err(|e| db_error(&what, e))? {
            return Err(Error::new(
                Code::PermissionDenied,
                format!("registry database {} is read-only", path.display()),
            )
            .with_reason("REGISTRY_UNREADABLE"));
        }
        let layout: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_error(&what, e))?;
        if layout > LAYOUT {
            return Err(Error::new(
                Code::FailedPrecondition,
                format!(
                    "registry database {} has layout {layout}; this hms-ffi reads up to {LAYOUT}",
                    path.display()
                ),
            )
            .with_reason("REGISTRY_DB_VERSION"));
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .and_then(|_| conn.pragma_update(None, "synchronous", "FULL"))
            .and_then(|_| {
                conn.execute_batch(&format!(
                    "BEGIN IMMEDIATE; {CREATE} PRAGMA user_version = {LAYOUT}; COMMIT;"
                ))
            })
            .map_err(|e| db_error(&what, e))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        // A panic while the lock was held left at most an open transaction, which rusqlite's
        // Transaction rolls back on drop.
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }
}

impl RegistryStore for SqliteStore {
    fn register(&self, new: NewVersion, admit: &mut Admit<'_>) -> Result<(StoredVersion, bool)> {
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db_error("starting a registration", e))?;
            let versions = read_versions(&tx, &new.subject)?;
            if let Some(v) = versions.iter().find(|v| v.fingerprint == new.fingerprint) {
                return Ok((v.clone(), false));
            }
            admit(read_config(&tx, &new.subject)?, &versions)?;
            let version = StoredVersion {
                version: versions.last().map_or(1, |v| v.version + 1),
                subject: new.subject,
                fingerprint: new.fingerprint,
                descriptor_set: new.descriptor_set,
                deprecated: None,
                created_unix_ms: now_unix_ms(),
            };
            tx.execute(
                &format!("INSERT INTO versions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, 0, '', ?5)"),
                params![
                    version.subject,
                    version.version,
                    version.fingerprint,
                    version.descriptor_set,
                    version.created_unix_ms
                ],
            )
            .map_err(|e| db_error("adding a version", e))?;
            tx.commit()
                .map_err(|e| db_error("committing a version", e))?;
            Ok((version, true))
        })
    }

    fn versions(&self, subject: &str) -> Result<Vec<StoredVersion>> {
        self.with(|conn| read_versions(conn, subject))
    }

    fn find_fingerprint(&self, fingerprint: &str) -> Result<Vec<StoredVersion>> {
        self.with(|conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM versions WHERE fingerprint = ?1 ORDER BY created_unix_ms"
            );
            let read = || -> rusqlite::Result<Vec<StoredVersion>> {
                let mut stmt = conn.prepare_cached(&sql)?;
                let rows = stmt.query_map(params![fingerprint], row_version)?;
                rows.collect()
            };
            read().map_err(|e| db_error("finding a fingerprint", e))
        })
    }

    fn subjects(&self) -> Result<Vec<String>> {
        self.with(|conn| {
            let read = || -> rusqlite::Result<Vec<String>> {
                let mut stmt = conn.prepare_cached(
                    "SELECT subject FROM versions UNION SELECT subject FROM subjects ORDER BY 1",
                )?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                rows.collect()
            };
            read().map_err(|e| db_error("listing subjects", e))
        })
    }

    fn deprecate(&self, subject: &str, version: u32, reason: &str) -> Result<StoredVersion> {
        self.with(|conn| {
            let changed = conn
                .execute(
                    "UPDATE versions SET deprecated = 1, deprecation_reason = ?3
                     WHERE subject = ?1 AND version = ?2",
                    params![subject, version, reason],
                )
                .map_err(|e| db_error("deprecating a version", e))?;
            if changed == 0 {
                return Err(no_version(subject, version));
            }
            read_versions(conn, subject)?
                .into_iter()
                .find(|v| v.version == version)
                .ok_or_else(|| no_version(subject, version))
        })
    }

    fn config(&self, subject: &str) -> Result<Option<Config>> {
        self.with(|conn| read_config(conn, subject))
    }

    fn set_config(&self, subject: &str, config: Config) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO subjects (subject, mode, category) VALUES (?1, ?2, ?3)
                 ON CONFLICT (subject) DO UPDATE SET mode = ?2, category = ?3",
                params![subject, config.mode.name(), config.category.name()],
            )
            .map(|_| ())
            .map_err(|e| db_error("setting a subject's mode", e))
        })
    }
}

#[cfg(test)]
#[path = "sqlite_tests.rs"]
mod tests;
