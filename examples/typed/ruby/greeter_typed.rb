# frozen_string_literal: true

# A typed Ruby client and server of demo.v1.Greeter, from `hms-ffi gen --lang ruby`.
#
#   ruby -Igen/ruby examples/typed/ruby/greeter_typed.rb serve unix:///tmp/g.sock  # until SIGTERM
#   ruby -Igen/ruby examples/typed/ruby/greeter_typed.rb call unix:///tmp/g.sock   # any greeter server
#   ruby -Igen/ruby examples/typed/ruby/greeter_typed.rb both                      # inproc://, one process
#
# `make test-gen` validates the signatures (gen/ruby/*.rbs) and runs it against every language's
# typed server, the server-streaming Chatter included.
require "hms_ffi"
require "demo_v1_hms"

# The typed server: SayHello and the server-streaming Chatter of demo.v1.Greeter.
class Greeter < Demo::V1::GreeterService
  def say_hello(request, _ctx)
    Demo::V1::HelloReply.new(message: "Hello #{request.name} from Ruby")
  end

  def chatter(request, _ctx)
    Enumerator.new do |replies|
      request.times.times { |i| replies << Demo::V1::HelloReply.new(message: "##{i} hi #{request.name}") }
    end
  end
end

def new_server
  server = HmsFfi::Server.new(HmsFfi::Schema.load("examples/protos/greeter.proto"))
  Demo::V1::GreeterService.register(server, Greeter.new)
end

def call(uri)
  greeter = Demo::V1::GreeterClient.new(HmsFfi.connect(uri), timeout: 5)
  puts greeter.say_hello(name: "Ada").message
  greeter.chatter(name: "Ada", times: 2).each { |reply| puts reply.message }
rescue HmsFfi::Unimplemented => e
  puts "(Chatter: #{e.message})"
end

case ARGV[0]
when "serve"
  server = new_server
  puts server.listen(ARGV[1])
  $stdout.flush
  server.serve
when "call"
  call(ARGV[1])
else
  server = new_server
  server.listen("inproc://typed-greeter-rb")
  serving = Thread.new { server.serve }
  call("inproc://typed-greeter-rb")
  server.shutdown
  serving.join
end
