# frozen_string_literal: true

require_relative "lib/hms_ffi/version"

Gem::Specification.new do |spec|
  spec.name = "hms_ffi"
  spec.version = HmsFfi::VERSION
  spec.summary = "Call functions across languages through one Protocol Buffers interface"
  spec.description = "Ruby bindings of hms-ffi: a Rust core (magnus) that serves and calls " \
                     "methods described in .proto files, in one process, over unix sockets or gRPC."
  spec.authors = ["hms-ffi authors"]
  spec.license = "Apache-2.0"
  spec.homepage = "https://github.com/hms-ffi/hms-ffi"
  spec.required_ruby_version = ">= 3.0"
  # Built from a tree laid out by ruby/stage_gem.rb, the gem also packs the Rust sources
  # (crates/, Cargo.toml, Cargo.lock); built in ruby/ itself, it builds from the checkout.
  spec.files = Dir["lib/**/*.rb"] + ["ext/hms_ffi/extconf.rb"] +
               Dir["crates/**/*.{rs,toml}"] + Dir["Cargo.{toml,lock}"]
  spec.require_paths = ["lib"]
  spec.extensions = ["ext/hms_ffi/extconf.rb"]
end
