# frozen_string_literal: true

# Threads: blocks run on the thread that calls serve, several Ruby threads call at once,
# waits release the GVL and are interruptible, shutdown from another thread or a signal.

require_relative "test_helper"
require "open3"
require "rbconfig"

class ContextAndThreadsTest < Minitest::Test
  include Served
  include Children

  def test_context_carries_method_metadata_deadline_and_transport
    seen = Queue.new
    server = HmsFfi::Server.new(HmsFfi::Schema.load(Vectors::PROTO))
    server.method(ECHO) do |req, ctx|
      seen << [ctx.method_name, ctx.metadata, ctx.deadline, ctx.time_remaining, ctx.transport, ctx.cancelled?, ctx.trace_id]
      req
    end
    thread, client = start(server, unix_uri)
    @stop = lambda { server.shutdown(grace: 1.0); thread.join(5) }
    client.call(ECHO, {}, timeout: 5, metadata: { "x-user" => "ada", trace: 7 })
    method, metadata, deadline, left, transport, cancelled, trace_id = seen.pop
    assert_equal ECHO, method
    assert_equal "ada", metadata["x-user"]
    assert_equal "7", metadata["trace"]
    assert_instance_of Time, deadline
    assert_in_delta Time.now + 5, deadline, 1.0
    assert_operator left, :>, 3.0
    assert_equal "unix", transport
    refute cancelled
    refute_empty trace_id
    client.call(ECHO, {})
    assert_nil seen.pop[2]
  end

  def test_many_ruby_threads_call_at_once_and_every_block_runs_on_the_serving_thread
    runners = Queue.new
    server = HmsFfi::Server.new(HmsFfi::Schema.load(Vectors::PROTO))
    server.method(ECHO) do |req, _ctx|
      runners << Thread.current
      req
    end
    serving, = start(server, unix_uri)
    @stop = lambda { server.shutdown(grace: 1.0); serving.join(5) }
    uri = server.endpoints.first
    callers = Array.new(8) do |i|
      Thread.new do
        client = HmsFfi.connect(uri)
        Array.new(25) { |j| client.call(ECHO, { unicode_text: "caller #{i} call #{j}" })[:unicode_text] }
      end
    end
    replies = callers.map(&:value)
    replies.each_with_index do |texts, i|
      assert_equal Array.new(25) { |j| "caller #{i} call #{j}" }, texts
    end
    threads = Array.new(200) { runners.pop }
    assert_equal [serving], threads.uniq
  end

  def test_shutdown_from_another_thread_ends_serve
    client = conformance_client(unix_uri)
    assert_equal({}, client.call(SLEEP, { millis: 1 }))
    assert_nil @serving.join(0.2), "serve returned early"
    @server.shutdown(grace: 1.0)
    assert @serving.join(5), "serve did not return"
    assert @server.stopped?
    assert_raises(HmsFfi::Unavailable) { client.call(SLEEP, { millis: 1 }) }
  end

  def test_shutdown_from_a_block_answers_that_call_then_ends_serve
    server = HmsFfi::Server.new(HmsFfi::Schema.load(Vectors::PROTO))
    server.method(ECHO) do |req, _ctx|
      server.shutdown(grace: 1.0)
      req
    end
    serving, client = start(server)
    assert_equal "last", client.call(ECHO, { unicode_text: "last" })[:unicode_text]
    assert serving.join(5), "serve did not return"
  end

  def test_a_waiting_client_call_is_interrupted_by_thread_raise
    client = conformance_client(unix_uri)
    caller = Thread.new do
      client.call(SLEEP, { millis: 10_000 })
    rescue RuntimeError => e
      e
    end
    sleep 0.3
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    caller.raise(RuntimeError, "stop waiting")
    assert_equal "stop waiting", caller.value.message
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, :<, 5
    assert_equal({}, client.call(SLEEP, { millis: 1 }))
  end

  def serve_in_child(signal, ignored: false)
    script = <<~RUBY
      #{ignored ? "trap(#{signal.inspect}, 'IGNORE') # as a background job of a shell leaves it" : ''}
      require #{File.join(__dir__, 'vectors').inspect}
      server = Vectors.conformance_server
      server.listen(ARGV[0])
      puts "ready"
      $stdout.flush
      server.serve
      puts "serve returned, stopped=\#{server.stopped?}"
    RUBY
    uri = unix_uri("#{signal}.sock")
    ruby_child("-e", script, uri) do |stdout, wait|
      assert_equal "ready", child_line(stdout, wait)
      assert_equal({}, HmsFfi.connect(uri).call(SLEEP, { millis: 1 }))
      Process.kill(signal, wait.pid)
      assert_equal "serve returned, stopped=true", child_line(stdout, wait)
      status = finish_child(stdout, wait)
      assert status.success?, status.inspect
    end
  end

  def test_sigterm_ends_serve
    serve_in_child("TERM")
  end

  def test_sigint_ends_serve
    serve_in_child("INT")
  end

  def test_sigint_ends_serve_even_when_the_process_started_with_it_ignored
    serve_in_child("INT", ignored: true)
  end

  def test_sigterm_ends_serve_even_when_the_process_started_with_it_ignored
    serve_in_child("TERM", ignored: true)
  end
end
