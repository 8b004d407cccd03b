# csip - the two commands of the README are `make run` and `make check`;
# a plain `make` builds build/csip.  Meson does the real work; this file
# only installs what is missing and chains the steps.

BUILD   ?= build
SANDIR  ?= build-san
FUZZDIR ?= build-fuzz
# Seconds each libFuzzer target runs in `make check` (0: replay only).
FUZZ_SECONDS ?= 20

# UBSan must fail the test, not only print; leaks fail too.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: all run check deps clean

all: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) >/dev/null
	ninja -C $(BUILD)

deps:
	@sh scripts/install-deps

# Seeds the demo hub (once; later runs keep the data and print fresh
# tokens), then serves it until Ctrl-C.
run: all
	$(BUILD)/csip demo
	$(BUILD)/csip serve

check:
	@sh scripts/install-deps --test
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) >/dev/null
	meson configure $(BUILD) -Dwerror=true
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs
	sh scripts/pg-test meson test -C $(BUILD) --no-rebuild \
		--print-errorlogs --no-suite fuzz
	@test -f $(SANDIR)/build.ninja || meson setup $(SANDIR) \
		-Db_sanitize=address,undefined -Dbuildtype=debug \
		-Dc_args=-fno-sanitize-recover=undefined >/dev/null
	meson configure $(SANDIR) -Dwerror=true
	ninja -C $(SANDIR)
	$(SAN_ENV) meson test -C $(SANDIR) --print-errorlogs
	$(SAN_ENV) sh scripts/pg-test meson test -C $(SANDIR) --no-rebuild \
		--print-errorlogs --suite unit
	@if [ "$(FUZZ_SECONDS)" -gt 0 ] && command -v clang >/dev/null; then \
		sh scripts/fuzz-run $(FUZZDIR) $(FUZZ_SECONDS); \
	fi

clean:
	rm -rf $(BUILD) $(SANDIR) $(FUZZDIR)
