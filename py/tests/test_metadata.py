"""Response metadata: ctx.set_header / ctx.set_trailer reach Client.call_with_metadata over
every transport the binding serves, and ctx.send_headers() sends a stream's headers ahead of its
first reply (the rules themselves are the core's, tested there)."""

import base64
import time

import pytest

import hms_ffi
from vectors import PROTO, SERVICE

ECHO = f"{SERVICE}/Echo"


def _unb64(text: str) -> bytes:
    """gRPC sends binary metadata as unpadded base64."""
    return base64.b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(params=["inproc", "unix", "grpc", "http", "ws"])
def uri(request: pytest.FixtureRequest, tmp_path) -> str:
    return {
        "inproc": f"inproc://py-meta-{id(tmp_path)}",
        "unix": f"unix://{tmp_path}/meta.sock",
    }.get(request.param, f"{request.param}://127.0.0.1:0")


def test_handler_sets_headers_and_trailers(uri) -> None:
    server = hms_ffi.Server(hms_ffi.Schema.load(PROTO))
    refused = []

    @server.method(ECHO)
    def echo(req, ctx):
        ctx.set_header("x-echo", ctx.metadata["x-in"])
        ctx.set_header("x-raw-bin", b"\x00\xff\x10")
        ctx.set_trailer("x-done", "yes")
        ctx.set_trailer("x-sum-bin", bytes([len(req["unicode_text"])]))
        for key, value in [("grpc-status", "0"), ("x-bad", "line\nbreak"), ("x-text", b"bytes need -bin")]:
            try:
                ctx.set_header(key, value)
            except hms_ffi.InvalidArgument as e:
                refused.append(e.code)
        return req

    bound = server.listen(uri)
    client = hms_ffi.connect(bound)
    try:
        reply, headers, trailers = client.call_with_metadata(ECHO, {"unicode_text": "abc"}, metadata={"x-in": "hello"})
        assert reply["unicode_text"] == "abc"
        assert headers["x-echo"] == "hello"
        assert _unb64(headers["x-raw-bin"]) == b"\x00\xff\x10"
        assert "x-done" not in headers
        assert trailers["x-done"] == "yes"
        assert _unb64(trailers["x-sum-bin"]) == b"\x03"
        assert "x-echo" not in trailers
        assert refused == [hms_ffi.Code.INVALID_ARGUMENT] * 3
        # The plain call still returns just the reply.
        assert client.call(ECHO, {"unicode_text": "x"}, metadata={"x-in": "h"})["unicode_text"] == "x"
    finally:
        client.close()
        server.shutdown()


@pytest.mark.parametrize("transport", ["inproc", "unix", "ws", "grpc"])
def test_a_stream_handler_sends_its_headers_before_any_reply(transport, tmp_path) -> None:
    server = hms_ffi.Server(hms_ffi.Schema.load(PROTO))
    late = []

    @server.method(f"{SERVICE}/Bidi")
    def bidi(requests, ctx):
        ctx.set_header("x-early", "yes")
        ctx.send_headers()
        try:
            ctx.set_header("x-late", "1")
        except hms_ffi.FailedPrecondition as e:
            late.append(e.code)
        for r in requests:
            yield r

    uri = {
        "inproc": f"inproc://py-early-{id(tmp_path)}",
        "unix": f"unix://{tmp_path}/early.sock",
    }.get(transport, f"{transport}://127.0.0.1:0")
    client = hms_ffi.connect(server.listen(uri))
    try:
        with client.stream(f"{SERVICE}/Bidi", timeout=10) as s:
            # Nothing sent, nothing read: the headers come on their own.
            deadline = time.monotonic() + 5
            while s.headers is None and time.monotonic() < deadline:
                time.sleep(0.005)
            assert s.headers is not None, "no headers before a reply"
            assert s.headers.get("x-early") == "yes"
            assert "x-late" not in s.headers
            s.send({"unicode_text": "a"})
            assert next(s)["unicode_text"] == "a"
            s.close_send()
            assert list(s) == []
        assert late == [hms_ffi.Code.FAILED_PRECONDITION]
    finally:
        client.close()
        server.shutdown()
