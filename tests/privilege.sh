#!/usr/bin/env bash
# privilege.sh — what connscope gives up, and where it listens.
#
# Run by `make check` with CONNSCOPE and TCPPING (tests/tools/tcpping.c).
#
#   a  -r FILE -Z nobody --web: once the file is open, every thread's real,
#      effective, saved and file-system uid and gid are nobody's, the only
#      group is nobody's, no capability is left (/proc/PID/task/*/status);
#      the unprivileged process still serves the analysis and writes a
#      report owned by nobody
#   b  -i IFACE -Z nobody --web: the same for a live capture, then traffic:
#      the capture goes on after the drop (the API and the report count it)
#   c  --web on 0.0.0.0, [::], a non-loopback address or an IPv4-mapped
#      one without --web-token: refused, status 1, a message that says
#      what to give; with --web-insecure (or a token) it serves, reachable
#      from the other namespace
#
# Every listener runs inside this script's own network namespaces
# (dm-srv-PID, dm-cli-PID joined by the veth pair dm0/dm1), never in the
# host's.  Needs root (namespaces, -Z); without it only the refusals that
# bind nothing are checked.  Every wait is bounded; every process started
# here is stopped by PID, and the namespaces are removed on exit.
set -u
cd "$(dirname "$0")/.."

CONNSCOPE=$(realpath -e "${CONNSCOPE:-./connscope}" 2>/dev/null || echo "${CONNSCOPE:-./connscope}")
TCPPING=$(realpath -e "${TCPPING:-build/tests/tcpping}" 2>/dev/null || echo "${TCPPING:-build/tests/tcpping}")
SAMPLE=$PWD/samples/mixed.pcap
SAMPLE_PACKETS=92

NSS=dm-srv-$$
NSC=dm-cli-$$
SRV_ADDR=10.213.77.1
CLI_ADDR=10.213.77.2
PORT=7070				# tcpping's, inside the namespaces
WEB_PORT=$((49152 + $$ % 16000))	# ephemeral range, inside the namespaces
SYN_ONLY='tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn'
TMP=
ZDIR=
PIDS=()
NAMESPACES=()
PASS=0
FAIL=0

# wait_gone, stop, stop_all
. "$(dirname "$0")/lib/procs.sh"

ok() { echo "ok - $*"; PASS=$((PASS + 1)); }
not_ok() { echo "not ok - $*"; FAIL=$((FAIL + 1)); }

cleanup() {
	stop_all
	[ -n "$ZDIR" ] && rm -rf "$ZDIR"
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TMP=$(mktemp -d /tmp/cs-priv.XXXXXX) || { echo "not ok - mktemp"; exit 1; }

# ---- c, the part that binds nothing: refused before anything is opened ----------------
# refused NAME ADDR: connscope -r SAMPLE --web ADDR must exit 1 with a
# message naming the address and the way out, and write nothing.
refused() {
	local name=$1 addr=$2 want=$3
	"$CONNSCOPE" -r "$SAMPLE" --web "$addr" --json "$TMP/$name.json" \
		>"$TMP/$name.out" 2>"$TMP/$name.err"
	local rc=$?
	if [ "$rc" = 1 ] && grep -qE -- "$want" "$TMP/$name.err" &&
	   [ ! -e "$TMP/$name.json" ] && [ ! -s "$TMP/$name.out" ]; then
		ok "c: --web $addr without a token: refused, status 1 ($(head -n 1 "$TMP/$name.err" | cut -c 1-120))"
	else
		not_ok "c: --web $addr without a token: status $rc (want 1), stderr: $(head -c 300 "$TMP/$name.err")"
	fi
}
token_hint='would show the traffic to anyone who can reach it: give --web-token-file FILE \(or --web-token TOKEN\), or --web-insecure'
refused any4 "0.0.0.0:$WEB_PORT" "--web on 0\.0\.0\.0 $token_hint"
refused any6 "[::]:$WEB_PORT" "--web on :: $token_hint"
refused nonloop "$CLI_ADDR:$WEB_PORT" "--web on $CLI_ADDR $token_hint"
refused nonloop6 "[2001:db8::1]:$WEB_PORT" "--web on 2001:db8::1 $token_hint"
refused mapped "[::ffff:127.0.0.1]:$WEB_PORT" "IPv4-mapped address cannot be served; give the IPv4 address itself \(127\.0\.0\.1:$WEB_PORT\)"

if [ "$(id -u)" -ne 0 ]; then
	echo "privilege: $PASS passed, $FAIL failed before the parts that need root"
	[ "$FAIL" -eq 0 ] || exit 1
	. "$(dirname "$0")/lib/cannot_run.sh"
	cannot_run privilege "needs root for namespaces and -Z (cases a, b and the served part of c)"
fi

setup_fail() {
	not_ok "setup: $*"
	echo "privilege: $PASS passed, $FAIL failed"
	exit 1
}
for tool in jq timeout; do
	command -v "$tool" >/dev/null || setup_fail "'$tool' not found (make deps)"
done
[ -x "$CONNSCOPE" ] || setup_fail "connscope binary '$CONNSCOPE' not found (run make)"
[ -x "$TCPPING" ] || setup_fail "tcpping '$TCPPING' not found (make build/tests/tcpping)"
id nobody >/dev/null 2>&1 || setup_fail "no user 'nobody' on this system"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)

ip netns add "$NSS" || setup_fail "ip netns add $NSS"
NAMESPACES+=("$NSS")
ip netns add "$NSC" || setup_fail "ip netns add $NSC"
NAMESPACES+=("$NSC")
{
	for n in "$NSS" "$NSC"; do
		ip -n "$n" link set lo up
	done
	ip link add dm0 netns "$NSS" type veth peer name dm1 netns "$NSC"
	ip -n "$NSS" addr add "$SRV_ADDR/24" dev dm0
	ip -n "$NSC" addr add "$CLI_ADDR/24" dev dm1
	ip -n "$NSS" link set dm0 up
	ip -n "$NSC" link set dm1 up
} >"$TMP/setup.log" 2>&1 || setup_fail "namespaces: $(tr '\n' ' ' <"$TMP/setup.log")"

ip netns exec "$NSS" "$TCPPING" serve "$SRV_ADDR" "$PORT" --count 0 \
	--timeout 120 >"$TMP/server.log" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < 50; i++)); do
	grep -q '^listening' "$TMP/server.log" 2>/dev/null && break
	sleep 0.1
done
grep -q '^listening' "$TMP/server.log" || setup_fail "tcpping server: $(cat "$TMP/server.log")"

# The reports are written after the drop: a directory nobody may write to.
ZDIR=$(mktemp -d /tmp/cs-priv-z.XXXXXX)
chmod 1777 "$ZDIR"

# ---- helpers ----------------------------------------------------------------------------
# start NAME NS ARGS...: connscope ARGS in namespace NS, PID in CS_PID;
# waits (at most 10 s) for its "dashboard at" line and then for WAIT_FOR.
CS_PID=
WAIT_FOR=
start() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$CONNSCOPE" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	CS_PID=$!
	PIDS+=("$CS_PID")
	for ((i = 0; i < 100; i++)); do
		grep -q "${WAIT_FOR:-dashboard at}" "$TMP/$name.err" 2>/dev/null && return 0
		kill -0 "$CS_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# finish NAME: SIGINT, then the exit status in CS_RC (or "hung").
finish() {
	kill -INT "$CS_PID" 2>/dev/null
	if wait_gone "$CS_PID" 50; then
		wait "$CS_PID"
		CS_RC=$?
	else
		stop "$CS_PID"
		CS_RC=hung
	fi
}

# http NS HOST PORT PATH: a response body (bash's /dev/tcp), in namespace NS;
# the Host header names the address, as a browser's would.
http() {
	local name=$2
	case $name in *:*) name="[$name]" ;; esac
	ip netns exec "$1" timeout 5 bash -c '
		exec 3<>"/dev/tcp/$1/$2" || exit 1
		printf "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n" "$3" "$4" "$2" >&3
		sed "1,/^\r$/d" <&3' _ "$2" "$3" "$4" "$name" 2>/dev/null
}

# ids_of PID: what every thread of PID runs as, one "task: ..." line each,
# empty when all are nobody's: Uid and Gid (real, effective, saved, fs),
# Groups, and the permitted and effective capability sets.
ids_of() {
	local t
	for t in /proc/"$1"/task/*; do
		awk -v u="$NOBODY_UID" -v g="$NOBODY_GID" -v task="${t##*/}" '
			/^Uid:/ { if ($2 != u || $3 != u || $4 != u || $5 != u) bad = bad " " $0 }
			/^Gid:/ { if ($2 != g || $3 != g || $4 != g || $5 != g) bad = bad " " $0 }
			/^Groups:/ { for (i = 2; i <= NF; i++) if ($i != g) { bad = bad " " $0; break } }
			/^Cap(Prm|Eff):/ { if ($2 !~ /^0+$/) bad = bad " " $0 }
			END { if (bad != "") print "task " task ":" bad }' "$t/status"
	done
}
# threads PID: how many
threads() {
	ls /proc/"$1"/task | wc -l
}

# ---- a: a file, -Z nobody, the dashboard -------------------------------------------------
# After the analysis the process lives on to serve it: long enough to look.
WAIT_FOR='serving the dashboard'
if start a "$NSC" -Z nobody -r "$SAMPLE" --web "127.0.0.1:$WEB_PORT" -q --json "$ZDIR/a.json"; then
	wrong=$(ids_of "$CS_PID")
	n=$(threads "$CS_PID")
	if [ -z "$wrong" ] && [ "$n" -gt 1 ]; then
		ok "a: -r -Z nobody: all $n threads run as uid $NOBODY_UID / gid $NOBODY_GID (real, effective, saved, fs), groups $NOBODY_GID only, no capabilities"
	else
		not_ok "a: -r -Z nobody: $n threads; not nobody's: $wrong"
	fi
	packets=$(http "$NSC" 127.0.0.1 "$WEB_PORT" /api/summary | jq -r .summary.packets 2>/dev/null)
	[ "$packets" = "$SAMPLE_PACKETS" ] && ok "a: the unprivileged process serves the analysis: /api/summary has $packets packets" ||
		not_ok "a: /api/summary packets '$packets', want $SAMPLE_PACKETS"
else
	not_ok "a: connscope -Z nobody -r --web did not get to serving: $(head -c 300 "$TMP/a.err")"
fi
WAIT_FOR=
finish a
owner=$(stat -c %U "$ZDIR/a.json" 2>/dev/null)
got=$(jq -r .summary.packets "$ZDIR/a.json" 2>/dev/null)
if [ "$CS_RC" = 0 ] && [ "$owner" = nobody ] && [ "$got" = "$SAMPLE_PACKETS" ]; then
	ok "a: SIGINT: exit 0, the JSON report is nobody's and has the $got packets"
else
	not_ok "a: exit $CS_RC, report owner '$owner' (want nobody), packets '$got' (want $SAMPLE_PACKETS)"
fi

# ---- b: a live capture, -Z nobody --------------------------------------------------------
# "capturing on" is printed once the device is open and root is given up.
WAIT_FOR='capturing on'
if start b "$NSC" -Z nobody -i dm1 -f "$SYN_ONLY" --web "127.0.0.1:$WEB_PORT" -q --json "$ZDIR/b.json"; then
	WAIT_FOR=
	wrong=$(ids_of "$CS_PID")
	n=$(threads "$CS_PID")
	if [ -z "$wrong" ] && [ "$n" -gt 1 ]; then
		ok "b: -i dm1 -Z nobody: all $n threads run as nobody (uid, gid, groups as in a), no capabilities, once the capture is open"
	else
		not_ok "b: -i -Z nobody: $n threads; not nobody's: $wrong"
	fi
	ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$PORT" --count 3 \
		--timeout 20 >>"$TMP/traffic.log" 2>&1 || not_ok "b: tcpping traffic failed: $(tail -n 2 "$TMP/traffic.log")"
	# snapshots are published twice a second
	packets=
	for ((i = 0; i < 30; i++)); do
		packets=$(http "$NSC" 127.0.0.1 "$WEB_PORT" /api/summary | jq -r .summary.packets 2>/dev/null)
		[ "$packets" = 3 ] && break
		sleep 0.2
	done
	[ "$packets" = 3 ] && ok "b: the capture goes on after the drop: the 3 SYNs sent afterwards are in /api/summary" ||
		not_ok "b: /api/summary packets '$packets' after 3 SYNs, want 3"
	finish b
	owner=$(stat -c %U "$ZDIR/b.json" 2>/dev/null)
	got=$(jq -r .summary.packets "$ZDIR/b.json" 2>/dev/null)
	if [ "$CS_RC" = 0 ] && [ "$owner" = nobody ] && [ "$got" = 3 ]; then
		ok "b: SIGINT: exit 0, the JSON report is nobody's and has the 3 SYNs"
	else
		not_ok "b: exit $CS_RC, report owner '$owner' (want nobody), packets '$got' (want 3)"
	fi
else
	WAIT_FOR=
	finish b
	not_ok "b: connscope -Z nobody -i dm1 did not start: $(head -c 300 "$TMP/b.err")"
fi

# ---- c: --web-insecure, and a token, do serve on every address -----------------------------
# serves NAME HOST ARGS...: started in the client namespace, /healthz
# answers at HOST from the server namespace (another host, as it were).
serves() {
	local name=$1 host=$2 body
	shift 2
	if start "$name" "$NSC" -r "$SAMPLE" -q "$@"; then
		body=$(http "$NSS" "$host" "$WEB_PORT" /healthz)
		if [ "$body" = ok ]; then
			ok "c: $* serves: /healthz answers at $host from the other namespace"
		else
			not_ok "c: $*: no answer at $host:$WEB_PORT from the other namespace"
		fi
	else
		not_ok "c: $* did not start serving: $(head -c 300 "$TMP/$name.err")"
	fi
	finish "$name"
}
ip -n "$NSS" addr add fd00:77::1/64 dev dm0 nodad 2>/dev/null
ip -n "$NSC" addr add fd00:77::2/64 dev dm1 nodad 2>/dev/null
serves ins4 "$CLI_ADDR" --web "0.0.0.0:$WEB_PORT" --web-insecure
serves ins6 fd00:77::2 --web "[::]:$WEB_PORT" --web-insecure
serves insaddr "$CLI_ADDR" --web "$CLI_ADDR:$WEB_PORT" --web-insecure
serves token4 "$CLI_ADDR" --web "0.0.0.0:$WEB_PORT" --web-token "privilege-test-token-$$"

echo "privilege: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
