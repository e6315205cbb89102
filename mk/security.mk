# Security: cargo-fuzz targets for every decoder that reads bytes from a peer (fuzz/, its own
# workspace). The security tests themselves run in test-core, test-cli and test-py.

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := frame value_schema value_cbor policy
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets a stable toolchain provide them.
FUZZ_ENV     ?= RUSTC_BOOTSTRAP=1

.PHONY: fuzz-security fuzz-install

fuzz-install:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked

## fuzz-security: each cargo-fuzz target for FUZZ_SECONDS; new inputs land in fuzz/corpus/<target>/.
fuzz-security: fuzz-install
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		mkdir -p corpus/$$t; \
		$(FUZZ_ENV) cargo fuzz run $$t corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 || exit 1; \
	done
