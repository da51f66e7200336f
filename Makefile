# connscope — non-recursive GNU make.
#
#   make            build ./connscope and build/libconnscope.a
#   make check      install missing Debian packages (as root), build, run all tests
#   make demo       install missing packages, analyse the bundled sample and
#                   serve its dashboard on http://127.0.0.1:8080/ (Ctrl-C stops)
#   make asan       the same tests built with ASan+UBSan in build/asan
#   make webload    wrk on the web API during a live capture, then slow and
#                   hostile clients (root)
#   make soak       a live capture with the dashboard for SOAK_SECONDS (300):
#                   memory must stay flat (root)
#   make bench      speed and peak memory against the libpcap floor, tshark
#                   and argus on generated inputs in /tmp (BENCH_SIZES=small:
#                   SMALL only; BENCH_PROFILE=1: instructions per packet)
#   make bench-live the same input replayed live (blast or tcpreplay, root):
#                   drops per rate
#   make fuzz       libFuzzer (clang, ASan+UBSan) on frames, capture files
#                   and web requests in build/fuzz, FUZZ_SECONDS (60) each
#   make tsan       the web and exposure suites (daemon, event streams,
#                   snapshot publishing, the guard, the clients table),
#                   the readahead and writer threads and the run driver that
#                   uses both under ThreadSanitizer in build/tsan; any report
#                   fails it
#   make deps       install the Debian packages (root) or print the apt-get line
#                   (deps-run: DEBS_RUN only; deps-bench: the benchmark's argus)
#   make install / uninstall (PREFIX, DESTDIR), make clean
#
# Users own CFLAGS; the project's flags are appended.  WERROR=0 drops -Werror.
# ASSERTS=1 turns CS_ASSERT on (capture/assert.h; asan, tsan and fuzz always
# do): use it with its own BUILD directory, make does not track flags.

CC      ?= cc
# -O3: on SMALL's first 300,000 packets (callgrind) the analysing thread
# takes 4.3% fewer instructions than at -O2 and the reading thread 2.5%,
# with the same outputs on every capture (tests/bench/PROFILE.md).
CFLAGS  ?= -O3 -g
LDFLAGS ?=
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DATADIR ?= $(PREFIX)/share/connscope
# systemd reads units from /usr/local/lib/systemd/system too
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=
BUILD   ?= build
WERROR  ?= 1
ASSERTS ?= 0
V       ?= 0

# Quiet rules print "CC file"; V=1 shows the commands.
ifeq ($(V),0)
Q := @
say = @echo "  $(1) $(2)"
else
Q :=
say = @:
endif

# The default build puts the binary at the top, as the README promises;
# other build directories (asan, clang, ...) keep theirs inside.
ifeq ($(BUILD),build)
BIN := connscope
else
BIN := $(BUILD)/connscope
endif

# Recursive (=) so that pkg-config runs when a rule needs it, after `deps`.
PKG_CFLAGS = $(shell pkg-config --cflags libpcap libmicrohttpd zlib libzstd liblzma 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs libpcap libmicrohttpd zlib libzstd liblzma 2>/dev/null || \
               echo -lpcap -lmicrohttpd -lz -lzstd -llzma) -lm
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla
ifneq ($(WERROR),0)
WARN += -Werror
endif
CS_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -pthread -I. -MMD -MP $(PKG_CFLAGS)
ifneq ($(ASSERTS),0)
CS_CFLAGS += -DCS_ASSERTS=1
endif

LIB_SRC  := $(sort $(wildcard capture/*.c analyzer/*.c analyzer/*/*.c web/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/assets.o
ASSETS_DIR ?= web/assets
ASSETS   := $(ASSETS_DIR)/index.html $(ASSETS_DIR)/app.js $(ASSETS_DIR)/app.css
LIB      := $(BUILD)/libconnscope.a
MAIN_OBJ := $(BUILD)/connscope.o

TEST_SRC := $(sort $(wildcard tests/check_*.c)) tests/pktbuild.c
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(BUILD)/tests/check_connscope
TCPPING_BIN := $(BUILD)/tests/tcpping
WEBPEST_BIN := $(BUILD)/tests/webpest
WALK_BIN := $(BUILD)/tests/capwalk
FLOODGEN_BIN := $(BUILD)/tests/floodgen
BLAST_BIN := $(BUILD)/tests/blast
WORKLOAD_BIN := $(BUILD)/tests/workload
PCAPFLOOR_BIN := $(BUILD)/tests/pcapfloor
SNAPBENCH_BIN := $(BUILD)/tests/snapbench
RECSIZE_BIN := $(BUILD)/tests/recsize
TOOL_BIN := $(TCPPING_BIN) $(WEBPEST_BIN) $(WALK_BIN) $(FLOODGEN_BIN) $(BLAST_BIN) \
            $(WORKLOAD_BIN)

# The fuzz targets (tests/fuzz/), linked with replay.c: saved inputs
# replayed by any compiler, so make check runs the regressions.
FUZZ_TARGETS := frame file web
FUZZ_SUPPORT := $(BUILD)/tests/fuzz/fuzz_common.o $(BUILD)/tests/fuzz/json_check.o \
                $(BUILD)/tests/pktbuild.o
FUZZ_OBJ := $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/fuzz_%.o) $(FUZZ_SUPPORT) \
            $(BUILD)/tests/fuzz/replay.o
REPLAY_BIN := $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/replay-%)
# Made only as pattern-rule intermediates: make would delete them.
.SECONDARY: $(FUZZ_OBJ)

DEPFILES := $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(FUZZ_OBJ:.o=.d) $(BUILD)/tests/tools/snapbench.d \
            $(RECSIZE_BIN).d

.PHONY: all check check-run asan demo demo-run deps install install-deploy \
        uninstall clean tests valgrind fuzz fuzz-build fuzz-replay
.DEFAULT_GOAL := all

all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(CS_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(CS_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

# The dashboard is compiled in: nothing is read from disk at run time.
$(BUILD)/gen/assets.c: $(ASSETS) web/embed.sh
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)sh web/embed.sh $@ $(ASSETS_DIR)

$(BUILD)/gen/assets.o: $(BUILD)/gen/assets.c
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(CS_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) -pthread $(LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(PKG_LIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) -pthread $(LDFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(PKG_LIBS) $(CHECK_LIBS)

$(TOOL_BIN): $(BUILD)/tests/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -std=c11 -D_GNU_SOURCE $(WARN) -pthread -o $@ $<

$(BUILD)/tests/fuzz/replay-%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o \
                              $(FUZZ_SUPPORT) $(LIB)
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) -pthread $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The benchmark's libpcap read loop: the one tool that links libpcap.
$(PCAPFLOOR_BIN): tests/tools/pcapfloor.c
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -std=c11 -D_GNU_SOURCE $(WARN) $(PKG_CFLAGS) -o $@ $< $(PKG_LIBS)

# What a snapshot costs with a million connections open (instructions
# under callgrind: tests/tools/snapbench.c); it links the library.
$(SNAPBENCH_BIN): $(BUILD)/tests/tools/snapbench.o $(BUILD)/tests/pktbuild.o $(LIB)
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) -pthread $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The bytes of each record type (tests/tools/recsize.c): the analyzer's
# headers and sizeof, nothing linked.
$(RECSIZE_BIN): tests/tools/recsize.c
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(CS_CFLAGS) -o $@ $<

# The benchmark's tools are built here too, so -Werror keeps them clean.
tests: $(BIN) $(TEST_BIN) $(TOOL_BIN) $(PCAPFLOOR_BIN) $(SNAPBENCH_BIN) $(RECSIZE_BIN) $(REPLAY_BIN) \
       $(BUILD)/mkseed

# ---- tests -----------------------------------------------------------------
# Unit tests (Check), then the binary on samples/ and tests/corpus/ and
# on damaged copies of them (cut at every record, broken headers), the
# live benchmark's sender (tests/blast.sh: its refusals, and what it sends
# counted at a veth peer), the row-by-row comparison with Zeek's conn.log,
# the samples' ground truth (checked against the packets, then against
# connscope), the dashboard in headless Chromium, then the live capture in
# network namespaces, every signal on every kind of input (tests/signals.sh),
# a table a quarter of a capture's working set (tests/evict.sh)
# and what -Z and --web give up (the namespace parts skipped, with a
# message, if not root).
check: deps
	@$(MAKE) --no-print-directory check-run

# Check's default 4 s per test is for a quiet machine; these are shared and
# sanitizers are slow, so a test is given 120 s before it counts as hung.
check-run: tests
	CK_DEFAULT_TIMEOUT=120 CS_TEST_DATA=. bash tests/unit.sh $(TEST_BIN)
	bash tests/structure.sh
	bash tests/fuzz/replay.sh $(BUILD)/tests/fuzz $(BUILD)/mkseed
	CONNSCOPE=$(abspath $(BIN)) bash tests/integration.sh
	CONNSCOPE=$(abspath $(BIN)) OUT=$(BUILD)/out/cmdline bash tests/cmdline.sh
	CONNSCOPE=$(abspath $(BIN)) OUT=$(BUILD)/out/filterchild bash tests/filterchild.sh
	mandoc -T lint -W warning doc/connscope.1
	CONNSCOPE=$(abspath $(BIN)) TCPPING=$(abspath $(TCPPING_BIN)) OUT=$(BUILD)/out/habits \
	    bash tests/habits.sh
	CONNSCOPE=$(abspath $(BIN)) CAPWALK=$(abspath $(WALK_BIN)) OUT=$(BUILD)/out/damaged \
	    bash tests/damaged.sh
	CONNSCOPE=$(abspath $(BIN)) CAPWALK=$(abspath $(WALK_BIN)) OUT=$(BUILD)/out/timestamps \
	    bash tests/timestamps.sh
	CONNSCOPE=$(abspath $(BIN)) FLOODGEN=$(abspath $(FLOODGEN_BIN)) \
	    OUT=$(BUILD)/out/flood bash tests/flood.sh
	CONNSCOPE=$(abspath $(BIN)) WORKLOAD=$(abspath $(WORKLOAD_BIN)) \
	    OUT=$(BUILD)/out/evict bash tests/evict.sh
	BLAST=$(abspath $(BLAST_BIN)) FLOODGEN=$(abspath $(FLOODGEN_BIN)) bash tests/blast.sh
	CONNSCOPE=$(abspath $(BIN)) bash tests/conformance/run.sh
	bash tests/samples/check.sh
	CONNSCOPE=$(abspath $(BIN)) OUT=$(BUILD)/out/samples bash tests/samples/verify.sh
	CONNSCOPE=$(abspath $(BIN)) FLOODGEN=$(abspath $(FLOODGEN_BIN)) \
	    OUT=$(BUILD)/out/browser bash tests/browser.sh
	CONNSCOPE=$(abspath $(BIN)) WEBPEST=$(abspath $(WEBPEST_BIN)) bash tests/exposed.sh
	CONNSCOPE=$(abspath $(BIN)) TCPPING=$(abspath $(TCPPING_BIN)) bash tests/live.sh
	CONNSCOPE=$(abspath $(BIN)) WORKLOAD=$(abspath $(WORKLOAD_BIN)) BLAST=$(abspath $(BLAST_BIN)) \
	    bash tests/signals.sh
	CONNSCOPE=$(abspath $(BIN)) TCPPING=$(abspath $(TCPPING_BIN)) bash tests/privilege.sh
	CONNSCOPE=$(abspath $(BIN)) TCPPING=$(abspath $(TCPPING_BIN)) bash tests/host.sh
	CONNSCOPE=$(abspath $(BIN)) TCPPING=$(abspath $(TCPPING_BIN)) bash tests/sensor.sh
	CONNSCOPE=$(abspath $(BIN)) bash tests/deploy.sh
	CONNSCOPE=$(abspath $(BIN)) TCPPING=$(abspath $(TCPPING_BIN)) bash tests/prometheus.sh

ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=all
# allocator_may_return_null: the child that compiles a filter runs under a
# memory limit (RLIMIT_AS) where malloc must fail as it does without ASan,
# so libpcap reports "out of memory" and the filter is "too complex"; ASan
# would abort the child instead.
asan: deps
	@CS_SANITIZED=1 ASAN_OPTIONS=allocator_may_return_null=1 $(MAKE) --no-print-directory BUILD=build/asan ASSERTS=1 \
	    CFLAGS="$(ASAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" check-run

# ---- fuzzing ------------------------------------------------------------------
# Three libFuzzer targets (README.md, "Fuzzing"): frame, file, web.  The
# library is rebuilt by clang in build/fuzz with coverage for the fuzzer
# and ASan+UBSan; run.sh seeds them from samples/ and tests/corpus/ and
# runs each for FUZZ_SECONDS.  A crash, leak or timeout fails it, naming the
# input; such inputs go to tests/fuzz/regressions/TARGET/, which make check
# replays (fuzz-replay: only that).
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build/fuzz
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=all
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang ASSERTS=1 \
	    CFLAGS="$(FUZZ_FLAGS)" fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_TARGETS:%=$(BUILD)/fuzz-%) $(BUILD)/mkseed

$(BUILD)/fuzz-%: $(BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_SUPPORT) $(LIB)
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer,address,undefined -pthread -o $@ $^ $(PKG_LIBS)

# Seeds: frames cut from capture files, and connections made by the packet
# builder; no sanitizer, no library.
MKSEED_SRC := tests/fuzz/mkseed.c tests/fuzz/seed_built.c tests/pktbuild.c
$(BUILD)/mkseed: $(MKSEED_SRC) tests/fuzz/frames.h tests/fuzz/seed_built.h tests/pktbuild.h
	$(call say,LD,$@)
	$(Q)$(CC) -O1 -g -std=c11 -D_GNU_SOURCE $(WARN) -I. -o $@ $(MKSEED_SRC) $(PKG_LIBS)

fuzz-replay: $(REPLAY_BIN) $(BUILD)/mkseed
	bash tests/fuzz/replay.sh $(BUILD)/tests/fuzz $(BUILD)/mkseed

# The suites whose code runs threads (the web daemon, the readahead and
# writer threads, the run driver), each in one process (CK_FORK=no, so the
# threads and the test's share it; CK_RUN_SUITE is Check's own suite
# selector).  halt_on_error makes the first race fail the run.
TSAN_FLAGS := -O1 -g -fsanitize=thread
.PHONY: tsan tsan-run
tsan: deps
	@$(MAKE) --no-print-directory BUILD=build/tsan ASSERTS=1 CFLAGS="$(TSAN_FLAGS)" \
	    LDFLAGS="-fsanitize=thread" tsan-run

tsan-run: $(TEST_BIN)
	CK_FORK=no CK_RUN_SUITE=web TSAN_OPTIONS="halt_on_error=1 exitcode=66" $(TEST_BIN)
	CK_FORK=no CK_RUN_SUITE=exposure TSAN_OPTIONS="halt_on_error=1 exitcode=66" $(TEST_BIN)
	CK_FORK=no CK_RUN_SUITE=readahead CS_TEST_DATA=. \
	    TSAN_OPTIONS="halt_on_error=1 exitcode=66" $(TEST_BIN)
	CK_FORK=no CK_RUN_SUITE=writer TSAN_OPTIONS="halt_on_error=1 exitcode=66" $(TEST_BIN)
	CK_FORK=no CK_RUN_SUITE=flow TSAN_OPTIONS="halt_on_error=1 exitcode=66" $(TEST_BIN)
	CK_FORK=no CK_RUN_SUITE=driver CS_TEST_DATA=. \
	    TSAN_OPTIONS="halt_on_error=1 exitcode=66" $(TEST_BIN)

# wrk (32 connections: one client's share) against the API while a live capture runs, then
# idle, slowloris and abandoned clients (root; figures, and a failure only
# on errors, refused clients or a capture that missed connections).
.PHONY: webload
webload: deps
	@$(MAKE) --no-print-directory $(BIN) $(TOOL_BIN)
	CONNSCOPE=$(abspath $(BIN)) TCPPING=$(abspath $(TCPPING_BIN)) bash tests/webload.sh
	CONNSCOPE=$(abspath $(BIN)) TCPPING=$(abspath $(TCPPING_BIN)) \
	    WEBPEST=$(abspath $(WEBPEST_BIN)) bash tests/slowweb.sh

# A long live capture with the dashboard under connection churn: connscope's
# RSS every 5 s must stay flat after the warm-up, and the report must count
# every connection made (root; SOAK_SECONDS, default 300).
.PHONY: soak
SOAK_SECONDS ?= 300
soak: deps
	@$(MAKE) --no-print-directory $(BIN) $(TOOL_BIN)
	SOAK_SECONDS=$(SOAK_SECONDS) CONNSCOPE=$(abspath $(BIN)) TCPPING=$(abspath $(TCPPING_BIN)) \
	    WEBPEST=$(abspath $(WEBPEST_BIN)) bash tests/soak.sh

# Speed and peak memory against the libpcap floor, tshark and argus, on
# inputs made by the project's own generator (tests/tools/workload.c) in
# /tmp; BENCH_PROFILE=1 adds instructions per packet per thread (callgrind);
# tests/bench/README.md has the knobs.  Figures, and a failure only when a
# tool fails, never on a missed target.
#
# BENCH_YARDSTICK=FOLDER adds outside floors found there (pcap-floor.c,
# flow-floor.c) as extra rows: an optional yardstick, never needed, that
# the caller names; without it the report says so in one line.
.PHONY: bench
bench: deps deps-bench
	@$(MAKE) --no-print-directory $(BIN)
	CONNSCOPE=$(abspath $(BIN)) BENCH_BUILD=$(abspath build/bench) \
	    BENCH_YARDSTICK='$(BENCH_YARDSTICK)' bash tests/bench/run.sh

# Live capture: blast (or tcpreplay, LIVE_SENDER=tcpreplay) at rising rates
# across a veth pair between two network namespaces, into connscope -i
# (root; RATES, LIVE_PACKETS).  Figures of packets seen and dropped, a
# failure only when a tool fails.
.PHONY: bench-live
bench-live: deps
	@$(MAKE) --no-print-directory $(BIN) $(BLAST_BIN)
	CONNSCOPE=$(abspath $(BIN)) BLAST=$(abspath $(BLAST_BIN)) \
	    BENCH_BUILD=$(abspath build/bench) bash tests/bench/live.sh

# The Check runner and the binary under valgrind: no leak, no invalid access.
# The filter's compiler child (capture/child.c) is checked too: it keeps
# none of the parent's descriptors, so glibc's __libc_freeres at its exit
# cannot move the input it shares with the parent (tests/filterchild.sh).
# A child a unit test ends by its CPU limit is reported with its stack
# ("terminating with ... SIGXCPU") and what it inherited as possibly lost:
# that is the test doing its work, and no error.
VALGRIND := valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --error-exitcode=9
#
# valgrind runs a program's threads one at a time, on one core: the two
# halves run side by side (-j2), each output kept together (-O).
valgrind: deps
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory -j2 -Otarget valgrind-unit valgrind-integration

.PHONY: valgrind-unit valgrind-integration
valgrind-unit:
	CK_FORK=no $(VALGRIND) $(TEST_BIN)
valgrind-integration:
	CONNSCOPE="$(VALGRIND) ./$(BIN)" \
	    CS_QUICK=1 bash tests/integration.sh

# ---- the main job ------------------------------------------------------------
DEMO_SAMPLE := samples/mixed.pcap
demo: deps-run
	@$(MAKE) --no-print-directory demo-run

DEMO_WEB ?= 127.0.0.1:8080
demo-run: $(BIN)
	./$(BIN) -r $(DEMO_SAMPLE) --web $(DEMO_WEB)

# ---- dependencies ------------------------------------------------------------
# Two lists, so that seeing the dashboard does not mean installing the test
# lab.  DEBS_RUN is what building and running need: a compiler with the C
# library's headers, make, pkg-config and the two libraries.  DEBS_TEST adds
# the tests' tools: Check for the unit tests, tcpdump and iproute2/nftables
# for the recorded samples and live tests, jq to read the JSON report, curl
# for the API, valgrind and clang for the leak and compiler runs (clang-14's
# libFuzzer and sanitizer runtimes are libclang-rt-14-dev), hping3 for the
# SYN flood samples, chromium for the dashboard test, wrk for the load on
# its API, promtool (package prometheus) to check /metrics, time
# (/usr/bin/time) for the benchmark's peak memory, tcpreplay for the live
# benchmark's traffic, openssl to make the certificates of the HTTPS
# tests (tests/exposed.sh, tests/browser.sh), mandoc to check the man
# page and man-db to read it installed, zstd and xz-utils to compress the
# samples that tests/habits.sh reads compressed, systemd for
# systemd-analyze verify of the sensor's unit (tests/deploy.sh; it needs
# no running systemd).  DEBS_BENCH is what only `make bench` runs: argus
# (argus-server) and racount (argus-client), the peer it is measured
# against; make check and make demo do not install it.  tshark, the
# benchmark's other peer, is left out: it is large and asks a question on
# install (tests/bench/README.md).  DEBS_RUN's zlib, zstd and xz headers
# are for reading compressed captures (capture/unpack.c).
DEBS_RUN  := gcc libc6-dev make pkg-config libpcap-dev libmicrohttpd-dev \
             zlib1g-dev libzstd-dev liblzma-dev
DEBS_TEST := check tcpdump iproute2 nftables procps jq curl valgrind clang \
             libclang-rt-14-dev hping3 chromium wrk prometheus time tcpreplay \
             openssl mandoc man-db zstd xz-utils python3 systemd
DEBS_BENCH := argus-server argus-client
DEBS      := $(DEBS_RUN) $(DEBS_TEST)

# $(call install_debs,PACKAGES): nothing when all are installed; as root,
# apt-get installs the missing ones; otherwise the exact command to run is
# printed and make stops.  One dpkg-query for the whole list, whose output
# names each package with its status ("not-installed" for a package dpkg
# has never seen: it prints that line on stdout and complains on stderr).
define install_debs
	@missing=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(1) 2>/dev/null | \
	    awk '$$NF == "installed" { ok[$$1] = 1 } END { n = split("$(strip $(1))", p, " "); \
	         for (i = 1; i <= n; i++) if (!(p[i] in ok)) printf "%s ", p[i] }'); \
	missing=$${missing% }; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then \
	  echo "deps: installing $$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends $$missing || \
	    { echo "deps: apt-get could not install: $$missing" >&2; exit 1; }; \
	else \
	  echo "deps: missing Debian packages: $$missing" >&2; \
	  echo "deps: run as root, then run make again:" >&2; \
	  echo "  apt-get update && apt-get install -y --no-install-recommends $$missing" >&2; \
	  exit 1; \
	fi
endef

.PHONY: deps deps-run deps-bench
deps:
	$(call install_debs,$(DEBS))

deps-run:
	$(call install_debs,$(DEBS_RUN))

deps-bench:
	$(call install_debs,$(DEBS_BENCH))

# ---- install -----------------------------------------------------------------
# The man page and bash's completion go where man(1) and bash-completion
# look under PREFIX; DESTDIR stages the whole tree (packaging).
install: $(BIN) install-deploy
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/connscope
	install -m 0644 doc/connscope.1 $(DESTDIR)$(MANDIR)/man1/connscope.1
	install -m 0644 doc/connscope.bash-completion $(DESTDIR)$(BASHCOMPDIR)/connscope

# The sensor's unit (its ExecStart names $(BINDIR)/connscope), the alerting
# rules and the dashboard (docs/SENSOR.md).  Apart from install so that
# tests/deploy.sh can verify the unit as installed without a build.
install-deploy:
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(DATADIR)/prometheus \
	    $(DESTDIR)$(DATADIR)/grafana
	sed 's|@BINDIR@|$(BINDIR)|g; s|@DATADIR@|$(DATADIR)|g' deploy/systemd/connscope@.service.in \
	    >$(DESTDIR)$(SYSTEMDUNITDIR)/connscope@.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/connscope@.service
	install -m 0644 deploy/prometheus/connscope-rules.yml \
	    deploy/prometheus/connscope-rules.test.yml $(DESTDIR)$(DATADIR)/prometheus
	install -m 0644 deploy/grafana/connscope-dashboard.json $(DESTDIR)$(DATADIR)/grafana
	install -m 0644 docs/SENSOR.md $(DESTDIR)$(DATADIR)/SENSOR.md

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/connscope $(DESTDIR)$(MANDIR)/man1/connscope.1 \
	    $(DESTDIR)$(BASHCOMPDIR)/connscope
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/connscope@.service
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build connscope

-include $(DEPFILES)
