#!/usr/bin/env bash
# soak.sh — connscope's memory under a long live capture with its dashboard.
#
#   make soak [SOAK_SECONDS=300]      (root: it makes its own namespaces)
#
# connscope -i on a veth between two namespaces (tests/lib/livepair.sh),
# with --web, while a bounded client loop makes connections across the link
# for SOAK_SECONDS: complete exchanges, refused ones, ones the client aborts
# with a RST.  Every SAMPLE_SECONDS the dashboard is asked for its summary
# and a page of connections, and connscope's resident set (VmRSS) is read.
#
# The capture runs with --msl 5: closed connections leave the flow table
# after 2*MSL = 10 s instead of 60 s, so the table's population (about
# rate x 2*MSL records of 688 bytes) levels off early; the dashboard's
# fixed-size rings (5000 recent connections, 65536 timeline events) fill
# within the first minute at ~100 connections/s.  After WARMUP_SECONDS
# (60) nothing should grow.
#
# Fails when
#   - the RSS at the end exceeds the sample taken after WARMUP_SECONDS by
#     more than 10% + 4 MiB;
#   - the final report does not account for every connection the client
#     made (report .summary.connections == made, with 0 kernel drops);
#   - a dashboard request fails, or the traffic does.
# The samples are printed either way.
set -u

CONNSCOPE=${CONNSCOPE:-./connscope}
TCPPING=${TCPPING:-build/tests/tcpping}
WEBPEST=${WEBPEST:-build/tests/webpest}
SOAK_SECONDS=${SOAK_SECONDS:-300}
WARMUP_SECONDS=${WARMUP_SECONDS:-60}
SAMPLE_SECONDS=5
CHURN_INTERVAL_MS=${CHURN_INTERVAL_MS:-5}	# ~100 connections/s, not the CPU's limit
MARGIN_PCT=10
MARGIN_KIB=4096

. "$(dirname "$0")/lib/cannot_run.sh"
need_root soak "for network namespaces"
command -v jq >/dev/null || { echo "soak: 'jq' not found (make deps)"; exit 2; }
[ "$SOAK_SECONDS" -gt "$WARMUP_SECONDS" ] ||
	{ echo "soak: SOAK_SECONDS ($SOAK_SECONDS) must exceed WARMUP_SECONDS ($WARMUP_SECONDS)"; exit 2; }
CONNSCOPE=$(realpath "$CONNSCOPE")
TCPPING=$(realpath "$TCPPING")
WEBPEST=$(realpath "$WEBPEST")

. "$(dirname "$0")/lib/procs.sh"
. "$(dirname "$0")/lib/livepair.sh"
live_script soak

pair_up soak
serve $((SOAK_SECONDS + 60))
start_capture --msl 5 --json "$TMP/report.json"

start=$SECONDS
churn $((start + SOAK_SECONDS)) "$TMP/traffic.log" &
TRAFFIC_PID=$!
PIDS+=("$TRAFFIC_PID")

# The samples: "seconds rss_kib" per line.
web_failures=0
warm_rss=
echo "soak: ${SOAK_SECONDS} s; RSS of connscope (KiB) every ${SAMPLE_SECONDS} s:"
next=$((start + SAMPLE_SECONDS))
while kill -0 "$TRAFFIC_PID" 2>/dev/null && [ "$SECONDS" -lt $((start + SOAK_SECONDS + 30)) ]; do
	sleep $((next - SECONDS > 0 ? next - SECONDS : 0))
	next=$((next + SAMPLE_SECONDS))
	for path in /api/summary "/api/connections?limit=100&sort=-bytes"; do
		ip netns exec "$NSC" "$WEBPEST" probe 127.0.0.1 "$WPORT" --path "$path" \
			--count 1 --deadline 5 >>"$TMP/web.log" 2>&1 || web_failures=$((web_failures + 1))
	done
	rss=$(rss_kib "$CS_PID")
	[ -n "$rss" ] || fail "connscope exited during the soak: $(tail -n 3 "$TMP/connscope.err")"
	t=$((SECONDS - start))
	echo "$t $rss" >>"$TMP/rss.txt"
	[ -z "$warm_rss" ] && [ "$t" -ge "$WARMUP_SECONDS" ] && warm_rss=$rss
	printf '# %4d s %8d KiB  (%d connections so far)\n' "$t" "$rss" "$(made "$TMP/traffic.log")"
done
wait "$TRAFFIC_PID"
traffic_rc=$?
end_rss=$(tail -n 1 "$TMP/rss.txt" | cut -d' ' -f2)
sleep 1	# the last connections reach the ring
stop "$CS_PID" INT

made=$(made "$TMP/traffic.log")
seen=$(jq '.summary.connections' "$TMP/report.json" 2>/dev/null)
drops=$(jq '.summary.capture_drops // 0' "$TMP/report.json" 2>/dev/null)
outcomes=$(jq -c '.outcomes | with_entries(select(.value > 0))' "$TMP/report.json" 2>/dev/null)
limit=$((warm_rss + warm_rss * MARGIN_PCT / 100 + MARGIN_KIB))
echo "soak: RSS ${warm_rss:-?} KiB at ${WARMUP_SECONDS} s, ${end_rss:-?} KiB at the end" \
	"(limit $limit KiB = +${MARGIN_PCT}% + ${MARGIN_KIB} KiB);" \
	"$made connections made, report: ${seen:-?} connections ${outcomes:-?}, ${drops:-?} drops;" \
	"dashboard requests failed: $web_failures"

status=0
[ "$traffic_rc" -eq 0 ] || { echo "not ok - traffic failed: $(tail -n 2 "$TMP/traffic.log")"; status=1; }
[ "$web_failures" -eq 0 ] || { echo "not ok - dashboard: $(grep -v ' 0 not' "$TMP/web.log" | tail -n 2)"; status=1; }
[ -n "$warm_rss" ] && [ "$end_rss" -le "$limit" ] ||
	{ echo "not ok - RSS grew from ${warm_rss:-?} KiB to ${end_rss:-?} KiB"; status=1; }
[ "${drops:-x}" = 0 ] || { echo "not ok - the kernel dropped ${drops:-?} packets"; status=1; }
[ "$made" -gt 0 ] && [ "${seen:-x}" = "$made" ] ||
	{ echo "not ok - the report has ${seen:-?} connections of $made made"; status=1; }
[ "$status" -eq 0 ] && echo "soak: ok"
exit "$status"
