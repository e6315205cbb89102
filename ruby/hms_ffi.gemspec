# frozen_string_literal: true

require_relative "lib/hms_ffi/version"

# One gemspec, two gems (ruby/stage_gem.rb lays out the tree `gem build` packs):
# - a tree with a prebuilt library under lib/hms_ffi/<ruby minor>/ (`stage_gem.rb --native`)
#   gives the precompiled platform gem (e.g. hms_ffi-0.1.0-x86_64-linux.gem): no extension to
#   build, so `gem install` needs no cargo; it is for the platform and Ruby minor it was built on;
# - any other tree gives the source gem: the extension is built with cargo at install (release).
#   Built from a tree laid out by ruby/stage_gem.rb, it packs the Rust sources (crates/,
#   Cargo.toml, Cargo.lock); built in ruby/ itself, it builds from the checkout.
prebuilt = Dir["lib/hms_ffi/[0-9]*.[0-9]*/hms_ffi.{so,bundle}"]

Gem::Specification.new do |spec|
  spec.name = "hms_ffi"
  spec.version = HmsFfi::VERSION
  spec.summary = "Call functions across languages through one Protocol Buffers interface"
  spec.description = "Ruby bindings of hms-ffi: a Rust core (magnus) that serves and calls " \
                     "methods described in .proto files, in one process, over unix sockets or gRPC."
  spec.authors = ["hms-ffi authors"]
  spec.license = "Apache-2.0"
  spec.homepage = "https://github.com/hms-ffi/hms-ffi"
  spec.require_paths = ["lib"]
  spec.files = Dir["lib/**/*.rb"] + Dir["LICENSE"]
  if prebuilt.empty?
    spec.required_ruby_version = ">= 3.0"
    spec.files += ["ext/hms_ffi/extconf.rb"] + Dir["crates/**/*.{rs,toml,html,proto}"] + Dir["Cargo.{toml,lock}"]
    spec.extensions = ["ext/hms_ffi/extconf.rb"]
  else
    minors = prebuilt.map { |f| Gem::Version.new(f[%r{\Alib/hms_ffi/(\d+\.\d+)/}, 1]) }.sort
    upper = minors.last.segments.then { |major, minor| "#{major}.#{minor + 1}.dev" }
    spec.platform = Gem::Platform.local
    spec.required_ruby_version = [">= #{minors.first}", "< #{upper}"]
    spec.files += prebuilt
  end
end
