# frozen_string_literal: true

require "minitest/autorun"
require "fileutils"
require "tmpdir"
require_relative "vectors"

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
