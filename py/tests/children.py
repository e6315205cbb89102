"""Child processes of the tests: a Python conformance server in a process of its own, and the
wait for the file it creates (a socket, a service record), bounded in time; any Python server
script run as a child that prints its address and stops when its stdin closes."""

from __future__ import annotations

import contextlib
import os
import pathlib
import select
import subprocess
import sys
import textwrap
import time
from typing import Dict, Iterator, List, Optional

HERE = pathlib.Path(__file__).parent


def conformance_child(uri: str, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
    """The conformance server listening on `uri` in a new Python process, serving until killed;
    `env` adds to this process's environment."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from vectors import conformance_server
        server = conformance_server()
        server.listen({uri!r})
        server.serve()
        """
    )
    return subprocess.Popen(
        [sys.executable, "-c", script],
        env=dict(os.environ, **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: pathlib.Path, proc: subprocess.Popen) -> None:
    """Waits up to 10 s for `path` to exist while `proc` runs; fails with the child's output."""
    for _ in range(200):
        if path.exists():
            return
        if proc.poll() is not None:
            out, err = proc.communicate(timeout=10)
            raise AssertionError(f"the child ended with status {proc.returncode}\nstdout:\n{out}\nstderr:\n{err}")
        time.sleep(0.05)
    proc.kill()
    out, err = proc.communicate(timeout=10)
    raise AssertionError(f"{path} never appeared\nstdout:\n{out}\nstderr:\n{err}")


@contextlib.contextmanager
def python_child(code: str, args: List[str], env: Dict[str, str]) -> Iterator[str]:
    """Runs `code` in a new Python process (with `args`); yields the first line it prints (its
    address), waited for up to 30 s. On exit its stdin is closed, which such a child takes as
    the signal to stop, and it is waited for (killed after 15 s)."""
    child = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        ready, _, _ = select.select([child.stdout], [], [], 30)
        yield child.stdout.readline().strip() if ready else ""  # type: ignore[union-attr]
    finally:
        try:
            child.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate(timeout=10)
            raise
