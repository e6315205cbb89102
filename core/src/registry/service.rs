//! [`RegistryService`]: the registry's rules over a [`RegistryStore`], as Rust methods and as
//! the handlers of `hms.ffi.v1.Registry` on an ordinary [`Server`].

use std::sync::Arc;

use bytes::Bytes;
use prost::Message;

use super::messages as pb;
use super::mode::{enforce, Config, Earlier, Mode};
use super::store::{no_version, NewVersion, RegistryStore, StoredVersion};
use crate::error::{Code, Error, FieldViolation, Result};
use crate::evolution::{Category, Image};
use crate::server::Server;

/// The registry's rules over a store: fingerprints, subjects, modes, the compatibility check.
#[derive(Debug, Clone)]
pub struct RegistryService {
    store: Arc<dyn RegistryStore>,
}

fn bad_field(field: &str, description: impl Into<String>) -> Error {
    Error::invalid_argument(
        "registry request",
        vec![FieldViolation {
            field: field.to_string(),
            description: description.into(),
        }],
    )
}

fn no_subject(subject: &str) -> Error {
    Error::new(Code::NotFound, format!("no subject {subject:?}")).with_reason("SUBJECT_NOT_FOUND")
}

fn require_subject(subject: &str) -> Result<()> {
    match subject.is_empty() {
        true => Err(bad_field("subject", "a subject is required")),
        false => Ok(()),
    }
}

/// A stored version as the wire shows it, with or without its descriptor set.
fn to_wire(v: StoredVersion, with_set: bool) -> pb::SchemaVersion {
    pb::SchemaVersion {
        subject: v.subject,
        version: v.version,
        fingerprint: v.fingerprint,
        descriptor_set: if with_set {
            v.descriptor_set
        } else {
            Vec::new()
        },
        deprecated: v.deprecated.is_some(),
        deprecation_reason: v.deprecated.unwrap_or_default(),
        created_at: Some(prost_types::Timestamp {
            seconds: v.created_unix_ms.div_euclid(1000),
            nanos: (v.created_unix_ms.rem_euclid(1000) * 1_000_000) as i32,
        }),
    }
}

fn config_to_wire(subject: &str, c: Config) -> pb::SubjectConfig {
    pb::SubjectConfig {
        subject: subject.to_string(),
        mode: c.mode.name().to_string(),
        category: c.category.name().to_string(),
    }
}

impl RegistryService {
    /// A registry over `store`.
    pub fn new(store: Arc<dyn RegistryStore>) -> RegistryService {
        RegistryService { store }
    }

    /// Registers a descriptor set (see `Register` in `registry.proto`).
    pub fn register(&self, req: pb::RegisterRequest) -> Result<pb::RegisterResponse> {
        let image = Image::from_descriptor_set(&req.descriptor_set)?;
        let packages = image.packages();
        let subject = match (req.subject.as_str(), packages.as_slice()) {
            ("", [one]) if !one.is_empty() => one.clone(),
            ("", _) => {
                return Err(bad_field(
                    "subject",
                    format!("the set holds packages {packages:?}: name the subject"),
                ))
            }
            (s, _) if packages.iter().any(|p| p == s) => s.to_string(),
            (s, _) => {
                return Err(bad_field(
                    "subject",
                    format!("{s:?} is none of the set's packages {packages:?}"),
                ))
            }
        };
        let new = NewVersion {
            subject: subject.clone(),
            fingerprint: image.fingerprint(),
            descriptor_set: req.descriptor_set,
        };
        let mut admit = |config: Option<Config>, versions: &[StoredVersion]| {
            let mut earlier = Vec::new();
            for v in versions.iter().filter(|v| v.deprecated.is_none()) {
                let stored = Image::from_descriptor_set(&v.descriptor_set).map_err(|e| {
                    Error::new(
                        Code::DataLoss,
                        format!(
                            "stored {subject} v{} does not decode: {}",
                            v.version,
                            e.message()
                        ),
                    )
                })?;
                earlier.push(Earlier {
                    version: v.version,
                    image: stored,
                });
            }
            enforce(&subject, config.unwrap_or_default(), &earlier, &image)
        };
        let (version, created) = self.store.register(new, &mut admit)?;
        Ok(pb::RegisterResponse {
            version: Some(to_wire(version, true)),
            created,
        })
    }

    /// One version by subject and number (0: the latest) or by fingerprint.
    pub fn get_version(&self, req: pb::GetVersionRequest) -> Result<pb::SchemaVersion> {
        if !req.fingerprint.is_empty() {
            let found = self.store.find_fingerprint(&req.fingerprint)?;
            return found
                .into_iter()
                .find(|v| req.subject.is_empty() || v.subject == req.subject)
                .map(|v| to_wire(v, true))
                .ok_or_else(|| {
                    Error::new(
                        Code::NotFound,
                        format!("no version has fingerprint {}", req.fingerprint),
                    )
                    .with_reason("VERSION_NOT_FOUND")
                });
        }
        require_subject(&req.subject)?;
        let versions = self.store.versions(&req.subject)?;
        if versions.is_empty() {
            return Err(no_subject(&req.subject));
        }
        let found = match req.version {
            0 => versions.last().cloned(),
            n => versions.into_iter().find(|v| v.version == n),
        };
        found
            .map(|v| to_wire(v, true))
            .ok_or_else(|| no_version(&req.subject, req.version))
    }

    /// Every subject with its latest version and configuration.
    pub fn list_subjects(&self) -> Result<pb::ListSubjectsResponse> {
        let mut subjects = Vec::new();
        for subject in self.store.subjects()? {
            let latest = self
                .store
                .versions(&subject)?
                .last()
                .map_or(0, |v| v.version);
            let c = self.store.config(&subject)?.unwrap_or_default();
            subjects.push(pb::SubjectInfo {
                latest_version: latest,
                mode: c.mode.name().to_string(),
                category: c.category.name().to_string(),
                subject,
            });
        }
        Ok(pb::ListSubjectsResponse { subjects })
    }

    /// A subject's versions, oldest first, without descriptor sets.
    pub fn list_versions(&self, req: pb::ListVersionsRequest) -> Result<pb::ListVersionsResponse> {
        require_subject(&req.subject)?;
        let versions = self.store.versions(&req.subject)?;
        if versions.is_empty() {
            return Err(no_subject(&req.subject));
        }
        Ok(pb::ListVersionsResponse {
            versions: versions.into_iter().map(|v| to_wire(v, false)).collect(),
        })
    }

    /// Deprecates a version.
    pub fn deprecate(&self, req: pb::DeprecateRequest) -> Result<pb::SchemaVersion> {
        require_subject(&req.subject)?;
        let v = self
            .store
            .deprecate(&req.subject, req.version, &req.reason)?;
        Ok(to_wire(v, false))
    }

    /// A subject's configuration (the default when never set).
    pub fn get_mode(&self, req: pb::GetModeRequest) -> Result<pb::SubjectConfig> {
        require_subject(&req.subject)?;
        let c = self.store.config(&req.subject)?.unwrap_or_default();
        Ok(config_to_wire(&req.subject, c))
    }

    /// Sets a subject's mode and/or category.
    pub fn set_mode(&self, req: pb::SetModeRequest) -> Result<pb::SubjectConfig> {
        require_subject(&req.subject)?;
        let mut c = self.store.config(&req.subject)?.unwrap_or_default();
        if !req.mode.is_empty() {
            c.mode = req
                .mode
                .parse::<Mode>()
                .map_err(|e| bad_field("mode", e.message()))?;
        }
        if !req.category.is_empty() {
            c.category = req
                .category
                .parse::<Category>()
                .map_err(|e| bad_field("category", e.message()))?;
        }
        self.store.set_config(&req.subject, c)?;
        Ok(config_to_wire(&req.subject, c))
    }

    /// Serves `hms.ffi.v1.Registry` on `server`, whose schema must hold
    /// [`super::registry_schema`] (each call runs on the blocking pool: a store may wait for a
    /// lock or a disk).
    pub fn install(&self, server: &Server) -> Result<()> {
        fn route<Req, Resp>(
            server: &Server,
            this: &RegistryService,
            method: &str,
            f: fn(&RegistryService, Req) -> Result<Resp>,
        ) -> Result<()>
        where
            Req: Message + Default + Send + 'static,
            Resp: Message + Send + 'static,
        {
            let this = this.clone();
            server.unary_raw(method, move |bytes: Bytes, _ctx| {
                let this = this.clone();
                async move {
                    let req = Req::decode(bytes)
                        .map_err(|e| Error::new(Code::InvalidArgument, e.to_string()))?;
                    let reply = tokio::task::spawn_blocking(move || f(&this, req))
                        .await
                        .map_err(|e| Error::new(Code::Internal, format!("registry task: {e}")))??;
                    Ok(Bytes::from(reply.encode_to_vec()))
                }
            })
        }
        let m = |name: &str| format!("{}/{name}", super::SERVICE);
        route(server, self, &m("Register"), RegistryService::register)?;
        route(server, self, &m("GetVersion"), RegistryService::get_version)?;
        route(
            server,
            self,
            &m("ListSubjects"),
            |s, _: pb::ListSubjectsRequest| s.list_subjects(),
        )?;
        route(
            server,
            self,
            &m("ListVersions"),
            RegistryService::list_versions,
        )?;
        route(server, self, &m("Deprecate"), RegistryService::deprecate)?;
        route(server, self, &m("GetMode"), RegistryService::get_mode)?;
        route(server, self, &m("SetMode"), RegistryService::set_mode)
    }
}
