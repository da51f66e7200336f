#!/usr/bin/env bash
# live.sh — connscope's live capture, tested on real kernel traffic.
#
# Run by `make check` with CONNSCOPE (the binary) and TCPPING (the traffic
# tool, tests/tools/tcpping.c).  Needs root to create network namespaces;
# without it the test is skipped with a message, and fails under CI.
#
# Two namespaces joined by a veth pair:
#
#   server ns: tcpping serve 10.213.50.1 ── vl0 │ vl1 ── 10.213.50.2 client ns
#                                                        connscope -i vl1
#                                                        tcpping connect
#
# IPv6 is off and the neighbours are static, so the link carries only the
# test's TCP: every count below is exact.  Cases:
#   a  BPF filter (client SYNs only) + --duration: K connections, K packets
#   b  no filter, tcpdump on the same interface: same packets, same bytes
#      live as connscope -r finds in tcpdump's file
#   c  -c N stops after exactly N packets
#   d  SIGINT and SIGTERM stop a capture cleanly and still write the report
#   e  -Z nobody: the report written at the end belongs to nobody
#   f  --web: the event stream, the API and the page in Chromium (all in
#      the client namespace) follow the capture while it runs; SIGINT ends
#      both
#   g  -f on a port the server host rejects: the ICMP error that explains
#      the failed connect is kept, with the filter named in the report
#
# Every wait is bounded; every process started here is stopped by PID and
# the namespaces are removed on exit, on failure too.
set -u

CONNSCOPE=${CONNSCOPE:-./connscope}
TCPPING=${TCPPING:-build/tests/tcpping}
KEEP_LOGS=${KEEP_LOGS:-}	# non-empty: keep the temporary directory's logs

# A single word naming a file here is made absolute: it runs from inside
# `ip netns exec`, whose PATH lookup would not find "connscope".
. "$(dirname "$0")/lib/paths.sh"
CONNSCOPE=$(absolute "$CONNSCOPE")
TCPPING=$(absolute "$TCPPING")
# CONNSCOPE may carry a wrapper (valgrind ...): split it into words once.
read -r -a CS <<<"$CONNSCOPE"

# cannot_run, need_root
. "$(dirname "$0")/lib/cannot_run.sh"
need_root live "to create network namespaces"

NSS=csl-srv-$$
NSC=csl-cli-$$
SRV_ADDR=10.213.50.1
CLI_ADDR=10.213.50.2
PORT=7070
IFACE=vl1
TMP=
ZDIR=
PIDS=()
NAMESPACES=()
PASS=0
FAIL=0

# wait_gone, stop, stop_all
. "$(dirname "$0")/lib/procs.sh"

cleanup() {
	stop_all
	[ -n "$ZDIR" ] && rm -rf "$ZDIR"
	if [ -n "$KEEP_LOGS" ]; then
		echo "live: logs kept in $TMP"
	elif [ -n "$TMP" ]; then
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- setup --------------------------------------------------------------------
ip netns add "$NSS" 2>/dev/null || cannot_run live "ip netns add failed: no network namespaces here"
NAMESPACES+=("$NSS")
ip netns add "$NSC" 2>/dev/null || cannot_run live "ip netns add failed: no network namespaces here"
NAMESPACES+=("$NSC")

setup_fail() {
	echo "not ok - setup: $*"
	echo "live: 0 passed, 1 failed"
	exit 1
}

for tool in jq tcpdump timeout; do
	command -v "$tool" >/dev/null || setup_fail "'$tool' not found (make deps)"
done
[ -x "${CS[${#CS[@]}-1]}" ] || command -v "${CS[${#CS[@]}-1]}" >/dev/null ||
	setup_fail "connscope binary '$CONNSCOPE' not found (run make)"
[ -x "$TCPPING" ] || setup_fail "tcpping '$TCPPING' not found (make build/tests/tcpping)"

TMP=$(mktemp -d /tmp/cs-live.XXXXXX) || setup_fail "mktemp"
{
	for n in "$NSS" "$NSC"; do
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$n" link set lo up
	done
	ip link add vl0 netns "$NSS" type veth peer name vl1 netns "$NSC"
	ip -n "$NSS" addr add "$SRV_ADDR/24" dev vl0
	ip -n "$NSC" addr add "$CLI_ADDR/24" dev vl1
	ip -n "$NSS" link set vl0 up
	ip -n "$NSC" link set vl1 up
	ip -n "$NSS" neigh replace "$CLI_ADDR" dev vl0 nud permanent \
		lladdr "$(ip netns exec "$NSC" cat /sys/class/net/vl1/address)"
	ip -n "$NSC" neigh replace "$SRV_ADDR" dev vl1 nud permanent \
		lladdr "$(ip netns exec "$NSS" cat /sys/class/net/vl0/address)"
} >"$TMP/setup.log" 2>&1 || setup_fail "namespaces: $(tr '\n' ' ' <"$TMP/setup.log")"

# One server for every case: accepts until killed at exit (or 300 s).
ip netns exec "$NSS" "$TCPPING" serve "$SRV_ADDR" "$PORT" --count 0 \
	--timeout 300 >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
for ((i = 0; i < 50; i++)); do
	grep -q '^listening' "$TMP/server.log" 2>/dev/null && break
	sleep 0.1
done
grep -q '^listening' "$TMP/server.log" ||
	setup_fail "tcpping server did not start: $(cat "$TMP/server.log")"

# ---- helpers --------------------------------------------------------------------
ok() {
	echo "ok - $*"
	PASS=$((PASS + 1))
}
not_ok() {
	echo "not ok - $*"
	FAIL=$((FAIL + 1))
}

# start_connscope NAME ARGS...: connscope -i IFACE ARGS in the client
# namespace; stdout/stderr to $TMP/NAME.{out,err}; PID in CS_PID.  Waits
# (at most 5 s) until its packet socket exists.  env resets SIGINT to its
# default: a background job of a script starts with SIGINT ignored, and
# case d must deliver SIGINT as a terminal's Ctrl-C would.
CS_PID=
start_connscope() {
	local name=$1 before
	shift
	before=$(packet_sockets "$NSC")
	ip netns exec "$NSC" env --default-signal=INT "${CS[@]}" -i "$IFACE" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	CS_PID=$!
	PIDS+=("$CS_PID")
	wait_capture "$NSC" "$CS_PID" "$before"
}

# finish NAME TENTHS: waits for connscope to exit by itself; sets CS_RC
# (the exit status, or "hung" after killing it).
CS_RC=
finish() {
	if wait_gone "$CS_PID" "$2"; then
		wait "$CS_PID"
		CS_RC=$?
	else
		stop "$CS_PID"
		CS_RC="hung (still running $(($2 / 10)) s later; stopped with SIGTERM)"
	fi
}

# traffic N [tcpping options]: N connections from the client namespace.
traffic() {
	local n=$1
	shift
	ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$PORT" \
		--count "$n" --timeout 20 "$@" >>"$TMP/traffic.log" 2>&1
}

# jget FILE FILTER: a value from a JSON report ("" if unreadable).
jget() {
	jq -er "$2" "$1" 2>/dev/null
}

# why NAME: connscope's last error line, for not-ok messages.
why() {
	local e
	e=$(tail -n 2 "$TMP/$1.err" 2>/dev/null | tr '\n' ' ')
	[ -n "$e" ] && printf ' [stderr: %s]' "$e"
}

# ---- a: BPF filter + --duration ----------------------------------------------------
K=5
SYN_ONLY='tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn'
if start_connscope a -f "$SYN_ONLY" --duration 3 -q --json "$TMP/a.json"; then
	traffic "$K" || not_ok "a: tcpping traffic failed: $(tail -n 1 "$TMP/traffic.log")"
	finish a 100
	got=$(jget "$TMP/a.json" .summary.packets)
	kind=$(jget "$TMP/a.json" .source.kind)
	name=$(jget "$TMP/a.json" .source.name)
	if [ "$CS_RC" = 0 ] && [ "$got" = "$K" ] && [ "$kind" = live ] &&
	   [ "$name" = "$IFACE" ]; then
		ok "a: -f SYN-only --duration 3: $K connections, summary.packets == $K, source live/$IFACE"
	else
		not_ok "a: -f SYN-only --duration 3: exit $CS_RC, packets '$got' (want $K), source '$kind/$name'$(why a)"
	fi
else
	finish a 1
	not_ok "a: connscope -i $IFACE did not start (exit $CS_RC)$(why a)"
fi

# ---- b: same packets as tcpdump ------------------------------------------------------
# tcpdump runs in immediate mode and is stopped only after connscope has
# finished and the link is quiet, so it holds every packet connscope saw.
ip netns exec "$NSC" tcpdump -i "$IFACE" -s 256 -U --immediate-mode -w "$TMP/b.pcap" \
	>/dev/null 2>"$TMP/b.tcpdump.err" &
TD_PID=$!
PIDS+=("$TD_PID")
for ((i = 0; i < 50; i++)); do
	grep -q 'listening on' "$TMP/b.tcpdump.err" && break
	sleep 0.1
done
if ! grep -q 'listening on' "$TMP/b.tcpdump.err"; then
	not_ok "b: tcpdump did not start: $(cat "$TMP/b.tcpdump.err")"
elif start_connscope b --duration 4 -q --json "$TMP/b.json"; then
	traffic 4 --bytes 3000 || not_ok "b: tcpping traffic failed"
	traffic 2 --half-close --bytes 100 || not_ok "b: tcpping traffic failed"
	finish b 100
	stop "$TD_PID"
	td_pkts=$(tcpdump -nn -r "$TMP/b.pcap" 2>/dev/null | wc -l)
	td_tcp=$(tcpdump -nn -r "$TMP/b.pcap" tcp 2>/dev/null | wc -l)
	"${CS[@]}" -r "$TMP/b.pcap" -q --json "$TMP/b-file.json" 2>"$TMP/b-file.err"
	file_bytes=$(jget "$TMP/b-file.json" .summary.bytes)
	pkts=$(jget "$TMP/b.json" .summary.packets)
	tcp=$(jget "$TMP/b.json" .summary.tcp_packets)
	bytes=$(jget "$TMP/b.json" .summary.bytes)
	drops=$(jq -r '.summary.capture_drops // 0' "$TMP/b.json" 2>/dev/null)
	if [ "$CS_RC" = 0 ] && [ "$td_pkts" -gt 0 ] && [ "$pkts" = "$td_pkts" ] &&
	   [ "$tcp" = "$td_tcp" ] && [ "$bytes" = "$file_bytes" ] && [ "$drops" = 0 ]; then
		ok "b: live == tcpdump on the same link: $pkts packets, $tcp tcp, $bytes bytes, 0 drops"
	else
		not_ok "b: live vs tcpdump: exit $CS_RC, packets '$pkts'/$td_pkts, tcp_packets '$tcp'/$td_tcp, bytes '$bytes'/'$file_bytes' (live/file), drops '$drops'$(why b)"
	fi
else
	finish b 1
	not_ok "b: connscope -i $IFACE did not start (exit $CS_RC)$(why b)"
fi
stop "$TD_PID"

# ---- c: -c N --------------------------------------------------------------------------
N=7
if start_connscope c -c "$N" -q --json "$TMP/c.json"; then
	traffic 3 || not_ok "c: tcpping traffic failed"
	finish c 100
	got=$(jget "$TMP/c.json" .summary.packets)
	if [ "$CS_RC" = 0 ] && [ "$got" = "$N" ]; then
		ok "c: -c $N stopped by itself after exactly $N packets (of ~30 sent)"
	else
		not_ok "c: -c $N: exit $CS_RC, packets '$got' (want $N)$(why c)"
	fi
else
	finish c 1
	not_ok "c: connscope -i $IFACE did not start (exit $CS_RC)$(why c)"
fi

# ---- d: SIGINT / SIGTERM ----------------------------------------------------------------
for sig in INT TERM; do
	if start_connscope "d$sig" -f "$SYN_ONLY" -q --json "$TMP/d$sig.json"; then
		traffic 2 || not_ok "d: tcpping traffic failed"
		# Let the capture's read timeout hand over the last packets.
		sleep 1
		kill -"$sig" "$CS_PID"
		finish "d$sig" 50
		got=$(jget "$TMP/d$sig.json" .summary.packets)
		if [ "$CS_RC" = 0 ] && [ "$got" = 2 ]; then
			ok "d: SIG$sig stops connscope -i: exit 0, JSON report written (2 SYNs)"
		else
			not_ok "d: SIG$sig: exit $CS_RC, packets '$got' (want 2)$(why "d$sig")"
		fi
	else
		finish "d$sig" 1
		not_ok "d: connscope -i $IFACE did not start (exit $CS_RC)$(why "d$sig")"
	fi
done

# ---- e: -Z nobody ------------------------------------------------------------------------
if id nobody >/dev/null 2>&1; then
	# A directory of its own that nobody can write into (TMP is 0700).
	ZDIR=$(mktemp -d /tmp/cs-live-z.XXXXXX)
	chmod 1777 "$ZDIR"
	if start_connscope e -Z nobody -f "$SYN_ONLY" --duration 2 -q --json "$ZDIR/e.json"; then
		traffic 1 || not_ok "e: tcpping traffic failed"
		finish e 100
		owner=$(stat -c %U "$ZDIR/e.json" 2>/dev/null)
		got=$(jget "$ZDIR/e.json" .summary.packets)
		if [ "$CS_RC" = 0 ] && [ "$owner" = nobody ] && [ "$got" = 1 ]; then
			ok "e: -Z nobody: report owned by nobody, 1 packet"
		else
			not_ok "e: -Z nobody: exit $CS_RC, owner '$owner' (want nobody), packets '$got' (want 1)$(why e)"
		fi
	else
		finish e 1
		not_ok "e: connscope -i $IFACE -Z nobody did not start (exit $CS_RC)$(why e)"
	fi
else
	not_ok "e: no user 'nobody' on this system"
fi

# ---- f: the dashboard of a live capture ---------------------------------------------------
# http_get PORT PATH: a response body from connscope's server in the client
# namespace (bash's /dev/tcp: nothing else to install).
http_get() {
	ip netns exec "$NSC" timeout 5 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
		sed "1,/^\r$/d" <&3' _ "$1" "$2"
}
if start_connscope f --web 127.0.0.1:0 -q --json "$TMP/f.json"; then
	for ((i = 0; i < 50; i++)); do
		grep -q 'dashboard at' "$TMP/f.err" && break
		sleep 0.1
	done
	wport=$(sed -n 's/.*dashboard at http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$TMP/f.err")
	# The event stream, opened before the traffic and read for 4 s.
	ip netns exec "$NSC" timeout 4 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" >&3
		cat <&3' _ "$wport" >"$TMP/f.sse" 2>/dev/null &
	SSE_PID=$!
	PIDS+=("$SSE_PID")
	sleep 0.5
	traffic 3 || not_ok "f: tcpping traffic failed"
	# snapshots are published twice a second
	conns=
	for ((i = 0; i < 30; i++)); do
		http_get "$wport" /api/summary >"$TMP/f.summary.json" 2>/dev/null
		conns=$(jget "$TMP/f.summary.json" .summary.connections)
		[ "${conns:-0}" -ge 3 ] 2>/dev/null && break
		sleep 0.2
	done
	wait "$SSE_PID" 2>/dev/null
	# Each summary event is one "data:" line after "event: summary".
	sse_counts=$(awk '/^event: summary/ { want = 1; next }
		want && /^data: / { sub(/^data: /, ""); print; want = 0 }' "$TMP/f.sse" |
		jq -r '.summary.connections' 2>/dev/null | tr '\n' ' ')
	sse_first=${sse_counts%% *}
	sse_last=$(awk '{ print $NF }' <<<"$sse_counts")
	if [ "$sse_first" = 0 ] && [ "${sse_last:-0}" -ge 3 ] 2>/dev/null; then
		ok "f: the event stream carried the capture as it grew (connections per summary event: ${sse_counts% })"
	else
		not_ok "f: event stream: connections per summary event '${sse_counts}' (want 0 first, >= 3 last)$(why f)"
	fi
	live=$(jget "$TMP/f.summary.json" .snapshot.live)
	fin=$(jget "$TMP/f.summary.json" .snapshot.finished)
	if [ -n "$wport" ] && [ "${conns:-0}" -ge 3 ] 2>/dev/null && [ "$live" = true ] &&
	   [ "$fin" = false ]; then
		ok "f: --web during a live capture: /api/summary shows the $conns connections while capturing"
	else
		not_ok "f: --web live: port '$wport', connections '$conns' (want >= 3), live '$live', finished '$fin'$(why f)"
	fi
	# ?stream=0: the page polls instead of holding the event stream open,
	# during which Chromium's virtual time would never run out.
	if command -v chromium >/dev/null; then
		ip netns exec "$NSC" timeout 60 chromium --headless --no-sandbox --disable-gpu \
			--no-first-run --disable-background-networking --disable-component-update \
			--disable-sync --user-data-dir="$TMP/chromium" --virtual-time-budget=5000 \
			--dump-dom "http://127.0.0.1:$wport/?stream=0" >"$TMP/f.dom.html" 2>/dev/null
		state=$(grep -o 'id="status"[^>]*' "$TMP/f.dom.html" | grep -o 'data-state="[a-z]*"')
		shown=$(grep -o '<[^>]*id="connections"[^>]*>' "$TMP/f.dom.html" |
			grep -o 'data-value="[0-9]*"' | tr -dc 0-9)
		if grep -q '<body[^>]*data-ready="true"' "$TMP/f.dom.html" &&
		   [ "$state" = 'data-state="polling"' ] && [ "${shown:-0}" -ge 3 ]; then
			ok "f: the dashboard in Chromium follows the live capture ($state, $shown connections)"
		else
			not_ok "f: the dashboard in Chromium: status '$state' (want polling), connections '$shown' (want >= 3)"
		fi
	else
		not_ok "f: chromium not found (make deps installs it)"
	fi
	kill -INT "$CS_PID"
	finish f 50
	got=$(jget "$TMP/f.json" .summary.connections)
	if [ "$CS_RC" = 0 ] && [ "$got" = "$conns" ]; then
		ok "f: SIGINT ends capture and server: exit 0, the report has the same $got connections"
	else
		not_ok "f: after SIGINT: exit $CS_RC, report connections '$got' (the API said '$conns')$(why f)"
	fi
else
	finish f 1
	not_ok "f: connscope -i $IFACE --web did not start (exit $CS_RC)$(why f)"
fi

# ---- g: a filter on a port keeps the ICMP errors about it -------------------------------
# The server's host rejects SYNs to REJ with ICMP host-unreachable; the
# filter names only REJ.  Sent on the link: a SYN to PORT and its handshake
# (filtered out), a SYN to REJ and its ICMP error (Linux gives up at once:
# EHOSTUNREACH, no retransmission).  So 2 packets, 1 an ICMP error, and one
# connection whose outcome is unreachable.
REJ=7071
if ! ip netns exec "$NSS" nft -f - >"$TMP/g.nft.log" 2>&1 <<EOF_NFT
table inet cslive_$$ {
	chain input {
		type filter hook input priority 0;
		tcp dport $REJ reject with icmp type host-unreachable
	}
}
EOF_NFT
then
	not_ok "g: nft rule: $(tr '\n' ' ' <"$TMP/g.nft.log")"
elif start_connscope g -f "tcp port $REJ" --duration 3 -q --json "$TMP/g.json"; then
	traffic 1 || not_ok "g: tcpping traffic to $PORT failed"
	ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$REJ" --count 1 \
		--timeout 5 --expect unreachable >>"$TMP/traffic.log" 2>&1 ||
		not_ok "g: connect to $REJ was not unreachable: $(tail -n 1 "$TMP/traffic.log")"
	finish g 100
	got=$(jq -r '[.summary.packets, .summary.icmp_errors, .outcomes.unreachable,
		      .source.filter, .source.filter_keeps_icmp] | @tsv' "$TMP/g.json" 2>/dev/null)
	want="2	1	1	tcp port $REJ	true"
	if [ "$CS_RC" = 0 ] && [ "$got" = "$want" ]; then
		ok "g: -f 'tcp port $REJ' live keeps the ICMP error: 2 packets, 1 unreachable"
	else
		not_ok "g: -f 'tcp port $REJ' live: exit $CS_RC, got '$got', want '$want'$(why g)"
	fi
else
	finish g 1
	not_ok "g: connscope -i $IFACE did not start (exit $CS_RC)$(why g)"
fi

echo "live: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
