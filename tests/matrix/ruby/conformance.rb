# frozen_string_literal: true

# The Ruby side of the cross-language matrix (tests/matrix/run.py).
#
#   ruby conformance.rb serve unix:///tmp/x.sock    # the conformance service until SIGTERM/SIGINT
#   ruby conformance.rb client unix:///tmp/x.sock   # every vector as a client

require_relative "../../../ruby/test/vectors"

mode, uri = ARGV
if mode == "serve"
  server = Vectors.conformance_server
  server.listen(uri)
  puts "ready"
  $stdout.flush
  server.serve # returns on SIGTERM/SIGINT after a graceful shutdown
  exit 0
end

client = HmsFfi.connect(uri)
passed = failed = 0
Vectors.load_cases.each do |kase|
  why = Vectors.check(kase, client)
  if why
    failed += 1
    puts "FAIL #{kase.id}: #{why}"
  else
    passed += 1
  end
end
puts "#{passed} passed, #{failed} failed"
exit(failed.zero? ? 0 : 1)
