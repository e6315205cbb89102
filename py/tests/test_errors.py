"""Errors keep their kind both ways, and a failing handler never stops the server."""

import pytest

import hms_ffi
from vectors import SERVICE, conformance_server

ECHO = f"{SERVICE}/Echo"


def test_one_class_per_code() -> None:
    for code in hms_ffi.Code:
        if code is hms_ffi.Code.OK:
            continue
        cls = hms_ffi.ERROR_CLASSES[code]
        assert issubclass(cls, hms_ffi.Error) and cls is not hms_ffi.Error
        assert cls.code is code
        assert cls.__name__.upper() == code.name.replace("_", "")
    assert issubclass(hms_ffi.InvalidArgument, ValueError)


def test_python_exception_becomes_internal_with_traceback(served) -> None:
    server, client = served
    fresh = hms_ffi.Server(server.schema)

    @fresh.method(ECHO)
    def boom(req, ctx):
        raise KeyError("no such thing")

    fresh.listen("inproc://py-errors-boom")
    c = hms_ffi.connect("inproc://py-errors-boom")
    with pytest.raises(hms_ffi.Internal) as info:
        c.call(ECHO, {})
    err = info.value
    assert err.code is hms_ffi.Code.INTERNAL
    assert "KeyError" in err.message and "no such thing" in err.message
    debug = err.details["debug_info"]
    assert debug["detail"] == "KeyError: 'no such thing'"
    assert any("raise KeyError" in line for line in debug["stack_entries"])
    assert err.origin == {"language": "python", "service": SERVICE, "method": "Echo"}
    # The server keeps serving.
    with pytest.raises(hms_ffi.Internal):
        c.call(ECHO, {})
    fresh.shutdown()


def test_hms_error_keeps_its_code_message_and_violations(served) -> None:
    _, client = served
    with pytest.raises(hms_ffi.InvalidArgument) as info:
        client.call(f"{SERVICE}/Fail", {"code": "INVALID_ARGUMENT", "message": "bad order", "violation_paths": ["items[2].price"]})
    assert info.value.message == "bad order"
    assert info.value.field_violations == [("items[2].price", "rejected by the handler")]
    with pytest.raises(hms_ffi.NotFound, match="NOT_FOUND: gone"):
        client.call(f"{SERVICE}/Fail", {"code": "NOT_FOUND", "message": "gone"})
    assert client.call(ECHO, {"unicode_text": "ok"})["unicode_text"] == "ok"


def test_a_reraised_error_keeps_its_error_info_and_origin(served) -> None:
    server, _ = served
    upstream = hms_ffi.Server(server.schema)
    relay = hms_ffi.Server(server.schema)

    @upstream.method(ECHO)
    def fail(req, ctx):
        raise hms_ffi.NotFound(
            "no user 7",
            {
                "error_info": {"reason": "NO_SUCH_USER", "domain": "users.example", "metadata": {"id": "7"}},
                "origin": {"language": "go", "service": "users.v1.Users", "method": "Get"},
            },
        )

    upstream.listen("inproc://py-errors-upstream")
    up_client = hms_ffi.connect("inproc://py-errors-upstream")

    @relay.method(ECHO)
    def forward(req, ctx):
        try:
            return up_client.call(ECHO, req)
        except hms_ffi.Error as e:
            raise e

    relay.listen("inproc://py-errors-relay")
    try:
        for client in (up_client, hms_ffi.connect("inproc://py-errors-relay")):
            with pytest.raises(hms_ffi.NotFound) as info:
                client.call(ECHO, {})
            err = info.value
            assert err.message == "no user 7"
            assert err.details["error_info"] == {"reason": "NO_SUCH_USER", "domain": "users.example", "metadata": {"id": "7"}}
            assert err.origin == {"language": "go", "service": "users.v1.Users", "method": "Get"}
    finally:
        relay.shutdown()
        upstream.shutdown()


def test_bad_requests_are_invalid_argument_with_paths(served) -> None:
    _, client = served
    with pytest.raises(hms_ffi.InvalidArgument) as info:
        client.call(ECHO, {"items": [{}, {}, {"price": "cheap"}], "weight_mg": 2**64, "color": "PURPLE", "nope": 1, "blob": object()})
    paths = {f for f, _ in info.value.field_violations}
    assert paths == {"items[2].price", "weight_mg", "color", "nope", "blob"}
    assert "expected bytes, got object" in dict(info.value.field_violations)["blob"]


def test_unknown_method_and_bad_endpoint(served) -> None:
    _, client = served
    with pytest.raises(hms_ffi.Unimplemented):
        client.call("x.v1.Nope/Call", {})
    with pytest.raises(hms_ffi.InvalidArgument):
        hms_ffi.connect("tcp://nowhere")
    with pytest.raises(hms_ffi.Unavailable):
        hms_ffi.connect("unix:///nonexistent/x.sock")
    with pytest.raises(hms_ffi.NotFound):
        hms_ffi.Schema.load("/nonexistent.proto")


def test_schema_errors_name_line_and_column() -> None:
    with pytest.raises(hms_ffi.InvalidArgument, match=r"bad\.proto:2:"):
        hms_ffi.Schema.from_source("bad.proto", 'syntax = "proto3";\nmessage A { int32 x = ; }\n')


def test_registering_an_unknown_method_fails() -> None:
    server = conformance_server()
    with pytest.raises(hms_ffi.NotFound):
        server.add_method(f"{SERVICE}/Nope", lambda r, c: r)
    with pytest.raises(hms_ffi.FailedPrecondition):
        server._native.register(f"{SERVICE}/Bidi", lambda r, c: r)


def test_deadline_and_limits(served) -> None:
    _, client = served
    with pytest.raises(hms_ffi.DeadlineExceeded):
        client.call(f"{SERVICE}/Sleep", {"millis": 2000}, timeout=0.1)
    with pytest.raises(hms_ffi.ResourceExhausted):
        client.call(ECHO, {"blob": b"x" * (4 * 1024 * 1024 + 1)})
