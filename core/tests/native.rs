//! A binding's own objects through the core (`mapping::Input`, `mapping::Output`,
//! `Client::call_native_blocking_in`, `Server::unary_native`): every conformance vector gives the
//! same outcome as with `Value` trees, over inproc and unix, with the echo methods served by a
//! native handler; a bad native reply is the handler's fault; a binding's own conversion error
//! reaches its caller as that error. The same vectors go through CBOR as Node and Go hand
//! values over (`mapping::CborDoc`, `mapping::CborOut`, `Client::call_native`), with the echo
//! served through CBOR too, and give the bytes the `Value` path gives.
//!
//! The "binding" here is a toy object type [`N`] with a view for the plain kinds only, so both
//! the one-pass walk and the general path it falls back to are exercised.

#![allow(clippy::unwrap_used)]

mod common;

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use common::Case;
use hms_ffi_core::codec::{decode_cbor, encode_cbor};
use hms_ffi_core::handler::{BoxFuture, NativeHandler};
use hms_ffi_core::mapping::{CborDoc, CborOut, Input, Output, Scalar, View};
use hms_ffi_core::{
    connect_blocking, runtime, CallOptions, Client, Code, Context, Exchange, JustWait, Value,
};

/// A toy binding's objects: plain kinds it shows the walk, anything else as a `Value` it only
/// converts (`Tree`), and an object whose conversion fails (`Broken`).
#[derive(Debug, Clone, PartialEq)]
enum N {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Raw(Vec<u8>),
    List(Vec<N>),
    Dict(Vec<(N, N)>),
    Tree(Value),
    Broken,
}

fn to_n(v: &Value) -> N {
    match v {
        Value::Null => N::Null,
        Value::Bool(b) => N::Bool(*b),
        Value::Int(i) => N::Int(*i),
        Value::Float(x) => N::Float(*x),
        Value::String(s) => N::Text(s.clone()),
        Value::Bytes(b) => N::Raw(b.clone()),
        Value::List(items) => N::List(items.iter().map(to_n).collect()),
        Value::Map(entries) => N::Dict(entries.iter().map(|(k, v)| (to_n(k), to_n(v))).collect()),
        other => N::Tree(other.clone()),
    }
}

fn from_n(n: &N) -> Result<Value, String> {
    Ok(match n {
        N::Null => Value::Null,
        N::Bool(b) => Value::Bool(*b),
        N::Int(i) => Value::Int(*i),
        N::Float(x) => Value::Float(*x),
        N::Text(s) => Value::String(s.clone()),
        N::Raw(b) => Value::Bytes(b.clone()),
        N::List(items) => Value::List(items.iter().map(from_n).collect::<Result<_, _>>()?),
        N::Dict(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((from_n(k)?, from_n(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        N::Tree(v) => v.clone(),
        N::Broken => return Err("this object cannot be converted".into()),
    })
}

impl Input for &N {
    type Error = String;

    fn view(&self) -> View<'_> {
        match self {
            N::Null => View::Null,
            N::Bool(b) => View::Bool(*b),
            N::Int(i) => View::Int(*i),
            N::Float(x) => View::Float(*x),
            N::Text(s) => View::Str(s),
            N::Raw(b) => View::Bytes(b),
            N::List(_) => View::List,
            N::Dict(_) => View::Map,
            N::Tree(_) | N::Broken => View::Other,
        }
    }

    fn items(&self) -> impl Iterator<Item = Self> + '_ {
        let items: &[N] = match self {
            N::List(items) => items,
            _ => &[],
        };
        items.iter()
    }

    fn entries(&self) -> impl Iterator<Item = (Self, Self)> + '_ {
        let entries: &[(N, N)] = match self {
            N::Dict(entries) => entries,
            _ => &[],
        };
        entries.iter().map(|(k, v)| (k, v))
    }

    fn to_value(&self) -> Result<Cow<'_, Value>, String> {
        from_n(self).map(Cow::Owned)
    }
}

/// Makes [`N`]s.
struct NOut;

impl Output for NOut {
    type Node = N;
    type Error = String;

    fn null(&mut self) -> Option<N> {
        Some(N::Null)
    }

    fn scalar(&mut self, s: Scalar<'_>) -> Option<N> {
        Some(match s {
            Scalar::Bool(b) => N::Bool(b),
            Scalar::Int(i) => N::Int(i),
            Scalar::UInt(u) => N::Tree(Value::UInt(u)),
            Scalar::BigInt(t) => N::Tree(Value::BigInt(t)),
            Scalar::Float(x) => N::Float(x),
            Scalar::Str(t) => N::Text(t.to_string()),
            Scalar::Bytes(b) => N::Raw(b.to_vec()),
        })
    }

    fn list(&mut self, items: Vec<N>) -> Option<N> {
        Some(N::List(items))
    }

    fn map(&mut self, entries: Vec<(N, N)>) -> Option<N> {
        Some(N::Dict(entries))
    }

    fn message<'a>(&mut self, fields: impl ExactSizeIterator<Item = (&'a str, N)>) -> Option<N> {
        Some(N::Dict(
            fields.map(|(k, v)| (N::Text(k.to_string()), v)).collect(),
        ))
    }

    fn value(&mut self, v: Value) -> Result<N, String> {
        Ok(to_n(&v))
    }
}

/// Echoes its request through the toy binding's objects; a request with `unicode_text` "break
/// the reply" answers with a field the response type lacks.
struct NativeEcho;

impl NativeHandler for NativeEcho {
    fn call(
        &self,
        request: Bytes,
        ex: Arc<Exchange>,
        _: Context,
    ) -> BoxFuture<'static, hms_ffi_core::Result<Bytes>> {
        Box::pin(async move {
            let n = ex.request(&request, &mut NOut).unwrap()?;
            let breaks = matches!(&n, N::Dict(e) if e.contains(&(N::Text("unicode_text".into()), N::Text("break the reply".into()))));
            let reply = if breaks {
                N::Dict(vec![(N::Text("no_such_field".into()), N::Int(1))])
            } else {
                n
            };
            ex.reply(&&reply).unwrap()
        })
    }
}

/// Echoes its request through CBOR: the request's CBOR as the reader writes it, read back as
/// the reply's input.
struct CborEcho;

impl NativeHandler for CborEcho {
    fn call(
        &self,
        request: Bytes,
        ex: Arc<Exchange>,
        _: Context,
    ) -> BoxFuture<'static, hms_ffi_core::Result<Bytes>> {
        Box::pin(async move {
            let mut out = CborOut::default();
            let span = ex.request(&request, &mut out)??;
            let cbor = out.finish(span);
            let doc = CborDoc::parse(&cbor, 64)?;
            ex.reply(&doc.root())?
        })
    }
}

fn native_server_with(echo: Arc<dyn NativeHandler>) -> hms_ffi_core::Server {
    let server = common::conformance_server();
    for m in ["Echo", "EchoScalars"] {
        let method = format!("hms.conformance.v1.Conformance/{m}");
        server.unary_native(&method, echo.clone()).unwrap();
    }
    server
}

fn native_server() -> hms_ffi_core::Server {
    native_server_with(Arc::new(NativeEcho))
}

/// Runs every conformance vector against `uri` through `one`, which says why a case failed.
fn run_vectors(uri: &str, mut one: impl FnMut(&Client, &Case, &CallOptions) -> Result<(), String>) {
    let client = connect_blocking(uri).unwrap();
    let cases = common::load_cases();
    assert!(
        cases.len() > 100,
        "the full vector set, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let opts = CallOptions::with_timeout(case.timeout);
        if let Err(why) = one(&client, case, &opts) {
            failures.push(format!("[{uri}] {}/{}: {why}", case.file, case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn run_all(uri: &str) {
    run_vectors(uri, |client, case, opts| {
        let request = to_n(&case.request);
        let outcome = client
            .call_native_blocking_in(&case.method, &&request, opts, &JustWait, &mut NOut)
            .unwrap()
            .map(|reply| from_n(&reply.message).unwrap());
        common::check(case, &outcome)
    });
}

/// Every vector through CBOR on both ends; each reply's CBOR is `encode` of the reply the
/// `Value` path gives.
fn run_all_cbor(uri: &str) {
    run_vectors(uri, |client, case, opts| {
        let request = encode_cbor(&case.request).unwrap();
        let outcome: hms_ffi_core::Result<Vec<u8>> = runtime::block_on(async {
            let doc = CborDoc::parse(&request, 64)?;
            let mut out = CborOut::default();
            let reply = client
                .call_native(&case.method, &doc.root(), opts, &mut out)
                .await??;
            Ok(out.finish(reply.message))
        })
        .unwrap();
        let by_value = client.call_blocking(&case.method, &case.request, opts);
        let same = match (&outcome, &by_value) {
            (Ok(cbor), Ok(v)) => *cbor == encode_cbor(v).unwrap(),
            (Err(a), Err(b)) => (a.code(), a.message()) == (b.code(), b.message()),
            _ => false,
        };
        let outcome = outcome.map(|cbor| decode_cbor(&cbor, 64).unwrap());
        common::check(case, &outcome)?;
        match same {
            true => Ok(()),
            false => Err(format!("CBOR {outcome:?}, Value path {by_value:?}")),
        }
    });
}

#[test]
fn every_vector_has_the_same_outcome_through_cbor() {
    let server = native_server_with(Arc::new(CborEcho));
    run_all_cbor(&server.listen("inproc://cbor-vectors").unwrap());
    let (_dir, uri) = common::unix_uri("cbor");
    run_all_cbor(&server.listen(&uri).unwrap());
}

#[test]
fn every_vector_has_the_same_outcome_with_native_objects() {
    let server = native_server();
    run_all(&server.listen("inproc://native-vectors").unwrap());
    let (_dir, uri) = common::unix_uri("native");
    run_all(&server.listen(&uri).unwrap());
}

#[test]
fn a_bad_native_reply_is_internal_and_a_conversion_error_is_the_bindings() {
    let server = native_server();
    let client = connect_blocking(&server.listen("inproc://native-errors").unwrap()).unwrap();
    let echo = "hms.conformance.v1.Conformance/Echo";
    let opts = CallOptions::with_timeout(std::time::Duration::from_secs(10));
    let call = |n: &N| client.call_native_blocking_in(echo, &n, &opts, &JustWait, &mut NOut);
    let text = |s: &str| N::Dict(vec![(N::Text("unicode_text".into()), N::Text(s.into()))]);
    let reply = call(&text("héllo")).unwrap().unwrap();
    assert_eq!(
        from_n(&reply.message).unwrap().get("unicode_text"),
        Some(&Value::from("héllo"))
    );
    let bad = call(&text("break the reply")).unwrap().unwrap_err();
    assert_eq!(bad.code(), Code::Internal, "{bad}");
    assert!(
        bad.message()
            .starts_with("handler returned an invalid response"),
        "{bad}"
    );
    // An object the walk has no view of goes through the binding's conversion, whose own error
    // the caller gets as it is.
    let broken = N::Dict(vec![(N::Text("unicode_text".into()), N::Broken)]);
    assert_eq!(
        call(&broken).unwrap_err(),
        "this object cannot be converted"
    );
    // A field the request type lacks is the caller's InvalidArgument, as with a Value.
    let unknown = N::Dict(vec![(N::Text("nope".into()), N::Int(1))]);
    let err = call(&unknown).unwrap().unwrap_err();
    let by_value = client
        .call_blocking(echo, &from_n(&unknown).unwrap(), &opts)
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (by_value.code(), by_value.message())
    );
    assert_eq!(err.code(), Code::InvalidArgument);
}
