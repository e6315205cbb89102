"""An OTLP/HTTP receiver for tests, built on the stock opentelemetry-proto definitions: a POST to
`/v1/traces` is decoded with `ExportTraceServiceRequest` and its spans kept with their
resource's `service.name`; one to `/v1/metrics` with `ExportMetricsServiceRequest`, kept whole.
Used by py/tests/test_observability.py, test_otlp_metrics.py and tests/interop."""

from __future__ import annotations

import http.server
import threading
from typing import Any, Iterator, List, Tuple

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


class Receiver(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: decodes each export with the stock definitions."""

    spans: List[Tuple[str, Any]] = []  # (service.name, Span)
    metrics: List[Any] = []  # ExportMetricsServiceRequest, in the order they came
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/metrics":
            export = ExportMetricsServiceRequest()
            export.ParseFromString(body)
            with self.lock:
                self.metrics.append(export)
            self.reply()
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self.lock:
            for rs in request.resource_spans:
                service = {a.key: a.value.string_value for a in rs.resource.attributes}["service.name"]
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        self.spans.append((service, span))
        self.reply()

    def reply(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.spans = []
    Receiver.metrics = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join(10)
