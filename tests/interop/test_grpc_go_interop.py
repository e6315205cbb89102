"""The stock grpc-go interop client (google.golang.org/grpc/interop/client, built from the Go
module proxy by `make test-interop`) runs its test cases against grpc.testing.TestService served
by hms-ffi (tests/interop/rust/interop_server.rs) over grpc://."""

from __future__ import annotations

import subprocess
from typing import Iterator

import pytest

from conftest import ROOT, free_port

CLIENT = ROOT / "target" / "go" / "interop-client"
DESCRIPTORS = ROOT / "target" / "go" / "grpc_testing.binpb"
SERVER = ROOT / "target" / "debug" / "examples" / "interop_server"

CASES = [
    "empty_unary",
    "large_unary",
    "status_code_and_message",
    "unimplemented_method",
    "timeout_on_sleeping_server",
    "cancel_after_begin",
    "server_streaming",
    "client_streaming",
    "ping_pong",
    "empty_stream",
    "special_status_message",
    "unimplemented_service",
    "custom_metadata",
    "cancel_after_first_response",
    # The client's resilience cases grpc-go has (it has no retry case): many calls on one
    # channel, and a new channel per call, each within its own deadline.
    "rpc_soak --soak_iterations=50",
    "channel_soak --soak_iterations=20",
]


@pytest.fixture(scope="module")
def test_service() -> Iterator[int]:
    """hms-ffi serving grpc.testing.TestService on grpc://127.0.0.1:PORT; yields the port."""
    for path in (CLIENT, DESCRIPTORS, SERVER):
        assert path.exists(), f"{path} is missing: run `make test-interop`"
    port = free_port()
    p = subprocess.Popen([str(SERVER), str(DESCRIPTORS), f"grpc://127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready", "interop server did not start"
    yield port
    p.terminate()
    p.wait(timeout=10)


def run_case(port: int, case: str) -> subprocess.CompletedProcess[str]:
    name, *flags = case.split()
    args = [str(CLIENT), "--server_host=127.0.0.1", f"--server_port={port}", "--use_tls=false", f"--test_case={name}", *flags]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", CASES)
def test_grpc_go_interop_client_case(test_service, case) -> None:
    done = run_case(test_service, case)
    assert done.returncode == 0, f"{case} failed:\n{done.stdout}\n{done.stderr}"
