//! The route table of a server: each method's handler and descriptors, the lookup that turns
//! an unknown or unserved method into `Unimplemented`, the discovery answer (filtered by the
//! policy), and the request decoder and response encoder of a route for a codec.

use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;
use prost::Message;

use super::dispatch::Dispatcher;
use crate::call::{DescribeResponse, SchemaVersion};
use crate::client::ServiceConfig;
use crate::codec::Codec;
use crate::context::Context;
use crate::error::{Code, Error, Result};
use crate::exchange::Exchange;
use crate::handler::Route;
use crate::metadata::Metadata;
use crate::schema::MethodInfo;
use crate::security::filter_descriptor_set;

/// What discovery announces about the schema: its fingerprint (computed at the first ask), the
/// registry subject and version the server was told, and the service config it suggests.
#[derive(Default)]
pub(crate) struct Announce {
    fingerprint: OnceLock<String>,
    registry: RwLock<(String, u32)>,
    service_config: RwLock<Option<Arc<ServiceConfig>>>,
}

impl Announce {
    pub(super) fn new(service_config: Option<Arc<ServiceConfig>>) -> Announce {
        Announce {
            service_config: RwLock::new(service_config),
            ..Announce::default()
        }
    }
}

/// What the server runs for a method, with its descriptors (`None` for a schemaless method).
pub(crate) struct RouteEntry {
    pub(crate) info: Option<MethodInfo>,
    pub(crate) route: Route,
    /// For a handler of another revision serving the main schema ([`Server::bridge`]): the
    /// method as the caller knows it, whose types read and write JSON requests and replies.
    ///
    /// [`Server::bridge`]: super::Server::bridge
    pub(crate) bridge: Option<MethodInfo>,
}

impl Dispatcher {
    /// The main schema's fingerprint, computed once.
    pub(crate) fn fingerprint(&self) -> &str {
        self.announce.fingerprint.get_or_init(|| {
            crate::evolution::Image::from_descriptor_set(&self.schema.to_descriptor_set())
                .map(|i| i.fingerprint())
                .unwrap_or_default()
        })
    }

    pub(crate) fn schema_version(&self) -> SchemaVersion {
        let fingerprint = self.fingerprint();
        let (subject, version) = self
            .announce
            .registry
            .read()
            .map(|r| r.clone())
            .unwrap_or_default();
        SchemaVersion {
            fingerprint: fingerprint.to_string(),
            subject,
            version,
            revisions: self.revision_list(),
        }
    }

    pub(crate) fn set_registry_version(&self, subject: &str, version: u32) {
        if let Ok(mut r) = self.announce.registry.write() {
            *r = (subject.to_string(), version);
        }
    }

    pub(crate) fn set_service_config(&self, config: ServiceConfig) {
        if let Ok(mut c) = self.announce.service_config.write() {
            *c = Some(Arc::new(config));
        }
    }

    fn service_config_text(&self) -> String {
        let config = self.announce.service_config.read();
        let text = config
            .as_ref()
            .ok()
            .and_then(|c| c.as_ref().map(|c| c.json()));
        text.unwrap_or_default().to_string()
    }

    pub(crate) fn add_route(&self, name: String, entry: RouteEntry) {
        if let Ok(mut metrics) = self.metrics.write() {
            metrics.insert(name.clone(), crate::metrics::method(&name));
        }
        if let Ok(mut routes) = self.routes.write() {
            routes.insert(name, Arc::new(entry));
        }
    }

    /// The route of `method` in the revision the call's `metadata` chooses (the main schema's
    /// without [`SCHEMA_REVISION_KEY`](crate::call::SCHEMA_REVISION_KEY)).
    pub(super) fn route(&self, method: &str, metadata: &Metadata) -> Result<Arc<RouteEntry>> {
        if let Some(found) = self.revision_route(method, metadata) {
            return found;
        }
        let routes = self
            .routes
            .read()
            .map_err(|_| Error::internal("route table poisoned"))?;
        if let Some(r) = routes.get(method) {
            return Ok(r.clone());
        }
        match self.schema.method(method) {
            Some(m) => routes.get(&m.name).cloned().ok_or_else(|| {
                Error::new(
                    Code::Unimplemented,
                    format!("method {} has no handler on this server", m.name),
                )
            }),
            None => Err(Error::unimplemented_method(method)),
        }
    }

    /// The schema and schemaless methods, as far as the caller of `ctx` may call them.
    pub(crate) fn describe(&self, ctx: &Context) -> Bytes {
        let policy = self.security.as_ref().and_then(|s| s.policy());
        let allowed = |m: &str| policy.is_none_or(|p| p.allows(ctx.identity(), ctx.transport(), m));
        let schemaless = self
            .routes
            .read()
            .map(|r| {
                r.iter()
                    .filter(|(k, e)| e.info.is_none() && allowed(k))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        let set = self.schema.to_descriptor_set();
        let version = self.schema_version();
        let revisions = self.announced_revisions(|set| match policy {
            Some(_) => filter_descriptor_set(&set, allowed),
            None => set,
        });
        DescribeResponse {
            schema_fingerprint: version.fingerprint,
            registry_subject: version.subject,
            registry_version: version.version,
            descriptor_set: match policy {
                Some(_) => filter_descriptor_set(&set, allowed),
                None => set,
            },
            schemaless,
            service_config: self.service_config_text(),
            revisions,
        }
        .encode_to_vec()
        .into()
    }

    /// The answer to [`HEALTH_METHOD`](crate::call::HEALTH_METHOD) for `request`.
    pub(crate) fn health(&self, request: &Bytes) -> Result<Bytes> {
        use tonic_health::pb::health_check_response::ServingStatus;
        let req = tonic_health::pb::HealthCheckRequest::decode(request.clone())
            .map_err(|e| Error::new(Code::InvalidArgument, format!("bad health check: {e}")))?;
        if !req.service.is_empty() && !self.schema.services().contains(&req.service) {
            return Err(Error::new(
                Code::NotFound,
                format!("unknown service {}", req.service),
            ));
        }
        let status = if self.drain.is_cancelled() {
            ServingStatus::NotServing
        } else {
            ServingStatus::Serving
        };
        Ok(tonic_health::pb::HealthCheckResponse {
            status: status as i32,
        }
        .encode_to_vec()
        .into())
    }

    /// The decoder for requests and encoder for responses of a route, for a codec.
    pub(super) fn exchange(&self, entry: &RouteEntry, codec: Codec) -> Result<Arc<Exchange>> {
        let (input, output) = match &entry.info {
            Some(_) if codec == Codec::Cbor => {
                return Err(Error::new(
                    Code::InvalidArgument,
                    format!(
                        "method {} has a schema: use the proto or json codec",
                        entry_name(entry)
                    ),
                ))
            }
            // A bridged call's JSON reaches here as protobuf (`RouteEntry::incoming`, and
            // `RouteEntry::stream_transcode` for a stream).
            Some(info) => (Some(info.input()), Some(info.output())),
            None if codec == Codec::Cbor => (None, None),
            None => {
                return Err(Error::new(
                    Code::InvalidArgument,
                    "schemaless methods take the cbor codec",
                ))
            }
        };
        Ok(Arc::new(Exchange {
            codec,
            input,
            output,
            limits: self.limits.clone(),
            present: self.decode,
            converters: self.converters.clone(),
        }))
    }
}

fn entry_name(entry: &RouteEntry) -> &str {
    entry.info.as_ref().map_or("", |i| i.name.as_str())
}
