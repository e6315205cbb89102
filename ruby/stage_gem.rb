# frozen_string_literal: true

# Lays out a self-contained gem source tree in DIR (default target/ruby/gem-src): the gemspec,
# lib/ and ext/ of ruby/, plus the Rust sources the extension is built from — the binding crate
# and hms-ffi-core under crates/ with the feature-unifying workspace-hack beside them (their
# manifests point at `../workspace-hack`), a Cargo workspace of the three and the checkout's Cargo.lock —
# so `gem install` of the gem built there needs no checkout, only cargo and crates.io.
#
#   ruby ruby/stage_gem.rb [DIR]
require "fileutils"

root = File.expand_path("..", __dir__)
out = File.expand_path(ARGV[0] || File.join(root, "target", "ruby", "gem-src"))
FileUtils.rm_rf(out)
FileUtils.mkdir_p(out)
%w[hms_ffi.gemspec lib ext].each { |f| FileUtils.cp_r(File.join(root, "ruby", f), out) }
FileUtils.rm_f(Dir[File.join(out, "ext", "**", "{Makefile,*.so}")])
# The Rust sources: the binding crate, hms-ffi-core and the feature-unifying workspace-hack under
# crates/, a workspace of the three and the checkout's Cargo.lock (one script lays this out for
# every package that builds from source).
system("python3", File.join(root, "scripts", "dist", "stage_crates.py"), out, "ruby", out: File::NULL) ||
  abort("stage_gem: scripts/dist/stage_crates.py failed")
puts out
