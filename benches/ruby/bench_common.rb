# frozen_string_literal: true

# What the Ruby benches share: starting a server process, the clock, sequential latencies,
# the throughput of several caller threads and percentiles.

def spawn_server(cmd)
  io = IO.popen(cmd)
  line = io.gets&.strip
  raise "#{cmd.inspect} did not start (said #{line.inspect})" unless line == "ready"

  io
end

def clock
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

def latency(n)
  [200, n].min.times { yield }
  Array.new(n) do
    t = clock
    yield
    clock - t
  end
end

def throughput(threads, seconds, make_call)
  stop = clock + seconds
  counts = Array.new(threads) do
    Thread.new do
      call = make_call.call
      count = 0
      while clock < stop
        call.call
        count += 1
      end
      count
    end
  end.map(&:value)
  counts.sum / seconds
end

def pct(xs, p)
  xs.sort[[xs.size - 1, (xs.size * p).to_i].min] * 1e6
end

# Stops the server processes `servers` (IO.popen handles) with `signal` and removes `dir`.
def stop_servers(servers, dir, signal)
  servers.each do |io|
    Process.kill(signal, io.pid)
    Process.wait(io.pid)
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  end
  FileUtils.rm_rf(dir)
end
