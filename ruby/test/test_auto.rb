# frozen_string_literal: true

# auto://NAME from Ruby (issue 18): a server announces a name; a client finds it (in-process
# when it can, else over shared memory or the transport it is told) and says which transport
# it picked. Ruby only passes the URI: the choice is the core's.

require "tmpdir"
require_relative "test_helper"

class AutoTest < Minitest::Test
  PROTO = <<~PROTO
    syntax = "proto3";
    package rbauto.v1;
    message Msg { string text = 1; string transport = 2; }
    service Echo { rpc Say(Msg) returns (Msg); }
  PROTO

  def test_a_client_finds_a_server_by_name_and_says_which_transport_it_picked
    run = Dir.mktmpdir("hms-rb-auto-")
    saved = ENV.fetch("XDG_RUNTIME_DIR", nil)
    ENV["XDG_RUNTIME_DIR"] = run
    server = HmsFfi::Server.new(HmsFfi::Schema.from_source("auto.proto", PROTO))
    server.method("rbauto.v1.Echo/Say") { |req, ctx| { text: req[:text], transport: ctx.transport } }
    assert_equal "auto://rbauto", server.listen("auto://rbauto")
    serving = Thread.new { server.serve }
    record = File.join(run, "hms-ffi", "auto", "rbauto.json")
    assert File.exist?(record)
    sock = "unix://#{File.join(run, "hms-ffi", "auto", "rbauto.sock")}"
    { "auto://rbauto" => ["inproc://rbauto", "inproc"],
      "auto://rbauto?transports=shm" => ["shm://rbauto", "shm"],
      "auto://rbauto?transports=unix" => [sock, "unix"] }.each do |uri, (picked, transport)|
      client = HmsFfi.connect(uri)
      assert_equal picked, client.transport, uri
      assert_equal({ text: uri, transport: transport }, client.call("rbauto.v1.Echo/Say", { text: uri }, timeout: 5))
      assert_equal picked, client.endpoints.first.connected
      client.close
      assert_nil client.transport
    end
    server.shutdown(grace: 0.0)
    serving.join(10)
    refute File.exist?(record)
    assert_raises(HmsFfi::Unavailable) { HmsFfi.connect("auto://rbauto") }
    assert_raises(HmsFfi::InvalidArgument) { HmsFfi.connect("auto://a/b") }
    assert_raises(HmsFfi::InvalidArgument) { HmsFfi.connect("auto://x?transports=pigeon") }
  ensure
    ENV["XDG_RUNTIME_DIR"] = saved
    FileUtils.rm_rf(run) if run
  end
end
