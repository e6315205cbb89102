"""OTLP over gRPC (issue 20): an hms-ffi server in another process, told by the standard
variables to export with `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`, sends its spans to a collector
served by stock grpcio with the stock opentelemetry-proto service definitions
(`TraceServiceServicer`): the server span arrives in the caller's trace, with its attributes and the
process's `service.name`. A collector that answers an error is logged by the exporter and the
server keeps serving."""

from __future__ import annotations

import os
import threading
import time
from concurrent import futures
from typing import Iterator, List, Tuple

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

import hms_ffi
from conftest import python_child

PROTO = 'syntax = "proto3"; package otelgrpc.v1; message Msg { string text = 1; } service Svc { rpc Echo(Msg) returns (Msg); }'

SERVER = """
import sys, hms_ffi
server = hms_ffi.Server(hms_ffi.Schema.from_source("s.proto", sys.argv[1]))
server.add_method("otelgrpc.v1.Svc/Echo", lambda req, ctx: req)
print(server.listen("unix://" + sys.argv[2]), flush=True)
sys.stdin.read()
server.shutdown(grace=1.0)
"""

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """Keeps every exported span with its resource's service.name; refuses while `fail` is set."""

    def __init__(self) -> None:
        self.spans: List[Tuple[str, object]] = []
        self.lock = threading.Lock()
        self.fail = False

    def Export(self, request, context):  # noqa: N802 (the generated name)
        if self.fail:
            context.abort(grpc.StatusCode.UNAVAILABLE, "collector is down")
        with self.lock:
            for rs in request.resource_spans:
                service = {a.key: a.value.string_value for a in rs.resource.attributes}["service.name"]
                for ss in rs.scope_spans:
                    self.spans.extend((service, span) for span in ss.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def collector() -> Iterator[Tuple[Collector, int]]:
    servicer = Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(grace=None)


def wait_for(servicer: Collector, count: int, within: float) -> List[Tuple[str, object]]:
    until = time.monotonic() + within
    while True:
        with servicer.lock:
            spans = [(s, span) for s, span in servicer.spans if span.name == "otelgrpc.v1.Svc/Echo"]  # type: ignore[attr-defined]
        if len(spans) >= count or time.monotonic() > until:
            return spans
        time.sleep(0.05)


def test_spans_go_to_a_grpc_collector(collector: Tuple[Collector, int], tmp_path) -> None:
    servicer, port = collector
    env = dict(
        os.environ,
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
        OTEL_BSP_SCHEDULE_DELAY="50",
        OTEL_SERVICE_NAME="grpc-exported",
    )
    with python_child(SERVER, [PROTO, str(tmp_path / "s.sock")], env) as uri:
        assert uri.startswith("unix://"), uri
        client = hms_ffi.connect(uri)
        traceparent = f"00-{TRACE}-{PARENT}-01"
        assert client.call("otelgrpc.v1.Svc/Echo", {"text": "one"}, metadata={"traceparent": traceparent}) == {"text": "one"}
        [(service, span)] = wait_for(servicer, 1, 15)
        assert service == "grpc-exported"
        # In the caller's trace, the child of the caller's client span (a child of PARENT).
        assert span.trace_id.hex() == TRACE, span  # type: ignore[attr-defined]
        assert len(span.parent_span_id) == 8 and span.parent_span_id.hex() != PARENT, span  # type: ignore[attr-defined]
        assert span.kind == 2  # type: ignore[attr-defined]
        attrs = {a.key: a.value.string_value for a in span.attributes}  # type: ignore[attr-defined]
        assert (attrs["hms.transport"], attrs["hms.language"]) == ("unix", "python")

        # The collector fails an export: the exporter logs it, and the server keeps serving and
        # exporting once the collector is back.
        servicer.fail = True
        assert client.call("otelgrpc.v1.Svc/Echo", {"text": "two"}, metadata={"traceparent": traceparent}) == {"text": "two"}
        time.sleep(0.5)
        servicer.fail = False
        assert client.call("otelgrpc.v1.Svc/Echo", {"text": "three"}, metadata={"traceparent": traceparent}) == {"text": "three"}
        assert len(wait_for(servicer, 2, 15)) == 2
