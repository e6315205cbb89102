# frozen_string_literal: true

# Custom domain types (docs/converters.md): the built-ins (BigDecimal, Date) and a converter of
# one's own, on requests and replies, caller and handler side, over inproc and unix; a converter
# that raises is InvalidArgument with the value's path (Internal for a handler's reply).

require_relative "test_helper"

class ConvertersTest < Minitest::Test
  include Served

  SCHEMA = HmsFfi::Schema.from_source("shop.proto", <<~PROTO)
    syntax = "proto3";
    package shop.v1;
    import "google/type/decimal.proto";
    import "google/type/date.proto";
    message Item { string sku = 1; google.type.Decimal price = 2; }
    message Point { double lat = 1; double lng = 2; }
    message Order {
      repeated Item items = 1;
      google.type.Date due = 2;
      map<string, google.type.Decimal> rates = 3;
      Point at = 4;
    }
    service Shop {
      rpc Echo(Order) returns (Order);
      rpc Bad(Order) returns (Order);
      rpc Chat(stream Order) returns (stream Order);
      rpc Repeat(Order) returns (stream Order);
      rpc Sum(stream Order) returns (Order);
    }
  PROTO

  Point = Struct.new(:lat, :lng)
  POINT = HmsFfi::Converter.new(message: "shop.v1.Point", type: Point,
                                to_message: ->(p) { { lat: p.lat, lng: p.lng } },
                                from_message: ->(m) { Point.new(m[:lat], m[:lng]) })
  CONVERTERS = [*HmsFfi::Converters::BUILTIN, POINT].freeze

  def order
    { items: [{ sku: "a", price: BigDecimal("1.50") }, { sku: "b", price: BigDecimal("-0.000000001") }],
      due: Date.new(2026, 12, 24), rates: { eur: BigDecimal("1"), usd: BigDecimal("108.73") },
      at: Point.new(1.5, 2.0) }
  end

  def shop(uri)
    seen = []
    server = HmsFfi::Server.new(SCHEMA, converters: CONVERTERS)
    server.method("shop.v1.Shop/Echo") { |req, _ctx| seen << req && req }
    server.method("shop.v1.Shop/Bad") { |_req, _ctx| { items: [{}, { price: BigDecimal("NaN") }] } }
    server.method("shop.v1.Shop/Chat") do |requests, _ctx|
      requests.lazy.map do |r|
        seen << r
        r[:rates].key?(:nan) ? { rates: { nan: BigDecimal("NaN") } } : r.merge(due: r[:due] + 1)
      end
    end
    server.method("shop.v1.Shop/Repeat") { |req, _ctx| seen << req && [req, req.merge(due: req[:due] + 1)] }
    server.method("shop.v1.Shop/Sum") do |requests, _ctx|
      { items: [{ price: requests.sum { |r| seen << r && r[:items].sum { |i| i[:price] } } }], due: Date.new(2027, 1, 1) }
    end
    server.listen(uri)
    thread = Thread.new { server.serve }
    @stop = lambda { server.shutdown(grace: 1.0); thread.join(5) }
    seen
  end

  def test_converters_round_trip_both_ways
    [Served.next_name, unix_uri("conv.sock")].each do |uri|
      seen = shop(uri)
      client = HmsFfi.connect(uri, converters: CONVERTERS)
      reply = client.call("shop.v1.Shop/Echo", order, timeout: 10)
      assert_equal order, reply
      assert_equal order, seen.first
      assert_kind_of BigDecimal, seen.first[:items][0][:price]
      assert_kind_of Date, reply[:due]
      # Without converters the messages are Hashes.
      raw = HmsFfi.connect(uri, converters: []).call("shop.v1.Shop/Echo", { items: [{ price: { value: "3" } }] },
                                                     timeout: 10)
      assert_equal [:value], raw[:items][0][:price].keys
      assert_equal BigDecimal("3"), BigDecimal(raw[:items][0][:price][:value])
      assert_equal BigDecimal("3"), seen.last[:items][0][:price]
      assert_nil client.call("shop.v1.Shop/Echo", {}, timeout: 10)[:due]
      client.close
      @stop.call
    end
  end

  def test_a_converter_that_raises_is_invalid_argument_with_the_path
    uri = Served.next_name
    shop(uri)
    client = HmsFfi.connect(uri, converters: CONVERTERS)
    bad = order
    bad[:items] << { price: BigDecimal("Infinity") }
    e = assert_raises(HmsFfi::InvalidArgument) { client.call("shop.v1.Shop/Echo", bad, timeout: 10) }
    assert_equal "items[2].price", e.field_violations[0][:field]
    assert_match(/\Aconverter for google.type.Decimal failed: ArgumentError: Infinity is not a finite decimal/,
                 e.field_violations[0][:description])
    # Refused by the handler's converters: sent by a client without any.
    plain = HmsFfi.connect(uri, converters: [])
    e = assert_raises(HmsFfi::InvalidArgument) do
      plain.call("shop.v1.Shop/Echo", { due: { year: 2026, month: 2, day: 30 } }, timeout: 10)
    end
    assert_equal "due", e.field_violations[0][:field]
    assert_match(/converter for google.type.Date failed: Date::Error/, e.field_violations[0][:description])
    e = assert_raises(HmsFfi::InvalidArgument) do
      plain.call("shop.v1.Shop/Echo", { rates: { x: { value: "1,5" } } }, timeout: 10)
    end
    # Read by the core's one walk (walk.rs): a map value's path names its key, as everywhere.
    assert_equal 'rates["x"]', e.field_violations[0][:field]
    # A handler's reply whose converter raises is the handler's fault.
    e = assert_raises(HmsFfi::Internal) { client.call("shop.v1.Shop/Bad", {}, timeout: 10) }
    assert_equal "items[1].price", e.field_violations[0][:field]
  end

  def test_streams_convert_both_ways
    uri = Served.next_name
    seen = shop(uri)
    client = HmsFfi.connect(uri, converters: CONVERTERS)
    replies = client.stream("shop.v1.Shop/Chat", [order, order], timeout: 10).to_a
    assert_equal [order.merge(due: Date.new(2026, 12, 25))] * 2, replies
    assert_equal [order] * 2, seen
    assert_kind_of BigDecimal, seen.first[:items][0][:price]
    replies = client.stream("shop.v1.Shop/Repeat", order, timeout: 10).to_a
    assert_equal [order, order.merge(due: Date.new(2026, 12, 25))], replies
    assert_equal order, seen[2]
    stream = client.stream("shop.v1.Shop/Sum", timeout: 10)
    stream << order << order
    stream.close_send
    assert_equal({ items: [{ sku: "", price: BigDecimal("2.999999998") }], due: Date.new(2027, 1, 1),
                   rates: {}, at: nil }, stream.result)
    # Without converters the streamed messages are Hashes.
    raw = HmsFfi.connect(uri, converters: []).stream("shop.v1.Shop/Repeat", { due: { year: 2026, month: 1, day: 31 } },
                                                      timeout: 10).to_a
    assert_equal({ year: 2026, month: 2, day: 1 }, raw[1][:due])
    client.close
    @stop.call
  end

  def test_a_streamed_converter_that_raises_is_invalid_argument_with_the_path
    uri = Served.next_name
    shop(uri)
    client = HmsFfi.connect(uri, converters: CONVERTERS)
    bad = order.merge(rates: { usd: BigDecimal("Infinity") })
    e = assert_raises(HmsFfi::InvalidArgument) { client.stream("shop.v1.Shop/Chat", [order, bad], timeout: 10).to_a }
    assert_equal "rates.usd", e.field_violations[0][:field]
    assert_match(/converter for google.type.Decimal failed: ArgumentError/, e.field_violations[0][:description])
    # A handler's streamed reply whose converter raises is the handler's fault.
    e = assert_raises(HmsFfi::Internal) do
      client.stream("shop.v1.Shop/Chat", [order.merge(rates: { nan: BigDecimal("1") })], timeout: 10).to_a
    end
    assert_equal "rates.nan", e.field_violations[0][:field]
    # Refused by the handler's converters: a streamed request sent by a client without any.
    plain = HmsFfi.connect(uri, converters: [])
    e = assert_raises(HmsFfi::InvalidArgument) do
      plain.stream("shop.v1.Shop/Repeat", { due: { year: 2026, month: 2, day: 30 } }, timeout: 10).to_a
    end
    assert_equal "due", e.field_violations[0][:field]
    @stop.call
  end
end
