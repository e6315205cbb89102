# frozen_string_literal: true

# Schema.from_registry from Ruby (issue 21): a version of a schema named by a registry reference
# (`registry+URI#SUBJECT[@N|@latest|@sha256:…]`), fetched from a registry of the test's own (the
# CLI's `hms-ffi registry serve`, killed at the end) and checked by the core.

require_relative "test_helper"
require "fileutils"
require "tmpdir"
require "timeout"
require "hms_ffi"

class TestRegistry < Minitest::Test
  ROOT = File.expand_path("../..", __dir__)
  CLI = File.join(ENV.fetch("CARGO_TARGET_DIR", File.join(ROOT, "target")), "debug", "hms-ffi")

  def setup
    assert File.exist?(CLI), "#{CLI} is missing: cargo build -p hms-ffi-cli (make test-ruby does)"
    @dir = Dir.mktmpdir("hms-ruby-registry-")
    sock = File.join(@dir, "r.sock")
    @uri = "unix://#{sock}"
    @pid = Process.spawn(CLI, "registry", "serve", "--db", File.join(@dir, "r.db"), "--listen", @uri,
                         %i[out err in] => File::NULL)
    Timeout.timeout(10) { sleep 0.02 until File.exist?(sock) }
    %w[shop_v1.proto shop_v2.proto].each do |v|
      ok = system(CLI, "registry", "register", "--timeout", "10", "--registry", @uri,
                  File.join(ROOT, "tests", "registry", v),
                  %i[out err] => File::NULL)
      assert ok, "registering #{v} failed"
    end
  end

  def teardown
    Process.kill("KILL", @pid)
    Process.wait(@pid)
    FileUtils.remove_entry(@dir)
  end

  def names(schema)
    schema.methods.map(&:first).sort
  end

  def test_a_reference_names_a_version_and_errors_are_typed
    v1 = HmsFfi::Schema.from_registry("registry+#{@uri}#shop.v1@1")
    assert_equal ["shop.v1.Shop/Get"], names(v1)
    latest = HmsFfi::Schema.from_registry("registry+#{@uri}#shop.v1", timeout: 5)
    assert_equal ["shop.v1.Shop/Get", "shop.v1.Shop/List"], names(latest)
    assert_raises(HmsFfi::InvalidArgument) { HmsFfi::Schema.from_registry("shop/v1") }
    assert_raises(HmsFfi::NotFound) { HmsFfi::Schema.from_registry("registry+#{@uri}#shop.v1@9") }
    assert_raises(HmsFfi::Unavailable) do
      HmsFfi::Schema.from_registry("registry+unix:///nonexistent/r.sock#shop.v1", timeout: 2)
    end
  end
end
