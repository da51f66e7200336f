# shellcheck shell=bash
# inputs.sh — the benchmark's own tools and inputs, for tests/bench/run.sh
# and tests/bench/live.sh, which source it after defining say, fail, TOOLS
# (where tools are built) and BENCH_DIR (where inputs go).
#
# The tools are built from tests/tools/ into $TOOLS with cc directly, with
# the project's warnings but fixed flags: `make bench CFLAGS=-O0` must not
# reach the floor, whose speed is a figure.  -Werror is left out so that a
# new compiler's new warning does not cost a benchmark run; both build
# clean with it under gcc and clang.

BENCH_CFLAGS=(-O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes
	-Wmissing-prototypes -Wformat=2 -Wvla -pthread)

# build_tool NAME [LIBS...]: tests/tools/NAME.c into $TOOLS/NAME.
build_tool() {
	local name=$1
	shift
	cc "${BENCH_CFLAGS[@]}" -o "$TOOLS/$name" "tests/tools/$name.c" "$@" ||
		fail "cannot build $TOOLS/$name from tests/tools/$name.c"
}

# pcap_libs: PCAP_LIBS, the linker's words for libpcap (read by run.sh).
PCAP_LIBS=()
pcap_libs() {
	local libs
	libs=$(pkg-config --libs libpcap 2>/dev/null) || libs=-lpcap
	# shellcheck disable=SC2034
	read -ra PCAP_LIBS <<<"$libs"
}

# make_input NAME PACKETS: $BENCH_DIR/NAME.pcap, written by
# `workload -n PACKETS -s 1`.  workload is deterministic, so a file made by
# an earlier run is reused, but only when NAME.pcap.made says it was made
# by the same workload.c with the same arguments: a file left by an older
# generator is made again.  It is written under a temporary name first, so
# that an interrupted run leaves no short file to be taken for the input.
make_input() { # NAME PACKETS
	local f=$BENCH_DIR/$1.pcap id
	id="workload $(sha256sum <tests/tools/workload.c | cut -c1-16) -n $2 -s 1"
	[ -s "$f" ] && [ "$(cat "$f.made" 2>/dev/null)" = "$id" ] && return 0
	if ! [ "$TOOLS/workload" -nt tests/tools/workload.c ]; then
		build_tool workload
	fi
	say "generating $f ($2 packets, seed 1)"
	rm -f "$f.made"
	if ! "$TOOLS/workload" -n "$2" -s 1 -o "$f.part"; then
		rm -f "$f.part"
		fail "workload could not write $f"
	fi
	if ! mv "$f.part" "$f" || ! echo "$id" >"$f.made"; then
		fail "cannot write $f"
	fi
}
