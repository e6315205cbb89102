# frozen_string_literal: true

require "bigdecimal"
require "date"

module HmsFfi
  # A converter between a protobuf message type (`message: "google.type.Decimal"`) or the
  # string fields declared with a format (`format: "uuid"`, `[(hms.ffi.v1.format) = "uuid"]`)
  # and a Ruby class of your own, on requests and replies (docs/converters.md). The core decides
  # where a received value converts: `from_message` gets the message as a Hash with Symbol keys
  # (the String, for a format). A sent object of `type` (`is_a?`) goes out through `to_message`.
  # One that raises is HmsFfi::InvalidArgument with the value's path in `field_violations`
  # (HmsFfi::Internal for a handler's reply).
  Converter = Struct.new(:message, :format, :type, :to_message, :from_message, keyword_init: true) do
    # How errors name it: the message type, or `format uuid`.
    def target
      message || "format #{format}"
    end
  end

  # The built-in converters, on by default in HmsFfi.connect and HmsFfi::Server.new:
  # `google.type.Decimal` ⇄ BigDecimal and `google.type.Date` ⇄ Date (full dates). Ruby's
  # standard library has no money or UUID class, so those stay their message and text.
  module Converters
    DECIMAL = Converter.new(
      message: "google.type.Decimal", type: BigDecimal,
      to_message: lambda { |d|
        raise ArgumentError, "#{d} is not a finite decimal" unless d.finite?

        { value: d.to_s("F") }
      },
      from_message: ->(m) { m[:value].to_s.empty? ? BigDecimal("0") : BigDecimal(m[:value]) }
    )
    DATE = Converter.new(
      message: "google.type.Date", type: Date,
      to_message: ->(d) { { year: d.year, month: d.month, day: d.day } },
      from_message: ->(m) { Date.new(m[:year], m[:month], m[:day]) }
    )
    BUILTIN = [DECIMAL, DATE].freeze

    # The converters' targets as the native extension takes them, and their functions.
    def self.native(list)
      list = Array(list)
      list.each do |c|
        unless c.is_a?(Converter) && (c.message.nil? ^ c.format.nil?) && c.from_message
          raise ArgumentError, "a converter is an HmsFfi::Converter with one message or format and a from_message"
        end
      end
      targets = list.map { |c| c.message ? ["message", c.message.to_s] : ["format", c.format.to_s] }
      [targets, list.map { |c| [c.type, c.to_message, c.from_message, c.target] }.freeze]
    end
  end
end
