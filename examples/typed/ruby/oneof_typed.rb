# The oneof `choice` of hms.conformance.v1.AllTypes, typed by `hms-ffi gen --lang ruby`: each
# case (one member set, or none) round-trips through a generated Conformance service's Echo,
# called with the generated client over inproc, and reads back with `which_choice` (the
# member's Symbol, nil when none is set; `(:text | :number | :item)?` in the RBS) and `choice`
# (its value). Two members set is the core's INVALID_ARGUMENT.
#
#   ruby -Igen/ruby examples/typed/ruby/oneof_typed.rb   # a line per check; non-zero on a failure
#
# `make test-gen` (scripts/check-typed.sh) runs it when the hms_ffi gem is installed.
require "hms_ffi"
require "hms_conformance_v1_hms"

V1 = Hms::Conformance::V1

# Echo gives the request back, its oneof included.
class Echo < V1::ConformanceService
  def echo(request, _ctx) = request
end

def ok(what, got, want)
  raise "#{what}: got #{got.inspect}, want #{want.inspect}" unless got == want

  puts "#{what}: ok"
end

server = V1::ConformanceService.register(HmsFfi::Server.new(HmsFfi::Schema.load("tests/conformance/conformance.proto")), Echo.new)
server.listen("inproc://typed-oneof-rb")
serving = Thread.new { server.serve }
begin
  client = V1::ConformanceClient.new(HmsFfi.connect("inproc://typed-oneof-rb"), timeout: 10)
  cases = [[{ text: "hi" }, :text, "hi"], [{ number: 0 }, :number, 0], [{ item: V1::Item.new(name: "tea") }, :item, V1::Item.new(name: "tea")], [{}, nil, nil]]
  cases.each do |fields, which, value|
    reply = client.echo(**fields, tags: ["x"])
    ok("oneof, #{which || 'none'}", [reply.which_choice, reply.choice], [which, value])
  end
  begin
    client.echo(text: "hi", number: 7)
    raise "oneof, two members set: accepted"
  rescue HmsFfi::InvalidArgument
    puts "oneof, two members set: INVALID_ARGUMENT (the core's rule): ok"
  end
ensure
  server.shutdown
  serving.join
end
