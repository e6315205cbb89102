//! The versions a server announces and serves side by side: besides its main schema a server
//! may serve other revisions of it (each its own descriptor pool, named by a label and its
//! fingerprint), each with its own handlers; a call chooses one with the
//! [`SCHEMA_REVISION_KEY`] metadata entry. A handler of
//! an older revision may also answer the main schema's calls ([`Server::bridge`]) when the two
//! read each other on the wire: requests and replies are transcoded here, in one place.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use prost::Message;

use super::dispatch::Dispatcher;
use super::routes::RouteEntry;
use super::Server;
use crate::call::{unknown_revision, AnnouncedRevision, SCHEMA_REVISION_KEY};
use crate::codec::{decode_proto, Codec};
use crate::error::{Code, Error, Result};
use crate::evolution::{check_method, Category, Image};
use crate::handler::Transcode;
use crate::mapping::json;
use crate::metadata::Metadata;
use crate::schema::{Schema, StreamingKind};

/// One revision of the schema served beside the main one, with its own routes.
pub(crate) struct Revision {
    pub(crate) label: String,
    pub(crate) fingerprint: String,
    pub(crate) schema: Schema,
    image: Image,
    routes: RwLock<HashMap<String, Arc<RouteEntry>>>,
}

impl Revision {
    pub(super) fn add_route(&self, name: String, entry: RouteEntry) {
        if let Ok(mut routes) = self.routes.write() {
            routes.insert(name, Arc::new(entry));
        }
    }

    /// The route of `method` in this revision: `Unimplemented` when the revision lacks the
    /// method or no handler was registered for it.
    fn route(&self, method: &str) -> Result<Arc<RouteEntry>> {
        let info = self.schema.require_method(method)?;
        let routes = self
            .routes
            .read()
            .map_err(|_| Error::internal("route table poisoned"))?;
        routes.get(&info.name).cloned().ok_or_else(|| {
            Error::new(
                Code::Unimplemented,
                format!(
                    "method {} has no handler for schema revision {}",
                    info.name, self.label
                ),
            )
        })
    }
}

impl Dispatcher {
    /// The revision a call's metadata chooses: `None` for the main schema (no key, or the main
    /// schema's fingerprint); an unknown one is `FailedPrecondition`, the known ones listed.
    fn chosen_revision(&self, metadata: &Metadata) -> Result<Option<Arc<Revision>>> {
        let Some(key) = metadata.get(SCHEMA_REVISION_KEY) else {
            return Ok(None);
        };
        let main = self.fingerprint();
        if key == main {
            return Ok(None);
        }
        if let Ok(found) = self.find_revision(key) {
            return Ok(Some(found));
        }
        let mut known = vec![format!("{main} (main)")];
        known.extend(
            self.revision_list()
                .into_iter()
                .map(|(l, f)| format!("{l} {f}")),
        );
        Err(unknown_revision(key, &known))
    }

    /// The revision labelled `key`, or whose fingerprint is `key`; `NotFound` otherwise.
    pub(super) fn find_revision(&self, key: &str) -> Result<Arc<Revision>> {
        let revisions = self
            .revisions
            .read()
            .map_err(|_| Error::internal("revision list poisoned"))?;
        let found = revisions
            .iter()
            .find(|r| r.label == key || r.fingerprint == key);
        found.cloned().ok_or_else(|| {
            Error::new(
                Code::NotFound,
                format!("the server has no schema revision {key:?}"),
            )
        })
    }

    /// Each revision's `(label, fingerprint)`, in the order they were added.
    pub(crate) fn revision_list(&self) -> Vec<(String, String)> {
        let revisions = self.revisions.read();
        let list = revisions.iter().flat_map(|r| r.iter());
        list.map(|r| (r.label.clone(), r.fingerprint.clone()))
            .collect()
    }

    /// The revisions as discovery announces them, their sets filtered by `filter`.
    pub(super) fn announced_revisions(
        &self,
        filter: impl Fn(Vec<u8>) -> Vec<u8>,
    ) -> Vec<AnnouncedRevision> {
        let revisions = self.revisions.read();
        let list = revisions.iter().flat_map(|r| r.iter());
        list.map(|r| AnnouncedRevision {
            label: r.label.clone(),
            fingerprint: r.fingerprint.clone(),
            descriptor_set: filter(r.schema.to_descriptor_set()),
        })
        .collect()
    }

    /// Every method of the main schema, then every method only a revision has (its kind in the
    /// first revision that has it), each once.
    pub(super) fn served_methods(&self) -> Vec<(String, StreamingKind)> {
        let mut seen = std::collections::HashSet::new();
        let main = self.schema.methods();
        let revisions = self.revisions.read();
        let schemas = revisions
            .iter()
            .flat_map(|r| r.iter())
            .map(|r| r.schema.methods());
        let all = std::iter::once(main).chain(schemas).flatten();
        all.filter(|m| seen.insert(m.name.clone()))
            .map(|m| (m.name.clone(), m.kind()))
            .collect()
    }

    /// The streaming kind of `method` in the revision `metadata` chooses (the main schema when
    /// it chooses none, or one the server does not serve: the call then fails at its route).
    pub(super) fn kind_for(&self, method: &str, metadata: &Metadata) -> Option<StreamingKind> {
        let revision = self.chosen_revision(metadata).ok().flatten();
        let schema = revision.as_ref().map_or(&self.schema, |r| &r.schema);
        schema.method(method).map(|m| m.kind())
    }

    /// The route of the revision the metadata chooses, if it chooses one.
    pub(super) fn revision_route(
        &self,
        method: &str,
        metadata: &Metadata,
    ) -> Option<Result<Arc<RouteEntry>>> {
        match self.chosen_revision(metadata) {
            Ok(None) => None,
            Ok(Some(revision)) => Some(revision.route(method)),
            Err(e) => Some(Err(e)),
        }
    }
}

impl RouteEntry {
    /// The request as the handler's revision reads it, and the codec to read it with: a
    /// bridged route's JSON request is parsed with the caller's (main) types and handed on as
    /// protobuf bytes, which the handler's types read by field number.
    pub(super) fn incoming(
        &self,
        payload: Bytes,
        codec: Codec,
        max_depth: usize,
    ) -> Result<(Bytes, Codec)> {
        match &self.bridge {
            Some(caller) if codec == Codec::Json => {
                let text = std::str::from_utf8(&payload).map_err(|_| {
                    Error::new(Code::InvalidArgument, "JSON message is not valid UTF-8")
                })?;
                let msg = json::message_from_json(&caller.input(), text, max_depth)?;
                Ok((msg.encode_to_vec().into(), Codec::Proto))
            }
            _ => Ok((payload, codec)),
        }
    }

    /// What a streaming call's handler reads and writes, and how its messages are rewritten
    /// for the caller: a bridged route's JSON stream reaches the handler as protobuf, each
    /// request and response transcoded as a unary call's ([`RouteEntry::incoming`],
    /// [`RouteEntry::outgoing`]).
    pub(super) fn stream_transcode(
        self: &Arc<Self>,
        codec: Codec,
        max_depth: usize,
    ) -> (Codec, Option<Arc<dyn Transcode>>) {
        match self.bridge.is_some() && codec == Codec::Json {
            true => {
                let bridged = Bridged {
                    entry: self.clone(),
                    max_depth,
                };
                (Codec::Proto, Some(Arc::new(bridged)))
            }
            false => (codec, None),
        }
    }

    /// The reply in the caller's codec: a bridged route's protobuf reply read with the
    /// caller's types and written as JSON when the caller asked for JSON.
    pub(super) fn outgoing(&self, reply: Bytes, codec: Codec) -> Result<Bytes> {
        match &self.bridge {
            Some(caller) if codec == Codec::Json => {
                let msg = decode_proto(&caller.output(), &reply).map_err(|e| {
                    Error::internal(format!("bridged reply does not read as the caller's: {e}"))
                })?;
                Ok(json::message_to_json(&msg, true)?.into_bytes().into())
            }
            _ => Ok(reply),
        }
    }
}

/// A bridged route's JSON stream, message by message.
struct Bridged {
    entry: Arc<RouteEntry>,
    max_depth: usize,
}

impl Transcode for Bridged {
    fn request(&self, bytes: Bytes) -> Result<Bytes> {
        let (bytes, _) = self.entry.incoming(bytes, Codec::Json, self.max_depth)?;
        Ok(bytes)
    }

    fn response(&self, bytes: Bytes) -> Result<Bytes> {
        self.entry.outgoing(bytes, Codec::Json)
    }
}

impl Server {
    /// The schema's version as discovery announces it: its fingerprint, the registry
    /// subject and version given to [`set_schema_version`](Server::set_schema_version), and the
    /// revisions served beside it.
    pub fn schema_version(&self) -> crate::call::SchemaVersion {
        self.core.schema_version()
    }

    /// Records the schema registry subject and version of the schema served, which discovery
    /// announces from now on (a client compares them with what it was built against).
    pub fn set_schema_version(&self, subject: &str, version: u32) {
        self.core.set_registry_version(subject, version)
    }

    /// Serves `schema` beside the main one as the revision `label`: discovery announces it
    /// (label and fingerprint), a call whose [`SCHEMA_REVISION_KEY`] metadata names either
    /// speaks it, and [`revision`](Server::revision) registers its handlers. Returns its
    /// fingerprint. A label that is empty, has a space or a character outside printable ASCII,
    /// or starts with `sha256:` is `InvalidArgument`; a label or schema already served is
    /// `AlreadyExists`.
    pub fn add_revision(&self, label: &str, schema: Schema) -> Result<String> {
        // A label travels as a metadata value: printable ASCII, no spaces, not a fingerprint.
        let printable = label.bytes().all(|b| b.is_ascii_graphic());
        if label.is_empty() || !printable || label.starts_with("sha256:") {
            return Err(Error::new(
                Code::InvalidArgument,
                format!(
                    "schema revision label {label:?} must be printable ASCII without spaces, \
                     not a fingerprint"
                ),
            ));
        }
        let image = Image::from_descriptor_set(&schema.to_descriptor_set())?;
        let fingerprint = image.fingerprint();
        let main = self.core.fingerprint();
        let mut revisions = self
            .core
            .revisions
            .write()
            .map_err(|_| Error::internal("revision list poisoned"))?;
        let taken = revisions
            .iter()
            .find(|r| r.label == label || r.fingerprint == fingerprint);
        if let Some(r) = taken {
            return Err(Error::new(
                Code::AlreadyExists,
                format!(
                    "schema revision {} ({}) is already served",
                    r.label, r.fingerprint
                ),
            ));
        }
        if fingerprint == main {
            return Err(Error::new(
                Code::AlreadyExists,
                format!("schema revision {label} is the main schema ({main})"),
            ));
        }
        revisions.push(Arc::new(Revision {
            label: label.to_string(),
            fingerprint: fingerprint.clone(),
            schema,
            image,
            routes: RwLock::default(),
        }));
        Ok(fingerprint)
    }

    /// A handle on this server whose registrations (`unary`, `unary_native`,
    /// `stream_handler`…) go to the revision `label` (or fingerprint), checked against that
    /// revision's schema. Dropping it leaves the server running. `NotFound` for an unknown one.
    pub fn revision(&self, label: &str) -> Result<Server> {
        self.on_revision(Some(label))
    }

    /// [`revision`](Server::revision) for `Some(label)`, a handle on the main schema for
    /// `None`: what a binding's registration with an optional revision calls.
    pub fn on_revision(&self, label: Option<&str>) -> Result<Server> {
        let revision = match label {
            Some(label) => Some(self.core.find_revision(label)?),
            None => None,
        };
        Ok(Server {
            core: self.core.clone(),
            listeners: self.listeners.clone(),
            revision,
            owner: false,
        })
    }

    /// The key the calls of `method` queued by this handle carry
    /// ([`PendingCall::handler_key`](crate::PendingCall::handler_key)): the method's full
    /// name, or `method@label` on a [`revision`](Server::revision) handle. `Unimplemented` for
    /// a method the schema lacks.
    pub fn queue_key(&self, method: &str) -> Result<String> {
        let name = &self.schema().require_method(method)?.name;
        Ok(match &self.revision {
            Some(r) => format!("{name}@{}", r.label),
            None => name.clone(),
        })
    }

    /// The revisions served beside the main schema, as `(label, fingerprint)`.
    pub fn revisions(&self) -> Vec<(String, String)> {
        self.core.revision_list()
    }

    /// Serves the main schema's `method` with the handler registered for it in `revision`
    /// (the migration path: a v1 handler answers v2 callers). The method must read alike on
    /// the wire in both (`evolution::check_method` with the `WIRE` rules, revision → main):
    /// otherwise `FailedPrecondition` with reason `INCOMPATIBLE_SCHEMA` and the findings.
    /// Protobuf requests and replies pass by field number (renamed fields line up, fields the
    /// revision lacks are dropped, fields the main schema lacks are left out of the reply);
    /// JSON ones are transcoded through the main schema's types. Replaces a handler the main
    /// schema had for the method.
    pub fn bridge(&self, revision: &str, method: &str) -> Result<()> {
        let old = self.core.find_revision(revision)?;
        let entry = old.route(method)?;
        let caller = self.core.schema.require_method(method)?.clone();
        let main = Image::from_descriptor_set(&self.core.schema.to_descriptor_set())?;
        let found = check_method(&old.image, &main, &caller.name, Category::Wire);
        if !found.is_empty() {
            let lines: Vec<(&'static str, String)> =
                found.iter().map(|f| (f.rule, f.to_string())).collect();
            let head = format!(
                "revision {}'s {} cannot serve the main schema's",
                old.label, caller.name
            );
            let metadata = BTreeMap::from([
                ("method".to_string(), caller.name.clone()),
                ("revision".to_string(), old.label.clone()),
            ]);
            return Err(crate::registry::mode::incompatible(&head, &lines, metadata));
        }
        let bridged = RouteEntry {
            info: entry.info.clone(),
            route: entry.route.clone(),
            bridge: Some(caller.clone()),
        };
        self.core.add_route(caller.name, bridged);
        Ok(())
    }
}
