## Typed bindings (`hms-ffi gen`, docs/codegen.md): gen/<lang>/ from examples/protos and the
## conformance schema, checked current, checked by each language's strict tool, and the typed
## examples (examples/typed/) run across every pair of languages.

.PHONY: gen-typed test-gen pyright-install

## gen-typed: regenerate gen/ after changing the generator (cli/src/gen/) or a schema.
gen-typed: build
	scripts/gen-typed.sh

## test-gen: gen/ is current; mypy --strict, pyright (strict), tsc --strict, gofmt + go vet + go build,
## rbs validate, php -l, kotlinc -Werror pass; a misspelt method or field in the Python,
## TypeScript and Go examples fails its checker (so do two oneof members set, in TypeScript and
## Kotlin); each typed client calls each typed server (Chatter's stream too); the generated
## clients of Kotlin, Python, TypeScript, Go and Ruby call their generated services over inproc
## with the three stream kinds (and each oneof case), PHP's client Python's servicer.
## (The plugin and buf's agreement with `gen` run in test-cli: cli/tests/gen.rs.)
test-gen: build py-install node-install node/node_modules/.package-lock.json go-lib ruby-install php-ext kotlin-install pyright-install
	scripts/gen-typed.sh --check
	$(RUBY_ENV) PY=$(PY_VENV)/bin/python PYRIGHT=target/tools/pyright/node_modules/.bin/pyright \
		TSC=node/node_modules/.bin/tsc NODE_APP=$(NODE_APP) GO=$(GO) \
		PHP=$(PHP) PHP_EXT=$(PHP_EXT) RUST_EXAMPLE=$(BIN)/examples/typed_greeter \
		KOTLIN_CLASSES=kotlin/target/classes KOTLIN_LIB=target/debug scripts/check-typed.sh

TEST_TARGETS += test-gen

## pyright-install: pyright from npm into target/tools/pyright (scripts/install-pyright.sh).
pyright-install:
	scripts/install-pyright.sh --quiet
