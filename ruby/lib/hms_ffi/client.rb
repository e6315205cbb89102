# frozen_string_literal: true

module HmsFfi
  # Connects to an endpoint (`inproc://name`, `unix:///path.sock`, `grpc://host:port`), or to
  # an Array of endpoints of one service, and discovers the server's schema, or uses `schema`
  # (for servers without discovery). `resilience` (a Hash or its JSON text) sets reconnect
  # backoff, retry and hedging policies (a gRPC service config), keepalive, load balancing and
  # health checks, as docs/resilience.md describes; bad options raise HmsFfi::InvalidArgument.
  # `expect_schema` is the HmsFfi::Schema the caller was built against: the methods the
  # server's schema breaks are listed by Client#incompatible_methods, and calling one raises
  # HmsFfi::FailedPrecondition (reason INCOMPATIBLE_SCHEMA) before anything is sent
  # (docs/evolution.md, "Versions at connect"). `converters` map message types and declared
  # formats to Ruby classes (HmsFfi::Converter; the built-ins BigDecimal and Date by default,
  # `[]` for none; docs/converters.md). `revision` (a label or fingerprint the server announces)
  # chooses a schema revision the server serves beside its main one: every call then carries
  # the hms-schema-revision metadata entry (docs/evolution.md, "Two versions side by side").
  def self.connect(uri, schema: nil, resilience: nil, expect_schema: nil, converters: Converters::BUILTIN,
                   revision: nil)
    options = json_text(resilience, "resilience options")
    targets, convs = Converters.native(converters)
    client = _connect(Array(uri).map(&:to_s), schema, options, expect_schema, targets, revision&.to_s)
    client.instance_variable_set(:@converters, convs)
    client
  end

  # `value` as JSON text for the core: a Hash generated, anything else as its string (nil stays).
  def self.json_text(value, what)
    value.is_a?(Hash) ? JSON.generate(value) : value&.to_s
  rescue JSON::GeneratorError => e
    # As every binding says it: options that are not JSON are the caller's InvalidArgument.
    raise InvalidArgument, "#{what} are not JSON: #{e.message}"
  end
  private_class_method :json_text

  # What a server announces about its schema in discovery: the fingerprint ("sha256:…", as the
  # schema registry computes it), the registry subject ("" when unknown) and version (0).
  SchemaVersion = Struct.new(:fingerprint, :subject, :version)

  # One endpoint of a client: its URI, connection state, whether it is ejected, and where its
  # connection goes while it is up (for auto://NAME the transport it picked; nil while down).
  EndpointStatus = Struct.new(:uri, :state, :ejected, :connected)

  # A reply with the response metadata the handler set: `headers` and `trailers` are Hashes of
  # Strings (the first value of each key).
  Response = Struct.new(:reply, :headers, :trailers)

  # A connection to a server. Several Ruby threads may call at once; each call releases the
  # GVL while it waits.
  class Client
    # Calls a unary method with a Hash (Symbol or String keys) and returns the reply as a Hash
    # with Symbol keys. `timeout` is in seconds; `metadata` is sent with the call; `cancel` is
    # an HmsFfi::CancelToken that another thread may cancel (the call then raises
    # HmsFfi::Cancelled). Raises an HmsFfi::Error subclass (HmsFfi::NotFound, …) on failure.
    # A call made in a server's block inherits that call's deadline (the earlier one wins),
    # cancellation and trace; `detach: true` opts out. `wait_for_ready: true` waits for a
    # connection up to the timeout instead of raising HmsFfi::Unavailable at once while there is
    # none (nil: the client's `waitForReady`).
    def call(method, request = {}, timeout: nil, metadata: {}, cancel: nil, detach: false, wait_for_ready: nil)
      _call(method.to_s, request, timeout&.to_f, metadata, cancel, false, detach ? true : false, wait_for_ready,
            @converters)
    end

    # #call, returning an HmsFfi::Response: the reply with the response headers and trailers.
    # A failed call's are on the error (HmsFfi::Error#headers, #trailers).
    def call_with_metadata(method, request = {}, timeout: nil, metadata: {}, cancel: nil, detach: false,
                           wait_for_ready: nil)
      Response.new(*_call(method.to_s, request, timeout&.to_f, metadata, cancel, true, detach ? true : false,
                          wait_for_ready, @converters))
    end

    # Calls every `[method, request]` of `calls` as one batch and returns an Array with one
    # entry per call, in order: the reply Hash, or the call's HmsFfi::Error (returned, not
    # raised). `timeout` is one deadline for the whole batch; a failed call does not stop the
    # others; `metadata` and `wait_for_ready` apply to every call; `cancel` (an
    # HmsFfi::CancelToken) or a Ruby interrupt ends every call not finished with Cancelled.
    # Waits with the GVL released. A batch of more than 100 000 calls raises
    # HmsFfi::InvalidArgument before anything is sent.
    #
    #   client.batch([["demo.v1.Greeter/SayHello", { name: "Ada" }], ...], timeout: 2)
    def batch(calls, timeout: nil, metadata: {}, cancel: nil, wait_for_ready: nil)
      methods = calls.map { |method, _| method.to_s }
      requests = calls.map { |_, request| request || {} }
      _batch(methods, requests, timeout&.to_f, metadata, cancel, wait_for_ready, @converters)
    end

    # Starts the call on a Ruby thread and returns at once with an HmsFfi::PendingCall, which
    # any thread may wait on or cancel.
    def call_async(method, request = {}, timeout: nil, metadata: {}, wait_for_ready: nil)
      PendingCall.new(self, method, request, timeout: timeout, metadata: metadata, wait_for_ready: wait_for_ready)
    end

    # Opens a streaming call and returns an HmsFfi::Stream, an Enumerable over the replies:
    #
    #   client.stream("demo.v1.Greeter/Chatter", { name: "Ada" }).each { |reply| ... }
    #   client.stream("pkg.S/Sum", requests).result            # client streaming
    #   s = client.stream("pkg.S/Chat"); s << r; s.close_send; s.each { ... }
    #
    # `requests`: the one request of a server-streaming call, or an Enumerable of requests sent
    # from a thread of their own as the server reads them. `timeout` bounds the whole stream;
    # `cancel` (an HmsFfi::CancelToken) cancels it from another thread; `wait_for_ready` as
    # for #call.
    def stream(method, requests = nil, timeout: nil, metadata: {}, cancel: nil, wait_for_ready: nil)
      Stream.new(_open_stream(method.to_s, timeout&.to_f, metadata, cancel, wait_for_ready), requests, @converters)
    end

    # Each endpoint given to HmsFfi.connect, in order, as an HmsFfi::EndpointStatus. (#state,
    # from the extension, is the connection's: "idle", "connecting", "ready",
    # "transient_failure" or "shutdown"; #transport says where calls go now: for auto://NAME
    # the transport it picked, "shm://NAME" for instance, nil while no connection is up.)
    def endpoints
      _endpoints.map { |e| EndpointStatus.new(*e) }
    end

    # The HmsFfi::SchemaVersion the server announced in discovery, or nil when the schema was
    # given rather than discovered. (#incompatible_methods, from the extension, is a Hash of
    # the methods of `expect_schema` the server's schema breaks, each with its findings,
    # "path:line:column:RULE_ID message".)
    def schema_version
      v = _schema_version
      v && SchemaVersion.new(*v)
    end

    def inspect
      "#<HmsFfi::Client endpoint=#{endpoint.inspect}>"
    end
  end

  # A call in flight (Client#call_async): #value waits for the reply (or raises its error),
  # #response for the reply with its response metadata, #cancel ends it with HmsFfi::Cancelled.
  class PendingCall
    def initialize(client, method, request, timeout:, metadata:, wait_for_ready: nil)
      @token = CancelToken.new
      @thread = Thread.new do
        [client.call_with_metadata(method, request, timeout: timeout, metadata: metadata, cancel: @token,
                                                    wait_for_ready: wait_for_ready), nil]
      rescue StandardError => e
        [nil, e]
      end
    end

    # The reply; raises the call's error.
    def value
      response.reply
    end

    # The HmsFfi::Response; raises the call's error.
    def response
      response, error = @thread.value
      raise error if error

      response
    end

    # Waits up to `timeout` seconds (nil: for good); true once the call has ended.
    def wait(timeout = nil)
      !@thread.join(timeout).nil?
    end

    # True once the call has ended (with a reply or an error).
    def done?
      !@thread.alive?
    end

    # Cancels the call: the caller gets HmsFfi::Cancelled, the handler sees its context cancelled.
    def cancel
      @token.cancel
      self
    end
  end
end
