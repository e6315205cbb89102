#!/usr/bin/env bash
# Ruby's packages (scripts/dist/ruby.sh) installed the way a user installs them, in a fresh
# directory outside the checkout with a fresh GEM_HOME, each then running the Ruby greeter
# example as a client of the Rust greeter server over unix://:
#   1. the precompiled platform gem, `gem install --local` with no cargo on PATH;
#   2. the source gem, `gem install --local` with cargo: its extconf builds hms-ffi-ruby in
#      release. It shares CARGO_TARGET_DIR with the checkout so crates.io dependencies already
#      compiled in release are reused (a cold build is ~10 min on 2 cores); the gem's own crates
#      are its staged copies, compiled afresh.
source "$(dirname "$0")/../dist/common.sh"
platform="$(ruby -e 'print Gem::Platform.local')"
binary_gem="$DIST/ruby/hms_ffi-$VERSION-$platform.gem"
source_gem="$DIST/ruby/hms_ffi-$VERSION.gem"
dir="$(fresh_dir ruby)"
sock="$dir/greeter.sock"
copy_example ruby "$dir/app"
greeter_server "$sock"
passed=0

# run_greeter GEM_HOME PATH KIND: minitest on scripts/test-dist/test_installed_rb.rb (the gem is
# the one in GEM_HOME; a call, a stream and typed errors against the Rust server), then the
# greeter client. minitest itself comes from Ruby's default gems.
defaults="$(ruby -e 'print Gem.default_path.join(":")')"
cp "$ROOT/scripts/test-dist/test_installed_rb.rb" "$dir/app/"
run_greeter() {
  local home="$1" path="$2" kind="$3" out
  (cd "$dir/app" && env GEM_HOME="$home" GEM_PATH="$home:$defaults" PATH="$path" HMS_GREETER="unix://$sock" \
    timeout 120 ruby test_installed_rb.rb)
  out="$(cd "$dir/app" && env GEM_HOME="$home" GEM_PATH="$home" PATH="$path" \
    timeout 60 ruby examples/ruby/greeter.rb call "unix://$sock" Ada)"
  echo "$out"
  grep -q "SayHello -> \"Hello Ada" <<<"$out" || { echo "FAIL ($kind): no reply from the Rust server" >&2; exit 1; }
  passed=$((passed + 1))
}

step "ruby: $(basename "$binary_gem"): gem install --local, no cargo on PATH"
nocargo="$(no_cargo_path)"
env GEM_HOME="$dir/gems-binary" PATH="$nocargo" timeout 300 \
  gem install --local --no-document "$binary_gem"
[ -z "$(ls "$dir/gems-binary/extensions" 2>/dev/null)" ] || { echo "FAIL: the platform gem built an extension" >&2; exit 1; }
run_greeter "$dir/gems-binary" "$nocargo" "platform gem"

step "ruby: $(basename "$source_gem"): gem install --local, cargo builds the extension (release)"
env GEM_HOME="$dir/gems-source" timeout 1800 \
  gem install --local --no-document "$source_gem"
build_log="$(find "$dir/gems-source/extensions" -name gem_make.out | head -1)"
grep -q -- "cargo build --release" "$build_log" || { echo "FAIL: the source gem did not build release ($build_log)" >&2; exit 1; }
run_greeter "$dir/gems-source" "$PATH" "source gem"

step "ruby: test-dist: $passed passed, 0 failed (platform gem without cargo, source gem built in release)"
