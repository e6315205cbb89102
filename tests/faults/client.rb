# frozen_string_literal: true

# Ruby's client of the fault proof (tests/faults/test_faults.py):
#   ruby client.rb PROTO RESILIENCE PREFIX CALLS CALLERS URI...
# CALLERS threads make CALLS / CALLERS calls each of res.v1.Counter/Get (IDEMPOTENT), then of
# res.v1.Counter/Add, with ids PREFIX-KIND-CALLER-N; each reply must carry its own id. Prints one
# JSON line (see client.py).
require "hms_ffi"
require "json"

METHODS = { "get" => "res.v1.Counter/Get", "add" => "res.v1.Counter/Add" }.freeze

proto, resilience, prefix, calls, callers, *uris = ARGV
per = calls.to_i / callers.to_i
client = HmsFfi.connect(uris, schema: HmsFfi::Schema.load(proto), resilience: resilience)
summary = { "get" => { "ok" => 0, "unavailable" => 0 }, "add" => { "ok" => 0, "unavailable" => 0 },
            "wrong" => 0, "other" => 0, "errors" => [] }
lock = Mutex.new
METHODS.each do |kind, method|
  Array.new(callers.to_i) do |t|
    Thread.new do
      per.times do |n|
        id = "#{prefix}-#{kind}-#{t}-#{n}"
        begin
          reply = client.call(method, { id: id }, timeout: 20)
          if reply[:id] == id
            lock.synchronize { summary[kind]["ok"] += 1 }
          else
            lock.synchronize do
              summary["wrong"] += 1
              summary["errors"] << "#{id}: got the reply of #{reply[:id].inspect}" if summary["errors"].size < 10
            end
          end
        rescue HmsFfi::Unavailable
          lock.synchronize { summary[kind]["unavailable"] += 1 }
        rescue StandardError => e
          lock.synchronize do
            summary["other"] += 1
            summary["errors"] << "#{id}: #{e.class}: #{e.message}" if summary["errors"].size < 10
          end
        end
      end
    end
  end.each(&:join)
end
client.close
puts JSON.generate(summary)
$stdout.flush
