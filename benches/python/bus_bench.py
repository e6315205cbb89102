"""In-process pub/sub from Python (issue 22's target: a Python subscriber takes ≥ 500 k events/s):
one publisher thread, the subscriber iterating on the main thread; 64-byte events.

    make py-install && target/py-venv/bin/python benches/python/bus_bench.py [EVENTS]
"""

from __future__ import annotations

import sys
import threading
import time

import hms_ffi

PROTO = 'syntax = "proto3"; package bench.v1; message Tick { bytes data = 1; }'


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    bus = hms_ffi.Bus(hms_ffi.Schema.from_source("bench.proto", PROTO))
    bus.declare("ticks.>", "bench.v1.Tick")
    message = {"data": b"\x07" * 62}  # 64 bytes encoded
    sub = bus.subscribe("ticks.*", pending=events)

    started = time.perf_counter()
    for _ in range(events):
        bus.publish("ticks.a", message)
    published = time.perf_counter() - started

    started = time.perf_counter()
    got = 0
    while got < events and sub.next(timeout=5) is not None:
        got += 1
    received = time.perf_counter() - started
    print(f"python publish:   {events / published / 1e3:.0f} k events/s")
    print(f"python subscribe: {got / received / 1e3:.0f} k events/s ({got} of {events}, {sub.dropped} dropped)")

    sub.close()

    # Both at once: a publisher thread and the subscriber, end to end.
    sub2 = bus.subscribe("ticks.*", pending=events)
    started = time.perf_counter()
    t = threading.Thread(target=lambda: [bus.publish("ticks.b", message) for _ in range(events)])
    t.start()
    got = 0
    while got < events and sub2.next(timeout=5) is not None:
        got += 1
    t.join()
    both = time.perf_counter() - started
    print(f"python end to end (publisher thread + subscriber): {got / both / 1e3:.0f} k events/s")
    sub2.close()


if __name__ == "__main__":
    main()
