//! Kotlin: the streaming methods of typed clients and services, in the Kotlin binding's idiom
//! and grpc-kotlin's shape. The client has a blocking method over the binding's `Stream`
//! (`io.github.hmsffi.TypedStream`, an `Iterator` of typed replies with a typed `send`) and a
//! coroutine one over `Client.streamFlow`: a server-streaming call is `chatter(request)` (an
//! iterator) and `chatterFlow(request)` (a cold `Flow`); a client-streaming call takes an
//! `Iterable` (blocking) or a `Flow` (`suspend …Async`) of requests and returns the reply; a
//! bidirectional call is `bidi()` (send and iterate by hand) or `bidiFlow(requests)`. The
//! service's handlers are grpc-kotlin's: `Flow` replies, `Flow` requests, a `suspend` method for
//! the one reply of a client stream, registered with the binding's `…StreamFlow` handlers.

use std::collections::BTreeSet;

use hms_ffi_core::StreamingKind;

use super::camel;
use super::docs::{block, join};
use super::kotlin::{from_value, to_value};
use super::kotlin_types::kt_type;
use super::model::{Method, Package, Service, Type};

/// The imports the streaming methods of a package's services use (none without streams).
pub(crate) fn imports(p: &Package) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    for m in p.services.iter().flat_map(|s| &s.methods) {
        let (flow, map) = (
            "kotlinx.coroutines.flow.Flow",
            "kotlinx.coroutines.flow.map",
        );
        let more: &[&str] = match m.kind {
            StreamingKind::Unary => continue,
            StreamingKind::ServerStreaming => &[
                "io.github.hmsffi.TypedStream",
                "io.github.hmsffi.serverStreamFlow",
                "kotlinx.coroutines.flow.flowOf",
            ],
            StreamingKind::ClientStreaming => &[
                "io.github.hmsffi.clientStreamFlow",
                "kotlinx.coroutines.flow.single",
            ],
            StreamingKind::Bidi => &[
                "io.github.hmsffi.TypedStream",
                "io.github.hmsffi.bidiStreamFlow",
            ],
        };
        out.extend([flow, map]);
        out.extend(more);
    }
    out
}

/// The streaming methods of a service (what [`super::unary`] leaves out).
pub(crate) fn streaming(s: &Service) -> impl Iterator<Item = &Method> {
    s.methods.iter().filter(|m| m.kind != StreamingKind::Unary)
}

/// A lambda turning its argument (an object of type `t`) into the value the binding sends.
fn encode(t: &Type) -> String {
    format!("{{ {} }}", to_value(t, "it"))
}

/// A lambda reading its argument (a value the binding gives) as an object of type `t`.
fn decode(t: &Type) -> String {
    format!("{{ {} }}", from_value(t, "it"))
}

/// The typed client methods (blocking and coroutine) of the streaming method `m`.
pub(crate) fn client_method(out: &mut String, m: &Method) {
    let (req, rep) = (kt_type(&m.input), kt_type(&m.output));
    let (enc, dec) = (encode(&m.input), decode(&m.output));
    let (name, path) = (camel(&m.name), &m.path);
    let opts = "timeout, metadata";
    let typed = format!("TypedStream(client.stream(\"{path}\", {{REQ}}, {opts}), {enc}, {dec})");
    let doc = |what: &str| block(&join(&m.doc, what), "    ");
    match m.kind {
        StreamingKind::ServerStreaming => {
            out.push_str(&doc(&format!(
                "The replies of {path}, read as iterated (blocking); `close` cancels\nthe call."
            )));
            line!(
                out,
                "    public fun {name}(request: {req}): TypedStream<{req}, {rep}> ="
            );
            let first = to_value(&m.input, "request");
            line!(out, "        {}", typed.replace("{REQ}", &first));
            line!(out);
            line!(out, "    /** [{name}] as a cold [Flow]: collecting calls; stopping early cancels the call. */");
            line!(
                out,
                "    public fun {name}Flow(request: {req}): Flow<{rep}> ="
            );
            line!(out, "        client.streamFlow(\"{path}\", flowOf(request).map {enc}, {opts}).map {dec}");
        }
        StreamingKind::ClientStreaming => {
            out.push_str(&doc(&format!("Calls {path} with [requests], sent as the server reads them; returns\nits one reply.")));
            line!(
                out,
                "    public fun {name}(requests: Iterable<{req}>): {rep} ="
            );
            let call = format!("client.stream(\"{path}\", requests.asSequence().map {enc}, {opts}).use {{ it.result() }}");
            line!(out, "        {}", from_value(&m.output, &call));
            line!(out);
            line!(
                out,
                "    /** [{name}] as a suspending call over a [Flow] of requests. */"
            );
            line!(
                out,
                "    public suspend fun {name}Async(requests: Flow<{req}>): {rep} ="
            );
            let call =
                format!("client.streamFlow(\"{path}\", requests.map {enc}, {opts}).single()");
            line!(out, "        {}", from_value(&m.output, &call));
        }
        _ => {
            out.push_str(&doc(&format!("Opens {path}: `send` and `closeSend` the requests, iterate the replies\n(blocking); `close` cancels the call.")));
            line!(out, "    public fun {name}(): TypedStream<{req}, {rep}> =");
            line!(out, "        {}", typed.replace("{REQ}", "null"));
            line!(out);
            line!(
                out,
                "    /** [{name}] as a cold [Flow] of replies to the [Flow] of [requests]. */"
            );
            line!(
                out,
                "    public fun {name}Flow(requests: Flow<{req}>): Flow<{rep}> ="
            );
            line!(
                out,
                "        client.streamFlow(\"{path}\", requests.map {enc}, {opts}).map {dec}"
            );
        }
    }
}

/// The service interface's handler method of the streaming method `m`, defaulting to
/// UNIMPLEMENTED.
pub(crate) fn service_method(out: &mut String, m: &Method) {
    let (req, rep) = (kt_type(&m.input), kt_type(&m.output));
    let name = camel(&m.name);
    out.push_str(&block(&m.doc, "    "));
    let sig = match m.kind {
        StreamingKind::ServerStreaming => {
            format!("fun {name}(request: {req}, ctx: CallContext): Flow<{rep}>")
        }
        StreamingKind::ClientStreaming => {
            format!("suspend fun {name}(requests: Flow<{req}>, ctx: CallContext): {rep}")
        }
        _ => format!("fun {name}(requests: Flow<{req}>, ctx: CallContext): Flow<{rep}>"),
    };
    line!(out, "    public {sig} =");
    line!(
        out,
        "        throw hmsError(Code.UNIMPLEMENTED, \"{} is not implemented\")",
        m.path
    );
    line!(out);
}

/// The registration of the streaming method `m` in `register` (inside its body).
pub(crate) fn register(out: &mut String, m: &Method) {
    let (enc, dec) = (encode(&m.output), decode(&m.input));
    let (name, path) = (camel(&m.name), &m.path);
    let call = match m.kind {
        StreamingKind::ServerStreaming => {
            let first = from_value(&m.input, "req");
            format!("serverStreamFlow(\"{path}\") {{ req, ctx -> impl.{name}({first}, ctx).map {enc} }}")
        }
        StreamingKind::ClientStreaming => format!(
            "clientStreamFlow(\"{path}\") {{ reqs, ctx -> {} }}",
            to_value(&m.output, &format!("impl.{name}(reqs.map {dec}, ctx)"))
        ),
        _ => format!(
            "bidiStreamFlow(\"{path}\") {{ reqs, ctx -> impl.{name}(reqs.map {dec}, ctx).map {enc} }}"
        ),
    };
    line!(out, "            server.{call}");
}
