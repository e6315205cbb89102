"""The http:// transport against a stock HTTP client: real curl speaking the Connect protocol's
unary calls (JSON and binary protobuf bodies, HTTP/1.1 and h2c) to the Rust conformance server."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time

import pytest

import hms_ffi

SERVICE = "hms.conformance.v1.Conformance"
CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="curl is not installed (apt-get install curl)")


def curl(url: str, body: bytes, *, content_type: str = "application/json", headers: dict[str, str] | None = None, extra: list[str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """POSTs `body` with curl; returns the HTTP status, the response headers (lower-case) and the body."""
    args = [str(CURL), "-sS", "-X", "POST", "--data-binary", "@-", "-D", "/dev/stderr", "-H", f"Content-Type: {content_type}", "-H", "Connect-Protocol-Version: 1"]
    for k, v in (headers or {}).items():
        args += ["-H", f"{k}: {v}"]
    done = subprocess.run([*args, *(extra or []), url], input=body, capture_output=True, timeout=30, check=True)
    # The last header block: an interim `100 Continue` (curl sends `Expect:` for big bodies) comes first.
    blocks = [b for b in done.stderr.decode().split("\r\n\r\n") if b.startswith("HTTP/")]
    lines = blocks[-1].split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if ":" in line)}
    return status, hdrs, done.stdout


def test_curl_json_call_succeeds(http_server) -> None:
    request = {"unicodeText": "héllo", "weightMg": str(2**62), "numbers": [1, -2], "color": "COLOR_BLUE"}
    status, headers, body = curl(f"{http_server}/{SERVICE}/Echo", json.dumps(request).encode())
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    reply = json.loads(body)
    # Canonical proto JSON: 64-bit integers as strings, enums by name.
    assert (reply["unicodeText"], reply["weightMg"], reply["numbers"], reply["color"]) == ("héllo", str(2**62), ["1", "-2"], "COLOR_BLUE")


def test_curl_h2c_binary_protobuf(stubs, http_server) -> None:
    pb2, _ = stubs
    request = pb2.AllTypes(unicode_text="h2", numbers=[7]).SerializeToString()
    status, headers, body = curl(f"{http_server}/{SERVICE}/Echo", request, content_type="application/proto", extra=["--http2-prior-knowledge"])
    assert status == 200 and headers["content-type"] == "application/proto"
    reply = pb2.AllTypes.FromString(body)
    assert (reply.unicode_text, list(reply.numbers)) == ("h2", [7])


def test_curl_invalid_argument_carries_field_violations(stubs, http_server) -> None:
    request = {"code": "INVALID_ARGUMENT", "message": "bad order", "violationPaths": ["items[2].price", "name"]}
    status, headers, body = curl(f"{http_server}/{SERVICE}/Fail", json.dumps(request).encode())
    assert status == 400 and headers["content-type"] == "application/json"
    error = json.loads(body)
    assert (error["code"], error["message"]) == ("invalid_argument", "bad order")
    [bad] = [d for d in error["details"] if d["type"] == "google.rpc.BadRequest"]
    assert [v["field"] for v in bad["debug"]["fieldViolations"]] == ["items[2].price", "name"]
    # The value is the protobuf message itself, base64 without padding, as Connect clients decode it.
    from google.rpc import error_details_pb2

    decoded = error_details_pb2.BadRequest.FromString(base64.b64decode(bad["value"] + "=" * (-len(bad["value"]) % 4)))
    assert [v.field for v in decoded.field_violations] == ["items[2].price", "name"]


def test_curl_bad_json_is_invalid_argument(http_server) -> None:
    status, _, body = curl(f"{http_server}/{SERVICE}/Echo", b'{"numbers": "not a list"}')
    assert status == 400
    assert json.loads(body)["code"] == "invalid_argument"


def test_curl_unknown_method_is_404_unimplemented(http_server) -> None:
    status, _, body = curl(f"{http_server}/{SERVICE}/Nope", b"{}")
    assert status == 404
    assert json.loads(body)["code"] == "unimplemented"


def test_curl_streaming_method_is_unimplemented(http_server) -> None:
    status, _, body = curl(f"{http_server}/{SERVICE}/ServerStream", b"{}")
    assert status == 501
    assert json.loads(body)["code"] == "unimplemented"


def test_curl_connect_timeout_ms_is_the_deadline(http_server) -> None:
    start = time.monotonic()
    status, _, body = curl(f"{http_server}/{SERVICE}/Sleep", b'{"millis": "5000"}', headers={"Connect-Timeout-Ms": "200"})
    elapsed = time.monotonic() - start
    assert status == 504 and json.loads(body)["code"] == "deadline_exceeded"
    assert elapsed < 4, f"the server slept past the deadline ({elapsed:.1f}s)"


def test_curl_oversized_body_is_429_resource_exhausted(http_server) -> None:
    big = json.dumps({"unicodeText": "x" * (5 * 1024 * 1024)}).encode()
    status, _, body = curl(f"{http_server}/{SERVICE}/Echo", big)
    assert status == 429
    error = json.loads(body)
    assert error["code"] == "resource_exhausted" and "limit" in error["message"]
    # The server keeps serving.
    status, _, _ = curl(f"{http_server}/{SERVICE}/Echo", b"{}")
    assert status == 200


def test_curl_unsupported_content_type_is_415(http_server) -> None:
    status, _, body = curl(f"{http_server}/{SERVICE}/Echo", b"hi", content_type="text/plain")
    assert status == 415
    assert json.loads(body)["code"] == "unimplemented"


def test_hms_python_client_over_http(http_server) -> None:
    client = hms_ffi.connect(http_server)
    assert client.call(f"{SERVICE}/Echo", {"unicode_text": "py"})["unicode_text"] == "py"
    with pytest.raises(hms_ffi.NotFound) as info:
        client.call(f"{SERVICE}/Fail", {"code": "NOT_FOUND", "message": "gone"})
    assert info.value.message == "gone"
