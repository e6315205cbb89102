# frozen_string_literal: true

# What a user of the installed hms_ffi gem sees (run by scripts/test-dist/ruby.sh in a fresh
# directory with a fresh GEM_HOME, against the Rust greeter server at $HMS_GREETER).
require "minitest/autorun"
require "hms_ffi"

class TestInstalledGem < Minitest::Test
  def client
    @client ||= HmsFfi.connect(ENV.fetch("HMS_GREETER"))
  end

  def test_the_gem_is_the_installed_one
    native = $LOADED_FEATURES.grep(/hms_ffi\.so\z/)
    assert_equal 1, native.size, native.inspect
    assert native[0].start_with?(ENV.fetch("GEM_HOME")), "#{native[0]} is not under the fresh GEM_HOME"
    assert_equal "Apache-2.0", Gem.loaded_specs.fetch("hms_ffi").license
  end

  def test_a_call_and_a_stream_to_the_rust_server
    reply = client.call("demo.v1.Greeter/SayHello", { name: "Ada", times: 2 }, timeout: 10)
    assert_match(/\AHello Ada/, reply[:message])
    replies = client.stream("demo.v1.Greeter/Chatter", { name: "Ada", times: 3 }, timeout: 10).to_a
    assert_equal 3, replies.size
  end

  def test_errors_keep_their_type
    assert_raises(HmsFfi::InvalidArgument) { client.call("demo.v1.Greeter/SayHello", { name: "" }, timeout: 10) }
    assert_raises(HmsFfi::Unimplemented) { client.call("demo.v1.Greeter/Nope", {}, timeout: 10) }
  end
end
