# tenant-export: build, test, fuzz, demo, install.
# Non-recursive; sources are picked up by directory, so a new module needs
# no Makefile change. BUILD selects the object tree (build-asan for ASan).

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/tenant-export
COMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=
BUILD ?= build
CC ?= cc
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
SAN ?=
# V=1 shows every compiler command; by default one short line per file.
V ?= 0
ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-5s %s\n' $(1) $(2)
endif

VERSION := 0.1.0
# The commit the binaries were built from (-V); "unknown" outside git.
COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

PKGS := libsodium libseccomp libpq libcrypto libzstd libcbor inih jansson libbsd

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation \
	-Wstrict-prototypes -Wmissing-prototypes -Wvla
HARDEN := -fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=2
ifneq ($(SAN),)
HARDEN := -fPIE -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -DTEXP_SANITIZER
endif
INC := -Iformat -Isandbox -Iverifier -Iexporter -Icontrol -Iops -Iservice -Icli -Itests
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(INC) $(CFLAGS) \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# The two programs are optimised across files at link time (8% less CPU
# for tenant-verify on small records, bench/verify). The objects carry
# machine code as well (-ffat-lto-objects), so everything else links them
# as usual (-fno-lto) without the wait. Off under the sanitizers.
LTO ?= -flto=auto -ffat-lto-objects
ifneq ($(SAN),)
LTO :=
endif
BIN_LDFLAGS = -pie -Wl,-z,relro,-z,now $(LDFLAGS) $(if $(SAN),-fsanitize=address$(,)undefined)
ALL_LDFLAGS = $(BIN_LDFLAGS) $(if $(LTO),-fno-lto)
, := ,
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

# Command-line code (main.c, cmd_*.c, report.c) prints and exits; it is
# linked into its binary only, never into the library.
VERIFY_CLI_SRC := verifier/main.c $(wildcard verifier/cmd_*.c) verifier/report.c
EXPORT_CLI_SRC := $(wildcard cli/*.c)
LIB_SRC := $(wildcard format/*.c sandbox/*.c exporter/*.c control/*.c \
	ops/*.c service/*.c) \
	$(filter-out $(VERIFY_CLI_SRC),$(wildcard verifier/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libtexp.a
TEST_SRC := $(wildcard tests/check_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TESTUTIL_OBJ := $(BUILD)/tests/testutil.o
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=$(BUILD)-fuzz/%)
BINS := $(BUILD)/tenant-verify $(BUILD)/tenant-export
TEST_TOOLS = $(TOOL_BIN) $(BUILD)/tests/tenant-export-hooked \
	$(BUILD)/tests/tenant-verify-hooked

# Keep intermediate objects: no "rm" lines after the test summary.
.SECONDARY:

.PHONY: all deps check check-asan unit integration fuzz fuzz-smoke demo deb \
	install uninstall clean bench bench-verify bench-export bench-impact \
	bench-blake2b bench-aead bench-files bench-leaktest

all: deps $(BINS)

# Install missing build/test dependencies (as root), or say how.
deps:
	@sh ci/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(LTO) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(BUILD)/tenant-verify: $(VERIFY_CLI_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(call say,LINK,$@)
	$(Q)$(CC) $(BIN_LDFLAGS) $(LTO) -o $@ $^ $(LIBS)

$(BUILD)/tenant-export: $(EXPORT_CLI_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(call say,LINK,$@)
	$(Q)$(CC) $(BIN_LDFLAGS) $(LTO) -o $@ $^ $(LIBS)

# A test-only build of tenant-export whose builder can be told to attack
# (TEXP_TEST_ATTACK): the integration tests show the sandbox, the database
# scope and the checker stop it. Never installed.
HOOK_OBJ := $(LIB_SRC:%.c=$(BUILD)/hooks/%.o) $(EXPORT_CLI_SRC:%.c=$(BUILD)/hooks/%.o)
$(BUILD)/hooks/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$< [test hooks])
	$(Q)$(CC) $(ALL_CFLAGS) -DTEXP_TEST_HOOKS -MMD -MP -c -o $@ $<

$(BUILD)/tests/tenant-export-hooked: $(HOOK_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# tenant-verify's test build: it lists the options it parses
# (TEXP_TEST_LIST_OPTIONS).
$(BUILD)/tests/tenant-verify-hooked: $(VERIFY_CLI_SRC:%.c=$(BUILD)/hooks/%.o) \
	$(LIB_SRC:%.c=$(BUILD)/hooks/%.o)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/check_%: $(BUILD)/tests/check_%.o $(TESTUTIL_OBJ) $(LIB)
	$(call say,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(CHECK_LIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(TESTUTIL_OBJ) $(LIB)
	$(call say,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(CHECK_LIBS)

unit: deps $(BINS) $(TEST_BIN) $(TEST_TOOLS)
	@BUILD=$(BUILD) sh tests/run.sh unit

integration: deps $(BINS) $(TEST_TOOLS)
	@BUILD=$(BUILD) sh tests/run.sh integration

# Every Check suite, the integration tests on a real PostgreSQL, and a short
# fuzz smoke pass over the seed corpora.
check: deps $(BINS) $(TEST_BIN) $(TEST_TOOLS)
	@BUILD=$(BUILD) sh tests/run.sh all

check-asan:
	$(MAKE) BUILD=build-asan SAN=1 CFLAGS="-O1 -g" check

# libFuzzer harnesses, each run for FUZZ_TIME seconds. The library is
# compiled once for them (sanitizers, fuzzer coverage) into its own
# archive; each harness is one file linked against it.
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -DTEXP_FUZZ -g -O1 $(INC) \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	$(shell pkg-config --cflags $(PKGS))
FUZZ_OBJ := $(LIB_SRC:%.c=$(BUILD)-fuzz/obj/%.o)
FUZZ_LIB := $(BUILD)-fuzz/libtexp-fuzz.a
$(BUILD)-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$< [fuzz])
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
		-c -o $@ $<
$(FUZZ_LIB): $(FUZZ_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^
$(BUILD)-fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIB)
	$(call say,LINK,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< \
		$(FUZZ_LIB) $(LIBS)

fuzz: deps $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); \
		mkdir -p $(BUILD)-fuzz/corpus/$$n; \
		echo "fuzz: $$n for $(FUZZ_TIME)s"; \
		$$f -max_total_time=$(FUZZ_TIME) -max_len=65536 \
		    -timeout=10 -rss_limit_mb=1024 \
		    $(BUILD)-fuzz/corpus/$$n fuzz/corpus/$$n || exit 1; done

fuzz-smoke: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); \
		$$f -runs=0 fuzz/corpus/$$n >/dev/null 2>&1 || \
		{ echo "fuzz-smoke: $$n failed on its corpus"; exit 1; }; done

# The demo shows its own steps: the build's lines go to a log.
demo: deps
	@mkdir -p $(BUILD)
	@echo "demo: building tenant-export and tenant-verify" \
		"(log: $(BUILD)/demo-build.log)"
	@$(MAKE) --no-print-directory all >$(BUILD)/demo-build.log 2>&1 || \
		{ tail -n 30 $(BUILD)/demo-build.log; exit 1; }
	@sh examples/demo.sh

bench: bench-blake2b bench-aead bench-verify bench-export bench-impact
# BLAKE2b implementations compared (libb2 when installed: libb2-dev).
B2_LIBB2 := $(shell pkg-config --exists libb2 2>/dev/null && echo 1)
$(BUILD)/bench/blake2b: bench/blake2b.c bench/clock.h format/b2b.c format/b2b.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(if $(B2_LIBB2),-DHAVE_LIBB2) $(ALL_LDFLAGS) -o $@ \
		bench/blake2b.c format/b2b.c $(LIBS) -lcrypto \
		$(if $(B2_LIBB2),$(shell pkg-config --libs libb2))
bench-blake2b: $(BUILD)/bench/blake2b
	@$(BUILD)/bench/blake2b
# ChaCha20-Poly1305: libsodium's against format/aead.c (libcrypto).
$(BUILD)/bench/aead: bench/aead.c bench/clock.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ bench/aead.c $(LIB) $(LIBS)
bench-aead: $(BUILD)/bench/aead
	@$(BUILD)/bench/aead
bench-verify: all $(TOOL_BIN)
	@sh bench/verify.sh
bench-export: all $(TOOL_BIN)
	@sh bench/export.sh
bench-files: $(BUILD)/tests/tools/texp-filebench
	@BUILD=$(BUILD) sh bench/files.sh
# pgbench TPS of the example application idle, during an export, and
# during a throttled one (IMPACT_RATE, IMPACT_ROWS, IMPACT_SECONDS).
bench-impact: all
	@BUILD=$(BUILD) sh bench/impact.sh
# The leak test of every tenant of a 20-tenant database of a few million
# rows (BENCH_ROWS, BENCH_OTHER_ROWS, BENCH_SAMPLE).
bench-leaktest: all $(TOOL_BIN)
	@BUILD=$(BUILD) sh bench/leaktest.sh

# What install writes, uninstall removes, file by file (tests/static/install.sh
# checks that nothing is left).
INST_DOCS := README.md LICENSE $(wildcard docs/*.md)
INST_TEMPLATES := $(wildcard ci/templates/*)
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)/templates \
	    $(DESTDIR)$(COMPDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 0644 docs/tenant-export.1 docs/tenant-verify.1 \
	    $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(INST_DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 0644 examples/agency.conf $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 $(INST_TEMPLATES) $(DESTDIR)$(DOCDIR)/templates/
	install -m 0644 completion/tenant-export.bash \
	    $(DESTDIR)$(COMPDIR)/tenant-export
	ln -sf tenant-export $(DESTDIR)$(COMPDIR)/tenant-verify

# Debian packages: tenant-verify alone (for recipients) and tenant-export.
deb: all
	@sh ci/deb.sh $(BUILD) $(VERSION) $(BUILD)/deb

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tenant-verify $(DESTDIR)$(BINDIR)/tenant-export
	rm -f $(DESTDIR)$(MANDIR)/man1/tenant-export.1 \
	    $(DESTDIR)$(MANDIR)/man1/tenant-verify.1
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(INST_DOCS)))
	rm -f $(DESTDIR)$(DOCDIR)/examples/agency.conf
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/templates/,$(notdir $(INST_TEMPLATES)))
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)/templates \
	    $(DESTDIR)$(DOCDIR) 2>/dev/null
	rm -f $(DESTDIR)$(COMPDIR)/tenant-export $(DESTDIR)$(COMPDIR)/tenant-verify

clean:
	rm -rf build build-asan build-fuzz build-asan-fuzz

-include $(shell find $(BUILD) $(BUILD)-fuzz -name '*.d' 2>/dev/null)

# -V prints the version and the commit: the objects that print it are
# rebuilt when either changes.
VERSION_OBJ := $(BUILD)/cli/cli.o $(BUILD)/hooks/cli/cli.o \
	$(BUILD)/verifier/cmd_verify.o $(BUILD)/hooks/verifier/cmd_verify.o
$(VERSION_OBJ): ALL_CFLAGS += -DTEXP_VERSION='"$(VERSION)"' \
	-DTEXP_COMMIT='"$(COMMIT)"'
$(VERSION_OBJ): $(BUILD)/version.stamp
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION) $(COMMIT)' | cmp -s - $@ 2>/dev/null || \
		echo '$(VERSION) $(COMMIT)' >$@
.PHONY: FORCE
FORCE:

# exporter/db.c embeds sql/tenant_scope.sql with .incbin: rebuild on change.
$(BUILD)/exporter/db.o $(BUILD)/hooks/exporter/db.o \
	$(BUILD)-fuzz/obj/exporter/db.o: $(wildcard sql/*.sql)

# control/control.c embeds sql/control/*.sql the same way.
$(BUILD)/control/control.o $(BUILD)/hooks/control/control.o \
	$(BUILD)-fuzz/obj/control/control.o: $(wildcard sql/control/*.sql)
