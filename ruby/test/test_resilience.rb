# frozen_string_literal: true

# Client resilience and the admin listener from Ruby (issues 23 and 20): the core reconnects,
# retries by a gRPC service config (idempotent methods only) and balances endpoints; Ruby only
# passes the options (`HmsFfi.connect(uri, resilience: ...)`). Server#admin serves /metrics,
# /healthz, the monitoring page and its /api/stats.

require "net/http"
require_relative "test_helper"

class ResilienceTest < Minitest::Test
  include Served

  PROTO = <<~PROTO
    syntax = "proto3";
    package %s;
    message Req { string id = 1; int32 fail_first = 2; }
    message Rep { string id = 1; int32 previous = 2; string server = 3; }
    service Counter {
      rpc Get(Req) returns (Rep) { option idempotency_level = IDEMPOTENT; }
      rpc Add(Req) returns (Rep);
    }
  PROTO
  RETRY = {
    serviceConfig: {
      methodConfig: [{
        name: [{ service: "rbres.v1.Counter" }],
        retryPolicy: { maxAttempts: 3, initialBackoff: "0.01s", maxBackoff: "0.05s",
                       backoffMultiplier: 2, retryableStatusCodes: ["UNAVAILABLE"] }
      }]
    }
  }.freeze

  # The Counter of package `pkg` served as `name` on `uri` by a Ruby thread; its methods fail
  # the first `fail_first` runs of each id with HmsFfi::Unavailable. Returns [server, thread].
  def counter(name, uri, runs, pkg: "rbres.v1", service_config: nil)
    schema = HmsFfi::Schema.from_source("res.proto", format(PROTO, pkg))
    server = HmsFfi::Server.new(schema, service_config: service_config)
    counted = lambda do |req, ctx|
      runs[req[:id]] += 1
      raise HmsFfi::Unavailable, "run #{runs[req[:id]]} fails" if runs[req[:id]] <= req[:fail_first].to_i

      { id: req[:id], previous: ctx.metadata.fetch("grpc-previous-rpc-attempts", "0").to_i, server: name }
    end
    server.method("#{pkg}.Counter/Get", &counted)
    server.method("#{pkg}.Counter/Add", &counted)
    server.listen(uri)
    [server, Thread.new { server.serve }]
  end

  def stop(server, thread)
    server.shutdown(grace: 0.0)
    thread.join(10)
  end

  def test_a_service_config_retries_idempotent_methods_only
    runs = Hash.new(0)
    uri = unix_uri("p.sock")
    served = counter("one", uri, runs)
    client = HmsFfi.connect(uri, resilience: RETRY)
    reply = client.call("rbres.v1.Counter/Get", { id: "g", fail_first: 2 }, timeout: 5)
    assert_equal [3, 2], [runs["g"], reply[:previous]]
    assert_raises(HmsFfi::Unavailable) { client.call("rbres.v1.Counter/Add", { id: "a", fail_first: 1 }, timeout: 5) }
    assert_equal 1, runs["a"]
    assert_raises(HmsFfi::InvalidArgument) { HmsFfi.connect(uri, resilience: { serviceConfig: { methodConfg: [] } }) }
    assert_raises(HmsFfi::InvalidArgument) { HmsFfi.connect(uri, resilience: '{"backoff": ') }
    assert_raises(HmsFfi::InvalidArgument) { HmsFfi.connect(uri, resilience: { keepalive: { interval: Float::NAN } }) }
  ensure
    stop(*served) if served
  end

  def test_a_served_service_config_retries_for_a_client_given_none
    runs = Hash.new(0)
    uri = unix_uri("served.sock")
    served = counter("one", uri, runs, service_config: RETRY[:serviceConfig])
    reply = HmsFfi.connect(uri).call("rbres.v1.Counter/Get", { id: "s", fail_first: 1 }, timeout: 5)
    assert_equal [2, 1], [runs["s"], reply[:previous]]
    # A config given at connect wins: this one has no retry policy.
    own = { serviceConfig: { methodConfig: [{ name: [{}], timeout: "5s" }] } }
    plain = HmsFfi.connect(uri, resilience: own)
    assert_raises(HmsFfi::Unavailable) { plain.call("rbres.v1.Counter/Get", { id: "o", fail_first: 1 }, timeout: 5) }
    assert_equal 1, runs["o"]
    schema = HmsFfi::Schema.from_source("res.proto", format(PROTO, "rbres.v1"))
    bad = { methodConfig: [{ name: [{}], retryPolicy: { maxAttempts: 1 } }] }
    [bad, '{"methodConfig": ', { x: Float::NAN }].each do |config|
      assert_raises(HmsFfi::InvalidArgument) { HmsFfi::Server.new(schema, service_config: config) }
    end
  ensure
    stop(*served) if served
  end

  def test_a_client_reconnects_and_waits_for_ready
    runs = Hash.new(0)
    uri = unix_uri("r.sock")
    first = counter("one", uri, runs)
    fast = '{"backoff": {"initial": "0.02s", "max": "0.1s", "minConnectTimeout": "1s"}, "waitForReady": true}'
    client = HmsFfi.connect(uri, resilience: fast)
    assert_equal "ready", client.state
    stop(*first)
    second = nil
    later = Thread.new do
      sleep 0.2
      second = counter("two", uri, runs)
    end
    # Every call waits for a connection ("waitForReady": true) instead of failing at once.
    assert_equal "two", client.call("rbres.v1.Counter/Add", { id: "c" }, timeout: 5)[:server]
    later.join(10)
    assert_equal [HmsFfi::EndpointStatus.new(uri, "ready", false, uri)], client.endpoints
    client.close
    assert_equal "shutdown", client.state
  ensure
    stop(*second) if second
  end

  # Per call (issue 23): without wait_for_ready a call fails Unavailable at once while there is
  # no server; with it, it waits for the server started later, or until its deadline.
  def test_a_call_waits_for_ready_when_it_asks_to
    runs = Hash.new(0)
    uri = unix_uri("w.sock")
    first = counter("one", uri, runs)
    fast = '{"backoff": {"initial": "0.02s", "max": "0.1s", "minConnectTimeout": "1s"}}'
    client = HmsFfi.connect(uri, resilience: fast)
    stop(*first)
    assert_raises(HmsFfi::Unavailable) { client.call("rbres.v1.Counter/Add", { id: "f" }, timeout: 10) }
    assert_raises(HmsFfi::InvalidArgument) { client.call("rbres.v1.Counter/Add", { id: "f" }, wait_for_ready: "yes") }
    second = nil
    later = Thread.new do
      sleep 0.3
      second = counter("two", uri, runs)
    end
    reply = client.call("rbres.v1.Counter/Add", { id: "w" }, timeout: 10, wait_for_ready: true)
    assert_equal "two", reply[:server]
    later.join(10)
    stop(*second)
    second = nil
    # Once the client saw its connection go (a call written to it just before could not know).
    500.times { break unless client.state == "ready"; sleep 0.01 }
    assert_raises(HmsFfi::DeadlineExceeded) do
      client.call("rbres.v1.Counter/Add", { id: "d" }, timeout: 0.3, wait_for_ready: true)
    end
  ensure
    stop(*second) if second
  end

  def test_several_endpoints_are_balanced_round_robin
    runs = Hash.new(0)
    uris = [unix_uri("a.sock"), unix_uri("b.sock")]
    served = [counter("one", uris[0], runs), counter("two", uris[1], runs)]
    client = HmsFfi.connect(uris, resilience: { loadBalancing: "round_robin" })
    seen = (0...6).map { |i| client.call("rbres.v1.Counter/Get", { id: "rr#{i}" }, timeout: 5)[:server] }
    assert_equal %w[one two], seen.uniq.sort
    assert_equal uris, client.endpoints.map(&:uri)
  ensure
    served&.each { |s| stop(*s) }
  end

  PEEK_PROTO = <<~PROTO
    syntax = "proto3";
    package rbpeek.v1;
    message Req { bool detach = 1; }
    message Rep { double left = 1; bool has_deadline = 2; string trace_id = 3; }
    service Peek { rpc Peek(Req) returns (Rep); rpc Relay(Req) returns (Rep); }
  PROTO

  # A call a block makes inherits its call's deadline and trace (the serving thread carries
  # them), unless it is detached: here Relay calls Peek on another server of this process.
  def test_a_blocks_call_inherits_its_deadline_and_trace
    schema = HmsFfi::Schema.from_source("peek.proto", PEEK_PROTO)
    inner = HmsFfi::Server.new(schema)
    inner.method("rbpeek.v1.Peek/Peek") do |_req, ctx|
      { left: ctx.time_remaining || -1.0, has_deadline: !ctx.deadline.nil?, trace_id: ctx.trace_id }
    end
    inner_uri = inner.listen(unix_uri("peek-inner.sock"))
    outer = HmsFfi::Server.new(schema)
    outer.method("rbpeek.v1.Peek/Relay") do |req, ctx|
      reply = HmsFfi.connect(inner_uri).call("rbpeek.v1.Peek/Peek", {}, detach: req[:detach])
      reply.merge(trace_id: reply[:trace_id] == ctx.trace_id ? "same" : "other")
    end
    outer_uri = outer.listen(unix_uri("peek-outer.sock"))
    threads = [Thread.new { inner.serve }, Thread.new { outer.serve }]
    client = HmsFfi.connect(outer_uri)
    got = client.call("rbpeek.v1.Peek/Relay", {}, timeout: 2)
    assert got[:has_deadline], got.inspect
    assert_operator got[:left], :<=, 2.0
    assert_operator got[:left], :>, 0.5
    assert_equal "same", got[:trace_id]
    detached = client.call("rbpeek.v1.Peek/Relay", { detach: true }, timeout: 2)
    refute detached[:has_deadline], detached.inspect
  ensure
    [inner, outer].each { |s| s&.shutdown(grace: 0.0) }
    threads&.each { |t| t.join(10) }
  end

  def test_server_admin_serves_metrics_health_and_the_page
    runs = Hash.new(0)
    uri = unix_uri("m.sock")
    served = counter("one", uri, runs, pkg: "rbadmin.v1")
    admin = served[0].admin("http://127.0.0.1:0")
    assert_match(%r{\Ahttp://127\.0\.0\.1:\d+\z}, admin)
    assert_raises(HmsFfi::InvalidArgument) { served[0].admin("ftp://nowhere") }
    client = HmsFfi.connect(uri)
    get = "rbadmin.v1.Counter/Get"
    3.times { |i| client.call(get, { id: "m#{i}" }, timeout: 5) }
    assert_raises(HmsFfi::Unavailable) { client.call(get, { id: "bad", fail_first: 1 }, timeout: 5) }
    fetch = ->(path) { Net::HTTP.get_response(URI("#{admin}#{path}")) }
    metrics = fetch.call("/metrics")
    assert_equal "200", metrics.code
    assert_includes metrics.body, %(grpc_server_call_started_total{grpc_method="#{get}",hms_transport="unix"} 4)
    assert_equal "ok\n", fetch.call("/healthz").body
    assert_includes fetch.call("/").body, "<title>hms-ffi monitor</title>"
    stats = JSON.parse(fetch.call("/api/stats").body)
    row = stats["methods"].find { |r| r["method"] == get && r["side"] == "server" }
    assert_equal [4, 3, 1], [row["started"], row["finished"]["OK"], row["finished"]["UNAVAILABLE"]]
  ensure
    stop(*served) if served
  end
end
