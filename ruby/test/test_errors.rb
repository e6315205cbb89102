# frozen_string_literal: true

# The error model: one class per code, handler exceptions reaching callers as Internal with
# the Ruby class, message and backtrace, typed errors for bad input; the server keeps serving.

require_relative "test_helper"

class ErrorsTest < Minitest::Test
  include Served

  def raising_client
    server = HmsFfi::Server.new(HmsFfi::Schema.load(Vectors::PROTO))
    server.method(ECHO) do |req, _ctx|
      case req[:unicode_text]
      when "raise" then raise ArgumentError, "boom in a block"
      when "not found" then raise HmsFfi::NotFound, "no user 7"
      when "violations"
        raise HmsFfi::InvalidArgument.new("bad order", field_violations: [["items[2].price", "too high"]],
                                                         reason: "PRICE_CHECK")
      when "bad reply" then { int32_v: 1 }
      when "odd object" then { unicode_text: Object.new }
      when "not a hash" then 42
      when "code ok" then raise HmsFfi::Error.new("all fine", code: :ok)
      when "deep" then { meta: { x: ErrorsTest.deep_list(100_000) } }
      else req
      end
    end
    thread, client = start(server, unix_uri)
    @stop = lambda { server.shutdown(grace: 1.0); thread.join(5) }
    client
  end

  def echo(client, text)
    client.call(ECHO, { unicode_text: text })
  end

  # The canonical gRPC codes in number order, written out here rather than read from CODES.
  GRPC_CODES = %i[ok cancelled unknown invalid_argument deadline_exceeded not_found already_exists
                  permission_denied resource_exhausted failed_precondition aborted out_of_range
                  unimplemented internal unavailable data_loss unauthenticated].freeze

  def test_one_class_per_code_under_error
    assert_equal GRPC_CODES.each_with_index.to_h, HmsFfi::CODES
    GRPC_CODES.each_with_index.drop(1).each do |code, number|
      klass = HmsFfi.const_get(code.to_s.split("_").map(&:capitalize).join)
      assert_operator klass, :<, HmsFfi::Error
      assert_same klass, HmsFfi::ERROR_CLASSES.fetch(number)
      assert_equal [code, number], [klass.new("x").code, klass.new("x").code_number]
    end
    assert_equal HmsFfi::NotFound, HmsFfi::ERROR_CLASSES[5]
    assert_operator HmsFfi::Error, :<, StandardError
    assert_equal :not_found, HmsFfi::NotFound.new("m").code
    assert_equal 16, HmsFfi::Unauthenticated.new("m").code_number
  end

  def test_a_ruby_exception_reaches_the_caller_as_internal_with_class_message_and_backtrace
    client = raising_client
    err = assert_raises(HmsFfi::Internal) { echo(client, "raise") }
    assert_equal :internal, err.code
    assert_includes err.message, "ArgumentError: boom in a block"
    debug = err.details.fetch(:debug_info)
    assert_equal "ArgumentError: boom in a block", debug[:detail]
    assert(debug[:stack_entries].any? { |line| line.include?("test_errors.rb") }, debug[:stack_entries].inspect)
    assert_equal "ruby", err.origin[:language]
    assert_equal "still here", echo(client, "still here")[:unicode_text] # still serving
  end

  def test_an_hms_error_keeps_its_code_message_violations_and_reason
    client = raising_client
    err = assert_raises(HmsFfi::NotFound) { echo(client, "not found") }
    assert_equal "no user 7", err.message
    err = assert_raises(HmsFfi::InvalidArgument) { echo(client, "violations") }
    assert_equal "bad order", err.message
    assert_equal [{ field: "items[2].price", description: "too high" }], err.field_violations
    assert_equal "PRICE_CHECK", err.reason
    assert_equal "ok", echo(client, "ok")[:unicode_text]
  end

  def test_a_reraised_error_keeps_its_error_info_and_origin
    schema = HmsFfi::Schema.load(Vectors::PROTO)
    upstream = HmsFfi::Server.new(schema)
    upstream.method(ECHO) do |_req, _ctx|
      raise HmsFfi::NotFound.new("no user 7", details: {
                                   error_info: { reason: "NO_SUCH_USER", domain: "users.example",
                                                 metadata: { "id" => "7" } },
                                   origin: { language: "go", service: "users.v1.Users", method: "Get" }
                                 })
    end
    up_thread, up_client = start(upstream, unix_uri("upstream.sock"))
    relay = HmsFfi::Server.new(schema)
    relay.method(ECHO) do |req, _ctx|
      up_client.call(ECHO, req)
    rescue HmsFfi::Error => e
      raise e
    end
    relay_thread, relay_client = start(relay, unix_uri("relay.sock"))
    @stop = lambda do
      [relay, upstream].each { |s| s.shutdown(grace: 1.0) }
      [relay_thread, up_thread].each { |t| t.join(5) }
    end
    [up_client, relay_client].each do |client|
      err = assert_raises(HmsFfi::NotFound) { echo(client, "x") }
      assert_equal "no user 7", err.message
      assert_equal({ reason: "NO_SUCH_USER", domain: "users.example", metadata: { "id" => "7" } },
                   err.details[:error_info])
      assert_equal({ language: "go", service: "users.v1.Users", method: "Get" }, err.origin)
    end
  end

  def self.deep_list(depth)
    value = []
    depth.times { value = [value] }
    value
  end

  def test_a_handler_raising_code_ok_is_unknown_for_the_caller
    client = raising_client
    err = assert_raises(HmsFfi::Unknown) { echo(client, "code ok") }
    assert_includes err.message, "code OK"
    assert_equal "OK_IS_NOT_AN_ERROR", err.reason
  end

  def test_a_100000_deep_value_is_resource_exhausted_with_its_path_both_ways
    client = raising_client
    err = assert_raises(HmsFfi::ResourceExhausted) { client.call(ECHO, { meta: { x: ErrorsTest.deep_list(100_000) } }) }
    assert_equal "NESTING_TOO_DEEP", err.reason
    assert err.field_violations.first[:field].start_with?("meta.x[0][0]"), err.field_violations.inspect
    err = assert_raises(HmsFfi::ResourceExhausted) { echo(client, "deep") }
    assert err.field_violations.first[:field].start_with?("meta.x[0]"), err.field_violations.inspect
    assert_equal "ok", echo(client, "ok")[:unicode_text]
  end

  def test_replies_that_do_not_match_the_schema_are_internal_errors
    client = raising_client
    ["bad reply", "odd object", "not a hash"].each do |text|
      err = assert_raises(HmsFfi::Internal) { echo(client, text) }
      refute_empty err.message, text
    end
    err = assert_raises(HmsFfi::Internal) { echo(client, "odd object") }
    assert_includes err.message, "unicode_text"
    assert_equal "ok", echo(client, "ok")[:unicode_text]
  end

  def test_bad_requests_fail_with_typed_errors_and_paths
    client = conformance_client
    err = assert_raises(HmsFfi::InvalidArgument) do
      client.call(ECHO, { items: [{}, {}, { price: "9.99" }], scalars: { int32_v: 3_000_000_000 } })
    end
    fields = err.field_violations.map { |v| v[:field] }.sort
    assert_equal ["items[2].price", "scalars.int32_v"], fields
    err = assert_raises(HmsFfi::InvalidArgument) { client.call(ECHO, { unicode_text: Object.new }) }
    assert_includes err.message, "got Object"
    assert_raises(HmsFfi::Unimplemented) { client.call("#{SERVICE}/Nope", {}) }
    assert_raises(HmsFfi::DeadlineExceeded) { client.call(SLEEP, { millis: 2000 }, timeout: 0.05) }
    assert_equal({}, client.call(SLEEP, { millis: 1 }))
  end

  def test_registration_and_connection_errors
    server = HmsFfi::Server.new(HmsFfi::Schema.load(Vectors::PROTO))
    assert_raises(HmsFfi::NotFound) { server.method("#{SERVICE}/Missing") { {} } }
    # A streaming method is registered by its kind (test_streams.rb runs them).
    assert_same server, server.method("#{SERVICE}/Bidi") { |requests, _ctx| requests }
    assert_raises(HmsFfi::Unavailable) { HmsFfi.connect(unix_uri("nobody.sock")) }
    assert_raises(HmsFfi::InvalidArgument) { HmsFfi::Schema.from_source("bad.proto", "syntax = \"proto3\"; message {") }
  end
end
