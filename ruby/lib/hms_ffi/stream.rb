# frozen_string_literal: true

module HmsFfi
  # A streaming call (Client#stream): an Enumerable over the replies. Requests given to
  # Client#stream are sent from a thread of their own while the replies are read (the one
  # request of a server-streaming call, or any Enumerable); without them, #send_request and
  # #close_send do it by hand. Leaving #each early (break, an exception) cancels the call. The
  # stream rules — flow control, deadlines, cancellation, one reply for a client-streaming
  # call — are the core's.
  class Stream
    include Enumerable

    # `converters`: the client's, as Converters.native gives them (nil for none).
    def initialize(native, requests, converters = nil)
      @native = native
      @converters = converters
      @failure = nil
      @done = false
      @feeder = requests.nil? ? nil : feed(requests)
    end

    # `:server_streaming`, `:client_streaming` or `:bidi_streaming`.
    def kind
      @native.kind.to_sym
    end

    # Sends one request (a Hash); waits while the server's window is full.
    def send_request(request)
      @native.send_request(request, @converters)
      self
    end
    alias << send_request

    # Half-closes: no more requests.
    def close_send
      @native.close_send
      self
    end

    # Cancels the call: the server's handler sees it; the next read raises HmsFfi::Cancelled.
    def cancel
      @native.cancel
      self
    end

    # Yields each reply (a Hash); raises the call's error after the replies sent before it.
    # Without a block, an Enumerator.
    def each
      return enum_for(:each) unless block_given?

      finished = false
      until @done
        reply = next_reply
        break if reply.nil?

        yield reply
      end
      finished = true
      self
    ensure
      cancel unless finished || @done
    end

    # The one reply of a client-streaming call, read to the end (HmsFfi::Internal when the
    # server sent none or more than one).
    def result
      @done = true
      reply = @native.recv_only(@converters)
      raise @failure if @failure

      reply
    rescue HmsFfi::Cancelled => e
      raise @failure || e
    ensure
      @feeder&.join(5)
    end

    # The response headers (nil until they arrive) and trailers (complete at the end), as
    # Hashes of Strings.
    def headers
      @native.headers
    end

    def trailers
      @native.trailers
    end

    private

    def next_reply
      reply = @native.recv(@converters)
      @done = true if reply.nil?
      raise @failure if reply.nil? && @failure

      reply
    rescue HmsFfi::Error => e
      @done = true
      raise @failure || e
    end

    # Sends `requests` from a thread of its own; what breaks them cancels the call and is
    # raised to the reader instead of its HmsFfi::Cancelled.
    def feed(requests)
      requests = [requests] if kind == :server_streaming && requests.is_a?(Hash)
      unless requests.respond_to?(:each)
        raise TypeError, "a #{kind} call takes an Enumerable of requests, not #{requests.class}"
      end

      Thread.new do
        requests.each { |r| @native.send_request(r, @converters) }
        @native.close_send
      rescue StandardError => e
        @failure = e
        @native.cancel
      end.tap { |t| t.report_on_exception = false }
    end
  end

  # Runs streaming handlers on the serving thread, by the method's kind: server-streaming
  # `{ |request, ctx| replies }`, client-streaming `{ |requests, ctx| reply }`, bidi
  # `{ |requests, ctx| replies }`, where `requests` is an Enumerator that reads as it is
  # iterated and `replies` any Enumerable (an Enumerator, an Array, a lazy enumerator), each
  # reply sent as the caller reads it. Requests and replies are converted by the server's
  # `converters` (as Converters.native gives them; nil for none).
  module StreamRunner
    def self.for(kind, block, converters = nil)
      case kind
      when "server_streaming"
        ->(stream, ctx) { send_all(kind, block.call(stream.recv_first(converters), ctx), stream, converters) }
      when "client_streaming"
        ->(stream, ctx) { stream.send_reply(block.call(requests(stream, converters), ctx), converters) }
      else
        ->(stream, ctx) { send_all(kind, block.call(requests(stream, converters), ctx), stream, converters) }
      end
    end

    def self.requests(stream, converters)
      Enumerator.new do |y|
        loop do
          request = stream.recv(converters)
          break if request.nil?

          y << request
        end
      end
    end

    def self.send_all(kind, replies, stream, converters)
      if replies.is_a?(Hash) || !replies.respond_to?(:each)
        raise TypeError, "a #{kind} handler returns its replies (an Enumerable), not #{replies.class}"
      end

      replies.each { |reply| stream.send_reply(reply, converters) }
      nil
    end
  end
end
