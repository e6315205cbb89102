//! Python's typed client and servicer bases of each service, and the function that registers a
//! servicer on an `hms_ffi.Server` ([`super::python`] writes the module around them). A client
//! method takes its request as a dict or as keyword arguments, streams as iterables and async
//! iterables; a servicer's methods raise `UNIMPLEMENTED` until overridden.

use hms_ffi_core::StreamingKind;

use super::docs::join;
use super::model::{Method, Service};
use super::python::{docstring, received, sent};
use super::snake;

/// A method's request as sent and as received, and its reply as sent and as received.
fn types(m: &Method) -> [String; 4] {
    [
        sent(&m.input),
        received(&m.input),
        sent(&m.output),
        received(&m.output),
    ]
}

pub(super) fn client(out: &mut String, s: &Service) {
    line!(out);
    line!(out);
    line!(out, "class {}Client:", s.name);
    let doc = format!(
        "Typed calls of ``{}`` over an :class:`hms_ffi.Client`; ``timeout`` (seconds)\nand ``metadata`` apply to every call.",
        s.full_name
    );
    docstring(out, &join(&s.doc, &doc), "    ");
    line!(out);
    line!(out, "    def __init__(self, client: hms_ffi.Client, *, timeout: Optional[float] = None, metadata: Optional[Mapping[str, str]] = None) -> None:");
    line!(out, "        self.client = client");
    line!(out, "        self.timeout = timeout");
    line!(out, "        self.metadata = metadata");
    for m in &s.methods {
        client_method(out, m);
    }
}

fn client_method(out: &mut String, m: &Method) {
    let [req, _, _, rep] = types(m);
    let (name, path) = (snake(&m.name), &m.path);
    let opts = "timeout=self.timeout, metadata=self.metadata";
    let one = format!("request: Optional[{req}] = None, /, **fields: Unpack[{req}]");
    let many = format!("requests: Iterable[{req}]");
    let many_async = format!("requests: Union[Iterable[{req}], AsyncIterable[{req}]]");
    // (arguments, what is sent, returns a stream of replies, a note for the doc)
    let (args, args_async, sent, streams, note) = match m.kind {
        StreamingKind::Unary => (&one, &one, "_request(request, fields)", false, ""),
        StreamingKind::ServerStreaming => (
            &one,
            &one,
            "_request(request, fields)",
            true,
            "The replies, as they come; leaving the loop early cancels the call.",
        ),
        StreamingKind::ClientStreaming => (
            &many,
            &many_async,
            "requests",
            false,
            "Sends every request, then returns the one reply.",
        ),
        StreamingKind::Bidi => (
            &many,
            &many_async,
            "requests",
            true,
            "Sends the requests from a thread while the replies are read.",
        ),
    };
    for is_async in [false, true] {
        let (def, suffix, args) = if is_async {
            ("async def", "_async", args_async)
        } else {
            ("def", "", args)
        };
        let returns = match (streams, is_async) {
            (true, false) => format!("Iterator[{rep}]"),
            (true, true) => format!("AsyncIterator[{rep}]"),
            (false, _) => rep.clone(),
        };
        line!(out);
        line!(out, "    {def} {name}{suffix}(self, {args}) -> {returns}:");
        docstring(
            out,
            &join(&m.doc, if is_async { "" } else { note }),
            "        ",
        );
        let (with, each, wait, stream) = if is_async {
            ("async with", "async for", "await ", "stream_async")
        } else {
            ("with", "for", "", "stream")
        };
        if streams {
            line!(
                out,
                "        {with} self.client.{stream}(\"{path}\", {sent}, {opts}) as stream:"
            );
            line!(out, "            {each} reply in stream:");
            line!(out, "                yield cast({rep}, reply)");
        } else if m.kind == StreamingKind::Unary {
            let call = if is_async { "call_async" } else { "call" };
            line!(
                out,
                "        return cast({rep}, {wait}self.client.{call}(\"{path}\", {sent}, {opts}))"
            );
        } else {
            line!(out, "        return cast({rep}, {wait}self.client.{stream}(\"{path}\", {sent}, {opts}).result())");
        }
    }
}

pub(super) fn servicer(out: &mut String, s: &Service, is_async: bool) {
    let class = if is_async {
        "AsyncServicer"
    } else {
        "Servicer"
    };
    line!(out);
    line!(out);
    line!(out, "class {}{class}:", s.name);
    let how = if is_async {
        "``async def`` methods\n(``async`` generators for streams) run on the server's asyncio loop"
    } else {
        "plain methods\n(generators for streams) run on hms-ffi's threads"
    };
    let doc = format!(
        "The server side of ``{}``: override the methods, as {how}, then\ncall :func:`register_{}`. A method left alone fails with ``UNIMPLEMENTED``.",
        s.full_name,
        snake(&s.name)
    );
    docstring(out, &join(&s.doc, &doc), "    ");
    for m in &s.methods {
        let [_, req, rep, _] = types(m);
        let name = snake(&m.name);
        let requests = if is_async {
            format!("AsyncIterator[{req}]")
        } else {
            format!("Iterator[{req}]")
        };
        let (input, streams_out) = match m.kind {
            StreamingKind::Unary => (req, false),
            StreamingKind::ServerStreaming => (req, true),
            StreamingKind::ClientStreaming => (requests, false),
            StreamingKind::Bidi => (requests, true),
        };
        let output = match (streams_out, is_async) {
            (true, true) => format!("AsyncIterator[{rep}]"),
            (true, false) => format!("Iterator[{rep}]"),
            (false, _) => rep,
        };
        let def = if is_async { "async def" } else { "def" };
        line!(out);
        line!(
            out,
            "    {def} {name}(self, request{}: {input}, ctx: hms_ffi.Context) -> {output}:",
            if input.contains("Iterator") { "s" } else { "" }
        );
        docstring(out, &m.doc, "        ");
        line!(
            out,
            "        raise hms_ffi.Unimplemented(\"{} is not implemented\")",
            m.path
        );
        if is_async && streams_out {
            line!(
                out,
                "        yield  # an async generator, as the binding expects of a streaming method"
            );
        }
    }
}

pub(super) fn register(out: &mut String, s: &Service) {
    line!(out);
    line!(out);
    line!(out, "def register_{}(server: hms_ffi.Server, servicer: Union[{}Servicer, {}AsyncServicer]) -> None:", snake(&s.name), s.name, s.name);
    docstring(
        out,
        &format!(
            "Registers every method of ``{}`` with ``server``, served by ``servicer``.",
            s.full_name
        ),
        "    ",
    );
    for m in &s.methods {
        line!(
            out,
            "    server.add_method(\"{}\", servicer.{})",
            m.path,
            snake(&m.name)
        );
    }
}
