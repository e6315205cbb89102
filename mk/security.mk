# Security: cargo-fuzz targets for every decoder that reads bytes from a peer (fuzz/, its own
# workspace). The security tests themselves run in test-core, test-cli and test-py.

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := frame value_schema value_cbor policy shm_ring
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets a stable toolchain provide them.
FUZZ_ENV     ?= RUSTC_BOOTSTRAP=1
# The core forbids unsafe code, so coverage-guided fuzzing without AddressSanitizer finds what
# matters here (panics, hangs, runaway memory) with half the build; FUZZ_SANITIZER=address for ASan.
FUZZ_SANITIZER ?= none

.PHONY: fuzz-security fuzz-install

fuzz-install:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked

## fuzz-security: each cargo-fuzz target for FUZZ_SECONDS; new inputs land in fuzz/corpus/<target>/.
fuzz-security: fuzz-install
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		mkdir -p corpus/$$t; \
		$(FUZZ_ENV) cargo fuzz run -s $(FUZZ_SANITIZER) $$t corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=1024 -print_final_stats=1 || exit 1; \
	done

# The TLS interop tests (tests/interop/test_tls.py) run the hms-ffi CLI against grpcio and curl,
# with certificates made at test time by Python's `cryptography` package (test-interop installs it).
.PHONY: interop-tls-deps
interop-tls-deps: py-install
	$(CARGO) build -p hms-ffi-cli
test-interop: interop-tls-deps
