# frozen_string_literal: true

# Batched calls (HmsFfi::Client#batch): one entry per call in order, a failed call's typed
# error as a value while the others succeed, one deadline for the whole batch, cancellation by
# token, and the oversized batch refused whole. The rules are the core's
# (docs/messaging.md, "Batched calls").

require_relative "test_helper"

class TestBatch < Minitest::Test
  include Served

  # The conformance server over unix, served by several Ruby threads (a sleeping handler must
  # not hold up the batch's other calls), stopped after the test.
  def setup
    @server = Vectors.conformance_server
    @server.listen(unix_uri("batch.sock"))
    @serving = Thread.new { @server.serve(threads: 4) }
    @client = HmsFfi.connect(unix_uri("batch.sock"))
    @stop = lambda do
      @client.close
      @server.shutdown(grace: 1.0)
      @serving.join(5)
    end
  end

  def test_entries_in_order_with_a_failed_call_typed
    calls = (0...50).map { |i| [SCALARS, { int32_v: i }] }
    calls[5] = ["#{SERVICE}/Fail", { code: "NOT_FOUND", message: "gone" }]
    calls[6] = ["#{SERVICE}/Nope", {}]
    calls[7] = [SCALARS, { int32_v: "seven" }]
    entries = @client.batch(calls, timeout: 20)
    assert_equal 50, entries.size
    assert_kind_of HmsFfi::NotFound, entries[5]
    assert_equal "gone", entries[5].message
    assert_kind_of HmsFfi::Unimplemented, entries[6]
    assert_kind_of HmsFfi::InvalidArgument, entries[7]
    entries.each_with_index do |e, i|
      next if (5..7).cover?(i)

      assert_equal i, e[:int32_v], "entry #{i}: #{e.inspect}"
    end
    assert_equal [], @client.batch([])
  end

  def test_one_deadline_for_the_whole_batch
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    entries = @client.batch([[SLEEP, { millis: 5000 }], [SCALARS, { int32_v: 1 }]], timeout: 0.3)
    assert_kind_of HmsFfi::DeadlineExceeded, entries[0]
    assert_equal 1, entries[1][:int32_v]
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, :<, 4
  end

  def test_a_cancel_token_ends_every_call_not_finished
    token = HmsFfi::CancelToken.new
    canceller = Thread.new { sleep 0.2; token.cancel }
    entries = @client.batch([[SCALARS, { int32_v: 1 }], [SLEEP, { millis: 10_000 }]], timeout: 15, cancel: token)
    canceller.join(5)
    assert_equal 1, entries[0][:int32_v]
    assert_kind_of HmsFfi::Cancelled, entries[1]
  end

  def test_an_oversized_batch_is_refused_whole
    calls = Array.new(100_001) { [SCALARS, {}] }
    err = assert_raises(HmsFfi::InvalidArgument) { @client.batch(calls) }
    assert_match(/at most/, err.message)
  end

  # A request the Ruby walk refuses (nested past the limit here) is still one of the batch's
  # calls: with 100 000 sendable calls it makes 100 001, refused whole before anything is sent
  # (when the refused call was left out of the count, the other 100 000 went out).
  def test_a_refused_request_counts_towards_the_limit
    calls = Array.new(100_000) { [SCALARS, {}] }
    calls.insert(50_000, [SCALARS, { string_v: nested(300) }])
    err = assert_raises(HmsFfi::InvalidArgument) { @client.batch(calls) }
    assert_match(/this one has 100001/, err.message)
  end

  def test_a_refused_request_keeps_its_place_and_its_path
    calls = [[SCALARS, { int32_v: 1 }], [SCALARS, { string_v: nested(300) }], [SCALARS, { int32_v: 3 }]]
    entries = @client.batch(calls, timeout: 20)
    assert_equal 1, entries[0][:int32_v]
    assert_kind_of HmsFfi::ResourceExhausted, entries[1]
    assert_match(/\Astring_v\[0\]\[0\]/, entries[1].field_violations[0][:field])
    assert_equal 3, entries[2][:int32_v]
  end

  private

  # An empty Array inside `depth` Arrays.
  def nested(depth)
    (1..depth).reduce([]) { |inner, _| [inner] }
  end
end
