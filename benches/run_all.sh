#!/usr/bin/env bash
# Every language's echo and payload benches, each with its floor (the language's own raw socket
# echo) and its native gRPC peer in the same run, one after another: the tables of issue 16.
#
#   bash benches/run_all.sh default   # the VM as it is (guest halt-polling as found, 0 here)
#   bash benches/run_all.sh warm      # guest halt-polling at 200 µs, as `make bench-warm`
#   bash benches/run_all.sh build     # only build what the benches need (release), then stop
#
# Everything is built first, so no build runs while a bench measures. Each bench's output goes
# to target/bench-logs/<date>-<state>/<bench>.log and to the terminal; `BENCHES="go py"` runs
# a subset. Run it on an otherwise idle machine: the ratios are read from one run.
set -u
cd "$(dirname "$0")/.."
state=${1:-default}
HALTPOLL=/sys/module/haltpoll/parameters/guest_halt_poll_ns
ALL="rust go go-payloads py py-payloads py-shm node node-payloads ruby ruby-payloads php php-payloads kotlin"
BENCHES=${BENCHES:-$ALL}

build() {
  make -s go-lib py-install node-bench-install >/dev/null &&
    HMS_FFI_PROFILE=release make -s ruby-install >/dev/null &&
    make -s kotlin-install >/dev/null &&
    cargo build -q --release -p hms-ffi-php -p hms-ffi-uniffi &&
    cargo bench -q -p hms-ffi-benches --bench echo --no-run
}

run() {
  case $1 in
    rust) make -s bench ;;
    go) make -s bench-go ;;
    go-payloads) make -s bench-go-payloads ;;
    py) make -s bench-py ;;
    py-payloads) make -s bench-py-payloads ;;
    py-shm) make -s bench-py-shm ;;
    node) make -s bench-node ;;
    node-payloads) make -s bench-node-payloads ;;
    ruby) HMS_FFI_PROFILE=release make -s bench-ruby ;;
    ruby-payloads) HMS_FFI_PROFILE=release make -s bench-ruby-payloads ;;
    php) make -s bench-php ;;
    php-payloads) make -s bench-php-payloads ;;
    kotlin) make -s bench-kotlin ;;
    *) echo "unknown bench $1 (one of: $ALL)" >&2; return 2 ;;
  esac
}

echo "building what the benches need (release)..."
build || { echo "build failed" >&2; exit 1; }
[ "$state" = build ] && exit 0

old=""
case $state in
  default) ;;
  warm)
    [ -w $HALTPOLL ] || { echo "warm needs a writable $HALTPOLL (root, haltpoll driver)" >&2; exit 2; }
    old=$(cat $HALTPOLL)
    trap 'echo "$old" > $HALTPOLL' EXIT
    echo 200000 > $HALTPOLL ;;
  *) echo "state is default, warm or build" >&2; exit 2 ;;
esac

out=target/bench-logs/$(date -u +%Y%m%dT%H%M)-$state
mkdir -p "$out"
{
  echo "date: $(date -u +%FT%TZ)  state: $state  halt-poll: $(cat $HALTPOLL 2>/dev/null || echo n/a)"
  echo "commit: $(git rev-parse --short HEAD)  load: $(cut -d' ' -f1-3 /proc/loadavg)  cpus: $(nproc)"
} | tee "$out/machine.txt"
status=0
for b in $BENCHES; do
  echo "=== $b  (load $(cut -d' ' -f1 /proc/loadavg))" | tee -a "$out/machine.txt"
  run "$b" 2>&1 | tee "$out/$b.log" || status=1
done
echo "logs: $out"
exit $status
