# frozen_string_literal: true

# The shared conformance vectors (tests/conformance) in Ruby: notation, comparison, the
# conformance service (with the Semantics methods, semantics.rb) served by a Ruby server. Used
# by the minitest suite and by tests/matrix/ruby/conformance.rb.

require "base64"
require "json"
require "hms_ffi"
require_relative "semantics"

module Vectors
  ROOT = File.expand_path("../..", __dir__)
  CONFORMANCE = File.join(ROOT, "tests", "conformance")
  PROTO = File.join(CONFORMANCE, "conformance.proto")
  SERVICE = "hms.conformance.v1.Conformance"
  TS = /\A(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)\z/.freeze
  DUR = /\A(-)?(\d+)(?:\.(\d{1,9}))?s\z/.freeze

  Case = Struct.new(:file, :name, :method, :request, :timeout, :expect) do
    def id
      "#{File.basename(file, '.json')}/#{name}"
    end
  end

  module_function

  def parse_timestamp(text)
    m = TS.match(text) or raise ArgumentError, text
    y, mo, d, h, mi, s, frac, zone = m.captures
    nanos = (frac || "0").ljust(9, "0").to_i
    zone = "+00:00" if zone.casecmp?("z")
    Time.new(y.to_i, mo.to_i, d.to_i, h.to_i, mi.to_i, s.to_i + Rational(nanos, 1_000_000_000), zone)
  end

  def parse_duration(text)
    m = DUR.match(text) or raise ArgumentError, text
    neg, whole, frac = m.captures
    nanos = whole.to_i * 1_000_000_000 + (frac || "0").ljust(9, "0").to_i
    Rational(neg ? -nanos : nanos, 1_000_000_000)
  end

  # Value notation (tests/conformance/README.md) -> Ruby natives, with Symbol keys.
  def notation(j)
    case j
    when Hash
      if j.size == 1 && j.keys.first.start_with?("$")
        tag, v = j.first
        return tagged(tag[1..], v)
      end
      j.to_h { |k, v| [k.to_sym, notation(v)] }
    when Array then j.map { |x| notation(x) }
    else j
    end
  end

  def tagged(tag, v)
    case tag
    when "int" then Integer(v)
    when "float" then { "nan" => Float::NAN, "inf" => Float::INFINITY, "-inf" => -Float::INFINITY }.fetch(v) { Float(v) }
    when "bytes" then Base64.strict_decode64(v).b
    when "bytes_fill" then (v["byte"].chr * v["len"]).b
    when "string_fill" then v["text"] * v["count"]
    when "timestamp" then parse_timestamp(v)
    when "duration" then parse_duration(v)
    else raise ArgumentError, "unknown notation tag $#{tag}"
    end
  end

  # nil when equal, else where they differ. Hash keys compare as text (integer map keys).
  def same(actual, expected, path = "")
    case expected
    when Hash
      return "at #{path}: got #{actual.inspect[0, 200]}, expected #{expected.inspect[0, 200]}" unless actual.is_a?(Hash) && actual.size == expected.size
      by_text = actual.to_h { |k, v| [k.to_s, v] }
      expected.each do |k, v|
        return "at #{path}: missing key #{k.inspect}" unless by_text.key?(k.to_s)
        why = same(by_text[k.to_s], v, "#{path}.#{k}")
        return why if why
      end
      nil
    when Array
      return "at #{path}: got #{actual.inspect[0, 200]}, expected #{expected.inspect[0, 200]}" unless actual.is_a?(Array) && actual.size == expected.size
      actual.zip(expected).each_with_index do |(a, e), i|
        why = same(a, e, "#{path}[#{i}]")
        return why if why
      end
      nil
    when Float
      return "at #{path}: got #{actual.inspect}, expected float #{expected}" unless actual.is_a?(Float)
      return nil if expected.nan? && actual.nan?
      actual == expected ? nil : "at #{path}: got #{actual}, expected #{expected}"
    when String
      ok = actual.is_a?(String) && actual.encoding == expected.encoding && actual.b == expected.b
      ok ? nil : "at #{path}: got #{actual.inspect[0, 80]} (#{actual.respond_to?(:encoding) && actual.encoding}), expected #{expected.inspect[0, 80]} (#{expected.encoding})"
    when Time
      ok = actual.is_a?(Time) && actual == expected && actual.utc?
      ok ? nil : "at #{path}: got #{actual.inspect}, expected #{expected.inspect} (UTC)"
    else
      ok = actual.instance_of?(expected.class) && actual == expected
      ok ? nil : "at #{path}: got #{actual.inspect}, expected #{expected.inspect}"
    end
  end

  def load_cases
    Dir[File.join(CONFORMANCE, "vectors", "*.json")].sort.flat_map do |f|
      JSON.parse(File.read(f))["cases"].map do |c|
        Case.new(f, c["name"], c["method"], notation(c["request"]), c.fetch("timeout_ms", 30_000) / 1000.0, c["expect"])
      end
    end
  end

  # Runs one case as a client; returns nil when it passes, else why it failed.
  def check(kase, client)
    begin
      reply = client.call(kase.method, kase.request, timeout: kase.timeout)
    rescue HmsFfi::Error => e
      exp = kase.expect["error"] or return "expected a reply, got #{e.class}: #{e.message}"
      return check_error(e, exp)
    end
    return "expected #{kase.expect['error']['code']}, got reply #{reply.inspect[0, 300]}" unless kase.expect.key?("reply")

    same(reply, notation(kase.expect["reply"]))
  end

  # Compares an error with a case's expected one; nil when it matches, else why not.
  def check_error(err, exp)
    code = exp["code"].downcase.to_sym
    return "expected #{code}, got #{err.code}: #{err.message}" unless err.code == code
    return "expected a #{HmsFfi::ERROR_CLASSES[HmsFfi::CODES[code]]}, got #{err.class}" unless err.instance_of?(HmsFfi::ERROR_CLASSES[HmsFfi::CODES[code]])
    return "message #{err.message.inspect} lacks #{exp['message_contains'].inspect}" if exp["message_contains"] && !err.message.include?(exp["message_contains"])

    if exp["violations"]
      got = err.field_violations.map { |v| v[:field] }.uniq.sort
      return "violations #{got} != #{exp['violations'].uniq.sort}" unless got == exp["violations"].uniq.sort
    end
    nil
  end

  # Waits `millis`, or raises HmsFfi::Cancelled (with `why`) once the call is cancelled.
  def pause(ctx, millis, why)
    finish = Process.clock_gettime(Process::CLOCK_MONOTONIC) + millis / 1000.0
    loop do
      left = finish - Process.clock_gettime(Process::CLOCK_MONOTONIC)
      break if left <= 0
      raise HmsFfi::Cancelled, why if ctx.cancelled?

      sleep [0.005, left].min
    end
  end

  # The conformance service in Ruby, as every binding serves it.
  def conformance_server(**options)
    server = HmsFfi::Server.new(HmsFfi::Schema.load(PROTO), **options)
    server.method("#{SERVICE}/Echo") { |req, _ctx| req }
    server.method("#{SERVICE}/EchoScalars") { |req, _ctx| req }
    server.method("#{SERVICE}/Fail") do |req, _ctx|
      number = HmsFfi::CODES.fetch(req[:code].downcase.to_sym, HmsFfi::CODES[:unknown])
      violations = req[:violation_paths].map { |p| [p, "rejected by the handler"] }
      info = { error_info: { reason: req[:reason], domain: "conformance.example", metadata: { "case" => req[:reason] } } }
      raise HmsFfi::ERROR_CLASSES.fetch(number).new(req[:message], field_violations: violations,
                                                                   details: req[:reason].empty? ? nil : info)
    end
    server.method("#{SERVICE}/Sleep") do |req, ctx|
      pause(ctx, req[:millis], "sleep cancelled")
      {}
    end
    Semantics.serve_on(server)
    StreamVectors.serve_on(server)
    server
  end
end

require_relative "stream_vectors"
