//! Where a registry keeps its subjects: the [`RegistryStore`] trait and [`MemoryStore`].
//!
//! A store owns durability and concurrency; the registry's rules (fingerprints, modes, the
//! check) stay in [`super::RegistryService`]. The CLI's `hms-ffi registry serve` uses a SQLite
//! file (`cli/src/registry/sqlite.rs`) or, shared by registries on many machines, a NATS
//! key-value bucket ([`super::NatsKvStore`]); `super::contract` tests every store alike.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use super::mode::Config;
use crate::error::{Code, Error, Result};

/// One immutable version of a subject, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    /// The subject (a protobuf package).
    pub subject: String,
    /// 1, 2, … in registration order.
    pub version: u32,
    /// `sha256:<hex>` of the normalized descriptor set.
    pub fingerprint: String,
    /// The serialized `FileDescriptorSet` as first registered.
    pub descriptor_set: Vec<u8>,
    /// `Some(reason)` once deprecated.
    pub deprecated: Option<String>,
    /// When it was registered, in milliseconds since the Unix epoch.
    pub created_unix_ms: i64,
}

/// A version about to be registered.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// The subject.
    pub subject: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its descriptor set.
    pub descriptor_set: Vec<u8>,
}

/// Decides whether a new version may be added, given the subject's configuration (`None`:
/// never set) and its versions, oldest first.
pub type Admit<'a> = dyn FnMut(Option<Config>, &[StoredVersion]) -> Result<()> + 'a;

/// Storage for a schema registry. Every method may be called from many threads at once.
pub trait RegistryStore: Send + Sync + fmt::Debug + 'static {
    /// Registers `new` atomically. In one transaction: when a version of the subject has the
    /// same fingerprint, returns it and `false`; otherwise calls `admit` and, when it agrees,
    /// adds the next version and returns it and `true`. Registrations of one subject are
    /// serialized (the second sees the first's version), and a version returned with `true`
    /// is durable. A store busy for too long answers `Unavailable`.
    fn register(&self, new: NewVersion, admit: &mut Admit<'_>) -> Result<(StoredVersion, bool)>;

    /// The subject's versions, oldest first (empty for an unknown subject).
    fn versions(&self, subject: &str) -> Result<Vec<StoredVersion>>;

    /// The versions with this fingerprint, in any subject, oldest first.
    fn find_fingerprint(&self, fingerprint: &str) -> Result<Vec<StoredVersion>>;

    /// Every subject that has a version or a configuration, sorted.
    fn subjects(&self) -> Result<Vec<String>>;

    /// Marks a version deprecated with a reason (again: the new reason). `NotFound` when the
    /// version does not exist.
    fn deprecate(&self, subject: &str, version: u32, reason: &str) -> Result<StoredVersion>;

    /// The subject's configuration, `None` when never set.
    fn config(&self, subject: &str) -> Result<Option<Config>>;

    /// Sets the subject's configuration.
    fn set_config(&self, subject: &str, config: Config) -> Result<()>;
}

pub use crate::value::time::now_unix_ms;

/// The error for a version that does not exist.
pub fn no_version(subject: &str, version: u32) -> Error {
    Error::new(
        Code::NotFound,
        format!("subject {subject:?} has no version {version}"),
    )
    .with_reason("VERSION_NOT_FOUND")
}

/// A store in memory, lost with the process: for tests and for a registry that is rebuilt at
/// start. One lock makes every operation atomic.
#[derive(Debug, Default)]
pub struct MemoryStore {
    subjects: Mutex<BTreeMap<String, Subject>>,
}

#[derive(Debug, Default)]
struct Subject {
    versions: Vec<StoredVersion>,
    config: Option<Config>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<String, Subject>) -> Result<T>) -> Result<T> {
        // A panic while the lock was held left no half-made change: every change below is
        // one push or one assignment after its checks.
        let mut guard = self.subjects.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

impl RegistryStore for MemoryStore {
    fn register(&self, new: NewVersion, admit: &mut Admit<'_>) -> Result<(StoredVersion, bool)> {
        self.with(|subjects| {
            let subject = subjects.entry(new.subject.clone()).or_default();
            if let Some(v) = subject
                .versions
                .iter()
                .find(|v| v.fingerprint == new.fingerprint)
            {
                return Ok((v.clone(), false));
            }
            admit(subject.config, &subject.versions)?;
            let version = StoredVersion {
                version: subject.versions.len() as u32 + 1,
                subject: new.subject,
                fingerprint: new.fingerprint,
                descriptor_set: new.descriptor_set,
                deprecated: None,
                created_unix_ms: now_unix_ms(),
            };
            subject.versions.push(version.clone());
            Ok((version, true))
        })
    }

    fn versions(&self, subject: &str) -> Result<Vec<StoredVersion>> {
        self.with(|s| {
            Ok(s.get(subject)
                .map(|s| s.versions.clone())
                .unwrap_or_default())
        })
    }

    fn find_fingerprint(&self, fingerprint: &str) -> Result<Vec<StoredVersion>> {
        self.with(|s| {
            let mut found: Vec<StoredVersion> = s
                .values()
                .flat_map(|s| s.versions.iter())
                .filter(|v| v.fingerprint == fingerprint)
                .cloned()
                .collect();
            found.sort_by_key(|v| v.created_unix_ms);
            Ok(found)
        })
    }

    fn subjects(&self) -> Result<Vec<String>> {
        self.with(|s| {
            Ok(s.iter()
                .filter(|(_, s)| !s.versions.is_empty() || s.config.is_some())
                .map(|(name, _)| name.clone())
                .collect())
        })
    }

    fn deprecate(&self, subject: &str, version: u32, reason: &str) -> Result<StoredVersion> {
        self.with(|s| {
            let found = s
                .get_mut(subject)
                .and_then(|s| s.versions.iter_mut().find(|v| v.version == version))
                .ok_or_else(|| no_version(subject, version))?;
            found.deprecated = Some(reason.to_string());
            Ok(found.clone())
        })
    }

    fn config(&self, subject: &str) -> Result<Option<Config>> {
        self.with(|s| Ok(s.get(subject).and_then(|s| s.config)))
    }

    fn set_config(&self, subject: &str, config: Config) -> Result<()> {
        self.with(|s| {
            s.entry(subject.to_string()).or_default().config = Some(config);
            Ok(())
        })
    }
}
