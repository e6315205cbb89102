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


def languages(python: str, ruby: str) -> dict:
    rust = str(ROOT / "target" / "debug" / "examples" / "conformance")
    go = str(ROOT / "target" / "go" / "conformance")
    # The gem as `make ruby-install` installs it (json and base64 come with Ruby itself).
    rb = ["env", f"GEM_PATH={ROOT / 'target' / 'ruby' / 'gems'}", ruby, str(ROOT / "tests" / "matrix" / "ruby" / "conformance.rb")]
    php = ["php", "-d", f"extension={ROOT / 'target' / 'php' / 'hms_ffi.so'}",
           str(ROOT / "tests" / "matrix" / "php" / "conformance.php")]
    kotlin = str(ROOT / "tests" / "matrix" / "kotlin" / "conformance.sh")
    return {
        "go": {"serve": [go, "serve"], "client": [go, "client"]},
        "php": {
            "serve": php + ["serve"],
            "client": php + ["client"],
        },
        "rust": {"serve": [rust, "serve"], "client": [rust, "client"]},
        "node": {
            "serve": ["node", str(ROOT / "tests" / "matrix" / "node" / "conformance.js"), "serve"],
            "client": ["node", str(ROOT / "tests" / "matrix" / "node" / "conformance.js"), "client"],
        },
        "kotlin": {"serve": [kotlin, "serve"], "client": [kotlin, "client"]},
        "python": {
            "serve": [python, str(ROOT / "tests" / "matrix" / "python" / "conformance.py"), "serve"],
            "client": [python, str(ROOT / "tests" / "matrix" / "python" / "conformance.py"), "client"],
        },
        "ruby": {
            "serve": rb + ["serve"],
            "client": rb + ["client"],
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
    ap.add_argument("--ruby", default="ruby", help="ruby interpreter (the gem is taken from target/ruby/gems)")
    ap.add_argument("--servers", help="comma-separated server languages to run (default: all)")
    ap.add_argument("--clients", help="comma-separated client languages to run (default: all)")
    args = ap.parse_args()
    langs = languages(args.python, args.ruby)
    servers = {k: v for k, v in langs.items() if not args.servers or k in args.servers.split(",")}
    clients = {k: v for k, v in langs.items() if not args.clients or k in args.clients.split(",")}
    tmp = tempfile.mkdtemp(prefix="hms-matrix-")
    results = []
    for server_lang, server in servers.items():
        uri = f"unix://{tmp}/{server_lang}.sock"
        try:
            proc = start(server["serve"], uri)
        except Exception as e:  # noqa: BLE001
            for client_lang in clients:
                results.append((client_lang, server_lang, 0, 1, f"server failed: {e}"))
            continue
        try:
            for client_lang, client in clients.items():
                t = time.monotonic()
                r = subprocess.run(client["client"] + [uri], capture_output=True, text=True, timeout=600)
                m = re.search(r"^(\d+) passed, (\d+) failed$", r.stdout, re.M)
                passed, failed = (int(m.group(1)), int(m.group(2))) if m else (0, 1)
                ok = (r.returncode == 0 or failed == 0) and m
                note = "" if ok else (r.stdout[-2000:] + r.stderr[-2000:])
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
            print("   " + note.rstrip().replace("\n", "\n   "))
    print(f"matrix: {total_passed} passed, {total_failed} failed")
    return 0 if total_failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
