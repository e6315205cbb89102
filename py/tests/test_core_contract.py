"""Rules the core owns, seen from Python: code OK is never a success, a native value nested past
the limit is a typed error with its path (caller and handler side, never a crash), and a closed
client fails every call the same way on every transport."""

import itertools
import os
import tempfile

import pytest

import hms_ffi
from vectors import SERVICE

ECHO = f"{SERVICE}/Echo"
_names = itertools.count()


def inproc(label: str) -> str:
    return f"inproc://py-contract-{label}-{next(_names)}"


def deep_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_a_handler_raising_code_ok_is_unknown_for_the_caller(served) -> None:
    server, _ = served
    fresh = hms_ffi.Server(server.schema)

    @fresh.method(ECHO)
    def ok_error(req, ctx):
        raise hms_ffi.Error("all fine", code=0)

    uri = inproc("ok")
    fresh.listen(uri)
    c = hms_ffi.connect(uri)
    with pytest.raises(hms_ffi.Unknown) as info:
        c.call(ECHO, {})
    assert "code OK" in info.value.message
    assert info.value.reason == "OK_IS_NOT_AN_ERROR"
    fresh.shutdown()


def test_a_100000_deep_request_is_resource_exhausted_with_its_path(served) -> None:
    _, client = served
    with pytest.raises(hms_ffi.ResourceExhausted) as info:
        client.call(ECHO, {"meta": {"x": deep_list(100_000)}})
    assert info.value.reason == "NESTING_TOO_DEEP"
    (field, _), = info.value.field_violations
    assert field.startswith("meta.x[0][0]")
    # The client and the server go on.
    assert client.call(ECHO, {"unicode_text": "still here"})["unicode_text"] == "still here"


def test_a_handler_returning_a_100000_deep_value_fails_the_call_not_the_process(served) -> None:
    server, _ = served
    fresh = hms_ffi.Server(server.schema)

    @fresh.method(ECHO)
    def deep(req, ctx):
        return {"meta": {"x": deep_list(100_000)}}

    uri = inproc("deep")
    fresh.listen(uri)
    c = hms_ffi.connect(uri)
    with pytest.raises(hms_ffi.ResourceExhausted) as info:
        c.call(ECHO, {})
    assert info.value.field_violations[0][0].startswith("meta.x[0]")
    with pytest.raises(hms_ffi.ResourceExhausted):
        c.call(ECHO, {})
    fresh.shutdown()


@pytest.mark.parametrize("scheme", ["inproc", "unix", "grpc+unix"])
def test_close_then_call_is_cancelled_on_every_transport(served, scheme) -> None:
    server, _ = served
    fresh = hms_ffi.Server(server.schema)

    @fresh.method(ECHO)
    def echo(req, ctx):
        return req

    with tempfile.TemporaryDirectory() as d:
        uri = inproc("close") if scheme == "inproc" else f"{scheme}://{os.path.join(d, 'c.sock')}"
        fresh.listen(uri)
        c = hms_ffi.connect(uri)
        assert c.call(ECHO, {"unicode_text": "a"})["unicode_text"] == "a"
        c.close()
        with pytest.raises(hms_ffi.Cancelled) as info:
            c.call(ECHO, {})
        assert info.value.reason == "CLIENT_CLOSED"
        fresh.shutdown()
