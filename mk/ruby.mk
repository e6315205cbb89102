# Ruby: the hms_ffi gem (magnus). ruby/stage_gem.rb lays out a self-contained gem source (Ruby
# files + the binding crate and hms-ffi-core), `gem build` packs it, `gem install --local` installs
# it into target/ruby/gems; the gem's extconf builds the crate with cargo, here in debug unless
# HMS_FFI_PROFILE=release is set (a user's `gem install` builds release), sharing this checkout's
# target/ so dependencies are compiled once. The packages a user installs: scripts/dist/ruby.sh.
RUBY          ?= ruby
GEM           ?= gem
RUBY_GEM_HOME  = $(CURDIR)/target/ruby/gems
HMS_FFI_PROFILE ?= debug
RUBY_ENV       = GEM_HOME=$(RUBY_GEM_HOME) GEM_PATH=$(RUBY_GEM_HOME):$$($(RUBY) -e 'print Gem.default_path.join(":")')

.PHONY: ruby-install test-ruby bench-ruby bench-ruby-payloads

## ruby-install: build the gem (Ruby and Rust sources) and install it; cargo builds the native part.
ruby-install:
	$(RUBY) ruby/stage_gem.rb target/ruby/gem-src
	cd target/ruby/gem-src && $(GEM) build hms_ffi.gemspec --output ../hms_ffi.gem
	CARGO_TARGET_DIR=$(CURDIR)/target HMS_FFI_PROFILE=$(HMS_FFI_PROFILE) \
		$(GEM) install --local --no-document --install-dir $(RUBY_GEM_HOME) target/ruby/hms_ffi.gem

## test-ruby: the minitest suite against the installed gem (conformance, types, errors, threads);
## test_revisions.rb serves with the CLI.
test-ruby: ruby-install cli-bin
	$(RUBY_ENV) $(RUBY) -Iruby/test -e 'Dir["ruby/test/test_*.rb"].sort.each { |f| require File.expand_path(f) }'

## bench-ruby: 64-byte echo over unix, Ruby client -> Ruby server, against a raw UNIXSocket
## echo and the Python hms_ffi server, p50 in one run.
bench-ruby: ruby-install py-install
	$(RUBY_ENV) $(RUBY) benches/ruby/echo_bench.rb --python $(PY_VENV)/bin/python

TEST_TARGETS += test-ruby
DEMO_DEPS    += ruby-install
MATRIX_DEPS  += ruby-install
CLIPPY_PKGS  += -p hms-ffi-ruby

## bench-ruby-payloads: nested 64 B / 1 KiB / 64 KiB messages over unix, Ruby -> Ruby: hms-ffi vs
## the grpc gem (Debian's ruby-grpc) vs a raw UNIXSocket echo, and the value walk vs
## google-protobuf's (benches/ruby/payload_bench.rb). Build with HMS_FFI_PROFILE=release.
bench-ruby-payloads: ruby-install
	@$(RUBY) -e 'require "grpc"; require "google/protobuf"' 2>/dev/null || \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q ruby-grpc ruby-google-protobuf >/dev/null
	$(RUBY_ENV) $(RUBY) benches/ruby/payload_bench.rb
