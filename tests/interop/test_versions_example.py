"""examples/versions end to end (docs/evolution.md, "Two versions side by side"): one Node server
serving revisions 1 and 2 of acme.v1, a Python client built against revision 1, a Go client built
against revision 2, and grpcurl (a stock gRPC client) choosing revision 1 with the
``hms-schema-revision`` header. Each process runs with a timeout; the server is stopped at the end."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from typing import Iterator

import pytest

from children import wait_for
from conftest import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "versions"
NODE_APP = ROOT / "target" / "node-app" / "node_modules"
GRPCURL = str(pathlib.Path(sys.executable).parent / "grpcurl")


def run(cmd: list, cwd: pathlib.Path = ROOT, timeout: float = 60) -> str:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def node_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The example's Node server on a unix socket and on grpc://127.0.0.1:PORT."""
    assert (NODE_APP / "hms-ffi").exists(), "the Node package is not installed: make node-install"
    sock = tmp_path_factory.mktemp("versions") / "acme.sock"
    port = free_port()
    env = {**os.environ, "NODE_PATH": str(NODE_APP)}
    proc = subprocess.Popen(
        ["node", str(EXAMPLE / "server.js"), f"unix://{sock}", f"grpc://127.0.0.1:{port}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for(sock, proc)
        yield {"unix": f"unix://{sock}", "grpc": f"127.0.0.1:{port}"}
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)


def test_a_v1_python_client_speaks_revision_1(node_server: dict) -> None:
    out = run([sys.executable, str(EXAMPLE / "client_v1.py"), node_server["unix"], "Ada"])
    assert "[python v1] revision sha256:" in out
    assert "[python v1] incompatible: {}" in out
    assert "[python v1] SayHello -> Hello Ada (v1)" in out
    assert "[python v1] SayGoodbye -> Goodbye Ada" in out


def test_a_v2_go_client_speaks_the_main_schema_and_reaches_the_bridge(node_server: dict) -> None:
    out = run([os.environ.get("GO", "go"), "run", ".", node_server["unix"], "Ada"], cwd=EXAMPLE / "go", timeout=300)
    assert '[go v2] revision "", incompatible: map[]' in out
    assert "[go v2] SayHello -> Bonjour Ada (length 11)" in out
    # SayGoodbye has only a revision 1 handler: bridged, its reply's field 1 reads as `text`.
    assert "[go v2] SayGoodbye -> Goodbye Ada (length 0)" in out


def test_grpcurl_chooses_a_revision_with_the_header(node_server: dict) -> None:
    addr, method = node_server["grpc"], "acme.v1.Greeter/SayHello"
    # Reflection describes the main schema (revision 2); grpcurl encodes with it.
    main = json.loads(run([GRPCURL, "-plaintext", "-d", '{"full_name": "Ada"}', addr, method]))
    assert main == {"text": "Hello Ada", "length": 9}
    # The same bytes read by revision 1's handler: field 1 is its `name`, and its reply's field
    # 1 (`message`) is revision 2's `text`.
    header = ["-H", "hms-schema-revision: rev1"]
    v1 = json.loads(run([GRPCURL, "-plaintext", *header, "-d", '{"full_name": "Ada"}', addr, method]))
    assert v1 == {"text": "Hello Ada (v1)"}
    bad = subprocess.run(
        [GRPCURL, "-plaintext", "-H", "hms-schema-revision: rev9", "-d", "{}", addr, method],
        capture_output=True, text=True, timeout=60,
    )
    assert bad.returncode != 0 and "FailedPrecondition" in bad.stderr and "rev1" in bad.stderr, bad.stderr
