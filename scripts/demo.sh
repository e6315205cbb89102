#!/usr/bin/env bash
# The end-to-end demo behind `make demo`: servers and clients in separate processes over unix
# sockets, with the embedded default transport (no external service).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=target/debug
PY=${PY:-target/py-venv/bin/python}
RUST_SOCK=/tmp/hms-ffi-demo-rust.sock
PY_SOCK=/tmp/hms-ffi-demo-python.sock
GO_SOCK=/tmp/hms-ffi-demo-go.sock
PHP_SOCK=/tmp/hms-ffi-demo-php.sock
PHP="${PHP:-php} -d extension=$PWD/target/php/hms_ffi.so"
GO_BIN=target/go/greeter
NODE_SOCK=/tmp/hms-ffi-demo-node.sock
NODE="env NODE_PATH=target/node-app/node_modules node examples/node/greeter.js"
status=0
pids=()
RB_SOCK=/tmp/hms-ffi-demo-ruby.sock
# Ruby with the gem as `make ruby-install` installs it.
RB=(env "GEM_PATH=$PWD/target/ruby/gems" "${RUBY:-ruby}" examples/ruby/greeter.rb)
AUTO_DIR=
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -f "$RUST_SOCK" "$PY_SOCK" "$GO_SOCK" "$NODE_SOCK" "$RB_SOCK" "$PHP_SOCK"; [ -n "$AUTO_DIR" ] && rm -rf "$AUTO_DIR"; }
trap cleanup EXIT
wait_for() { for _ in $(seq 1 100); do [ -S "$1" ] && return 0; sleep 0.1; done; echo "no socket $1" >&2; return 1; }
step() { echo; echo "== $*"; }
rm -f "$RUST_SOCK" "$PY_SOCK" "$GO_SOCK" "$NODE_SOCK" "$RB_SOCK" "$PHP_SOCK"

step "Rust greeter server on unix://$RUST_SOCK"
$BIN/examples/greeter serve "unix://$RUST_SOCK" & pids+=($!)
wait_for "$RUST_SOCK" || exit 1

step "Python greeter server on unix://$PY_SOCK"
$PY examples/python/greeter.py serve "unix://$PY_SOCK" & pids+=($!)
wait_for "$PY_SOCK" || exit 1

step "Go greeter server on unix://$GO_SOCK"
$GO_BIN serve "unix://$GO_SOCK" & pids+=($!)
wait_for "$GO_SOCK" || exit 1

step "Node greeter server on unix://$NODE_SOCK"
$NODE serve "unix://$NODE_SOCK" & pids+=($!)
wait_for "$NODE_SOCK" || exit 1
step "Ruby greeter server on unix://$RB_SOCK"
"${RB[@]}" serve "unix://$RB_SOCK" & pids+=($!)
wait_for "$RB_SOCK" || exit 1
step "PHP greeter server on unix://$PHP_SOCK (serve() runs the handlers on the PHP thread)"
$PHP examples/php/greeter.php serve "unix://$PHP_SOCK" & pids+=($!)
wait_for "$PHP_SOCK" || exit 1

step "Rust client -> Python server"
$BIN/examples/greeter call "unix://$PY_SOCK" Ada || status=1

step "Python client -> Rust server"
$PY examples/python/greeter.py call "unix://$RUST_SOCK" Grace || status=1

step "Go client -> Python server"
$GO_BIN call "unix://$PY_SOCK" Alan || status=1

step "Python client -> Go server"
$PY examples/python/greeter.py call "unix://$GO_SOCK" Barbara || status=1

step "Rust client -> Go server"
$BIN/examples/greeter call "unix://$GO_SOCK" Ken || status=1

step "Node client -> Go server"
$NODE call "unix://$GO_SOCK" Margaret || status=1

step "Python client -> Node server"
$PY examples/python/greeter.py call "unix://$NODE_SOCK" Ryan || status=1
step "Ruby client -> Python server"
"${RB[@]}" call "unix://$PY_SOCK" Yukihiro || status=1

step "Python client -> Ruby server"
$PY examples/python/greeter.py call "unix://$RB_SOCK" Matz || status=1

step "Go client -> Ruby server"
$GO_BIN call "unix://$RB_SOCK" Rob || status=1
step "PHP client -> Python server"
$PHP examples/php/greeter.php call "unix://$PY_SOCK" Rasmus || status=1

step "Python client -> PHP server"
$PY examples/python/greeter.py call "unix://$PHP_SOCK" Nikita || status=1

step "Go client -> PHP server"
$GO_BIN call "unix://$PHP_SOCK" Sara || status=1

step "PHP client and PHP server in one process over inproc://"
$PHP examples/php/greeter.php both || status=1

# auto://: the servers announce a name, the clients find them by it (shared memory between
# two processes), in a runtime directory of the demo's own.
AUTO_DIR=$(mktemp -d)
step "Python and Go servers by name: auto://demo-python, auto://demo-go"
XDG_RUNTIME_DIR=$AUTO_DIR $PY examples/python/greeter.py serve auto://demo-python & pids+=($!)
XDG_RUNTIME_DIR=$AUTO_DIR $GO_BIN serve auto://demo-go & pids+=($!)
wait_for_file() { for _ in $(seq 1 100); do [ -f "$1" ] && return 0; sleep 0.1; done; echo "no record $1" >&2; return 1; }
wait_for_file "$AUTO_DIR/hms-ffi/auto/demo-python.json" && wait_for_file "$AUTO_DIR/hms-ffi/auto/demo-go.json" || status=1

step "Go client -> auto://demo-python (picks shared memory)"
XDG_RUNTIME_DIR=$AUTO_DIR $GO_BIN call auto://demo-python Edsger || status=1

step "Python client -> auto://demo-go (picks shared memory)"
XDG_RUNTIME_DIR=$AUTO_DIR $PY examples/python/greeter.py call auto://demo-go Frances || status=1

step "hms-ffi call auto://demo-go?transports=unix (a user may force the transport)"
XDG_RUNTIME_DIR=$AUTO_DIR $BIN/hms-ffi call "auto://demo-go?transports=unix" demo.v1.Greeter/SayHello '{"name": "Donald", "times": 1}' || status=1

step "hms-ffi list unix://$PY_SOCK"
$BIN/hms-ffi list "unix://$PY_SOCK" || status=1

step "hms-ffi call unix://$PY_SOCK demo.v1.Greeter/SayHello '{\"name\": \"Linus\", \"times\": 1}'"
$BIN/hms-ffi call "unix://$PY_SOCK" demo.v1.Greeter/SayHello '{"name": "Linus", "times": 1}' || status=1

step "a bad request gets a typed error from the CLI (exit code 1 expected)"
$BIN/hms-ffi call "unix://$RUST_SOCK" demo.v1.Greeter/SayHello '{"name": 7}'
[ $? -eq 1 ] || status=1

echo
[ $status -eq 0 ] && echo "demo: every round trip succeeded" || echo "demo: FAILED"
exit $status
