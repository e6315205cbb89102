# frozen_string_literal: true

require "minitest/autorun"
require "fileutils"
require "open3"
require "rbconfig"
require "tmpdir"
require_relative "vectors"

# Child processes for the tests that send signals: the child's signal handling never depends on
# what this process inherited, and no wait lasts forever.
module Children
  DEFAULT_SIGNALS = File.join(__dir__, "default_signals.rb")

  # Runs `ruby *args` with SIGINT and SIGTERM at Ruby's defaults (default_signals.rb); yields its
  # stdout and wait thread, and kills it if it still runs when the block ends.
  def ruby_child(*args)
    Open3.popen2(RbConfig.ruby, "-r", DEFAULT_SIGNALS, *args) do |stdin, stdout, wait|
      stdin.close
      yield stdout, wait
    ensure
      kill_child(wait)
    end
  end

  # The child's next line of output; fails the test if none comes within `timeout` seconds.
  def child_line(stdout, wait, timeout: 15)
    return stdout.gets&.chomp if IO.select([stdout], nil, nil, timeout)

    kill_child(wait)
    flunk "child #{wait.pid} wrote no line within #{timeout}s"
  end

  # The child's Process::Status once it ended; past `timeout` seconds it is killed and the test
  # fails with what it wrote.
  def finish_child(stdout, wait, timeout: 15)
    return wait.value if wait.join(timeout)

    kill_child(wait)
    flunk "child #{wait.pid} did not end within #{timeout}s; it wrote: #{stdout.read.inspect}"
  end

  def kill_child(wait)
    Process.kill("KILL", wait.pid) if wait.alive?
    wait.join(10)
  rescue Errno::ESRCH
    nil
  end
end

# A conformance server served by a Ruby thread, on a fresh inproc name or unix socket.
module Served
  SERVICE = Vectors::SERVICE
  ECHO = "#{SERVICE}/Echo"
  SCALARS = "#{SERVICE}/EchoScalars"
  SLEEP = "#{SERVICE}/Sleep"
  @count = 0

  def self.next_name
    @count += 1
    "inproc://rb-test-#{Process.pid}-#{@count}"
  end

  # The conformance server on inproc and unix, served by `threads` Ruby threads until the tests
  # end: [server, { "inproc" => uri, "unix" => uri }].
  def self.conformance_on_both(name, threads: 1)
    dir = Dir.mktmpdir("hms-rb-#{name}-")
    server = Vectors.conformance_server
    uris = {
      "inproc" => server.listen("inproc://rb-#{name}-#{Process.pid}"),
      "unix" => server.listen("unix://#{dir}/#{name}.sock")
    }.freeze
    serving = Thread.new { server.serve(threads: threads) }
    Minitest.after_run do
      server.shutdown(grace: 1.0)
      serving.join(5)
      FileUtils.rm_rf(dir)
    end
    [server, uris]
  end

  # Starts `server` on `uri` in a serving thread; returns [thread, client].
  def start(server, uri = Served.next_name)
    server.listen(uri)
    thread = Thread.new { server.serve }
    [thread, HmsFfi.connect(uri)]
  end

  def unix_uri(name = "rb.sock")
    @tmp ||= Dir.mktmpdir("hms-rb-")
    "unix://#{File.join(@tmp, name)}"
  end

  def teardown
    @stop&.call
    FileUtils.rm_rf(@tmp) if @tmp
  end

  # The conformance server on a new endpoint, stopped after the test; returns the client.
  def conformance_client(uri = Served.next_name, **options)
    server = Vectors.conformance_server(**options)
    thread, client = start(server, uri)
    @stop = lambda do
      client.close
      server.shutdown(grace: 1.0)
      thread.join(5)
    end
    @server = server
    @serving = thread
    client
  end
end
