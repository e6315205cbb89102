# frozen_string_literal: true

# Versions at connect from Ruby (issue 21, docs/evolution.md): a client built against v1 of a
# schema learns at connect which methods a v2 server breaks; the core refuses calls to them
# with HmsFfi::FailedPrecondition (reason INCOMPATIBLE_SCHEMA) and lets the others through.

require_relative "test_helper"

class VersionsTest < Minitest::Test
  include Served

  V1 = <<~PROTO
    syntax = "proto3";
    package shop.v1;
    message Item { int32 count = 1; }
    message GetRequest { string id = 1; }
    message ListRequest {}
    service Shop { rpc Get(GetRequest) returns (Item); rpc List(ListRequest) returns (Item); }
  PROTO
  # GetRequest.id becomes an int64 (Get breaks), Item gains a field (List keeps working).
  V2 = V1.sub("string id = 1", "int64 id = 1").sub("int32 count = 1;", "int32 count = 1; string name = 2;")

  def test_a_client_built_against_v1_learns_at_connect_what_a_v2_server_breaks
    server = HmsFfi::Server.new(HmsFfi::Schema.from_source("shop.proto", V2))
    seen = Queue.new
    server.method("shop.v1.Shop/Get") do |_req, _ctx|
      seen << "Get"
      { count: 1 }
    end
    server.method("shop.v1.Shop/List") do |_req, _ctx|
      seen << "List"
      { count: 2, name: "pen" }
    end
    uri = server.listen(unix_uri("shop.sock"))
    serving = Thread.new { server.serve }
    server.set_schema_version("shop.v1", 2)
    client = HmsFfi.connect(uri, expect_schema: HmsFfi::Schema.from_source("shop.proto", V1))
    assert_equal server.schema_version, client.schema_version
    assert_equal ["shop.v1", 2], [client.schema_version.subject, client.schema_version.version]
    assert_match(/\Asha256:/, client.schema_version.fingerprint)
    broken = client.incompatible_methods
    assert_equal ["shop.v1.Shop/Get"], broken.keys
    assert_includes broken["shop.v1.Shop/Get"].first, "FIELD_WIRE_JSON_COMPATIBLE_TYPE"
    error = assert_raises(HmsFfi::FailedPrecondition) { client.call("shop.v1.Shop/Get", { id: "7" }, timeout: 10) }
    assert_equal "INCOMPATIBLE_SCHEMA", error.reason
    assert_includes error.message, "FIELD_WIRE_JSON_COMPATIBLE_TYPE"
    assert_equal 2, client.call("shop.v1.Shop/List", {}, timeout: 10)[:count]
    assert_equal ["List"], Array.new(seen.size) { seen.pop }
    client.close
  ensure
    server&.shutdown(grace: 1.0)
    serving&.join(10)
  end

  def test_a_client_given_its_schema_has_no_announced_version
    schema = HmsFfi::Schema.from_source("shop.proto", V1)
    server = HmsFfi::Server.new(schema)
    uri = server.listen(unix_uri("given.sock"))
    assert_equal ["", 0], [server.schema_version.subject, server.schema_version.version]
    client = HmsFfi.connect(uri, schema: schema)
    assert_nil client.schema_version
    assert_equal({}, client.incompatible_methods)
    client.close
  ensure
    server&.shutdown(grace: 1.0)
  end
end
