# frozen_string_literal: true

# Nested messages of 64 B, 1 KiB and 64 KiB (benches/protos/orders.proto), Ruby client -> Ruby
# server over a unix socket, in one run:
#   * hms-ffi: `client.call(method, order)` with the Hash a Ruby program holds; the server (its
#     own process) echoes the Hash;
#   * grpc: the stock `grpc` gem (Debian's ruby-grpc) with google-protobuf message classes built
#     at run time from the same .proto: the client builds the message from the same Hash
#     (`Order.new`), the server echoes the message, the client turns the reply into a Hash
#     (`to_h`);
#   * raw: a Ruby UNIXSocket echo of the encoded Order with a 4-byte length (the floor);
#   * hms-ffi inproc: the same call to a server in this process (no socket, both ends' value
#     walks), against google-protobuf doing those walks with no call: twice
#     Hash -> message -> bytes -> message -> Hash.
# Sequential p50/p99 of one caller per size, then the throughput of several caller threads.
# Run: make bench-ruby-payloads

require "fileutils"
require "google/protobuf"
require "google/protobuf/descriptor_pb"
require "grpc"
require "hms_ffi"
require "optparse"
require "socket"
require "tmpdir"
require_relative "bench_common"

PROTO_FILE = File.expand_path("../protos/orders.proto", __dir__)
METHOD = "bench.v1.Orders/Echo"
SIZES = [64, 1024, 64 * 1024].freeze

def schema
  HmsFfi::Schema.from_source("orders.proto", File.read(PROTO_FILE))
end

# The Order class of google-protobuf, from the descriptors hms-ffi compiled (the same .proto).
def order_class
  set = Google::Protobuf::FileDescriptorSet.decode(schema.to_descriptor_set)
  pool = Google::Protobuf::DescriptorPool.generated_pool
  set.file.each { |f| pool.add_serialized_file(Google::Protobuf::FileDescriptorProto.encode(f)) }
  pool.lookup("bench.v1.Order").msgclass
end

# An Order of about `size` bytes on the wire (benches/python/payload_bench.py's): items of
# about 100 bytes and string labels; below 100 bytes, no items.
def order(size)
  return { id: "order-0001", payload: ("\0" * (size - 16)).b, status: 2 } if size < 100

  items = Array.new(size / 100) do |i|
    { name: "item number #{i}", id: 1_000_000 + i, price: 9.99 + i,
      tags: ["red", "large", "t#{i}"], blob: (i % 7...i % 7 + 48).map(&:chr).join.b }
  end
  { id: "order-0001", items: items, labels: { "region" => "eu-west", "tier" => "gold" },
    payload: ("\0" * 16).b, status: 2 }
end

def serve_hms(sock)
  server = HmsFfi::Server.new(schema)
  server.method(METHOD) { |req, _ctx| req }
  server.listen("unix://#{sock}")
  puts "ready"
  $stdout.flush
  server.serve
end

def serve_grpc(sock)
  klass = order_class
  service = Class.new do
    include GRPC::GenericService
    self.marshal_class_method = :encode
    self.unmarshal_class_method = :decode
    self.service_name = "bench.v1.Orders"
    rpc :Echo, klass, klass
    define_method(:echo) { |req, _call| req }
  end
  server = GRPC::RpcServer.new(pool_size: 32, max_waiting_requests: 64)
  server.add_http2_port("unix:#{sock}", :this_port_is_insecure)
  server.handle(service)
  Thread.new do
    server.wait_till_running(10)
    puts "ready"
    $stdout.flush
  end
  server.run_till_terminated_or_interrupted(["TERM"])
end

def serve_raw(sock)
  listener = UNIXServer.new(sock)
  puts "ready"
  $stdout.flush
  loop do
    Thread.new(listener.accept) do |c|
      while (head = c.read(4))
        c.write(head + c.read(head.unpack1("N")))
      end
    ensure
      c.close
    end
  end
end

opts = { n: 2000, seconds: 2.0, threads: 4 }
OptionParser.new do |o|
  o.on("--serve-hms SOCK") { |s| opts[:serve_hms] = s }
  o.on("--serve-grpc SOCK") { |s| opts[:serve_grpc] = s }
  o.on("--serve-raw SOCK") { |s| opts[:serve_raw] = s }
  o.on("-n N", Integer, "sequential calls per row") { |v| opts[:n] = v }
  o.on("--seconds S", Float, "throughput window") { |v| opts[:seconds] = v }
  o.on("--threads T", Integer, "caller threads for throughput") { |v| opts[:threads] = v }
end.parse!
%i[serve_hms serve_grpc serve_raw].each do |mode|
  next unless opts[mode]

  send(mode, opts[mode])
  exit 0
end

klass = order_class
dir = Dir.mktmpdir("hms-rb-payload-")
socks = %i[hms grpc raw].to_h { |k| [k, "#{dir}/#{k}.sock"] }
servers = []
local = HmsFfi::Server.new(schema)
local.method(METHOD) { |req, _ctx| req }
local.listen("inproc://rb-payload")
serving = Thread.new { local.serve }
begin
  socks.each { |k, s| servers << spawn_server([RbConfig.ruby, __FILE__, "--serve-#{k}", s]) }
  rows = []
  SIZES.each do |size|
    data = order(size)
    wire = klass.encode(klass.new(**data))
    peers = {
      "hms-ffi unix" => lambda do
        c = HmsFfi.connect("unix://#{socks[:hms]}")
        -> { c.call(METHOD, data) }
      end,
      "grpc gem unix" => lambda do
        stub = GRPC::ClientStub.new("unix:#{socks[:grpc]}", :this_channel_is_insecure,
                                    channel_args: { "grpc.default_authority" => "localhost" })
        -> { stub.request_response("/#{METHOD}", klass.new(**data), klass.method(:encode), klass.method(:decode)).to_h }
      end,
      "raw UNIXSocket echo" => lambda do
        conn = UNIXSocket.new(socks[:raw])
        lambda do
          conn.write([wire.bytesize].pack("N") + wire)
          conn.read(conn.read(4).unpack1("N"))
        end
      end,
      "hms-ffi inproc" => lambda do
        c = HmsFfi.connect("inproc://rb-payload")
        -> { c.call(METHOD, data) }
      end,
      "google-protobuf walk" => lambda do
        lambda do
          2.times { klass.decode(klass.encode(klass.new(**data))).to_h }
        end
      end
    }
    check = peers["hms-ffi unix"].call.call
    raise "hms-ffi echo differs: #{check[:id]}" unless check[:items]&.size.to_i == data[:items]&.size.to_i && check[:payload] == data[:payload]
    raise "grpc echo differs" unless peers["grpc gem unix"].call.call[:payload] == data[:payload]

    peers.each do |name, make|
      call = make.call
      lat = latency(opts[:n]) { call.call }
      tput = name.end_with?("walk", "inproc") ? 0 : throughput(opts[:threads], opts[:seconds], make)
      rows << [name, size, wire.bytesize, pct(lat, 0.5), pct(lat, 0.99), tput]
    end
  end
  puts format("%-22s %6s %6s %9s %9s %18s", "row", "size", "wire", "p50 µs", "p99 µs", "#{opts[:threads]}-thread calls/s")
  rows.each { |r| puts format("%-22s %6d %6d %9.1f %9.1f %18.0f", *r) }
  puts
  by = rows.to_h { |r| [[r[0], r[1]], r] }
  SIZES.each do |size|
    hms, grpc, raw, inproc, walk = ["hms-ffi unix", "grpc gem unix", "raw UNIXSocket echo", "hms-ffi inproc",
                                    "google-protobuf walk"].map { |n| by[[n, size]] }
    puts format("%6d B: hms/raw p50 = %.2f (target <= 2), hms/grpc p50 = %.2f, hms/grpc throughput = %.2fx, " \
                "inproc/google-protobuf walk p50 = %.2f (target <= 1 at 1 KiB)",
                size, hms[3] / raw[3], hms[3] / grpc[3], hms[5] / grpc[5], inproc[3] / walk[3])
  end
ensure
  local.shutdown
  serving.join(10)
  stop_servers(servers, dir, "KILL")
end
