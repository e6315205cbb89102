//! PHP: the streaming methods of typed clients and service bases, in the extension's idiom
//! (`php/src/stream.rs`, `php/stubs/hms_ffi.stubs.php`). A client's server-streaming and bidi
//! methods are Generators of typed replies over `\HmsFfi\Stream`, a client-streaming one takes
//! an iterable of typed requests and returns its reply; a service's streaming methods take a
//! typed request or an `\Iterator` of them (read from `\HmsFfi\Requests` as it is iterated) and
//! give a Generator of replies or one reply, as the extension's streaming handlers do. The
//! package's `hms_map` function maps a stream's values between arrays and message objects.

use hms_ffi_core::StreamingKind;

use super::camel;
use super::docs::block;
use super::model::{Method, Package, Type};
use super::php::php_type;

/// The namespaced `hms_map` function, in a package with streaming methods.
pub(crate) fn helper(out: &mut String, p: &Package) {
    if !p.streams() {
        return;
    }
    line!(out);
    line!(out, "/**");
    line!(
        out,
        " * Yields `$f` of each value of `$items`, as they are read: how typed streams convert."
    );
    line!(out, " *");
    line!(out, " * @template T");
    line!(out, " * @template R");
    line!(out, " * @param iterable<T> $items");
    line!(out, " * @param callable(T): R $f");
    line!(out, " * @return \\Generator<int, R>");
    line!(out, " */");
    line!(
        out,
        "function hms_map(iterable $items, callable $f): \\Generator"
    );
    line!(out, "{{");
    line!(out, "    foreach ($items as $item) {{");
    line!(out, "        yield $f($item);");
    line!(out, "    }}");
    line!(out, "}}");
}

/// A callable reading a received array as the PHP value of `t`.
fn reader(t: &Type) -> String {
    match t {
        Type::Message(n) => format!("fn (array $v): {n} => {n}::fromArray($v)"),
        _ => "fn (array $v): array => $v".to_string(),
    }
}

/// A callable writing the PHP value of `t` as the array the extension sends.
fn writer(t: &Type) -> String {
    match t {
        Type::Message(n) => format!("fn ({n} $v): array => $v->toArray()"),
        _ => "fn (array $v): array => $v".to_string(),
    }
}

/// The typed client method of the streaming method `m`.
pub(crate) fn client_method(out: &mut String, m: &Method) {
    let (req, rep) = (php_type(&m.input), php_type(&m.output));
    let (name, path) = (camel(&m.name), &m.path);
    line!(out);
    out.push_str(&block(&m.doc, "    "));
    let opts = "$this->options";
    let requests = format!("hms_map($requests, {})", writer(&m.input));
    match m.kind {
        StreamingKind::ServerStreaming => {
            let sent = match &m.input {
                Type::Message(_) => "$request->toArray()",
                _ => "$request",
            };
            line!(
                out,
                "    /** @return \\Generator<int, {rep}> replies as the server sends them */"
            );
            line!(
                out,
                "    public function {name}({req} $request): \\Generator"
            );
            line!(out, "    {{");
            line!(
                out,
                "        return hms_map($this->client->stream('{path}', {sent}, {opts}), {});",
                reader(&m.output)
            );
        }
        StreamingKind::ClientStreaming => {
            line!(
                out,
                "    /** @param iterable<{req}> $requests sent as the server reads them */"
            );
            line!(out, "    public function {name}(iterable $requests): {rep}");
            line!(out, "    {{");
            line!(
                out,
                "        $reply = $this->client->stream('{path}', {requests}, {opts})->result();"
            );
            line!(out, "        return ({})($reply);", reader(&m.output));
        }
        _ => {
            line!(out, "    /**");
            line!(out, "     * @param iterable<{req}> $requests sent before the replies are read (PHP has one thread)");
            line!(out, "     * @return \\Generator<int, {rep}>");
            line!(out, "     */");
            line!(
                out,
                "    public function {name}(iterable $requests): \\Generator"
            );
            line!(out, "    {{");
            line!(
                out,
                "        return hms_map($this->client->stream('{path}', {requests}, {opts}), {});",
                reader(&m.output)
            );
        }
    }
    line!(out, "    }}");
}

/// The registration of the streaming method `m` in `register()`.
pub(crate) fn register(out: &mut String, m: &Method) {
    let (path, name) = (&m.path, camel(&m.name));
    let requests = format!("hms_map($requests, {})", reader(&m.input));
    let (enc, ctx) = (writer(&m.output), "\\HmsFfi\\Context $ctx");
    let input = match &m.input {
        Type::Message(t) => format!("{t}::fromArray($req)"),
        _ => "$req".to_string(),
    };
    let handler = match m.kind {
        StreamingKind::ServerStreaming => format!("fn (array $req, {ctx}): \\Generator => hms_map($impl->{name}({input}, $ctx), {enc})"),
        StreamingKind::ClientStreaming => format!("fn (\\HmsFfi\\Requests $requests, {ctx}): array => ({enc})($impl->{name}({requests}, $ctx))"),
        _ => format!("fn (\\HmsFfi\\Requests $requests, {ctx}): \\Generator => hms_map($impl->{name}({requests}, $ctx), {enc})"),
    };
    line!(out, "        $server->method('{path}', {handler});");
}

/// The docblock and signature of the service base's streaming method `m`.
pub(crate) fn service_method(m: &Method) -> (String, String) {
    let (req, rep) = (php_type(&m.input), php_type(&m.output));
    let name = camel(&m.name);
    let ctx = "\\HmsFfi\\Context $ctx";
    let requests = format!("@param \\Iterator<int, {req}> $requests read as it is iterated");
    let replies = format!("@return \\Generator<int, {rep}> replies, sent as the caller reads them");
    match m.kind {
        StreamingKind::ServerStreaming => (
            replies,
            format!("{name}({req} $request, {ctx}): \\Generator"),
        ),
        StreamingKind::ClientStreaming => (
            requests,
            format!("{name}(\\Iterator $requests, {ctx}): {rep}"),
        ),
        _ => (
            format!("{requests}\n{replies}"),
            format!("{name}(\\Iterator $requests, {ctx}): \\Generator"),
        ),
    }
}
