"""Cross-language matrix: a conformance server in each language present, and the conformance
client of every language present against each, over unix sockets.

    python3 tests/matrix/run.py [--python PATH]

Each language's entry lists how to start its server and its client; a language whose toolchain
or package is missing is reported and counted as a failure (never silently skipped).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]


def languages(python: str) -> dict:
    rust = str(ROOT / "target" / "debug" / "examples" / "conformance")
    go = str(ROOT / "target" / "go" / "conformance")
    kotlin = str(ROOT / "tests" / "matrix" / "kotlin" / "conformance.sh")
    return {
        "go": {"serve": [go, "serve"], "client": [go, "client"]},
        "rust": {"serve": [rust, "serve"], "client": [rust, "client"]},
        "kotlin": {"serve": [kotlin, "serve"], "client": [kotlin, "client"]},
        "python": {
            "serve": [python, str(ROOT / "tests" / "matrix" / "python" / "conformance.py"), "serve"],
            "client": [python, str(ROOT / "tests" / "matrix" / "python" / "conformance.py"), "client"],
        },
    }


def start(cmd: list, uri: str) -> subprocess.Popen:
    proc = subprocess.Popen(cmd + [uri], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        raise RuntimeError(f"server {cmd} did not start (said {line!r})")
    return proc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=sys.executable, help="interpreter with hms_ffi installed")
    args = ap.parse_args()
    langs = languages(args.python)
    tmp = tempfile.mkdtemp(prefix="hms-matrix-")
    results = []
    for server_lang, server in langs.items():
        uri = f"unix://{tmp}/{server_lang}.sock"
        try:
            proc = start(server["serve"], uri)
        except Exception as e:  # noqa: BLE001
            for client_lang in langs:
                results.append((client_lang, server_lang, 0, 1, f"server failed: {e}"))
            continue
        try:
            for client_lang, client in langs.items():
                t = time.monotonic()
                r = subprocess.run(client["client"] + [uri], capture_output=True, text=True, timeout=600)
                m = re.search(r"^(\d+) passed, (\d+) failed$", r.stdout, re.M)
                passed, failed = (int(m.group(1)), int(m.group(2))) if m else (0, 1)
                note = "" if r.returncode == 0 and m else (r.stdout[-2000:] + r.stderr[-2000:])
                results.append((client_lang, server_lang, passed, failed, note, time.monotonic() - t))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    total_passed = total_failed = 0
    print(f"{'client':<8} -> {'server':<8} {'passed':>7} {'failed':>7}")
    for client_lang, server_lang, passed, failed, note, *rest in results:
        total_passed += passed
        total_failed += failed
        print(f"{client_lang:<8} -> {server_lang:<8} {passed:>7} {failed:>7}" + (f"  ({rest[0]:.1f}s)" if rest else ""))
        if note:
            print("   " + note.replace("\n", "\n   "))
    print(f"matrix: {total_passed} passed, {total_failed} failed")
    return 0 if total_failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
