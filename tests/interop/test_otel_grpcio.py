"""A stock grpcio client with the OpenTelemetry gRPC instrumentation (its own client span,
its own `traceparent` in the metadata) calls an hms-ffi server in another process over
`grpc://`: the server span the core exports with OTLP is a child of the grpcio client's span, in
the same trace, as an OTLP receiver built on the stock opentelemetry-proto definitions gets it."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "py" / "tests"))

from otlp_receiver import Receiver, receiver  # noqa: E402,F401 (a fixture)
from conftest import python_child  # noqa: E402

PROTO = 'syntax = "proto3"; package otelinterop.v1; message Msg { string text = 1; } service Svc { rpc Echo(Msg) returns (Msg); }'

SERVER = """
import sys, hms_ffi
server = hms_ffi.Server(hms_ffi.Schema.from_source("s.proto", sys.argv[1]))
server.add_method("otelinterop.v1.Svc/Echo", lambda req, ctx: req)
print(server.listen("grpc://127.0.0.1:0"), flush=True)
sys.stdin.read()
server.shutdown(grace=1.0)
"""

CLIENT = """
import json, sys, grpc
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
GrpcInstrumentorClient().instrument()
channel = grpc.insecure_channel(sys.argv[1])
echo = channel.unary_unary("/otelinterop.v1.Svc/Echo")
assert echo(b"\\x0a\\x02hi", timeout=10) == b"\\x0a\\x02hi"
[span] = exporter.get_finished_spans()
c = span.get_span_context()
print(json.dumps({"trace_id": f"{c.trace_id:032x}", "span_id": f"{c.span_id:016x}", "kind": span.kind.name}))
"""


def test_grpcio_client_span_is_the_parent_of_the_hms_server_span(receiver: str) -> None:
    env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=receiver, OTEL_BSP_SCHEDULE_DELAY="50", OTEL_SERVICE_NAME="hms-server")
    with python_child(SERVER, [PROTO], env) as uri:
        assert uri.startswith("grpc://"), uri
        done = subprocess.run(
            [sys.executable, "-c", CLIENT, uri.removeprefix("grpc://")],
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        grpcio = json.loads(done.stdout)
        assert grpcio["kind"] == "CLIENT"
        until = time.monotonic() + 15
        while time.monotonic() < until and not Receiver.spans:
            time.sleep(0.05)
    assert [s for s, _ in Receiver.spans] == ["hms-server"], Receiver.spans
    span = Receiver.spans[0][1]
    assert span.trace_id.hex() == grpcio["trace_id"]
    assert span.parent_span_id.hex() == grpcio["span_id"]
    assert span.kind == 2 and span.name == "otelinterop.v1.Svc/Echo"
    attrs = {a.key: a.value.string_value for a in span.attributes}
    assert (attrs["rpc.system"], attrs["hms.transport"]) == ("grpc", "grpc")
