#!/usr/bin/env bash
# slowweb.sh — slow and abandoned clients against the dashboard while a
# live capture runs.
#
#   make webload          (runs it after the load; root: namespaces)
#
# connscope -i with --web in the client namespace of tests/lib/livepair.sh,
# with connection churn across the link for the whole run.  The bad clients
# (tests/tools/webpest.c), each kind from its own loopback address so the
# server's per-client limit (32) is seen per kind:
#   1  abandoned event streams: 3 waves of 32 (the server's cap on streams)
#      that read the headers and hang up, 3 s apart — every wave must get
#      its streams, so the places of the last wave's were given back;
#   2  at the same time, for HOLD_SECONDS:
#      - 400 idle connections (more than the per-client limit): the excess
#        is turned away, the rest must be closed by the server (a request
#        is due within 10 s), none left open;
#      - 20 slowloris clients, one header byte a second: all must be closed
#        by the server, none left open;
#      - 40 event streams never read: at most 32 are served (the cap), the
#        rest refused.
# Throughout, a well-behaved client from 127.0.0.1 asks for /api/summary
# once a second; every answer must be a 200 within 5 s (a generous bound,
# not a benchmark).  At the end the capture must have seen every
# connection the churn made, with no kernel drops.
set -u

CONNSCOPE=${CONNSCOPE:-./connscope}
TCPPING=${TCPPING:-build/tests/tcpping}
WEBPEST=${WEBPEST:-build/tests/webpest}
HOLD_SECONDS=${HOLD_SECONDS:-25}
MAX_STREAMS=32		# web/server.c
PER_IP_LIMIT=32		# per_client, web/server.c

. "$(dirname "$0")/lib/cannot_run.sh"
need_root slowweb "for network namespaces"
command -v jq >/dev/null || { echo "slowweb: 'jq' not found (make deps)"; exit 2; }
CONNSCOPE=$(realpath "$CONNSCOPE")
TCPPING=$(realpath "$TCPPING")
WEBPEST=$(realpath "$WEBPEST")

. "$(dirname "$0")/lib/procs.sh"
. "$(dirname "$0")/lib/livepair.sh"
live_script slowweb
status=0
not_ok() { echo "not ok - $*"; status=1; }

# pest MODE FROM ARGS...: a webpest client in the client namespace.
pest() {
	local mode=$1 from=$2
	shift 2
	ip netns exec "$NSC" "$WEBPEST" "$mode" 127.0.0.1 "$WPORT" --from "$from" "$@"
}

# field LINE WORDS: the number after WORDS in a webpest line.
field() {
	sed -n "s/.*$2 \([0-9][0-9]*\).*/\1/p" <<<"$1"
}

run_seconds=$((HOLD_SECONDS + 20))
pair_up slow
serve $((run_seconds + 30))
start_capture --json "$TMP/report.json"
churn $((SECONDS + run_seconds)) "$TMP/traffic.log" &
TRAFFIC_PID=$!
PIDS+=("$TRAFFIC_PID")

pest probe 127.0.0.1 --count $((run_seconds - 5)) --interval 1000 --deadline 5 >"$TMP/probe.txt" &
PROBE_PID=$!
PIDS+=("$PROBE_PID")

# 1: abandoned event streams
drop=$(pest sse-drop 127.0.0.5 --count "$MAX_STREAMS" --waves 3 --interval 3000 --hold 0)
echo "# $drop"
[ "$(field "$drop" "streams opened and abandoned")" = $((3 * MAX_STREAMS)) ] ||
	not_ok "abandoned event streams kept their places: $drop"

# 2: idle, slowloris and unread streams at once
pest idle 127.0.0.2 --count 400 --hold "$HOLD_SECONDS" >"$TMP/idle.txt" &
IDLE_PID=$!
pest slowloris 127.0.0.3 --count 20 --interval 1000 --hold "$HOLD_SECONDS" >"$TMP/slow.txt" &
SLOW_PID=$!
pest sse-stall 127.0.0.4 --count 40 --hold "$HOLD_SECONDS" >"$TMP/stall.txt" &
STALL_PID=$!
PIDS+=("$IDLE_PID" "$SLOW_PID" "$STALL_PID")
wait "$IDLE_PID" "$SLOW_PID" "$STALL_PID"
idle=$(cat "$TMP/idle.txt") slow=$(cat "$TMP/slow.txt") stall=$(cat "$TMP/stall.txt")
echo "# $idle"
echo "# $slow"
echo "# $stall"
[ "$(field "$idle" "still open")" = 0 ] &&
	[ "$(field "$idle" "closed by the server later")" = "$PER_IP_LIMIT" ] &&
	[ "$(field "$idle" "turned away")" = $((400 - PER_IP_LIMIT)) ] ||
	not_ok "idle connections: $idle"
[ "$(field "$slow" "still open")" = 0 ] && [ "$(field "$slow" "closed by the server later")" = 20 ] ||
	not_ok "slowloris connections: $slow"
[ "$(field "$stall" "turned away")" = $((40 - MAX_STREAMS)) ] ||
	not_ok "unread event streams beyond the cap of $MAX_STREAMS: $stall"

wait "$PROBE_PID" || true
probe=$(cat "$TMP/probe.txt")
echo "# $probe"
[ "$(field "$probe" "answered 200,")" = 0 ] || not_ok "the well-behaved client: $probe"

wait "$TRAFFIC_PID"
traffic_rc=$?
sleep 1	# the last connections reach the ring
stop "$CS_PID" INT
made=$(made "$TMP/traffic.log")
seen=$(jq '.summary.connections' "$TMP/report.json" 2>/dev/null)
drops=$(jq '.summary.capture_drops // 0' "$TMP/report.json" 2>/dev/null)
echo "slowweb: live capture meanwhile: $made connections made, report: ${seen:-?}, ${drops:-?} kernel drops"
[ "$traffic_rc" -eq 0 ] || not_ok "traffic failed: $(tail -n 1 "$TMP/traffic.log")"
[ "${drops:-x}" = 0 ] || not_ok "the kernel dropped ${drops:-?} packets from the capture"
[ "$made" -gt 0 ] && [ "${seen:-x}" = "$made" ] || not_ok "the capture saw ${seen:-?} connections of $made made"
[ "$status" -eq 0 ] && echo "slowweb: ok"
exit "$status"
