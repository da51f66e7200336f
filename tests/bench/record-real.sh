#!/usr/bin/env bash
# record-real.sh — the real capture of `make bench BENCH_REAL=1`: connection
# churn made by the kernel's own TCP, recorded with tcpdump.
#
#   CAPTURE_OUT=FILE TCPPING=PATH bash tests/bench/record-real.sh    (root)
#
# tests/lib/livepair.sh's pair of network namespaces (a veth, IPv6 off,
# static neighbours: the link carries only this traffic), the tcpping echo
# server in one, and in the other REAL_CLIENTS loops of livepair's churn
# for REAL_SECONDS: rounds of 20 complete exchanges (the client closes
# first), 2 connections refused (no listener) and 2 reset by the client.
# tcpdump records the client's end of the veth (-s 256, connscope's live
# snap length).  Each tcpping run is bounded by its own --timeout, tcpdump
# by the script: nothing outlives it, and the namespaces go at exit.
#
# The capture becomes FILE only once tcpdump has stopped and said it
# dropped nothing; until then it is in the scratch folder, removed at
# exit.  On stdout, one line:
#
#   packets=N connections=N seconds=S
#
# Knobs: REAL_SECONDS (4, 1 to 10), REAL_CLIENTS (4, 1 to 16).
set -u
OUT=$(realpath -m "${CAPTURE_OUT:?CAPTURE_OUT names the file to write}")
TCPPING=$(realpath -m "${TCPPING:?TCPPING names the tcpping binary}")
cd "$(dirname "$0")/../.." || exit 1

REAL_SECONDS=${REAL_SECONDS:-4}
REAL_CLIENTS=${REAL_CLIENTS:-4}

. tests/lib/procs.sh
. tests/lib/livepair.sh
live_script bench-real

[ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces)"
[[ $REAL_SECONDS =~ ^([1-9]|10)$ ]] || fail "REAL_SECONDS must be 1 to 10, not '$REAL_SECONDS'"
[[ $REAL_CLIENTS =~ ^([1-9]|1[0-6])$ ]] || fail "REAL_CLIENTS must be 1 to 16, not '$REAL_CLIENTS'"
[ -x "$TCPPING" ] || fail "'$TCPPING' is not an executable"
for tool in ip tcpdump timeout; do
	command -v "$tool" >/dev/null || fail "'$tool' not found (make deps installs it)"
done

pair_up br
serve $((REAL_SECONDS + 15))

# -Z root: Debian's tcpdump would drop to user tcpdump before opening the
# file.  --immediate-mode: no block of packets is held back when it stops.
before=$(packet_sockets "$NSC")
ip netns exec "$NSC" tcpdump -i "$IFACE" -s 256 -B 16384 --immediate-mode -Z root \
	-w "$TMP/real.pcap" tcp 2>"$TMP/tcpdump.err" &
DUMP_PID=$!
PIDS+=("$DUMP_PID")
wait_capture "$NSC" "$DUMP_PID" "$before" || fail "tcpdump did not start: $(cat "$TMP/tcpdump.err")"

t0=${EPOCHREALTIME/./}
until_s=$((SECONDS + REAL_SECONDS))
churners=()
for ((i = 1; i <= REAL_CLIENTS; i++)); do
	churn "$until_s" "$TMP/churn$i.log" &
	churners+=($!)
	PIDS+=($!)
done
for p in "${churners[@]}"; do
	wait "$p" || fail "a churn loop failed: $(tail -n 3 "$TMP"/churn*.log)"
done
t1=${EPOCHREALTIME/./}

# The last ACKs, then SIGTERM (a script's background job ignores SIGINT);
# tcpdump writes out what it holds on either.
sleep 0.5
kill -TERM "$DUMP_PID"
wait_gone "$DUMP_PID" 50 || fail "tcpdump did not stop"
wait "$DUMP_PID" 2>/dev/null
grep -q '^0 packets dropped by kernel' "$TMP/tcpdump.err" ||
	fail "the capture lost packets: $(cat "$TMP/tcpdump.err")"
packets=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$TMP/tcpdump.err")
mv "$TMP/real.pcap" "$OUT" || fail "cannot write $OUT"

conns=0
for ((i = 1; i <= REAL_CLIENTS; i++)); do
	conns=$((conns + $(made "$TMP/churn$i.log")))
done
awk -v p="$packets" -v c="$conns" -v us=$((t1 - t0)) \
	'BEGIN { printf "packets=%s connections=%d seconds=%.1f\n", p, c, us / 1e6 }'
