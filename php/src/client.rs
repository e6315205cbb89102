//! `HmsFfi\Client`: a connection; a call blocks the PHP thread until its reply or error.

use std::collections::BTreeMap;

use ext_php_rs::boxed::ZBox;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::convert;
use crate::converters::{Convs, PhpIn};
use crate::errors::{self, php_result};
use crate::ocore::{self, runtime, JustWait, Reply, StreamCall};
use crate::options::{call_options, json_text, uri_list};
use crate::pending::{self, PendingCall};
use crate::pump;
use crate::schema::{method_list, version_array, MethodRow, Schema};
use crate::stream::{until, Stream};
use crate::walk::PhpOut;

/// A connection to a server.
#[php_class]
#[derive(Debug)]
#[php(name = "HmsFfi\\Client")]
pub struct Client {
    inner: ocore::Client,
    /// The converters of custom domain types (docs/converters.md).
    convs: Convs,
}

#[php_impl]
impl Client {
    /// Connects to an endpoint URI, or a list of endpoints of one service, and discovers the
    /// server's schema, or uses `$schema` (needed for servers without hms-ffi discovery, such
    /// as a stock gRPC server). Options: `resilience`, an array (or its JSON text) of
    /// reconnect backoff, retry and hedging policies (a gRPC service config), keepalive, load
    /// balancing and health checks, as docs/resilience.md describes; bad options throw
    /// `InvalidArgumentException`. `expect_schema`, the `Schema` the caller was built
    /// against: the methods the server's schema breaks are listed by `incompatibleMethods()`,
    /// and calling one throws `FailedPreconditionException` (reason `INCOMPATIBLE_SCHEMA`)
    /// before anything is sent (docs/evolution.md, "Versions at connect"). `converters`, a list
    /// of `HmsFfi\Converter` for custom domain types (docs/converters.md); absent, the
    /// built-ins (`Converter::builtins()`), `[]` for none.
    ///
    /// @param string|list<string> $uri
    /// `revision` (a label or fingerprint the server announces) chooses a schema revision the
    /// server serves beside its main one: every call then carries `hms-schema-revision`.
    ///
    /// @param array{resilience?: array<string, mixed>|string, expect_schema?: Schema, converters?: list<Converter>, revision?: string} $options
    pub fn connect(
        uri: &Zval,
        schema: Option<&Schema>,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Client> {
        let uris = uri_list(uri)?;
        let mut connect = ocore::ConnectOptions {
            schema: schema.map(|s| s.inner.clone()),
            decode: crate::convert::DECODE,
            ..Default::default()
        };
        let mut converters = None;
        for entry in options.into_iter().flat_map(convert::named_entries) {
            let (key, value) = entry?;
            match key.as_str() {
                "converters" => converters = Some(value),
                "resilience" => {
                    let json = json_text(value, "resilience")?;
                    connect.resilience = php_result(ocore::Resilience::from_json(&json))?
                }
                "expect_schema" => {
                    let expected = value.extract::<&Schema>().ok_or_else(|| {
                        errors::bad_option("'expect_schema' must be a HmsFfi\\Schema".into())
                    })?;
                    connect.expect_schema = Some(expected.inner.clone());
                }
                "revision" => {
                    let label = value
                        .string()
                        .ok_or_else(|| errors::bad_option("'revision' must be a string".into()))?;
                    connect.revision = Some(label);
                }
                other => {
                    let known = "resilience, expect_schema, converters, revision";
                    let message = format!("unknown connect option '{other}' (known: {known})");
                    return Err(errors::bad_option(message));
                }
            }
        }
        let convs = Convs::from_option(converters)?;
        connect.converters = convs.registry();
        let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
        let r = runtime::block_on(ocore::connect_all(&uris, connect)).and_then(|r| r);
        php_result(r).map(|inner| Client { inner, convs })
    }

    /// The connection's state: `idle` (lost; the next call reconnects), `connecting`,
    /// `ready`, `transient_failure` (waiting to retry) or `shutdown` (closed); with several
    /// endpoints, the best of theirs.
    pub fn state(&self) -> String {
        self.inner.state().name().to_string()
    }

    /// Where calls go now, while connected: for `auto://NAME` the transport it picked
    /// (`inproc://NAME`, `shm://NAME`, a `unix://` socket or a network URI), else the endpoint
    /// itself; null while no connection is up.
    pub fn transport(&self) -> Option<String> {
        self.inner.transport()
    }

    /// Each endpoint given to `connect()`, in order: `['uri' => …, 'state' => …, 'ejected' =>
    /// bool, 'connected' => ?string]` (`connected`: where its connection goes while it is up).
    ///
    /// @return list<array{uri: string, state: string, ejected: bool, connected: ?string}>
    pub fn endpoints(&self) -> PhpResult<Vec<Zval>> {
        let rows = self.inner.endpoints().into_iter().map(|e| {
            let mut row = ZendHashTable::new();
            row.insert("uri", e.endpoint)?;
            row.insert("state", e.state.name())?;
            row.insert("ejected", e.ejected)?;
            row.insert("connected", e.connected)?;
            let mut z = Zval::new();
            z.set_hashtable(row);
            Ok(z)
        });
        rows.collect::<Result<_, ext_php_rs::error::Error>>()
            .map_err(|e| {
                let what = format!("the endpoints could not become PHP arrays: {e}");
                errors::to_php(ocore::Error::new(ocore::Code::Internal, what))
            })
    }

    /// Calls a unary method and returns the reply. Options: `timeout` (seconds), `metadata`
    /// (`['key' => 'value']`) and `wait_for_ready` (wait for a connection up to the deadline
    /// instead of failing at once; default: the client's `waitForReady`). Errors are
    /// `HmsFfi\…Exception`s.
    ///
    /// @param array<string, mixed> $request
    /// @param array{timeout?: float|int, metadata?: array<string, string>, detach?: bool, wait_for_ready?: bool} $options
    /// @return array<string, mixed>
    pub fn call(
        &self,
        method: &str,
        request: &ZendHashTable,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        Ok(self.blocking(method, request, options)?.message)
    }

    /// `call()`, returning `['reply' => array, 'headers' => array, 'trailers' => array]`: the
    /// reply with the response headers and trailers the handler set (first value of each
    /// key). A failed call's are on the exception (`getHeaders()`, `getTrailers()`).
    ///
    /// @param array<string, mixed> $request
    /// @param array{timeout?: float|int, metadata?: array<string, string>, detach?: bool, wait_for_ready?: bool} $options
    /// @return array{reply: array<string, mixed>, headers: array<string, string>, trailers: array<string, string>}
    pub fn call_with_metadata(
        &self,
        method: &str,
        request: &ZendHashTable,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        pending::with_metadata(self.blocking(method, request, options)?)
    }

    /// Calls every `[$method, $request]` of `$calls` as one batch and returns one entry per
    /// call, in order: the reply, or the call's `HmsFfi\…Exception` object (returned, not
    /// thrown). `timeout` is one deadline for the whole batch; a failed call does not stop the
    /// others; `metadata` and `wait_for_ready` apply to every call. More than 100 000 calls
    /// throw `HmsFfi\InvalidArgumentException` before anything is sent.
    ///
    /// @param list<array{0: string, 1: array<string, mixed>}> $calls
    /// @param array{timeout?: float|int, metadata?: array<string, string>, detach?: bool, wait_for_ready?: bool} $options
    /// @return list<array<string, mixed>|\HmsFfi\Exception>
    pub fn batch(
        &self,
        calls: &ZendHashTable,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Vec<Zval>> {
        crate::batch::batch(&self.inner, &self.convs, calls, call_options(options)?)
    }

    /// Starts a call and returns at once: the `PendingCall` is polled (`isDone()`), waited on
    /// (`wait()`) or cancelled (`cancel()`) by this thread; several may be in flight at once.
    /// Options as for `call()`.
    ///
    /// @param array<string, mixed> $request
    /// @param array{timeout?: float|int, metadata?: array<string, string>, detach?: bool, wait_for_ready?: bool} $options
    pub fn start(
        &self,
        method: &str,
        request: &ZendHashTable,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<PendingCall> {
        let opts = call_options(options)?;
        let zv = array_zval(request);
        // Walked to bytes here, on the PHP thread; a request the core refuses is the call's
        // error (thrown by `wait()`), PHP's own failure is thrown now.
        let input = PhpIn::new(&zv, &self.convs);
        let walked = self.inner.encode_request(method, &input, &opts);
        let walked = walked.map_err(|f| f.into_native(errors::to_php))?;
        Ok(PendingCall::start(
            self.inner.clone(),
            walked,
            opts,
            self.convs.clone(),
        ))
    }

    /// Opens a streaming call: `foreach ($client->stream(...) as $reply)` reads the replies.
    /// `$requests` is the one request of a server-streaming call (sent at once), or an iterable
    /// (a list, a `Generator`) of requests, sent as the replies are read: the next request is
    /// taken only when no reply is waiting, and the stream is half-closed after the last one
    /// (`result()` sends them all first). Without them, `send()`/`closeSend()` by hand.
    /// Options as for `call()`; the timeout bounds the whole stream.
    ///
    /// @param array<string, mixed>|iterable<array<string, mixed>>|null $requests
    /// @param array{timeout?: float|int, metadata?: array<string, string>, detach?: bool, wait_for_ready?: bool} $options
    pub fn stream(
        &self,
        method: &str,
        requests: Option<&Zval>,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Stream> {
        let opts = call_options(options)?;
        // Opening needs no handler of this thread; running one now (a streaming handler of a
        // server of this process) could wait for requests this caller has not sent yet.
        let opened = runtime::block_on(StreamCall::open(&self.inner, method, &opts));
        let call = php_result(opened.and_then(|r| r))?;
        let mut stream = Stream::new(call, self.convs.clone());
        if let Some(requests) = requests.filter(|r| !r.is_null()) {
            stream.give(requests)?;
        }
        Ok(stream)
    }

    /// Every method the server offers: list of `['name' =>, 'input' =>, 'output' =>, 'kind' =>]`.
    ///
    /// @return list<array{name: string, input: string, output: string, kind: string}>
    pub fn methods(&self) -> Vec<MethodRow> {
        method_list(self.inner.schema())
    }

    /// The server's schema.
    pub fn schema(&self) -> Schema {
        Schema {
            inner: self.inner.schema().clone(),
        }
    }

    /// The schema version the server announced in discovery: `['fingerprint' => 'sha256:…',
    /// 'subject' => …, 'version' => …]` (subject `''` and version 0 when the server does not
    /// know them), or null when the schema was given rather than discovered.
    ///
    /// @return array{fingerprint: string, subject: string, version: int}|null
    pub fn schema_version(&self) -> PhpResult<Option<ZBox<ZendHashTable>>> {
        self.inner.schema_version().map(version_array).transpose()
    }

    /// The fingerprint of the schema revision this client speaks, `null` for the main schema.
    pub fn revision(&self) -> Option<String> {
        self.inner.revision().map(str::to_string)
    }

    /// The revisions the server announced beside its main schema, `[label => fingerprint]`.
    ///
    /// @return array<string, string>
    pub fn revisions(&self) -> BTreeMap<String, String> {
        let v = self.inner.schema_version();
        v.map(|v| v.revisions.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The methods of `expect_schema` that the server's schema breaks, each with its findings
    /// (`path:line:column:RULE_ID message`); `[]` when none is.
    ///
    /// @return array<string, list<string>>
    pub fn incompatible_methods(&self) -> BTreeMap<String, Vec<String>> {
        self.inner.incompatible_method_texts().into_iter().collect()
    }

    /// The endpoint connected to.
    pub fn endpoint(&self) -> String {
        self.inner.endpoint().to_string()
    }

    /// Closes the connection: calls in flight and later ones fail with `CancelledException`.
    pub fn close(&self) {
        self.inner.close();
    }
}

impl Client {
    /// One call, blocking this thread: the request is walked to bytes from its PHP values and
    /// the reply made PHP values from its bytes by the core's walk (walk.rs), no `Value` tree
    /// either way. It runs this thread's servers' handlers meanwhile (a PHP server of this
    /// process may be the one called).
    fn blocking(
        &self,
        method: &str,
        request: &ZendHashTable,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Reply<Zval>> {
        let opts = call_options(options)?;
        let zv = array_zval(request);
        let input = PhpIn::new(&zv, &self.convs);
        let mut out = PhpOut::new(&self.convs);
        let client = &self.inner;
        let made = if pump::has_local_servers() {
            client
                .encode_request(method, &input, &opts)
                .and_then(|encoded| match encoded {
                    Ok(encoded) => {
                        let (c, o) = (client.clone(), opts.clone());
                        match until(async move { c.call_encoded(encoded, &o).await }) {
                            Ok(reply) => client.decode_reply(reply, &mut out),
                            Err(e) => Ok(Err(e)),
                        }
                    }
                    Err(e) => Ok(Err(e)),
                })
        } else {
            client.call_native_blocking_in(method, &input, &opts, &JustWait, &mut out)
        };
        php_result(made.map_err(|f| f.into_native(errors::to_php))?)
    }
}

/// A request array as a zval for the walk (a shallow copy: its values are shared).
fn array_zval(request: &ZendHashTable) -> Zval {
    let mut zv = Zval::new();
    zv.set_hashtable(request.to_owned());
    zv
}
