#!/usr/bin/env bash
# flood.sh — a 10-million-packet spoofed SYN flood, with 1,000 real
# connections talking through it, analysed within --max-flows.
#
# tests/tools/floodgen writes the capture into a pipe (nothing on disk):
# 10,000,000 SYNs from as many spoofed sources to 10.2.0.80:80 -- 200,000
# of them at 2,000 a second (100 s: the table fills slowly, its timeouts
# shrink and SYNs expire early), the rest at 1,000,000 a second (the table
# is full: the oldest SYNs are evicted) -- and 1,000 clients of
# 10.2.0.1:8080 that exchange a request and an answer every second and
# close after the flood.
# connscope reads it with --max-flows 100000 and --web, and the test asks
# the API and /metrics (the JSON report would list ten million rows):
#   - every packet read and analysed; the syn_flood alert's SYN count exact;
#   - the 1,000 connections completed, each with every one of its packets:
#     the flood's records were evicted (embryonic first) or expired early
#     (timeouts shrink as the table fills), never theirs;
#   - the eviction and early-expiry counters in /api/summary and /metrics,
#     and /metrics as promtool check metrics reads it;
#   - peak memory (VmHWM) within the stated bound, and no higher than for a
#     flood a fifth the size: it follows --max-flows, not the flood.
# Memory is not checked under a sanitizer (CS_SANITIZED=1): its shadow
# memory is not connscope's.
set -uo pipefail
cd "$(dirname "$0")/.."

CONNSCOPE=${CONNSCOPE:-./connscope}
FLOODGEN=${FLOODGEN:-build/tests/floodgen}
OUT=${OUT:-build/out/flood}
SYNS=${FLOOD_SYNS:-10000000}
CONNS=1000
RATE=1000000
SLOW=200000
SLOW_RATE=2000
MAX_FLOWS=100000
# The bound: 28 MiB for the program, its buffers, the detectors' fixed
# tables and the dashboard's rings (24 MiB measured with --max-flows 1000),
# plus 0.9 KiB per record of --max-flows (a record is 688 bytes, its index
# slots 32, the keys of evicted connections 144: evicted.h, and as many
# evicted records held, about 60 bytes each: flow.h).  Measured: 71,620
# KiB before evicted records were held, 79,988 with them.
BOUND_KIB=$((28 * 1024 + MAX_FLOWS * 9 / 10))
mkdir -p "$OUT"
source tests/lib/procs.sh
PIDS=()
NAMESPACES=()
trap stop_all EXIT

pass=0 fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $*"; fail=$((fail + 1)); }
check() { # check DESCRIPTION GOT WANT
	if [ "$2" = "$3" ]; then ok "$1: $2"; else not_ok "$1: got '$2', want '$3'"; fi
}

for tool in curl jq promtool; do
	command -v $tool >/dev/null || { echo "flood: $tool is missing"; exit 1; }
done

# run NAME SYNS: analyses a flood of SYNS; sets URL, PID and HWM_KIB once the
# analysis is done and the dashboard serves it.
run() {
	local name=$1 syns=$2
	"$CONNSCOPE" -r <("$FLOODGEN" "$syns" $CONNS $RATE $SLOW $SLOW_RATE \
			2>"$OUT/$name.gen") \
		--max-flows $MAX_FLOWS --web 127.0.0.1:0 --no-color \
		--report "$OUT/$name.txt" 2>"$OUT/$name.err" &
	PID=$!
	PIDS+=("$PID")
	URL=
	for _ in $(seq 1800); do	# 3 minutes, for sanitizer builds
		if grep -q "serving the dashboard until Ctrl-C" "$OUT/$name.err"; then
			URL=$(sed -n 's/.*dashboard at \(http:[^ ]*\).*/\1/p' "$OUT/$name.err")
			URL=${URL%/}
			break
		fi
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	HWM_KIB=$(awk '/^VmHWM/ {print $2}' /proc/"$PID"/status 2>/dev/null)
}

# What floodgen writes: per client, SYN + ACK, then a request and an ACK
# every second of the flood, then FIN + ACK; the server SYN-ACK, an answer a
# second and FIN.
# The flood starts 1 s in; the clients exchange in every whole second from
# 2 s in until the second after the flood's last SYN.
secs_of() { # $1 SYNs
	local span_us=$((SLOW * 1000000 / SLOW_RATE + ($1 - SLOW) * 1000000 / RATE))
	echo $(((1000000 + span_us) / 1000000 + 1 - 2))
}

run big "$SYNS"
if [ -z "$URL" ]; then
	not_ok "connscope did not finish the analysis"; cat "$OUT/big.err"
	echo "flood: $pass passed, $((fail + 1)) failed"; exit 1
fi
curl -sf "$URL/api/summary" >"$OUT/big.summary.json"
curl -sf "$URL/api/alerts" >"$OUT/big.alerts.json"
curl -sf "$URL/metrics" >"$OUT/big.metrics"
curl -sf "$URL/api/connections?port=8080&limit=1000" >"$OUT/big.conns.json"
stop "$PID" INT

packets=$(sed -n 's/^floodgen: \([0-9]*\) packets.*/\1/p' "$OUT/big.gen")
secs=$(secs_of "$SYNS")
check "packets read" "$(jq .summary.packets "$OUT/big.summary.json")" "$packets"
check "packets analysed" "$(jq .summary.analysed "$OUT/big.summary.json")" "$packets"
check "connections" "$(jq .summary.connections "$OUT/big.summary.json")" $((SYNS + CONNS))
check "syn_flood alerts" "$(jq '[.alerts[] | select(.type == "syn_flood")] | length' \
	"$OUT/big.alerts.json")" 1
check "the flooded target" "$(jq -r '.alerts[] | select(.type == "syn_flood") | .target' \
	"$OUT/big.alerts.json")" "10.2.0.80:80"
check "syn_flood syns_total" "$(jq '.alerts[] | select(.type == "syn_flood") | .syns_total' \
	"$OUT/big.alerts.json")" "$SYNS"
check "connections to 10.2.0.1:8080" "$(jq .total "$OUT/big.conns.json")" $CONNS
check "completed connections to 10.2.0.1:8080" "$(jq '[.items[] |
	select(.outcome == "completed")] | length' "$OUT/big.conns.json")" $CONNS
check "their client packets (2 + 2 a second + 2)" "$(jq "[.items[] |
	select(.orig_pkts != $((2 + 2 * secs + 2)))] | length" "$OUT/big.conns.json")" 0
check "their server packets (1 + 1 a second + 1)" "$(jq "[.items[] |
	select(.resp_pkts != $((1 + secs + 1)))] | length" "$OUT/big.conns.json")" 0
evicted=$(jq .summary.evicted "$OUT/big.summary.json")
early=$(jq .summary.expired_early "$OUT/big.summary.json")
if [ "$evicted" -gt 0 ] 2>/dev/null; then ok "evicted: $evicted"; else not_ok "evicted: $evicted"; fi
if [ "$early" -gt 0 ] 2>/dev/null; then ok "expired early: $early"; else not_ok "expired early: $early"; fi
check "/metrics evicted (embryonic)" \
	"$(sed -n 's/^connscope_evicted_total{reason="embryonic"} //p' "$OUT/big.metrics")" "$evicted"
check "/metrics expired early" \
	"$(sed -n 's/^connscope_expired_early_total //p' "$OUT/big.metrics")" "$early"
# The exposition format itself, as Prometheus's own checker reads it.
if promtool check metrics <"$OUT/big.metrics" >"$OUT/big.promtool" 2>&1; then
	ok "/metrics passes promtool check metrics"
else
	not_ok "/metrics fails promtool check metrics: $(head -c 300 "$OUT/big.promtool")"
fi
check "the report's eviction line" \
	"$(grep -c "evicted to stay within --max-flows: embryonic" "$OUT/big.txt")" 1
# the flood's SYNs, held after their eviction, are let go for newer ones
check "the report's held line" "$(grep -c "of them, held packed: .* let go" "$OUT/big.txt")" 1
check "the report's early-expiry line" "$(grep -c "expired early" "$OUT/big.txt")" 1
echo "# 10M flood: peak RSS $((HWM_KIB / 1024)) MiB (VmHWM $HWM_KIB KiB), evicted $evicted, expired early $early"

if [ "${CS_SANITIZED:-0}" = 1 ]; then
	echo "# memory not checked under a sanitizer"
else
	if [ "$HWM_KIB" -le "$BOUND_KIB" ]; then
		ok "peak RSS $HWM_KIB KiB <= $BOUND_KIB KiB (28 MiB + 0.9 KiB x --max-flows $MAX_FLOWS)"
	else
		not_ok "peak RSS $HWM_KIB KiB > $BOUND_KIB KiB"
	fi
	big_hwm=$HWM_KIB
	run small $((SYNS / 5))
	stop "$PID" INT
	echo "# flood of $((SYNS / 5)) SYNs: peak RSS $((HWM_KIB / 1024)) MiB"
	if [ -n "$HWM_KIB" ] && [ "$big_hwm" -le $((HWM_KIB + 8192)) ]; then
		ok "five times the flood, the same memory: $big_hwm KiB vs $HWM_KIB KiB"
	else
		not_ok "five times the flood grew memory: $big_hwm KiB vs ${HWM_KIB:-?} KiB"
	fi
fi

echo "flood: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
