# frozen_string_literal: true

# The greeter example in Ruby: the same service as examples/rust/greeter.rs.
#
#   ruby examples/ruby/greeter.rb serve unix:///tmp/greeter.sock   # a server (Ctrl-C stops)
#   ruby examples/ruby/greeter.rb call unix:///tmp/greeter.sock Ada
#   ruby examples/ruby/greeter.rb both                             # one process, inproc://

require "hms_ffi"
require "time"

PROTO = File.expand_path("../protos/greeter.proto", __dir__)

def make_server
  server = HmsFfi::Server.new(HmsFfi::Schema.load(PROTO))
  server.method("demo.v1.Greeter/SayHello") do |req, ctx|
    if req[:name].empty?
      raise HmsFfi::InvalidArgument.new("name must not be empty", field_violations: [%w[name empty]])
    end

    puts "[ruby server] #{ctx.method_name} from #{ctx.peer}"
    $stdout.flush
    { message: (["Hello #{req[:name]} from Ruby"] * [1, req[:times]].max).join(", "), at: Time.now }
  end
  server.method("demo.v1.Greeter/Echo") { |req, _ctx| req }
  # A server-streaming block returns its replies: each is sent as the caller reads it.
  server.method("demo.v1.Greeter/Chatter") do |req, _ctx|
    Enumerator.new do |y|
      [req[:times], 3].max.times { |i| y << { message: "##{i} hi #{req[:name]} from Ruby", at: Time.now } }
    end
  end
  server
end

def call(uri, name)
  client = HmsFfi.connect(uri)
  puts "[ruby client] methods: #{client.methods.map(&:first)}"
  reply = client.call("demo.v1.Greeter/SayHello", { name: name, times: 2 }, timeout: 5)
  puts "[ruby client] SayHello -> #{reply[:message].inspect} at #{reply[:at].iso8601(3)}"
  begin
    client.stream("demo.v1.Greeter/Chatter", { name: name, times: 2 }, timeout: 5).each do |item|
      puts "[ruby client] Chatter -> #{item[:message].inspect}"
    end
  rescue HmsFfi::Unimplemented => e # a server in a language without streams yet
    puts "[ruby client] Chatter: #{e.message}"
  end
  begin
    client.call("demo.v1.Greeter/SayHello", { name: 42 })
  rescue HmsFfi::InvalidArgument => e
    puts "[ruby client] a wrong type is refused: #{e.message} #{e.field_violations}"
  end
  begin
    client.call("demo.v1.Greeter/SayHello", { name: "" })
  rescue HmsFfi::Error => e
    puts "[ruby client] the handler's error comes back typed: #{e.class}: #{e.message} (from #{e.origin})"
  end
ensure
  client&.close
end

mode, uri, name = ARGV
case mode || "both"
when "serve"
  uri ||= "unix:///tmp/hms-greeter.sock"
  server = make_server
  server.listen(uri)
  puts "[ruby server] listening on #{uri}; Ctrl-C stops"
  $stdout.flush
  server.serve # runs the blocks on this thread; returns after Ctrl-C or SIGTERM
when "call"
  call(uri || "unix:///tmp/hms-greeter.sock", name || "Ada")
when "both"
  server = make_server
  server.listen("inproc://rb-greeter")
  serving = Thread.new { server.serve }
  call("inproc://rb-greeter", "Ada")
  server.shutdown
  serving.join
else
  warn File.read(__FILE__)[/^# The greeter.*?\n\n/m]
  exit 2
end
