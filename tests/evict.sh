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
#   - every connection ends as it did in the whole table: each outcome's
#     count is equal;
#   - every row is the whole table's, id, packets and times included, but
#     for `evicted`: an evicted record is held packed, and a later packet
#     (a retried SYN, a SYN-ACK, the RST refusing it, a late ACK) brings
#     it back (analyzer/tracking/flow.h, "Held records").  Before evicted
#     keys, 50,386 connections were reported for 29,673, 19,608 of them
#     midstream, and 6,488 completed of 16,108; with evicted keys (their
#     later packets counted apart), 30,156, 152 midstream, and 59 timed out
#     of 370; with held attempts alone, 29,686;
#   - every packet is still analysed.
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
for outcome in completed established closing aborted refused timeout unreachable \
	attempt half_open reset_nonexistent midstream; do
	check "$outcome connections" "$(field small ".outcomes.$outcome")" \
		"$(field whole ".outcomes.$outcome")"
done
check "connections" "$(field small .summary.connections)" "$(field whole .summary.connections)"
rows() { jq -c '.connections[] | del(.evicted)' "$OUT/$1.json" | sort; }
differ=$(diff <(rows whole) <(rows small) | grep -c '^>')
check "rows not as in the whole table (but for evicted)" "$differ" 0
check "later packets counted apart" "$(field small .summary.untracked.evicted)" 0
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
