#!/usr/bin/env bash
# signals.sh — tcpdump's discipline: every signal on every kind of input.
#
#   CONNSCOPE=./connscope WORKLOAD=build/tests/workload BLAST=build/tests/blast \
#       bash tests/signals.sh
#
# Run by `make check`.  The matrix: SIGINT, SIGTERM, SIGHUP, SIGUSR1 and
# SIGINT twice, on each input kind:
#
#   file   -r FILE, a regular file (made by the workload generator)
#   pipe   -r - with standard input a pipe from a writer that pauses
#   fifo   -r FIFO, the same writer on a named pipe
#   live   -i on one end of a veth pair in a network namespace, the frames
#          sent from the other end by blast (root; skipped with a message
#          otherwise, failed under CI)
#
# Expected: a stop (INT, TERM, HUP) is exit 0 with every report whole (the
# JSON report parses, the conn.log ends with its #close line) saying it was
# cut short (summary.interrupted true, a line in the text report); SIGUSR1
# prints a line of figures on stderr and the run goes on to the input's
# end (interrupted false); a second SIGINT while stopping exits at once
# with 130, even with the outputs stuck.
#
# How the signal is made to land mid-run, without a timing guess: the
# conn.log goes to standard output, a FIFO whose reader (the "gate") reads
# nothing until the test opens it.  Connections are finished as they go
# (short --msl and --idle-timeout), so the run soon fills the pipe and waits
# for it: the signal is sent while the run cannot have ended, and a second
# one while it stops.  Before the next signal the test waits until the
# kernel has delivered the last (/proc/PID/status: nothing pending), since
# two signals of one kind pending at once are one.
#
# Then the edges of the inputs: a reader waiting on an idle pipe, a FIFO
# with no writer, a FIFO whose writer sends a short header and closes, a
# filter whose compilation is stopped, and a filter one file's link type
# cannot take among several files, and one past the compiler's bounds.
#
# Every wait is bounded; every process started here is stopped by its PID
# (tests/lib/procs.sh) and the namespace is removed on exit.
set -u
cd "$(dirname "$0")/.." || exit 1

CONNSCOPE=${CONNSCOPE:-./connscope}
WORKLOAD=${WORKLOAD:-build/tests/workload}
BLAST=${BLAST:-build/tests/blast}
for tool in "$CONNSCOPE" "$WORKLOAD" "$BLAST"; do
	[ -x "$tool" ] || { echo "signals.sh: $tool: not built"; exit 1; }
done
CONNSCOPE=$(realpath "$CONNSCOPE")
BLAST=$(realpath "$BLAST")

. tests/lib/cannot_run.sh	# cannot_run, need_root
. tests/lib/procs.sh		# stop, wait_gone, wait_capture, stop_all

TMP=$(mktemp -d /tmp/cs-signals.XXXXXX)
PIDS=()
NAMESPACES=()
trap 'stop_all; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
failures=0
cases=0

ok() { echo "ok - $*"; }
bad() {
	echo "not ok - $*"
	failures=$((failures + 1))
}

# Connections end as they go, so rows stream out while the input is read.
SHORT=(--msl 0.001 --idle-timeout 0.01)
WORK=$TMP/work.pcap
"$WORKLOAD" -q -n 60000 -s 1 -o "$WORK" || { echo "signals.sh: workload failed"; exit 1; }
HEAD_BYTES=3000000	# what a pausing writer sends first (of about 9.7 MB)

# ---- helpers ---------------------------------------------------------------------

# pending PID: 0 while a signal sent to PID is still pending.
pending() {
	local shd
	shd=$(awk '/^ShdPnd:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$shd" ] && [ -n "${shd//0/}" ]
}

# deliver PID SIG: sends SIG, then waits (5 s at most) for the kernel to
# hand it over; 1 if PID is gone or it stays pending.
deliver() {
	local i
	kill -"$2" "$1" 2>/dev/null || return 1
	for ((i = 0; i < 100; i++)); do
		pending "$1" || return 0
		sleep 0.05
	done
	return 1
}

# wait_for FILE PID TENTHS: 0 once FILE exists; 1 if PID ended first or
# it did not come in time.
wait_for() {
	local i
	for ((i = 0; i < $3; i++)); do
		[ -e "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# begun NAME PID: 0 once the run has begun (it creates its JSON report,
# under a temporary name until it is complete: outfile.h), within 10 s.
begun() {
	local i
	for ((i = 0; i < 100; i++)); do
		compgen -G "$TMP/.$1.json.*" >/dev/null && return 0
		[ -e "$TMP/$1.json" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# stuck PID: 0 once one of PID's threads sleeps writing to a full pipe (the
# gate's), within 10 s.  Before that, on a loaded machine, a stop could
# still write everything it has into the pipe's free space and finish its
# reports: the signal would not land where the case means it to.
stuck() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -qE '^(anon_|fifo_)?pipe_write$' /proc/"$1"/task/*/wchan 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# drained PID: 0 once one of PID's threads sleeps reading or polling its
# input, within 10 s.  Called after the writer has written everything: a
# reader sleeps there only on an empty pipe, so then every byte has been
# read (a signal sent earlier would rightly stop the run short of them).
drained() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -qE '^((anon_|fifo_)?pipe_read|poll_schedule_timeout.*)$' /proc/"$1"/task/*/wchan 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_line FILE REGEX TENTHS: 0 once FILE has a line matching REGEX.
wait_line() {
	local i
	for ((i = 0; i < $3; i++)); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# release FIFO: opens FIFO for writing, which lets its reader go on.
release() {
	timeout 10 bash -c 'echo >"$1"' _ "$1"
}

# gate NAME: NAME.out, a FIFO for connscope's standard output, copied to
# NAME.conn.log only once NAME.gate is released.
gate() {
	mkfifo "$TMP/$1.out" "$TMP/$1.gate"
	{ read -r _ <"$TMP/$1.gate"; cat; } <"$TMP/$1.out" >"$TMP/$1.conn.log" &
	PIDS+=($!)
	GATE_PID=$!
}

# feed FILE HOLD: the first HEAD_BYTES of FILE, then, once HOLD is
# released, the rest: a writer that pauses in the middle of a record.
feed() {
	head -c "$HEAD_BYTES" "$1"
	read -r _ <"$2"
	tail -c "+$((HEAD_BYTES + 1))" "$1"
}

# start KIND NAME: connscope on input KIND with its outputs under NAME,
# the conn.log through a gate; sets CS (its PID) and HOLD (the FIFO that
# lets a pipe's or a FIFO's writer send the rest; empty for the others).
start() {
	local kind=$1 n=$2 out=("--json" "$TMP/$2.json" "--report" "$TMP/$2.txt" "--conn-log" "-")
	HOLD=
	gate "$n"
	case $kind in
	file)
		"$CONNSCOPE" -r "$WORK" "${SHORT[@]}" "${out[@]}" \
			>"$TMP/$n.out" 2>"$TMP/$n.err" &
		CS=$!
		;;
	pipe)
		HOLD=$TMP/$n.hold
		mkfifo "$HOLD"
		{ echo "$BASHPID" >"$TMP/$n.feeder"; feed "$WORK" "$HOLD"; } |
			"$CONNSCOPE" -r - "${SHORT[@]}" "${out[@]}" \
				>"$TMP/$n.out" 2>"$TMP/$n.err" &
		CS=$!
		wait_for "$TMP/$n.feeder" "$CS" 50 && PIDS+=("$(cat "$TMP/$n.feeder")")
		;;
	fifo)
		HOLD=$TMP/$n.hold
		mkfifo "$HOLD" "$TMP/$n.in"
		feed "$WORK" "$HOLD" >"$TMP/$n.in" &
		PIDS+=($!)
		"$CONNSCOPE" -r "$TMP/$n.in" "${SHORT[@]}" "${out[@]}" \
			>"$TMP/$n.out" 2>"$TMP/$n.err" &
		CS=$!
		;;
	live)
		local before
		before=$(packet_sockets "$NS")
		ip netns exec "$NS" "$CONNSCOPE" -i "$RX" "${SHORT[@]}" "${out[@]}" \
			>"$TMP/$n.out" 2>"$TMP/$n.err" &
		CS=$!
		wait_capture "$NS" "$CS" "$before" || return 1
		timeout -k 5 60 ip netns exec "$NS" "$BLAST" -t 30 "$TX" "$WORK" \
			>"$TMP/$n.blast" 2>&1
		;;
	esac
	PIDS+=("$CS")
	begun "$n" "$CS"
}

# let_go: a pausing writer sends the rest (into a closed pipe, if
# connscope has gone: SIGPIPE ends it).  Once.
let_go() {
	[ -n "$HOLD" ] && release "$HOLD"
	HOLD=
}

# finished NAME TENTHS: connscope's exit status once it ended (in RC);
# 1 if it is still running after TENTHS.  A pipe's writer is let go first:
# bash's wait for the last process of a pipeline waits for the whole.
finished() {
	wait_gone "$CS" "$2" || return 1
	let_go
	wait "$CS"
	RC=$?
	return 0
}

# whole NAME INTERRUPTED: the reports of a run that ended: the JSON parses
# and says summary.interrupted INTERRUPTED, the conn.log has its #close
# line, the text report says whether it was cut short, stderr has no error.
whole() {
	local n=$1 why=""
	[ -z "$GATE_PID" ] || wait_gone "$GATE_PID" 100 || why+=" the gate's reader did not end;"
	jq -e ".summary.interrupted == $2" "$TMP/$n.json" >/dev/null 2>&1 ||
		why+=" JSON: $(jq -c '.summary.interrupted' "$TMP/$n.json" 2>&1 | head -c 200);"
	[ "$(tail -n 1 "$TMP/$n.conn.log" | cut -f 1)" = "#close" ] ||
		why+=" conn.log has no #close line;"
	if [ "$2" = true ]; then
		grep -Eq '^(Cut short|Stopped by a signal)' "$TMP/$n.txt" ||
			why+=" the text report does not say it was cut short;"
	elif grep -Eq '^(Cut short|Stopped by a signal)' "$TMP/$n.txt"; then
		why+=" the text report says it was cut short;"
	fi
	! grep -Eiv 'capturing on|packets read, .* analysed' "$TMP/$n.err" | grep -q . ||
		why+=" stderr: $(head -c 300 "$TMP/$n.err");"
	[ -z "$why" ] || { echo "$why"; return 1; }
}

# ---- the matrix ------------------------------------------------------------------

# stop_case KIND SIG: one stop signal mid-run, then the gate opens.
stop_case() {
	local n=$1-$2 why
	cases=$((cases + 1))
	start "$1" "$n" || { bad "$n: connscope did not begin: $(head -c 300 "$TMP/$n.err")"; return; }
	deliver "$CS" "$2" || { bad "$n: SIG$2 was not delivered"; return; }
	release "$TMP/$n.gate"
	finished "$n" 600 || { bad "$n: still running 60 s after SIG$2"; return; }
	[ "$RC" -eq 0 ] || { bad "$n: SIG$2 gave exit $RC, not 0: $(head -c 300 "$TMP/$n.err")"; return; }
	why=$(whole "$n" true) || { bad "$n: SIG$2:$why"; return; }
	ok "$n: SIG$2 stops the run: exit 0, every report whole, interrupted"
}

# stats_case KIND: SIGUSR1 mid-run; the run goes on to the end of its
# input (a live capture: until SIGINT).
stats_case() {
	local n=$1-USR1 why end=false
	cases=$((cases + 1))
	start "$1" "$n" || { bad "$n: connscope did not begin: $(head -c 300 "$TMP/$n.err")"; return; }
	deliver "$CS" USR1 || { bad "$n: SIGUSR1 was not delivered"; return; }
	release "$TMP/$n.gate"
	wait_line "$TMP/$n.err" '^connscope: [0-9]+ packets read, [0-9]+ analysed, [0-9]+ connections, [0-9]+ open' 300 ||
		{ bad "$n: no line of figures after SIGUSR1: $(head -c 300 "$TMP/$n.err")"; return; }
	# A file may be read to its end by now; a stream waits for its writer
	# and a live capture for a stop: those must still run.
	[ "$1" = file ] || kill -0 "$CS" 2>/dev/null || { bad "$n: SIGUSR1 ended the run"; return; }
	if [ "$1" = live ]; then
		grep -q 'dropped by the kernel' "$TMP/$n.err" ||
			{ bad "$n: the live figures have no drops: $(cat "$TMP/$n.err")"; return; }
		deliver "$CS" INT || { bad "$n: SIGINT was not delivered"; return; }
		end=true
	else
		let_go
	fi
	finished "$n" 600 || { bad "$n: still running 60 s after SIGUSR1"; return; }
	[ "$RC" -eq 0 ] || { bad "$n: exit $RC, not 0: $(head -c 300 "$TMP/$n.err")"; return; }
	why=$(whole "$n" "$end") || { bad "$n: after SIGUSR1:$why"; return; }
	ok "$n: SIGUSR1 prints the figures so far and the run goes on"
}

# twice_case KIND: SIGINT, then SIGINT again while the run stops and its
# output is stuck: exit 130 at once, the gate still closed.
twice_case() {
	local n=$1-INT2
	cases=$((cases + 1))
	start "$1" "$n" || { bad "$n: connscope did not begin: $(head -c 300 "$TMP/$n.err")"; return; }
	stuck "$CS" || { bad "$n: the conn.log never filled the gate's pipe within 10 s"; return; }
	deliver "$CS" INT || { bad "$n: the first SIGINT was not delivered"; return; }
	kill -0 "$CS" 2>/dev/null || { bad "$n: the first SIGINT ended the run with its output stuck"; return; }
	deliver "$CS" INT || { bad "$n: the second SIGINT was not delivered"; return; }
	finished "$n" 100 || { bad "$n: still running 10 s after the second SIGINT"; return; }
	release "$TMP/$n.gate"
	[ "$RC" -eq 130 ] || { bad "$n: the second SIGINT gave exit $RC, not 130"; return; }
	# The unfinished JSON report never takes the report's name, and its
	# temporary is gone; the conn.log, on standard output, got what was
	# written before.
	[ ! -e "$TMP/$n.json" ] || { bad "$n: an unfinished JSON report took its name"; return; }
	! compgen -G "$TMP/.$n.json.*" >/dev/null ||
		{ bad "$n: the JSON report's temporary was left: $(ls -a "$TMP" | grep "$n.json")"; return; }
	wait_gone "$GATE_PID" 100 && grep -q '^#fields' "$TMP/$n.conn.log" ||
		{ bad "$n: nothing of the conn.log was flushed"; return; }
	ok "$n: a second SIGINT exits at once with 130, no half report left in place"
}

matrix() {
	local sig
	for sig in INT TERM HUP; do
		stop_case "$1" "$sig"
	done
	stats_case "$1"
	twice_case "$1"
}

# ---- the edges of the inputs -------------------------------------------------------

# A pipe that has sent a capture and goes quiet: the first SIGINT ends the
# wait for more (no output is stuck here).
idle_pipe() {
	local n=idle
	cases=$((cases + 1))
	HOLD=$TMP/$n.hold
	mkfifo "$HOLD"
	{ echo "$BASHPID" >"$TMP/$n.feeder"; cat samples/mixed.pcap; : >"$TMP/$n.sent"
	  read -r _ <"$TMP/$n.hold"; } |
		"$CONNSCOPE" -r - -q --json "$TMP/$n.json" 2>"$TMP/$n.err" &
	CS=$!
	PIDS+=("$CS")
	wait_for "$TMP/$n.feeder" "$CS" 50 && PIDS+=("$(cat "$TMP/$n.feeder")")
	begun "$n" "$CS" || { bad "$n: did not begin"; return; }
	wait_for "$TMP/$n.sent" "$CS" 100 && drained "$CS" ||
		{ bad "$n: connscope did not read the whole pipe within 10 s"; return; }
	deliver "$CS" INT || { bad "$n: SIGINT was not delivered"; return; }
	finished "$n" 100 || { bad "$n: still waiting on the idle pipe 10 s after SIGINT"; return; }
	[ "$RC" -eq 0 ] && [ ! -s "$TMP/$n.err" ] &&
		jq -e '.summary.interrupted == true and .summary.packets == 92' "$TMP/$n.json" >/dev/null ||
		{ bad "$n: exit $RC, stderr '$(cat "$TMP/$n.err")', $(jq -c .summary "$TMP/$n.json" 2>&1 | head -c 200)"; return; }
	ok "$n: SIGINT ends the wait on an idle pipe: exit 0, all 92 packets, interrupted"
}

# A FIFO nobody writes to: connscope waits for its writer, and SIGINT ends
# the wait (nothing was read: no report).
fifo_no_writer() {
	local n=nowriter
	cases=$((cases + 1))
	HOLD=
	mkfifo "$TMP/$n.in"
	"$CONNSCOPE" -r "$TMP/$n.in" -q --json "$TMP/$n.json" 2>"$TMP/$n.err" &
	CS=$!
	PIDS+=("$CS")
	sleep 0.5	# not a condition: the test is that SIGINT ends the wait, whenever it comes
	deliver "$CS" INT || { bad "$n: SIGINT was not delivered"; return; }
	finished "$n" 100 || { bad "$n: still waiting for a writer 10 s after SIGINT"; return; }
	[ "$RC" -eq 0 ] && [ ! -s "$TMP/$n.err" ] && [ ! -e "$TMP/$n.json" ] ||
		{ bad "$n: exit $RC, stderr '$(cat "$TMP/$n.err")'"; return; }
	ok "$n: SIGINT ends the wait for a FIFO's writer: exit 0, no report"
}

# A FIFO whose writer sends 3 bytes and closes: an error at once; the FIFO
# is never opened again (that open would wait for another writer forever).
fifo_short_header() {
	local n=short
	cases=$((cases + 1))
	HOLD=
	mkfifo "$TMP/$n.in"
	printf 'abc' >"$TMP/$n.in" &
	PIDS+=($!)
	"$CONNSCOPE" -r "$TMP/$n.in" -q 2>"$TMP/$n.err" &
	CS=$!
	PIDS+=("$CS")
	finished "$n" 100 || { bad "$n: still running 10 s after its writer closed"; return; }
	[ "$RC" -eq 2 ] && grep -q "only 3 bytes, too short" "$TMP/$n.err" ||
		{ bad "$n: exit $RC, stderr '$(cat "$TMP/$n.err")'"; return; }
	ok "$n: a FIFO with a 3-byte header: exit 2 at once, the reason named"
}

# A filter libpcap's optimizer takes minutes on (600 terms): SIGINT while
# it compiles (in a child process) ends the run at once, and the child too.
filter_stopped() {
	local n=bigfilter f i kids
	cases=$((cases + 1))
	HOLD=
	f="port 1"
	for ((i = 2; i <= 600; i++)); do f+=" or port $i"; done
	"$CONNSCOPE" -r samples/mixed.pcap -q -f "$f" 2>"$TMP/$n.err" &
	CS=$!
	PIDS+=("$CS")
	for ((i = 0; i < 100; i++)); do
		kids=$(pgrep -P "$CS")
		[ -n "$kids" ] && break
		sleep 0.1
	done
	[ -n "$kids" ] || { bad "$n: no compiling child appeared"; return; }
	deliver "$CS" INT || { bad "$n: SIGINT was not delivered"; return; }
	finished "$n" 100 || { bad "$n: still compiling 10 s after SIGINT"; return; }
	for i in $kids; do
		wait_gone "$i" 50 || { bad "$n: the compiling child $i outlived connscope"; kill -KILL "$i"; return; }
	done
	[ "$RC" -eq 0 ] && [ ! -s "$TMP/$n.err" ] ||
		{ bad "$n: exit $RC, stderr '$(cat "$TMP/$n.err")'"; return; }
	ok "$n: SIGINT during a filter's compilation: exit 0 at once, no child left"
}

# A filter far past the bounds (1,500 terms: gigabytes and hours to
# optimize): a usage error that says so, within the bounds (20 s of CPU
# time, 512 MiB), not after hours.
filter_bounded() {
	local n=hugefilter f i
	cases=$((cases + 1))
	HOLD=
	f="port 1"
	for ((i = 2; i <= 1500; i++)); do f+=" or port $i"; done
	"$CONNSCOPE" -r samples/mixed.pcap -q -f "$f" 2>"$TMP/$n.err" &
	CS=$!
	PIDS+=("$CS")
	finished "$n" 900 || { bad "$n: still compiling after 90 s"; return; }
	[ "$RC" -eq 1 ] && grep -q "is too complex: libpcap's compiler needed more than" "$TMP/$n.err" ||
		{ bad "$n: exit $RC, stderr '$(cat "$TMP/$n.err")'"; return; }
	ok "$n: a filter past the compiler's bounds: exit 1, said too complex"
}

# -f with several files, one of a link type the filter cannot take: that
# file is reported and skipped (exit 2), the others read.
filter_linktype() {
	local n=linktype raw=tests/corpus/malformed/LINKTYPE_RAW_ipv4.pcap want
	local f='ether host 00:11:22:33:44:55 or tcp'
	cases=$((cases + 1))
	"$CONNSCOPE" -r samples/mixed.pcap -r "$raw" -r samples/normal.pcap \
		-f "$f" -q --json "$TMP/$n.json" 2>"$TMP/$n.err"
	RC=$?
	want=$(("$("$CONNSCOPE" -r samples/mixed.pcap -f "$f" -q --json - | jq .summary.packets)" + \
		"$("$CONNSCOPE" -r samples/normal.pcap -f "$f" -q --json - | jq .summary.packets)"))
	[ "$RC" -eq 2 ] && grep -q "to '$raw': libpcap cannot compile it for link type RAW .*; the file is skipped" "$TMP/$n.err" &&
		[ "$(jq .summary.packets "$TMP/$n.json")" = "$want" ] ||
		{ bad "$n: exit $RC, stderr '$(cat "$TMP/$n.err")', $(jq -c .summary.packets "$TMP/$n.json" 2>&1)"; return; }
	ok "$n: a file whose link type cannot take the filter is skipped (exit 2), the next read"
}

# ---- live --------------------------------------------------------------------------

live_setup() {
	NS=css-$$
	TX=cst$$
	RX=csr$$
	ip netns add "$NS" || { bad "live: cannot create namespace $NS"; return 1; }
	NAMESPACES+=("$NS")
	{
		ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 &&
			ip -n "$NS" link add "$TX" type veth peer name "$RX" &&
			ip -n "$NS" link set "$TX" up && ip -n "$NS" link set "$RX" up
	} >"$TMP/live-setup.log" 2>&1 || { bad "live: veth: $(cat "$TMP/live-setup.log")"; return 1; }
}

# live_own_end NAME OPTION...: a live capture ended by -c or --duration
# was not cut short.
live_own_end() {
	local n=$1 why=
	shift
	cases=$((cases + 1))
	HOLD=
	ip netns exec "$NS" "$CONNSCOPE" -i "$RX" "$@" --json "$TMP/$n.json" \
		--report "$TMP/$n.txt" --conn-log "$TMP/$n.conn.log" 2>"$TMP/$n.err" &
	CS=$!
	PIDS+=("$CS")
	wait_capture "$NS" "$CS" "$(packet_sockets "$NS")" >/dev/null
	timeout -k 5 60 ip netns exec "$NS" "$BLAST" -n 5000 -t 30 "$TX" "$WORK" >/dev/null 2>&1
	finished "$n" 300 || { bad "$n: still running 30 s on"; return; }
	GATE_PID=
	[ "$RC" -eq 0 ] && why=$(whole "$n" false) ||
		{ bad "$n: exit $RC:$why $(head -c 300 "$TMP/$n.err")"; return; }
	ok "$n: a live capture that ends by $* is not interrupted"
}

# ---- run ---------------------------------------------------------------------------

for kind in file pipe fifo; do
	matrix "$kind"
done
idle_pipe
fifo_no_writer
fifo_short_header
filter_stopped
filter_bounded
filter_linktype

if [ "$(id -u)" -ne 0 ]; then
	echo "signals.sh: $cases cases, $failures failed"
	[ "$failures" -eq 0 ] || exit 1
	need_root signals "for the live capture cases (network namespaces)"
fi
if live_setup; then
	matrix live
	live_own_end live-count -c 100
	live_own_end live-duration --duration 1
fi

echo "signals.sh: $cases cases, $failures failed"
[ "$failures" -eq 0 ]
