# frozen_string_literal: true

module HmsFfi
  # Connects to an endpoint (`inproc://name`, `unix:///path.sock`, `grpc://host:port`) and
  # discovers the server's schema, or uses `schema` (for servers without discovery).
  def self.connect(uri, schema: nil)
    _connect(uri.to_s, schema)
  end

  # A connection to a server. Several Ruby threads may call at once; each call releases the
  # GVL while it waits.
  class Client
    # Calls a unary method with a Hash (Symbol or String keys) and returns the reply as a Hash
    # with Symbol keys. `timeout` is in seconds; `metadata` is sent with the call. Raises an
    # HmsFfi::Error subclass (HmsFfi::NotFound, HmsFfi::InvalidArgument, …) on failure.
    def call(method, request = {}, timeout: nil, metadata: {})
      _call(method.to_s, request, timeout&.to_f, metadata)
    end

    def inspect
      "#<HmsFfi::Client endpoint=#{endpoint.inspect}>"
    end
  end
end
