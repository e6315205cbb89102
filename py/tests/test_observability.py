"""Observability from Python (issue 20): `/metrics` on the admin listener parses with
prometheus_client's own text parser and counts the calls made; a call made inside a sync or an
async handler carries the handler's trace; and a program instrumented with the stock
opentelemetry-sdk calls an hms-ffi server in another process, whose spans reach an OTLP
receiver decoded with the stock opentelemetry-proto definitions, each linked to its parent."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.request
from typing import Any, Dict, List, Tuple

import pytest
from prometheus_client.parser import text_string_to_metric_families

import hms_ffi
from children import python_child
from otlp_receiver import Receiver, receiver  # noqa: F401 (a fixture)

PROTO = """
syntax = "proto3"; package {package};
message Msg {{ string text = 1; bool fail = 2; string trace_id = 3; }}
service Svc {{ rpc Echo(Msg) returns (Msg); rpc Relay(Msg) returns (Msg); rpc RelayAsync(Msg) returns (Msg); }}
"""


def schema(package: str) -> hms_ffi.Schema:
    return hms_ffi.Schema.from_source(f"{package}.proto", PROTO.format(package=package))


def get(url: str) -> Tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


def samples(text: str) -> List[Tuple[str, Dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def value(all_samples: List[Tuple[str, Dict[str, str], float]], name: str, **labels: str) -> float:
    found = [v for n, l, v in all_samples if n == name and all(l.get(k) == w for k, w in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_metrics_parse_with_prometheus_client_and_count_the_calls(tmp_path: pathlib.Path) -> None:
    package = "pyobs.metrics.v1"
    server = hms_ffi.Server(schema(package))

    @server.method(f"{package}.Svc/Echo")
    def echo(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        if req.get("fail"):
            raise hms_ffi.FailedPrecondition("asked to fail")
        return req

    admin = server.admin("http://127.0.0.1:0")
    uri = server.listen(f"unix://{tmp_path}/m.sock")
    client = hms_ffi.connect(uri)
    try:
        for _ in range(7):
            client.call(f"{package}.Svc/Echo", {"text": "hello"}, timeout=10)
        for _ in range(2):
            with pytest.raises(hms_ffi.FailedPrecondition):
                client.call(f"{package}.Svc/Echo", {"fail": True}, timeout=10)
        status, text = get(f"{admin}/metrics")
        assert status == 200
        all_samples = samples(text)
        on = dict(grpc_method=f"{package}.Svc/Echo", hms_transport="unix")
        assert value(all_samples, "grpc_server_call_started_total", **on) == 9
        assert value(all_samples, "grpc_server_call_duration_seconds_count", grpc_status="OK", **on) == 7
        assert value(all_samples, "grpc_server_call_duration_seconds_count", grpc_status="FAILED_PRECONDITION", **on) == 2
        assert value(all_samples, "grpc_server_call_duration_seconds_bucket", grpc_status="OK", le="+Inf", **on) == 7
        assert value(all_samples, "hms_server_calls_in_flight", **on) == 0
        assert value(all_samples, "hms_client_call_started_total", **on) == 9
        assert value(all_samples, "grpc_client_call_duration_seconds_count", grpc_status="OK", **on) == 7
        assert get(f"{admin}/healthz") == (200, "ok\n")
    finally:
        client.close()
        server.shutdown(grace=1.0)


def test_calls_made_in_sync_and_async_handlers_carry_the_trace(tmp_path: pathlib.Path) -> None:
    package = "pyobs.inherit.v1"
    back = hms_ffi.Server(schema(package))

    @back.method(f"{package}.Svc/Echo")
    def info(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        return {"trace_id": ctx.trace_id}

    back_uri = back.listen(f"unix://{tmp_path}/back.sock")
    to_back = hms_ffi.connect(back_uri)
    front = hms_ffi.Server(schema(package))

    @front.method(f"{package}.Svc/Relay")
    def relay(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        return to_back.call(f"{package}.Svc/Echo", {}, timeout=10)

    @front.method(f"{package}.Svc/RelayAsync")
    async def relay_async(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        return await to_back.call_async(f"{package}.Svc/Echo", {}, timeout=10)

    client = hms_ffi.connect(front.listen(f"unix://{tmp_path}/front.sock"))
    try:
        for n, method in enumerate(["Relay", "RelayAsync"]):
            trace_id = f"{n + 1:032x}"
            tp = f"00-{trace_id}-00f067aa0ba902b7-00"
            reply = client.call(f"{package}.Svc/{method}", {}, timeout=10, metadata={"traceparent": tp})
            assert reply["trace_id"] == trace_id, method
        # Without a parent, each call starts its own trace.
        a = client.call(f"{package}.Svc/Relay", {}, timeout=10)["trace_id"]
        b = client.call(f"{package}.Svc/Relay", {}, timeout=10)["trace_id"]
        assert len(a) == 32 and a != b
    finally:
        client.close()
        to_back.close()
        front.shutdown(grace=1.0)
        back.shutdown(grace=1.0)


SERVER = """
import sys, hms_ffi
schema = hms_ffi.Schema.from_source("s.proto", sys.argv[2])
server = hms_ffi.Server(schema)
@server.method("pyobs.otel.v1.Svc/Echo")
def echo(req, ctx):
    return {"trace_id": ctx.trace_id}
print(server.listen(sys.argv[1]), flush=True)
sys.stdin.read()
server.shutdown(grace=1.0)
"""

CLIENT = """
import json, sys, hms_ffi
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
provider = TracerProvider()
trace.set_tracer_provider(provider)
with trace.get_tracer("sdk-test").start_as_current_span("sdk-root") as span:
    reply = hms_ffi.connect(sys.argv[1]).call("pyobs.otel.v1.Svc/Echo", {}, timeout=10)
    c = span.get_span_context()
print(json.dumps({"trace_id": f"{c.trace_id:032x}", "span_id": f"{c.span_id:016x}", "seen": reply["trace_id"]}))
"""


def test_an_opentelemetry_sdk_span_is_the_parent_of_the_call(tmp_path: pathlib.Path, receiver: str) -> None:
    env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=receiver, OTEL_BSP_SCHEDULE_DELAY="50")
    proto = PROTO.format(package="pyobs.otel.v1")
    with python_child(SERVER, [f"unix://{tmp_path}/otel.sock", proto], dict(env, OTEL_SERVICE_NAME="py-server")) as uri:
        assert uri.startswith("unix://"), uri
        done = subprocess.run(
            [sys.executable, "-c", CLIENT, uri], capture_output=True, text=True, timeout=60,
            env=dict(env, OTEL_SERVICE_NAME="py-client"),
        )
        assert done.returncode == 0, done.stderr
        sdk = json.loads(done.stdout)
        assert sdk["seen"] == sdk["trace_id"]
        until = time.monotonic() + 15
        while time.monotonic() < until and len(Receiver.spans) < 2:
            time.sleep(0.05)
    by_service = {service: span for service, span in Receiver.spans}
    assert set(by_service) == {"py-client", "py-server"}, Receiver.spans
    client_span, server_span = by_service["py-client"], by_service["py-server"]
    assert client_span.trace_id.hex() == server_span.trace_id.hex() == sdk["trace_id"]
    assert client_span.parent_span_id.hex() == sdk["span_id"]
    assert server_span.parent_span_id == client_span.span_id
    assert (client_span.kind, server_span.kind) == (3, 2)  # SPAN_KIND_CLIENT, SPAN_KIND_SERVER
    attrs = {a.key: (a.value.string_value or a.value.int_value) for a in server_span.attributes}
    assert attrs["rpc.service"] == "pyobs.otel.v1.Svc" and attrs["rpc.method"] == "Echo"
    assert attrs["hms.transport"] == "unix" and attrs["hms.language"] == "python"
    assert attrs["rpc.system"] == "hms_ffi" and server_span.name == "pyobs.otel.v1.Svc/Echo"
