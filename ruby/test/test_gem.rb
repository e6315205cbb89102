# frozen_string_literal: true

# The gem as `make ruby-install` builds it: self-contained (Ruby files, extconf and the Rust
# sources it compiles), and the extension loaded by these tests is the installed one.

require_relative "test_helper"
require "rubygems/package"

class GemTest < Minitest::Test
  GEM_FILE = File.join(Vectors::ROOT, "target", "ruby", "hms_ffi.gem")

  def test_the_gem_packs_ruby_files_extconf_and_rust_sources
    files = Gem::Package.new(GEM_FILE).spec.files
    %w[lib/hms_ffi.rb lib/hms_ffi/server.rb ext/hms_ffi/extconf.rb Cargo.toml Cargo.lock
       crates/hms-ffi-ruby/Cargo.toml crates/hms-ffi-ruby/src/lib.rs crates/hms-ffi-core/Cargo.toml
       crates/hms-ffi-core/src/lib.rs crates/hms-ffi-core/src/server/queue.rs
       crates/workspace-hack/Cargo.toml crates/workspace-hack/src/lib.rs].each do |f|
      assert_includes files, f
    end
    assert_equal ["ext/hms_ffi/extconf.rb"], Gem::Package.new(GEM_FILE).spec.extensions
  end

  def test_the_loaded_extension_is_the_installed_gem
    spec = Gem.loaded_specs.fetch("hms_ffi")
    native = $LOADED_FEATURES.grep(%r{hms_ffi/hms_ffi\.so\z})
    assert_equal 1, native.size
    assert native.first.start_with?(spec.full_gem_path) || native.first.start_with?(spec.extension_dir), native.first
    assert_equal HmsFfi::VERSION, HmsFfi::NATIVE_VERSION
  end
end
