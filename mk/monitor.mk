# The monitoring page of the admin listener (issue 20) is tested in a real browser: headless
# Chromium from Debian's apt, installed by scripts/install-chromium.sh. HMS_FFI_CHROMIUM tells
# core/tests/monitor_page.rs where it is, and that it must run (it skips, saying so, only when
# the variable is unset and no chromium is found).

.PHONY: chromium-install test-monitor-page

chromium-install:
	scripts/install-chromium.sh --quiet

test-core: chromium-install
test-core: export HMS_FFI_CHROMIUM = $(shell command -v chromium)

## test-monitor-page: the page against a server under load, in headless Chromium (a screenshot
## lands in target/tmp/monitor-page.png).
test-monitor-page: chromium-install
	HMS_FFI_CHROMIUM=$$(command -v chromium) timeout 600 $(CARGO) test -p hms-ffi-core --test monitor_page
