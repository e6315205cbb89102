"""One trace through six languages and four transports (issue 20's proof against real peers,
and each binding's proof that a call made inside a handler is a child of the handler's span): a
Python program instrumented with the stock `opentelemetry-sdk` (no code of ours touches the SDK)
starts a span and calls a Go server over `unix://`; the Go handler calls a Node server over
`grpc://`, whose handler calls a Ruby server over `ws://`, whose handler calls a Kotlin server
over `http://` (Connect), whose handler calls a PHP server over `unix://`, whose handler calls the
Go server once more, the last link (tests/chain). Each process exports its spans with OTLP/HTTP
to a receiver built on the stock opentelemetry-proto definitions; nobody passes a trace by hand.

Followed from the SDK's span, the receiver must hold one unbroken line of twelve spans in the
SDK's trace: each link's server span the child of the caller's client span, and each client span
the child of the server span of the handler that made it.

Needs what tests/interop/test_chain.py needs, the PHP extension and the Kotlin build
(`make test-interop` builds them)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
from typing import Any, Dict, List

from conftest import free_port
from test_chain import CHAIN, GO_BIN, ROOT, start, stop

sys.path.insert(0, str(ROOT / "py" / "tests"))

from otlp_receiver import Receiver, receiver  # noqa: E402,F401 (a fixture)

CLIENT = """
import json, sys
import hms_ffi
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
client = hms_ffi.connect(sys.argv[1])
with trace.get_tracer("chain").start_as_current_span("root") as span:
    reply = client.call("chain.v1.Chain/Call", {"next": sys.argv[2:], "sleep_ms": 0, "tag": "trace"}, timeout=20)
c = span.get_span_context()
print(json.dumps({"trace_id": f"{c.trace_id:032x}", "span_id": f"{c.span_id:016x}", "reply": reply}))
"""

LANGS = ("python", "go", "node", "ruby", "kotlin", "php")
PHP_EXT = ROOT / "target" / "php" / "hms_ffi.so"
KOTLIN = ROOT / "kotlin" / "run.sh"

# The line of spans from the SDK's span down: (service, kind, transport).
EXPECTED = [
    ("python", "client", "unix"), ("go", "server", "unix"),
    ("go", "client", "grpc"), ("node", "server", "grpc"),
    ("node", "client", "ws"), ("ruby", "server", "ws"),
    ("ruby", "client", "http"), ("kotlin", "server", "http"),
    ("kotlin", "client", "unix"), ("php", "server", "unix"),
    ("php", "client", "unix"), ("go", "server", "unix"),
]


def wait_for_spans(count: int, within: float) -> List[Any]:
    """The received spans of chain.v1.Chain/Call (each link's connect also makes a discovery call,
    a trace of its own), once `count` have come or `within` seconds have passed."""
    until = time.monotonic() + within
    while True:
        with Receiver.lock:
            calls = [(service, span) for service, span in Receiver.spans if span.name == "chain.v1.Chain/Call"]
        if len(calls) >= count or time.monotonic() > until:
            return calls
        time.sleep(0.05)


def test_one_trace_through_six_languages(receiver: str, tmp_path: pathlib.Path) -> None:
    log = tmp_path / "events.jsonl"
    log.touch()
    base = {
        **os.environ,
        "HMS_CHAIN_LOG": str(log),
        "GEM_PATH": str(ROOT / "target" / "ruby" / "gems"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }
    env = {lang: {**base, "OTEL_SERVICE_NAME": f"chain-{lang}"} for lang in LANGS}
    uris = {
        "go": f"unix://{tmp_path / 'go.sock'}",
        "node": f"grpc://127.0.0.1:{free_port()}",
        "ruby": f"ws://127.0.0.1:{free_port()}",
        "kotlin": f"http://127.0.0.1:{free_port()}",
        "php": f"unix://{tmp_path / 'php.sock'}",
    }
    procs = []
    try:
        procs.append(start([str(GO_BIN), str(CHAIN / "chain.proto"), uris["go"]], env["go"]))
        procs.append(start(["node", str(CHAIN / "hop.js"), uris["node"]], env["node"]))
        procs.append(start(["ruby", str(CHAIN / "last.rb"), uris["ruby"]], env["ruby"]))
        procs.append(start([str(KOTLIN), "io.github.hmsffi.ChainHopKt", str(CHAIN / "chain.proto"), uris["kotlin"]], env["kotlin"]))
        procs.append(start(["php", "-d", f"extension={PHP_EXT}", str(CHAIN / "hop.php"), uris["php"]], env["php"]))
        line = [uris[lang] for lang in ("node", "ruby", "kotlin", "php", "go")]
        done = subprocess.run(
            [sys.executable, "-c", CLIENT, uris["go"], *line],
            capture_output=True, text=True, timeout=60, env=env["python"],
        )
        assert done.returncode == 0, done.stderr
        sdk = json.loads(done.stdout)
        assert sdk["reply"]["lang"] == "go", sdk
        spans = wait_for_spans(len(EXPECTED), 20)
    finally:
        stop(procs)

    summary = [(svc, s.kind, s.trace_id.hex()[:8], s.parent_span_id.hex(), s.span_id.hex()) for svc, s in spans]
    children: Dict[str, List[Any]] = {}
    for service, span in spans:
        assert span.trace_id.hex() == sdk["trace_id"], f"a span of another trace: {summary}"
        children.setdefault(span.parent_span_id.hex(), []).append((service, span))
    line_seen = []
    parent = sdk["span_id"]
    while parent in children:
        [(service, span)] = children.pop(parent)
        attrs = {a.key: a.value.string_value for a in span.attributes}
        line_seen.append((service.removeprefix("chain-"), "server" if span.kind == 2 else "client", attrs["hms.transport"]))
        if span.kind == 2:
            assert attrs["hms.language"] == service.removeprefix("chain-"), (service, attrs)
        parent = span.span_id.hex()
    assert line_seen == EXPECTED, f"followed from the SDK's span: {line_seen}; all spans: {summary}"
    assert not children, f"spans off the line: {children}"
