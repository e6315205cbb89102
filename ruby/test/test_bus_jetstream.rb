# frozen_string_literal: true

# Durable events from Ruby (JetStream, docs/messaging.md): a bus connected with
# "?jetstream=STREAM" stores what it publishes; Bus#subscribe_durable reads through a named
# consumer with explicit acknowledgements (without the GVL), redelivery and replay, and resumes
# when another bus opens the same name. Each test starts a nats-server of its own with JetStream
# in a temporary store (skipped, saying so, only when nats-server is not installed).

require_relative "test_helper"
require_relative "nats_server"
require "hms_ffi"
require "timeout"

class TestBusJetStream < Minitest::Test
  include NatsServer

  PROTO = <<~PROTO
    syntax = "proto3"; package shop.v1;
    import "hms/ffi/v1/options.proto";
    message OrderPlaced { option (hms.ffi.v1.topic) = "orders.>"; string id = 1; int64 cents = 2; }
    message Refund { string id = 1; }
  PROTO

  def schema
    HmsFfi::Schema.from_source("shop.proto", PROTO)
  end

  # Yields "nats://…/events?jetstream=SHOP" on a nats-server of the test's own.
  def with_js(&block)
    with_nats(jetstream: true) { |address| block.call("nats://#{address}/events?jetstream=SHOP") }
  end

  def test_acknowledged_once_redelivered_otherwise
    with_js do |uri|
      bus = HmsFfi::Bus.connect(uri, schema)
      (1..3).each { |i| bus.publish("orders.eu", { id: "o#{i}", cents: i }) }
      sub = bus.subscribe_durable("orders.>", "billing", ack_wait: 0.4)
      first = sub.next(timeout: 5)
      assert_instance_of HmsFfi::Delivery, first
      assert_equal ["orders.eu", { id: "o1", cents: 1 }, 1, 1], [first.topic, first.message, first.sequence, first.delivered]
      first.ack
      sub.next(timeout: 5).nak
      sub.next(timeout: 5).ack
      again = sub.next(timeout: 5)
      assert_equal ["o2", 2], [again.message[:id], again.delivered]
      # Not answered: after ack_wait it comes a third time.
      late = sub.next(timeout: 5)
      assert_equal ["o2", 3], [late.message[:id], late.delivered]
      late.in_progress
      late.ack
      assert_nil sub.next(timeout: 1.0)
      sub.close
      assert sub.closed?
      assert_nil sub.next
    end
  end

  def test_a_named_consumer_resumes_and_replays_from_a_sequence_or_time
    with_js do |uri|
      bus = HmsFfi::Bus.connect(uri, schema)
      bus.publish("orders.eu", { id: "old" })
      sleep 0.05
      since = Time.now
      sleep 0.05
      (1..3).each { |i| bus.publish("orders.eu", { id: "n#{i}" }) }
      sub = bus.subscribe_durable("orders.>", "audit", batch: 1)
      seen = sub.each.take(2).map { |d| d.message[:id].tap { d.ack } }
      sub.close
      assert_equal %w[old n1], seen
      # Another process (here: another bus) resumes the consumer after the acknowledged ones.
      other = HmsFfi::Bus.connect(uri, schema)
      resumed = other.subscribe_durable("orders.>", "audit", batch: 1)
      assert_equal "n2", resumed.next(timeout: 5).message[:id]
      resumed.close
      assert_equal "n2", other.subscribe_durable("orders.>", deliver: 3).next(timeout: 5).message[:id]
      assert_equal "n1", other.subscribe_durable("orders.>", deliver: since).next(timeout: 5).message[:id]
      assert_nil other.subscribe_durable("orders.>", deliver: :new).next(timeout: 0.3)
    end
  end

  def test_an_event_that_fails_its_check_is_its_typed_error_and_the_subscription_goes_on
    with_js do |uri|
      publisher = HmsFfi::Bus.connect(uri, schema).declare("refunds.*", "shop.v1.Refund")
      reader = HmsFfi::Bus.connect(uri, schema).declare("refunds.*", "shop.v1.OrderPlaced")
      publisher.publish("refunds.eu", { id: "r1" })
      publisher.publish("orders.eu", { id: "o1" })
      sub = reader.subscribe_durable(">", "all", ack_wait: 0.3)
      e = assert_raises(HmsFfi::InvalidArgument) { sub.next(timeout: 5) }
      assert_equal "WRONG_MESSAGE_TYPE", e.reason
      good = sub.next(timeout: 5)
      assert_equal "o1", good.message[:id]
      good.ack
      # Terminated by the core: not delivered again after ack_wait.
      assert_nil sub.next(timeout: 0.9)
      sub.close
    end
  end

  def test_close_from_another_thread_ends_a_waiting_next
    with_js do |uri|
      sub = HmsFfi::Bus.connect(uri, schema).subscribe_durable("orders.>", "idle")
      waiter = Thread.new { sub.next }
      sleep 0.1
      sub.close
      assert_nil Timeout.timeout(5) { waiter.value }
    end
  end

  def test_durable_subscriptions_report_typed_errors
    with_js do |uri|
      plain = HmsFfi::Bus.connect(uri.split("?").first, schema)
      e = assert_raises(HmsFfi::FailedPrecondition) { plain.subscribe_durable("orders.>", "x") }
      assert_match(/jetstream/, e.message)
      assert_raises(HmsFfi::InvalidArgument) { HmsFfi::Bus.connect(uri.sub("jetstream=SHOP", "stream=SHOP"), schema) }
      bus = HmsFfi::Bus.connect(uri, schema)
      assert_raises(HmsFfi::InvalidArgument) { bus.subscribe_durable("orders..eu", "x") }
      assert_match(/deliver/, assert_raises(HmsFfi::InvalidArgument) { bus.subscribe_durable("orders.>", deliver: :sometime) }.message)
      assert_raises(HmsFfi::InvalidArgument) { bus.subscribe_durable("orders.>", deliver: -1) }
      assert_raises(TypeError) { bus.subscribe_durable("orders.>", deliver: 1.5) }
      assert_raises(HmsFfi::FailedPrecondition) { HmsFfi::Bus.new(schema).subscribe_durable("orders.>") }
    end
  end
end
