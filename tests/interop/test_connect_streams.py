"""Connect streaming over http:// against stock HTTP clients (Python's http.client and curl):
enveloped messages both ways, the end-of-stream message with the error and trailers, flow of a
long stream, refusals of what the protocol does not allow. The server is the Rust conformance
server (its streaming methods: tests/conformance/README.md, "Streaming")."""

from __future__ import annotations

import http.client
import json
import shutil
import struct
import subprocess
import urllib.parse

import pytest

SERVICE = "hms.conformance.v1.Conformance"
JSON = "application/connect+json"


def envelope(message: bytes, flags: int = 0) -> bytes:
    return struct.pack(">BI", flags, len(message)) + message


def envelopes(body: bytes) -> list[tuple[int, bytes]]:
    """Splits a response body into (flags, message) pairs; fails on a cut envelope."""
    out, at = [], 0
    while at < len(body):
        assert len(body) - at >= 5, f"cut envelope header at {at}"
        flags, n = struct.unpack(">BI", body[at : at + 5])
        assert len(body) - at - 5 >= n, f"cut envelope body at {at}"
        out.append((flags, body[at + 5 : at + 5 + n]))
        at += 5 + n
    return out


def post(url: str, method: str, body: bytes, content_type: str = JSON, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    parsed = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        conn.request("POST", f"/{SERVICE}/{method}", body=body, headers={"Content-Type": content_type, **(headers or {})})
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


def split(body: bytes) -> tuple[list[dict], dict]:
    """The messages (JSON) and the end-of-stream object."""
    parts = envelopes(body)
    assert parts and parts[-1][0] == 0x02, f"no end-of-stream message last: {parts[-1:]}"
    assert all(flags == 0 for flags, _ in parts[:-1])
    return [json.loads(m) for _, m in parts[:-1]], json.loads(parts[-1][1])


def test_server_stream_json(http_server) -> None:
    request = {"unicodeText": "s", "counts": {"repeat": "4"}}
    status, headers, body = post(http_server, "ServerStream", envelope(json.dumps(request).encode()))
    assert status == 200 and headers["content-type"] == JSON
    messages, end = split(body)
    assert [m["weightMg"] for m in messages] == ["0", "1", "2", "3"]
    assert all(m["unicodeText"] == "s" for m in messages)
    assert "error" not in end, end


def test_error_after_messages_is_in_the_end_of_stream(http_server) -> None:
    request = {"counts": {"repeat": "5", "fail_after": "2"}}
    status, _, body = post(http_server, "ServerStream", envelope(json.dumps(request).encode()))
    assert status == 200  # a stream's outcome is in its end-of-stream message
    messages, end = split(body)
    assert len(messages) == 2
    assert end["error"]["code"] == "aborted" and "after 2" in end["error"]["message"], end


def test_client_stream_counts_requests(http_server) -> None:
    body = b"".join(envelope(json.dumps({"unicodeText": f"m{i}"}).encode()) for i in range(7))
    status, _, reply = post(http_server, "ClientStream", body)
    assert status == 200
    [message], end = split(reply)
    assert (message["unicodeText"], message["weightMg"]) == ("m6", "7") and "error" not in end


def test_long_stream_in_order(http_server) -> None:
    status, _, body = post(http_server, "ServerStream", envelope(json.dumps({"counts": {"repeat": "10000"}}).encode()))
    assert status == 200
    messages, end = split(body)
    assert [int(m.get("weightMg", "0")) for m in messages] == list(range(10000)) and "error" not in end


def test_binary_proto_stream(stubs, http_server) -> None:
    pb2, _ = stubs
    request = pb2.AllTypes(unicode_text="p", counts={"repeat": 3}).SerializeToString()
    status, headers, body = post(http_server, "ServerStream", envelope(request), content_type="application/connect+proto")
    assert status == 200 and headers["content-type"] == "application/connect+proto"
    parts = envelopes(body)
    replies = [pb2.AllTypes.FromString(m) for flags, m in parts if flags == 0]
    assert [r.weight_mg for r in replies] == [0, 1, 2] and parts[-1][0] == 0x02


@pytest.mark.parametrize(
    "body, code",
    [
        (envelope(b"{}", flags=0x01), "unimplemented"),  # compressed, no encoding agreed
        (envelope(b"{}", flags=0x02), "invalid_argument"),  # end-of-stream from a client
        (envelope(b"{}")[:-1], "invalid_argument"),  # cut inside the envelope
    ],
)
def test_bad_envelopes_end_the_call_typed(http_server, body: bytes, code: str) -> None:
    status, _, reply = post(http_server, "ClientStream", body)
    assert status == 200
    _, end = split(reply)
    assert end["error"]["code"] == code, end
    # The server keeps serving.
    ok_status, _, ok = post(http_server, "ClientStream", envelope(b"{}"))
    assert ok_status == 200 and "error" not in split(ok)[1]


def test_unknown_method_streams_its_error(http_server) -> None:
    status, _, body = post(http_server, "NoSuchMethod", envelope(b"{}"))
    assert status == 200
    _, end = split(body)
    assert end["error"]["code"] in ("unimplemented", "not_found"), end


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_h2c_bidi(http_server) -> None:
    body = b"".join(envelope(json.dumps({"unicodeText": w}).encode()) for w in ["a", "b"])
    done = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-X", "POST", "--data-binary", "@-", "-H", f"Content-Type: {JSON}", f"{http_server}/{SERVICE}/Bidi"],
        input=body, capture_output=True, timeout=30, check=True,
    )
    messages, end = split(done.stdout)
    assert [(m["unicodeText"], m.get("weightMg", "0")) for m in messages] == [("a", "0"), ("b", "1")] and "error" not in end
