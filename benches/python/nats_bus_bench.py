"""Pub/sub over NATS, Python publisher -> Go subscriber (issue 22's target: hms-ffi reaches
>= 80 % of the raw rate of the stock clients, nats-py publisher -> nats.go subscriber, measured
in the same run), 64-byte events, one nats-server of its own.

Each round runs both pairs, alternating: the Go subscriber (benches/go/natsbus, built here with
`go build`) subscribes, says "ready", and receives N events; this process publishes them as fast
as it can. The rate is N over the time from the first publish to the last event received.

    make py-install nats-py-install go-lib
    target/py-venv/bin/python benches/python/nats_bus_bench.py [EVENTS] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import pathlib
import statistics
import subprocess
import sys
import time

import nats

import hms_ffi

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from nats_server import nats_server  # noqa: E402

PROTO = 'syntax = "proto3"; package bench.v1; message Tick { bytes data = 1; }'
DATA = b"\x07" * 62  # the Tick encodes to 64 bytes
GO_BIN = ROOT / "target/go-bench/natsbus"


def build_go() -> None:
    GO_BIN.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["go", "build", "-o", str(GO_BIN), "./natsbus"], cwd=ROOT / "benches/go", check=True, timeout=600)


def subscriber(mode: str, address: str, prefix: str, events: int) -> subprocess.Popen[str]:
    args = [str(GO_BIN), "-mode", mode, "-addr", address, "-prefix", prefix, "-n", str(events), "-timeout", "60s"]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    line = p.stdout.readline().strip()
    if line != "ready":
        p.kill()
        raise RuntimeError(f"the Go subscriber ({mode}) did not start: {line!r}")
    return p


def finish(p: subprocess.Popen[str], started: float, events: int) -> float:
    out, _ = p.communicate(timeout=90)
    got, _first, last = (int(x) for x in out.split()[1:4])
    if got != events:
        raise RuntimeError(f"received {got} of {events}")
    return events / (last / 1e9 - started)


def hms_round(address: str, events: int) -> tuple[float, float]:
    """hms-ffi publisher -> hms-ffi Go subscriber: the end-to-end rate, and the publish rate."""
    p = subscriber("hms", address, "hms", events)
    bus = hms_ffi.Bus.connect(f"nats://{address}/hms", hms_ffi.Schema.from_source("bench.proto", PROTO))
    bus.declare("ticks.>", "bench.v1.Tick")
    message = {"data": DATA}
    started = time.time()
    for _ in range(events):
        bus.publish("ticks.a", message)
    published = time.time() - started
    return finish(p, started, events), events / published


async def raw_publish(address: str, subject: str, events: int, headers: dict[str, str] | None = None) -> float:
    nc = await nats.connect(f"nats://{address}", pending_size=64 * 1024 * 1024)
    payload = b"\x0a\x3e" + DATA
    started = time.time()
    for _ in range(events):
        await nc.publish(subject, payload, headers=headers)
    await nc.flush()
    await nc.close()
    return started


def raw_round(address: str, events: int) -> float:
    p = subscriber("raw", address, "raw", events)
    started = asyncio.run(raw_publish(address, "raw.ticks.a", events))
    return finish(p, started, events)


def stock_to_hms_round(address: str, events: int) -> float:
    """nats-py publisher (the documented subject and headers) -> hms-ffi Go subscriber: the
    subscriber's share alone."""
    p = subscriber("hms", address, "mixed", events)
    headers = {"hms-type": "bench.v1.Tick", "content-type": "application/proto"}
    started = asyncio.run(raw_publish(address, "mixed.ticks.a", events, headers))
    return finish(p, started, events)


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    build_go()
    raw_rates, hms_rates, pub_rates, mixed_rates = [], [], [], []
    with nats_server() as address:
        for r in range(rounds):
            raw_rates.append(raw_round(address, events))
            hms, published = hms_round(address, events)
            hms_rates.append(hms)
            pub_rates.append(published)
            mixed_rates.append(stock_to_hms_round(address, events))
            print(
                f"round {r + 1}: raw {raw_rates[-1] / 1e3:.0f} k/s, hms-ffi {hms / 1e3:.0f} k/s "
                f"(its publish loop {published / 1e3:.0f} k/s), nats-py -> hms-ffi Go {mixed_rates[-1] / 1e3:.0f} k/s",
                flush=True,
            )
    raw, hms = statistics.median(raw_rates), statistics.median(hms_rates)
    print(f"nats-py -> nats.go (raw):          {raw / 1e3:.0f} k events/s (median of {rounds})")
    print(f"hms-ffi Python -> hms-ffi Go:      {hms / 1e3:.0f} k events/s")
    print(f"  hms-ffi Python's publish loop:   {statistics.median(pub_rates) / 1e3:.0f} k events/s")
    print(f"  nats-py -> hms-ffi Go subscriber: {statistics.median(mixed_rates) / 1e3:.0f} k events/s")
    print(f"hms-ffi / raw: {hms / raw:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
