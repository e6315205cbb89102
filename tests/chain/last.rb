# frozen_string_literal: true

# Ruby's link of the chain (chain.proto): `ruby last.rb URI` serves chain.v1.Chain/Call until
# SIGTERM, prints "ready"; events go to $HMS_CHAIN_LOG as JSON lines.
require "hms_ffi"
require "json"

def log(event)
  File.open(ENV.fetch("HMS_CHAIN_LOG"), "a") { |f| f.puts(JSON.generate({ lang: "ruby" }.merge(event))) }
end

clients = {}
schema = HmsFfi::Schema.load(File.join(__dir__, "chain.proto"))
server = HmsFfi::Server.new(schema)
server.method("chain.v1.Chain/Call") do |req, ctx|
  start = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  elapsed = -> { ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - start) * 1000).round }
  left = ctx.time_remaining ? ctx.time_remaining * 1000 : -1.0
  nxt, *rest = req[:next] || []
  if nxt.nil?
    stop = start + req[:sleep_ms].to_i / 1000.0
    sleep 0.005 while !ctx.cancelled? && Process.clock_gettime(Process::CLOCK_MONOTONIC) < stop
    log(tag: req[:tag], event: "last", left_ms: left, cancelled: ctx.cancelled?, elapsed_ms: elapsed.call)
    next { lang: "ruby", left_ms: left, cancelled: ctx.cancelled? }
  end
  begin
    clients[nxt] ||= HmsFfi.connect(nxt)
    clients[nxt].call("chain.v1.Chain/Call", { next: rest, sleep_ms: req[:sleep_ms], tag: req[:tag] })
  rescue HmsFfi::Error => e
    log(tag: req[:tag], event: "hop", left_ms: left, code: e.code.to_s.upcase, elapsed_ms: elapsed.call)
    raise
  end
end
server.listen(ARGV.fetch(0))
puts "ready"
$stdout.flush
server.serve
