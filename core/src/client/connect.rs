//! Connecting: [`ConnectOptions`], and [`connect`], [`connect_with`], [`connect_all`] (several
//! endpoints of one service), which make the client's [`Pool`](super::pool::Pool) and discover
//! the server's schema on the first endpoint that answers.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tokio_util::sync::CancellationToken;

use super::{health, pool, Client, Inner, Resilience};
use crate::call::{CallHead, DescribeResponse, DESCRIBE_METHOD};
use crate::error::{Code, Error, Result};
use crate::interceptor::Interceptor;
use crate::limits::Limits;
use crate::mapping::DecodeOptions;
use crate::schema::Schema;
use crate::transport::Endpoint;

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
    /// TLS settings for `grpcs://`, `https://`, `wss://`, for those the URI's query
    /// (`?ca=…&cert=…&key=…&server_name=…`) does not set.
    pub tls: Option<crate::security::ClientTlsConfig>,
    /// Reconnect backoff, retry policies, keepalive, wait for ready (see `docs/resilience.md`).
    pub resilience: Resilience,
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

/// Connects to several endpoints of one service; calls go to them by the options'
/// [`LoadBalancing`](super::LoadBalancing) (`pick_first` by default). At least one must answer; the schema is
/// discovered from the first that does.
pub async fn connect_all(uris: &[&str], options: ConnectOptions) -> Result<Client> {
    crate::trace::init_from_env();
    let mut endpoints = Vec::with_capacity(uris.len());
    for uri in uris {
        let mut endpoint: Endpoint = uri.parse()?;
        if let Some(tls) = &options.tls {
            endpoint = endpoint.with_client_tls(tls);
        }
        endpoints.push(endpoint);
    }
    let shown = uris.join(",");
    let res = &options.resilience;
    let pool = Arc::new(pool::Pool::connect(endpoints, &options.limits, res).await?);
    let closed = CancellationToken::new();
    if let Some(check) = res.health_check {
        health::spawn(&pool, check, closed.clone());
    }
    let (_, transport) = pool
        .ready_now()
        .ok_or_else(|| Error::unavailable(format!("no connection to {shown}")))?;
    let (schema, schemaless) = match options.schema {
        Some(s) => (s, HashSet::new()),
        None => {
            let head = CallHead {
                method: DESCRIBE_METHOD.to_string(),
                timeout: Some(Duration::from_secs(10)),
                ..CallHead::default()
            };
            let reply = transport.unary(head, Bytes::new()).await?;
            let d = DescribeResponse::decode(reply.message)
                .map_err(|e| Error::new(Code::Internal, format!("bad discovery reply: {e}")))?;
            (
                Schema::from_descriptor_set(&d.descriptor_set)?,
                d.schemaless.into_iter().collect(),
            )
        }
    };
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
            config: res.service_config.clone().filter(|c| !c.is_empty()),
            throttle: res.throttle(),
            wait_for_ready: res.wait_for_ready,
            schema,
            schemaless,
            limits: options.limits,
            interceptors: options.interceptors,
            decode: options.decode,
            closed,
        }),
    })
}
