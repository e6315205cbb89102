"""Metrics over OTLP (issue 20): a server in another process, told by the standard variables to
export (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_METRIC_EXPORT_INTERVAL`), sends its call metrics
to an OTLP/HTTP receiver built on the stock opentelemetry-proto definitions
(`ExportMetricsServiceRequest`): started calls as a cumulative monotonic sum, latency as a
histogram per status in seconds, connections accepted, all under the process's `service.name`,
with the gRFC A66 names and attributes. `OTEL_METRICS_EXPORTER=none` turns it off. The
`[telemetry]` table of a security file configures the same export and wins over the variables."""

from __future__ import annotations

import os
import pathlib
import time
from typing import Any, Dict, List, Optional

import pytest

import hms_ffi
from children import python_child
from otlp_receiver import Receiver, receiver  # noqa: F401 (a fixture)

PROTO = 'syntax = "proto3"; package pymetrics.v1; message Msg { bool fail = 1; } service Svc { rpc Echo(Msg) returns (Msg); }'
METHOD = "pymetrics.v1.Svc/Echo"

SERVER = """
import sys, hms_ffi
server = hms_ffi.Server(hms_ffi.Schema.from_source("m.proto", sys.argv[2]))
@server.method("pymetrics.v1.Svc/Echo")
def echo(req, ctx):
    if req.get("fail"):
        raise hms_ffi.NotFound("asked to fail")
    return req
print(server.listen(sys.argv[1]), flush=True)
sys.stdin.read()
server.shutdown(grace=1.0)
"""


def attrs(point: Any) -> Dict[str, str]:
    return {a.key: a.value.string_value for a in point.attributes}


def latest(name: str, **want: str) -> Optional[Any]:
    """The newest export's data points of metric `name` whose attributes include `want`, with
    the metric itself, or None."""
    with Receiver.lock:
        exports = list(Receiver.metrics)
    for export in reversed(exports):
        for rm in export.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == name:
                        kind = m.WhichOneof("data")
                        points = [p for p in getattr(m, kind).data_points if all(attrs(p).get(k) == v for k, v in want.items())]
                        return m, points, rm
    return None


def wait_for(check: Any, within: float = 15) -> Any:
    until = time.monotonic() + within
    while True:
        found = check()
        if found or time.monotonic() > until:
            return found
        time.sleep(0.05)


def test_call_metrics_reach_an_otlp_receiver(tmp_path: pathlib.Path, receiver: str) -> None:
    env = dict(
        os.environ,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver,
        OTEL_METRIC_EXPORT_INTERVAL="100",
        OTEL_TRACES_EXPORTER="none",
        OTEL_SERVICE_NAME="py-metrics",
    )
    with python_child(SERVER, [f"unix://{tmp_path}/m.sock", PROTO], env) as uri:
        client = hms_ffi.connect(uri)
        for _ in range(5):
            client.call(METHOD, {})
        for _ in range(2):
            with pytest.raises(hms_ffi.NotFound):
                client.call(METHOD, {"fail": True})

        def started() -> Any:
            found = latest("grpc.server.call.started", **{"grpc.method": METHOD, "hms.transport": "unix"})
            return found if found and found[1] and found[1][0].as_int == 7 else None

        found = wait_for(started)
        assert found, f"no export counted the 7 calls: {Receiver.metrics[-1:]}"
        metric, [point], rm = found
        assert metric.sum.is_monotonic and metric.sum.aggregation_temporality == 2  # cumulative
        assert point.time_unix_nano >= point.start_time_unix_nano > 0
        assert {a.key: a.value.string_value for a in rm.resource.attributes}["service.name"] == "py-metrics"

        durations = latest("grpc.server.call.duration", **{"grpc.method": METHOD})
        assert durations is not None
        metric, points, _ = durations
        assert metric.unit == "s" and metric.histogram.aggregation_temporality == 2
        by_status = {attrs(p)["grpc.status"]: p for p in points}
        assert {k: p.count for k, p in by_status.items()} == {"OK": 5, "NOT_FOUND": 2}
        for p in points:
            assert sum(p.bucket_counts) == p.count
            assert len(p.bucket_counts) == len(p.explicit_bounds) + 1
            assert list(p.explicit_bounds) == sorted(p.explicit_bounds)
            assert 0 < p.sum < 10  # seconds, not microseconds

        accepted = latest("hms.server.connections_accepted", **{"hms.transport": "unix"})
        assert accepted is not None and accepted[1] and accepted[1][0].as_int >= 1
        # The client side is counted in the calling process (this one), which exports nothing.
        client_side = latest("grpc.client.call.duration", **{"grpc.method": METHOD})
        assert client_side is not None and client_side[1] == []


def test_no_metrics_with_the_exporter_off(tmp_path: pathlib.Path, receiver: str) -> None:
    env = dict(
        os.environ,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver,
        OTEL_METRIC_EXPORT_INTERVAL="50",
        OTEL_METRICS_EXPORTER="none",
        OTEL_SERVICE_NAME="py-metrics-off",
    )
    with python_child(SERVER, [f"unix://{tmp_path}/off.sock", PROTO], env) as uri:
        hms_ffi.connect(uri).call(METHOD, {})
        time.sleep(0.5)
    assert Receiver.metrics == []


SERVER_WITH_FILE = """
import sys, hms_ffi
server = hms_ffi.Server(hms_ffi.Schema.from_source("m.proto", sys.argv[2]), security=sys.argv[3])
@server.method("pymetrics.v1.Svc/Echo")
def echo(req, ctx):
    return req
print(server.listen(sys.argv[1]), flush=True)
sys.stdin.read()
server.shutdown(grace=1.0)
"""


def test_the_telemetry_table_of_the_security_file_wins_over_the_environment(tmp_path: pathlib.Path, receiver: str) -> None:
    config = tmp_path / "security.toml"
    config.write_text(
        "[telemetry]\n"
        f'endpoint = "{receiver}"\n'
        'service_name = "from-file"\n'
        'sampler = "always_on"\n'
        "metric_export_interval_ms = 100\n"
        "traces = true\n"
    )
    # The environment names another service and turns traces off: the file wins on both.
    env = dict(os.environ, OTEL_SERVICE_NAME="from-env", OTEL_TRACES_EXPORTER="none")
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    with python_child(SERVER_WITH_FILE, [f"unix://{tmp_path}/f.sock", PROTO, str(config)], env) as uri:
        assert uri.startswith("unix://"), uri
        hms_ffi.connect(uri).call(METHOD, {})
        spans = wait_for(lambda: [s for s in Receiver.spans if s[1].name == METHOD])
        found = wait_for(lambda: latest("grpc.server.call.started", **{"grpc.method": METHOD}))
    assert [service for service, _ in spans] == ["from-file"], spans
    assert found, Receiver.metrics
    _, [point], rm = found
    assert point.as_int == 1
    assert {a.key: a.value.string_value for a in rm.resource.attributes}["service.name"] == "from-file"


def test_a_bad_telemetry_table_is_a_typed_error(tmp_path: pathlib.Path) -> None:
    config = tmp_path / "security.toml"
    config.write_text('[telemetry]\nendpont = "http://127.0.0.1:4318"\n')
    with pytest.raises(hms_ffi.InvalidArgument, match="endpont"):
        hms_ffi.Server(hms_ffi.Schema.from_source("m.proto", PROTO), security=str(config))
