# Packages a user installs without this checkout (docs/packaging.md). Every language has two
# scripts: scripts/dist/<lang>.sh builds its artifacts into target/dist/<lang>/ (release builds
# whatever the developer's default profile), scripts/test-dist/<lang>.sh installs them with the
# language's own tool in a fresh directory outside the checkout and runs the greeter example
# there against a server written in another language. Both source scripts/dist/common.sh.
DIST_LANGS ?= py node go ruby php kotlin

.PHONY: dist test-dist versions-check lint-workflows

## dist: every package of every language into target/dist/ (release builds).
dist: $(addprefix dist-,$(DIST_LANGS))

dist-%:
	bash scripts/dist/$*.sh

## test-dist: each package installed from a clean directory and run, language by language.
test-dist: build $(addprefix test-dist-,$(DIST_LANGS))

test-dist-%: dist-%
	bash scripts/test-dist/$*.sh

## versions-check: one version, one license and one repository in every manifest.
versions-check:
	python3 scripts/check_versions.py

TEST_TARGETS += test-dist

## lint-workflows: .github/workflows checked by actionlint (from the Go module proxy, into
## target/tools; pinned).
ACTIONLINT_VERSION ?= v1.7.12
target/tools/actionlint-$(ACTIONLINT_VERSION):
	@mkdir -p target/tools
	GOBIN=$(CURDIR)/target/tools $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	cp target/tools/actionlint $@

lint-workflows: target/tools/actionlint-$(ACTIONLINT_VERSION)
	target/tools/actionlint-$(ACTIONLINT_VERSION) .github/workflows/*.yml
