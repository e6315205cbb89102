"""Client resilience from Python (issue 23): the core reconnects, retries by a service config,
waits for ready, and gives a handler's outgoing calls its deadline; Python only passes the
options (``connect(uri, resilience=...)``, ``call(..., wait_for_ready=True)``)."""

import collections
import pathlib
import threading
import time
from typing import Any, Dict

import pytest

import hms_ffi

PROTO = """
syntax = "proto3";
package res.v1;
message Req { string id = 1; int32 fail_first = 2; int64 millis = 3; }
message Rep { string id = 1; int32 previous = 2; string server = 3; double left = 4; }
service Counter {
  rpc Get(Req) returns (Rep) { option idempotency_level = IDEMPOTENT; }
  rpc Add(Req) returns (Rep);
  rpc Slow(Req) returns (Rep);
  rpc Relay(Req) returns (Rep);
}
"""
GET, ADD, SLOW, RELAY = (f"res.v1.Counter/{m}" for m in ("Get", "Add", "Slow", "Relay"))
RETRY = {
    "methodConfig": [
        {
            "name": [{"service": "res.v1.Counter"}],
            "retryPolicy": {
                "maxAttempts": 3,
                "initialBackoff": "0.01s",
                "maxBackoff": "0.05s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ]
}
FAST = {"backoff": {"initial": "0.02s", "max": "0.1s", "minConnectTimeout": "1s"}}


def counter_server(name: str, runs: "collections.Counter[str]") -> hms_ffi.Server:
    server = hms_ffi.Server(hms_ffi.Schema.from_source("res.proto", PROTO))

    def counted(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        runs[req["id"]] += 1
        if runs[req["id"]] <= req.get("fail_first", 0):
            raise hms_ffi.Unavailable(f"run {runs[req['id']]} fails")
        previous = int(ctx.metadata.get("grpc-previous-rpc-attempts", "0"))
        return {"id": req["id"], "previous": previous, "server": name}

    server.add_method(GET, counted)
    server.add_method(ADD, counted)

    @server.method(SLOW)
    def slow(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        runs["slow:left"] = int((ctx.time_remaining or -1) * 1000)
        end = time.monotonic() + req["millis"] / 1000
        while time.monotonic() < end and not ctx.cancelled:
            time.sleep(0.005)
        runs["slow:cancelled"] += int(ctx.cancelled)
        return {"server": name}

    return server


def test_a_client_reconnects_and_waits_for_ready(tmp_path: pathlib.Path) -> None:
    uri = f"unix://{tmp_path / 'r.sock'}"
    runs: "collections.Counter[str]" = collections.Counter()
    first = counter_server("one", runs)
    first.listen(uri)
    client = hms_ffi.connect(uri, resilience=FAST)
    assert client.state == "ready"
    assert client.call(GET, {"id": "a"}, timeout=5)["server"] == "one"
    first.shutdown(0.0)
    with pytest.raises(hms_ffi.Unavailable):
        client.call(ADD, {"id": "b"}, timeout=5)
    # The connection's reader sees the end a moment after the blocking call's own lane.
    deadline = time.monotonic() + 5
    while client.state == "ready" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.state in ("idle", "transient_failure")
    second = counter_server("two", runs)
    later = threading.Timer(0.2, second.listen, args=(uri,))
    later.start()
    try:
        # Waits for the server to come back instead of failing at once.
        assert client.call(ADD, {"id": "c"}, timeout=5, wait_for_ready=True)["server"] == "two"
        assert client.state == "ready"
        assert client.endpoints() == [hms_ffi.EndpointStatus(uri, "ready", False)]
        client.close()
        assert client.state == "shutdown"
    finally:
        later.cancel()
        later.join(timeout=10)
        second.shutdown(0.0)


def test_a_service_config_retries_idempotent_methods_only(tmp_path: pathlib.Path) -> None:
    uri = f"unix://{tmp_path / 'p.sock'}"
    runs: "collections.Counter[str]" = collections.Counter()
    server = counter_server("one", runs)
    server.listen(uri)
    client = hms_ffi.connect(uri, resilience={"serviceConfig": RETRY})
    reply = client.call(GET, {"id": "g", "fail_first": 2}, timeout=5)
    assert (runs["g"], reply["previous"]) == (3, 2)
    with pytest.raises(hms_ffi.Unavailable):
        client.call(ADD, {"id": "a", "fail_first": 1}, timeout=5)
    assert runs["a"] == 1
    with pytest.raises(hms_ffi.InvalidArgument):
        hms_ffi.connect(uri, resilience={"serviceConfig": {"methodConfg": []}})
    with pytest.raises(hms_ffi.InvalidArgument, match="not JSON"):
        hms_ffi.connect(uri, resilience={"keepalive": {"interval": object()}})
    server.shutdown(0.0)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_handlers_call_inherits_its_deadline(tmp_path: pathlib.Path, kind: str) -> None:
    back_uri, front_uri = f"unix://{tmp_path / 'b.sock'}", f"unix://{tmp_path / 'f.sock'}"
    runs: "collections.Counter[str]" = collections.Counter()
    back = counter_server("back", runs)
    back.listen(back_uri)
    to_back = hms_ffi.connect(back_uri)
    front = counter_server("front", runs)

    if kind == "sync":

        @front.method(RELAY)
        def relay(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
            return to_back.call(SLOW, {"millis": 5000})  # no timeout of its own

    else:

        @front.method(RELAY)
        async def relay_async(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
            return await to_back.call_async(SLOW, {"millis": 5000})

    front.listen(front_uri)
    start = time.monotonic()
    with pytest.raises(hms_ffi.DeadlineExceeded):
        hms_ffi.connect(front_uri).call(RELAY, {}, timeout=0.3)
    assert time.monotonic() - start < 1.0
    # The back handler was given what was left of the 300 ms, and saw it end.
    assert 0 < runs["slow:left"] <= 300
    deadline = time.monotonic() + 5
    while runs["slow:cancelled"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert runs["slow:cancelled"] == 1
    front.shutdown(0.0)
    back.shutdown(0.0)


def test_a_served_service_config_retries_for_a_discovering_client(tmp_path: pathlib.Path) -> None:
    # The server announces RETRY in discovery; a client given no config calls by it.
    runs: "collections.Counter[str]" = collections.Counter()
    schema = hms_ffi.Schema.from_source("res.proto", PROTO)
    server = hms_ffi.Server(schema, service_config=RETRY)
    server.add_method(GET, lambda req, ctx: counter_reply(runs, req, ctx))
    uri = f"unix://{tmp_path / 'served.sock'}"
    server.listen(uri)
    try:
        reply = hms_ffi.connect(uri).call(GET, {"id": "s", "fail_first": 1}, timeout=5)
        assert (runs["s"], reply["previous"]) == (2, 1)
        # A config given at connect wins: this one has no retry policy.
        own = {"serviceConfig": {"methodConfig": [{"name": [{}], "timeout": "5s"}]}}
        with pytest.raises(hms_ffi.Unavailable):
            hms_ffi.connect(uri, resilience=own).call(GET, {"id": "o", "fail_first": 1}, timeout=5)
        assert runs["o"] == 1
    finally:
        server.shutdown(0.0)
    bad = {"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 1}}]}
    with pytest.raises(hms_ffi.InvalidArgument) as e:
        hms_ffi.Server(schema, service_config=bad)
    assert e.value.reason == "BAD_SERVICE_CONFIG"


def counter_reply(runs: "collections.Counter[str]", req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
    runs[req["id"]] += 1
    if runs[req["id"]] <= req.get("fail_first", 0):
        raise hms_ffi.Unavailable(f"run {runs[req['id']]} fails")
    return {"id": req["id"], "previous": int(ctx.metadata.get("grpc-previous-rpc-attempts", "0"))}
