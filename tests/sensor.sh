#!/usr/bin/env bash
# sensor.sh — connscope as a sensor: JSON Lines, rotation, SIGHUP, drops.
#
#   CONNSCOPE=./connscope TCPPING=build/tests/tcpping bash tests/sensor.sh
#
# Run by `make check`.  Needs root for network namespaces (fails with the
# reason under CI without it).  Two namespaces joined by a veth pair, the
# link carrying only the test's TCP (IPv6 off, static neighbours), with
# tcpdump capturing the same interface as connscope: the connections
# expected are counted in tcpdump's file (one client SYN per connection,
# each from its own port), never taken from connscope.
#
#   a  --jsonl F --conn-log C --rotate 4 for 14 s with traffic throughout:
#      at least three rotated files of each, named NAME.YYYY-MM-DD-HH-MM-SS.EXT;
#      every line valid JSON (jq); every connection exactly once across the
#      files (ids unique, as many as tcpdump's SYNs); every conn.log file has
#      its header and its #close line; F's first lines are readable (whole
#      JSON lines, a "conn" among them) while connscope still runs
#   b  --jsonl F --web: mv F F.1 then SIGHUP: connscope goes on, writes a new
#      F; F.1 + F hold every connection once; /api/summary and /metrics carry
#      a numeric capture_drops while the capture runs
#   c  on every sample and Zeek corpus capture, the conn lines of --jsonl
#      are the --json report's connection objects, field for field
#      (zeek_rows included), "type" aside
#
# Every wait is bounded; every process started here is stopped by PID and
# the namespaces are removed on exit.
set -u

CONNSCOPE=${CONNSCOPE:-./connscope}
TCPPING=${TCPPING:-build/tests/tcpping}
CONNSCOPE=$(realpath "$CONNSCOPE")
TCPPING=$(realpath "$TCPPING")
ROOT=$(cd "$(dirname "$0")/.." && pwd)

. "$(dirname "$0")/lib/cannot_run.sh"
need_root sensor "to create network namespaces"
. "$(dirname "$0")/lib/procs.sh"

NSS=css-srv-$$
NSC=css-cli-$$
SRV_ADDR=10.213.51.1
CLI_ADDR=10.213.51.2
PORT=7071
IFACE=vs1
PIDS=()
NAMESPACES=()
PASS=0
FAIL=0
TMP=$(mktemp -d /tmp/cs-sensor.XXXXXX)
trap 'stop_all; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

ok() { echo "ok - $*"; PASS=$((PASS + 1)); }
not_ok() { echo "not ok - $*"; FAIL=$((FAIL + 1)); }
setup_fail() {
	echo "not ok - setup: $*"
	echo "sensor: 0 passed, 1 failed"
	exit 1
}

for tool in jq tcpdump curl; do
	command -v "$tool" >/dev/null || setup_fail "'$tool' not found (make deps)"
done

ip netns add "$NSS" 2>/dev/null || cannot_run sensor "ip netns add failed"
NAMESPACES+=("$NSS")
ip netns add "$NSC" 2>/dev/null || cannot_run sensor "ip netns add failed"
NAMESPACES+=("$NSC")
{
	for n in "$NSS" "$NSC"; do
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$n" link set lo up
	done
	ip link add vs0 netns "$NSS" type veth peer name vs1 netns "$NSC"
	ip -n "$NSS" addr add "$SRV_ADDR/24" dev vs0
	ip -n "$NSC" addr add "$CLI_ADDR/24" dev vs1
	ip -n "$NSS" link set vs0 up
	ip -n "$NSC" link set vs1 up
	ip -n "$NSS" neigh replace "$CLI_ADDR" dev vs0 nud permanent \
		lladdr "$(ip netns exec "$NSC" cat /sys/class/net/vs1/address)"
	ip -n "$NSC" neigh replace "$SRV_ADDR" dev vs1 nud permanent \
		lladdr "$(ip netns exec "$NSS" cat /sys/class/net/vs0/address)"
} >"$TMP/setup.log" 2>&1 || setup_fail "namespaces: $(tr '\n' ' ' <"$TMP/setup.log")"

ip netns exec "$NSS" "$TCPPING" serve "$SRV_ADDR" "$PORT" --count 0 \
	--timeout 120 >"$TMP/server.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 50; i++)); do
	grep -q '^listening' "$TMP/server.log" 2>/dev/null && break
	sleep 0.1
done
grep -q '^listening' "$TMP/server.log" || setup_fail "tcpping server did not start"

# ---- helpers ------------------------------------------------------------------------

# tcpdump_start NAME: tcpdump on the capture interface into $TMP/NAME.pcap.
TD_PID=
tcpdump_start() {
	ip netns exec "$NSC" tcpdump -i "$IFACE" -s 128 -U --immediate-mode \
		-w "$TMP/$1.pcap" >/dev/null 2>"$TMP/$1.tcpdump.err" &
	TD_PID=$!
	PIDS+=("$TD_PID")
	for ((i = 0; i < 50; i++)); do
		grep -q "listening on" "$TMP/$1.tcpdump.err" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# syn_count NAME: connections in tcpdump's file: client SYNs (no ACK), one
# per connection since each has its own source port (no SYN retransmits on
# this link: distinct 4-tuples are counted anyway).
syn_count() {
	tcpdump -nn -r "$TMP/$1.pcap" 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' \
		2>/dev/null | awk '{ print $3, $5 }' | sort -u | wc -l
}

# start_connscope NAME ARGS...: in the client namespace; PID in CS_PID.
CS_PID=
start_connscope() {
	local name=$1 before
	shift
	before=$(packet_sockets "$NSC")
	ip netns exec "$NSC" "$CONNSCOPE" -i "$IFACE" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	CS_PID=$!
	PIDS+=("$CS_PID")
	wait_capture "$NSC" "$CS_PID" "$before"
}

# traffic N [tcpping options]: N connections, one at a time.
traffic() {
	local n=$1
	shift
	ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$PORT" --count "$n" \
		--timeout 20 "$@" >>"$TMP/traffic.log" 2>&1
}

# valid_lines FILE...: 0 if every line of every file is one JSON object.
valid_lines() {
	local f
	for f in "$@"; do
		jq -c 'if type == "object" then . else error("not an object") end' \
			"$f" >/dev/null 2>&1 || return 1
		# one value per line: jq -c gives back as many lines as there are
		[ "$(jq -c . "$f" | wc -l)" = "$(wc -l <"$f")" ] || return 1
	done
}

# ---- a: --rotate 4 for 14 s --------------------------------------------------------
A=$TMP/a
mkdir -p "$A"
tcpdump_start a || setup_fail "tcpdump did not start"
if start_connscope a --duration 14 --rotate 4 --msl 0.2 -q --stats-interval 2 \
	--jsonl "$A/conn.jsonl" --conn-log "$A/conn.log"; then
	# Traffic throughout: two connections every half second, started only
	# in the first 11 s of connscope's 14 (each bounded by 2 s), so none
	# falls after its end and tcpdump's count is connscope's to see.
	early=
	start=$SECONDS
	while ((SECONDS - start < 11)); do
		traffic 2 --timeout 2
		sleep 0.5
		# While it runs: the current file's lines are whole JSON lines.
		if [ -z "$early" ] && [ -s "$A/conn.jsonl" ] &&
		   grep -q '"type":"conn"' "$A/conn.jsonl"; then
			cp "$A/conn.jsonl" "$TMP/a-early.jsonl"
			kill -0 "$CS_PID" 2>/dev/null && early=running
		fi
	done
	wait_gone "$CS_PID" 100 || stop "$CS_PID"
	wait "$CS_PID"
	rc=$?
	sleep 0.5
	stop "$TD_PID" INT
	if [ "$early" = running ] && valid_lines "$TMP/a-early.jsonl"; then
		ok "a: conn.jsonl readable while running ($(wc -l <"$TMP/a-early.jsonl") whole lines, a conn among them)"
	else
		not_ok "a: no whole conn line in conn.jsonl while connscope ran ($early)"
	fi
	mapfile -t jfiles < <(ls "$A" | grep -E '^conn\.[0-9]{4}(-[0-9]{2}){5}(-[0-9]+)?\.jsonl$')
	mapfile -t lfiles < <(ls "$A" | grep -E '^conn\.[0-9]{4}(-[0-9]{2}){5}(-[0-9]+)?\.log$')
	if [ "$rc" = 0 ] && [ "${#jfiles[@]}" -ge 3 ] && [ "${#lfiles[@]}" -ge 3 ] &&
	   [ ! -e "$A/conn.jsonl" ]; then
		ok "a: exit 0, ${#jfiles[@]} rotated .jsonl and ${#lfiles[@]} .log files (>= 3 each)"
	else
		not_ok "a: exit $rc, files: $(ls "$A" | tr '\n' ' ')$(tail -n 2 "$TMP/a.err")"
	fi
	if valid_lines "${jfiles[@]/#/$A/}"; then
		ok "a: every line of every .jsonl file is a JSON object"
	else
		not_ok "a: a line that is not one JSON object"
	fi
	want=$(syn_count a)
	got=$(cat "${jfiles[@]/#/$A/}" | jq -r 'select(.type == "conn") | .id' | wc -l)
	uniq=$(cat "${jfiles[@]/#/$A/}" | jq -r 'select(.type == "conn") | .id' | sort -u | wc -l)
	rows=$(cat "${lfiles[@]/#/$A/}" | grep -vc '^#')
	if [ "$want" -ge 10 ] && [ "$got" = "$want" ] && [ "$uniq" = "$want" ] &&
	   [ "$rows" = "$want" ]; then
		ok "a: $want connections in tcpdump; conn lines $got (ids unique), conn.log rows $rows"
	else
		not_ok "a: tcpdump $want connections; conn lines $got, unique ids $uniq, conn.log rows $rows"
	fi
	bad=0
	for f in "${lfiles[@]}"; do
		head -n 1 "$A/$f" | grep -q '^#separator' || bad=1
		tail -n 1 "$A/$f" | grep -q '^#close' || bad=1
	done
	stats=$(cat "${jfiles[@]/#/$A/}" | jq -r 'select(.type == "stats") | .summary.packets' | wc -l)
	if [ "$bad" = 0 ] && [ "$stats" -ge 3 ]; then
		ok "a: every conn.log file has its header and #close; $stats stats lines"
	else
		not_ok "a: conn.log header/#close missing ($bad) or stats lines $stats"
	fi
else
	not_ok "a: connscope did not start: $(tail -n 2 "$TMP/a.err")"
fi

# ---- b: mv + SIGHUP, capture_drops --------------------------------------------------
B=$TMP/b
mkdir -p "$B"
tcpdump_start b || setup_fail "tcpdump did not start"
WEBPORT=$((20000 + $$ % 20000))
if start_connscope b --msl 0.2 -q --jsonl "$B/conn.jsonl" --web "127.0.0.1:$WEBPORT"; then
	traffic 5
	sleep 1.5
	drops=$(ip netns exec "$NSC" curl -s "http://127.0.0.1:$WEBPORT/api/summary" |
		jq -r '.summary.capture_drops | type')
	metric=$(ip netns exec "$NSC" curl -s "http://127.0.0.1:$WEBPORT/metrics" |
		grep -c '^connscope_capture_drops_total [0-9]')
	if [ "$drops" = number ] && [ "$metric" = 1 ]; then
		ok "b: /api/summary capture_drops is a number while live; /metrics has it"
	else
		not_ok "b: /api/summary capture_drops is '$drops', metric lines $metric"
	fi
	mv "$B/conn.jsonl" "$B/conn.jsonl.1"
	kill -HUP "$CS_PID"
	for ((i = 0; i < 30; i++)); do
		[ -e "$B/conn.jsonl" ] && break
		sleep 0.1
	done
	traffic 5
	sleep 1.5
	if kill -0 "$CS_PID" 2>/dev/null && [ -e "$B/conn.jsonl" ]; then
		ok "b: after mv and SIGHUP, connscope runs on and writes a new conn.jsonl"
	else
		not_ok "b: after mv and SIGHUP: running $(kill -0 "$CS_PID" 2>/dev/null && echo yes || echo no), new file $([ -e "$B/conn.jsonl" ] && echo yes || echo no)"
	fi
	stop "$CS_PID" INT
	sleep 0.5
	stop "$TD_PID" INT
	want=$(syn_count b)
	got=$(cat "$B/conn.jsonl.1" "$B/conn.jsonl" | jq -r 'select(.type == "conn") | .id' | sort -u | wc -l)
	all=$(cat "$B/conn.jsonl.1" "$B/conn.jsonl" | jq -r 'select(.type == "conn") | .id' | wc -l)
	new=$(jq -r 'select(.type == "conn") | .id' "$B/conn.jsonl" | wc -l)
	if [ "$want" = 10 ] && [ "$got" = "$want" ] && [ "$all" = "$want" ] && [ "$new" -ge 1 ]; then
		ok "b: conn.jsonl.1 + conn.jsonl hold the $want connections once ($new in the new file)"
	else
		not_ok "b: tcpdump $want connections; lines $all, unique $got, in the new file $new"
	fi
else
	not_ok "b: connscope did not start: $(tail -n 2 "$TMP/b.err")"
fi

# ---- c: the conn lines are the report's connections ---------------------------------
n=0
differ=
for f in "$ROOT"/samples/*.pcap "$ROOT"/tests/corpus/zeek/*.pcap "$ROOT"/tests/corpus/zeek/*.pcapng; do
	[ -f "$f" ] || continue
	rm -f "$TMP/c.jsonl"
	"$CONNSCOPE" -r "$f" -q --json "$TMP/c.json" --jsonl "$TMP/c.jsonl" 2>/dev/null
	a=$(jq -cS '.connections[]' "$TMP/c.json" 2>/dev/null | sort | md5sum)
	b=$(jq -cS 'select(.type == "conn") | del(.type)' "$TMP/c.jsonl" 2>/dev/null | sort | md5sum)
	[ "$a" = "$b" ] || differ="$differ ${f#"$ROOT"/}"
	n=$((n + 1))
done
if [ "$n" -gt 20 ] && [ -z "$differ" ]; then
	ok "c: $n captures: the conn lines are the JSON report's connections, field for field"
else
	not_ok "c: conn lines differ from the report's connections in:$differ ($n captures)"
fi

echo "sensor: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
