#!/usr/bin/env bash
# live.sh — how many packets per second connscope -i keeps up with.
#
#   make bench-live                      the default rates
#   make bench-live RATES="200000 max" LIVE_PACKETS=300000
#   make bench-live LIVE_SENDER=tcpreplay
#   make bench-live BENCH_RECORD=1       also append "Live capture" to RESULTS.md
#
# SMALL (`workload -n 1000000 -s 1`, tests/tools/workload.c, the input of
# make bench) is replayed across a veth pair between two network
# namespaces, at each rate in turn:
#
#   ns A: blast -r RATE bla<PID> ── bla │ blb ── connscope -i blb<PID>  ns B
#
# The sender is tests/tools/blast (sendmmsg batches on a packet socket,
# LIVE_THREADS threads) when it is built, else tcpreplay (one frame per
# system call: about 400k frames/s on 2 cores, short of the 500k target).
# On a veth the receiving kernel's work, including the copy into
# connscope's ring, runs on the sender's CPU: sender and connscope compete
# for the machine's CPUs, and the report says so.  LIVE_PIN=split puts the
# sender on CPU 0 and connscope on CPU 1 (taskset) to separate them.
#
# Nothing else uses the link: no addresses, IPv6 off, so the only frames on
# it are the replay's.  Their MAC addresses are the generator's, not the
# veth's: ns B's kernel drops them as "other host", but connscope's socket
# (promiscuous, the default) sees them first.
#
# Per rate: packets the sender sent and the rate it achieved, what connscope
# counted (summary.packets), what the kernel dropped because connscope's ring
# was full (summary.capture_drops, from pcap_stats), and what was lost before
# any socket saw it (the softnet backlog drops of /proc/net/softnet_stat,
# counted machine-wide).  The first rate that dropped anything is then
# repeated with a larger ring (-B 64, -B 256) to show whether size helps.
#
# Figures, not assertions: drops never fail the run; a tool failing does.
# Needs root (skipped with a message otherwise), and tcpreplay only when it
# is the sender.
#
# Knobs (environment; the Makefile passes CONNSCOPE, BLAST and BENCH_BUILD):
#   LIVE_SENDER     blast or tcpreplay (blast when $BLAST is executable)
#   RATES           packets/s to ask for, "max" (or "topspeed") for the
#                   sender's fastest ("300000 500000 700000 1000000 max";
#                   with tcpreplay "100000 200000 300000 500000 700000 max")
#   LIVE_THREADS    blast's sending threads (2)
#   LIVE_BATCH      blast's frames per sendmmsg() call (256)
#   LIVE_PIN        none, or split: sender on CPU 0, connscope on CPU 1 (none)
#   LIVE_NICE       a nice value such as -10: sender and connscope each run
#                   in a session of their own (an autogroup, which is what
#                   the scheduler shares CPU between) at that nice, so that
#                   niced jobs of other sessions take less of their CPU (off)
#   LIVE_INPUT      small or large: which bench input to replay (small)
#   LIVE_PACKETS    packets replayed per rate: the first N of the file (1000000)
#   LIVE_RING       ring size in MiB for every rate (connscope's -B default)
#   LIVE_RINGS      ring sizes in MiB for the repeat ("64 256")
#   BENCH_RECORD    1: also append the table to tests/bench/RESULTS.md
#   BENCH_NOTE      a sentence on the circumstances, for the report
#   BENCH_DIR       where small.pcap and large.pcap live (/tmp/connscope-bench)
set -u
cd "$(dirname "$0")/../.." || exit 1

CONNSCOPE=${CONNSCOPE:-./connscope}
BLAST=${BLAST:-build/tests/blast}
TOOLS=$(realpath -m "${BENCH_BUILD:-build/bench}")
BENCH_DIR=${BENCH_DIR:-/tmp/connscope-bench}
if [ -z "${LIVE_SENDER:-}" ]; then
	if [ -x "$BLAST" ]; then LIVE_SENDER=blast; else LIVE_SENDER=tcpreplay; fi
fi
if [ "$LIVE_SENDER" = blast ]; then
	RATES=${RATES:-300000 500000 700000 1000000 max}
else
	RATES=${RATES:-100000 200000 300000 500000 700000 max}
fi
LIVE_THREADS=${LIVE_THREADS:-2}
LIVE_BATCH=${LIVE_BATCH:-256}
LIVE_PIN=${LIVE_PIN:-none}
LIVE_NICE=${LIVE_NICE:-}
LIVE_INPUT=${LIVE_INPUT:-small}
LIVE_PACKETS=${LIVE_PACKETS:-1000000}
LIVE_RINGS=${LIVE_RINGS:-64 256}
RECORD=${BENCH_RECORD:-0}
NOTE=${BENCH_NOTE:-}
INPUT=$BENCH_DIR/$LIVE_INPUT.pcap
RESULTS=$TOOLS/live-results.md
RECORDED=tests/bench/RESULTS.md
DEFAULT_RING= # connscope's -B default, MiB, from its usage text
LIVE_RING=${LIVE_RING:-}

NSA=csb-tx-$$
NSB=csb-rx-$$
# The PID in every name keeps two runs (or tests/live.sh) from colliding.
IFA=bla$$
IFB=blb$$
NAMESPACES=()
PIDS=()
TMP=
ROWS=()          # the table's rows, in the order measured
failing=         # the first rate that dropped at LIVE_RING, if any
declare -A DROPS # "RATE" -> capture drops at LIVE_RING

say() { echo "bench-live: $*" >&2; }
fail() { say "$*"; say "failed"; exit 1; }

# ---- processes and cleanup ----------------------------------------------------

# wait_gone, stop, stop_all
. tests/lib/procs.sh

cleanup() {
	stop_all
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- setup ---------------------------------------------------------------------

check_prerequisites() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench-live: SKIPPED (needs root to create network namespaces)"
		exit 0
	fi
	local tool tools="ip jq timeout"
	case $LIVE_SENDER in
	blast) ;;
	tcpreplay) tools+=" tcpreplay" ;;
	*) fail "LIVE_SENDER must be blast or tcpreplay, not '$LIVE_SENDER'" ;;
	esac
	[ "$LIVE_PIN" = none ] || tools+=" taskset"
	[ -z "$LIVE_NICE" ] || tools+=" setsid"
	for tool in $tools; do
		command -v "$tool" >/dev/null ||
			fail "'$tool' not found (make deps installs it; tcpreplay is Debian's 'tcpreplay')"
	done
	case $CONNSCOPE in /*) ;; *) CONNSCOPE=$PWD/$CONNSCOPE ;; esac # ip netns exec has its own cwd lookups
	[ -x "$CONNSCOPE" ] || fail "'$CONNSCOPE' is not an executable (run make first)"
	if [ "$LIVE_SENDER" = blast ]; then
		case $BLAST in /*) ;; *) BLAST=$PWD/$BLAST ;; esac
		[ -x "$BLAST" ] || fail "'$BLAST' is not an executable (make build/tests/blast)"
	fi
	[[ $LIVE_PACKETS =~ ^[1-9][0-9]*$ ]] || fail "LIVE_PACKETS must be a positive number, not '$LIVE_PACKETS'"
	[[ $LIVE_THREADS =~ ^([1-9]|1[0-6])$ ]] || fail "LIVE_THREADS must be 1 to 16, not '$LIVE_THREADS'"
	[[ $LIVE_BATCH =~ ^[1-9][0-9]*$ ]] && [ "$LIVE_BATCH" -le 1024 ] ||
		fail "LIVE_BATCH must be 1 to 1024, not '$LIVE_BATCH'"
	[[ $LIVE_PIN =~ ^(none|split)$ ]] || fail "LIVE_PIN must be none or split, not '$LIVE_PIN'"
	[ "$LIVE_PIN" = none ] || [ "$(nproc)" -ge 2 ] || fail "LIVE_PIN=split needs 2 CPUs"
	[ -z "$LIVE_NICE" ] || [ -w /proc/self/autogroup ] ||
		fail "LIVE_NICE needs /proc/self/autogroup (a kernel with CONFIG_SCHED_AUTOGROUP)"
	[[ -z $LIVE_NICE || $LIVE_NICE =~ ^-?[0-9]+$ ]] || fail "LIVE_NICE must be a nice value, not '$LIVE_NICE'"
	[[ $LIVE_INPUT =~ ^(small|large)$ ]] || fail "LIVE_INPUT must be small or large, not '$LIVE_INPUT'"
	local r
	for r in $RATES; do
		[[ $r =~ ^([1-9][0-9]*|max|topspeed)$ ]] || fail "RATES: '$r' is neither packets/s nor max"
	done
	# The default as connscope states it, so that the table marks it right.
	DEFAULT_RING=$("$CONNSCOPE" -h 2>&1 | sed -n 's/.*-B MIB.*(default \([0-9]*\)).*/\1/p')
	[[ $DEFAULT_RING =~ ^[0-9]+$ ]] || fail "cannot read the -B default from '$CONNSCOPE -h'"
	LIVE_RING=${LIVE_RING:-$DEFAULT_RING}
	for r in $LIVE_RING $LIVE_RINGS; do
		[[ $r =~ ^[1-9][0-9]*$ ]] || fail "LIVE_RINGS: '$r' is not a size in MiB"
	done
}

# build_tool, make_input
. tests/bench/inputs.sh

# The same input as `make bench`, made the same way (tests/bench/inputs.sh)
# when it is missing or was made by another generator.
ensure_input() {
	local n=1000000
	[ "$LIVE_INPUT" = large ] && n=10000000
	mkdir -p "$BENCH_DIR" "$TOOLS" || fail "cannot create $BENCH_DIR and $TOOLS"
	make_input "$LIVE_INPUT" "$n"
}

# Two namespaces, one veth, no addresses: IPv6 is disabled before the veth
# appears so that it never sends router solicitations or DAD probes, and
# without IPv4 addresses nothing sends ARP.  The replay is all there is.
# workload's frames are under 400 bytes: the default MTU fits.
setup_link() {
	local n
	ip netns add "$NSA" || fail "cannot create namespace $NSA"
	NAMESPACES+=("$NSA")
	ip netns add "$NSB" || fail "cannot create namespace $NSB"
	NAMESPACES+=("$NSB")
	{
		for n in "$NSA" "$NSB"; do
			ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
				net.ipv6.conf.default.disable_ipv6=1
			ip -n "$n" link set lo up
		done
		ip link add "$IFA" netns "$NSA" type veth peer name "$IFB" netns "$NSB"
		ip -n "$NSA" link set "$IFA" up
		ip -n "$NSB" link set "$IFB" up
	} >"$TMP/setup.log" 2>&1 || fail "namespaces: $(tr '\n' ' ' <"$TMP/setup.log")"
}

# ---- one measurement ----------------------------------------------------------

# Frames the kernel dropped before any socket saw them (per-CPU backlog
# full), summed over CPUs.  Machine-wide, but nothing else here is busy.
softnet_drops() {
	local sum=0 hex
	while read -r _ hex _; do
		sum=$((sum + 16#$hex))
	done </proc/net/softnet_stat
	echo "$sum"
}

# placement sender|capture: the words put before that command, in PLACE.
# LIVE_NICE: a session of its own (setsid does not fork here: a job of a
# script is no process group leader, so the PID stays the command's),
# whose autogroup gets that nice.  LIVE_PIN=split: sender on CPU 0,
# connscope on CPU 1.
PLACE=()
placement() {
	PLACE=()
	[ -z "$LIVE_NICE" ] ||
		PLACE+=(setsid sh -c 'echo "$0" >/proc/self/autogroup && exec "$@"' "$LIVE_NICE")
	if [ "$LIVE_PIN" = split ]; then
		if [ "$1" = sender ]; then PLACE+=(taskset -c 0); else PLACE+=(taskset -c 1); fi
	fi
	return 0
}

# start_connscope JSON RING: connscope -i IFB in ns B, PID in CS_PID; waits
# (at most 5 s) for its socket.  env resets SIGINT to its default: a
# background job of a script starts with SIGINT ignored.
CS_PID=
start_connscope() {
	local before i
	before=$(packet_sockets "$NSB")
	placement capture
	ip netns exec "$NSB" env --default-signal=INT "${PLACE[@]}" "$CONNSCOPE" -i "$IFB" -B "$2" \
		-q --json "$1" >"$TMP/cs.out" 2>"$TMP/cs.err" &
	CS_PID=$!
	PIDS+=("$CS_PID")
	wait_capture "$NSB" "$CS_PID" "$before" ||
		fail "connscope -i $IFB did not start: $(cat "$TMP/cs.err")"
	# SIGINT goes to CS_PID: it must be connscope itself, not a wrapper.
	[ "$(readlink "/proc/$CS_PID/exe")" = "$(realpath "$CONNSCOPE")" ] ||
		fail "PID $CS_PID is $(readlink "/proc/$CS_PID/exe"), not connscope"
}

# stop_connscope: SIGINT, as Ctrl-C would; connscope then drains its ring
# and writes the JSON report, which for a million packets takes seconds.
stop_connscope() {
	local rc
	kill -INT "$CS_PID"
	if wait_gone "$CS_PID" 600; then
		wait "$CS_PID"
		rc=$?
	else
		stop "$CS_PID"
		fail "connscope still running 60 s after SIGINT"
	fi
	[ "$rc" -eq 0 ] || fail "connscope exited with status $rc: $(tail -n 3 "$TMP/cs.err")"
}

is_max() { [ "$1" = max ] || [ "$1" = topspeed ]; }

# replay RATE: the sender in ns A; its summary in $TMP/replay.txt.  Both
# senders load the frames before they start the clock, so that reading the
# file does not pace them; the time limit allows the nominal duration twice
# over plus start-up.  blast stops itself at the limit (what it did not
# send by then shows as unsent); timeout is the backstop.
replay() {
	local rate=$1 limit=60
	is_max "$rate" || limit=$((LIVE_PACKETS * 2 / rate + 60))
	placement sender
	if [ "$LIVE_SENDER" = blast ]; then
		local pps=$rate rc
		is_max "$rate" && pps=0
		timeout -k 5 "$((limit + 30))" ip netns exec "$NSA" "${PLACE[@]}" "$BLAST" \
			-n "$LIVE_PACKETS" -r "$pps" -b "$LIVE_BATCH" -j "$LIVE_THREADS" -t "$limit" \
			"$IFA" "$INPUT" >"$TMP/replay.txt" 2>&1
		rc=$?
		# 1: some frames unsent, a figure the row shows; 2 and more: failure.
		[ "$rc" -le 1 ] || fail "blast at $rate failed: $(tail -n 5 "$TMP/replay.txt")"
	else
		local pace=--pps=$rate
		is_max "$rate" && pace=--topspeed
		timeout -k 5 "$limit" ip netns exec "$NSA" "${PLACE[@]}" tcpreplay -q -i "$IFA" "$pace" \
			--limit="$LIVE_PACKETS" --preload-pcap "$INPUT" >"$TMP/replay.txt" 2>&1 ||
			fail "tcpreplay at $rate failed: $(tail -n 5 "$TMP/replay.txt")"
	fi
}

# blast's summary: one line of key=value fields.
blast_field() { grep '^loaded=' "$TMP/replay.txt" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# Frames the kernel took, the rate achieved, and frames not sent.  From
# tcpreplay's summary: "Actual: N packets ...", "Rated: ..., R pps" and
# "Failed packets: N".
replay_sent() {
	if [ "$LIVE_SENDER" = blast ]; then blast_field sent; return; fi
	sed -n 's/^ *Actual: \([0-9]*\) packets.*/\1/p' "$TMP/replay.txt" | head -n 1
}
replay_pps() {
	if [ "$LIVE_SENDER" = blast ]; then blast_field pps; return; fi
	sed -n 's/^ *Rated: .*, \([0-9.]*\) pps.*/\1/p' "$TMP/replay.txt" | head -n 1
}
replay_failed() {
	if [ "$LIVE_SENDER" = blast ]; then blast_field unsent; return; fi
	sed -n 's/^ *Failed packets: *\([0-9]*\).*/\1/p' "$TMP/replay.txt" | head -n 1
}
# ENOBUFS the kernel answered blast (each frame offered again): how often
# the receiving side could not keep up before any capture.  tcpreplay does
# not say.
replay_retries() {
	if [ "$LIVE_SENDER" = blast ]; then blast_field retries_enobufs; else echo "—"; fi
}

# CPU time connscope has used so far, in clock ticks (utime + stime of
# /proc/PID/stat; the fields after the command name's closing parenthesis).
cs_cpu_ticks() {
	sed 's/^.*) //' "/proc/$CS_PID/stat" | awk '{ print $12 + $13 }'
}

# cpu_share TICKS SENT PPS: connscope's CPU time during the replay as a
# percentage of the time the sender spent sending (SENT / PPS seconds).
# The ticks include the second after it, while connscope catches up.
cpu_share() {
	awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" -v r="$3" \
		'BEGIN { if (r > 0 && n > 0) printf "%.0f", 100 * (t / hz) / (n / r); else print "?" }'
}

# measure RATE RING: one replay at RATE into connscope with a RING MiB ring;
# appends a table row and leaves the capture drops in LAST_DROPS.
LAST_DROPS=
measure() {
	local rate=$1 ring=$2 json=$TMP/live.json sent pps failed seen drops soft0 soft1 lost
	local cpu0 cpu1 cpu retries
	rm -f "$json"
	start_connscope "$json" "$ring"
	soft0=$(softnet_drops)
	cpu0=$(cs_cpu_ticks)
	replay "$rate"
	# Let the capture's read timeout hand the last frames over.
	sleep 1
	cpu1=$(cs_cpu_ticks)
	soft1=$(softnet_drops)
	stop_connscope
	sent=$(replay_sent)
	pps=$(replay_pps)
	failed=$(replay_failed)
	seen=$(jq -r '.summary.packets' "$json" 2>/dev/null)
	drops=$(jq -r '.summary.capture_drops' "$json" 2>/dev/null)
	[ -n "$sent" ] && [ -n "$pps" ] || fail "no summary in $LIVE_SENDER's output: $(cat "$TMP/replay.txt")"
	[[ $seen =~ ^[0-9]+$ ]] && [[ $drops =~ ^[0-9]+$ ]] ||
		fail "no summary.packets / capture_drops in connscope's report (got '$seen', '$drops')"
	lost=$((soft1 - soft0))
	cpu=$(cpu_share $((cpu1 - cpu0)) "$sent" "$pps")
	retries=$(replay_retries)
	LAST_DROPS=$drops
	[ "${failed:-0}" -gt 0 ] && say "  $LIVE_SENDER could not send $failed packets at $rate"
	say "  $rate pps, ring $ring MiB: sent $sent at $(printf '%.0f' "$pps") pps, seen $seen," \
		"dropped $drops, backlog $lost, sender ENOBUFS $retries, connscope CPU $cpu%"
	ROWS+=("$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |' \
		"$(rate_label "$rate")" "$(grouped "$(printf '%.0f' "$pps")")" "$(grouped "$sent")" \
		"$(grouped "$seen")" "$(grouped "$drops")" "$(grouped "$lost")" "$(grouped "$retries")" \
		"$cpu" "$(ring_label "$ring")")")
	ROW_RATE+=("$rate")
	ROW_PPS+=("$pps")
	ROW_OK+=("$([ "$drops" -eq 0 ] && [ "$seen" -eq "$sent" ] && echo 1 || echo 0)")
	ROW_RING+=("$ring")
}
ROW_RATE=() ROW_PPS=() ROW_OK=() ROW_RING=()

# ---- formatting ------------------------------------------------------------------

grouped() { sed -E ':a; s/([0-9])([0-9]{3})($|,)/\1,\2\3/; ta' <<<"$1"; }
rate_label() { if is_max "$1"; then echo "max"; else grouped "$1"; fi; }
ring_label() { if [ "$1" = "$DEFAULT_RING" ]; then echo "$1 (default)"; else echo "$1"; fi; }

# The highest achieved rate, at LIVE_RING, at which connscope saw
# every packet sent and the kernel dropped none.  Achieved, not asked: past
# the sender's limit "max" can come out slower than a rate asked for.
best_clean_rate() {
	local i best= top=-1
	for i in "${!ROW_RATE[@]}"; do
		[ "${ROW_RING[$i]}" = "$LIVE_RING" ] && [ "${ROW_OK[$i]}" = 1 ] || continue
		awk -v a="${ROW_PPS[$i]}" -v t="$top" 'BEGIN { exit !(a > t) }' || continue
		top=${ROW_PPS[$i]}
		best="$(grouped "$(printf '%.0f' "$top")") pps achieved ($(rate_label "${ROW_RATE[$i]}") asked)"
	done
	echo "${best:-none of the rates tried}"
}

# Rates the sender fell more than 5% short of: there the sender, not
# connscope, set the pace, and the row says nothing about higher rates.
short_rates() {
	local i out=
	for i in "${!ROW_RATE[@]}"; do
		[ "${ROW_RING[$i]}" = "$LIVE_RING" ] && ! is_max "${ROW_RATE[$i]}" || continue
		awk -v a="${ROW_PPS[$i]}" -v r="${ROW_RATE[$i]}" 'BEGIN { exit !(a < 0.95 * r) }' &&
			out+="${out:+, }$(grouped "${ROW_RATE[$i]}")"
	done
	echo "$out"
}

print_table() {
	local row
	echo "| rate asked (pps) | rate achieved (pps) | packets sent | seen by connscope | kernel drops | lost before capture | sender ENOBUFS | connscope CPU % | ring MiB |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for row in "${ROWS[@]}"; do
		echo "$row"
	done
	echo
	echo "Highest rate with zero drops ($LIVE_RING MiB ring$([ "$LIVE_RING" = "$DEFAULT_RING" ] && echo ", the default")): $(best_clean_rate)."
	# Nothing dropped: the sender, not connscope, ran out first.
	[ -z "$failing" ] && echo "No rate dropped a packet, so connscope's limit lies above the fastest rate reached here."
	local short
	short=$(short_rates)
	if [ -n "$short" ]; then
		echo
		echo "$LIVE_SENDER fell more than 5% short of $short pps: at those rates the sender was the limit,"
		echo "not connscope."
	fi
	echo
	echo "The first $(grouped "$LIVE_PACKETS") packets of $(input_label) replayed by"
	sender_label
	echo "on one end of a veth pair, in its own network namespace, while"
	echo "\`connscope -i PEER -q --json FILE\` captures on the other end (another namespace)."
	echo "Achieved rate: the sender's own figure. Seen: \`summary.packets\`. Kernel drops:"
	echo "\`summary.capture_drops\` (pcap_stats: the ring was full). Lost before capture: the"
	echo "kernel's softnet backlog drops during the replay (machine-wide), frames no socket saw."
	echo "Sender ENOBUFS (blast only): frames the kernel refused for now and took when offered"
	echo "again (with the qdisc bypassed, a veth peer's full backlog answers so). connscope CPU: its"
	echo "user + system time from the start of the replay to a second after, over the seconds"
	echo "spent sending (100 = one core)."
	echo
	cpu_note
}

input_label() {
	if [ "$LIVE_INPUT" = large ]; then
		echo "LARGE (\`workload -n 10000000 -s 1\`)"
	else
		echo "SMALL (\`workload -n 1000000 -s 1\`)"
	fi
}

sender_label() {
	if [ "$LIVE_SENDER" = blast ]; then
		echo "\`blast -r RATE -b $LIVE_BATCH -j $LIVE_THREADS\` (tests/tools/blast.c: frames preloaded, sendmmsg"
		echo "batches of $LIVE_BATCH on a packet socket, qdisc bypassed, $LIVE_THREADS sending threads)"
	else
		echo "\`tcpreplay --pps=RATE --preload-pcap\`"
	fi
}

# Where the work ran: on a veth the receive side's kernel work, including
# the copy into connscope's ring, runs on the sending CPU.
cpu_note() {
	local where
	if [ "$LIVE_PIN" = split ]; then
		where="pinned with taskset: the sender on CPU 0, connscope on CPU 1"
	else
		where="not pinned: the scheduler placed them"
	fi
	echo "CPU: $(nproc) cores shared by the sender, the receiving kernel (its softirq runs on the"
	echo "sending CPU, copies included) and connscope; they compete, so these rates are a floor for"
	echo "connscope alone. Sender and connscope $where (LIVE_PIN)."
	[ -z "$LIVE_NICE" ] ||
		echo "Each ran in its own autogroup at nice $LIVE_NICE (LIVE_NICE), ahead of other sessions' work."
	return 0
}

write_report() {
	echo "## Live capture"
	echo
	echo "Written by \`make bench-live\` (tests/bench/live.sh)."
	echo
	echo "- CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores"
	echo "- kernel: $(uname -sr)"
	if [ "$LIVE_SENDER" = blast ]; then
		echo "- sender: tests/tools/blast, $LIVE_THREADS threads, batches of $LIVE_BATCH"
	else
		echo "- sender: $(tcpreplay -V 2>&1 | head -n 1)"
	fi
	echo "- connscope: $("$CONNSCOPE" -V 2>&1 | head -n 1), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- load average (1, 5, 15 min): $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
	[ -z "$NOTE" ] || echo "- note: $NOTE"
	echo
	print_table
}

# ---- main --------------------------------------------------------------------------

check_prerequisites
ensure_input
mkdir -p "$TOOLS" || fail "cannot create $TOOLS"
TMP=$(mktemp -d /tmp/cs-bench-live.XXXXXX) || fail "mktemp"
setup_link
cat "$INPUT" >/dev/null # into the page cache before the first replay preloads it

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "replaying $LIVE_PACKETS packets of $INPUT with $LIVE_SENDER at: $RATES"
if [ "$LIVE_PIN" = split ]; then
	say "sender on CPU 0, connscope on CPU 1 (LIVE_PIN=split); the receive softirq runs on the sender's"
else
	say "sender and connscope share $(nproc) CPUs (LIVE_PIN=none): they compete for them"
fi
for rate in $RATES; do
	measure "$rate" "$LIVE_RING"
	DROPS[$rate]=$LAST_DROPS
done

# The first rate that dropped, again with larger rings: whether the ring
# absorbs the bursts or connscope is simply too slow for that rate.
for rate in $RATES; do
	[ "${DROPS[$rate]}" -gt 0 ] && { failing=$rate; break; }
done
if [ -n "$failing" ]; then
	for ring in $LIVE_RINGS; do
		measure "$failing" "$ring"
	done
else
	say "no rate dropped packets: no repeat with larger rings"
fi

write_report >"$TMP/report.md"
echo
cat "$TMP/report.md"
cp "$TMP/report.md" "$RESULTS" || fail "cannot write $RESULTS"
if [ "$RECORD" = 1 ]; then
	# A section recorded earlier is replaced, not repeated; `make bench
	# BENCH_RECORD=1` rewrites the whole file and drops it.
	sed -i '/^## Live capture$/,$d' "$RECORDED" || fail "cannot edit $RECORDED"
	sed -i -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$RECORDED" # no trailing blank lines
	{ echo; cat "$TMP/report.md"; } >>"$RECORDED" || fail "cannot append to $RECORDED"
	say "appended to $RECORDED"
fi
say "also in $RESULTS"
