"""The .pyi stubs match the native module, and the package type-checks under mypy --strict."""

import pathlib
import subprocess
import sys

PKG = pathlib.Path(__file__).resolve().parents[1] / "python"


def test_stubtest_native_module() -> None:
    r = subprocess.run([sys.executable, "-m", "mypy.stubtest", "hms_ffi._native"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_package_typechecks() -> None:
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "-p", "hms_ffi"], capture_output=True, text=True, cwd=PKG)
    assert r.returncode == 0, r.stdout + r.stderr
