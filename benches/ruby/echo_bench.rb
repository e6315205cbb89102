# frozen_string_literal: true

# 64-byte echo over a unix socket, Ruby client, in one run:
#   * hms-ffi: Ruby client -> Ruby hms_ffi server (blocks run on the server's serving thread),
#   * hms-ffi: Ruby client -> Python hms_ffi server (benches/python/echo_bench.py --serve-hms),
#   * raw: Ruby UNIXSocket client -> Ruby UNIXSocket echo server (64 bytes each way, no framing,
#     no schema: the floor for a Ruby-to-Ruby round trip).
# Every server runs in its own process. Sequential p50/p99 of one caller, then the throughput of
# several caller threads. Run: make bench-ruby

require "fileutils"
require "hms_ffi"
require "optparse"
require "socket"
require "tmpdir"
require_relative "bench_common"

PROTO = 'syntax = "proto3"; package bench.v1; message Blob { bytes data = 1; } ' \
        "service Echo { rpc Echo(Blob) returns (Blob); }"
METHOD = "bench.v1.Echo/Echo"
PAYLOAD = (0...64).map(&:chr).join.b
ROOT = File.expand_path("../..", __dir__)

def serve_hms(sock)
  server = HmsFfi::Server.new(HmsFfi::Schema.from_source("echo.proto", PROTO))
  server.method(METHOD) { |req, _ctx| req }
  server.listen("unix://#{sock}")
  puts "ready"
  $stdout.flush
  server.serve
end

def serve_raw(sock)
  listener = UNIXServer.new(sock)
  puts "ready"
  $stdout.flush
  loop do
    conn = listener.accept
    Thread.new(conn) do |c|
      while (data = c.read(PAYLOAD.bytesize))
        c.write(data)
      end
    ensure
      c.close
    end
  end
end

opts = { n: 3000, seconds: 2.0, threads: 4, python: File.join(ROOT, "target/py-venv/bin/python") }
OptionParser.new do |o|
  o.on("--serve-hms SOCK") { |s| opts[:serve_hms] = s }
  o.on("--serve-raw SOCK") { |s| opts[:serve_raw] = s }
  o.on("-n N", Integer, "sequential calls per peer") { |v| opts[:n] = v }
  o.on("--seconds S", Float, "throughput window") { |v| opts[:seconds] = v }
  o.on("--threads T", Integer, "caller threads for throughput") { |v| opts[:threads] = v }
  o.on("--python PATH", "interpreter with the Python hms_ffi installed") { |v| opts[:python] = v }
end.parse!
exit(serve_hms(opts[:serve_hms]) || 0) if opts[:serve_hms]
exit(serve_raw(opts[:serve_raw]) || 0) if opts[:serve_raw]

dir = Dir.mktmpdir("hms-rb-bench-")
socks = { ruby: "#{dir}/ruby.sock", python: "#{dir}/python.sock", raw: "#{dir}/raw.sock" }
servers = [
  spawn_server([RbConfig.ruby, __FILE__, "--serve-hms", socks[:ruby]]),
  spawn_server([opts[:python], File.join(ROOT, "benches/python/echo_bench.py"), "--serve-hms", socks[:python]]),
  spawn_server([RbConfig.ruby, __FILE__, "--serve-raw", socks[:raw]])
]
begin
  req = { data: PAYLOAD }
  hms_call = lambda do |sock|
    lambda do
      client = HmsFfi.connect("unix://#{sock}")
      -> { client.call(METHOD, req) }
    end
  end
  raw_call = lambda do
    conn = UNIXSocket.new(socks[:raw])
    lambda do
      conn.write(PAYLOAD)
      conn.read(PAYLOAD.bytesize)
    end
  end
  peers = [
    ["hms-ffi ruby->ruby", hms_call.call(socks[:ruby])],
    ["hms-ffi ruby->python", hms_call.call(socks[:python])],
    ["raw UNIXSocket echo", raw_call]
  ]
  peers.each do |name, make|
    reply = make.call.call
    reply = reply[:data] if reply.is_a?(Hash)
    raise "#{name}: bad echo #{reply.inspect}" unless reply == PAYLOAD
  end

  rows = peers.map do |name, make|
    call = make.call
    lat = latency(opts[:n]) { call.call }
    tput = throughput(opts[:threads], opts[:seconds], make)
    [name, pct(lat, 0.5), pct(lat, 0.99), lat.sum / lat.size * 1e6, tput]
  end
  puts format("%-22s %9s %9s %9s %20s", "peer (unix, 64 B)", "p50 µs", "p99 µs", "mean µs", "#{opts[:threads]}-thread calls/s")
  rows.each { |r| puts format("%-22s %9.1f %9.1f %9.1f %20.0f", *r) }
  rr, rp, raw = rows
  puts
  puts format("ratios: p50 ruby->ruby / raw UNIXSocket = %.2f; p50 ruby->ruby / ruby->python server = %.2f; " \
              "throughput ruby->ruby / raw = %.2f", rr[1] / raw[1], rr[1] / rp[1], rr[4] / raw[4])
ensure
  stop_servers(servers, dir, "TERM")
end
