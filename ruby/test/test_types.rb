# frozen_string_literal: true

# The Ruby column of docs/types.md: Hash with Symbol keys out (String keys accepted in),
# Integer with 64-bit range checks, Float, binary Strings for bytes, UTF-8 Strings for text,
# Time for Timestamp, Rational seconds for Duration, enum names as Symbols or Strings.

require_relative "test_helper"

class TypesTest < Minitest::Test
  include Served

  def setup
    @client = conformance_client
  end

  def scalars(request)
    @client.call(SCALARS, request)
  end

  def test_replies_have_symbol_keys_and_requests_take_string_keys
    reply = @client.call(ECHO, { "unicode_text" => "hi", "nested" => { "name" => "n", "qty" => 2 } })
    assert_equal "hi", reply[:unicode_text]
    assert_equal({ name: "n", price: 0.0, qty: 2 }, reply[:nested])
    assert(reply.keys.all?(Symbol))
    assert_equal({ a: 1, b: 2 }, @client.call(ECHO, { counts: { "a" => 1, b: 2 } })[:counts])
    assert_equal({ 7 => { name: "x", price: 0.0, qty: 0 } }, @client.call(ECHO, { by_id: { 7 => { name: "x" } } })[:by_id])
  end

  def test_integers_are_range_checked_including_bignums
    assert_equal 2**63 - 1, scalars(int64_v: 2**63 - 1)[:int64_v]
    assert_equal(-2**63, scalars(int64_v: -2**63)[:int64_v])
    assert_equal 2**64 - 1, scalars(uint64_v: 2**64 - 1)[:uint64_v]
    err = assert_raises(HmsFfi::InvalidArgument) { scalars(uint64_v: 2**64) }
    assert_equal ["uint64_v"], err.field_violations.map { |v| v[:field] }
    assert_includes err.message, "out of range"
    assert_raises(HmsFfi::InvalidArgument) { scalars(int64_v: -2**70) }
    assert_raises(HmsFfi::InvalidArgument) { scalars(int32_v: 2**31) }
    assert_equal 3, scalars(int32_v: 3.0)[:int32_v]
  end

  def test_floats
    reply = scalars(double_v: 1.5, float_v: 3)
    assert_equal 1.5, reply[:double_v]
    assert_instance_of Float, reply[:float_v]
    assert_equal 3.0, reply[:float_v]
    assert scalars(double_v: Float::NAN)[:double_v].nan?
  end

  def test_bytes_are_binary_strings_and_text_is_utf8
    reply = scalars(bytes_v: "\x00\xFF".b, string_v: "héllo ✓")
    assert_equal Encoding::BINARY, reply[:bytes_v].encoding
    assert_equal "\x00\xFF".b, reply[:bytes_v]
    assert_equal Encoding::UTF_8, reply[:string_v].encoding
    assert_equal "héllo ✓", reply[:string_v]
    # A bytes field takes text as its UTF-8 bytes; text in another encoding is sent as UTF-8.
    assert_equal "é".b, scalars(bytes_v: "é")[:bytes_v]
    assert_equal "é", scalars(string_v: "é".encode("ISO-8859-1"))[:string_v]
    err = assert_raises(HmsFfi::InvalidArgument) { scalars(string_v: "\xFF".b) }
    assert_includes err.message, "not valid UTF-8"
  end

  def test_enums_by_symbol_string_or_number
    assert_equal "COLOR_RED", @client.call(ECHO, { color: :COLOR_RED })[:color]
    assert_equal "COLOR_BLUE", @client.call(ECHO, { color: "COLOR_BLUE" })[:color]
    assert_equal %w[COLOR_GREEN COLOR_RED], @client.call(ECHO, { colors: [2, :COLOR_RED] })[:colors]
    assert_raises(HmsFfi::InvalidArgument) { @client.call(ECHO, { color: :RED }) }
  end

  def test_timestamps_are_times_in_utc_with_nanoseconds
    at = Time.at(1_700_000_000, 123_456_789, :nsec, in: "+09:00")
    reply = @client.call(ECHO, { at: at })[:at]
    assert_instance_of Time, reply
    assert reply.utc?
    assert_equal at, reply
    assert_equal 123_456_789, reply.nsec
    assert_equal Time.utc(2024, 2, 29, 12, 34, 56), @client.call(ECHO, { at: "2024-02-29T12:34:56Z" })[:at]
    assert_nil @client.call(ECHO, {})[:at]
  end

  def test_durations_are_rational_seconds
    assert_equal Rational(3, 2), @client.call(ECHO, { took: Rational(3, 2) })[:took]
    assert_equal Rational(-1, 4), @client.call(ECHO, { took: "-0.250s" })[:took]
    assert_equal Rational(1, 1_000_000_000), @client.call(ECHO, { took: Rational(1, 1_000_000_000) })[:took]
    assert_instance_of Rational, @client.call(ECHO, { took: 2r })[:took]
  end

  # The extension walks Ruby objects straight to bytes and back (ruby/src/walk.rs): every object
  # it makes must survive a collection before its parent holds it.
  def test_messages_survive_the_garbage_collector_on_the_way_in_and_out
    request = { "unicode_text" => "héllo", nested: { name: "n", qty: 2 }, counts: { "a" => 1, "b#{2}".to_sym => 2 },
                by_id: { 7 => { name: "x" } }, at: Time.utc(2024, 2, 29), took: Rational(3, 2) }
    plain = @client.call(ECHO, request)
    GC.stress = true
    stressed = @client.call(ECHO, request)
    GC.stress = false
    assert_equal plain, stressed
    assert_equal({ a: 1, b2: 2 }, stressed[:counts])
  ensure
    GC.stress = false
  end

  def test_nil_means_unset_and_structs_are_plain_values
    reply = @client.call(ECHO, { maybe: nil, meta: { "a" => [1, "x", true, nil] }, any_value: 2 })
    assert_nil reply[:maybe]
    assert_equal({ a: [1.0, "x", true, nil] }, reply[:meta])
    assert_equal 2.0, reply[:any_value]
  end
end
