//! [`NatsKvStore`]: a registry store in a NATS JetStream key-value bucket, so registries on
//! several machines share one registry (`hms-ffi registry serve --store nats://host:port/BUCKET`).
//!
//! The bucket (created, in file storage, when missing) holds two kinds of keys:
//!
//! - `subject.<S>`: a subject's **head**: its versions (number, fingerprint, deprecation,
//!   creation time) and its mode and category, one protobuf message (`Head`). Every change to
//!   a subject — a registration, a deprecation, a mode — is a compare-and-set of this one key
//!   on the revision read (`update` with the expected revision; revision 0 creates it;
//!   `nats_layout.rs` has the head message and the key names): a writer that lost the race
//!   re-reads the head and runs again (at most [`ATTEMPTS`] times),
//!   so registrations of one subject from any number of processes serialize as in one
//!   transaction, and no version is lost or numbered twice.
//! - `set.<S>.<F>`: the descriptor set of the subject's version with fingerprint `F`, written
//!   before the head names it. The key is named by the content, so a writer that loses the race
//!   after writing it leaves at most a set nobody names (the winner's is the same bytes or
//!   another key): a version never changes.
//!
//! `<S>` and `<F>` keep letters, digits, `_` and `-`; any other byte is `=XX` (hex), so
//! `shop.v1` is `subject.shop=2Ev1`. A version is acknowledged only after JetStream stored the
//! head (`PubAck`). Errors: a nats-server that cannot be reached, or does not answer within
//! [`OP_TIMEOUT`], is `Unavailable` (`REGISTRY_UNREACHABLE`); a head or set that does not decode
//! or is missing is `DataLoss` (`REGISTRY_CORRUPT`); a head written by a newer hms-ffi is
//! `FailedPrecondition` (`REGISTRY_DB_VERSION`); a registration still losing the race after
//! [`ATTEMPTS`] tries is `Unavailable` (`REGISTRY_LOCKED`), which a client may retry.

use std::fmt;
use std::future::Future;

use async_nats::jetstream::kv;
use bytes::Bytes;
use futures_util::TryStreamExt;
use prost::Message;

use super::mode::Config;
use super::nats_layout::{
    config_of, contended, corrupt, head_key, set_key, unescape, unreachable, Head, VersionEntry,
    ATTEMPTS, HEAD_PREFIX, LAYOUT, OP_TIMEOUT,
};
use super::store::{no_version, now_unix_ms, Admit, NewVersion, RegistryStore, StoredVersion};
use crate::error::{Code, Error, Result};
use crate::transport::{connect_nats, NatsTarget};

/// A registry store in a JetStream key-value bucket.
pub struct NatsKvStore {
    kv: kv::Store,
    name: String,
}

impl fmt::Debug for NatsKvStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsKvStore")
            .field("bucket", &self.name)
            .finish()
    }
}

/// Runs `f` on the shared runtime, at most [`OP_TIMEOUT`].
fn run<T>(what: &str, f: impl Future<Output = Result<T>>) -> Result<T> {
    crate::runtime::block_on(async {
        tokio::time::timeout(OP_TIMEOUT, f)
            .await
            .map_err(|_| unreachable(what, format!("no answer within {OP_TIMEOUT:?}")))?
    })?
}

impl NatsKvStore {
    /// Connects to `nats://host:port/BUCKET` and opens the bucket, creating it when missing.
    pub async fn open(uri: &str) -> Result<NatsKvStore> {
        let bad = |m: String| Error::new(Code::InvalidArgument, m).with_reason("BAD_ENDPOINT");
        let rest = uri.strip_prefix("nats://").ok_or_else(|| {
            bad(format!(
                "{uri}: a registry store is nats://host:port/BUCKET"
            ))
        })?;
        let target = NatsTarget::parse(rest).map_err(|e| bad(format!("{uri}: {e}")))?;
        let name = target.prefix.clone();
        if !rest.contains('/')
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad(format!(
                "{uri}: the bucket is one name of letters, digits, '_' and '-' (nats://host:port/BUCKET)"
            )));
        }
        let open = async {
            let client = connect_nats(&target, "hms-ffi registry").await?;
            let js = async_nats::jetstream::new(client);
            let config = kv::Config {
                bucket: name.clone(),
                description: "hms-ffi schema registry".into(),
                history: 1,
                storage: async_nats::jetstream::stream::StorageType::File,
                ..Default::default()
            };
            match js.get_key_value(&name).await {
                Ok(kv) => Ok(kv),
                Err(_) => js
                    .create_or_update_key_value(config)
                    .await
                    .map_err(|e| unreachable(&format!("opening {name} at {uri}"), e)),
            }
        };
        let kv = tokio::time::timeout(OP_TIMEOUT, open)
            .await
            .map_err(|_| unreachable(uri, format!("no answer within {OP_TIMEOUT:?}")))??;
        Ok(NatsKvStore { kv, name })
    }

    /// [`NatsKvStore::open`] for a caller outside async code.
    pub fn open_blocking(uri: &str) -> Result<NatsKvStore> {
        run(uri, NatsKvStore::open(uri))
    }

    /// The subject's head and its revision (0: no head yet).
    async fn head(&self, subject: &str) -> Result<(Head, u64)> {
        let key = head_key(subject);
        let entry = self
            .kv
            .entry(key.as_str())
            .await
            .map_err(|e| unreachable(&format!("reading {key}"), e))?;
        let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
            return Ok((Head::default(), 0));
        };
        let head = Head::decode(entry.value)
            .map_err(|e| corrupt(format!("{key} does not decode: {e}")))?;
        if head.layout > LAYOUT {
            return Err(Error::new(
                Code::FailedPrecondition,
                format!(
                    "registry bucket {}: {key} has layout {}; this hms-ffi reads up to {LAYOUT}",
                    self.name, head.layout
                ),
            )
            .with_reason("REGISTRY_DB_VERSION"));
        }
        Ok((head, entry.revision))
    }

    /// Writes `head` if the key is still at `revision`; `false` when another writer was first.
    async fn swap(&self, subject: &str, head: &Head, revision: u64) -> Result<bool> {
        let key = head_key(subject);
        let bytes = Bytes::from(head.encode_to_vec());
        match self.kv.update(key.as_str(), bytes, revision).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(false),
            Err(e) => Err(unreachable(&format!("writing {key}"), e)),
        }
    }

    /// Changes the subject's head with `change` until no other writer came between.
    async fn change<T>(
        &self,
        subject: &str,
        mut change: impl FnMut(&mut Head) -> Result<T>,
    ) -> Result<T> {
        for _ in 0..ATTEMPTS {
            let (mut head, revision) = self.head(subject).await?;
            let out = change(&mut head)?;
            head.layout = LAYOUT;
            if self.swap(subject, &head, revision).await? {
                return Ok(out);
            }
        }
        Err(contended(subject))
    }

    async fn stored(&self, subject: &str, e: &VersionEntry) -> Result<StoredVersion> {
        let key = set_key(subject, &e.fingerprint);
        let set = self
            .kv
            .get(key.as_str())
            .await
            .map_err(|err| unreachable(&format!("reading {key}"), err))?
            .ok_or_else(|| corrupt(format!("{key} is missing")))?;
        Ok(StoredVersion {
            subject: subject.to_string(),
            version: e.version,
            fingerprint: e.fingerprint.clone(),
            descriptor_set: set.to_vec(),
            deprecated: e.deprecated.then(|| e.deprecation_reason.clone()),
            created_unix_ms: e.created_unix_ms,
        })
    }

    async fn all(&self, subject: &str, head: &Head) -> Result<Vec<StoredVersion>> {
        let mut out = Vec::with_capacity(head.versions.len());
        for e in &head.versions {
            out.push(self.stored(subject, e).await?);
        }
        Ok(out)
    }

    async fn register_async(
        &self,
        new: NewVersion,
        admit: &mut Admit<'_>,
    ) -> Result<(StoredVersion, bool)> {
        let subject = new.subject.as_str();
        let mut set_written = false;
        for _ in 0..ATTEMPTS {
            let (mut head, revision) = self.head(subject).await?;
            let same = head
                .versions
                .iter()
                .find(|e| e.fingerprint == new.fingerprint);
            if let Some(e) = same {
                return Ok((self.stored(subject, e).await?, false));
            }
            let versions = self.all(subject, &head).await?;
            admit(config_of(subject, &head)?, &versions)?;
            if !set_written {
                let key = set_key(subject, &new.fingerprint);
                let set = Bytes::from(new.descriptor_set.clone());
                self.kv
                    .put(key.as_str(), set)
                    .await
                    .map_err(|e| unreachable(&format!("writing {key}"), e))?;
                set_written = true;
            }
            let entry = VersionEntry {
                version: head.versions.last().map_or(1, |e| e.version + 1),
                fingerprint: new.fingerprint.clone(),
                deprecated: false,
                deprecation_reason: String::new(),
                created_unix_ms: now_unix_ms(),
            };
            head.versions.push(entry.clone());
            head.layout = LAYOUT;
            if self.swap(subject, &head, revision).await? {
                let version = StoredVersion {
                    subject: new.subject.clone(),
                    version: entry.version,
                    fingerprint: entry.fingerprint,
                    descriptor_set: new.descriptor_set,
                    deprecated: None,
                    created_unix_ms: entry.created_unix_ms,
                };
                return Ok((version, true));
            }
        }
        Err(contended(subject))
    }
}

impl RegistryStore for NatsKvStore {
    fn register(&self, new: NewVersion, admit: &mut Admit<'_>) -> Result<(StoredVersion, bool)> {
        let what = format!("registering {}", new.subject);
        run(&what, self.register_async(new, admit))
    }

    fn versions(&self, subject: &str) -> Result<Vec<StoredVersion>> {
        run("reading versions", async {
            let (head, _) = self.head(subject).await?;
            self.all(subject, &head).await
        })
    }

    fn find_fingerprint(&self, fingerprint: &str) -> Result<Vec<StoredVersion>> {
        let subjects = self.subjects()?;
        run("finding a fingerprint", async {
            let mut found = Vec::new();
            for subject in subjects {
                let (head, _) = self.head(&subject).await?;
                for e in head
                    .versions
                    .iter()
                    .filter(|e| e.fingerprint == fingerprint)
                {
                    found.push(self.stored(&subject, e).await?);
                }
            }
            found.sort_by_key(|v| v.created_unix_ms);
            Ok(found)
        })
    }

    fn subjects(&self) -> Result<Vec<String>> {
        run("listing subjects", async {
            let keys = self
                .kv
                .keys()
                .await
                .map_err(|e| unreachable("listing keys", e))?;
            let keys: Vec<String> = keys
                .try_collect()
                .await
                .map_err(|e| unreachable("listing keys", e))?;
            let mut subjects: Vec<String> = keys
                .iter()
                .filter_map(|k| k.strip_prefix(HEAD_PREFIX).and_then(unescape))
                .collect();
            subjects.sort();
            Ok(subjects)
        })
    }

    fn deprecate(&self, subject: &str, version: u32, reason: &str) -> Result<StoredVersion> {
        run("deprecating a version", async {
            let entry = self
                .change(subject, |head| {
                    let e = head
                        .versions
                        .iter_mut()
                        .find(|e| e.version == version)
                        .ok_or_else(|| no_version(subject, version))?;
                    e.deprecated = true;
                    e.deprecation_reason = reason.to_string();
                    Ok(e.clone())
                })
                .await?;
            self.stored(subject, &entry).await
        })
    }

    fn config(&self, subject: &str) -> Result<Option<Config>> {
        run("reading a subject's mode", async {
            let (head, _) = self.head(subject).await?;
            config_of(subject, &head)
        })
    }

    fn set_config(&self, subject: &str, config: Config) -> Result<()> {
        run("setting a subject's mode", async {
            self.change(subject, |head| {
                head.mode = config.mode.name().to_string();
                head.category = config.category.name().to_string();
                Ok(())
            })
            .await
        })
    }
}
