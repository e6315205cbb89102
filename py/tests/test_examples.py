"""The Python example runs as documented."""

import pathlib
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python" / "greeter.py"


def test_greeter_example_both() -> None:
    r = subprocess.run([sys.executable, str(EXAMPLE), "both"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "SayHello -> 'Hello Ada from Python, Hello Ada from Python'" in r.stdout
    assert "a wrong type is refused: INVALID_ARGUMENT" in r.stdout
    assert "InvalidArgument: name must not be empty" in r.stdout
