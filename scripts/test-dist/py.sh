#!/usr/bin/env bash
# Python: the wheel installed by pip into a new venv with no cargo on PATH, then the sdist built
# from source by pip (cargo needed); each runs pytest on scripts/test-dist/test_installed_py.py
# (the package is the installed one, not the checkout; a call to the Rust greeter server works;
# errors keep their type) and the greeter example's client against that server.
source "$(dirname "$0")/../dist/common.sh"
wheel=$(ls "$DIST"/py/hms_ffi-"$VERSION"-*abi3*.whl)
sdist="$DIST/py/hms_ffi-$VERSION.tar.gz"
PYTHON="${PYTHON:-python3}"
work=$(fresh_dir py)
sock="$work/greeter.sock"
greeter_server "$sock"
copy_example python "$work"
cp "$ROOT/scripts/test-dist/test_installed_py.py" "$work/"

check() { # VENV: pytest and the example, from $work, with the venv's python
  (cd "$work" && HMS_VERSION="$VERSION" HMS_GREETER="unix://$sock" timeout 300 "$1/bin/python" -m pytest -q -p no:cacheprovider test_installed_py.py)
  (cd "$work" && timeout 60 "$1/bin/python" examples/python/greeter.py call "unix://$sock" Ada)
}

step "wheel $(basename "$wheel") ($(du -h "$wheel" | cut -f1)), pip install with no cargo on PATH"
"$PYTHON" -m venv "$work/venv-wheel"
timeout 300 "$work/venv-wheel/bin/pip" install -q pytest
PATH="$(no_cargo_path)" timeout 300 "$work/venv-wheel/bin/pip" install -q --no-index "$wheel"
check "$work/venv-wheel"

step "sdist $(basename "$sdist") ($(du -h "$sdist" | cut -f1)), pip install builds it with cargo"
"$PYTHON" -m venv "$work/venv-sdist"
timeout 300 "$work/venv-sdist/bin/pip" install -q pytest
timeout 1800 "$work/venv-sdist/bin/pip" install -q "$sdist"
check "$work/venv-sdist"
