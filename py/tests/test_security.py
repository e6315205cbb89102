"""Security from Python: one ``security=`` file gives the server its policy, audit log and
limits; the handler sees the caller's identity; refused calls raise typed errors."""

import json
import os
import pathlib
import time

import pytest

import hms_ffi
from vectors import SERVICE, conformance_server

ECHO = f"{SERVICE}/Echo"
SCALARS = f"{SERVICE}/EchoScalars"


def test_security_file_policy_identity_and_audit(tmp_path: pathlib.Path) -> None:
    audit = tmp_path / "audit.jsonl"
    security = tmp_path / "security.toml"
    security.write_text(
        f"""
[limits]
max_message_bytes = 2048
[audit]
file = "{audit}"
[policy]
[[policy.rule]]
identities = ["uid:*"]
deny = ["{ECHO}"]
"""
    )
    server = conformance_server(security=str(security))
    seen = []

    @server.method(SCALARS)
    def scalars(req, ctx):
        seen.append((ctx.identity, ctx.peer_credentials))
        return req

    uri = f"unix://{tmp_path}/sec.sock"
    server.listen(uri)
    assert os.stat(f"{tmp_path}/sec.sock").st_mode & 0o777 == 0o600
    client = hms_ffi.connect(uri, schema=server.schema)
    assert client.call(SCALARS, {"string_v": "hi"})["string_v"] == "hi"
    assert seen == [(f"uid:{os.getuid()}", (os.getuid(), os.getgid(), os.getpid()))]
    with pytest.raises(hms_ffi.PermissionDenied):
        client.call(ECHO, {"unicode_text": "no"})
    with pytest.raises(hms_ffi.ResourceExhausted):
        client.call(SCALARS, {"string_v": "x" * 4096})

    lines = []
    for _ in range(200):
        lines = [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
        if len(lines) >= 3:
            break
        time.sleep(0.01)
    assert [line["code"] for line in lines] == ["OK", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED"]
    assert all(line["identity"] == f"uid:{os.getuid()}" for line in lines)
    client.close()
    server.shutdown(grace=1.0)


def test_a_bad_security_file_is_invalid_argument(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[policy]\ndefault_network = 'sometimes'\n")
    with pytest.raises(hms_ffi.InvalidArgument):
        hms_ffi.Server(conformance_server().schema, security=str(bad))
