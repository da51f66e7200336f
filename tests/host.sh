#!/usr/bin/env bash
# host.sh — the host view (analyzer/host/, capture/hostread.c) against the
# kernel's own tools, on real kernels in network namespaces.
#
# Run by `make check-run` with CONNSCOPE and TCPPING.  Needs root; without
# it the test says so and passes, and fails under CI (tests/lib/cannot_run.sh).
#
#   server ns: tcpping serve ── vh0 │ vh1 ── client ns: tcpping connect
#              connscope -i vh0 (reads this namespace's kernel)
#
# Every figure expected below comes from outside connscope: `nstat` for the
# kernel's counters and `ss` for the listener's backlog, both run in the
# same namespace while connscope captures; the scenario's own arithmetic
# for what must have happened.  Cases:
#   backlog  a server calls listen(s, 2) and never accept(); 30 clients
#            connect at once with a 4 s timeout.  The kernel queues
#            backlog + 1 = 3 connections (sk_acceptq_is_full is
#            "queue > backlog") and drops the other SYNs, counting each in
#            ListenOverflows.  The JSON report's host.listeners has the
#            port with the backlog ss shows, host.counters.ListenOverflows
#            equals nstat's change, an accept_queue_overflow alert names
#            the port, and the text report blames the accept queue, not a
#            firewall.
#   unread   a server closes with the request unread; linger0: a server
#            closes with SO_LINGER 0.  nstat names the one abort counter
#            that moved; connscope's host.counters has its figure and the
#            verdict on the resets gives the kernel's reason.
#   closewait  a server never closes 10 sockets its clients closed: ss's
#            count of CLOSE_WAIT sockets is the kernel's and the packets'
#            figure in host.agreement, and the close_wait_buildup alert's.
#   flood-cookies, flood-drops  3,000 SYNs from random sources to a listener,
#            with and without tcp_syncookies: the syn_flood alert carries
#            nstat's SyncookiesSent and TCPReqQFullDrop figures.
#   privdrop -Z nobody: the samples after the drop are complete.
#   wire     the backlog scenario's packets, saved by tcpdump, read as a
#            file: no host view ("host": null), and from the wire alone the
#            timeouts are put down to a full listen backlog (the server
#            completed 3 handshakes and sent nothing back), not a firewall.
#
# Every wait is bounded; every process started here is stopped by PID and
# the namespaces are removed on exit.
set -u

CONNSCOPE=${CONNSCOPE:-./connscope}
TCPPING=${TCPPING:-build/tests/tcpping}
KEEP_LOGS=${KEEP_LOGS:-}

. "$(dirname "$0")/lib/paths.sh"
CONNSCOPE=$(absolute "$CONNSCOPE")
TCPPING=$(absolute "$TCPPING")
read -r -a CS <<<"$CONNSCOPE"

. "$(dirname "$0")/lib/cannot_run.sh"
need_root host "to create network namespaces"

NSS=csh-srv-$$
NSC=csh-cli-$$
SRV_ADDR=10.213.61.1
CLI_ADDR=10.213.61.2
TMP=
PIDS=()
NAMESPACES=()
PASS=0
FAIL=0

. "$(dirname "$0")/lib/procs.sh"

cleanup() {
	stop_all
	if [ -n "$KEEP_LOGS" ]; then
		echo "host: logs kept in $TMP"
	elif [ -n "$TMP" ]; then
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup_fail() {
	echo "not ok - setup: $*"
	echo "host: 0 passed, 1 failed"
	exit 1
}
ok() { echo "ok - $*"; PASS=$((PASS + 1)); }
not_ok() { echo "not ok - $*"; FAIL=$((FAIL + 1)); }
check() {	# check NAME COMMAND...: ok if the command succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

for tool in jq nstat ss timeout curl tcpdump hping3; do
	command -v "$tool" >/dev/null || setup_fail "'$tool' not found (make deps)"
done
[ -x "$TCPPING" ] || setup_fail "tcpping '$TCPPING' not found (make build/tests/tcpping)"

ip netns add "$NSS" 2>/dev/null || cannot_run host "ip netns add failed: no network namespaces here"
NAMESPACES+=("$NSS")
ip netns add "$NSC" 2>/dev/null || cannot_run host "ip netns add failed"
NAMESPACES+=("$NSC")

TMP=$(mktemp -d /tmp/cs-host.XXXXXX) || setup_fail "mktemp"
{
	for n in "$NSS" "$NSC"; do
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$n" link set lo up
	done
	ip link add vh0 netns "$NSS" type veth peer name vh1 netns "$NSC"
	ip -n "$NSS" addr add "$SRV_ADDR/24" dev vh0
	ip -n "$NSC" addr add "$CLI_ADDR/24" dev vh1
	ip -n "$NSS" link set vh0 up
	ip -n "$NSC" link set vh1 up
	ip -n "$NSS" neigh replace "$CLI_ADDR" dev vh0 nud permanent \
		lladdr "$(ip netns exec "$NSC" cat /sys/class/net/vh1/address)"
	ip -n "$NSC" neigh replace "$SRV_ADDR" dev vh1 nud permanent \
		lladdr "$(ip netns exec "$NSS" cat /sys/class/net/vh0/address)"
} >"$TMP/setup.log" 2>&1 || setup_fail "namespaces: $(tr '\n' ' ' <"$TMP/setup.log")"

# counter NAME: the server namespace's kernel counter (nstat's name, e.g.
# TcpExtListenOverflows), absolute; nstat keeps its history in $TMP.
counter() {
	ip netns exec "$NSS" env NSTAT_HISTORY="$TMP/nstat.hist" \
		nstat -az "$1" | awk -v n="$1" '$1 == n { print $2; found = 1 }
		END { if (!found) print "none" }'
}

# start_connscope NAME ARGS...: connscope -i vh0 in the server namespace.
start_connscope() {
	local name=$1 before
	shift
	before=$(packet_sockets "$NSS")
	ip netns exec "$NSS" env --default-signal=INT "${CS[@]}" -i vh0 "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	CS_PID=$!
	PIDS+=("$CS_PID")
	wait_capture "$NSS" "$CS_PID" "$before"
}

# end_connscope: SIGINT, then a bounded wait for the reports.
end_connscope() {
	kill -INT "$CS_PID" 2>/dev/null
	wait_gone "$CS_PID" 100 || stop "$CS_PID"
	wait "$CS_PID" 2>/dev/null
}

# ---- backlog: listen(s, 2), no accept(), 30 clients at once ------------------
PORT=8080
CLIENTS=30
start_connscope backlog --json "$TMP/backlog.json" --report "$TMP/backlog.txt" \
	--web 127.0.0.1:0 ||
	setup_fail "connscope did not start: $(cat "$TMP/backlog.err")"
ip netns exec "$NSS" "$TCPPING" serve "$SRV_ADDR" "$PORT" --backlog 2 \
	--no-accept --timeout 30 >"$TMP/server.log" 2>&1 &
BACKLOG_SERVER=$!
PIDS+=("$BACKLOG_SERVER")
for ((i = 0; i < 50; i++)); do
	grep -q '^listening' "$TMP/server.log" 2>/dev/null && break
	sleep 0.1
done
grep -q '^listening' "$TMP/server.log" || setup_fail "server: $(cat "$TMP/server.log")"
# The same traffic saved for the wire-only case below.
ip netns exec "$NSS" tcpdump -i vh0 -U -s 128 -w "$TMP/backlog.pcap" tcp \
	>"$TMP/tcpdump.log" 2>&1 &
TCPDUMP_PID=$!
PIDS+=("$TCPDUMP_PID")
sleep 1.5	# connscope has sampled the listener with an empty queue
overflows_before=$(counter TcpExtListenOverflows)
clients=()
for ((i = 0; i < CLIENTS; i++)); do
	ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$PORT" --timeout 4 \
		--expect timeout >"$TMP/client.$i.log" 2>&1 &
	clients+=("$!")
	PIDS+=("$!")
done
for pid in "${clients[@]}"; do
	wait_gone "$pid" 100 || stop "$pid"
done
sleep 1.5	# a sample after the last client gave up
stop "$TCPDUMP_PID" INT
backlog_ss=$(ip netns exec "$NSS" ss -Hltn "sport = :$PORT" | awk '{ print $3; exit }')
queue_ss=$(ip netns exec "$NSS" ss -Hltn "sport = :$PORT" | awk '{ print $2; exit }')
overflows_after=$(counter TcpExtListenOverflows)
# The dashboard's view, from the snapshot of the last sample or so.
sleep 1.5
url=$(sed -n 's/.*dashboard at \(http:[^ ]*\).*/\1/p' "$TMP/backlog.err" | head -1)
ip netns exec "$NSS" curl -sf --max-time 5 "${url}api/host" >"$TMP/api-host.json" 2>&1
ip netns exec "$NSS" curl -sf --max-time 5 "${url}metrics" >"$TMP/metrics.txt" 2>&1
end_connscope
# Its queued connections (in CLOSE_WAIT since their clients left) go with
# the listener, so the cases below start from an empty namespace.
stop "$BACKLOG_SERVER"
overflows_nstat=$((overflows_after - overflows_before))
echo "# nstat: ListenOverflows +$overflows_nstat; ss: backlog $backlog_ss, queue $queue_ss"

J=$TMP/backlog.json
target="$SRV_ADDR:$PORT"
check "backlog: JSON report parses" jq -e . "$J" >/dev/null
check "backlog: ss shows backlog 2 and a queue of 3 (backlog + 1)" \
	test "$backlog_ss" = 2 -a "$queue_ss" = 3
got=$(jq -r --arg t "$target" '.host.listeners[] | select(.addr == $t) | .backlog' "$J" 2>/dev/null)
check "backlog: host.listeners has $target with backlog $backlog_ss as ss (got '$got')" \
	test "$got" = "$backlog_ss"
got=$(jq -r --arg t "$target" '.host.listeners[] | select(.addr == $t) | .queue_peak' "$J" 2>/dev/null)
check "backlog: queue_peak is ss's queue $queue_ss (got '$got')" test "$got" = "$queue_ss"
got=$(jq -r '.host.counters.ListenOverflows' "$J" 2>/dev/null)
check "backlog: host.counters.ListenOverflows > 0 and = nstat's $overflows_nstat (got '$got')" \
	test "$overflows_nstat" -gt 0 -a "$got" = "$overflows_nstat"
got=$(jq -r --arg t "$target" '[.alerts[] | select(.type == "accept_queue_overflow" and .target == $t)] | length' "$J" 2>/dev/null)
check "backlog: an accept_queue_overflow alert targets $target (got '$got')" test "$got" = 1
got=$(jq -r --arg t "$target" '.alerts[] | select(.type == "accept_queue_overflow" and .target == $t) | "\(.backlog) \(.overflows)"' "$J" 2>/dev/null)
check "backlog: the alert says backlog 2 and the overflows nstat counted ('$got')" \
	test "$got" = "2 $overflows_nstat"
timeouts=$(jq -r --arg t "$SRV_ADDR" '[.connections[] | select(.resp_h == $t and .outcome == "timeout")] | length' "$J")
echo "# connections that timed out on the wire: $timeouts"
T=$TMP/backlog.txt
check "backlog: the text report explains the accept queue" \
	grep -q "the accept queue of $target (backlog 2) was full.*not calling accept() fast enough, or its backlog is too small" "$T"
check "backlog: the text report blames no firewall for $target" \
	bash -c "! grep '$target' '$T' | grep -q 'firewall dropping SYNs'"
check "backlog: the timeouts to $target are put down to the accept queue" \
	grep -q "to $target timed out.*accept queue was full (backlog 2)" "$T"
check "backlog: the text report has the host section with the listener" \
	grep -q "listener $target: backlog 2" "$T"

got=$(jq -r --arg t "$target" '.host.listeners[] | select(.addr == $t) | .backlog' "$TMP/api-host.json" 2>/dev/null)
check "backlog: /api/host has $target with backlog 2 (got '$got')" test "$got" = 2
got=$(awk '$1 == "connscope_host_tcp_events_total{name=\"ListenOverflows\"}" { print $2 }' "$TMP/metrics.txt")
check "backlog: /metrics has ListenOverflows = nstat's $overflows_nstat (got '$got')" \
	test "$got" = "$overflows_nstat"
got=$(awk -v l="connscope_host_listen_backlog{listener=\"$target\"}" '$1 == l { print $2 }' "$TMP/metrics.txt")
check "backlog: /metrics has the listener's backlog 2 (got '$got')" test "$got" = 2
if command -v promtool >/dev/null; then
	check "backlog: promtool accepts /metrics" promtool check metrics <"$TMP/metrics.txt"
fi

# ---- backlog, from the wire alone: the same packets as a file ----------------
# From tcpdump's reading: the client ports whose SYNs got a SYN-ACK
# (answered), those that got none (unanswered), and whether the server
# sent a byte of payload on any connection.
tcpdump -nn -r "$TMP/backlog.pcap" 2>/dev/null | awk -v s="$SRV_ADDR.$PORT" '
	$3 ~ /^10\./ && $5 == s":" && /Flags \[S\]/ { split($3, a, "."); syn[a[5]] = 1 }
	$3 == s && /Flags \[S\.\]/ { split($5, a, "."); sub(":", "", a[5]); answered[a[5]] = 1 }
	$3 == s && !/length 0$/ { served++ }
	END { for (p in syn) if (p in answered) n++; else u++
	      printf "%d %d %d\n", n, u, served }' >"$TMP/wire.txt"
read -r answered unanswered served <"$TMP/wire.txt"
echo "# tcpdump: $answered connections answered, $unanswered unanswered, $served server segments with data"
"${CS[@]}" -r "$TMP/backlog.pcap" --report "$TMP/wire.report" --json "$TMP/wire.json" 2>/dev/null
check "wire: tcpdump sees 3 answered, 27 unanswered, no data from the server" \
	test "$answered $unanswered $served" = "3 27 0"
check "wire: the file's report says the backlog is probably full" \
	grep -q "$unanswered connects to $target timed out after [0-9][0-9 to]* SYNs, while $answered earlier connections to it completed the handshake and then got nothing back: the listen backlog of this server is probably full" "$TMP/wire.report"
check "wire: and blames no firewall for $target" \
	bash -c "! grep '$target' '$TMP/wire.report' | grep -q 'firewall dropping SYNs'"
check "wire: a file has no host view (host is null)" \
	test "$(jq -c .host "$TMP/wire.json")" = null


# ---- resets, with the kernel's reason ------------------------------------------
# abort_case NAME PORT MEANING SERVE_OPTIONS -- CONNECT_OPTIONS: 5 connections
# whose server resets them; connscope in the server's namespace must name
# the one abort counter nstat saw move, with nstat's figure, and MEANING.
abort_counters="TcpExtTCPAbortOnClose TcpExtTCPAbortOnData TcpExtTCPAbortOnTimeout TcpExtTCPAbortOnMemory TcpExtTCPAbortOnLinger"
abort_case() {
	local name=$1 port=$2 meaning=$3 serve=() connect=() c moved=() before=() i=0
	shift 3
	while [ "$1" != -- ]; do serve+=("$1"); shift; done
	shift
	connect=("$@")
	start_connscope "$name" --json "$TMP/$name.json" --report "$TMP/$name.txt" ||
		{ not_ok "$name: connscope did not start"; return; }
	for c in $abort_counters; do before+=("$(counter "$c")"); done
	ip netns exec "$NSS" "$TCPPING" serve "$SRV_ADDR" "$port" --count 5 \
		--timeout 10 "${serve[@]}" >"$TMP/$name.server" 2>&1 &
	local spid=$!
	PIDS+=("$spid")
	for ((i = 0; i < 50; i++)); do
		grep -q '^listening' "$TMP/$name.server" 2>/dev/null && break
		sleep 0.1
	done
	ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$port" --count 5 \
		--timeout 10 "${connect[@]}" >"$TMP/$name.client" 2>&1
	wait_gone "$spid" 50 || stop "$spid"
	sleep 1.5	# a sample after the resets
	i=0
	for c in $abort_counters; do
		local d=$(($(counter "$c") - ${before[$i]}))
		[ "$d" -gt 0 ] && moved+=("${c#TcpExt}=$d")
		i=$((i + 1))
	done
	end_connscope
	echo "# $name: nstat: ${moved[*]:-no abort counter moved}"
	if [ "${#moved[@]}" -ne 1 ]; then
		not_ok "$name: exactly one abort counter moved in nstat (${moved[*]:-none})"
		return
	fi
	local ctr=${moved[0]%=*} n=${moved[0]#*=}
	got=$(jq -r ".host.counters.$ctr" "$TMP/$name.json")
	check "$name: host.counters.$ctr = nstat's $n (got '$got')" test "$got" = "$n"
	check "$name: the verdict gives the kernel's reason ($ctr +$n: $meaning)" \
		grep -q "reset by the server.*this host's kernel counted $ctr +$n: $meaning" "$TMP/$name.txt"
}
abort_case unread 8081 "the application closed its socket with received data unread" \
	--unread-close -- --expect reset
abort_case linger0 8082 "the application closed with SO_LINGER 0" \
	--close-first server --linger0 -- --close-first server --expect reset

# ---- a CLOSE_WAIT leak: the kernel's count beside the packets' ------------------
# A server holds 10 accepted sockets without closing them; the clients
# close first, so the server's 10 sockets sit in CLOSE_WAIT (ss counts
# them) and the clients' in FIN_WAIT_2.
PORT=8083
start_connscope closewait --json "$TMP/closewait.json" --report "$TMP/closewait.txt" \
	--closewait-age 1 --closewait-threshold 5 ||
	setup_fail "connscope did not start: $(cat "$TMP/closewait.err")"
ip netns exec "$NSS" "$TCPPING" serve "$SRV_ADDR" "$PORT" --count 10 --no-close \
	--timeout 15 >"$TMP/closewait.server" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < 50; i++)); do
	grep -q '^listening' "$TMP/closewait.server" 2>/dev/null && break
	sleep 0.1
done
ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$PORT" --count 10 \
	--timeout 10 >"$TMP/closewait.client" 2>&1
sleep 2.5	# older than --closewait-age, and sampled
cw_ss=$(ip netns exec "$NSS" ss -Htn state close-wait | wc -l)
cw_port_ss=$(ip netns exec "$NSS" ss -Htn state close-wait "sport = :$PORT" | wc -l)
end_connscope
echo "# closewait: ss: $cw_ss sockets in CLOSE_WAIT"
J=$TMP/closewait.json
check "closewait: ss sees the 10 server sockets in CLOSE_WAIT" test "$cw_ss" = 10
got=$(jq -r '.host.agreement.CLOSE_WAIT | "\(.kernel_peak) \(.packets_peak)"' "$J")
check "closewait: kernel and packets both count ss's $cw_ss ('$got')" test "$got" = "$cw_ss $cw_ss"
got=$(jq -r --argjson p "$PORT" '.host.ports[] | select(.port == $p) | .close_wait' "$J")
check "closewait: host.ports has $PORT with ss's $cw_port_ss CLOSE_WAIT sockets (got '$got')" \
	test "$got" = "$cw_port_ss"
got=$(jq -r '.host.sockets.CLOSE_WAIT' "$J")
check "closewait: host.sockets.CLOSE_WAIT is ss's $cw_ss (got '$got')" test "$got" = "$cw_ss"
got=$(jq -r --arg t "$SRV_ADDR:$PORT" '.alerts[] | select(.type == "close_wait_buildup" and .target == $t) | .close_wait' "$J")
check "closewait: a close_wait_buildup alert on $SRV_ADDR:$PORT counts $cw_ss (got '$got')" \
	test "$got" = "$cw_ss"
check "closewait: the text report shows the agreement" \
	grep -q "CLOSE_WAIT at most: kernel $cw_ss sockets, packets $cw_ss endpoints (they agree)" \
	"$TMP/closewait.txt"

# ---- SYN floods, confirmed by the kernel's counters ------------------------------
# 3,000 SYNs from random sources (hping3 --rand-source) to a listener of
# backlog 16.  The server's replies go to the client namespace, which
# does not forward and so drops them without a RST: the requests stay.
# With tcp_syncookies=1 the kernel answers with cookies once the SYN queue
# is full; with 0 it drops the SYNs.  nstat gives both counters.
flood_case() {
	local name=$1 port=$2 cookies=$3
	if ! command -v hping3 >/dev/null; then
		not_ok "$name: hping3 not found (make deps)"
		return
	fi
	ip netns exec "$NSS" sysctl -qw net.ipv4.tcp_syncookies="$cookies"
	start_connscope "$name" --json "$TMP/$name.json" --report "$TMP/$name.txt" \
		--synflood-rate 100 || { not_ok "$name: connscope did not start"; return; }
	ip netns exec "$NSS" "$TCPPING" serve "$SRV_ADDR" "$port" --count 0 --backlog 16 \
		--timeout 12 >"$TMP/$name.server" 2>&1 &
	local spid=$!
	PIDS+=("$spid")
	for ((i = 0; i < 50; i++)); do
		grep -q '^listening' "$TMP/$name.server" 2>/dev/null && break
		sleep 0.1
	done
	local c0 d0
	c0=$(counter TcpExtSyncookiesSent)
	d0=$(counter TcpExtTCPReqQFullDrop)
	ip netns exec "$NSC" timeout 30 hping3 -q -S -p "$port" --rand-source -i u300 \
		-c 3000 "$SRV_ADDR" >"$TMP/$name.hping" 2>&1
	sleep 2.5	# the flood's last second closed, and sampled
	local cookies_n=$(($(counter TcpExtSyncookiesSent) - c0))
	local drops_n=$(($(counter TcpExtTCPReqQFullDrop) - d0))
	end_connscope
	stop "$spid"
	echo "# $name: nstat: SyncookiesSent +$cookies_n, TCPReqQFullDrop +$drops_n"
	local t="$SRV_ADDR:$port"
	got=$(jq -r --arg t "$t" '.alerts[] | select(.type == "syn_flood" and .target == $t) | "\(.cookies_sent) \(.syn_drops)"' "$TMP/$name.json")
	check "$name: the syn_flood alert on $t has nstat's cookies and drops ('$got')" \
		test "$got" = "$cookies_n $drops_n"
	check "$name: the kernel moved the counter the setting implies" \
		test "$([ "$cookies" = 1 ] && echo "$cookies_n" || echo "$drops_n")" -gt 0
	check "$name: the text report says what the kernel confirms" \
		grep -q "the kernel confirms: $cookies_n SYN cookies sent (SyncookiesSent), $drops_n SYNs dropped" "$TMP/$name.txt"
}
ip netns exec "$NSS" ip route add default via "$CLI_ADDR"
flood_case flood-cookies 8085 1
flood_case flood-drops 8086 0
ip netns exec "$NSS" sysctl -qw net.ipv4.tcp_syncookies=1

# ---- -Z: the host view keeps working after privileges are dropped ----------------
# The netlink socket and the /proc files are opened as root, before -Z.
PORT=8087
ip netns exec "$NSS" "$TCPPING" serve "$SRV_ADDR" "$PORT" --backlog 7 --no-accept \
	--timeout 10 >"$TMP/privdrop.server" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < 50; i++)); do
	grep -q '^listening' "$TMP/privdrop.server" 2>/dev/null && break
	sleep 0.1
done
ZDIR=$(mktemp -d /tmp/cs-host-z.XXXXXX) && chmod 0777 "$ZDIR"
start_connscope privdrop -Z nobody -q --json "$ZDIR/privdrop.json" ||
	not_ok "privdrop: connscope did not start: $(cat "$TMP/privdrop.err")"
sleep 3
end_connscope
got=$(jq -r --arg t "$SRV_ADDR:$PORT" '"\(.host.incomplete_samples) \(.host.samples >= 3) \([.host.listeners[] | select(.addr == $t) | .backlog] | first)"' "$ZDIR/privdrop.json" 2>/dev/null)
check "privdrop: after -Z nobody every sample is complete and has the listener's backlog 7 ('$got')" \
	test "$got" = "0 true 7"
rm -rf "$ZDIR"

[ -n "$KEEP_LOGS" ] && cat "$T"
echo "host: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
