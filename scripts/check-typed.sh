#!/usr/bin/env bash
# Checks the generated typed bindings (gen/) and the typed examples (examples/typed/) the way
# each language checks real code, then runs the examples across languages.
#
#   1. strict checkers: mypy --strict (Python), tsc --strict (TypeScript), gofmt + go vet +
#      go build (Go), rbs validate (Ruby), php -l (PHP);
#   2. a misspelt method, request field and reply field in the Python, TypeScript and Go
#      examples each FAIL their checker, with the checker's own message;
#   3. each typed example serves demo.v1.Greeter on a unix socket and the typed clients of the
#      other languages call it (Python <-> TypeScript, Python <-> Go, TypeScript -> Go).
#
# Every process runs under `timeout`. Tools come from the project's own installs (`make test-gen`
# names them): PY (a python with hms_ffi and mypy), TSC, NODE_APP (where `hms-ffi` is
# npm-installed), GO, RBS, PHP; a tool that is missing fails the script, except rbs and php,
# which are skipped with a note when absent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-target/py-venv/bin/python}"
TSC="${TSC:-node/node_modules/.bin/tsc}"
NODE_APP="${NODE_APP:-target/node-app}"
GO="${GO:-go}"
RBS="${RBS:-rbs}"
PHP="${PHP:-php}"
T="${CHECK_TIMEOUT:-300}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check-typed: $*" >&2; exit 1; }

mypy_check() { MYPY_CACHE_DIR="$work/mypy-cache" MYPYPATH=py/python:gen/python timeout "$T" "$PY" -m mypy --strict --no-incremental --python-version 3.11 "$@"; }
tsc_check() { timeout "$T" "$TSC" -p "$1"; }
go_check() { (cd "$1" && timeout "$T" "$GO" vet ./... && timeout "$T" "$GO" build ./...); }

echo "== strict checkers"
mypy_check gen/python examples/typed/python/greeter_typed.py
tsc_check examples/typed/typescript
[ -z "$(gofmt -l gen/go examples/typed/go)" ] || fail "gofmt would change: $(gofmt -l gen/go examples/typed/go)"
go_check gen/go
go_check examples/typed/go
if command -v "$RBS" >/dev/null 2>&1; then
  timeout "$T" "$RBS" -I gen/ruby validate
else
  echo "rbs is not installed: the Ruby signatures were not validated"
fi
if command -v "$PHP" >/dev/null 2>&1; then
  for f in gen/php/*.php; do timeout "$T" "$PHP" -l "$f" >/dev/null; done
else
  echo "php is not installed: the PHP files were not linted"
fi

echo "== a misspelt method or field fails the checker"
# mutate LANG FILE FROM TO EXPECTED: the example with FROM replaced by TO must fail its checker
# with a message containing EXPECTED.
mutate() {
  local lang=$1 file=$2 from=$3 to=$4 expected=$5 copy out
  grep -qF -- "$from" "$file" || fail "$file has no '$from' to misspell"
  copy="$work/$lang"
  rm -rf "$copy"
  case $lang in
    python) mkdir -p "$copy"; cp "$file" "$copy/";;
    typescript) mkdir -p "$copy/examples/typed"; cp -r examples/typed/typescript "$copy/examples/typed/"
      ln -s "$PWD/gen" "$copy/gen"; ln -s "$PWD/node" "$copy/node";;
    go) mkdir -p "$copy/examples/typed"; cp -r examples/typed/go "$copy/examples/typed/"
      ln -s "$PWD/gen" "$copy/gen"; ln -s "$PWD/go" "$copy/go";;
  esac
  local target="$copy/${file#examples/typed/$lang/}"
  [ "$lang" = python ] || target="$copy/$file"
  FROM="$from" TO="$to" timeout "$T" "$PY" -c 'import os, sys; p = sys.argv[1]; s = open(p).read(); open(p, "w").write(s.replace(os.environ["FROM"], os.environ["TO"], 1))' "$target"
  case $lang in
    python) out=$(mypy_check "$target" 2>&1) && fail "mypy accepted $to";;
    typescript) out=$(tsc_check "$copy/examples/typed/typescript" 2>&1) && fail "tsc accepted $to";;
    go) out=$(go_check "$copy/examples/typed/go" 2>&1) && fail "go vet accepted $to";;
  esac
  grep -qF -- "$expected" <<<"$out" || fail "$lang: '$to' failed without '$expected': $out"
  echo "$lang: '$to' fails: $expected"
}
py=examples/typed/python/greeter_typed.py
mutate python $py 'greeter.say_hello(' 'greeter.say_helo(' '"GreeterClient" has no attribute "say_helo"'
mutate python $py 'say_hello(name="Ada")' 'say_hello(nmae="Ada")' 'Unexpected keyword argument "nmae"'
mutate python $py 'reply["message"]' 'reply["mesage"]' 'TypedDict "HelloReply" has no key "mesage"'
mutate python $py "request['name']} from" "request['nmae']} from" 'TypedDict "HelloRequest" has no key "nmae"'
ts=examples/typed/typescript/greeter_typed.ts
mutate typescript $ts 'greeter.sayHello(' 'greeter.sayHelo(' "Property 'sayHelo' does not exist"
mutate typescript $ts "sayHello({ name: 'Ada' })" "sayHello({ nmae: 'Ada' })" "'nmae' does not exist in type 'HelloRequestInit'"
mutate typescript $ts 'reply.message' 'reply.mesage' "Property 'mesage' does not exist on type 'HelloReply'"
mutate typescript $ts '  sayHello (request' '  sayHelo (request' "Property 'sayHello' is missing"
gomain=examples/typed/go/main.go
mutate go $gomain '.SayHello(ctx, &demov1' '.SayHelo(ctx, &demov1' 'has no field or method SayHelo'
mutate go $gomain 'HelloRequest{Name: "Ada"}' 'HelloRequest{Nmae: "Ada"}' 'unknown field Nmae in struct literal'
mutate go $gomain 'reply.Message)' 'reply.Mesage)' 'reply.Mesage undefined'

echo "== typed examples across languages"
go_bin="$work/go-greeter"
(cd examples/typed/go && timeout "$T" "$GO" build -o "$go_bin" .)
js=target/typed/typescript/examples/typed/typescript/greeter_typed.js
[ -f "$js" ] || fail "$js is missing: tsc did not emit it"
run_py() { PYTHONPATH=gen/python timeout 30 "$PY" examples/typed/python/greeter_typed.py "$@"; }
run_ts() { NODE_PATH="$NODE_APP/node_modules" timeout 30 node "$js" "$@"; }
run_go() { timeout 30 "$go_bin" "$@"; }
# serve LANG: starts LANG's typed server on a fresh socket and waits (10 s at most) for it.
serve() {
  sock="$work/$1.sock"
  "run_$1" serve "unix://$sock" >"$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.1; done
  fail "the $1 server did not listen: $(cat "$work/$1.log")"
}
# expect CLIENT SERVER: CLIENT's typed call of SERVER's typed server prints SERVER's greeting.
expect() {
  local got
  got=$("run_$1" call "unix://$work/$2.sock") || fail "$1 -> $2 failed: $got"
  local want="Hello Ada from $(case $2 in python) echo Python;; typescript) echo TypeScript;; go) echo Go;; esac)"
  grep -qxF "$want" <<<"$got" || fail "$1 -> $2 printed '$got', not '$want'"
  echo "$1 -> $2: $want"
}
serve python; serve typescript; serve go
expect python typescript
expect python go
expect typescript python
expect typescript go
expect go python
expect go typescript
echo "typed bindings: every check passed"
