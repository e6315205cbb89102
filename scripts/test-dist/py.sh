#!/usr/bin/env bash
# Python: the wheel installed by pip into a new venv with no cargo on PATH, then the sdist built
# from source by pip (cargo needed); each runs pytest on scripts/test-dist/test_installed_py.py
# (the package is the installed one, not the checkout; a call to the Rust greeter server works;
# errors keep their type) and the greeter example's client against that server. Last, the same
# wheel in a CPython 3.9 venv (the oldest Python it is for; scripts/install-py39.sh), where the
# checkout's whole py/tests suite also runs against the installed wheel.
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
# The checkout's target/ serves as cargo's: crates.io dependencies compiled in release for the
# wheel are reused (as the Ruby source gem does); the sdist's own crates compile afresh.
CARGO_TARGET_DIR="$ROOT/target" timeout 1800 "$work/venv-sdist/bin/pip" install -q "$sdist"
check "$work/venv-sdist"

py39="$("$ROOT/scripts/install-py39.sh")"
export LD_LIBRARY_PATH="$("$ROOT/scripts/install-py39.sh" --libs)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
step "wheel $(basename "$wheel") in CPython $("$py39" -c 'import platform; print(platform.python_version())'), no cargo on PATH"
"$py39" -m venv --without-pip "$work/venv-39"
# pip itself and the suite's tools, as 3.9 wheels fetched by the host's pip (Debian's 3.9 keeps
# ensurepip's wheels in another package)
timeout 300 "$PYTHON" -m pip download -q --only-binary=:all: --python-version 3.9 -d "$work/wheels-39" \
  pip pytest exceptiongroup tomli typing_extensions prometheus_client opentelemetry-sdk \
  opentelemetry-proto nats-py
timeout 300 "$work/venv-39/bin/python" "$(ls "$work"/wheels-39/pip-*.whl)/pip" install -q \
  --no-index -f "$work/wheels-39" pip pytest prometheus_client opentelemetry-sdk opentelemetry-proto nats-py
PATH="$(no_cargo_path)" timeout 300 "$work/venv-39/bin/pip" install -q --no-index "$wheel"
check "$work/venv-39"
"$ROOT/scripts/install-nats.sh" --quiet  # py/tests start a nats-server of their own
step "the checkout's py/tests against the wheel in CPython 3.9 (the type-stub tests need mypy: deselected)"
(cd "$ROOT/py" && timeout 1200 "$work/venv-39/bin/python" -m pytest tests -q -p no:cacheprovider \
  --deselect tests/test_stubs.py::test_stubtest_native_module \
  --deselect tests/test_stubs.py::test_package_typechecks)
