# Ruby: the hms_ffi gem (magnus). `gem build` then `gem install --local` into target/ruby/gems;
# the gem's extconf builds the crate with cargo into this checkout's target/ (debug).
RUBY          ?= ruby
GEM           ?= gem
RUBY_GEM_HOME  = $(CURDIR)/target/ruby/gems
RUBY_ENV       = GEM_HOME=$(RUBY_GEM_HOME) GEM_PATH=$(RUBY_GEM_HOME):$$($(RUBY) -e 'print Gem.default_path.join(":")')

.PHONY: ruby-install test-ruby bench-ruby

## ruby-install: build the gem from ruby/ and install it (the native part is built by cargo).
ruby-install:
	@mkdir -p target/ruby
	cd ruby && $(GEM) build hms_ffi.gemspec --output ../target/ruby/hms_ffi.gem
	HMS_FFI_SOURCE=$(CURDIR) CARGO_TARGET_DIR=$(CURDIR)/target \
		$(GEM) install --local --no-document --install-dir $(RUBY_GEM_HOME) target/ruby/hms_ffi.gem

## test-ruby: the minitest suite against the installed gem (conformance, types, errors, threads).
test-ruby: ruby-install
	$(RUBY_ENV) $(RUBY) -Iruby/test -e 'Dir["ruby/test/test_*.rb"].sort.each { |f| require File.expand_path(f) }'

## bench-ruby: 64-byte echo over unix, Ruby client -> Ruby server, against a raw UNIXSocket
## echo and the Python hms_ffi server, p50 in one run.
bench-ruby: ruby-install py-install
	$(RUBY_ENV) $(RUBY) benches/ruby/echo_bench.rb --python $(PY_VENV)/bin/python

TEST_TARGETS += test-ruby
DEMO_DEPS    += ruby-install
MATRIX_DEPS  += ruby-install
CLIPPY_PKGS  += -p hms-ffi-ruby
