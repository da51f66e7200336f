#!/usr/bin/env bash
# record.sh — record the sample captures in samples/ from real kernel TCP.
#
# Run as root from anywhere:  bash samples/record.sh
#
# Builds three network namespaces joined by veth pairs,
#
#   client 10.213.1.2 ── vc0 │ vr0 ── router ── vr1 │ vs0 ── server 10.213.2.2
#          fd00:213::1:2          .1.1 / .2.1            fd00:213::2:2
#
# runs tests/tools/tcpping scenarios between client and server, and captures
# on the client's veth (inside the client namespace) with tcpdump -s 256.
# The router's nftables rules drop the SYNs of the "timeout" port and reject
# the "unreachable" port with ICMP host-unreachable, so those answers really
# come from a router.  Everything (namespaces, processes, temp files) is
# removed at exit, on failure too.  See samples/README.md for what each file
# shows.
#
# Environment: TCPPING (default build/tests/tcpping, built if missing),
# OUT (default: this directory).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
OUT=${OUT:-$HERE}
TCPPING=${TCPPING:-$ROOT/build/tests/tcpping}

if [ "$(id -u)" -ne 0 ]; then
	echo "record.sh: must run as root (it creates network namespaces)" >&2
	exit 1
fi
for t in ip nft tcpdump timeout; do
	command -v "$t" >/dev/null || {
		echo "record.sh: '$t' not found (apt-get install iproute2 nftables tcpdump)" >&2
		exit 1
	}
done
if [ ! -x "$TCPPING" ]; then
	make -C "$ROOT" --no-print-directory build/tests/tcpping >&2
	TCPPING=$ROOT/build/tests/tcpping
fi

NC=csrec-cli-$$
NR=csrec-rtr-$$
NS=csrec-srv-$$
TMP=$(mktemp -d /tmp/csrec.XXXXXX)
PIDS=()
NAMESPACES=()

# Waits (at most $2 tenths of a second) for process $1 to exit.
wait_gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

cleanup() {
	local rc=$? p
	set +e
	for p in "${PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null || continue
		kill -TERM "$p" 2>/dev/null
		wait_gone "$p" 30 || kill -KILL "$p" 2>/dev/null
	done
	for p in "${NAMESPACES[@]}"; do
		ip netns del "$p" 2>/dev/null
	done
	rm -rf "$TMP"
	[ $rc -eq 0 ] || echo "record.sh: FAILED (exit $rc); namespaces and processes removed" >&2
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_c() { ip netns exec "$NC" "$@"; }
in_r() { ip netns exec "$NR" "$@"; }
in_s() { ip netns exec "$NS" "$@"; }

# Waits (at most 5 s) until file $2 contains text $1.
wait_for_text() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "record.sh: timed out waiting for '$1' in $2:" >&2
	cat "$2" >&2
	return 1
}

# ---- topology ----------------------------------------------------------------
for n in "$NC" "$NR" "$NS"; do
	ip netns add "$n"
	NAMESPACES+=("$n")
	# Quiet links: no router solicitations, no DAD, no duplicate-address delay,
	# so the captures hold the TCP scenarios and little else.
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.router_solicitations=0 \
		net.ipv6.conf.default.router_solicitations=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip netns exec "$n" ip link set lo up
	# Links coming up send IPv6 MLD reports for a second or two, at random
	# times; drop them as they leave so no capture holds them.
	ip netns exec "$n" nft -f - <<'EOF'
table inet csquiet {
	chain output {
		type filter hook output priority 0; policy accept;
		icmpv6 type { mld-listener-report, mld2-listener-report } drop
	}
}
EOF
done
ip link add vc0 netns "$NC" type veth peer name vr0 netns "$NR"
ip link add vs0 netns "$NS" type veth peer name vr1 netns "$NR"

in_c ip addr add 10.213.1.2/24 dev vc0
in_c ip addr add fd00:213::1:2/112 dev vc0 nodad
in_r ip addr add 10.213.1.1/24 dev vr0
in_r ip addr add fd00:213::1:1/112 dev vr0 nodad
in_r ip addr add 10.213.2.1/24 dev vr1
in_r ip addr add fd00:213::2:1/112 dev vr1 nodad
in_s ip addr add 10.213.2.2/24 dev vs0
in_s ip addr add fd00:213::2:2/112 dev vs0 nodad
in_c ip link set vc0 up
in_r ip link set vr0 up
in_r ip link set vr1 up
in_s ip link set vs0 up
in_c ip route add default via 10.213.1.1
in_c ip -6 route add default via fd00:213::1:1
in_s ip route add default via 10.213.2.1
in_s ip -6 route add default via fd00:213::2:1
in_r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

# A connect timeout must end in seconds, not the default ~130 s: with two
# SYN retransmissions (RTO 1 s, 2 s, then 4 s of waiting) connect() gives
# up after about 7 s.  The sysctl is per network namespace.
# Kernels since 6.7 retransmit the first SYNs at a fixed 1 s interval
# (tcp_syn_linear_timeouts, default 4) while the give-up time stays that of
# the exponential schedule: six SYNs instead of three.  Turn that off where
# it exists so the sample shows the classic SYN, +1 s, +2 s on any kernel.
in_c sysctl -qw net.ipv4.tcp_syn_retries=2
if in_c test -e /proc/sys/net/ipv4/tcp_syn_linear_timeouts; then
	in_c sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0
fi

# The router: port 8092 is a black hole, port 8093 is answered with ICMP
# host-unreachable (ICMPv6 address-unreachable for IPv6) by the router.
in_r nft -f - <<'EOF'
table inet csrec {
	chain forward {
		type filter hook forward priority 0; policy accept;
		tcp dport 8092 drop
		meta nfproto ipv4 tcp dport 8093 reject with icmp type host-unreachable
		meta nfproto ipv6 tcp dport 8093 reject with icmpv6 type addr-unreachable
	}
}
EOF

# Permanent neighbour entries: no ARP or neighbour discovery in the middle
# of a scenario, so every capture starts and stays with TCP (and ICMP).
mac() { ip netns exec "$1" cat "/sys/class/net/$2/address"; }
MAC_C=$(mac "$NC" vc0) MAC_R0=$(mac "$NR" vr0) MAC_R1=$(mac "$NR" vr1) MAC_S=$(mac "$NS" vs0)
in_c ip neigh replace 10.213.1.1 lladdr "$MAC_R0" dev vc0 nud permanent
in_c ip neigh replace fd00:213::1:1 lladdr "$MAC_R0" dev vc0 nud permanent
in_r ip neigh replace 10.213.1.2 lladdr "$MAC_C" dev vr0 nud permanent
in_r ip neigh replace fd00:213::1:2 lladdr "$MAC_C" dev vr0 nud permanent
in_r ip neigh replace 10.213.2.2 lladdr "$MAC_S" dev vr1 nud permanent
in_r ip neigh replace fd00:213::2:2 lladdr "$MAC_S" dev vr1 nud permanent
in_s ip neigh replace 10.213.2.1 lladdr "$MAC_R1" dev vs0 nud permanent
in_s ip neigh replace fd00:213::2:1 lladdr "$MAC_R1" dev vs0 nud permanent
# ---- capture -------------------------------------------------------------------
CAP_PID=
# start_capture NAME: tcpdump on the client's veth into $TMP/NAME.pcap.
# -Z root: Debian's tcpdump otherwise drops to user tcpdump before it
# opens the output file.  -U: each packet is written as it arrives.
# --immediate-mode: without it the kernel's TPACKET_V3 ring hands packets
# over one block at a time, a block only when full or after the 1 s read
# timeout, and tcpdump killed inside that second loses the block.
# ip netns exec is started directly (not through in_c): then $! is the
# PID of tcpdump itself, which ip execs after entering the namespace.
start_capture() {
	ip netns exec "$NC" tcpdump -i vc0 -s 256 -U --immediate-mode -Z root -w "$TMP/$1.pcap" \
		2>"$TMP/$1.tcpdump.err" &
	CAP_PID=$!
	PIDS+=("$CAP_PID")
	wait_for_text "listening on" "$TMP/$1.tcpdump.err"
}

# stop_capture PID: let the last ACKs arrive, then stop tcpdump cleanly.
# SIGTERM, not SIGINT: a non-interactive shell starts background jobs with
# SIGINT ignored.  tcpdump flushes the file on either.
stop_capture() {
	sleep 0.3
	kill -TERM "$1"
	if ! wait_gone "$1" 50; then
		echo "record.sh: tcpdump $1 did not stop" >&2
		return 1
	fi
	wait "$1" 2>/dev/null || true
}

SRV_PID=
# start_server NAME ADDR PORT [tcpping serve options]
start_server() {
	local name=$1 addr=$2 port=$3
	shift 3
	ip netns exec "$NS" "$TCPPING" serve "$addr" "$port" --timeout 30 "$@" \
		>"$TMP/srv-$name.log" 2>&1 &
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	wait_for_text "^listening" "$TMP/srv-$name.log"
}

# finish_server NAME: the server exits by itself after --count connections.
finish_server() {
	if ! wait_gone "$SRV_PID" 50; then
		echo "record.sh: server '$1' did not finish" >&2
		return 1
	fi
	if ! wait "$SRV_PID"; then
		echo "record.sh: server '$1' did not see what it expected:" >&2
		cat "$TMP/srv-$1.log" >&2
		return 1
	fi
	sed "s/^/  server: /" "$TMP/srv-$1.log"
}

# client ARGS...: one tcpping connect run in the client namespace.
client() {
	echo "+ tcpping connect $*"
	in_c "$TCPPING" connect "$@" | sed "s/^/  client: /"
	return "${PIPESTATUS[0]}"
}

S4=10.213.2.2
S6=fd00:213::2:2

start_capture mixed
MIXED_PID=$CAP_PID

# normal: client closes first (x3), server closes first (x2), IPv6 (x1).
start_capture normal
start_server cf $S4 8080 --count 3
client $S4 8080 --count 3 --bytes 200 --interval 50
finish_server cf
start_server sf $S4 8081 --count 2 --close-first server
client $S4 8081 --count 2 --bytes 3000 --close-first server --interval 50
finish_server sf
start_server v6 $S6 8080 --count 1
client $S6 8080 --count 1 --bytes 100
finish_server v6
stop_capture "$CAP_PID"

# refused: nothing listens on 8090; the server's kernel answers RST.
start_capture refused
client $S4 8090 --count 2 --expect refused --interval 50
stop_capture "$CAP_PID"

# timeout: the router drops every packet to 8092; connect() gives up after
# the SYN and two retransmissions.
start_capture timeout
client $S4 8092 --count 1 --expect timeout --timeout 15
stop_capture "$CAP_PID"

# unreachable: the router answers the SYN with ICMP host-unreachable
# (and ICMPv6 address-unreachable).
start_capture unreachable
client $S4 8093 --count 1 --expect unreachable --timeout 15
client $S6 8093 --count 1 --expect unreachable --timeout 15
stop_capture "$CAP_PID"

# abort: the client closes with SO_LINGER 0 after the echo: RST, no FIN.
start_capture abort
start_server abort $S4 8082 --count 1 --expect reset
client $S4 8082 --count 1 --linger0
finish_server abort
stop_capture "$CAP_PID"

# half-close: the client sends its request and FIN at once; the server
# replies 100 ms later, into the half-closed connection, then closes.
start_capture halfclose
start_server hc $S4 8083 --count 1 --delay 100
client $S4 8083 --count 1 --half-close
finish_server hc
stop_capture "$CAP_PID"

stop_capture "$MIXED_PID"

for f in mixed normal refused timeout unreachable abort halfclose; do
	cp "$TMP/$f.pcap" "$OUT/$f.pcap"
	chmod 0644 "$OUT/$f.pcap"
	printf '%-12s %3d packets\n' "$f.pcap" \
		"$(tcpdump -nn -r "$OUT/$f.pcap" 2>/dev/null | wc -l)"
done
