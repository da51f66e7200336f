#!/usr/bin/env bash
# webload.sh — the dashboard's API under load while a live capture runs.
#
#   make webload          (root: it makes its own network namespaces)
#
# Two namespaces joined by a veth pair, as in live.sh.  In the client's:
# connscope -i vw1 --web 127.0.0.1:0, a steady stream of kernel TCP
# connections across the link (bounded in count and time), and wrk with
# 64 connections for 10 s against /api/summary.  Reports wrk's req/s and
# latency and fails on any error wrk saw (socket errors, non-2xx answers)
# or if the capture missed connections; the speed itself is a figure to
# read, never a pass/fail line (machines here are shared and noisy).
#
# Also, when Debian's promtool is installed (package prometheus, not
# required), /metrics of the loaded server is checked with
# `promtool check metrics`.
set -u

CONNSCOPE=${CONNSCOPE:-./connscope}
TCPPING=${TCPPING:-build/tests/tcpping}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
WRK_SECONDS=${WRK_SECONDS:-10}

[ "$(id -u)" -eq 0 ] || { echo "webload: SKIPPED (needs root for network namespaces)"; exit 0; }
for tool in wrk jq; do
	command -v "$tool" >/dev/null || { echo "webload: '$tool' not found (make deps)"; exit 2; }
done
CONNSCOPE=$(realpath "$CONNSCOPE")
TCPPING=$(realpath "$TCPPING")

NSS=csw-srv-$$
NSC=csw-cli-$$
SRV_ADDR=10.213.51.1
CLI_ADDR=10.213.51.2
PORT=7071
TMP=$(mktemp -d /tmp/cs-webload.XXXXXX)
PIDS=()
NAMESPACES=("$NSS" "$NSC")	# made below; removed on exit either way

# wait_gone, stop, stop_all
. "$(dirname "$0")/lib/procs.sh"

cleanup() {
	stop_all
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "not ok - $*"; echo "webload: failed"; exit 1; }

ip netns add "$NSS" && ip netns add "$NSC" || fail "ip netns add"
{
	for n in "$NSS" "$NSC"; do
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip -n "$n" link set lo up
	done
	ip link add vw0 netns "$NSS" type veth peer name vw1 netns "$NSC"
	ip -n "$NSS" addr add "$SRV_ADDR/24" dev vw0
	ip -n "$NSC" addr add "$CLI_ADDR/24" dev vw1
	ip -n "$NSS" link set vw0 up
	ip -n "$NSC" link set vw1 up
	# many short connections: reuse TIME_WAIT ports rather than run out
	ip netns exec "$NSC" sysctl -qw net.ipv4.tcp_tw_reuse=1
} >"$TMP/setup.log" 2>&1 || fail "namespaces: $(tr '\n' ' ' <"$TMP/setup.log")"

ip netns exec "$NSS" "$TCPPING" serve "$SRV_ADDR" "$PORT" --count 0 \
	--timeout $((WRK_SECONDS + 30)) >"$TMP/server.log" 2>&1 &
PIDS+=($!)
ip netns exec "$NSC" "$CONNSCOPE" -i vw1 -q --web 127.0.0.1:0 \
	--json "$TMP/report.json" 2>"$TMP/connscope.err" &
CS_PID=$!
PIDS+=("$CS_PID")
wport=
for _ in $(seq 50); do
	wport=$(sed -n 's/.*dashboard at http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$TMP/connscope.err")
	[ -n "$wport" ] && grep -q '^listening' "$TMP/server.log" && break
	sleep 0.1
done
[ -n "$wport" ] || fail "connscope did not start: $(cat "$TMP/connscope.err")"
sleep 0.5

# Traffic for the whole run: batches of 20 connections, each bounded.
(
	end=$((SECONDS + WRK_SECONDS + 2))
	while [ "$SECONDS" -lt "$end" ]; do
		ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$PORT" --count 20 \
			--timeout 10 >>"$TMP/traffic.log" 2>&1 || exit 1
	done
) &
TRAFFIC_PID=$!
PIDS+=("$TRAFFIC_PID")

ip netns exec "$NSC" wrk -t 2 -c "$WRK_CONNECTIONS" -d "${WRK_SECONDS}s" --latency \
	"http://127.0.0.1:$wport/api/summary" >"$TMP/wrk.txt" 2>&1
wrk_rc=$?
wait "$TRAFFIC_PID"
traffic_rc=$?

metrics_ok=skipped
if command -v promtool >/dev/null; then
	ip netns exec "$NSC" timeout 5 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET /metrics HTTP/1.0\r\n\r\n" >&3
		sed "1,/^\r$/d" <&3' _ "$wport" >"$TMP/metrics.txt"
	if promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.txt" 2>&1; then
		metrics_ok=yes
	else
		metrics_ok="no: $(head -c 300 "$TMP/promtool.txt")"
	fi
fi
sleep 1	# the last connections reach the ring
stop "$CS_PID" INT

sed 's/^/# /' "$TMP/wrk.txt"
made=$(grep -c '^conn [0-9]* ok' "$TMP/traffic.log")
seen=$(jq '.outcomes.completed' "$TMP/report.json" 2>/dev/null)
drops=$(jq '.summary.capture_drops // 0' "$TMP/report.json" 2>/dev/null)
rps=$(awk '/^Requests\/sec/ { print $2 }' "$TMP/wrk.txt")
p99=$(awk '$1 == "99%" { print $2 }' "$TMP/wrk.txt")
errors=$(awk '/Socket errors/ || /Non-2xx/' "$TMP/wrk.txt")
echo "webload: /api/summary with $WRK_CONNECTIONS connections for ${WRK_SECONDS} s: ${rps:-?} req/s, p99 ${p99:-?}; live capture of $made connections (report: ${seen:-?} completed, ${drops:-?} drops); promtool: $metrics_ok"

status=0
[ "$wrk_rc" -eq 0 ] && [ -n "$rps" ] || { echo "not ok - wrk failed (status $wrk_rc)"; status=1; }
[ -z "$errors" ] || { echo "not ok - wrk saw errors: $errors"; status=1; }
[ "$traffic_rc" -eq 0 ] || { echo "not ok - traffic failed: $(tail -n 1 "$TMP/traffic.log")"; status=1; }
# Under this load the kernel may drop packets from the capture ring (a
# figure of the machine, reported); without drops every connection counts.
if [ "${drops:-0}" != 0 ]; then
	echo "# the kernel dropped $drops packets from the capture ring: connection count not compared"
elif ! [ "$made" -gt 0 ] || [ "$seen" != "$made" ]; then
	echo "not ok - the capture saw ${seen:-?} completed connections of $made made"
	status=1
fi
case $metrics_ok in yes|skipped) ;; *) echo "not ok - /metrics: $metrics_ok"; status=1 ;; esac
[ "$status" -eq 0 ] && echo "webload: ok"
exit "$status"
