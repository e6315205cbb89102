# The fault proof of issue 23 in every language that starts calls (tests/faults): two Python
# servers of one service killed with SIGKILL and restarted in turn, while a client program in
# Python, Node, Go, Ruby, PHP and Kotlin makes its calls to both, over unix:// and grpc://.
# Swift has no toolchain on the machines `make test` runs on.
.PHONY: test-faults

## test-faults: tests/faults/test_faults.py, after building every client (HMS_FAULT_LANG_CALLS
## sets the calls per method and language, 1 000 by default).
test-faults: py-install go-lib node-build ruby-install php-ext kotlin-install
	@# Go's build cache does not see a changed C library (`go help cache`): the link is keyed
	@# on the library's checksum, so a new go-lib is linked in.
	cd go && $(GO) build -ldflags "-X main.lib=$$(cksum < lib/$$($(GO) env GOOS)_$$($(GO) env GOARCH)/libhms_ffi.a | cut -d' ' -f1)" \
	  -o ../target/go/faultclient ./cmd/faultclient
	timeout 900 $(PY_VENV)/bin/python -m pytest tests/faults -q

TEST_TARGETS += test-faults
