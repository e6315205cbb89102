//! Go: the streaming methods of typed clients and servers, in the Go binding's idiom
//! (`go/stream.go`, `go/stream_server.go`). A server-streaming call is an
//! `iter.Seq2[*Reply, error]` and its handler gets a typed `send`; a client-streaming call
//! takes an `iter.Seq[*Request]` and its handler an `iter.Seq2[*Request, error]`; a
//! bidirectional one is a typed `BidiStreamingClient` / `BidiStreamingServer` (named as
//! grpc-go names its generic streams) over the binding's `ClientStream` / `ServerStream`.

use hms_ffi_core::StreamingKind;

use super::docs::{self, join};
use super::go::{decoder, go_type};
use super::model::Method;

/// The helpers a package with streaming methods carries.
pub(crate) const HELPERS: &str = include_str!("go_stream_helpers.go.txt");

/// The typed client method of the streaming method `m` of the client type `n`.
pub(crate) fn client_method(out: &mut String, n: &str, m: &Method) {
    let (req, rep, dec) = (go_type(&m.input), go_type(&m.output), decoder(&m.output));
    let (name, path) = (&m.name, &m.path);
    line!(out);
    let doc = match m.kind {
        StreamingKind::ServerStreaming => format!("{name} calls {path} and yields its replies; an error ends the sequence (yielded\nonce), and breaking out of the loop cancels the call."),
        StreamingKind::ClientStreaming => format!("{name} calls {path} with the requests of reqs, sent as the server reads them,\nand returns its one reply."),
        _ => format!("{name} opens the bidirectional call {path}. The context bounds the whole call."),
    };
    out.push_str(&docs::lines(&join(&doc, &m.doc), "", "// "));
    match m.kind {
        StreamingKind::ServerStreaming => {
            line!(out, "func (c *{n}Client) {name}(ctx context.Context, req {req}) iter.Seq2[{rep}, error] {{");
            line!(
                out,
                "\treturn hmsSeq2(c.Client.ServerStream(ctx, \"{path}\", req.AsValue()), {dec})"
            );
        }
        StreamingKind::ClientStreaming => {
            line!(out, "func (c *{n}Client) {name}(ctx context.Context, reqs iter.Seq[{req}]) ({rep}, error) {{");
            line!(
                out,
                "\treply, err := c.Client.ClientStream(ctx, \"{path}\", hmsSeqOut(reqs))"
            );
            line!(out, "\tif err != nil {{");
            line!(out, "\t\treturn nil, err");
            line!(out, "\t}}");
            line!(out, "\treturn {dec}(reply), nil");
        }
        _ => {
            let t = format!("BidiStreamingClient[{req}, {rep}]");
            line!(
                out,
                "func (c *{n}Client) {name}(ctx context.Context) (*{t}, error) {{"
            );
            line!(out, "\tstream, err := c.Client.Stream(ctx, \"{path}\")");
            line!(out, "\tif err != nil {{");
            line!(out, "\t\treturn nil, err");
            line!(out, "\t}}");
            line!(out, "\treturn &{t}{{stream, {dec}}}, nil");
        }
    }
    line!(out, "}}");
}

/// The server interface's method of the streaming method `m`.
pub(crate) fn server_method(m: &Method) -> String {
    let (req, rep) = (go_type(&m.input), go_type(&m.output));
    let name = &m.name;
    match m.kind {
        StreamingKind::ServerStreaming => {
            format!("{name}(ctx context.Context, req {req}, send func({rep}) error) error")
        }
        StreamingKind::ClientStreaming => {
            format!("{name}(ctx context.Context, reqs iter.Seq2[{req}, error]) ({rep}, error)")
        }
        _ => {
            format!("{name}(ctx context.Context, stream *BidiStreamingServer[{req}, {rep}]) error")
        }
    }
}

/// The registration of the streaming method `m` in `Register…Server` (inside its body).
pub(crate) fn register(out: &mut String, m: &Method) {
    let (req, rep, dec) = (go_type(&m.input), go_type(&m.output), decoder(&m.input));
    let (name, path) = (&m.name, &m.path);
    match m.kind {
        StreamingKind::ServerStreaming => {
            line!(out, "\tif err := s.HandleServerStream(\"{path}\", func(ctx context.Context, req map[string]any, send func(map[string]any) error) error {{");
            line!(out, "\t\treturn impl.{name}(ctx, {dec}(req), func(reply {rep}) error {{ return send(reply.AsValue()) }})");
        }
        StreamingKind::ClientStreaming => {
            line!(out, "\tif err := s.HandleClientStream(\"{path}\", func(ctx context.Context, reqs iter.Seq2[map[string]any, error]) (map[string]any, error) {{");
            line!(
                out,
                "\t\treply, err := impl.{name}(ctx, hmsSeq2(reqs, {dec}))"
            );
            line!(out, "\t\tif err != nil {{");
            line!(out, "\t\t\treturn nil, err");
            line!(out, "\t\t}}");
            line!(out, "\t\treturn reply.AsValue(), nil");
        }
        _ => {
            line!(out, "\tif err := s.HandleBidiStream(\"{path}\", func(ctx context.Context, stream *hmsffi.ServerStream) error {{");
            line!(
                out,
                "\t\treturn impl.{name}(ctx, &BidiStreamingServer[{req}, {rep}]{{stream, {dec}}})"
            );
        }
    }
    line!(out, "\t}}); err != nil {{");
    line!(out, "\t\treturn err");
    line!(out, "\t}}");
}
