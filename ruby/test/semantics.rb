# frozen_string_literal: true

# The call-semantics cases (tests/conformance/semantics) in Ruby: the Semantics service a Ruby
# conformance server adds, and the client that runs every case of semantics/calls.json. Used by
# the minitest suite and by tests/matrix/ruby/conformance.rb.

require "json"
require "hms_ffi"

module Semantics
  DIR = File.join(File.expand_path("../..", __dir__), "tests", "conformance", "semantics")
  SERVICE = "hms.conformance.v1.Semantics"
  FAIL = "hms.conformance.v1.Conformance/Fail"

  module_function

  def cases
    JSON.parse(File.read(File.join(DIR, "calls.json")))["cases"]
  end

  # The cases Ruby skips in `role` ("client" or "server"), with their written reasons.
  def skips(role)
    JSON.parse(File.read(File.join(DIR, "skips.json"))).dig("ruby", role) || {}
  end

  # `[[…[]…]]`: an empty list inside `n` lists, built without recursion.
  def nest_list(n)
    v = []
    n.times { v = [v] }
    v
  end

  # A case's request as Ruby values: Symbol keys, `"$self"` as `uri`, `{"$nest_list": N}` built.
  def request(j, uri)
    case j
    when Hash
      return nest_list(j["$nest_list"]) if j.size == 1 && j.key?("$nest_list")

      j.to_h { |k, v| [k.to_sym, request(v, uri)] }
    when Array then j.map { |x| request(x, uri) }
    when "$self" then uri
    else j
    end
  end

  # The Semantics methods, added to a conformance server, and the revision conformance-rev
  # (tests/conformance/revision.proto), whose Echo fails with ABORTED.
  def serve_on(server)
    server.method("#{SERVICE}/Context") { |req, ctx| context(req, ctx) }
    server.add_revision("conformance-rev", HmsFfi::Schema.load(File.join(DIR, "..", "revision.proto")))
    server.method("hms.conformance.v1.Conformance/Echo", revision: "conformance-rev") do |req, _ctx|
      raise HmsFfi::Aborted, "revision #{req[:unicode_text]}"
    end
    server.method("#{SERVICE}/Relay") do |req, _ctx|
      client = HmsFfi.connect(req[:target])
      begin
        client.call(FAIL, req[:fail]) # its error is raised again, unchanged
      ensure
        client.close
      end
      {}
    end
  end

  def context(req, ctx)
    req[:set_headers].each { |k, v| ctx.set_header(k.to_s, v) }
    req[:set_trailers].each { |k, v| ctx.set_trailer(k.to_s, v) }
    unless req[:fail_code].empty?
      number = HmsFfi::CODES.fetch(req[:fail_code].downcase.to_sym, HmsFfi::CODES[:unknown])
      raise HmsFfi::ERROR_CLASSES.fetch(number), req[:fail_message]
    end
    return { nested: nest_list(req[:nest_reply]) } if req[:nest_reply].positive?

    {
      method: ctx.method_name,
      metadata: ctx.metadata.select { |k, _| k.start_with?("x-conf-") },
      has_deadline: !ctx.deadline.nil?,
      has_trace_id: !ctx.trace_id.empty?
    }
  end

  # Runs one case against the server at `uri` through `client`; nil when it passes, else why.
  def check(kase, client, uri)
    if kase["client"] == "closed"
      client = HmsFfi.connect(uri)
      client.close
    end
    token = HmsFfi::CancelToken.new
    canceller = kase["cancel_after_ms"] && Thread.new do
      sleep kase["cancel_after_ms"] / 1000.0
      token.cancel
    end
    begin
      response = client.call_with_metadata(
        kase["method"], request(kase["request"], uri),
        timeout: kase["timeout_ms"]&./(1000.0), metadata: kase["metadata"] || {}, cancel: token
      )
    rescue HmsFfi::Error => e
      return failed(kase["expect"], e)
    ensure
      canceller&.kill
    end
    expect = kase["expect"]
    return "expected #{expect['error']['code']}, got reply #{response.reply.inspect[0, 300]}" unless expect.key?("reply")

    Vectors.same(response.reply, Vectors.notation(expect["reply"])) ||
      present(response.headers, expect["headers"], "header") ||
      present(response.trailers, expect["trailers"], "trailer")
  end

  def failed(expect, e)
    exp = expect["error"] or return "expected a reply, got #{e.class}: #{e.message}"
    code = exp["code"].downcase.to_sym
    return "expected #{code}, got #{e.code}: #{e.message}" unless e.code == code
    return "message #{e.message.inspect} lacks #{exp['message_contains'].inspect}" if exp["message_contains"] && !e.message.include?(exp["message_contains"])
    if exp["violations"]
      got = e.field_violations.map { |v| v[:field] }.uniq.sort
      return "violations #{got} != #{exp['violations'].uniq.sort}" unless got == exp["violations"].uniq.sort
    end
    return "reason #{e.reason.inspect}, expected #{exp['reason'].inspect}" if exp["reason"] && e.reason != exp["reason"]

    (exp["origin"] || {}).each do |k, v|
      got = e.origin&.[](k.to_sym)
      return "origin #{k} #{got.inspect}, expected #{v.inspect} (origin #{e.origin.inspect})" unless got == v
    end
    present(e.headers, expect["headers"], "header") || present(e.trailers, expect["trailers"], "trailer")
  end

  # nil when every expected entry is in `got`, else which is not.
  def present(got, expected, what)
    (expected || {}).each do |k, v|
      return "#{what} #{k}: got #{got[k].inspect}, expected #{v.inspect} (all: #{got.inspect})" unless got[k] == v
    end
    nil
  end

  # Runs every case (skipping this language's written client skips); prints `FAIL name: why`
  # and `SKIP name: reason`; returns [passed, failed, skipped].
  def run_all(client, uri, out: $stdout)
    skips = skips("client")
    counts = [0, 0, 0]
    cases.each do |kase|
      if (reason = skips[kase["name"]])
        counts[2] += 1
        out.puts "SKIP #{kase['name']}: #{reason}"
      elsif (why = check(kase, client, uri))
        counts[1] += 1
        out.puts "FAIL #{kase['name']}: #{why}"
      else
        counts[0] += 1
      end
    end
    counts
  end
end
