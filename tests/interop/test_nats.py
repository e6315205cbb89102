"""nats:// against the stock NATS Python client (issue 22), through a nats-server of the test's own.

- nats-py calls the Rust conformance server with nothing of hms-ffi's but the documented subject,
  headers and protobuf payload (docs/messaging.md), and sees it through NATS micro discovery;
- the hms-ffi CLI (`hms-ffi call --schema`) calls a service written with nats-py's stock micro API.

nats-server comes from scripts/install-nats.sh (target/tools/nats); `make test-nats` installs it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pathlib
import select
import subprocess
import sys
from typing import Iterator

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from nats_server import nats_server  # noqa: E402

import nats  # nats-py: `make test-nats` and `make test-interop` install it
from nats import micro

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
SERVER_BIN = TARGET / "debug" / "examples" / "conformance"
CLI_BIN = TARGET / "debug" / "hms-ffi"
PROTO = ROOT / "tests" / "conformance" / "conformance.proto"
SUBJECT = "interop.hms.conformance.v1.Conformance."


@pytest.fixture(scope="module")
def nats_url() -> Iterator[str]:
    """A nats-server on a free port, stopped at the end."""
    with nats_server() as address:
        yield address


@pytest.fixture(scope="module")
def hms_nats_server(nats_url: str) -> Iterator[str]:
    """The Rust conformance server on nats://…/interop."""
    p = subprocess.Popen([str(SERVER_BIN), "serve", f"nats://{nats_url}/interop"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None
        ready, _, _ = select.select([p.stdout], [], [], 30)
        assert ready and p.stdout.readline().strip() == "ready", "conformance server did not start"
        yield nats_url
    finally:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


async def bounded(proc, timeout: float = 15):
    """A child's output, waited for at most `timeout` seconds (then it is killed)."""
    try:
        return await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=30))


def test_nats_py_calls_an_hms_ffi_server_with_protobuf(hms_nats_server: str, stubs) -> None:
    pb2, _ = stubs

    async def main():
        nc = await nats.connect(f"nats://{hms_nats_server}")
        req = pb2.Scalars(string_v="Ada", int64_v=-(2**40), bytes_v=b"\x00\xff")
        msg = await nc.request(SUBJECT + "EchoScalars", req.SerializeToString(), timeout=10)
        await nc.close()
        return msg

    msg = run(main())
    assert msg.headers["hms-status"] == "0"
    assert pb2.Scalars.FromString(msg.data) == pb2.Scalars(string_v="Ada", int64_v=-(2**40), bytes_v=b"\x00\xff")


def test_nats_py_sees_errors_with_details_and_micro_headers(hms_nats_server: str, stubs) -> None:
    pb2, _ = stubs
    from google.rpc import error_details_pb2, status_pb2

    async def main():
        nc = await nats.connect(f"nats://{hms_nats_server}")
        req = pb2.FailRequest(code="NOT_FOUND", message="no such user", violation_paths=["items[2].price"])
        headers = {"x-conf-user": "ada"}
        msg = await nc.request(SUBJECT + "Fail", req.SerializeToString(), timeout=10, headers=headers)
        await nc.close()
        return msg

    msg = run(main())
    assert msg.headers["hms-status"] == "5"
    assert msg.headers["Nats-Service-Error-Code"] == "404"
    assert msg.headers["Nats-Service-Error"] == "no such user"
    assert json.loads(msg.data)["code"] == "not_found"
    status = status_pb2.Status.FromString(base64.b64decode(msg.headers["hms-status-details-bin"] + "=="))
    assert (status.code, status.message) == (5, "no such user")
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details)
    assert bad.field_violations[0].field == "items[2].price"


def test_nats_py_sends_json_and_a_deadline(hms_nats_server: str) -> None:
    async def main():
        nc = await nats.connect(f"nats://{hms_nats_server}")
        ok = await nc.request(SUBJECT + "EchoScalars", b'{"stringV": "json"}', timeout=10, headers={"Content-Type": "application/json"})
        late = await nc.request(SUBJECT + "Sleep", b'{"millis": 3000}', timeout=10, headers={"Content-Type": "application/json", "hms-timeout-ms": "100"})
        await nc.close()
        return ok, late

    ok, late = run(main())
    assert json.loads(ok.data)["stringV"] == "json"
    assert late.headers["hms-status"] == "4", late.data  # DEADLINE_EXCEEDED, answered by the server


def test_micro_discovery_lists_the_hms_ffi_service(hms_nats_server: str) -> None:
    async def main():
        nc = await nats.connect(f"nats://{hms_nats_server}")
        ping = await nc.request("$SRV.PING.interop", b"", timeout=10)
        info = await nc.request("$SRV.INFO.interop", b"", timeout=10)
        await nc.close()
        return json.loads(ping.data), json.loads(info.data)

    ping, info = run(main())
    # nats-py's own micro types parse them.
    assert micro.service.ServicePing.from_dict(ping).name == "interop"
    parsed = micro.service.ServiceInfo.from_dict(info)
    subjects = {e.subject for e in parsed.endpoints}
    assert SUBJECT + "Echo" in subjects and all(e.queue_group == "q" for e in parsed.endpoints)


def test_hms_ffi_client_calls_a_stock_nats_micro_service(nats_url: str, stubs) -> None:
    pb2, _ = stubs
    prefix = "stock.hms.conformance.v1.Conformance."

    async def echo(req: micro.Request) -> None:
        scalars = pb2.Scalars.FromString(req.data)
        scalars.string_v = scalars.string_v.upper()
        await req.respond(scalars.SerializeToString())

    async def fail(req: micro.Request) -> None:
        await req.respond_error("403", "not for you")

    async def main():
        nc = await nats.connect(f"nats://{nats_url}")
        svc = await micro.add_service(nc, name="stock", version="1.0.0")
        await svc.add_endpoint(name="EchoScalars", subject=prefix + "EchoScalars", handler=echo)
        await svc.add_endpoint(name="Fail", subject=prefix + "Fail", handler=fail)
        await nc.flush()  # a PING/PONG round trip: the nats-server has the subscriptions
        call = ["--schema", str(PROTO), "--timeout", "10"]
        uri = f"nats://{nats_url}/stock"
        ok = await asyncio.create_subprocess_exec(str(CLI_BIN), "call", uri, "hms.conformance.v1.Conformance/EchoScalars", '{"stringV": "ada"}', *call, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = await bounded(ok)
        bad = await asyncio.create_subprocess_exec(str(CLI_BIN), "call", uri, "hms.conformance.v1.Conformance/Fail", "{}", *call, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = await bounded(bad)
        await svc.stop()
        await nc.close()
        return (ok.returncode, out), (bad.returncode, err)

    (ok_rc, out), (bad_rc, err) = run(main())
    assert ok_rc == 0, out[1]
    assert json.loads(out[0]) == {"stringV": "ADA"}
    assert bad_rc == 1
    assert "PERMISSION_DENIED: not for you" in err[1].decode()
