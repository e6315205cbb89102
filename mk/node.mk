## Node.js: the napi-rs addon (node/), built by @napi-rs/cli; the package installed from its
## `npm pack` tarball into target/node-app, as a user would install it.
NODE_APP = target/node-app

node/node_modules/.package-lock.json: node/package.json node/package-lock.json
	cd node && npm ci --no-audit --no-fund --loglevel=error

## node-build: the addon (debug), with binding.js/binding.d.ts regenerated; fails if they are stale.
node-build: node/node_modules/.package-lock.json
	cd node && npx napi build --platform --js binding.js --dts binding.d.ts
	@git diff --quiet -- node/binding.d.ts node/binding.js || { git diff --stat -- node/binding.d.ts node/binding.js; \
	  echo "node/binding.d.ts or binding.js is stale: commit the regenerated files"; exit 1; }

node-install: node-build
	@mkdir -p target/node $(NODE_APP)
	cd node && npm pack --pack-destination ../target/node --loglevel=error >/dev/null
	cd $(NODE_APP) && npm install --no-audit --no-fund --loglevel=error --no-save ../node/hms-ffi-0.1.0.tgz

test-node: node-install cli-bin
	$(CARGO) build -p hms-ffi-core --example conformance
	cd node && node --test __test__/
	cd node && npx tsc --noEmit --strict --target es2020 --module commonjs --types node __test__/types-check.ts
	NODE_PATH=$(NODE_APP)/node_modules node examples/node/greeter.js both

.PHONY: node-bench-install bench-node bench-node-payloads bench-node-streams
NODE_BENCH = target/node-bench

## node-bench-install: what the Node benches run against: the release addon, packed and installed
## into target/node-bench, and the benches' own packages (benches/node: grpc-js, proto-loader).
node-bench-install: node/node_modules/.package-lock.json
	cd node && npx napi build --platform --release --js binding.js --dts binding.d.ts
	@mkdir -p $(NODE_BENCH)
	cd node && npm pack --pack-destination ../$(NODE_BENCH) --loglevel=error >/dev/null
	cd $(NODE_BENCH) && npm install --no-audit --no-fund --loglevel=error --no-save ./hms-ffi-0.1.0.tgz
	cd benches/node && npm ci --no-audit --no-fund --loglevel=error

## bench-node: 64-byte echo over unix, Node client -> Node server, hms-ffi (release addon) vs
## @grpc/grpc-js, in one run. The release addon is packed and installed into target/node-bench.
bench-node: node-bench-install
	NODE_PATH=$(NODE_BENCH)/node_modules node benches/node/echo_bench.js

## bench-node-payloads: nested 64 B / 1 KiB / 64 KiB messages from the same objects, hms-ffi vs
## @grpc/grpc-js (proto-loader) over unix, and hms-ffi's inproc value path vs protobufjs's walk.
bench-node-payloads: node-bench-install
	NODE_PATH=$(NODE_BENCH)/node_modules node benches/node/payload_bench.js

## bench-node-streams: a server stream of 100 000 64-byte messages over unix, Node -> Node:
## hms-ffi vs @grpc/grpc-js vs a raw socket stream (the floor), messages per second in one run.
bench-node-streams: node-bench-install
	NODE_PATH=$(NODE_BENCH)/node_modules node benches/node/stream_bench.js

TEST_TARGETS += test-node
DEMO_DEPS    += node-install
MATRIX_DEPS  += node-build
CLIPPY_PKGS  += -p hms-ffi-node
