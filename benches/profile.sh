#!/usr/bin/env bash
# Where a bench's time goes: the whole machine sampled by `perf` while one bench command runs,
# so both the client's and the server's processes are seen (issue 16's "profile for each miss").
#
#   bash benches/profile.sh NAME [SECONDS] -- COMMAND...
#   bash benches/profile.sh kotlin 6 -- make -s bench-kotlin
#
# After a warm-up (PROFILE_WARMUP seconds, 8 by default) it counts context switches and CPU
# time for SECONDS (5 by default) with `perf stat -a`, then samples call stacks for as long
# with `perf record -a -g`, and writes to target/perf/NAME/:
#   stat.txt      context switches, migrations, task-clock over the window;
#   by-comm.txt   samples per thread name (which threads burn the time);
#   by-dso.txt    samples per binary or library (kernel, libc, libjvm, our library, ...);
#   top.txt       the hottest symbols, self time.
# The command is stopped (its process group) when the window ends.
set -u
name=$1; shift
secs=5
if [ "${1:-}" != "--" ]; then secs=$1; shift; fi
[ "${1:-}" = "--" ] || { echo "usage: profile.sh NAME [SECONDS] -- COMMAND..." >&2; exit 2; }
shift
cd "$(dirname "$0")/.."
out=target/perf/$name
mkdir -p "$out"
command -v perf >/dev/null || { echo "perf is not installed (apt install linux-perf)" >&2; exit 2; }

setsid "$@" > "$out/command.log" 2>&1 &
pid=$!
trap 'kill -- -$pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
sleep "${PROFILE_WARMUP:-8}"
kill -0 $pid 2>/dev/null || { echo "the command ended before the window; see $out/command.log" >&2; exit 1; }
perf stat -a -e context-switches,cpu-migrations,task-clock -o "$out/stat.txt" -- sleep "$secs"
perf record -q -a -g -F 999 -o "$out/perf.data" -- sleep "$secs" 2>/dev/null
kill -- -$pid 2>/dev/null
report() { perf report -q -i "$out/perf.data" --no-children --stdio -g none --percent-limit "$2" --sort "$1" 2>/dev/null; }
report comm 1 > "$out/by-comm.txt"
report dso 1 > "$out/by-dso.txt"
report dso,sym 0.8 > "$out/top.txt"
echo "== $name: $(grep -E 'context-switches|task-clock' "$out/stat.txt" | awk '{print $1, $2}' | paste -sd' ') over ${secs}s"
head -12 "$out/by-comm.txt"
head -25 "$out/top.txt"
echo "files: $out"
