#!/usr/bin/env bash
# filterchild.sh — the filter's compiler child leaves the parent's input alone.
#
# The filter (-f) is compiled in a forked child (capture/child.c) that shares
# the open input's file offset with the parent.  Whatever the child does at
# its end must not move that offset: valgrind runs glibc's __libc_freeres
# even at _exit, which unbuffers the child's copy of the input's FILE and so
# seeks the shared descriptor back; the parent then read the file twice and
# counted every packet two times.  This runs connscope under valgrind WITH
# --run-libc-freeres=yes, on a file (-r FILE) and on a file as standard input
# (-r - <FILE), and checks the counts against tcpdump's with the program
# connscope installs: the user's expression or any ICMP error
# (ICMP_ERRORS_BPF in capture/source.c).
#
# Prints one line per check and ends with "filterchild: N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1

CONNSCOPE=${CONNSCOPE:-./connscope}
OUT=${OUT:-tests/out/filterchild}
SAMPLE=samples/mixed.pcap
FILTER=tcp
ICMP_ERRORS='(icmp[icmptype] = 3 or icmp[icmptype] = 4 or icmp[icmptype] = 5'\
' or icmp[icmptype] = 11 or icmp[icmptype] = 12)'\
' or (icmp6[icmp6type] >= 1 and icmp6[icmp6type] <= 4)'
rm -rf "$OUT" && mkdir -p "$OUT"

. tests/lib/cannot_run.sh
command -v valgrind >/dev/null || cannot_run filterchild "valgrind is not installed"
command -v tcpdump >/dev/null || cannot_run filterchild "tcpdump is not installed"
command -v jq >/dev/null || cannot_run filterchild "jq is not installed"

passed=0
failed=0
ok()     { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

count() { tcpdump -nr "$SAMPLE" "$1" 2>/dev/null | wc -l; }
want_packets=$(count "($FILTER) or $ICMP_ERRORS")
want_tcp=$(count tcp)
if [ "$want_packets" -eq 0 ] || [ "$want_tcp" -eq 0 ]; then
	cannot_run filterchild "tcpdump counted no packets in $SAMPLE"
fi

# check NAME: $OUT/NAME.json has tcpdump's counts.
check() {
	local json=$OUT/$1.json got_packets got_tcp
	got_packets=$(jq '.summary.packets' "$json" 2>/dev/null)
	got_tcp=$(jq '.summary.tcp_packets' "$json" 2>/dev/null)
	if [ "$got_packets" = "$want_packets" ] && [ "$got_tcp" = "$want_tcp" ]; then
		ok "$1: $got_packets packets, $got_tcp TCP, as tcpdump counts"
	else
		not_ok "$1: packets $got_packets (tcpdump: $want_packets)," \
		       "TCP $got_tcp (tcpdump: $want_tcp); $(head -c 300 "$OUT/$1.err")"
	fi
}

# Under a sanitizer (make asan sets CS_SANITIZED=1) valgrind cannot run the
# binary (two runtimes would instrument one process): there the counts are
# checked without it, and the valgrind run is the plain make check's.
if [ "${CS_SANITIZED:-0}" = 1 ]; then
	VG=
else
	VG="valgrind -q --run-libc-freeres=yes --error-exitcode=9"
fi
# shellcheck disable=SC2086  # VG and CONNSCOPE are words
$VG $CONNSCOPE -r "$SAMPLE" -f "$FILTER" -q --json "$OUT/file.json" \
	2>"$OUT/file.err"
check file
# shellcheck disable=SC2086
$VG $CONNSCOPE -r - -f "$FILTER" -q --json "$OUT/stdin.json" \
	<"$SAMPLE" 2>"$OUT/stdin.err"
check stdin

echo "filterchild: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
