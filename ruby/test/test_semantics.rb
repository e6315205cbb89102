# frozen_string_literal: true

# Call semantics in Ruby: every case of tests/conformance/semantics/calls.json against a Ruby
# server over inproc and unix, and the features they rest on — response headers and trailers
# both ways (with a reply and with an error), request metadata, cancellation from another
# thread, async calls, close.

require_relative "test_helper"

class SemanticsTest < Minitest::Test
  include Served

  CONTEXT = "#{Semantics::SERVICE}/Context"
  SERVER, URIS = Served.conformance_on_both("semantics", threads: 2)
  CLIENTS = URIS.transform_values { |uri| HmsFfi.connect(uri) }
  SKIPS = Semantics.skips("client").merge(Semantics.skips("server"))

  Semantics.cases.each do |kase|
    URIS.each do |transport, uri|
      define_method("test_#{transport}_#{kase['name']}") do
        skip SKIPS[kase["name"]] if SKIPS.key?(kase["name"])
        why = Semantics.check(kase, CLIENTS.fetch(transport), uri)
        assert_nil why, "#{kase['name']} over #{transport}: #{why}"
      end
    end
  end

  def test_every_skip_has_a_written_reason_and_names_a_case
    names = Semantics.cases.map { |c| c["name"] }
    SKIPS.each do |name, reason|
      assert_includes names, name
      refute_match(/not written yet/, reason)
    end
  end

  def test_headers_and_trailers_come_back_with_the_reply
    req = { set_headers: { "x-h" => "1" }, set_trailers: { "x-t" => "2" } }
    URIS.each_key do |transport|
      response = CLIENTS[transport].call_with_metadata(CONTEXT, req, metadata: { "x-conf-a" => "b" })
      assert_instance_of HmsFfi::Response, response
      assert_equal({ "x-conf-a" => "b" }, response.reply[:metadata].transform_keys(&:to_s))
      assert_equal "1", response.headers["x-h"]
      assert_equal "2", response.trailers["x-t"]
    end
  end

  def test_a_reserved_or_bad_key_is_refused_by_the_core
    error = assert_raises(HmsFfi::InvalidArgument) do
      CLIENTS["unix"].call(CONTEXT, { set_headers: { "grpc-status" => "0" } })
    end
    assert_match(/grpc-status/, error.message)
  end

  def test_an_error_exposes_headers_and_trailers
    error = assert_raises(HmsFfi::NotFound) do
      CLIENTS["unix"].call(CONTEXT, { set_trailers: { "x-t" => "why" }, fail_code: "NOT_FOUND", fail_message: "gone" })
    end
    assert_kind_of Hash, error.headers
    assert_kind_of Hash, error.trailers
    skip SKIPS["response_trailers_with_an_error"] if SKIPS.key?("response_trailers_with_an_error")
    assert_equal "why", error.trailers["x-t"]
  end

  def test_a_token_cancels_a_call_from_another_thread
    token = HmsFfi::CancelToken.new
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    Thread.new { sleep 0.2; token.cancel }
    error = assert_raises(HmsFfi::Cancelled) { CLIENTS["unix"].call(SLEEP, { millis: 5000 }, cancel: token) }
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, :<, 3
    assert token.cancelled?
    refute_empty error.message
    assert_raises(HmsFfi::Cancelled) { CLIENTS["unix"].call(SLEEP, { millis: 1 }, cancel: token) }
    assert_equal({}, CLIENTS["unix"].call(SLEEP, { millis: 1 }))
  end

  def test_async_calls_run_together_and_can_be_cancelled
    client = CLIENTS["inproc"]
    calls = Array.new(3) { |i| client.call_async(ECHO, { unicode_text: "n#{i}" }) }
    assert_equal %w[n0 n1 n2], calls.map { |c| c.value[:unicode_text] }
    assert calls.all?(&:done?)
    slow = client.call_async(SLEEP, { millis: 5000 })
    refute slow.wait(0.1)
    slow.cancel
    assert slow.wait(3), "the cancelled call did not end"
    assert_raises(HmsFfi::Cancelled) { slow.value }
    with_md = client.call_async(CONTEXT, { set_headers: { "x-h" => "a" } }).response
    assert_equal "a", with_md.headers["x-h"]
  end

  def test_a_closed_client_fails_with_cancelled
    client = HmsFfi.connect(URIS["unix"])
    assert_equal({}, client.call(SLEEP, { millis: 1 }))
    client.close
    assert_raises(HmsFfi::Cancelled) { client.call(SLEEP, { millis: 1 }) }
  end

  def test_the_handler_sees_metadata_deadline_trace_id_and_peer
    seen = Queue.new
    server = HmsFfi::Server.new(HmsFfi::Schema.load(Vectors::PROTO))
    server.method(CONTEXT) do |_req, ctx|
      seen << [ctx.metadata, ctx.time_remaining, ctx.trace_id, ctx.peer_credentials, ctx.peer_certificate, ctx.identity]
      ctx.set_trailer("x-raw-bin", "\x00\xff".b) # a binary String: sent as binary, read as base64
      {}
    end
    thread, client = start(server, unix_uri)
    @stop = lambda { server.shutdown(grace: 1.0); thread.join(5) }
    response = client.call_with_metadata(CONTEXT, {}, timeout: 10, metadata: { "x-trace-id" => "4bf92f3577b34da6a3ce929d0e0e4736", "x-conf-k" => "v" })
    assert_equal "AP8", response.trailers["x-raw-bin"].delete("=")
    metadata, left, trace_id, cred, cert, _identity = seen.pop
    assert_equal "v", metadata["x-conf-k"]
    assert_operator left, :>, 5
    assert_equal "4bf92f3577b34da6a3ce929d0e0e4736", trace_id
    assert_equal Process.uid, cred[0]
    assert_nil cert
  end
end
