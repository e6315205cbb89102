"""An OTLP/HTTP trace receiver for tests, built on the stock opentelemetry-proto definitions:
each export is decoded with `ExportTraceServiceRequest` and its spans kept with their resource's
`service.name`. Used by py/tests/test_observability.py and tests/interop/test_otel_grpcio.py."""

from __future__ import annotations

import http.server
import threading
from typing import Any, Iterator, List, Tuple

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


class Receiver(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: decodes each export with the stock definitions."""

    spans: List[Tuple[str, Any]] = []  # (service.name, Span)
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self.lock:
            for rs in request.resource_spans:
                service = {a.key: a.value.string_value for a in rs.resource.attributes}["service.name"]
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        self.spans.append((service, span))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.spans = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join(10)
