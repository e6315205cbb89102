# frozen_string_literal: true

# Lays out a self-contained gem source tree in DIR (default target/ruby/gem-src), which
# `gem build hms_ffi.gemspec` run there packs. Two kinds:
#
#   ruby ruby/stage_gem.rb [DIR]
#     the source gem: the gemspec, lib/ and ext/ of ruby/, plus the Rust sources the extension is
#     built from — the binding crate and hms-ffi-core under crates/ with the feature-unifying
#     workspace-hack beside them (their manifests point at `../workspace-hack`), a Cargo
#     workspace of the three and the checkout's Cargo.lock — so `gem install` needs no checkout,
#     only cargo and crates.io.
#
#   ruby ruby/stage_gem.rb --native LIB [DIR]
#     the precompiled platform gem: the gemspec and lib/, with LIB (a release build of
#     hms-ffi-ruby, e.g. target/release/libhms_ffi_rb.so) as lib/hms_ffi/<ruby minor>/hms_ffi.so,
#     the rake-compiler/rb-sys layout lib/hms_ffi.rb loads first. No ext/, no crates: the
#     gemspec sees the prebuilt library and makes a platform gem without extensions.
#
# Both carry the LICENSE.
require "fileutils"
require "rbconfig"

root = File.expand_path("..", __dir__)
native = nil
if ARGV.first == "--native"
  ARGV.shift
  native = File.expand_path(ARGV.shift || abort("stage_gem: --native needs the built library"))
  abort "stage_gem: no library at #{native}" unless File.file?(native)
end
out = File.expand_path(ARGV[0] || File.join(root, "target", "ruby", native ? "gem-native" : "gem-src"))
FileUtils.rm_rf(out)
FileUtils.mkdir_p(out)
%w[hms_ffi.gemspec lib].each { |f| FileUtils.cp_r(File.join(root, "ruby", f), out) }
FileUtils.cp(File.join(root, "LICENSE"), out)
# Whatever a local build left in lib/ is not part of either gem.
FileUtils.rm_f(Dir[File.join(out, "lib", "**", "*.{so,bundle}")])

if native
  # One Ruby minor's ABI: the library is loadable by the Ruby it was compiled against (rb-sys
  # generates its bindings from that Ruby's headers), hence the per-minor directory.
  minor = RUBY_VERSION[/\A\d+\.\d+/]
  dest = File.join(out, "lib", "hms_ffi", minor, "hms_ffi.#{RbConfig::CONFIG["DLEXT"]}")
  FileUtils.mkdir_p(File.dirname(dest))
  FileUtils.cp(native, dest)
else
  FileUtils.cp_r(File.join(root, "ruby", "ext"), out)
  FileUtils.rm_f(Dir[File.join(out, "ext", "**", "{Makefile,*.so}")])
  # The Rust sources: the binding crate, hms-ffi-core and the workspace-hack under crates/, a
  # workspace of the three and the checkout's Cargo.lock (one script lays this out for every
  # package that builds from source).
  system("python3", File.join(root, "scripts", "dist", "stage_crates.py"), out, "ruby", out: File::NULL) ||
    abort("stage_gem: scripts/dist/stage_crates.py failed")
end
puts out
