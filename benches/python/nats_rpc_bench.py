"""RPC over NATS from Python (issue 22's target: hms-ffi's p50 ≤ 1.3× a raw nats-py
request/reply), one run, one nats-server of its own: a nats-py requester against a nats-py echo
responder, then an hms-ffi client against an hms-ffi server on nats://; 64-byte payloads.

    make nats-py-install && target/py-venv/bin/python benches/python/nats_rpc_bench.py [CALLS]
"""

from __future__ import annotations

import asyncio
import pathlib
import statistics
import sys
import time

import nats

import hms_ffi

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests"))
from nats_server import nats_server  # noqa: E402

PROTO = """syntax = "proto3"; package bench.v1;
message Blob { bytes data = 1; }
service Echo { rpc Echo(Blob) returns (Blob); }"""


def quantiles(samples: list[float]) -> str:
    s = sorted(samples)
    return f"p50 {statistics.median(s) * 1e6:.0f} µs, p99 {s[int(len(s) * 0.99)] * 1e6:.0f} µs"


async def raw(address: str, calls: int) -> list[float]:
    nc = await nats.connect(f"nats://{address}")

    async def echo(msg: nats.aio.msg.Msg) -> None:
        await msg.respond(msg.data)

    await nc.subscribe("raw.echo", "q", cb=echo)
    payload = b"\x0a\x3e" + b"\x07" * 62
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        await nc.request("raw.echo", payload, timeout=5)
        samples.append(time.perf_counter() - t)
    await nc.close()
    return samples


def hms(address: str, calls: int) -> list[float]:
    schema = hms_ffi.Schema.from_source("bench.proto", PROTO)
    server = hms_ffi.Server(schema)
    server.method("bench.v1.Echo/Echo")(lambda req, ctx: req)
    server.listen(f"nats://{address}/bench")
    client = hms_ffi.connect(f"nats://{address}/bench")
    request = {"data": b"\x07" * 62}
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        client.call("bench.v1.Echo/Echo", request, timeout=5)
        samples.append(time.perf_counter() - t)
    client.close()
    server.shutdown()
    return samples


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    with nats_server() as address:
        raw_s = asyncio.run(raw(address, calls))
        hms_s = hms(address, calls)
    print(f"nats-py request/reply:   {quantiles(raw_s)}")
    print(f"hms-ffi over nats://:    {quantiles(hms_s)}")
    print(f"p50 ratio hms-ffi / raw: {statistics.median(hms_s) / statistics.median(raw_s):.2f}")


if __name__ == "__main__":
    main()
