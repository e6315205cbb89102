# frozen_string_literal: true

module HmsFfi
  # gRPC-canonical status codes, by symbol.
  CODES = {
    ok: 0, cancelled: 1, unknown: 2, invalid_argument: 3, deadline_exceeded: 4, not_found: 5,
    already_exists: 6, permission_denied: 7, resource_exhausted: 8, failed_precondition: 9,
    aborted: 10, out_of_range: 11, unimplemented: 12, internal: 13, unavailable: 14,
    data_loss: 15, unauthenticated: 16
  }.freeze

  # Base of every hms-ffi error. `code` is a Symbol (`:not_found`), `details` a Hash with
  # `:field_violations` (Array of `{field:, description:}`), `:error_info`, `:debug_info` and
  # `:origin` (and `:headers`/`:trailers`, the response metadata of a failed call). Raise a
  # subclass from a block (`raise HmsFfi::NotFound, "no user 7"`) to send
  # that code to the caller, in any language.
  class Error < StandardError
    attr_reader :details

    def initialize(message = nil, details: nil, code: nil, field_violations: nil, reason: nil)
      super(message)
      @code = code
      @details = details || {}
      if field_violations
        @details = @details.merge(
          field_violations: field_violations.map { |f, d| { field: f.to_s, description: d.to_s } }
        )
      end
      @reason = reason
    end

    # The code as a Symbol (`:not_found`, `:invalid_argument`, …).
    def code
      @code || self.class.code
    end

    # The code as its gRPC number.
    def code_number
      CODES.fetch(code, CODES[:unknown])
    end

    # `[{field: "items[2].price", description: "expected float, got str"}, …]`
    def field_violations
      @details[:field_violations] || []
    end

    # The machine-readable reason (`google.rpc.ErrorInfo`), if any.
    def reason
      @reason || @details.dig(:error_info, :reason)
    end

    # Where the error was raised: `{language:, service:, method:}`, if known.
    def origin
      @details[:origin]
    end

    # The response headers the failed call carried (a Hash of Strings, first value of each key).
    def headers
      @details[:headers] || {}
    end

    # The response trailers the failed call carried (a Hash of Strings, first value of each key).
    def trailers
      @details[:trailers] || {}
    end

    class << self
      # The code of this class (`:unknown` for HmsFfi::Error itself).
      def code
        :unknown
      end

      # The exception for a core error (used by the native extension).
      def _from_native(number, message, details)
        # ErrorInfo metadata keys are data, not field names: String keys, as the caller set them.
        info = details[:error_info]
        details[:error_info] = info.merge(metadata: info[:metadata].to_h.transform_keys(&:to_s)) if info
        %i[headers trailers].each do |key|
          details[key] = details[key].to_h.transform_keys(&:to_s) if details.key?(key)
        end
        klass = ERROR_CLASSES.fetch(number, Error)
        klass.new(message, details: details, code: CODES.key(number) || :unknown)
      end
    end

    # What the extension reads off this error when a handler raises it: the code number, the
    # message and the details Hash with this error's own reason. The core decides what they
    # become (code OK, for one, is refused).
    def _wire_parts
      details = @details.dup
      if @reason
        details[:error_info] = (details[:error_info] || {}).merge(reason: @reason.to_s)
      end
      [code_number, message.to_s, details]
    end
  end

  ERROR_CLASSES = { 0 => Error }

  {
    Cancelled: :cancelled, Unknown: :unknown, InvalidArgument: :invalid_argument,
    DeadlineExceeded: :deadline_exceeded, NotFound: :not_found, AlreadyExists: :already_exists,
    PermissionDenied: :permission_denied, ResourceExhausted: :resource_exhausted,
    FailedPrecondition: :failed_precondition, Aborted: :aborted, OutOfRange: :out_of_range,
    Unimplemented: :unimplemented, Internal: :internal, Unavailable: :unavailable,
    DataLoss: :data_loss, Unauthenticated: :unauthenticated
  }.each do |name, code|
    klass = Class.new(Error) { define_singleton_method(:code) { code } }
    const_set(name, klass)
    ERROR_CLASSES[CODES.fetch(code)] = klass
  end
  ERROR_CLASSES.freeze
end
