# frozen_string_literal: true

require "socket"
require "timeout"
require "tmpdir"

# A nats-server of the test's own on a free port while a block runs (skipped, saying so, only
# when nats-server is not installed: scripts/install-nats.sh). With `jetstream: true` it stores
# streams in a temporary directory removed afterwards.
module NatsServer
  NATS_BIN = ENV.fetch("HMS_FFI_NATS_SERVER", File.expand_path("../../target/tools/nats/bin/nats-server", __dir__))

  # Yields "127.0.0.1:PORT" once the server listens (at most 10 s), then stops it.
  def with_nats(jetstream: false)
    skip "nats-server is not installed (#{NATS_BIN}): run scripts/install-nats.sh" unless File.executable?(NATS_BIN)
    return Dir.mktmpdir("hms-js-") { |store| run_nats(["-js", "-sd", store]) { |a| yield a } } if jetstream

    run_nats([]) { |a| yield a }
  end

  private

  def run_nats(extra)
    port = TCPServer.open("127.0.0.1", 0) { |s| s.addr[1] }
    pid = Process.spawn(NATS_BIN, "-a", "127.0.0.1", "-p", port.to_s, *extra, %i[out err] => File::NULL)
    begin
      deadline = Time.now + 10
      begin
        TCPSocket.new("127.0.0.1", port).close
      rescue SystemCallError
        flunk "nats-server did not start" if Time.now > deadline
        sleep 0.02
        retry
      end
      yield "127.0.0.1:#{port}"
    ensure
      Process.kill("TERM", pid)
      Timeout.timeout(10) { Process.wait(pid) }
    end
  end
end
