# The three stream kinds and the oneof of hms.conformance.v1.Conformance, typed by
# `hms-ffi gen --lang ruby`: a generated client calls a generated service over inproc — a server
# stream and a bidirectional one read as Enumerators of messages, a client stream sent from an
# Array — and each case of the oneof `choice` (one member set, or none) round-trips through
# Echo, read back with `which_choice` (the member's Symbol, nil when none is set;
# `(:text | :number | :item)?` in the RBS) and `choice` (its value). Two members set is the
# core's INVALID_ARGUMENT.
#
#   ruby -Igen/ruby examples/typed/ruby/streams_typed.rb   # a line per check; non-zero on a failure
#
# `make test-gen` (scripts/check-typed.sh) runs it when the hms_ffi gem is installed.
require "hms_ffi"
require "hms_conformance_v1_hms"

V1 = Hms::Conformance::V1

# The typed service: Echo gives the request back, its oneof included; the streaming methods.
class Streams < V1::ConformanceService
  def echo(request, _ctx) = request

  # One reply per tag of the request, numbered: the oneof's `number` set.
  def server_stream(request, _ctx)
    request.tags.each_with_index.map { |tag, i| V1::AllTypes.new(tags: [tag], number: i) }
  end

  # Every request's items in one reply, with the quantity of each by name.
  def client_stream(requests, _ctx)
    items = requests.flat_map(&:items)
    V1::AllTypes.new(items: items, counts: items.to_h { |i| [i.name, i.qty] })
  end

  # A reply to each request as it comes: its text upper-cased, its numbers summed.
  def bidi(requests, _ctx)
    requests.lazy.map { |r| V1::AllTypes.new(text: r.text&.upcase, wrapped_int: r.numbers.sum) }
  end
end

def ok(what, got, want)
  raise "#{what}: got #{got.inspect}, want #{want.inspect}" unless got == want

  puts "#{what}: ok"
end

server = V1::ConformanceService.register(HmsFfi::Server.new(HmsFfi::Schema.load("tests/conformance/conformance.proto")), Streams.new)
server.listen("inproc://typed-streams-rb")
serving = Thread.new { server.serve }
begin
  client = V1::ConformanceClient.new(HmsFfi.connect("inproc://typed-streams-rb"), timeout: 10)
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
  numbered = client.server_stream(tags: %w[a b c]).map { |r| [r.tags, r.which_choice, r.choice] }
  ok("server streaming", numbered, [[["a"], :number, 0], [["b"], :number, 1], [["c"], :number, 2]])
  orders = [V1::AllTypes.new(items: [V1::Item.new(name: "tea", price: 2.5, qty: 2)]), V1::AllTypes.new(items: [V1::Item.new(name: "cake", price: 4.0, qty: 1)])]
  total = client.client_stream(orders)
  ok("client streaming", [total.items.map(&:name), total.counts], [%w[tea cake], { "tea" => 2, "cake" => 1 }])
  said = [V1::AllTypes.new(text: "hi", numbers: [1, 2]), V1::AllTypes.new(number: 3, numbers: [40, 2])]
  answers = client.bidi(said).map { |r| [r.which_choice, r.choice, r.wrapped_int] }
  ok("bidi streaming", answers, [[:text, "HI", 3], [nil, nil, 42]])
ensure
  server.shutdown
  serving.join
end
