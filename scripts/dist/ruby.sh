#!/usr/bin/env bash
# Ruby's packages into target/dist/ruby/ (docs/packaging.md):
#   hms_ffi-VERSION.gem               the source gem: Ruby files, extconf and the Rust sources
#                                     (ruby/stage_gem.rb); `gem install` builds it with cargo,
#                                     in release unless HMS_FFI_PROFILE=debug
#   hms_ffi-VERSION-<platform>.gem    the precompiled platform gem (x86_64-linux here): the
#                                     release library under lib/hms_ffi/<ruby minor>/, no
#                                     extension, so `gem install` needs no cargo
source "$(dirname "$0")/common.sh"
out="$DIST/ruby"
stage="$ROOT/target/ruby"
rm -rf "$out"
mkdir -p "$out" "$stage"

step "ruby: source gem"
ruby "$ROOT/ruby/stage_gem.rb" "$stage/dist-src" >/dev/null
(cd "$stage/dist-src" && gem build -q hms_ffi.gemspec --output "$out/hms_ffi-$VERSION.gem")

step "ruby: precompiled platform gem (release build of hms-ffi-ruby)"
release_build hms-ffi-ruby
# A copy without the symbol table: what a user loads needs only the dynamic symbols.
strip --strip-unneeded -o "$stage/hms_ffi.so" "$CARGO_TARGET_DIR/release/libhms_ffi_rb.so"
ruby "$ROOT/ruby/stage_gem.rb" --native "$stage/hms_ffi.so" "$stage/dist-native" >/dev/null
platform="$(ruby -e 'print Gem::Platform.local')"
(cd "$stage/dist-native" && gem build -q hms_ffi.gemspec --output "$out/hms_ffi-$VERSION-$platform.gem")

step "ruby: artifacts"
ls -l "$out"
