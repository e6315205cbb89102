#!/usr/bin/env bash
# Checks the generated typed bindings (gen/) and the typed examples (examples/typed/) the way
# each language checks real code, then runs the examples across languages.
#
#   1. strict checkers: mypy --strict and pyright in strict mode (Python), tsc --strict (TypeScript), gofmt + go vet +
#      go build (Go), rbs validate (Ruby), php -l (PHP), the Kotlin compiler with warnings as
#      errors (its jars from the Maven repository `make kotlin-install` fills); the Rust module is
#      compiled and linted as the cli crate's example `typed_greeter` (`make build`, clippy);
#   2. a misspelt method, request field and reply field in the Python, TypeScript and Go
#      examples each FAIL their checker, with the checker's own message; so do two members of
#      a oneof set in a TypeScript request literal or a Kotlin construction, and a misspelt
#      oneof member name compared with Python's `which_…`;
#   3. each typed example serves demo.v1.Greeter on a unix socket and the typed client of every
#      language calls every server: Python, TypeScript, Go, Rust, Ruby, PHP and Kotlin, the
#      server-streaming Chatter too; the Kotlin example StreamsTyped calls the three stream kinds
#      of the conformance service, a generated client of a generated service over inproc, and
#      so do the Python and TypeScript examples streams_typed (each case of the oneof too) and
#      Go's TestStreamsTyped (examples/typed/go/streams_test.go) and Ruby's streams_typed; PHP's
#      streams_typed reads the oneof's cases and calls the three stream kinds of Python's
#      streams_typed servicer on a unix socket.
#
# Every process runs under `timeout`. Tools and packages come from the project's own installs
# (`make test-gen` builds them first): PY (a python with hms_ffi and mypy), PYRIGHT
# (scripts/install-pyright.sh), TSC, NODE_APP (where
# `hms-ffi` is npm-installed), GO, RUST_EXAMPLE, ruby with the hms_ffi gem (GEM_HOME), PHP_EXT,
# KOTLIN_CLASSES and KOTLIN_LIB. Python, TypeScript and Go are required; a language whose
# package is not built is skipped, and the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-target/py-venv/bin/python}"
TSC="${TSC:-node/node_modules/.bin/tsc}"
PYRIGHT="${PYRIGHT:-target/tools/pyright/node_modules/.bin/pyright}"
NODE_APP="${NODE_APP:-target/node-app}"
GO="${GO:-go}"
PHP="${PHP:-php}"
PHP_EXT="${PHP_EXT:-target/php/hms_ffi.so}"
RUST_EXAMPLE="${RUST_EXAMPLE:-${CARGO_TARGET_DIR:-target}/debug/examples/typed_greeter}"
KOTLIN_CLASSES="${KOTLIN_CLASSES:-kotlin/target/classes}"
KOTLIN_LIB="${KOTLIN_LIB:-target/debug}"
M2="${M2:-$HOME/.m2/repository}"
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
# pyright_check CONFIG: pyright, strict as CONFIG (a pyrightconfig.json) says, with PY's packages.
pyright_check() { timeout "$T" "$PYRIGHT" -p "$1" --pythonpath "$PY"; }
tsc_check() { timeout "$T" "$TSC" -p "$1"; }
go_check() { (cd "$1" && timeout "$T" "$GO" vet ./... && timeout "$T" "$GO" build -o /dev/null ./...); }

echo "== strict checkers"
mypy_check gen/python examples/typed/python/greeter_typed.py examples/typed/python/streams_typed.py
[ -x "$PYRIGHT" ] || fail "$PYRIGHT is missing: run scripts/install-pyright.sh (make test-gen does)"
pyright_check examples/typed/python/pyrightconfig.json | tail -1
tsc_check examples/typed/typescript
unformatted="$(timeout "$T" gofmt -l gen/go examples/typed/go)"
[ -z "$unformatted" ] || fail "gofmt would change: $unformatted"
go_check gen/go
go_check examples/typed/go
# rbs ships with Ruby 3.x as a bundled gem (no binstub on Debian's PATH).
timeout "$T" env -u GEM_HOME -u GEM_PATH ruby -e 'load Gem.bin_path("rbs", "rbs")' -- -I gen/ruby validate >/dev/null
echo "rbs validate: gen/ruby/*.rbs"
for f in gen/ruby/*.rb examples/typed/ruby/*.rb; do timeout "$T" ruby -c "$f" >/dev/null; done
for f in gen/php/*.php examples/typed/php/*.php; do timeout "$T" "$PHP" -l "$f" >/dev/null; done
echo "php -l: gen/php/*.php"
# kotlinc: the compiler the Kotlin package's Maven build fetched, run from its jars.
kjar() { ls "$M2"/org/jetbrains/$1 2>/dev/null | sort -V | tail -1; }
kotlin_cp=""
KOTLIN_CLASSPATH="${KOTLIN_CLASSPATH:-kotlin/target/classpath.txt}"
if [ -f "$KOTLIN_CLASSPATH" ] && [ -d "$KOTLIN_CLASSES" ] && [ -n "$(kjar 'kotlin/kotlin-compiler-embeddable/*/*.jar')" ]; then
  kc="$(kjar 'kotlin/kotlin-compiler-embeddable/*/*.jar'):$(kjar 'kotlin/kotlin-stdlib/*/kotlin-stdlib-[0-9]*[0-9].jar'):$(kjar 'kotlin/kotlin-script-runtime/*/*.jar'):$(kjar 'kotlin/kotlin-daemon-embeddable/*/*.jar'):$(kjar 'kotlin/kotlin-reflect/*/kotlin-reflect-[0-9]*[0-9].jar'):$(kjar 'annotations/13.0/*.jar'):$(kjar 'kotlinx/kotlinx-coroutines-core-jvm/*/*[0-9].jar')"
  kotlin_cp="$KOTLIN_CLASSES:$(kjar 'kotlin/kotlin-stdlib/*/kotlin-stdlib-[0-9]*[0-9].jar'):$(cat "$KOTLIN_CLASSPATH")"
  kotlinc() { timeout "$T" java -cp "$kc" org.jetbrains.kotlin.cli.jvm.K2JVMCompiler -Werror -no-stdlib -no-reflect -classpath "$kotlin_cp" "$@"; }
  kotlinc -d "$work/kotlin" $(find gen/kotlin -name '*.kt') examples/typed/kotlin/*.kt
  echo "kotlinc -Werror: gen/kotlin, examples/typed/kotlin"
else
  echo "Kotlin skipped: run make kotlin-install (kotlin/target/classes, the compiler in $M2)"
fi

echo "== a misspelt method or field fails the checker"
# mutate LANG FILE FROM TO EXPECTED: the example with FROM replaced by TO must fail its checker
# with a message containing EXPECTED.
mutate() {
  local lang=$1 file=$2 from=$3 to=$4 expected=$5 copy out
  grep -qF -- "$from" "$file" || fail "$file has no '$from' to misspell"
  copy="$work/mutated-$lang"
  rm -rf "$copy"
  case $lang in
    python) mkdir -p "$copy"; cp "$file" "$copy/";;
    pyright) mkdir -p "$copy"; cp "$file" "$copy/"
      printf '{"include": ["."], "extraPaths": ["%s"], "typeCheckingMode": "strict", "pythonVersion": "3.11"}\n' \
        "$PWD/gen/python" >"$copy/pyrightconfig.json";;
    typescript) mkdir -p "$copy/examples/typed"; cp -r examples/typed/typescript "$copy/examples/typed/"
      ln -s "$PWD/gen" "$copy/gen"; ln -s "$PWD/node" "$copy/node";;
    go) mkdir -p "$copy/examples/typed"; cp -r examples/typed/go "$copy/examples/typed/"
      ln -s "$PWD/gen" "$copy/gen"; ln -s "$PWD/go" "$copy/go";;
    kotlin) mkdir -p "$copy/examples/typed"; cp -r examples/typed/kotlin "$copy/examples/typed/";;
  esac
  local target="$copy/$file"
  [[ $lang = python || $lang = pyright ]] && target="$copy/$(basename "$file")"
  FROM="$from" TO="$to" timeout "$T" "$PY" -c 'import os, sys; p = sys.argv[1]; s = open(p).read(); open(p, "w").write(s.replace(os.environ["FROM"], os.environ["TO"], 1))' "$target"
  case $lang in
    python) out=$(mypy_check "$target" 2>&1) && fail "mypy accepted $to";;
    pyright) out=$(pyright_check "$copy/pyrightconfig.json" 2>&1) && fail "pyright accepted $to";;
    typescript) out=$(tsc_check "$copy/examples/typed/typescript" 2>&1) && fail "tsc accepted $to";;
    go) out=$(go_check "$copy/examples/typed/go" 2>&1) && fail "go vet accepted $to";;
    kotlin) out=$(kotlinc -d "$work/kotlin-mutated" $(find gen/kotlin -name '*.kt') "$copy"/examples/typed/kotlin/*.kt 2>&1) &&
      fail "kotlinc accepted $to";;
  esac
  grep -qF -- "$expected" <<<"$out" || fail "$lang: '$to' failed without '$expected': $out"
  echo "$lang: '$to' fails: $expected"
}
py=examples/typed/python/greeter_typed.py
mutate python $py 'greeter.say_hello(' 'greeter.say_helo(' '"GreeterClient" has no attribute "say_helo"'
mutate python $py 'say_hello(name="Ada")' 'say_hello(nmae="Ada")' 'Unexpected keyword argument "nmae"'
mutate python $py 'reply["message"]' 'reply["mesage"]' 'TypedDict "HelloReply" has no key "mesage"'
mutate python $py "request['name']} from" "request['nmae']} from" 'TypedDict "HelloRequest" has no key "nmae"'
mutate python examples/typed/python/streams_typed.py 'if which == "text":' 'if which == "txt":' 'Non-overlapping equality check'
mutate pyright $py 'reply["message"]' 'reply["mesage"]' '"mesage" is not a defined key in "HelloReply"'
mutate pyright $py 'greeter.say_hello(' 'greeter.say_helo(' 'Cannot access attribute "say_helo" for class "GreeterClient"'
ts=examples/typed/typescript/greeter_typed.ts
mutate typescript $ts 'greeter.sayHello(' 'greeter.sayHelo(' "Property 'sayHelo' does not exist"
mutate typescript $ts "sayHello({ name: 'Ada' })" "sayHello({ nmae: 'Ada' })" "'nmae' does not exist in type 'HelloRequestInit'"
mutate typescript $ts 'reply.message' 'reply.mesage' "Property 'mesage' does not exist on type 'HelloReply'"
mutate typescript $ts '  sayHello (request' '  sayHelo (request' "Property 'sayHello' is missing"
mutate typescript $ts '(r.message)' '(r.mesage)' "Property 'mesage' does not exist on type 'HelloReply'"
mutate typescript examples/typed/typescript/streams_typed.ts "[{ text: 'hi' }, 'text hi']" "[{ text: 'hi', number: 7 }, 'text hi']" \
  "Type '{ text: string; number: number; }' is not assignable to type 'AllTypesInit'"
gomain=examples/typed/go/main.go
mutate go $gomain '.SayHello(ctx, &demov1' '.SayHelo(ctx, &demov1' 'has no field or method SayHelo'
mutate go $gomain 'HelloRequest{Name: "Ada"}' 'HelloRequest{Nmae: "Ada"}' 'unknown field Nmae in struct literal'
mutate go $gomain 'reply.Message)' 'reply.Mesage)' 'reply.Mesage undefined'
mutate go $gomain 'fmt.Println(r.Message)' 'fmt.Println(r.Mesage)' 'r.Mesage undefined'
if [ -n "$kotlin_cp" ]; then
  mutate kotlin examples/typed/kotlin/StreamsTyped.kt 'AllTypes(choice = Choice.Text("hi"), numbers' \
    'AllTypes(choice = Choice.Text("hi"), choice = Choice.Number(1L), numbers' "argument already passed for this parameter"
fi

echo "== typed examples across languages"
go_bin="$work/go-greeter"
(cd examples/typed/go && timeout "$T" "$GO" build -o "$go_bin" .)
js=target/typed/typescript/examples/typed/typescript/greeter_typed.js
[ -f "$js" ] || fail "$js is missing: tsc did not emit it"
run_python() { PYTHONPATH=gen/python timeout 30 "$PY" examples/typed/python/greeter_typed.py "$@"; }
# checks WHAT COMMAND…: an example that prints a line per check (`…: ok`) passes them all.
checks() {
  local what=$1 out; shift
  out=$(timeout 60 "$@" 2>&1) || fail "$what failed: $out"
  echo "$what ($(grep -c ': ok$' <<<"$out") checks)"
}
streams="typed server, client and bidi streams and the oneof over inproc"
checks "python: $streams" env PYTHONPATH=gen/python "$PY" examples/typed/python/streams_typed.py
checks "typescript: $streams" env NODE_PATH="$NODE_APP/node_modules" node "${js%greeter_typed.js}streams_typed.js"
out=$(cd examples/typed/go && timeout "$T" "$GO" test -count=1 -run TestStreamsTyped . 2>&1) || fail "go TestStreamsTyped failed: $out"
echo "go: typed server, client and bidi streams over inproc (go test: TestStreamsTyped passed)"
run_typescript() { NODE_PATH="$NODE_APP/node_modules" timeout 30 node "$js" "$@"; }
run_go() { timeout 30 "$go_bin" "$@"; }
run_rust() { timeout 30 "$RUST_EXAMPLE" "$@"; }
run_ruby() { timeout 30 ruby -Igen/ruby examples/typed/ruby/greeter_typed.rb "$@"; }
run_php() { timeout 30 "$PHP" -d extension="$PHP_EXT" examples/typed/php/greeter_typed.php "$@"; }
run_kotlin() { timeout 30 java -Djna.library.path="$KOTLIN_LIB" -cp "$work/kotlin:$kotlin_cp" demo.typed.GreeterTypedKt "$@"; }
langs=(python typescript go)
if [ -x "$RUST_EXAMPLE" ]; then langs+=(rust); else echo "Rust skipped: $RUST_EXAMPLE is not built (make build)"; fi
if timeout 30 ruby -e 'require "hms_ffi"' 2>/dev/null; then langs+=(ruby); else echo "Ruby skipped: the hms_ffi gem is not installed (make ruby-install)"; fi
if [ -f "$PHP_EXT" ]; then langs+=(php); else echo "PHP skipped: $PHP_EXT is not built (make php-ext)"; fi
if [[ " ${langs[*]} " = *" ruby "* ]]; then
  checks "ruby: $streams" ruby -Igen/ruby examples/typed/ruby/streams_typed.rb
fi
if [[ " ${langs[*]} " = *" php "* ]]; then
  # PHP's serve() holds its one thread: its typed client calls Python's typed streams servicer.
  sock="$work/python-streams.sock"
  PYTHONPATH=gen/python timeout "$T" "$PY" examples/typed/python/streams_typed.py serve "unix://$sock" >"$work/python-streams.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.1; done
  [ -S "$sock" ] || fail "the Python streams servicer did not listen: $(cat "$work/python-streams.log")"
  checks "php: the oneof's readers, and a typed client of the three stream kinds (Python's servicer)" \
    "$PHP" -d extension="$PHP_EXT" examples/typed/php/streams_typed.php call "unix://$sock"
fi
if [ -n "$kotlin_cp" ]; then
  langs+=(kotlin)
  checks "kotlin: $streams" java -Djna.library.path="$KOTLIN_LIB" -cp "$work/kotlin:$kotlin_cp" demo.typed.StreamsTypedKt
fi
# serve LANG: starts LANG's typed server on a fresh socket and waits (20 s at most) for it.
serve() {
  sock="$work/$1.sock"
  "run_$1" serve "unix://$sock" >"$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do [ -S "$sock" ] && return 0; sleep 0.1; done
  fail "the $1 server did not listen: $(cat "$work/$1.log")"
}
declare -A greets=([python]=Python [typescript]=TypeScript [go]=Go [rust]=Rust [ruby]=Ruby [php]=PHP [kotlin]=Kotlin)
# expect CLIENT SERVER: CLIENT's typed call of SERVER's typed server prints SERVER's greeting,
# and the two replies of SERVER's Chatter in order.
expect() {
  local got want="Hello Ada from ${greets[$2]}" chatter=$'#0 hi Ada\n#1 hi Ada'
  got=$("run_$1" call "unix://$work/$2.sock" 2>&1) || fail "$1 -> $2 failed: $got"
  grep -qxF "$want" <<<"$got" || fail "$1 -> $2 printed '$got', not '$want'"
  if [[ $got != *"$chatter"* ]]; then
    fail "$1 -> $2 printed '$got', without Chatter's replies"
  fi
}
for server in "${langs[@]}"; do serve "$server"; done
for client in "${langs[@]}"; do
  for server in "${langs[@]}"; do expect "$client" "$server"; done
  echo "$client -> ${langs[*]}: each server's greeting and Chatter's replies"
done
echo "typed bindings: every check passed (${langs[*]})"
