#!/usr/bin/env bash
# record.sh — record the sample captures in samples/ from real kernel TCP.
#
# Run as root from anywhere:  bash samples/record.sh [SCENARIO...]
#
# Builds three network namespaces joined by veth pairs,
#
#   client 10.213.1.2 ── vc0 │ vr0 ── router ── vr1 │ vs0 ── server 10.213.2.2
#          fd00:213::1:2          .1.1 / .2.1            fd00:213::2:2
#
# runs tests/tools/tcpping (and, for the SYN floods, hping3) scenarios
# between client and server, and captures on the client's veth (inside the
# client namespace) with tcpdump -s 256.  nftables rules on the router and
# on the server make the black hole, the ICMP errors, the lost RST and the
# lossy link, so every answer comes from the host that would really send it.
# Everything (namespaces, processes, temp files) is removed at exit, on
# failure too.  See samples/README.md for what each file shows.
#
# With no SCENARIO every sample is recorded (a little over a minute).
# Otherwise only the ones named:
#   normal refused timeout unreachable abort halfclose unreachable-reject
#   abort-unread nonexistent portreuse zerowindow lossy closewait timewait
#   synflood-cookies synflood-backlog portscan backscatter
# or "mixed": mixed.pcap and the six files it is made of (it is captured
# while they are).
#
# For every sample recorded it also writes its ground truth, taken from
# what the script did (tcpping's report of each connection, hping3's
# packet list) and checked with tcpdump: tests/samples/NAME.expected.tsv
# (one row per connection) or, for the many-connection samples,
# NAME.expected-counts.tsv, and always NAME.expected-alerts.tsv.
# tests/samples/README.md describes the formats.
#
# Environment: TCPPING (default build/tests/tcpping, built if missing),
# OUT (default: this directory), EXPECTED (default: tests/samples),
# KEEP_TMP (non-empty: keep the temporary directory, its logs and pcaps).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
OUT=${OUT:-$HERE}
EXPECTED=${EXPECTED:-$ROOT/tests/samples}
TCPPING=${TCPPING:-$ROOT/build/tests/tcpping}

BASIC="normal refused timeout unreachable abort halfclose"
EXTRA="unreachable-reject abort-unread nonexistent portreuse reuse-stall stale
	zerowindow lossy closewait timewait synflood-cookies synflood-backlog portscan backscatter"
usage() {
	echo "usage: bash samples/record.sh [SCENARIO...]   (as root; none = all)"
	echo "scenarios: mixed" $BASIC $EXTRA
}
declare -A WANT=()
if [ $# -eq 0 ]; then
	for n in mixed $BASIC $EXTRA; do WANT[$n]=1; done
fi
for a in "$@"; do
	case $a in
	-h|--help) usage; exit 0 ;;
	esac
	case " mixed $(echo $BASIC $EXTRA) " in
	*" $a "*) WANT[$a]=1 ;;
	*) echo "record.sh: unknown scenario '$a'" >&2; usage >&2; exit 1 ;;
	esac
done
# mixed.pcap is captured while its six scenarios run: all of them or none.
if [ -n "${WANT[mixed]:-}" ]; then
	for n in $BASIC; do WANT[$n]=1; done
fi
want() { [ -n "${WANT[$1]:-}" ]; }

if [ "$(id -u)" -ne 0 ]; then
	echo "record.sh: must run as root (it creates network namespaces)" >&2
	exit 1
fi
for t in ip nft tcpdump timeout ss; do
	command -v "$t" >/dev/null || {
		echo "record.sh: '$t' not found (apt-get install iproute2 nftables tcpdump)" >&2
		exit 1
	}
done
if { want synflood-cookies || want synflood-backlog || want portscan ||
     want backscatter; } &&
	! command -v hping3 >/dev/null; then
	echo "record.sh: 'hping3' not found (apt-get install hping3, or make deps)" >&2
	exit 1
fi
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

# wait_gone, stop, stop_all
. "$ROOT/tests/lib/procs.sh"

cleanup() {
	local rc=$?
	set +e
	stop_all
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "record.sh: temporary files kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
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

# Milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# sleep_until MS: sleeps until now_ms reaches MS.
sleep_until() {
	local left=$(($1 - $(now_ms)))
	[ "$left" -le 0 ] || sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
}

die() {
	echo "record.sh: $*" >&2
	exit 1
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
# The SYN floods' spoofed sources, 10.213.128.0/17, live "behind" the
# client: the router sends the server's SYN-ACKs for them back over vc0, so
# the capture sees them, and the client namespace (a host, not a router)
# drops them without a word, as a spoofed address that nobody owns would.
in_r ip route add 10.213.128.0/17 via 10.213.1.2

# Nothing can leave the three namespaces: each has only its loopback and
# its veths (whose peers are in the other two), and the router has no
# default route.  Checked, since the floods' sources are spoofed.
for n in "$NC:lo vc0" "$NR:lo vr0 vr1" "$NS:lo vs0"; do
	links=$(ip -n "${n%%:*}" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' ')
	[ "$links" = "$(echo ${n#*:} | tr ' ' '\n' | sort | tr '\n' ' ')" ] ||
		die "namespace ${n%%:*} has links '$links'"
done
[ -z "$(in_r ip route show default)" ] && [ -z "$(in_r ip -6 route show default)" ] ||
	die "the router has a default route"

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

# The router: port 8092 is a black hole (and 8250-8299, the port scan's
# firewalled ports), port 8093 is answered with ICMP
# host-unreachable (ICMPv6 address-unreachable for IPv6) by the router,
# port 8097 with ICMP admin-prohibited (a router ACL).  Port 8094 is the
# lossy link: 7% of the packets each way are dropped at random.
in_r nft -f - <<'EOF'
table inet csrec {
	chain forward {
		type filter hook forward priority 0; policy accept;
		tcp dport 8092 drop
		meta nfproto ipv4 tcp dport 8093 reject with icmp type host-unreachable
		meta nfproto ipv6 tcp dport 8093 reject with icmpv6 type addr-unreachable
		meta nfproto ipv4 tcp dport 8097 reject with icmp type admin-prohibited
		tcp dport 8094 numgen random mod 100 < 7 drop
		tcp sport 8094 numgen random mod 100 < 7 drop
		tcp dport 8250-8299 drop
	}
}
EOF
# The server host: its own firewall rejects port 8096 with ICMP
# port-unreachable (iptables' default REJECT), before TCP sees the SYN.
# On port 8085 the RST+ACK that an abort (SO_LINGER 0) sends is dropped as
# it leaves, so the client never learns that the server forgot the
# connection; a bare RST (the answer to a segment for no socket) passes.
in_s nft -f - <<'EOF'
table inet csrec {
	chain input {
		type filter hook input priority 0; policy accept;
		meta nfproto ipv4 tcp dport 8096 reject with icmp type port-unreachable
	}
	chain output {
		type filter hook output priority 0; policy accept;
		tcp sport 8085 tcp flags & (rst | ack) == rst | ack drop
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
declare -A CAP_NAME=()
RECORDED=()
# start_capture NAME: tcpdump on the client's veth into $TMP/NAME.pcap.
# -Z root: Debian's tcpdump otherwise drops to user tcpdump before it
# opens the output file.  -U: each packet is written as it arrives.
# --immediate-mode: without it the kernel's TPACKET_V3 ring hands packets
# over one block at a time, a block only when full or after the 1 s read
# timeout, and tcpdump killed inside that second loses the block.
# -B 16384: a 16 MiB ring, so the floods' bursts are not dropped.
# ip netns exec is started directly (not through in_c): then $! is the
# PID of tcpdump itself, which ip execs after entering the namespace.
# start_capture NAME [FILTER]: FILTER, a tcpdump expression, for a capture
# point that sees only part of the traffic.
start_capture() {
	ip netns exec "$NC" tcpdump -i vc0 -s 256 -B 16384 -U --immediate-mode -Z root \
		-w "$TMP/$1.pcap" ${2:+"$2"} 2>"$TMP/$1.tcpdump.err" &
	CAP_PID=$!
	PIDS+=("$CAP_PID")
	CAP_NAME[$CAP_PID]=$1
	wait_for_text "listening on" "$TMP/$1.tcpdump.err"
	RECORDED+=("$1")
}

# stop_capture PID: let the last ACKs arrive, then stop tcpdump cleanly.
# SIGTERM, not SIGINT: a non-interactive shell starts background jobs with
# SIGINT ignored.  tcpdump flushes the file on either.  A capture that
# lost packets in the kernel would not be a faithful sample: fail.
stop_capture() {
	local name=${CAP_NAME[$1]}
	sleep 0.3
	kill -TERM "$1"
	if ! wait_gone "$1" 50; then
		echo "record.sh: tcpdump $1 did not stop" >&2
		return 1
	fi
	wait "$1" 2>/dev/null || true
	grep -q "^0 packets dropped by kernel" "$TMP/$name.tcpdump.err" ||
		die "the $name capture lost packets: $(cat "$TMP/$name.tcpdump.err")"
}

# PIN: a command prefix for tcpping, to pin a scenario's client and server
# to one CPU (see timewait).
PIN=(env)
SRV_PID=
# start_server NAME ADDR PORT [tcpping serve options]
start_server() {
	local name=$1 addr=$2 port=$3
	shift 3
	ip netns exec "$NS" "${PIN[@]}" "$TCPPING" serve "$addr" "$port" --timeout 30 "$@" \
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
	summarize "  server: " "$TMP/srv-$1.log"
}

# stop_server NAME: ends a --no-close server (started here; by its PID)
# that would otherwise hold its sockets until its --timeout.
stop_server() {
	kill -TERM "$SRV_PID" 2>/dev/null || true
	wait_gone "$SRV_PID" 30 || kill -KILL "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
	summarize "  server: " "$TMP/srv-$1.log"
}

# summarize PREFIX FILE: a tcpping log, or for a long one its first lines
# and its summary.
summarize() {
	if [ "$(wc -l <"$2")" -le 12 ]; then
		sed "s/^/$1/" "$2"
	else
		head -n 3 "$2" | sed "s/^/$1/"
		echo "$1..."
		tail -n 2 "$2" | sed "s/^/$1/"
	fi
}

# client NAME ARGS...: one tcpping connect run in the client namespace; its
# report stays in $TMP/cli-NAME.log for the ground truth.
client() {
	local name=$1 rc=0
	shift
	echo "+ tcpping connect $*"
	in_c "${PIN[@]}" "$TCPPING" connect "$@" >"$TMP/cli-$name.log" 2>&1 || rc=$?
	summarize "  client: " "$TMP/cli-$name.log"
	return $rc
}

# ---- ground truth ----------------------------------------------------------------
# Files are made in $TMP and copied to $EXPECTED with the captures.

# ports LOG [N]: the client's local port of each connection (or of
# connection N), in order, from tcpping's report
# "conn N RESULT ERR LOCAL REMOTE ...".
ports() {
	awk -v n="${2:-}" '$1 == "conn" && (n == "" || $2 == n) {
		k = split($5, a, ":"); print a[k] }' "$1"
}

# expect NAME LOG[:N] RESP_H RESP_P OUTCOME RST_BY RST_CAUSE ORIG_STATE
#        RESP_STATE ICMP_TYPE ICMP_CODE: a row for every connection in LOG
#        (or for connection N only).
expect() {
	local name=$1 log=${2%%:*} n='' p f=$TMP/$1.expected.tsv
	case $2 in *:*) n=${2#*:} ;; esac
	shift 2
	[ -e "$f" ] || printf 'orig_p\tresp_h\tresp_p\toutcome\trst_by\trst_cause\torig_state\tresp_state\ticmp_type\ticmp_code\n' >"$f"
	for p in $(ports "$log" "$n"); do
		[ "$p" != 0 ] || die "no local port in $log"
		(IFS=$'\t'; echo "$p	$*") >>"$f"
	done
}

# alerts NAME [TYPE TARGET]...: the alerts the sample must raise; none
# when no pair is given.
alerts() {
	local f=$TMP/$1.expected-alerts.tsv
	shift
	printf 'type\ttarget\n' >"$f"
	while [ $# -ge 2 ]; do
		printf '%s\t%s\n' "$1" "$2" >>"$f"
		shift 2
	done
}

# count NAME KIND KEY N: a row of NAME.expected-counts.tsv.
count() {
	local f=$TMP/$1.expected-counts.tsv
	[ -e "$f" ] || printf 'kind\tname\tcount\n' >"$f"
	printf '%s\t%s\t%s\n' "$2" "$3" "$4" >>"$f"
}

# td NAME [FILTER]: tcpdump's lines for capture NAME (absolute sequence
# numbers).
td() {
	local f=$TMP/$1.pcap
	shift
	tcpdump -nn -S -r "$f" "$@" 2>/dev/null
}

# check WHAT GOT WANT: a fact of a capture, from tcpdump, as the scenario
# must have made it.
check() {
	[ "$2" = "$3" ] || die "$1: tcpdump finds $2, the scenario must make $3"
}

# wait_closed PORT: waits (at most 15 s) until no socket of port PORT is
# left in the server namespace and every client socket of it is in
# TIME_WAIT: every close, retransmissions included, is over.
wait_closed() {
	local i
	for ((i = 0; i < 150; i++)); do
		if [ -z "$(in_s ss -Htan "( sport = :$1 )")" ] &&
		   [ -z "$(in_c ss -Htan "( dport = :$1 )" | grep -v '^TIME-WAIT')" ]; then
			return 0
		fi
		sleep 0.1
	done
	in_s ss -tan "( sport = :$1 )" >&2
	in_c ss -tan "( dport = :$1 )" >&2
	die "connections to port $1 did not close"
}

S4=10.213.2.2
S6=fd00:213::2:2
C4=10.213.1.2

# ---- the first six, captured together in mixed.pcap too ---------------------------
MIXED_PID=
if want mixed; then
	start_capture mixed
	MIXED_PID=$CAP_PID
fi

# normal: client closes first (x3), server closes first (x2), IPv6 (x1).
if want normal; then
	start_capture normal
	start_server cf $S4 8080 --count 3
	client normal-cf $S4 8080 --count 3 --bytes 200 --interval 50
	finish_server cf
	start_server sf $S4 8081 --count 2 --close-first server
	client normal-sf $S4 8081 --count 2 --bytes 3000 --close-first server --interval 50
	finish_server sf
	start_server v6 $S6 8080 --count 1
	client normal-v6 $S6 8080 --count 1 --bytes 100
	finish_server v6
	stop_capture "$CAP_PID"
	expect normal "$TMP/cli-normal-cf.log" $S4 8080 completed - - TIME_WAIT CLOSED - -
	expect normal "$TMP/cli-normal-sf.log" $S4 8081 completed - - CLOSED TIME_WAIT - -
	expect normal "$TMP/cli-normal-v6.log" $S6 8080 completed - - TIME_WAIT CLOSED - -
	alerts normal
fi

# refused: nothing listens on 8090; the server's kernel answers RST.
if want refused; then
	start_capture refused
	client refused $S4 8090 --count 2 --expect refused --interval 50
	stop_capture "$CAP_PID"
	expect refused "$TMP/cli-refused.log" $S4 8090 refused resp refused CLOSED CLOSED - -
	alerts refused
fi

# timeout: the router drops every packet to 8092; connect() gives up after
# the SYN and two retransmissions.  The client's socket is then gone
# (tcp_write_timeout -> tcp_write_err -> tcp_done; tcpping reports
# ETIMEDOUT): CLOSED.
if want timeout; then
	start_capture timeout
	client timeout $S4 8092 --count 1 --expect timeout --timeout 15
	stop_capture "$CAP_PID"
	expect timeout "$TMP/cli-timeout.log" $S4 8092 timeout - - CLOSED CLOSED - -
	alerts timeout
fi

# unreachable: the router answers the SYN with ICMP host-unreachable
# (and ICMPv6 address-unreachable).  connect() fails with EHOSTUNREACH: the
# client is CLOSED, the server never saw anything.
if want unreachable; then
	start_capture unreachable
	client unreach-v4 $S4 8093 --count 1 --expect unreachable --timeout 15
	client unreach-v6 $S6 8093 --count 1 --expect unreachable --timeout 15
	stop_capture "$CAP_PID"
	expect unreachable "$TMP/cli-unreach-v4.log" $S4 8093 unreachable - - CLOSED CLOSED 3 1
	expect unreachable "$TMP/cli-unreach-v6.log" $S6 8093 unreachable - - CLOSED CLOSED 1 3
	alerts unreachable
fi

# abort: the client closes with SO_LINGER 0 after the echo: RST, no FIN.
if want abort; then
	start_capture abort
	start_server abort $S4 8082 --count 1 --expect reset
	client abort $S4 8082 --count 1 --linger0
	finish_server abort
	stop_capture "$CAP_PID"
	expect abort "$TMP/cli-abort.log" $S4 8082 aborted orig abort CLOSED CLOSED - -
	alerts abort
fi

# half-close: the client sends its request and FIN at once; the server
# replies 100 ms later, into the half-closed connection, then closes.
if want halfclose; then
	start_capture halfclose
	start_server hc $S4 8083 --count 1 --delay 100
	client halfclose $S4 8083 --count 1 --half-close
	finish_server hc
	stop_capture "$CAP_PID"
	expect halfclose "$TMP/cli-halfclose.log" $S4 8083 completed - - TIME_WAIT CLOSED - -
	alerts halfclose
fi

if want mixed; then
	stop_capture "$MIXED_PID"
	for n in $BASIC; do
		tail -n +2 "$TMP/$n.expected.tsv"
	done | cat <(head -n 1 "$TMP/normal.expected.tsv") - >"$TMP/mixed.expected.tsv"
	alerts mixed
fi

# ---- the rest, each on its own ---------------------------------------------------

# unreachable-reject: firewalls that reject.  The server host's own
# firewall answers port 8096 with ICMP port-unreachable (connect() fails
# with ECONNREFUSED, as for a RST, but no TCP segment comes back), a router
# ACL answers port 8097 with ICMP admin-prohibited (EHOSTUNREACH).
if want unreachable-reject; then
	start_capture unreachable-reject
	client ur-port $S4 8096 --count 1 --expect refused --timeout 15
	client ur-admin $S4 8097 --count 1 --expect unreachable --timeout 15
	stop_capture "$CAP_PID"
	expect unreachable-reject "$TMP/cli-ur-port.log" $S4 8096 unreachable - - CLOSED CLOSED 3 3
	expect unreachable-reject "$TMP/cli-ur-admin.log" $S4 8097 unreachable - - CLOSED CLOSED 3 13
	alerts unreachable-reject
	check "unreachable-reject: ICMP port-unreachable from $S4" \
		"$(td unreachable-reject "icmp and src $S4" | grep -c 'tcp port 8096 unreachable')" \
		"$(td unreachable-reject "tcp dst port 8096 and tcp[tcpflags] == tcp-syn" | wc -l)"
	check "unreachable-reject: ICMP admin-prohibited from the router" \
		"$(td unreachable-reject 'icmp and src 10.213.1.1' | grep -c "$S4 unreachable - admin prohibited")" \
		"$(td unreachable-reject "tcp dst port 8097 and tcp[tcpflags] == tcp-syn" | wc -l)"
fi

# abort-unread: the server closes while the client's request sits unread in
# its receive buffer.  Linux then aborts: RST+ACK, no FIN (RFC 9293
# 3.10.4 / RFC 2525 "failure to send a RST after close with unread data").
if want abort-unread; then
	start_capture abort-unread
	start_server au $S4 8084 --count 1 --unread-close --delay 50
	client abort-unread $S4 8084 --count 1 --expect reset
	finish_server au
	stop_capture "$CAP_PID"
	expect abort-unread "$TMP/cli-abort-unread.log" $S4 8084 aborted resp abort CLOSED CLOSED - -
	alerts abort-unread
	check "abort-unread: RST+ACK from the server" \
		"$(td abort-unread "src $S4 and tcp[tcpflags] == (tcp-rst|tcp-ack)" | wc -l)" 1
	check "abort-unread: FINs" "$(td abort-unread 'tcp[tcpflags] & tcp-fin != 0' | wc -l)" 0
fi

# nonexistent: the server aborts (SO_LINGER 0) after the first echo, but its
# RST+ACK is dropped as it leaves, so the client still thinks the
# connection is open.  200 ms later the client sends its second request;
# the server's kernel has no socket for it and answers with a bare RST
# (no ACK flag) whose sequence number is the request's ACK number.
if want nonexistent; then
	start_capture nonexistent
	start_server ne $S4 8085 --count 1 --linger0
	client nonexistent $S4 8085 --count 1 --rounds 2 --gap 200 --expect reset
	finish_server ne
	stop_capture "$CAP_PID"
	expect nonexistent "$TMP/cli-nonexistent.log" $S4 8085 reset_nonexistent resp nonexistent CLOSED CLOSED - -
	alerts nonexistent
	# The bare RST's seq is the ACK number of the client segment before it.
	rst_ok=$(td nonexistent | awk -v c="$C4" '
		$3 ~ "^" c "\\." { for (i = 1; i < NF; i++) if ($i == "ack") ack = $(i + 1); sub(/,/, "", ack) }
		$5 ~ "^" c "\\." && / Flags \[R\], / {
			for (i = 1; i < NF; i++) if ($i == "seq") seq = $(i + 1); sub(/,/, "", seq)
			print (seq == ack) ? "ok" : "bad" }')
	check "nonexistent: bare RST answering the client's last segment" "$rst_ok" ok
	check "nonexistent: RST+ACK on the wire" \
		"$(td nonexistent 'tcp[tcpflags] == (tcp-rst|tcp-ack)' | wc -l)" 0
fi

# portreuse: the server closes first, so TIME_WAIT is on its side.  Half a
# second later the client connects again from the same local port (bound
# with SO_REUSEADDR): a new SYN on a 4-tuple whose previous connection is
# in TIME_WAIT.  Linux's server accepts it (the SYN's sequence number and
# timestamp are newer, RFC 6191) and the TIME_WAIT ends there: Linux does
# this by design, and it raises no alert (reuse-stall is the one that
# does).  The port is below the ephemeral range, so no earlier connection
# can hold it.
if want portreuse; then
	start_capture portreuse
	start_server pr $S4 8087 --count 2 --close-first server
	client portreuse $S4 8087 --count 2 --close-first server --bind-port 30500 --interval 500
	finish_server pr
	stop_capture "$CAP_PID"
	expect portreuse "$TMP/cli-portreuse.log:1" $S4 8087 completed - - CLOSED CLOSED - -
	expect portreuse "$TMP/cli-portreuse.log:2" $S4 8087 completed - - CLOSED TIME_WAIT - -
	# Taken at once (SYN-ACK, no retransmission): healthy, no alert.
	alerts portreuse
	check "portreuse: SYNs from port 30500" \
		"$(td portreuse "src $C4 and src port 30500 and tcp[tcpflags] == tcp-syn" | wc -l)" 2
fi

# zerowindow: the server's receive buffer is small (SO_RCVBUF 4096) and it
# reads nothing for the first second, while the client sends 32 KiB: the
# window closes, the server advertises a zero window, the client probes,
# and when the server starts reading it reopens the window.
if want zerowindow; then
	start_capture zerowindow
	start_server zw $S4 8095 --count 1 --rcvbuf 4096 --read-delay 1000
	client zerowindow $S4 8095 --count 1 --bytes 32768
	finish_server zw
	stop_capture "$CAP_PID"
	expect zerowindow "$TMP/cli-zerowindow.log" $S4 8095 completed - - TIME_WAIT CLOSED - -
	alerts zerowindow
	[ "$(td zerowindow "src $S4 and tcp[14:2] == 0 and tcp[tcpflags] & tcp-rst == 0" | wc -l)" -gt 0 ] ||
		die "zerowindow: no zero-window advertisement in the capture"
fi

# lossy: 7% of the packets to and from port 8094 are dropped at random by
# the router; four connections exchange 40 requests of 1000 bytes each,
# echoed.  Losses show as retransmissions (client data lost beyond the
# capture point) and as gaps then retransmissions (server data lost before
# it).  The capture ends once every close, retransmitted or not, is over.
if want lossy; then
	start_capture lossy
	start_server lossy $S4 8094 --count 4 --timeout 60
	client lossy $S4 8094 --count 4 --bytes 1000 --rounds 40 --gap 10 --interval 100 --timeout 60
	finish_server lossy
	wait_closed 8094
	stop_capture "$CAP_PID"
	expect lossy "$TMP/cli-lossy.log" $S4 8094 completed - - TIME_WAIT CLOSED - -
	alerts lossy
fi

# closewait: a server that keeps accepting and answering but never closes
# what it accepted (a leak).  60 clients send a request, read the echo and
# close: each server socket sits in CLOSE_WAIT, each client in FIN_WAIT_2.
# Then, so that packet time goes on, a monitoring connection to another
# port of the same host exchanges a 32-byte request and echo every second
# for 8 s; the capture ends with it, 8 s after the 60 connections, and
# then the leaking server is stopped.
if want closewait; then
	start_capture closewait
	start_server cw $S4 8086 --count 60 --no-close --timeout 60
	client closewait $S4 8086 --count 60 --interval 10
	srv_cw=$SRV_PID
	start_server cwmon $S4 8098 --count 1
	client closewait-mon $S4 8098 --count 1 --bytes 32 --rounds 9 --gap 1000 --timeout 20
	finish_server cwmon
	SRV_PID=$srv_cw
	stop_capture "$CAP_PID"
	check "closewait: server sockets in CLOSE_WAIT" \
		"$(in_s ss -Htan state close-wait "( sport = :8086 )" | wc -l)" 60
	check "closewait: client sockets in FIN_WAIT_2" \
		"$(in_c ss -Htan state fin-wait-2 "( dport = :8086 )" | wc -l)" 60
	stop_server cw
	check "closewait: connections the server holds" \
		"$(grep -c '^conn [0-9]* ok - .* close=held' "$TMP/srv-cw.log")" 60
	expect closewait "$TMP/cli-closewait.log" $S4 8086 closing - - FIN_WAIT_2 CLOSE_WAIT - -
	expect closewait "$TMP/cli-closewait-mon.log" $S4 8098 completed - - TIME_WAIT CLOSED - -
	alerts closewait close_wait_buildup "$S4:8086"
	check "closewait: server FINs on 8086" \
		"$(td closewait "src $S4 and src port 8086 and tcp[tcpflags] & tcp-fin != 0" | wc -l)" 0
	check "closewait: client FINs to 8086" \
		"$(td closewait "src $C4 and dst port 8086 and tcp[tcpflags] & tcp-fin != 0" | wc -l)" 60
	sleep 0.5	# the FINs of the stopped server, out of the next capture
fi

# timewait: 3000 short connections from one client address to one server
# port, about 1.5 ms apart; no data, the client closes first, so every one
# leaves a TIME_WAIT on the client (3000 ephemeral ports for 60 s).
TW_N=3000
if want timewait; then
	start_capture timewait
	PIN=(taskset -c 0)
	start_server tw $S4 8091 --count $TW_N --timeout 60
	client timewait $S4 8091 --count $TW_N --bytes 0 --interval 1 --timeout 60
	PIN=(env)
	finish_server tw
	wait_closed 8091
	stop_capture "$CAP_PID"
	check "timewait: client SYNs" "$(td timewait "src $C4 and tcp[tcpflags] == tcp-syn" | wc -l)" $TW_N
	check "timewait: distinct client ports" \
		"$(td timewait "src $C4 and tcp[tcpflags] == tcp-syn" | awk '{ print $3 }' | sort -u | wc -l)" $TW_N
	# A few server FINs go unanswered and are retransmitted: count the
	# connections, not the packets.
	check "timewait: connections with a client FIN" \
		"$(td timewait "src $C4 and tcp[tcpflags] & tcp-fin != 0" | awk '{ print $3 }' | sort -u | wc -l)" $TW_N
	check "timewait: connections with a server FIN" \
		"$(td timewait "src $S4 and tcp[tcpflags] & tcp-fin != 0" | awk '{ print $5 }' | sort -u | wc -l)" $TW_N
	check "timewait: RSTs" "$(td timewait 'tcp[tcpflags] & tcp-rst != 0' | wc -l)" 0
	check "timewait: client TIME_WAIT sockets" "$(in_c ss -Htan state time-wait "( dport = :8091 )" | wc -l)" $TW_N
	count timewait connections all $TW_N
	count timewait outcome completed $TW_N
	count timewait orig_state TIME_WAIT $TW_N
	count timewait resp_state CLOSED $TW_N
	count timewait wire syn $TW_N
	count timewait wire distinct_client_ports $TW_N
	alerts timewait time_wait_buildup "$C4"
fi

# The SYN floods.  hping3 (its Tcl mode, so that every source address is
# ours) sends FLOOD_N SYNs from FLOOD_N distinct spoofed sources in
# 10.213.128.0/17, 30 every 10 ms (about 3000/s), to a listening server.
# From 0.5 s in, three real clients connect, each once, 0.1 s apart; one
# more connects AFTER_MS after the flood (which also carries packet time
# that far).
FLOOD_N=3000
LEGIT_N=4
AFTER_MS=1000
flood_script() {	# PORT: the hping3 script for a flood on PORT
	cat <<EOF
# Tcl's rand() with a fixed seed: the same sources, ports and sequence
# numbers on every run.  Each source is drawn until it is a new one.
expr {srand(213)}
set n $FLOOD_N
for {set i 0} {\$i < \$n} {incr i} {
	while 1 {
		set idx [expr {1 + int(rand() * 32766)}]
		if {![info exists used(\$idx)]} break
	}
	set used(\$idx) 1
	set src "10.213.[expr {128 + (\$idx >> 8)}].[expr {\$idx & 255}]"
	set sport [expr {1024 + int(rand() * 64511)}]
	set seq [expr {int(rand() * 4294967296)}]
	hping send "ip(saddr=\$src,daddr=$S4,ttl=64,id=[expr {int(rand() * 65536)}])+tcp(sport=\$sport,dport=$1,flags=s,seq=\$seq,win=64240)"
	if {(\$i + 1) % 30 == 0} { after 10 }
}
puts "sent \$n"
EOF
}

# flood NAME PORT [tcpping serve options]: runs one flood and the real
# clients during it, captured in NAME.pcap.  FLOOD_END (ms) is when hping3
# finished.
FLOOD_END=0
flood() {
	local name=$1 port=$2 k pid t0
	local -a cpids=()
	shift 2
	start_capture "$name"
	# --count 0: it listens until stopped, so no SYN finds the port closed.
	start_server "$name" $S4 "$port" --count 0 "$@"
	flood_script "$port" >"$TMP/$name.htcl"
	echo "+ hping3 exec $name.htcl: $FLOOD_N SYNs to $S4:$port from spoofed 10.213.128.0/17"
	t0=$(now_ms)
	ip netns exec "$NC" timeout 30 hping3 exec "$TMP/$name.htcl" >"$TMP/hping-$name.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	for ((k = 1; k < LEGIT_N; k++)); do
		sleep_until $((t0 + 400 + 100 * k))
		ip netns exec "$NC" "$TCPPING" connect $S4 "$port" --count 1 --timeout 15 \
			>"$TMP/cli-$name-$k.log" 2>&1 &
		cpids+=($!)
		PIDS+=($!)
	done
	wait "$pid" || die "hping3 failed: $(cat "$TMP/hping-$name.log")"
	FLOOD_END=$(now_ms)
	grep -q "^sent $FLOOD_N" "$TMP/hping-$name.log" || die "hping3: $(cat "$TMP/hping-$name.log")"
	echo "  hping3: sent $FLOOD_N SYNs in $((FLOOD_END - t0)) ms"
	sleep_until $((FLOOD_END + AFTER_MS))
	ip netns exec "$NC" "$TCPPING" connect $S4 "$port" --count 1 --timeout 15 \
		>"$TMP/cli-$name-$LEGIT_N.log" 2>&1 &
	cpids+=($!)
	PIDS+=($!)
	for ((k = 1; k <= LEGIT_N; k++)); do
		wait "${cpids[$((k - 1))]}" || die "real client $k failed: $(cat "$TMP/cli-$name-$k.log")"
		summarize "  client $k: " "$TMP/cli-$name-$k.log"
		cat "$TMP/cli-$name-$k.log" >>"$TMP/cli-$name.log"
	done
}

# end_flood NAME: stops the capture and then the server, which must have
# served exactly the real clients.
end_flood() {
	stop_capture "$CAP_PID"
	stop_server "$1"
	check "$1: connections the server accepted and served" \
		"$(grep -c '^conn [0-9]* ok ' "$TMP/srv-$1.log")" $LEGIT_N
	check "$1: connections the server accepted" "$(grep -c '^conn ' "$TMP/srv-$1.log")" $LEGIT_N
}

# flood_counts NAME ANSWERED UNANSWERED: the rows every flood shares.
flood_counts() {
	local name=$1 answered=$2 unanswered=$3 legit_port
	count "$name" connections all $((FLOOD_N + LEGIT_N))
	[ "$answered" -eq 0 ] || count "$name" outcome half_open "$answered"
	[ "$unanswered" -eq 0 ] || count "$name" outcome timeout "$unanswered"
	count "$name" outcome completed $LEGIT_N
	# a spoofed SYN no one answered is a connect() that timed out:
	# CLOSED (there never was a socket behind it); one answered by a
	# SYN-ACK is half open, its "originator" SYN_SENT
	[ "$answered" -eq 0 ] || count "$name" orig_state SYN_SENT "$answered"
	[ "$unanswered" -eq 0 ] || count "$name" orig_state CLOSED "$unanswered"
	count "$name" orig_state TIME_WAIT $LEGIT_N
	[ "$answered" -eq 0 ] || count "$name" resp_state SYN_RECEIVED "$answered"
	count "$name" resp_state CLOSED $((unanswered + LEGIT_N))
	count "$name" wire syn "$(td "$name" 'tcp[tcpflags] == tcp-syn' | wc -l)"
	count "$name" wire syn_spoofed "$(td "$name" 'src net 10.213.128.0/17 and tcp[tcpflags] == tcp-syn' | wc -l)"
	count "$name" wire synack "$(td "$name" 'tcp[tcpflags] == (tcp-syn|tcp-ack)' | wc -l)"
	count "$name" wire distinct_sources "$(td "$name" 'tcp[tcpflags] == tcp-syn' | awk '{ sub(/\.[0-9]+$/, "", $3); print $3 }' | sort -u | wc -l)"
	for legit_port in $(ports "$TMP/cli-$name.log"); do
		check "$name: real client port $legit_port completes" \
			"$(td "$name" "host $C4 and port $legit_port and tcp[tcpflags] & tcp-fin != 0" | wc -l)" 2
	done
	check "$name: SYNs from spoofed sources" \
		"$(td "$name" 'src net 10.213.128.0/17 and tcp[tcpflags] == tcp-syn' | wc -l)" $FLOOD_N
	check "$name: packets from spoofed sources other than SYNs" \
		"$(td "$name" 'src net 10.213.128.0/17 and tcp[tcpflags] != tcp-syn' | wc -l)" 0
	check "$name: RSTs" "$(td "$name" 'tcp[tcpflags] & tcp-rst != 0' | wc -l)" 0
	alerts "$name" syn_flood "$S4:$port"
}

# synflood-cookies: tcp_syncookies=2, cookies always.  The server answers
# every SYN with a SYN-ACK carrying a cookie and keeps no state, so there
# is no SYN-ACK retransmission; the real clients complete at once.
if want synflood-cookies; then
	port=8088
	in_s sysctl -qw net.ipv4.tcp_syncookies=2
	AFTER_MS=1000
	flood synflood-cookies $port
	end_flood synflood-cookies
	in_s sysctl -qw net.ipv4.tcp_syncookies=1
	check "synflood-cookies: SYN-ACKs to spoofed sources" \
		"$(td synflood-cookies 'dst net 10.213.128.0/17 and tcp[tcpflags] == (tcp-syn|tcp-ack)' | wc -l)" $FLOOD_N
	flood_counts synflood-cookies $FLOOD_N 0
fi

# synflood-backlog: no cookies (tcp_syncookies=0), a listen backlog of 4
# and tcp_max_syn_backlog 8.  The first SYNs fill the SYN queue; from then
# on the server drops every SYN without a word, the real clients' too.  The
# queued requests get one SYN-ACK retransmission (tcp_synack_retries=1) and
# expire 3 s after they came; the flood is over by then, so the real
# clients' third SYN (at +3 s) is answered and they complete.  The last
# real client connects 4 s after the flood: in packet time too, every
# unanswered SYN is then older than 3 s, a timeout.
if want synflood-backlog; then
	port=8089
	old_msb=$(in_s sysctl -n net.ipv4.tcp_max_syn_backlog)
	in_s sysctl -qw net.ipv4.tcp_syncookies=0 net.ipv4.tcp_max_syn_backlog=8 \
		net.ipv4.tcp_synack_retries=1
	AFTER_MS=4000
	flood synflood-backlog $port --backlog 4
	end_flood synflood-backlog
	in_s sysctl -qw net.ipv4.tcp_syncookies=1 net.ipv4.tcp_max_syn_backlog="$old_msb" \
		net.ipv4.tcp_synack_retries=5
	answered=$(td synflood-backlog 'dst net 10.213.128.0/17 and tcp[tcpflags] == (tcp-syn|tcp-ack)' |
		awk '{ print $5 }' | sort -u | wc -l)
	[ "$answered" -gt 0 ] && [ "$answered" -le 16 ] ||
		die "synflood-backlog: $answered spoofed SYNs answered, want a few (the backlog)"
	flood_counts synflood-backlog "$answered" $((FLOOD_N - answered))
fi

# portscan: a SYN scan (hping3 --scan, each port probed by a raw SYN; the
# client's kernel resets the SYN-ACKs it never asked for, as with nmap
# -sS) of ports 8100-8299 of the server, where three ports listen
# (8101-8103), the router drops 8250-8299 (firewalled: silent), and the
# kernel refuses the rest with RST+ACK.  The ground truth is counted from
# the packets: the ports that got a SYN, a SYN-ACK, a RST.
SCAN_LO=8100
SCAN_HI=8299
if want portscan; then
	start_capture portscan
	declare -A scan_srv=()
	for p in 8101 8102 8103; do
		start_server "scan-$p" $S4 $p --count 0
		scan_srv[$p]=$SRV_PID
	done
	echo "+ hping3 -S --scan $SCAN_LO-$SCAN_HI $S4"
	in_c timeout 15 hping3 -S --scan "$SCAN_LO-$SCAN_HI" $S4 >"$TMP/hping-portscan.log" 2>&1 || true
	sleep 1
	stop_capture "$CAP_PID"
	for p in "${!scan_srv[@]}"; do
		SRV_PID=${scan_srv[$p]}
		stop_server "scan-$p"
	done
	scan_syns() { td portscan "src $C4 and dst $S4 and tcp[tcpflags] == tcp-syn"; }
	syns=$(scan_syns | wc -l)
	probed=$(scan_syns | awk '{ n = split($5, a, "."); sub(/:$/, "", a[n]); print a[n] }' | sort -u | wc -l)
	open=$(td portscan "src $S4 and tcp[tcpflags] == (tcp-syn|tcp-ack)" |
		awk '{ n = split($3, a, "."); print a[n] }' | sort -u | wc -l)
	refused=$(td portscan "src $S4 and tcp[tcpflags] & tcp-rst != 0" |
		awk '{ n = split($3, a, "."); print a[n] }' | sort -u | wc -l)
	check "portscan: ports probed" "$probed" $((SCAN_HI - SCAN_LO + 1))
	check "portscan: open ports" "$open" 3
	check "portscan: refused ports" "$refused" $((SCAN_HI - SCAN_LO + 1 - 3 - 50))
	count portscan wire syn "$syns"
	count portscan wire ports_probed "$probed"
	count portscan wire open "$open"
	count portscan wire refused "$refused"
	count portscan wire silent $((probed - open - refused))
	alerts portscan port_scan "$C4->$S4"
fi

# backscatter: what the owner of spoofed addresses sees of a SYN flood
# aimed at somebody else.  hping3 sends BS_N SYNs from BS_N distinct
# spoofed sources in 10.213.128.0/17 to port 8099 of the server, where
# nothing listens; the server answers each with a RST+ACK, which the
# router sends back over vc0 (the route to 10.213.128.0/17).  The capture
# keeps only what is not from the spoofed network (a network telescope's
# view: the SYNs never passed it), so it holds BS_N lone RSTs, each to an
# address and port it never saw anything else of.
BS_N=200
if want backscatter; then
	start_capture backscatter "not src net 10.213.128.0/17"
	FLOOD_N=$BS_N flood_script 8099 >"$TMP/backscatter.htcl"
	echo "+ hping3 exec backscatter.htcl: $BS_N SYNs to $S4:8099 from spoofed 10.213.128.0/17"
	in_c timeout 30 hping3 exec "$TMP/backscatter.htcl" >"$TMP/hping-backscatter.log" 2>&1 ||
		die "hping3 failed: $(cat "$TMP/hping-backscatter.log")"
	stop_capture "$CAP_PID"
	rsts=$(td backscatter "src $S4 and tcp[tcpflags] & tcp-rst != 0" | wc -l)
	check "backscatter: RST+ACKs from the server" \
		"$(td backscatter "src $S4 and tcp[tcpflags] == (tcp-rst|tcp-ack)" | wc -l)" $BS_N
	check "backscatter: packets other than the server's RSTs" \
		"$(td backscatter "not (src $S4 and tcp[tcpflags] & tcp-rst != 0)" | wc -l)" 0
	count backscatter wire rst "$rsts"
	count backscatter wire rst_ack "$(td backscatter "src $S4 and tcp[tcpflags] == (tcp-rst|tcp-ack)" | wc -l)"
	count backscatter wire rst_peers "$(td backscatter "src $S4 and tcp[tcpflags] & tcp-rst != 0" |
		awk '{ print $5 }' | sort -u | wc -l)"
	alerts backscatter rst_backscatter "$S4"
fi

# reuse-stall: as portreuse, but the new SYN is one Linux's TIME_WAIT must
# refuse.  Without timestamps (turned off in the client namespace) the
# server takes a SYN on its TIME_WAIT only when its sequence number is past
# the old connection's end (RFC 6191).  The ISN clock advances about
# 15.6 million per second (64 ns ticks, RFC 6528), so 2 MB of request in
# the first connection, with a new connection 20 ms later, puts the new ISN
# behind: the TIME_WAIT answers the SYN with its old ACK, the client
# (SYN-SENT, RFC 9293 3.10.7.3) answers that ACK with a bare RST whose
# sequence number is the ACK's acknowledgment, the RST ends the TIME_WAIT
# (tcp_rfc1337=0), and the client's SYN, sent again after its 1 s RTO,
# finds the listener: the connect took a second longer.
if want reuse-stall; then
	in_c sysctl -qw net.ipv4.tcp_timestamps=0
	start_capture reuse-stall
	start_server rs $S4 8099 --count 2 --close-first server
	client reuse-stall $S4 8099 --count 2 --close-first server --bind-port 30501 \
		--bytes 2000000 --interval 20
	finish_server rs
	stop_capture "$CAP_PID"
	in_c sysctl -qw net.ipv4.tcp_timestamps=1
	expect reuse-stall "$TMP/cli-reuse-stall.log:1" $S4 8099 completed - - CLOSED CLOSED - -
	expect reuse-stall "$TMP/cli-reuse-stall.log:2" $S4 8099 completed - - CLOSED TIME_WAIT - -
	alerts reuse-stall port_reuse "$C4:30501->$S4:8099"
	check "reuse-stall: bare ACK from the server between the two handshakes" \
		"$(td reuse-stall | awk '/Flags \[S\]/ { s++ } s == 2 && / > '"$C4"'\.30501: Flags \[\.\], ack / { n++ } END { print n + 0 }')" 1
	check "reuse-stall: bare RST from the client" \
		"$(td reuse-stall 'tcp[tcpflags] == tcp-rst' | wc -l)" 1
	check "reuse-stall: SYNs (the second one's retransmission included)" \
		"$(td reuse-stall 'tcp[tcpflags] == tcp-syn' | wc -l)" 3
fi

# stale: the server holds a connection its client forgot.  The client's
# first connection ends with an abort (SO_LINGER 0) whose RST an nft rule
# in the client namespace drops before it leaves: the server's socket
# stays ESTABLISHED.  The capture starts after that.  The client connects
# again from the same port: the server's established socket answers the
# SYN with a challenge ACK (RFC 5961 4.2), the client in SYN-SENT answers
# the ACK with a bare RST whose sequence number is its acknowledgment,
# which is exactly what the server expects next, so the RST ends the stale
# connection; the client's SYN, sent again after its 1 s RTO, reaches the
# listener and the connection completes.  The server sees its first
# connection reset, and says so.
if want stale; then
	in_c nft -f - <<'NFT'
table inet csstale {
	chain output {
		type filter hook output priority 0; policy accept;
		tcp dport 8098 tcp flags & rst == rst drop
	}
}
NFT
	start_server st $S4 8098 --count 2 --close-first client
	client stale-old $S4 8098 --count 1 --close-first client --bind-port 30502 --linger0
	in_c nft delete table inet csstale
	check "stale: the server still holds the first connection" \
		"$(in_s ss -Htn state established "( sport = :8098 )" | wc -l)" 1
	start_capture stale
	client stale $S4 8098 --count 1 --close-first client --bind-port 30502
	wait_gone "$SRV_PID" 50 || die "server 'st' did not finish"
	wait "$SRV_PID" 2>/dev/null || true
	summarize "  server: " "$TMP/srv-st.log"
	stop_capture "$CAP_PID"
	grep -q '^conn 1 reset ' "$TMP/srv-st.log" || die "stale: the server's first connection was not reset"
	expect stale "$TMP/cli-stale.log" $S4 8098 completed - - TIME_WAIT CLOSED - -
	alerts stale
	check "stale: SYNs (one retransmission)" \
		"$(td stale 'tcp[tcpflags] == tcp-syn' | awk '{ print $0 }' | wc -l)" 2
	check "stale: bare RST from the client" \
		"$(td stale 'tcp[tcpflags] == tcp-rst' | wc -l)" 1
fi

# ---- results ---------------------------------------------------------------------
mkdir -p "$EXPECTED"
for f in "${RECORDED[@]}"; do
	cp "$TMP/$f.pcap" "$OUT/$f.pcap"
	chmod 0644 "$OUT/$f.pcap"
	rm -f "$EXPECTED/$f.expected.tsv" "$EXPECTED/$f.expected-counts.tsv" "$EXPECTED/$f.expected-alerts.tsv"
	for e in expected expected-counts expected-alerts; do
		[ ! -e "$TMP/$f.$e.tsv" ] || cp "$TMP/$f.$e.tsv" "$EXPECTED/$f.$e.tsv"
	done
	printf '%-24s %6d packets %9d bytes\n' "$f.pcap" \
		"$(tcpdump -nn -r "$OUT/$f.pcap" 2>/dev/null | wc -l)" "$(stat -c %s "$OUT/$f.pcap")"
done
echo "record.sh: done in ${SECONDS} s"
