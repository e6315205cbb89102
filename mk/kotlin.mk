# Kotlin and Swift through UniFFI (uniffi/ -> kotlin/, swift/). See docs/uniffi.md. The jar a user
# installs (release native library inside, Maven profile `dist`): scripts/dist/kotlin.sh.
MVN ?= mvn
KOTLIN_BENCH_ARGS ?=

.PHONY: uniffi-lib uniffi-gen test-kotlin kotlin-install bench-kotlin

## uniffi-lib: the UniFFI cdylib and its uniffi-bindgen, in debug (shares the workspace's deps).
uniffi-lib:
	$(CARGO) build -p hms-ffi-uniffi --features bindgen

## uniffi-gen: regenerate the Kotlin and Swift bindings after changing uniffi/.
uniffi-gen:
	scripts/uniffi-gen.sh

## kotlin-install: compile the Kotlin package and its tests with Maven, and write the classpath
## that kotlin/run.sh (matrix program, benchmark) uses.
kotlin-install: uniffi-lib
	cd kotlin && $(MVN) -q -B test-compile dependency:build-classpath \
		-Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test

## test-kotlin: the Kotlin and Swift bindings are current, the crate's Rust tests pass, then
## the JUnit tests (every conformance vector as client and server over inproc and unix, errors).
test-kotlin: uniffi-lib cli-bin
	scripts/uniffi-gen.sh --check
	$(CARGO) test -p hms-ffi-uniffi --features bindgen
	cd kotlin && $(MVN) -q -B test
	@cat kotlin/target/surefire-reports/*.txt | grep -h "Tests run" | \
		awk -F'[:,]' '{r+=$$2; f+=$$4+$$6; s+=$$8} END {printf "kotlin: %d passed, %d failed\n", r-f-s, f}'

## bench-kotlin: 64-byte echo over unix, Kotlin client -> Kotlin server, with the Python and
## Go hms-ffi figures measured in the same run, the floor (a raw java.nio unix-socket echo) and
## grpc-java over unix (ratios at the end). KOTLIN_BENCH_ARGS="-n 300" for a short smoke run.
## The Kotlin side loads a release build of the library, like Python's wheel and Go's C ABI
## (the first time this compiles hms-ffi-uniffi and the uniffi runtime in release: a few minutes).
bench-kotlin: kotlin-install py-install go-lib
	$(CARGO) build --release -p hms-ffi-uniffi
	$(PY_VENV)/bin/pip install -q grpcio
	HMS_LIB_DIR=$(CURDIR)/target/release $(PY_VENV)/bin/python benches/kotlin/bench.py \
		--python $(PY_VENV)/bin/python --go $(GO) $(KOTLIN_BENCH_ARGS)

TEST_TARGETS += test-kotlin
MATRIX_DEPS  += kotlin-install
CLIPPY_PKGS  += -p hms-ffi-uniffi
