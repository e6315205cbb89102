# frozen_string_literal: true

# hms-ffi for Ruby: call functions written in any language through an interface described
# once in Protocol Buffers, in one process (inproc://), between processes (unix://) or over
# the network (grpc://).
#
#   server = HmsFfi::Server.new(HmsFfi::Schema.load("greeter.proto"))
#   server.method("demo.v1.Greeter/SayHello") { |req, ctx| { message: "Hello #{req[:name]}" } }
#   server.listen("unix:///tmp/greeter.sock")
#   Thread.new { server.serve }
#   HmsFfi.connect("unix:///tmp/greeter.sock").call("demo.v1.Greeter/SayHello", { name: "Ada" })
#   # => {:message=>"Hello Ada"}
module HmsFfi
end

require "json"
require_relative "hms_ffi/version"
# The native extension (Rust, magnus): the precompiled platform gem carries one per Ruby minor
# (lib/hms_ffi/3.1/hms_ffi.so); the source gem builds hms_ffi/hms_ffi.so at install.
prebuilt = File.join(__dir__, "hms_ffi", RUBY_VERSION[/\A\d+\.\d+/], "hms_ffi")
if File.file?("#{prebuilt}.#{RbConfig::CONFIG["DLEXT"]}")
  require prebuilt
else
  require "hms_ffi/hms_ffi"
end
require_relative "hms_ffi/errors"
require_relative "hms_ffi/converters"
require_relative "hms_ffi/schema"
require_relative "hms_ffi/server"
require_relative "hms_ffi/client"
require_relative "hms_ffi/stream"
require_relative "hms_ffi/bus"
