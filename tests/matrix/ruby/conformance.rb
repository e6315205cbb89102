# frozen_string_literal: true

# The Ruby side of the cross-language matrix (tests/matrix/run.py).
#
#   ruby conformance.rb serve unix:///tmp/x.sock    # the conformance service until SIGTERM/SIGINT
#   ruby conformance.rb client unix:///tmp/x.sock   # every vector and semantics case as a client
#   ruby conformance.rb streams grpc://127.0.0.1:P  # every streaming vector (schema given)
#
# The client prints `FAIL id: why` per failed vector and its `N passed, M failed`, then runs the
# call-semantics cases (`FAIL name: why`, `SKIP name: reason`) and the streaming ones (skipped
# with one SKIP line when the server does not stream), and ends with the totals of all,
# `N passed, M failed, K skipped`.

require_relative "../../../ruby/test/vectors"

mode, uri = ARGV
if mode == "serve"
  server = Vectors.conformance_server
  server.listen(uri)
  puts "ready"
  $stdout.flush
  # Two threads: Semantics/Relay waits on a call to this same server while the other serves it.
  server.serve(threads: 2) # returns on SIGTERM/SIGINT after a graceful shutdown
  exit 0
end

if mode == "streams"
  # Every streaming vector, with the conformance schema given (a server without discovery).
  client = HmsFfi.connect(uri, schema: HmsFfi::Schema.load(Vectors::PROTO))
  passed, failed, = StreamVectors.run_all(client)
  puts "#{passed} passed, #{failed} failed"
  exit(failed.zero? ? 0 : 1)
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
sem_passed, sem_failed, skipped = Semantics.run_all(client, uri)
stream_passed, stream_failed, stream_skipped = StreamVectors.run_all(client)
passed += sem_passed + stream_passed
failed += sem_failed + stream_failed
skipped += stream_skipped
puts "#{passed} passed, #{failed} failed, #{skipped} skipped"
exit(failed.zero? ? 0 : 1)
