"""Flow control: a producer that would send 1 GiB to a consumer reading 1 MiB/s is held back by
the consumer's window, so neither process's resident memory grows by more than 64 MiB — in both
directions (a server stream and a client stream), over unix, ws and grpc. Each run is bounded:
the consumer reads for 3 seconds, then cancels the call."""

from __future__ import annotations

import select
import subprocess
import sys
import textwrap
import time
from typing import Any, Dict, Iterator

import pytest

import hms_ffi

CHUNK = 64 * 1024
TOTAL = 1 << 30  # what the producer would send: 1 GiB
READ_RATE = 1 << 20  # what the consumer reads per second: 1 MiB
READ_FOR = 3.0
LIMIT = 64 << 20

PROTO = 'syntax = "proto3"; package flow.v1; message Chunk { bytes data = 1; int64 n = 2; } ' \
    "service Flow { rpc Produce(Chunk) returns (stream Chunk); rpc Consume(stream Chunk) returns (Chunk); }"

SERVER = textwrap.dedent(f"""
    import sys, time
    import hms_ffi
    server = hms_ffi.Server(hms_ffi.Schema.from_source("flow.proto", {PROTO!r}))
    CHUNK = {CHUNK}

    @server.method("flow.v1.Flow/Produce")
    def produce(req, ctx):
        data = b"x" * CHUNK
        for i in range({TOTAL // CHUNK}):
            yield {{"data": data, "n": i}}

    @server.method("flow.v1.Flow/Consume")
    def consume(requests, ctx):
        n = 0
        for r in requests:
            n += 1
            time.sleep(CHUNK / {READ_RATE})  # 1 MiB/s
        return {{"n": n}}

    print(server.listen(sys.argv[1]), flush=True)
    server.serve()
""")


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(params=["unix", "ws", "grpc"])
def producer_server(request, tmp_path) -> Iterator[Dict[str, Any]]:
    listen = {"unix": f"unix://{tmp_path}/flow.sock", "ws": "ws://127.0.0.1:0", "grpc": "grpc://127.0.0.1:0"}[request.param]
    proc = subprocess.Popen([sys.executable, "-c", SERVER, listen], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        uri = proc.stdout.readline().strip() if ready else ""
        assert uri, "the server did not start within 30 s"
        yield {"uri": uri, "pid": proc.pid}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise


def test_a_slow_reader_holds_back_a_server_stream(producer_server) -> None:
    client = hms_ffi.connect(producer_server["uri"])
    pid, me = producer_server["pid"], __import__("os").getpid()
    with client.stream("flow.v1.Flow/Produce", {}, timeout=30) as stream:
        next(stream)
        base_server, base_client = rss(pid), rss(me)
        read, end = 1, time.monotonic() + READ_FOR
        while time.monotonic() < end:
            next(stream)
            read += 1
            time.sleep(CHUNK / READ_RATE)
        grown_server, grown_client = rss(pid) - base_server, rss(me) - base_client
    assert read * CHUNK < 8 << 20, f"read {read} chunks: the reader was not slow"
    assert grown_server < LIMIT, f"the producing server grew by {grown_server >> 20} MiB"
    assert grown_client < LIMIT, f"the reading client grew by {grown_client >> 20} MiB"


def test_a_slow_server_holds_back_a_client_stream(producer_server) -> None:
    client = hms_ffi.connect(producer_server["uri"])
    pid, me = producer_server["pid"], __import__("os").getpid()
    sent = [0]

    def chunks() -> Iterator[Dict[str, Any]]:
        data = b"y" * CHUNK
        for i in range(TOTAL // CHUNK):
            sent[0] = i
            yield {"data": data, "n": i}

    stream = client.stream("flow.v1.Flow/Consume", chunks(), timeout=30)
    time.sleep(0.5)
    base_server, base_client = rss(pid), rss(me)
    time.sleep(READ_FOR)
    grown_server, grown_client = rss(pid) - base_server, rss(me) - base_client
    stream.cancel()
    assert sent[0] * CHUNK < 64 << 20, f"the producer sent {sent[0]} chunks ahead of a 1 MiB/s reader"
    assert grown_server < LIMIT, f"the reading server grew by {grown_server >> 20} MiB"
    assert grown_client < LIMIT, f"the producing client grew by {grown_client >> 20} MiB"
