# frozen_string_literal: true

module HmsFfi
  # Serves the methods of a schema with Ruby blocks.
  #
  # Blocks run on the Ruby thread that calls #serve, one call at a time; while no call is
  # waiting, #serve holds no GVL, so the process's other threads run. A block takes
  # `(request, ctx)` and returns a Hash. An exception in a block reaches the caller as
  # HmsFfi::Internal (or the code of an HmsFfi::Error it raised) with the class, message and
  # backtrace in its details; the server keeps serving.
  class Server
    # A server for `schema`; limits default to the core's (4 MiB messages). `security` is the
    # path of a security file (policy, bearer tokens, limits, audit: docs/security.md); a bad
    # file raises HmsFfi::InvalidArgument. `service_config` (a gRPC service config, a Hash or its
    # JSON text) is announced in discovery: clients that discover the schema and were given no
    # config of their own retry and time out by it (docs/resilience.md); a bad one raises
    # HmsFfi::InvalidArgument. `converters` map message types and declared formats to Ruby
    # classes (HmsFfi::Converter; the built-ins by default, `[]` for none).
    def self.new(schema, max_message_bytes: nil, max_concurrent_per_connection: nil, security: nil,
                 service_config: nil, converters: Converters::BUILTIN)
      security = security&.to_s
      config = HmsFfi.send(:json_text, service_config, "service config")
      targets, convs = Converters.native(converters)
      server = _new(schema, max_message_bytes, max_concurrent_per_connection, security, config, targets)
      server.send(:setup, schema)
      server.instance_variable_set(:@converters, convs)
      server
    end

    attr_reader :schema

    # Registers the block for the method `name` (`pkg.Service/Method`). A unary block takes
    # `(request, ctx)` and returns the reply; a streaming one, by the method's kind:
    # server-streaming `{ |request, ctx| replies }`, client-streaming `{ |requests, ctx| reply }`,
    # bidi `{ |requests, ctx| replies }`, where `requests` is an Enumerator that reads as it is
    # iterated and `replies` any Enumerable (an Enumerator, an Array, `requests.lazy.map`), each
    # sent as the caller reads it. Without a block, behaves as Object#method. With `revision:`,
    # the block serves that schema revision (#add_revision) rather than the main schema.
    def method(name, revision: nil, &block)
      return super(name) unless block

      key, kind = _register(name.to_s, revision&.to_s)
      @handlers[key] = kind == "unary" ? block : StreamRunner.for(kind, block, @converters)
      self
    end

    # Schema revisions served side by side (docs/evolution.md), from the extension:
    # `add_revision(label, schema)` serves `schema` beside the main one and returns its
    # fingerprint (HmsFfi::AlreadyExists for a label or schema already served); a call whose
    # hms-schema-revision metadata names its label or fingerprint speaks it
    # (`HmsFfi.connect(uri, revision: label)` sends it); `revisions` is `{label => fingerprint}`;
    # `bridge(label, method)` lets the revision's block answer the main schema's callers too
    # (HmsFfi::FailedPrecondition unless the method reads alike on the wire).
    #   server.add_revision("rev1", HmsFfi::Schema.load("rev1/greeter.proto"))
    #   server.method("acme.v1.Greeter/SayHello", revision: "rev1") { |req, _ctx| { message: req[:name] } }
    #   server.bridge("rev1", "acme.v1.Greeter/SayHello")


    # Runs calls on this thread until #shutdown (from another thread or a block), or until
    # SIGINT (Ctrl-C) or SIGTERM, which shut the server down gracefully and return. While it
    # serves, it handles both signals itself (as Python's and PHP's serve do), also when the
    # process started with them ignored, as a background job of a shell does; the previous
    # handlers come back when it returns. `threads: n` runs blocks on n Ruby threads (this one
    # and n - 1 more), so that a block may wait, for instance on a call to this same server,
    # while other calls go on.
    def serve(threads: 1)
      serving = Thread.current
      previous = { "INT" => Interrupt, "TERM" => SignalException }.to_h do |signal, kind|
        raised = kind == Interrupt ? Interrupt.new : SignalException.new(signal)
        [signal, trap(signal) { serving.raise(raised) }]
      end
      @serve_threads = [serving]
      helpers = Array.new([threads.to_i, 1].max - 1) do
        Thread.new { _serve(@handlers, @converters) }.tap { |t| t.report_on_exception = false }
      end
      @serve_threads.concat(helpers)
      _serve(@handlers, @converters)
    rescue Interrupt, SignalException
      @serve_threads = [] # nobody serves now: shutdown answers what is queued
      shutdown
    ensure
      previous&.each { |signal, handler| trap(signal, handler) }
      _close_queue if helpers&.any?
      helpers&.each { |t| t.join(5) }
      @serve_threads = []
    end

    # Stops accepting calls, lets calls in flight finish for up to `grace` seconds, then
    # closes every endpoint; #serve returns.
    def shutdown(grace: 5.0)
      serving = @serve_threads.first
      if @serve_threads.include?(Thread.current)
        # From a block: this call must finish first, so the core stops in the background.
        _close_queue
        Thread.new { _shutdown(grace) }
      elsif serving&.alive?
        _shutdown(grace) # #serve still runs the calls in flight
        _close_queue
      else
        _close_queue # nobody runs queued calls: answer them now
        _shutdown(grace)
      end
      nil
    end

    # The HmsFfi::SchemaVersion discovery announces (subject and version once
    # #set_schema_version(subject, version), from the extension, recorded them).
    def schema_version
      SchemaVersion.new(*_schema_version)
    end

    def inspect
      "#<HmsFfi::Server endpoints=#{endpoints.inspect}>"
    end

    private

    def setup(schema)
      @schema = schema
      @handlers = {}
      @serve_threads = []
    end
  end
end
