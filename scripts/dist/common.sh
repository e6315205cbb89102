#!/usr/bin/env bash
# Shared by scripts/dist/<lang>.sh and scripts/test-dist/<lang>.sh (sourced, not run).
#   ROOT      the checkout            DIST     target/dist (DIST_DIR overrides)
#   VERSION   the workspace version (Cargo.toml), the one version of every package
# Functions: release_build PKG.., fresh_dir NAME, no_cargo_path, greeter_server URI, wait_socket,
# stage_crates OUT CRATE_DIR.., step.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIST="${DIST_DIR:-$ROOT/target/dist}"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -1)"
CARGO="${CARGO:-cargo}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir -p "$DIST"

step() { printf '\n== %s\n' "$*"; }

# release_build PKG..: the packages in release, whatever the developer's default profile.
release_build() {
  local args=()
  for p in "$@"; do args+=(-p "$p"); done
  (cd "$ROOT" && "$CARGO" build --release "${args[@]}")
}

# fresh_dir NAME: an empty directory outside the checkout, removed when the script exits.
_fresh_dirs=()
_cleanup_fresh() {
  for p in "${_server_pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  for d in "${_fresh_dirs[@]:-}"; do [ -n "$d" ] && rm -rf "$d"; done
  return 0
}
_server_pids=()
trap _cleanup_fresh EXIT
fresh_dir() {
  local d
  d="$(mktemp -d "${TMPDIR:-/tmp}/hms-dist-$1.XXXXXX")"
  _fresh_dirs+=("$d")
  echo "$d"
}

# no_cargo_path: $PATH without any directory that holds cargo or rustc, so an install that
# should use a prebuilt artifact cannot quietly compile one.
no_cargo_path() {
  local out="" dir
  IFS=: read -ra dirs <<<"$PATH"
  for dir in "${dirs[@]}"; do
    [ -x "$dir/cargo" ] || [ -x "$dir/rustc" ] && continue
    out="${out:+$out:}$dir"
  done
  echo "$out"
}

# wait_socket PATH: up to 10 s for a unix socket to appear.
wait_socket() {
  for _ in $(seq 1 100); do [ -S "$1" ] && return 0; sleep 0.1; done
  echo "no socket at $1 after 10 s" >&2
  return 1
}

# greeter_server SOCKET: the Rust greeter example (`make build`) serving unix://SOCKET in the
# background until the script exits; the other language's side of every test-dist run.
greeter_server() {
  local bin="$CARGO_TARGET_DIR/debug/examples/greeter"
  [ -x "$bin" ] || (cd "$ROOT" && "$CARGO" build -p hms-ffi-core --example greeter)
  rm -f "$1"
  "$bin" serve "unix://$1" >/dev/null 2>&1 &
  _server_pids+=($!)
  wait_socket "$1"
}

# stage_crates OUT CRATE_DIR..: a Cargo workspace in OUT holding hms-ffi-core, the workspace-hack
# and the named binding crates (their checkout directories, e.g. node), with the checkout's
# Cargo.lock: what a package that builds from source carries instead of the checkout.
stage_crates() {
  python3 "$ROOT/scripts/dist/stage_crates.py" "$@"
}

# copy_example LANG DIR: examples/LANG and examples/protos into DIR/examples (the examples find
# greeter.proto at ../protos from their own file), so a test runs them outside the checkout.
copy_example() {
  mkdir -p "$2/examples"
  cp -r "$ROOT/examples/$1" "$ROOT/examples/protos" "$2/examples/"
}

# copy_tracked DIR DEST [EXCLUDE_REGEX]: the checkout's files under DIR that git tracks or would
# track (committed or not, never ignored ones), copied with their paths into DEST.
copy_tracked() {
  mkdir -p "$2"
  (cd "$ROOT/$1" && git ls-files -z --cached --others --exclude-standard . |
    grep -zv "${3:-^\$}" | xargs -0 -I{} cp --parents {} "$2/")
}
