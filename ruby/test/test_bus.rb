# frozen_string_literal: true

# Publish/subscribe from Ruby (HmsFfi::Bus, docs/messaging.md): typed topics, wildcards, queue
# groups, drop counting, close from another thread and the block form, in one process and over
# a nats-server of the test's own (skipped, saying so, only when nats-server is not installed:
# scripts/install-nats.sh), with an event a Python process publishes. The rules are the core's.

require_relative "test_helper"
require_relative "nats_server"
require "hms_ffi"
require "timeout"

class TestBus < Minitest::Test
  include NatsServer

  ROOT = File.expand_path("../..", __dir__)
  PYTHON = File.join(ROOT, "target/py-venv/bin/python")
  PROTO = <<~PROTO
    syntax = "proto3"; package shop.v1;
    message OrderPlaced { string id = 1; int64 cents = 2; }
    message Refund { string id = 1; bool full = 2; }
  PROTO

  def schema
    HmsFfi::Schema.from_source("shop.proto", PROTO)
  end

  def declared(bus)
    bus.declare("orders.>", "shop.v1.OrderPlaced").declare("refunds.*", "shop.v1.Refund")
  end

  # Events until none comes within `wait` seconds.
  def collect(sub, wait = 0.2)
    out = []
    while (event = sub.next(timeout: wait))
      out << event
    end
    out
  end

  def test_wildcards_and_queue_groups_in_process
    bus = declared(HmsFfi::Bus.new(schema))
    one = bus.subscribe("orders.*")
    q1 = bus.subscribe("orders.>", queue: "w")
    q2 = bus.subscribe("orders.>", queue: "w")
    10.times { |i| bus.publish(i.odd? ? "orders.eu" : "orders.eu.paris", { id: i.to_s, cents: i }) }
    assert_equal %w[1 3 5 7 9], collect(one).map { |_, m| m[:id] }
    n1 = collect(q1).size
    n2 = collect(q2).size
    assert_equal [10, true, true], [n1 + n2, n1.positive?, n2.positive?]
    [one, q1, q2].each(&:close)
  end

  def test_bad_topic_undeclared_topic_and_wrong_field_are_typed_errors
    bus = declared(HmsFfi::Bus.new(schema))
    e = assert_raises(HmsFfi::InvalidArgument) { bus.publish("orders.*", { id: "x" }) }
    assert_equal "BAD_TOPIC", e.reason
    e = assert_raises(HmsFfi::NotFound) { bus.publish("invoices.eu", { id: "x" }) }
    assert_equal "UNDECLARED_TOPIC", e.reason
    e = assert_raises(HmsFfi::InvalidArgument) { bus.publish("orders.eu", { cents: "ten" }) }
    assert_equal "cents", e.field_violations.first[:field]
    assert_raises(HmsFfi::NotFound) { bus.declare("x.*", "shop.v1.Nope") }
    assert_raises(HmsFfi::InvalidArgument) { bus.subscribe("orders..eu") }
  end

  def test_a_slow_subscriber_drops_and_counts_and_close_ends_a_waiting_next
    bus = declared(HmsFfi::Bus.new(schema))
    slow = bus.subscribe("orders.>", pending: 2)
    5.times { |i| bus.publish("orders.eu", { id: i.to_s }) }
    assert_equal 3, slow.dropped
    assert_equal 2, collect(slow).size
    slow.close
    sub = bus.subscribe("orders.>")
    bus.publish("orders.n1", { id: "a" })
    seen = []
    reader = Thread.new { sub.each { |topic, message| seen << "#{topic}:#{message[:id]}" } }
    sleep 0.2
    sub.close
    assert reader.join(5), "close ended #each"
    assert_equal ["orders.n1:a"], seen
    assert sub.closed?
    assert_nil sub.next
  end

  def test_a_ruby_interrupt_ends_a_waiting_next
    bus = declared(HmsFfi::Bus.new(schema))
    sub = bus.subscribe("orders.>")
    waiter = Thread.new { sub.next }
    sleep 0.2
    waiter.raise(RuntimeError, "stop waiting")
    e = assert_raises(RuntimeError) { Timeout.timeout(5) { waiter.join } }
    assert_equal "stop waiting", e.message
    bus.publish("orders.eu", { id: "after" })
    assert_equal "after", sub.next(timeout: 5)[1][:id], "still subscribed"
    sub.close
  end

  def test_the_block_form_runs_on_a_thread_and_reports_errors
    bus = declared(HmsFfi::Bus.new(schema))
    got = Queue.new
    errors = []
    sub = bus.subscribe("refunds.*", on_error: ->(e) { errors << e.message }) do |topic, message|
      raise "block failed" if message[:id] == "bad"

      got << "#{topic}:#{message[:id]}:#{message[:full]}"
    end
    bus.publish("refunds.eu", { id: "r1", full: true })
    bus.publish("refunds.eu", { id: "bad" })
    bus.publish("refunds.us", { id: "r2" })
    received = Timeout.timeout(5) { [got.pop, got.pop] }
    sub.close
    assert_equal ["refunds.eu:r1:true", "refunds.us:r2:false"], received
    assert_equal ["block failed"], errors
  end

  def test_converters_apply_to_events
    bus = HmsFfi::Bus.new(HmsFfi::Schema.from_source("m.proto", <<~PROTO))
      syntax = "proto3"; package m.v1;
      import "google/type/decimal.proto";
      message Priced { string id = 1; google.type.Decimal price = 2; }
    PROTO
    bus.declare("prices.*", "m.v1.Priced")
    sub = bus.subscribe("prices.*")
    bus.publish("prices.eu", { id: "p", price: BigDecimal("1.50") })
    _, message = sub.next(timeout: 5)
    assert_equal BigDecimal("1.5"), message[:price]
    sub.close
  end

  def test_over_nats_events_are_checked_by_the_subscribers_declaration
    with_nats do |address|
      assert_raises(HmsFfi::InvalidArgument) { HmsFfi::Bus.connect("grpc://#{address}", schema) }
      publisher = declared(HmsFfi::Bus.connect("nats://#{address}/shop", schema))
      consumer = HmsFfi::Bus.connect("nats://#{address}/shop", schema)
      consumer.declare("orders.>", "shop.v1.OrderPlaced").declare("refunds.*", "shop.v1.OrderPlaced")
      sub = consumer.subscribe(">")
      q1 = consumer.subscribe("orders.*", queue: "w")
      q2 = consumer.subscribe("orders.*", queue: "w")
      publisher.publish("orders.eu", { id: "o1", cents: 5 })
      publisher.publish("refunds.eu", { id: "r1", full: true })
      assert_equal ["orders.eu", { id: "o1", cents: 5 }], sub.next(timeout: 5)
      e = assert_raises(HmsFfi::InvalidArgument) { sub.next(timeout: 5) }
      assert_equal "WRONG_MESSAGE_TYPE", e.reason
      assert_equal 1, collect(q1, 0.5).size + collect(q2, 0.5).size
      [sub, q1, q2].each(&:close)
    end
  end

  def test_over_nats_a_ruby_subscriber_receives_what_python_published
    with_nats do |address|
      skip "the Python package is not installed (#{PYTHON}): run make py-install" unless File.executable?(PYTHON)
      uri = "nats://#{address}/shop"
      sub = declared(HmsFfi::Bus.connect(uri, schema)).subscribe("orders.*")
      script = <<~PY
        import sys, hms_ffi
        bus = hms_ffi.Bus.connect(sys.argv[1], hms_ffi.Schema.from_source("shop.proto", sys.argv[2]))
        bus.declare("orders.>", "shop.v1.OrderPlaced")
        bus.publish("orders.py", {"id": "from-python", "cents": 7})
      PY
      Open3.popen2e(PYTHON, "-c", script, uri, PROTO) do |stdin, out, wait|
        stdin.close
        flunk "python did not finish within 20s" unless wait.join(20)
        assert wait.value.success?, out.read
      ensure
        Process.kill("KILL", wait.pid) if wait.alive?
      end
      assert_equal ["orders.py", { id: "from-python", cents: 7 }], sub.next(timeout: 5)
      sub.close
    end
  end
end
