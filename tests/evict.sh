#!/usr/bin/env bash
# evict.sh — a table a quarter the size of the capture's working set.
#
# The workload generator (tests/tools/workload.c) writes 300,000 packets of
# its mix: normal, refused, timed-out and aborted connections, port churn
# and a SYN flood, about 29,700 connections in all, every one of them still
# in the table at the end with the default --max-flows.  connscope reads
# the file twice: with the default table, and with --max-flows 8000, above
# the most connections the generator holds open at once (4,394) but far
# below the connections in TIME_WAIT, unanswered or reset.  The small table
# must evict thousands, yet:
#   - every connection whose handshake the packets show ends as it did in
#     the whole table: completed, established, closing and aborted counts
#     are equal (eviction takes unanswered attempts and closed connections,
#     and their later packets open no record: analyzer/tracking/evicted.h);
#   - every attempt ends as it did too: timed out, unanswered and
#     half-open counts are equal (an evicted attempt is held, and its
#     retried SYN, its SYN-ACK or the RST answering it brings it back:
#     flow.h, "Held attempts");
#   - no more than 0.5% more connections are reported, and no more than 1%
#     of them are `midstream` (before evicted keys, 50,386 connections were
#     reported, 19,608 of them midstream, and 6,488 completed of 16,108;
#     before held attempts, 30,156 of 29,673, 152 midstream, and 59 timed
#     out of 370);
#   - the later packets of evicted connections are counted
#     (summary.untracked.evicted), and every packet is still analysed.
# Then three samples recorded from real kernels (samples/record.sh), at
# --max-flows 500, a sixth of their 3,000 connections: a SYN flood on a
# full backlog (its clients repeat their SYNs), one answered with SYN
# cookies, and 3,000 connections left in TIME_WAIT.  Their completed
# connections must be those the recording counted
# (tests/samples/NAME.expected-counts.tsv, from tcpping's report and
# checked against the packets by tests/samples/check.sh).  Taking in every
# SYN of an evicted handshake, the backlog's gave 1 of its 4.
set -uo pipefail
cd "$(dirname "$0")/.."

CONNSCOPE=${CONNSCOPE:-./connscope}
WORKLOAD=${WORKLOAD:-build/tests/workload}
OUT=${OUT:-build/out/evict}
MAX_FLOWS=8000
mkdir -p "$OUT"

pass=0 fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $*"; fail=$((fail + 1)); }
check() { # check DESCRIPTION GOT WANT
	if [ "$2" = "$3" ]; then ok "$1: $2"; else not_ok "$1: got '$2', want '$3'"; fi
}

command -v jq >/dev/null || { echo "evict: jq is missing"; exit 1; }
if ! "$WORKLOAD" -q -n 300000 -s 1 -o "$OUT/mix.pcap"; then
	echo "evict: $WORKLOAD failed"
	exit 1
fi
for run in whole small; do
	extra=()
	[ "$run" = small ] && extra=(--max-flows "$MAX_FLOWS")
	if ! "$CONNSCOPE" -q -r "$OUT/mix.pcap" --json "$OUT/$run.json" "${extra[@]}" \
		>/dev/null 2>"$OUT/$run.err"; then
		echo "evict: connscope ${extra[*]} failed: $(head -c 300 "$OUT/$run.err")"
		exit 1
	fi
done
field() { jq "$2" "$OUT/$1.json"; }

check "the whole table evicts nothing" "$(field whole .summary.evicted)" 0
evicted=$(field small .summary.evicted)
if [ "$evicted" -gt 1000 ]; then ok "--max-flows $MAX_FLOWS evicts: $evicted"; else
	not_ok "--max-flows $MAX_FLOWS evicts only $evicted: the test no longer tests eviction"; fi
for outcome in completed established closing aborted timeout attempt half_open \
	reset_nonexistent; do
	check "$outcome connections" "$(field small ".outcomes.$outcome")" \
		"$(field whole ".outcomes.$outcome")"
done
whole=$(field whole .summary.connections)
small=$(field small .summary.connections)
if [ "$small" -ge "$whole" ] && [ "$small" -le $((whole + whole / 200)) ]; then
	ok "connections: $small, against $whole in the whole table"
else
	not_ok "connections: $small, against $whole in the whole table (at most 0.5% more)"
fi
midstream=$(field small .outcomes.midstream)
if [ "$midstream" -le $((small / 100)) ]; then ok "midstream: $midstream"; else
	not_ok "midstream: $midstream of $small connections (at most 1%)"; fi
late=$(field small .summary.untracked.evicted)
if [ "$late" -gt 0 ]; then ok "later packets of evicted connections: $late"; else
	not_ok "later packets of evicted connections: $late"; fi
check "packets analysed" "$(field small .summary.analysed)" "$(field small .summary.packets)"

for sample in synflood-backlog synflood-cookies timewait; do
	want=$(awk -F '\t' '$1 == "outcome" && $2 == "completed" { print $3 }' \
		"tests/samples/$sample.expected-counts.tsv")
	if ! got=$("$CONNSCOPE" -q -r "samples/$sample.pcap" --max-flows 500 --json - \
		2>"$OUT/$sample.err" | jq '[.outcomes.completed, .summary.evicted] | @tsv' -r); then
		not_ok "$sample: connscope failed: $(head -c 300 "$OUT/$sample.err")"
		continue
	fi
	evicted=${got#*$'\t'}
	# (without evictions the check below would say nothing about them)
	if [ "$evicted" -gt 0 ] 2>/dev/null; then ok "$sample at --max-flows 500: $evicted evicted"
	else not_ok "$sample at --max-flows 500: evicted '$evicted', want some"; fi
	check "$sample at --max-flows 500: completed" "${got%%$'\t'*}" "$want"
done

echo "evict: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
