"""Cross-language matrix: a conformance server in each language present, and the conformance
client of every language present against each, over unix sockets (`--streams-over-grpc`: the
streaming vectors over grpc://; `--auto`: every server found by name with auto://, which picks
shared memory between two processes).

    python3 tests/matrix/run.py [--python PATH] [--auto]

Each language's entry lists how to start its server and its client; a language whose toolchain
or package is missing is reported and counted as a failure (never silently skipped).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

import parity

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


def start(cmd: list, uri: str, timeout: float = 120) -> subprocess.Popen:
    proc = subprocess.Popen(cmd + [uri], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline().strip() if ready else f"nothing within {timeout:.0f}s"
    if line != "ready":
        proc.kill()
        proc.wait(timeout=10)
        raise RuntimeError(f"server {cmd} did not start (said {line!r}, exit status {proc.returncode})")
    return proc


def stop(proc: subprocess.Popen, timeout: float = 10) -> str:
    """SIGTERM, then waits; "" once it ended, else kills it and says so."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
        return ""
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
        return f"did not stop within {timeout:.0f}s of SIGTERM (killed)"


def judge(returncode: int, stdout: str, stderr: str, excused: int = 0, problems: Optional[List[str]] = None) -> tuple:
    """(passed, failed, note) of one client run. It passed only if the process exited 0, its last
    summary line says 0 failed, and it passed at least one case; anything else (a crash or a signal
    death after "0 failed", a missing summary, nothing run) counts as at least one failure, with
    the output in the note. `excused` failures are cases the server skips with a written reason
    (semantics/skips.json): they do not count, and a client that failed only those may exit 1."""
    summaries = re.findall(r"^(\d+) passed, (\d+) failed(?:, \d+ skipped)?$", stdout, re.M)
    passed, failed = (int(summaries[-1][0]), int(summaries[-1][1])) if summaries else (0, 0)
    failed -= min(excused, failed)
    problems = list(problems or [])
    if returncode == 1 and excused and failed == 0 and summaries:
        returncode = 0
    if returncode != 0:
        problems.append(f"killed by signal {-returncode}" if returncode < 0 else f"exit status {returncode}")
    if not summaries:
        problems.append('no "N passed, M failed" summary')
    elif passed == 0:
        problems.append("no case passed")
    if not problems and failed == 0:
        return passed, 0, ""
    note = "".join(f"{p}\n" for p in problems) + stdout[-2000:] + stderr[-2000:]
    return passed, max(failed, 1), note


def run_client(cmd: list, client: str, server: str, outcomes: dict, timeout: float = 600) -> tuple:
    """Runs one client against one server: (passed, failed, note); records each semantics case's
    outcome in `outcomes` for docs/parity.md."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return 0, 1, f"timed out after {timeout:.0f}s\n" + out[-2000:] + err[-2000:]
    seen, problems = parity.outcomes_of_run(client, server, r.stdout, parity.skips())
    outcomes.update(seen)
    excused = sum(1 for v in seen.values() if v == "skip-server")
    return judge(r.returncode, r.stdout, r.stderr, excused, problems)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=sys.executable, help="interpreter with hms_ffi installed")
    ap.add_argument("--ruby", default="ruby", help="ruby interpreter (the gem is taken from target/ruby/gems)")
    ap.add_argument("--servers", help="comma-separated server languages to run (default: all)")
    ap.add_argument("--clients", help="comma-separated client languages to run (default: all)")
    ap.add_argument("--streams-over-grpc", action="store_true",
                    help="only the streaming vectors, every server on grpc://127.0.0.1 (clients in `streams` mode)")
    ap.add_argument("--auto", action="store_true",
                    help="every server on auto://matrix-LANG, found by name by every client (shared memory "
                         "between two processes)")
    ap.add_argument("--parity-check", action="store_true", help="fail when docs/parity.md differs from this run")
    ap.add_argument("--write-parity", action="store_true", help="write docs/parity.md from this run")
    args = ap.parse_args()
    langs = languages(args.python, args.ruby)
    servers = {k: v for k, v in langs.items() if not args.servers or k in args.servers.split(",")}
    clients = {k: v for k, v in langs.items() if not args.clients or k in args.clients.split(",")}
    tmp = tempfile.mkdtemp(prefix="hms-matrix-")
    results = []
    outcomes: dict = {}
    mode = "streams" if args.streams_over_grpc else "client"
    if args.auto:
        # The service directory of this run only (mkdtemp makes it 0700); every process inherits it.
        os.environ["XDG_RUNTIME_DIR"] = tmp
    for server_lang, server in servers.items():
        uri = f"grpc://127.0.0.1:{free_port()}" if args.streams_over_grpc else f"unix://{tmp}/{server_lang}.sock"
        if args.auto:
            uri = f"auto://matrix-{server_lang}"
        try:
            proc = start(server["serve"], uri)
        except Exception as e:  # noqa: BLE001
            for client_lang in clients:
                results.append((client_lang, server_lang, 0, 1, f"server failed: {e}"))
            continue
        try:
            for client_lang, client in clients.items():
                t = time.monotonic()
                cmd = client["client"][:-1] + [mode, uri]
                passed, failed, note = run_client(cmd, client_lang, server_lang, outcomes)
                results.append((client_lang, server_lang, passed, failed, note, time.monotonic() - t))
        finally:
            problem = stop(proc)
            if problem:
                results.append(("-", server_lang, 0, 1, f"server {problem}"))
    total_passed = total_failed = 0
    print(f"{'client':<8} -> {'server':<8} {'passed':>7} {'failed':>7}")
    for client_lang, server_lang, passed, failed, note, *rest in results:
        total_passed += passed
        total_failed += failed
        print(f"{client_lang:<8} -> {server_lang:<8} {passed:>7} {failed:>7}" + (f"  ({rest[0]:.1f}s)" if rest else ""))
        if note:
            print("   " + note.rstrip().replace("\n", "\n   "))
    print(f"matrix: {total_passed} passed, {total_failed} failed")
    if args.parity_check or args.write_parity:
        if len(servers) != len(langs) or len(clients) != len(langs) or args.auto:
            print("parity: docs/parity.md needs the full matrix (no --servers/--clients)")
            return 1
        pairs = {(c, s): (p, f) for c, s, p, f, *_ in results}
        page = parity.render(outcomes, list(langs), pairs)
        if args.write_parity:
            parity.PAGE.write_text(page)
            print(f"parity: wrote {parity.PAGE}")
        elif (parity.PAGE.read_text() if parity.PAGE.exists() else "") != page:
            print("parity: docs/parity.md is stale: run `make parity` and commit it")
            total_failed += 1
    return 0 if total_failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
