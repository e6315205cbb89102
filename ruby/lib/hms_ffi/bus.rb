# frozen_string_literal: true

module HmsFfi
  # Publish/subscribe with topics typed by messages of a schema (docs/messaging.md): in one
  # process (Bus.new) or between processes and machines over NATS (Bus.connect). Every rule —
  # topic checks, typing on both ends, queue groups, drop counting — is the core's; every wait
  # releases the GVL and ends when Ruby interrupts the thread.
  #
  #   bus = HmsFfi::Bus.new(schema)
  #   bus.declare("orders.>", "shop.v1.OrderPlaced")
  #   sub = bus.subscribe("orders.*", queue: "workers")
  #   bus.publish("orders.eu", { id: "A1", cents: 250 })
  #   sub.next(timeout: 5) # => ["orders.eu", {:id=>"A1", :cents=>250}]
  class Bus
    # An in-process bus over `schema`'s message types. `converters` map message types and
    # declared formats to Ruby classes, as for HmsFfi.connect (docs/converters.md).
    def self.new(schema, converters: Converters::BUILTIN)
      targets, convs = Converters.native(converters)
      _new(schema, targets).tap { |bus| bus.instance_variable_set(:@converters, convs) }
    end

    # A bus over NATS: "nats://host:port/PREFIX" (events on PREFIX.TOPIC). Raises
    # HmsFfi::Unavailable when the server cannot be reached.
    def self.connect(uri, schema, converters: Converters::BUILTIN)
      targets, convs = Converters.native(converters)
      _connect(uri.to_s, schema, targets).tap { |bus| bus.instance_variable_set(:@converters, convs) }
    end

    # Events on topics matching `pattern` ("*" one token, a final ">" the rest) are
    # `message_type` messages (a full name from the schema); the first declaration a topic
    # matches gives its type. Returns the bus.
    def declare(pattern, message_type)
      _declare(pattern.to_s, message_type.to_s)
      self
    end

    # Publishes `message` (a Hash) on `topic`, checked against the topic's declared type:
    # HmsFfi::InvalidArgument for a bad topic or a wrong field (with its path),
    # HmsFfi::NotFound for an undeclared topic.
    def publish(topic, message)
      _publish(topic.to_s, message, @converters)
      nil
    end

    # Subscribes to `pattern`. With `queue`, the subscription shares the events with the other
    # members of that queue group (each goes to one); `pending` is how many events it holds
    # before it drops new ones (counted by Subscription#dropped). With a block, a thread of the
    # subscription calls it with each `topic, message` until #close; an event that fails its
    # check, and what the block raises, go to `on_error` (a callable; by default a warning).
    def subscribe(pattern, queue: nil, pending: nil, on_error: nil, &block)
      sub = _subscribe(pattern.to_s, queue&.to_s, pending)
      sub.instance_variable_set(:@converters, @converters)
      sub.send(:run, block, on_error) if block
      sub
    end

    # Reads `pattern` through the JetStream consumer `name` (a bus connected with
    # "?jetstream=STREAM"): created on first use and resumed afterwards by any process; readers
    # of one name share its events. Without a name the consumer is ephemeral (a replay).
    # `deliver` is where a new consumer starts: :all (default), :new, :last, a stream sequence
    # (Integer) or a Time. An event not answered within `ack_wait` seconds comes again, at most
    # `max_deliver` times; `batch` events are fetched ahead. HmsFfi::FailedPrecondition on a bus
    # without JetStream, HmsFfi::InvalidArgument for a bad pattern or `deliver`.
    def subscribe_durable(pattern, name = nil, deliver: nil, ack_wait: 30.0, max_deliver: nil, batch: 64)
      start = case deliver
              when nil then [nil, nil, nil]
              when String, Symbol then [deliver.to_s, nil, nil]
              when Integer then [nil, deliver, nil]
              when Time then [nil, nil, deliver.to_f]
              else raise TypeError, "deliver is :all, :new, :last, a sequence or a Time, not #{deliver.class}"
              end
      sub = _subscribe_durable(pattern.to_s, name&.to_s, *start, ack_wait.to_f, max_deliver, batch)
      sub.instance_variable_set(:@converters, @converters)
      sub
    end
  end

  # Deliveries of a JetStream consumer (Bus#subscribe_durable): `next(timeout:)`, `each`, or
  # any Enumerable method. An event that fails its type's check raises its HmsFfi::Error
  # subclass from #next (and so ends an #each); it is never delivered again and the
  # subscription goes on. #close, from any thread, ends a #next or #each waiting there.
  class DurableSubscription
    include Enumerable

    # The next Delivery, or nil once `timeout` seconds pass (nil: no limit) or the subscription
    # is closed.
    def next(timeout: nil)
      delivery, message = _next(timeout&.to_f, @converters)
      delivery&.tap { |d| d.instance_variable_set(:@message, message) }
    end

    # Yields each Delivery until the subscription is closed; an Enumerator without a block.
    def each
      return enum_for(:each) unless block_given?

      while (delivery = self.next)
        yield delivery
      end
      self
    end

    # Stops reading (a #next waiting returns nil); what was not acknowledged comes again to
    # the consumer's other readers. (#closed?, from the extension: whether #close was called.)
    def close
      _close
      nil
    end
  end

  # One delivery of a durable event: #topic, #message, #sequence (in the stream), #delivered
  # (how many times, this one included). Answer it with #ack, #nak, #term or #in_progress, each
  # returning once the server confirmed it (without holding the GVL); unanswered, it comes again
  # after the subscription's `ack_wait`.
  class Delivery
    # The message (a Hash, converters applied).
    attr_reader :message

    # Not done: delivered again, after `delay` seconds when given.
    def nak(delay: nil)
      _nak(delay&.to_f)
      nil
    end

    def inspect
      "#<HmsFfi::Delivery topic=#{topic.inspect} sequence=#{sequence} delivered=#{delivered}>"
    end
  end

  # Events on a topic pattern (Bus#subscribe): `next(timeout:)`, `each`, or any Enumerable
  # method. An event that fails its type's check raises its HmsFfi::Error subclass from #next
  # (and so ends an #each); the subscription goes on. #close, from any thread, ends a #next or
  # #each waiting there.
  class Subscription
    include Enumerable

    # The next event as `[topic, message]`, or nil once `timeout` seconds pass (nil: no limit)
    # or the subscription is closed.
    def next(timeout: nil)
      _next(timeout&.to_f, @converters)
    end

    # Yields each `topic, message` until the subscription is closed; an Enumerator without a
    # block.
    def each
      return enum_for(:each) unless block_given?

      while (event = _next(nil, @converters))
        yield(*event)
      end
      self
    end

    # Unsubscribes (a #next waiting returns nil) and, in the block form, waits up to 5 s for
    # the block's thread to end. (#dropped, from the extension: events dropped because the
    # queue was full; #closed?: whether #close was called.)
    def close
      _close
      @thread.join(5) if @thread && @thread != Thread.current
      nil
    end

    private

    def run(block, on_error)
      report = on_error || ->(e) { warn("hms_ffi: #{e.class}: #{e.message}") }
      @thread = Thread.new do
        loop do
          event = begin
            _next(nil, @converters)
          rescue HmsFfi::Error => e
            report.call(e)
            next
          end
          break if event.nil?

          begin
            block.call(*event)
          rescue StandardError => e
            report.call(e)
          end
        end
      end
      @thread.name = "hms-ffi-bus"
    end
  end
end
