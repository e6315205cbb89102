"""Python's client of the fault proof (tests/faults/test_faults.py):

    client.py PROTO RESILIENCE PREFIX CALLS CALLERS URI...

connects to every URI with the resilience options (JSON text), then CALLERS threads make
CALLS / CALLERS calls each of res.v1.Counter/Get (IDEMPOTENT) and then of res.v1.Counter/Add,
with the ids PREFIX-get-CALLER-N and PREFIX-add-CALLER-N, checks that each reply carries its
own id and prints one JSON line: per method the calls that succeeded and those that failed
UNAVAILABLE, replies that were not the caller's own, and any other error."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, Dict, List

import hms_ffi

METHODS = {"get": "res.v1.Counter/Get", "add": "res.v1.Counter/Add"}


def main() -> None:
    proto, resilience, prefix, calls, callers = sys.argv[1:6]
    uris = sys.argv[6:]
    per, threads = int(calls) // int(callers), int(callers)
    client = hms_ffi.connect(uris, schema=hms_ffi.Schema.load(proto), resilience=resilience)
    summary: Dict[str, Any] = {m: {"ok": 0, "unavailable": 0} for m in METHODS}
    summary.update(wrong=0, other=0, errors=[])
    lock = threading.Lock()

    def caller(kind: str, t: int) -> None:
        counts = {"ok": 0, "unavailable": 0, "wrong": 0, "other": 0}
        errors: List[str] = []
        for n in range(per):
            rid = f"{prefix}-{kind}-{t}-{n}"
            try:
                reply = client.call(METHODS[kind], {"id": rid}, timeout=20)
            except hms_ffi.Unavailable:
                counts["unavailable"] += 1
                continue
            except Exception as e:  # noqa: BLE001 - every other error is a failure, reported
                counts["other"] += 1
                errors.append(f"{rid}: {type(e).__name__}: {e}")
                continue
            if reply.get("id") == rid:
                counts["ok"] += 1
            else:
                counts["wrong"] += 1
                errors.append(f"{rid}: got the reply of {reply.get('id')!r}")
        with lock:
            summary[kind]["ok"] += counts["ok"]
            summary[kind]["unavailable"] += counts["unavailable"]
            summary["wrong"] += counts["wrong"]
            summary["other"] += counts["other"]
            summary["errors"].extend(errors[:5])

    for kind in METHODS:
        running = [threading.Thread(target=caller, args=(kind, t)) for t in range(threads)]
        for th in running:
            th.start()
        for th in running:
            th.join()
    client.close()
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
