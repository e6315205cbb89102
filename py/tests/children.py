"""Child processes of the tests: a Python conformance server in a process of its own, and the
wait for the file it creates (a socket, a service record), bounded in time."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap
import time
from typing import Dict, Optional

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
