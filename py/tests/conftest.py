"""Fixtures: a Python conformance server per transport, and a client to it."""

from __future__ import annotations

import itertools
import pathlib
import sys
from typing import Iterator, Tuple

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import hms_ffi  # noqa: E402
from vectors import conformance_server  # noqa: E402

_counter = itertools.count()


@pytest.fixture(params=["inproc", "unix"])
def endpoint(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    if request.param == "inproc":
        return f"inproc://py-test-{next(_counter)}"
    return f"unix://{tmp_path}/py.sock"


@pytest.fixture
def served(endpoint: str) -> Iterator[Tuple[hms_ffi.Server, hms_ffi.Client]]:
    server = conformance_server()
    server.listen(endpoint)
    client = hms_ffi.connect(endpoint)
    yield server, client
    client.close()
    server.shutdown(grace=1.0)


@pytest.fixture(scope="module")
def conformance_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """One conformance server on inproc, unix and shm for a whole module (235 cases × 3)."""
    path = tmp_path_factory.mktemp("conf") / "conf.sock"
    shm = f"shm://{path.parent / 'conf-shm.sock'}"
    server = conformance_server()
    name = f"inproc://py-conformance-{next(_counter)}"
    server.listen(name)
    server.listen(f"unix://{path}")
    server.listen(shm)
    clients = {
        "inproc": hms_ffi.connect(name),
        "unix": hms_ffi.connect(f"unix://{path}"),
        "shm": hms_ffi.connect(shm),
    }
    yield clients
    server.shutdown(grace=1.0)


@pytest.fixture(scope="module")
def semantics_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """One conformance server on every transport for a module: the endpoints by transport."""
    path = tmp_path_factory.mktemp("sem")
    server = conformance_server()
    uris = {
        "inproc": server.listen(f"inproc://py-semantics-{next(_counter)}"),
        "unix": server.listen(f"unix://{path}/sem.sock"),
        "grpc": server.listen("grpc://127.0.0.1:0"),
        "http": server.listen("http://127.0.0.1:0"),
        "ws": server.listen("ws://127.0.0.1:0"),
    }
    yield uris
    server.shutdown(grace=1.0)
