# frozen_string_literal: true

# Streams in Ruby: every streaming vector, Ruby client -> Ruby server over inproc and unix, and
# the idioms: Enumerables both ways, a block leaving #each early, a CancelToken, #result, and
# headers sent ahead of the first reply (ctx.send_headers).

require_relative "test_helper"
require "timeout"

class StreamsTest < Minitest::Test
  SERVICE = StreamVectors::SERVICE
  CASES = StreamVectors.load_cases
  SERVER, URIS = Served.conformance_on_both("streams", threads: 4)
  CLIENTS = URIS.transform_values { |uri| HmsFfi.connect(uri) }

  def test_all_cases_loaded
    assert_operator CASES.size, :>=, 16
  end

  CASES.each do |kase|
    CLIENTS.each_key do |transport|
      define_method("test_#{transport}_#{kase.name}") do
        why = Timeout.timeout(60) { StreamVectors.check(kase, CLIENTS.fetch(transport)) }
        assert_nil why, "#{kase.id} over #{transport}: #{why}"
      end
    end
  end

  def client
    CLIENTS.fetch("inproc")
  end

  def test_leaving_each_early_cancels_the_call_and_the_handler_sees_it
    slow = { counts: { "repeat" => 1000, "sleep_ms" => 20 } }
    got = client.stream("#{SERVICE}/ServerStream", slow, timeout: 30).each_with_index.map { |r, i| break r if i == 1 }
    assert_equal 1, got[:weight_mg]
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 5
    sleep 0.01 while SERVER.inflight.positive? && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
    assert_equal 0, SERVER.inflight, "the handler still runs after the caller left"
  end

  def test_a_cancel_token_ends_a_stream_from_another_thread
    token = HmsFfi::CancelToken.new
    slow = { counts: { "repeat" => 1000, "sleep_ms" => 20 } }
    stream = client.stream("#{SERVICE}/ServerStream", slow, cancel: token, timeout: 30)
    Thread.new { sleep 0.1; token.cancel }
    assert_raises(HmsFfi::Cancelled) { Timeout.timeout(10) { stream.each { nil } } }
  end

  def test_send_by_hand_then_result
    stream = client.stream("#{SERVICE}/ClientStream", timeout: 10)
    5.times { |i| stream << { unicode_text: "r#{i}" } }
    stream.close_send
    reply = stream.result
    assert_equal ["r4", 5], [reply[:unicode_text], reply[:weight_mg]]
    assert_raises(HmsFfi::FailedPrecondition) { stream << {} }
  end

  def test_requests_from_a_lazy_enumerator_and_replies_as_an_enumerator
    requests = (1..50).lazy.map { |i| { unicode_text: "n#{i}" } }
    replies = client.stream("#{SERVICE}/Bidi", requests, timeout: 10).map { |r| r[:weight_mg] }
    assert_equal (0...50).to_a, replies
  end

  def test_a_handler_returning_one_hash_where_replies_are_due_fails_typed
    server = HmsFfi::Server.new(HmsFfi::Schema.load(Vectors::PROTO))
    server.method("#{SERVICE}/ServerStream") { |_req, _ctx| { unicode_text: "not a stream" } }
    uri = server.listen("inproc://rb-streams-one-#{Process.pid}")
    serving = Thread.new { server.serve }
    err = assert_raises(HmsFfi::Internal) { HmsFfi.connect(uri).stream("#{SERVICE}/ServerStream", {}, timeout: 10).to_a }
    assert_match(/returns its replies/, err.message)
  ensure
    server&.shutdown(grace: 0.5)
    serving&.join(5)
  end

  def test_a_stream_handler_sends_its_headers_before_any_reply
    seen = Queue.new
    late = []
    server = HmsFfi::Server.new(HmsFfi::Schema.load(Vectors::PROTO))
    server.method("#{SERVICE}/ServerStream") do |req, ctx|
      ctx.set_header("x-early", "yes")
      ctx.send_headers
      ctx.send_headers
      begin
        ctx.set_header("x-late", "1")
      rescue HmsFfi::FailedPrecondition => e
        late << e
      end
      # Until the caller has seen the headers (or 10 s): nothing else can carry them.
      until_seen = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 10
      sleep 0.005 while seen.empty? && Process.clock_gettime(Process::CLOCK_MONOTONIC) < until_seen
      [{ unicode_text: req[:unicode_text] }]
    end
    uri = server.listen("inproc://rb-streams-early-#{Process.pid}")
    serving = Thread.new { server.serve }
    stream = HmsFfi.connect(uri).stream("#{SERVICE}/ServerStream", { unicode_text: "a" }, timeout: 20)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 5
    sleep 0.005 while stream.headers.nil? && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
    refute_nil stream.headers, "no headers before a reply"
    assert_equal "yes", stream.headers["x-early"]
    refute stream.headers.key?("x-late")
    seen << true
    assert_equal ["a"], Timeout.timeout(10) { stream.map { |r| r[:unicode_text] } }
    assert_equal 1, late.size
  ensure
    server&.shutdown(grace: 0.5)
    serving&.join(5)
  end
end
