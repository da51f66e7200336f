# livepair.sh — two network namespaces joined by a veth pair, a tcpping
# server in one and connscope -i with --web in the other.  Sourced (after
# procs.sh) by the web test scripts (tests/webload.sh, tests/slowweb.sh,
# tests/soak.sh), which call live_script first; sets NSS NSC (namespace
# names), SRV_ADDR, CS_PID and WPORT.
#
# Everything carries the "wa" prefix plus the script's PID, so concurrent
# runs of these and other engineers' tests never share a name.  IPv6 is off
# and the neighbours are static: the link carries only the test's TCP, so
# the capture's counts can be compared exactly with the client's.

# live_script NAME: what every such script starts with -- a scratch folder
# TMP, the PIDS and NAMESPACES that stop_all ends at exit (with TMP), and
# fail(), which names the script.
live_script() {
	SCRIPT=$1
	TMP=$(mktemp -d "/tmp/cs-$1.XXXXXX")
	PIDS=()
	NAMESPACES=()
	trap 'stop_all; rm -rf "$TMP"' EXIT
	trap 'exit 130' INT TERM
}
fail() { echo "not ok - $*"; echo "$SCRIPT: failed"; exit 1; }

SRV_ADDR=10.213.52.1
CLI_ADDR=10.213.52.2
SRV_PORT=7072
CLOSED_PORT=7073	# nothing listens here: refused connections
IFACE=wa1

# pair_up TAG: namespaces wa-TAG-srv-PID / wa-TAG-cli-PID, veth wa0|wa1.
pair_up() {
	NSS=wa-$1-srv-$$
	NSC=wa-$1-cli-$$
	ip netns add "$NSS" && NAMESPACES+=("$NSS") &&
		ip netns add "$NSC" && NAMESPACES+=("$NSC") || fail "ip netns add"
	{
		for n in "$NSS" "$NSC"; do
			ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
				net.ipv6.conf.default.disable_ipv6=1
			ip -n "$n" link set lo up
		done
		ip link add wa0 netns "$NSS" type veth peer name wa1 netns "$NSC"
		ip -n "$NSS" addr add "$SRV_ADDR/24" dev wa0
		ip -n "$NSC" addr add "$CLI_ADDR/24" dev wa1
		ip -n "$NSS" link set wa0 up
		ip -n "$NSC" link set wa1 up
		ip -n "$NSS" neigh replace "$CLI_ADDR" dev wa0 nud permanent \
			lladdr "$(ip netns exec "$NSC" cat /sys/class/net/wa1/address)"
		ip -n "$NSC" neigh replace "$SRV_ADDR" dev wa1 nud permanent \
			lladdr "$(ip netns exec "$NSS" cat /sys/class/net/wa0/address)"
		# many short connections: reuse TIME_WAIT ports rather than run out
		ip netns exec "$NSC" sysctl -qw net.ipv4.tcp_tw_reuse=1
	} >"$TMP/setup.log" 2>&1 || fail "namespaces: $(tr '\n' ' ' <"$TMP/setup.log")"
}

# serve SECONDS: the echo server, accepting until SECONDS have passed.
serve() {
	ip netns exec "$NSS" "$TCPPING" serve "$SRV_ADDR" "$SRV_PORT" --count 0 \
		--timeout "$1" >"$TMP/server.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 50); do
		grep -q '^listening' "$TMP/server.log" && return 0
		sleep 0.1
	done
	fail "tcpping server did not start: $(cat "$TMP/server.log")"
}

# start_capture ARGS...: connscope -i wa1 -q --web 127.0.0.1:0 ARGS in the
# client namespace; waits for the dashboard's port (WPORT) and the packet
# socket.  `ip netns exec` execs, so CS_PID is connscope itself.
start_capture() {
	local before
	before=$(packet_sockets "$NSC")
	ip netns exec "$NSC" "$CONNSCOPE" -i "$IFACE" -q --web 127.0.0.1:0 "$@" \
		2>"$TMP/connscope.err" &
	CS_PID=$!
	PIDS+=("$CS_PID")
	WPORT=
	for _ in $(seq 50); do
		WPORT=$(sed -n 's/.*dashboard at http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' \
			"$TMP/connscope.err")
		[ -n "$WPORT" ] && break
		kill -0 "$CS_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$WPORT" ] || fail "connscope did not start: $(cat "$TMP/connscope.err")"
	# The dashboard starts before the capture opens: wait for that too.
	wait_capture "$NSC" "$CS_PID" "$before" ||
		fail "connscope's capture did not open: $(cat "$TMP/connscope.err")"
}

# churn UNTIL_SECONDS LOG: connections across the link until $SECONDS
# reaches UNTIL_SECONDS, in rounds: 20 complete exchanges, 2 refused (no
# listener), 2 aborted by the client with a RST.  Each tcpping run is
# bounded by its --timeout.  One "conn N RESULT" line per connection in LOG.
churn() {
	while [ "$SECONDS" -lt "$1" ]; do
		ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$SRV_PORT" --count 20 \
			--interval "${CHURN_INTERVAL_MS:-0}" --timeout 10 >>"$2" 2>&1 || return 1
		ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$CLOSED_PORT" --count 2 \
			--expect refused --timeout 5 >>"$2" 2>&1 || return 1
		ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$SRV_PORT" --count 2 \
			--linger0 --timeout 5 >>"$2" 2>&1 || return 1
	done
}

# made LOG: connections the client made (every result but a local error).
made() {
	grep -Ec '^conn [0-9]+ (ok|refused|reset|timeout)' "$1"
}

# rss_kib PID: resident set size in KiB (empty once the process is gone).
rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}
