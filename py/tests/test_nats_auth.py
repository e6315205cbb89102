"""A nats-server that asks for credentials (docs/messaging.md, "Credentials and TLS"): a Python
server and client reach it with the user part of their ``nats://`` URI, and credentials it does
not accept raise ``hms_ffi.Unauthenticated`` (a bad URI ``hms_ffi.InvalidArgument``) while the
process keeps serving. The same options reach every binding through the URI; the core's
``core/tests/nats_auth.rs`` covers nkeys, credentials files and (mutual) TLS. Skipped, saying
so, only when nats-server is not installed (``make test`` installs it)."""

from __future__ import annotations

import pathlib
import sys
from typing import Any, Dict, Iterator

import pytest

import hms_ffi

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests"))
from nats_server import NATS_BIN, nats_server  # noqa: E402

PROTO = """syntax = "proto3";
package auth.v1;
message Ping { string text = 1; }
service Echo { rpc Say(Ping) returns (Ping); }
"""
METHOD = "auth.v1.Echo/Say"


def schema() -> hms_ffi.Schema:
    return hms_ffi.Schema.from_source("auth/v1/echo.proto", PROTO)


@pytest.fixture
def nats_address() -> Iterator[str]:
    if not NATS_BIN.is_file():
        pytest.skip(f"nats-server is not installed ({NATS_BIN}): run scripts/install-nats.sh")
    with nats_server("--user", "ada", "--pass", "p@ss:word") as address:
        yield address


def serve(uri: str) -> hms_ffi.Server:
    server = hms_ffi.Server(schema())

    @server.method(METHOD)
    def say(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        return {"text": "echo " + req["text"]}

    server.listen(uri)
    return server


def test_a_server_and_a_client_with_a_user_and_password(nats_address: str) -> None:
    uri = f"nats://ada:p%40ss%3Aword@{nats_address}/py"
    server = serve(uri)
    try:
        with hms_ffi.connect(uri, schema=schema()) as client:
            assert client.call(METHOD, {"text": "hi"}, timeout=10.0) == {"text": "echo hi"}
        bus = hms_ffi.Bus.connect(uri, schema())
        bus.declare("pings.*", "auth.v1.Ping")
        with bus.subscribe("pings.*") as sub:
            bus.publish("pings.a", {"text": "over an authenticated connection"})
            assert sub.next(timeout=10.0) == ("pings.a", {"text": "over an authenticated connection"})
    finally:
        server.shutdown(1.0)


def test_refused_credentials_raise_unauthenticated(nats_address: str) -> None:
    for uri in (f"nats://{nats_address}/py", f"nats://ada:wrong@{nats_address}/py"):
        with pytest.raises(hms_ffi.Unauthenticated) as e:
            hms_ffi.connect(uri, schema=schema())
        assert e.value.reason == "NATS_AUTH_FAILED"
        assert "wrong" not in str(e.value)
        with pytest.raises(hms_ffi.Unauthenticated):
            serve(uri)
    with pytest.raises(hms_ffi.InvalidArgument, match="one kind of NATS credentials"):
        hms_ffi.connect(f"nats://ada:x@{nats_address}/py?creds=/x.creds")
    with pytest.raises(hms_ffi.InvalidArgument) as bad:
        hms_ffi.connect(f"nats://{nats_address}/py?nkey=/nonexistent.nk")
    assert bad.value.reason == "BAD_NATS_CREDENTIALS"
