# frozen_string_literal: true

# The streaming conformance vectors (tests/conformance/streams) in Ruby: the server's streaming
# methods as tests/conformance/README.md ("Streaming") specifies them, and a client that runs
# each case. Used by test_streams.rb and by the matrix.

module StreamVectors
  FILE = File.join(Vectors::CONFORMANCE, "streams", "streams.json")
  SERVICE = Vectors::SERVICE

  Case = Struct.new(:name, :method, :requests, :timeout, :cancel_after, :expect) do
    def id
      "streams/#{name}"
    end
  end

  module_function

  def aborted(sent)
    HmsFfi::Aborted.new("failed after #{sent} replies")
  end

  # A request's map<string, int64> counts, by String key.
  def counts(req)
    req[:counts].transform_keys(&:to_s)
  end

  # ServerStream, ClientStream and Bidi on `server`.
  def serve_on(server)
    server.method("#{SERVICE}/ServerStream") do |req, ctx|
      counts = counts(req)
      Enumerator.new do |y|
        counts.fetch("repeat", 3).times do |i|
          raise aborted(i) if counts.key?("fail_after") && i == counts["fail_after"]

          Vectors.pause(ctx, counts.fetch("sleep_ms", 0), "cancelled while streaming")
          y << req.merge(weight_mg: i)
        end
      end
    end
    server.method("#{SERVICE}/ClientStream") do |requests, _ctx|
      last = {}
      n = 0
      requests.each do |r|
        last = r
        n += 1
      end
      last.merge(weight_mg: n)
    end
    server.method("#{SERVICE}/Bidi") do |requests, _ctx|
      Enumerator.new do |y|
        requests.each_with_index do |r, i|
          raise aborted(i) if counts(r).key?("fail")

          y << r.merge(weight_mg: i)
        end
      end
    end
  end

  def load_cases
    JSON.parse(File.read(FILE))["cases"].map do |c|
      Case.new(c["name"], c["method"], c["requests"].map { |r| Vectors.notation(r) },
               c.fetch("timeout_ms", 30_000) / 1000.0, c["cancel_after_replies"], c["expect"])
    end
  end

  # Whether the server streams (a binding without streams answers UNIMPLEMENTED).
  def server_streams?(client)
    client.stream("#{SERVICE}/ServerStream", { counts: { "repeat" => 0 } }, timeout: 10).to_a
    true
  rescue HmsFfi::Unimplemented
    false
  end

  # Runs one case as a client; nil when it passes, else why it failed.
  def check(kase, client)
    sent = kase.method.end_with?("/ServerStream") ? kase.requests.first : kase.requests
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    stream = client.stream(kase.method, sent, timeout: kase.timeout)
    replies = []
    error = nil
    begin
      stream.each do |reply|
        replies << reply
        stream.cancel if replies.size == kase.cancel_after
      end
    rescue HmsFfi::Error => e
      error = e
    end
    outcome(kase, replies, error, Process.clock_gettime(Process::CLOCK_MONOTONIC) - started)
  end

  def outcome(kase, replies, error, took)
    exp = kase.expect
    if exp["error"]
      return "expected #{exp['error']['code']}, the stream ended with #{replies.size} replies" unless error

      why = Vectors.check_error(error, exp["error"]) and return why
    elsif error
      return "expected the stream to end, got #{error.class}: #{error.message}"
    end
    return "a cancelled stream did not end promptly" if kase.cancel_after && took > 5
    return "#{replies.size} replies, expected #{exp['count']}" if exp["count"] && replies.size != exp["count"]

    if exp["replies"]
      return "#{replies.size} replies, expected #{exp['replies'].size}" unless replies.size == exp["replies"].size

      exp["replies"].each_with_index do |want, i|
        why = Vectors.same(replies[i], Vectors.notation(want), "[#{i}]") and return why
      end
    end
    nil
  end

  # Every case against `client`: [passed, failed, skipped], printing FAIL lines, or one SKIP
  # line when the server does not stream.
  def run_all(client)
    cases = load_cases
    unless server_streams?(client)
      puts "SKIP streams: the server answers UNIMPLEMENTED (its binding does not stream yet); #{cases.size} cases"
      return [0, 0, cases.size]
    end
    failed = 0
    cases.each do |kase|
      why = check(kase, client) or next
      failed += 1
      puts "FAIL #{kase.id}: #{why}"
    end
    [cases.size - failed, failed, 0]
  end
end
