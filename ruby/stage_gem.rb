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
FileUtils.mkdir_p(File.join(out, "crates"))
%w[hms_ffi.gemspec lib ext].each { |f| FileUtils.cp_r(File.join(root, "ruby", f), out) }
FileUtils.rm_f(Dir[File.join(out, "ext", "**", "{Makefile,*.so}")])
{ "ruby" => "hms-ffi-ruby", "core" => "hms-ffi-core" }.each do |dir, name|
  FileUtils.mkdir_p(File.join(out, "crates", name))
  FileUtils.cp_r(File.join(root, dir, "src"), File.join(out, "crates", name))
  manifest = File.read(File.join(root, dir, "Cargo.toml"))
  # Examples live outside the crate in the checkout; the gem builds only the library.
  manifest = manifest.sub(/\n\[\[example\]\].*\z/m, "\n")
  File.write(File.join(out, "crates", name, "Cargo.toml"), manifest)
end
# The hack crate keeps the gem's dependencies on the checkout's feature sets, so a build sharing
# the checkout's target/ reuses what the other crates compiled.
FileUtils.cp_r(File.join(root, "workspace-hack"), File.join(out, "crates", "workspace-hack"))
workspace = File.read(File.join(root, "Cargo.toml"))
workspace = workspace.sub(/^members = .*$/, 'members = ["crates/hms-ffi-core", "crates/hms-ffi-ruby", "crates/workspace-hack"]')
                     .sub(/^default-members = .*$/, "")
                     .gsub(/^#.*\n/, "")
                     .sub(/path = "core"/, 'path = "crates/hms-ffi-core"')
                     .sub(/\n\[profile\.bench\].*\z/m, "\n")
File.write(File.join(out, "Cargo.toml"), workspace)
FileUtils.cp(File.join(root, "Cargo.lock"), out)
puts out
