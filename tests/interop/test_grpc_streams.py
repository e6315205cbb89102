"""Streams between hms-ffi and stock gRPC, both ways, in every language that streams: a stock
grpcio client streams against hms-ffi servers written in Python, Go and Node, and the hms-ffi
clients of those languages run every streaming vector against a stock grpcio server; a stock
grpc-go client (tests/interop/go/streams, dynamicpb over grpc-go's own ClientConn) streams
against the same hms-ffi servers, and those clients run every streaming vector against a stock
grpc-go server (the same program's `serve`, grpc-go's own Server). (grpc-go's interop client runs its streaming cases against the
Rust server in test_grpc_go_interop.py.)"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from concurrent import futures
from pathlib import Path
from typing import Iterator, List

import grpc
import pytest

from conftest import ROOT, free_port

PY_TESTS = ROOT / "py" / "tests"
NODE_APP = ROOT / "target" / "node-app" / "node_modules"

# Each language's conformance program (tests/matrix): `serve URI` until SIGTERM, and
# `streams URI`, every streaming vector as a client of a server without hms-ffi discovery.
PROGRAMS = {
    "python": [sys.executable, str(ROOT / "tests" / "matrix" / "python" / "conformance.py")],
    "go": [str(ROOT / "target" / "go" / "conformance")],
    "node": ["node", str(ROOT / "tests" / "matrix" / "node" / "conformance.js")],
}


def ready(p: subprocess.Popen, what: str, timeout: float = 60) -> None:
    """Waits (at most `timeout` seconds) for the server `p` to print its "ready" line."""
    assert p.stdout is not None
    if not select.select([p.stdout], [], [], timeout)[0]:
        p.kill()
        raise AssertionError(f"the {what} server said nothing within {timeout:.0f}s")
    assert p.stdout.readline().strip() == "ready", f"the {what} server did not start"


def channel(addr: str) -> grpc.Channel:
    return grpc.insecure_channel(addr, options=[("grpc.default_authority", "localhost")])


@pytest.fixture(params=sorted(PROGRAMS))
def language_server(request) -> Iterator[str]:
    """The conformance service served by one language's hms-ffi binding on grpc://; yields the
    address."""
    if request.param == "go" and not Path(PROGRAMS["go"][0]).exists():
        pytest.fail("target/go/conformance is missing: `make test-interop` builds it")
    port = free_port()
    p = subprocess.Popen(PROGRAMS[request.param] + ["serve", f"grpc://127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)
    try:
        ready(p, request.param)
        yield f"127.0.0.1:{port}"
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_grpcio_client_streams_against_an_hms_server(stubs, language_server) -> None:
    """A stock grpcio client, all three streaming kinds and an error mid-stream."""
    pb2, pb2_grpc = stubs
    stub = pb2_grpc.ConformanceStub(channel(language_server))
    items = list(stub.ServerStream(pb2.AllTypes(unicode_text="s", counts={"repeat": 4}), timeout=10))
    assert [(i.unicode_text, i.weight_mg) for i in items] == [("s", n) for n in range(4)]
    total = stub.ClientStream(iter([pb2.AllTypes(unicode_text=t) for t in "abc"]), timeout=10)
    assert (total.unicode_text, total.weight_mg) == ("c", 3)
    echoed = stub.Bidi(iter([pb2.AllTypes(unicode_text=t) for t in "xyz"]), timeout=10)
    assert [(e.unicode_text, e.weight_mg) for e in echoed] == [("x", 0), ("y", 1), ("z", 2)]
    got: List[int] = []
    with pytest.raises(grpc.RpcError) as info:
        for item in stub.ServerStream(pb2.AllTypes(counts={"repeat": 5, "fail_after": 2}), timeout=10):
            got.append(item.weight_mg)
    assert got == [0, 1] and info.value.code() == grpc.StatusCode.ABORTED
    assert "failed after 2 replies" in info.value.details()
    many = stub.ServerStream(pb2.AllTypes(counts={"repeat": 10000}), timeout=30)
    assert sum(1 for _ in many) == 10000


GO_STREAMS = ROOT / "target" / "go" / "interop-streams"


@pytest.fixture(scope="module")
def descriptors(tmp_path_factory) -> Path:
    """The conformance schema as a FileDescriptorSet, made by the stock grpcio-tools protoc."""
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("desc") / "conformance.binpb"
    proto_dir = ROOT / "tests" / "conformance"
    include = Path(protoc.__file__).parent / "_proto"
    rc = protoc.main(["protoc", f"-I{proto_dir}", f"-I{include}", "--include_imports",
                      f"--descriptor_set_out={out}", str(proto_dir / "conformance.proto")])
    assert rc == 0, "grpcio-tools failed"
    return out


def test_grpc_go_client_streams_against_an_hms_server(descriptors, language_server) -> None:
    assert GO_STREAMS.exists(), f"{GO_STREAMS} is missing: `make test-interop` builds it"
    done = subprocess.run([str(GO_STREAMS), "client", str(descriptors), language_server],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "every streaming check passed" in done.stdout


@pytest.fixture
def grpcio_server(stubs) -> Iterator[int]:
    """A stock grpcio server of the streaming methods as tests/conformance/README.md specifies
    them; yields its port."""
    pb2, pb2_grpc = stubs

    def numbered(request, i):
        reply = pb2.AllTypes()
        reply.CopyFrom(request)
        reply.weight_mg = i
        return reply

    def abort(context, sent):
        context.abort(grpc.StatusCode.ABORTED, f"failed after {sent} replies")

    class Servicer(pb2_grpc.ConformanceServicer):
        def ServerStream(self, request, context):
            counts = request.counts
            for i in range(counts["repeat"] if "repeat" in counts else 3):
                if "fail_after" in counts and i == counts["fail_after"]:
                    abort(context, i)
                end = time.monotonic() + counts.get("sleep_ms", 0) / 1000
                while time.monotonic() < end and context.is_active():
                    time.sleep(0.005)
                yield numbered(request, i)

        def ClientStream(self, request_iterator, context):
            last, n = pb2.AllTypes(), 0
            for request in request_iterator:
                last, n = request, n + 1
            return numbered(last, n)

        def Bidi(self, request_iterator, context):
            for i, request in enumerate(request_iterator):
                if "fail" in request.counts:
                    abort(context, i)
                yield numbered(request, i)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb2_grpc.add_ConformanceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(0)


@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_hms_clients_run_every_streaming_vector_against_grpcio(grpcio_server, language) -> None:
    run_streams(language, grpcio_server)


def run_streams(language: str, port: int) -> None:
    """`language`'s conformance program runs every streaming vector against 127.0.0.1:port."""
    env = {**os.environ, "NODE_PATH": str(NODE_APP)}
    done = subprocess.run(PROGRAMS[language] + ["streams", f"grpc://127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=300, env=env)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0 and last.endswith(" 0 failed"), f"{language}:\n{done.stdout}\n{done.stderr}"
    assert int(last.split()[0]) >= 16, last


@pytest.fixture
def grpc_go_server(descriptors) -> Iterator[int]:
    """A stock grpc-go server of the streaming methods (tests/interop/go/streams); its port."""
    assert GO_STREAMS.exists(), f"{GO_STREAMS} is missing: `make test-interop` builds it"
    port = free_port()
    p = subprocess.Popen([str(GO_STREAMS), "serve", str(descriptors), str(port)], stdout=subprocess.PIPE, text=True)
    try:
        ready(p, "grpc-go")
        yield port
    finally:
        p.terminate()
        p.wait(timeout=10)


@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_hms_clients_run_every_streaming_vector_against_grpc_go(grpc_go_server, language) -> None:
    run_streams(language, grpc_go_server)
