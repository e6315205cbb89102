"""The schema registry from Python: `hms-ffi registry serve` (the CLI, over a SQLite file) called
through the generic client, as any other hms-ffi service — no registry code in the binding."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import time
from typing import Iterator

import pytest

import hms_ffi

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
CLI_BIN = TARGET / "debug" / "hms-ffi"
REGISTER = "hms.ffi.v1.Registry/Register"
TIMEOUT = 10.0


def shop(body: str) -> bytes:
    text = f'syntax = "proto3";\npackage shop.v1;\nmessage Item {{ {body} }}\n'
    return hms_ffi.Schema.from_source("shop.proto", text).to_descriptor_set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def registry(tmp_path: pathlib.Path) -> Iterator[dict]:
    """A registry process on unix:// and http:// (Connect), killed at the end."""
    if not CLI_BIN.exists():
        pytest.fail(f"{CLI_BIN} is missing: `cargo build -p hms-ffi-cli` first (make test-py does)")
    sock, port = tmp_path / "registry.sock", free_port()
    uris = {"unix": f"unix://{sock}", "http": f"http://127.0.0.1:{port}"}
    args = [str(CLI_BIN), "registry", "serve", "--db", str(tmp_path / "registry.db")]
    for uri in uris.values():
        args += ["--listen", uri]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert sock.exists(), "hms-ffi registry serve did not start"
        yield {"uris": uris, "proc": proc, "db": tmp_path / "registry.db"}
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_register_fetch_and_list_through_the_generic_client(registry: dict) -> None:
    client = hms_ffi.connect(registry["uris"]["unix"])
    first = client.call(REGISTER, {"descriptor_set": shop("int32 count = 1;")}, timeout=TIMEOUT)
    assert (first["version"]["version"], first["created"]) == (1, True)
    assert first["version"]["fingerprint"].startswith("sha256:")
    second = client.call(REGISTER, {"descriptor_set": shop("int32 count = 1; string name = 2;")}, timeout=TIMEOUT)
    assert second["version"]["version"] == 2
    again = client.call(REGISTER, {"descriptor_set": shop("int32 count = 1;")}, timeout=TIMEOUT)
    assert (again["version"]["version"], again["created"]) == (1, False)

    # Over Connect (http://) too: fetch by fingerprint, list.
    http = hms_ffi.connect(registry["uris"]["http"])
    fp = first["version"]["fingerprint"]
    got = http.call("hms.ffi.v1.Registry/GetVersion", {"fingerprint": fp}, timeout=TIMEOUT)
    assert got["version"] == 1
    # The set as registered: it loads, and is byte for byte what was sent.
    assert got["descriptor_set"] == shop("int32 count = 1;")
    assert hms_ffi.Schema.from_descriptor_set(got["descriptor_set"]).services() == []
    listed = http.call("hms.ffi.v1.Registry/ListVersions", {"subject": "shop.v1"}, timeout=TIMEOUT)
    assert [v["version"] for v in listed["versions"]] == [1, 2]
    subjects = http.call("hms.ffi.v1.Registry/ListSubjects", {}, timeout=TIMEOUT)["subjects"]
    assert [(s["subject"], s["latest_version"], s["mode"]) for s in subjects] == [("shop.v1", 2, "BACKWARD")]
    client.close()
    http.close()


def test_an_incompatible_schema_is_failed_precondition_naming_the_rules(registry: dict) -> None:
    client = hms_ffi.connect(registry["uris"]["unix"])
    client.call(REGISTER, {"descriptor_set": shop("int32 count = 1;")}, timeout=TIMEOUT)
    with pytest.raises(hms_ffi.FailedPrecondition) as caught:
        client.call(REGISTER, {"descriptor_set": shop("string count = 1;")}, timeout=TIMEOUT)
    err = caught.value
    assert err.reason == "INCOMPATIBLE_SCHEMA"
    meta = err.details["error_info"]["metadata"]
    assert meta["rules"] == "FIELD_WIRE_JSON_COMPATIBLE_TYPE"
    assert "shop.proto:3:" in meta["findings"]
    # NONE lets it through; deprecating version 1 is seen in the version list.
    mode = client.call("hms.ffi.v1.Registry/SetMode", {"subject": "shop.v1", "mode": "NONE"}, timeout=TIMEOUT)
    assert (mode["mode"], mode["category"]) == ("NONE", "WIRE_JSON")
    assert client.call(REGISTER, {"descriptor_set": shop("string count = 1;")}, timeout=TIMEOUT)["created"]
    client.call("hms.ffi.v1.Registry/Deprecate", {"subject": "shop.v1", "version": 1, "reason": "int32"}, timeout=TIMEOUT)
    versions = client.call("hms.ffi.v1.Registry/ListVersions", {"subject": "shop.v1"}, timeout=TIMEOUT)["versions"]
    assert [(v["version"], v["deprecated"]) for v in versions] == [(1, True), (2, False)]
    client.close()


def test_bad_input_gets_typed_errors(registry: dict) -> None:
    client = hms_ffi.connect(registry["uris"]["unix"])
    with pytest.raises(hms_ffi.InvalidArgument) as caught:
        client.call(REGISTER, {"descriptor_set": b"\xff\xff\xff"}, timeout=TIMEOUT)
    assert caught.value.reason == "SCHEMA_INVALID"
    with pytest.raises(hms_ffi.InvalidArgument) as caught:
        client.call(REGISTER, {"subject": "other.v1", "descriptor_set": shop("int32 a = 1;")}, timeout=TIMEOUT)
    assert caught.value.field_violations[0][0] == "subject"
    with pytest.raises(hms_ffi.NotFound):
        client.call("hms.ffi.v1.Registry/GetVersion", {"subject": "nope.v1"}, timeout=TIMEOUT)
    with pytest.raises(hms_ffi.InvalidArgument):
        client.call("hms.ffi.v1.Registry/SetMode", {"subject": "shop.v1", "mode": "SIDEWAYS"}, timeout=TIMEOUT)
    client.close()


V1 = """syntax = "proto3";
package shop.v1;
message Item { int32 count = 1; }
message GetRequest { string id = 1; }
message ListRequest {}
service Shop { rpc Get(GetRequest) returns (Item); rpc List(ListRequest) returns (Item); }
"""
# GetRequest.id becomes an int64 (Get breaks), Item gains a field (List keeps working).
V2 = V1.replace("string id = 1", "int64 id = 1").replace("int32 count = 1;", "int32 count = 1; string name = 2;")


def test_a_client_built_against_v1_learns_at_connect_what_a_v2_server_breaks(
    registry: dict, tmp_path: pathlib.Path
) -> None:
    server = hms_ffi.Server(hms_ffi.Schema.from_source("shop.proto", V2))
    seen = []

    @server.method("shop.v1.Shop/Get")
    def get(req: dict, ctx: hms_ffi.Context) -> dict:
        seen.append("Get")
        return {"count": 1}

    @server.method("shop.v1.Shop/List")
    def list_(req: dict, ctx: hms_ffi.Context) -> dict:
        seen.append("List")
        return {"count": 2, "name": "pen"}

    uri = server.listen(f"unix://{tmp_path}/shop.sock")
    server.set_schema_version("shop.v1", 2)
    try:
        client = hms_ffi.connect(uri, expect_schema=hms_ffi.Schema.from_source("shop.proto", V1))
        # The announced fingerprint is the one the registry gives the same schema.
        registered = hms_ffi.connect(registry["uris"]["unix"]).call(
            REGISTER, {"descriptor_set": hms_ffi.Schema.from_source("shop.proto", V2).to_descriptor_set()}, timeout=TIMEOUT
        )
        assert client.schema_version == server.schema_version
        assert client.schema_version == {
            "fingerprint": registered["version"]["fingerprint"],
            "subject": "shop.v1",
            "version": 2,
        }
        broken = client.incompatible_methods()
        assert list(broken) == ["shop.v1.Shop/Get"]
        assert "FIELD_WIRE_JSON_COMPATIBLE_TYPE" in broken["shop.v1.Shop/Get"][0]
        with pytest.raises(hms_ffi.FailedPrecondition) as caught:
            client.call("shop.v1.Shop/Get", {"id": "7"}, timeout=TIMEOUT)
        assert caught.value.reason == "INCOMPATIBLE_SCHEMA"
        assert client.call("shop.v1.Shop/List", {}, timeout=TIMEOUT)["count"] == 2
        assert seen == ["List"]
        client.close()
    finally:
        server.shutdown(grace=1.0)


def test_a_schema_from_the_registry_is_the_version_named_and_an_expected_schema(
    registry: dict, tmp_path: pathlib.Path
) -> None:
    uri = registry["uris"]["unix"]
    reg = hms_ffi.connect(uri)
    for text in (V1, V1.replace("int32 count = 1;", "int32 count = 1; string note = 2;")):
        reg.call(REGISTER, {"descriptor_set": hms_ffi.Schema.from_source("shop.proto", text).to_descriptor_set()}, timeout=TIMEOUT)
    v1 = hms_ffi.Schema.from_registry(f"registry+{uri}#shop.v1@1")
    assert v1.to_descriptor_set() != hms_ffi.Schema.from_registry(f"registry+{uri}#shop.v1").to_descriptor_set()
    assert {m[0] for m in v1.methods()} == {"shop.v1.Shop/Get", "shop.v1.Shop/List"}
    # The same reference over Connect (http://), by fingerprint.
    fingerprint = reg.call("hms.ffi.v1.Registry/GetVersion", {"subject": "shop.v1", "version": 1}, timeout=TIMEOUT)["fingerprint"]
    by_hash = hms_ffi.Schema.from_registry(f"registry+{registry['uris']['http']}#{fingerprint}")
    assert by_hash.to_descriptor_set() == v1.to_descriptor_set()
    # A client built against v1 as the registry keeps it learns at connect what v2 breaks.
    server = hms_ffi.Server(hms_ffi.Schema.from_source("shop.proto", V2))
    server.method("shop.v1.Shop/List")(lambda req, ctx: {"count": 2})
    served = server.listen(f"unix://{tmp_path}/shop2.sock")
    try:
        client = hms_ffi.connect(served, expect_schema=v1)
        assert list(client.incompatible_methods()) == ["shop.v1.Shop/Get"]
        client.close()
    finally:
        server.shutdown(grace=1.0)
    with pytest.raises(hms_ffi.InvalidArgument):
        hms_ffi.Schema.from_registry("shop/v1")
    with pytest.raises(hms_ffi.NotFound):
        hms_ffi.Schema.from_registry(f"registry+{uri}#shop.v1@9")
    with pytest.raises(hms_ffi.Unavailable):
        hms_ffi.Schema.from_registry(f"registry+unix://{tmp_path}/none.sock#shop.v1", timeout=2.0)
