//! Connecting: [`ConnectOptions`], and [`connect`], [`connect_with`], [`connect_all`] (several
//! endpoints of one service), which make the client's [`Pool`](super::pool::Pool) and discover
//! the server's schema on the first endpoint that answers.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tokio_util::sync::CancellationToken;

use super::{health, pool, Client, Inner, Resilience};
use crate::call::{AnnouncedRevision, CallHead, DescribeResponse, SchemaVersion, DESCRIBE_METHOD};
use crate::error::{Code, Error, Result};
use crate::evolution::{check_method, Category, Finding, Image};
use crate::interceptor::Interceptor;
use crate::limits::Limits;
use crate::mapping::DecodeOptions;
use crate::schema::Schema;
use crate::transport::ClientTransport;

/// Options for [`connect_with`].
#[derive(Clone, Default)]
pub struct ConnectOptions {
    /// Use this schema instead of asking the server for its own.
    pub schema: Option<Schema>,
    /// Limits applied on this side.
    pub limits: Limits,
    /// Client interceptors, run before each call is sent and after it ends.
    pub interceptors: Vec<Arc<dyn Interceptor>>,
    /// How replies are presented (64-bit integers as text for JavaScript).
    pub decode: DecodeOptions,
    /// Converters for custom domain types, on requests and replies (`mapping::convert`).
    pub converters: crate::mapping::Converters,
    /// TLS settings for `grpcs://`, `https://`, `wss://`, for those the URI's query
    /// (`?ca=…&cert=…&key=…&server_name=…`) does not set.
    pub tls: Option<crate::security::ClientTlsConfig>,
    /// Reconnect backoff, retry policies, keepalive, wait for ready (see `docs/resilience.md`).
    pub resilience: Resilience,
    /// The schema this client was built against. At connect, each of its methods is checked
    /// against the server's schema ([`check_method`]); a call to a method that breaks fails
    /// at once with `FailedPrecondition` (reason `INCOMPATIBLE_SCHEMA`, the rules in its
    /// metadata) instead of at the server; [`Client::incompatible_methods`] lists them.
    pub expect_schema: Option<Schema>,
    /// The rules of that check; `WIRE_JSON` by default (values are mapped by field name).
    pub expect_category: Option<Category>,
    /// The revision of the server's schema to speak (its label or fingerprint, as discovery
    /// announces them): the client uses that revision's schema and sends
    /// [`SCHEMA_REVISION_KEY`] with every call. Unknown to the server: `FailedPrecondition`
    /// (reason `UNKNOWN_SCHEMA_REVISION`). Without it, an [`expect_schema`](Self::expect_schema)
    /// whose fingerprint is one of the server's revisions chooses that revision.
    pub revision: Option<String>,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("limits", &self.limits)
            .field("interceptors", &self.interceptors.len())
            .finish()
    }
}

/// Connects to `uri` and discovers the server's schema.
pub async fn connect(uri: &str) -> Result<Client> {
    connect_with(uri, ConnectOptions::default()).await
}

/// [`connect`] from synchronous code.
pub fn connect_blocking(uri: &str) -> Result<Client> {
    crate::runtime::block_on(connect(uri))?
}

/// Connects with options.
pub async fn connect_with(uri: &str, options: ConnectOptions) -> Result<Client> {
    connect_all(&[uri], options).await
}

/// Connects to several endpoints of one service (a `dns:///HOST:PORT` URI stands for every
/// address of the name, each a `grpc://` endpoint); calls go to them by the options'
/// [`LoadBalancing`](super::LoadBalancing) (`pick_first` by default). At least one must answer; the schema is
/// discovered from the first that does.
pub async fn connect_all(uris: &[&str], mut options: ConnectOptions) -> Result<Client> {
    crate::transport::init_telemetry();
    let given: Vec<String> = uris.iter().map(|u| u.to_string()).collect();
    let endpoints = super::dns::endpoints(&given, options.tls.as_ref()).await?;
    let names = super::dns::Names::new(given, options.tls.clone());
    let shown = uris.join(",");
    let res = &options.resilience;
    let pool = Arc::new(pool::Pool::connect(endpoints, &options.limits, res, names).await?);
    let closed = CancellationToken::new();
    if let Some(check) = res.health_check {
        health::spawn(&pool, check, closed.clone());
    }
    let (_, transport) = pool
        .ready_now()
        .ok_or_else(|| Error::unavailable(format!("no connection to {shown}")))?;
    // A schema given at connect means no discovery call, unless the caller asked for the
    // server's service config (`serviceConfigLookup: true`) and gave none of its own.
    let mut chosen = options.revision.clone();
    let (schema, schemaless, announced, served) = match options.schema.take() {
        Some(s) if res.service_config_lookup != Some(true) || res.service_config.is_some() => {
            (s, HashSet::new(), None, String::new())
        }
        Some(s) => {
            let served = match describe(transport.as_ref()).await {
                Ok(d) => d.service_config,
                // A server without discovery (a stock gRPC server) suggests nothing.
                Err(e) if e.code() == Code::Unimplemented => String::new(),
                Err(e) => return Err(e),
            };
            (s, HashSet::new(), None, served)
        }
        None => {
            let d = describe(transport.as_ref()).await?;
            let revision = choose_revision(&d, &options)?;
            chosen = revision.map(|r| r.fingerprint.clone());
            let set = revision.map_or(&d.descriptor_set, |r| &r.descriptor_set);
            let schema = Schema::from_descriptor_set(set)?;
            let announced = SchemaVersion {
                fingerprint: d.schema_fingerprint,
                subject: d.registry_subject,
                version: d.registry_version,
                revisions: d
                    .revisions
                    .iter()
                    .map(|r| (r.label.clone(), r.fingerprint.clone()))
                    .collect(),
            };
            (
                schema,
                d.schemaless.into_iter().collect(),
                Some(announced),
                d.service_config,
            )
        }
    };
    let config = res.in_force(&served);
    let mut versions = SchemaCheck::new(announced, &options, &schema)?;
    versions.revision = chosen;
    let metrics = schema
        .methods()
        .into_iter()
        .map(|m| m.name.clone())
        .chain(schemaless.iter().cloned())
        .map(|name| {
            let m = crate::metrics::method(&name);
            (name, m)
        })
        .collect();
    let scheme = shown.split("://").next().unwrap_or_default().to_string();
    Ok(Client {
        inner: Arc::new(Inner {
            metrics,
            scheme,
            endpoint: shown,
            channel: pool,
            throttle: super::resilience::throttle(config.as_ref()),
            config: config.filter(|c| !c.is_empty()),
            wait_for_ready: res.wait_for_ready,
            schema,
            schemaless,
            limits: options.limits,
            interceptors: options.interceptors,
            decode: options.decode,
            converters: options.converters,
            closed,
            versions,
        }),
    })
}

/// Asks the server for its schema and what else it announces.
async fn describe(transport: &dyn ClientTransport) -> Result<DescribeResponse> {
    let head = CallHead {
        method: DESCRIBE_METHOD.to_string(),
        timeout: Some(Duration::from_secs(10)),
        ..CallHead::default()
    };
    let reply = transport.unary(head, Bytes::new()).await?;
    DescribeResponse::decode(reply.message)
        .map_err(|e| Error::new(Code::Internal, format!("bad discovery reply: {e}")))
}

/// The revision announced in `d` that the options choose: the one [`ConnectOptions::revision`]
/// names (an unknown one is `FailedPrecondition`), or else the one whose fingerprint is that of
/// [`ConnectOptions::expect_schema`]; `None` for the main schema.
fn choose_revision<'a>(
    d: &'a DescribeResponse,
    options: &ConnectOptions,
) -> Result<Option<&'a AnnouncedRevision>> {
    if let Some(key) = &options.revision {
        if *key == d.schema_fingerprint {
            return Ok(None);
        }
        let found = d
            .revisions
            .iter()
            .find(|r| r.label == *key || r.fingerprint == *key);
        return found.map(Some).ok_or_else(|| {
            let mut known = vec![format!("{} (main)", d.schema_fingerprint)];
            known.extend(
                d.revisions
                    .iter()
                    .map(|r| format!("{} {}", r.label, r.fingerprint)),
            );
            crate::call::unknown_revision(key, &known)
        });
    }
    let Some(expected) = options
        .expect_schema
        .as_ref()
        .filter(|_| !d.revisions.is_empty())
    else {
        return Ok(None);
    };
    let fingerprint = Image::from_descriptor_set(&expected.to_descriptor_set())?.fingerprint();
    Ok(d.revisions.iter().find(|r| r.fingerprint == fingerprint))
}

/// What a client learnt about the server's schema at connect.
#[derive(Debug, Clone, Default)]
pub(super) struct SchemaCheck {
    announced: Option<SchemaVersion>,
    /// The revision every call asks for ([`SCHEMA_REVISION_KEY`](crate::call::SCHEMA_REVISION_KEY)).
    pub(super) revision: Option<String>,
    /// Method -> the findings that break it, for the methods of `expect_schema`.
    incompatible: Arc<BTreeMap<String, Vec<Finding>>>,
}

impl SchemaCheck {
    fn new(
        announced: Option<SchemaVersion>,
        options: &ConnectOptions,
        served: &Schema,
    ) -> Result<SchemaCheck> {
        let mut incompatible = BTreeMap::new();
        if let Some(expected) = &options.expect_schema {
            let old = Image::from_descriptor_set(&expected.to_descriptor_set())?;
            let new = Image::from_descriptor_set(&served.to_descriptor_set())?;
            if old.fingerprint() != new.fingerprint() {
                let category = options.expect_category.unwrap_or(Category::WireJson);
                for m in expected.methods() {
                    let found = check_method(&old, &new, &m.name, category);
                    if !found.is_empty() {
                        incompatible.insert(m.name.clone(), found);
                    }
                }
            }
        }
        Ok(SchemaCheck {
            announced,
            revision: None,
            incompatible: Arc::new(incompatible),
        })
    }

    /// `FailedPrecondition` (reason `INCOMPATIBLE_SCHEMA`, the rules and findings in its
    /// metadata) for a method the server's schema breaks, before anything is encoded or sent.
    pub(super) fn refuse(&self, method: &str) -> Result<()> {
        let Some(found) = self.incompatible.get(method) else {
            return Ok(());
        };
        let lines: Vec<(&'static str, String)> =
            found.iter().map(|f| (f.rule, f.to_string())).collect();
        let head = format!("the server's schema breaks {method} as this client knows it");
        let metadata = BTreeMap::from([("method".to_string(), method.to_string())]);
        Err(crate::registry::mode::incompatible(&head, &lines, metadata))
    }
}

impl Client {
    /// The schema version the server announced in discovery (its fingerprint, and the registry
    /// subject and version when it knows them); `None` when the schema was given, not discovered.
    pub fn schema_version(&self) -> Option<&SchemaVersion> {
        self.inner.versions.announced.as_ref()
    }

    /// The revision of the server's schema this client speaks (its fingerprint, sent with every
    /// call), chosen at connect; `None` for the server's main schema.
    pub fn revision(&self) -> Option<&str> {
        self.inner.versions.revision.as_deref()
    }

    /// The methods of [`ConnectOptions::expect_schema`] the server's schema breaks, each with
    /// the findings; calls to them fail with `FailedPrecondition` before they are sent.
    pub fn incompatible_methods(&self) -> &BTreeMap<String, Vec<Finding>> {
        &self.inner.versions.incompatible
    }

    /// [`incompatible_methods`](Client::incompatible_methods) with each finding as its text
    /// (`path:line:column:RULE_ID message`), as the bindings show them.
    pub fn incompatible_method_texts(&self) -> BTreeMap<String, Vec<String>> {
        let found = self.incompatible_methods().iter();
        found
            .map(|(m, f)| (m.clone(), f.iter().map(ToString::to_string).collect()))
            .collect()
    }
}
