#!/usr/bin/env bash
# run.sh — how fast connscope reads a capture, and in how much memory,
# measured against the libpcap floor, the floor of tracking every
# connection (flow-floor, when present), tshark and argus.
#
#   make bench                      SMALL (1 M packets) and LARGE (10 M, 1.6 GB)
#   make bench BENCH_SIZES=small    SMALL only
#   make bench BENCH_REAL=1         also a real capture of connection churn (root)
#   make bench BENCH_PROFILE=1      also instructions per packet per thread (callgrind)
#   make bench BENCH_RECORD=1       also write tests/bench/RESULTS.md
#
# The inputs are made by the project's own generator, tests/tools/workload.c
# (`workload -n 1000000 -s 1` and `-n 10000000 -s 1`), and the floor is its
# own tests/tools/pcapfloor.c; both are built into BENCH_BUILD here.  Each
# input is read in BENCH_ROUNDS rounds; a round runs, one after another,
#   build/bench/pcapfloor FILE                       the floor
#   YARDSTICK/pcap-floor FILE                        only with BENCH_YARDSTICK
#   YARDSTICK/flow-floor -R pcap FILE, -R mmap FILE  only with BENCH_YARDSTICK
#   connscope -r FILE >/dev/null                     the text report
#   connscope -r FILE --json $BENCH_DIR/out.json     the JSON report as well
#   connscope -r FILE --web 127.0.0.1:0              the dashboard, to "analysis done"
#   tshark -q -z conv,tcp -r FILE                    first rounds only; not on LARGE
#   argus -X -r FILE -w $BENCH_DIR/argus.out         not on LARGE
# so that whatever else the machine does slows all of them alike: "x floor"
# and "x tshark" are medians of the ratios taken round by round, never ratios
# of medians taken minutes apart.  tests/bench/README.md says more.
#
# Figures are not assertions: a missed target prints "not met" and the run
# still succeeds.  It fails (exit 1) only when a tool fails: a build of the
# project's own tools, an input that cannot be made, a command exiting
# non-zero, connscope, argus or a yardstick reading a different number of
# packets than the floor.  An outside yardstick that is missing or does not
# build is a line in the report, not a failure.
#
# Knobs (environment; the Makefile passes CONNSCOPE and BENCH_BUILD):
#   BENCH_SIZES          inputs to measure, "small large" (either may go)
#   BENCH_ROUNDS         rounds per input, 1..50 (5)
#   BENCH_TSHARK_ROUNDS  rounds that also run tshark, 0..BENCH_ROUNDS (3)
#   BENCH_REAL           1: also measure a real capture, recorded once by
#                        tests/bench/record-real.sh (root, tcpdump)
#   BENCH_YARDSTICK      a folder holding pcap-floor.c and/or flow-floor.c,
#                        readers from outside the project: built here with
#                        libpcap and measured as extra rows (optional; the
#                        Makefile passes the lab's folder when it exists)
#   BENCH_PROFILE        1: also run connscope under callgrind on the first
#                        300,000 packets of SMALL: instructions per packet
#                        for each of its threads
#   BENCH_RECORD         1: also write tests/bench/RESULTS.md
#   BENCH_NOTE           a sentence for the report on the circumstances
#                        ("a CI run used the other core")
#   BENCH_DIR            where inputs and the reports go (/tmp/connscope-bench)
set -u
cd "$(dirname "$0")/../.." || exit 1

CONNSCOPE=${CONNSCOPE:-./connscope}
TOOLS=$(realpath -m "${BENCH_BUILD:-build/bench}")
YARDSTICK=${BENCH_YARDSTICK:-}
BENCH_DIR=${BENCH_DIR:-/tmp/connscope-bench}
SIZES=${BENCH_SIZES-small large}
ROUNDS=${BENCH_ROUNDS:-5}
TSHARK_ROUNDS=${BENCH_TSHARK_ROUNDS:-3}
REAL=${BENCH_REAL:-0}
RECORD=${BENCH_RECORD:-0}
PROFILE=${BENCH_PROFILE:-0}
ARGUS=1              # 0 when argus is not installed
PROFILE_PACKETS=300000   # callgrind's share of SMALL: -c
PROFILE_NOTE=            # why the profile was not run, when it was asked for
NOTE=${BENCH_NOTE:-}
RESULTS=$TOOLS/results.md
RECORDED=tests/bench/RESULTS.md

# The targets of issue 16 ("speed and memory"): on SMALL the text report
# within 2x the floor, --json within 3x, 40 MiB, 50x faster than tshark; on
# LARGE the text report within 2x, --json within 100 MiB, and every
# connection reported once: as many as the generator started (STARTED).
TARGET_FLOOR_TEXT=2.0
declare -A TARGET_FLOOR_JSON=([small]=3.0)
TARGET_TSHARK=50
declare -A TARGET_RSS_MIB=([small]=40 [large]=100)

declare -A WALL_US   # "input,tool" -> wall microseconds of each round, in order
declare -A RSS_KB    # "input,tool" -> the largest peak RSS of the rounds
declare -A PACKETS   # input -> packets in the file, as the floor counted them
declare -A SKIPPED   # input -> why it was not measured
declare -A CONNECTIONS  # input -> connscope's summary.connections (--json)
declare -A WHOLE_COUNTS # input -> report_counts of its --json run
declare -A STARTED   # input -> connections workload started in it
declare -A FLOWS     # input -> flow-floor's distinct 4-tuples
declare -A ARGUS_RECORDS  # input -> flow records argus wrote (racount)
INPUTS=()            # in the order measured
YARD_TOOLS=()        # yardstick tools built: ypcap (pcap-floor), yflow and
                     # yflowm (flow-floor reading with libpcap, with mmap)
YARD_NOTE=           # why flow-floor is not measured, when it is not
LAST_US=0

TMP=$(mktemp -d /tmp/cs-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

say() { echo "bench: $*" >&2; }
fail() { say "$*"; say "failed"; exit 1; }

# ---- setup -------------------------------------------------------------------

check_prerequisites() {
	[ -x /usr/bin/time ] || fail "/usr/bin/time not found (Debian package 'time'; make deps)"
	[ -x "$CONNSCOPE" ] || fail "'$CONNSCOPE' is not an executable (run make first)"
	if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || ((ROUNDS < 1 || ROUNDS > 50)); then
		fail "BENCH_ROUNDS must be 1..50, not '$ROUNDS'"
	fi
	if ! [[ $TSHARK_ROUNDS =~ ^[0-9]+$ ]] || ((TSHARK_ROUNDS > ROUNDS)); then
		fail "BENCH_TSHARK_ROUNDS must be 0..$ROUNDS, not '$TSHARK_ROUNDS'"
	fi
	local size
	for size in $SIZES; do
		case $size in
		small | large) ;;
		*) fail "BENCH_SIZES: unknown input '$size' (small, large)" ;;
		esac
	done
	if ! command -v tshark >/dev/null; then
		say "tshark not installed: no tshark figures" \
			"(DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tshark)"
		TSHARK_ROUNDS=0
	fi
	if ! command -v argus >/dev/null || ! command -v racount >/dev/null; then
		say "argus not installed: no argus figures (make deps-bench installs argus-server, argus-client)"
		ARGUS=0
	fi
	if [ "$PROFILE" = 1 ] && ! command -v valgrind >/dev/null; then
		fail "BENCH_PROFILE=1 needs valgrind (make deps)"
	fi
}

# build_tool, pcap_libs (PCAP_LIBS), make_input
. tests/bench/inputs.sh

# The floor and the generator, from tests/tools/, every run (a second).
build_tools() {
	pcap_libs
	build_tool pcapfloor "${PCAP_LIBS[@]}"
	build_tool workload
	build_tool recsize -I.
}

# count_started NAME PACKETS: STARTED[NAME], how many connections workload
# started in $BENCH_DIR/NAME.pcap, from its own summary on stderr
# ("workload: started normal=N refused=N ..."): the truth against which
# "every connection reported once" is held.  It is kept in
# NAME.pcap.started beside the file, under the id of NAME.pcap.made, since
# counting LARGE again takes workload a few seconds (it is deterministic:
# run again with -o /dev/null, it counts the file's connections).
count_started() { # NAME PACKETS
	local f=$BENCH_DIR/$1.pcap.started id summary n
	id=$(cat "$BENCH_DIR/$1.pcap.made") || fail "$BENCH_DIR/$1.pcap.made is missing"
	if [ "$(head -n 1 "$f" 2>/dev/null)" = "$id" ]; then
		STARTED[$1]=$(sed -n 2p "$f")
		return 0
	fi
	summary=$("$TOOLS/workload" -n "$2" -s 1 -o /dev/null 2>&1 >/dev/null | grep '^workload: started ')
	n=$(grep -o '[a-z]*=[0-9]*' <<<"$summary" | awk -F= '{ n += $2 } END { print n + 0 }')
	((n > 0)) || fail "workload printed no count of the connections it started"
	printf '%s\n%s\n' "$id" "$n" >"$f" || fail "cannot write $f"
	STARTED[$1]=$n
}

# Readers from outside the project, when BENCH_YARDSTICK names a folder
# that holds them: each source found is built into $TOOLS/yardstick with
# libpcap, as its own notes say to build it, and measured in every round.
# flow-floor runs twice, reading with libpcap and walking an mmap of the
# file: the floor of tracking every connection, with and without libpcap's
# reader.  They are a second opinion on the floor, never needed: a folder
# without them, or a source that does not build, leaves a line in the
# report (YARD_NOTE) and the benchmark goes on.
build_yardstick() {
	if [ -z "$YARDSTICK" ]; then
		YARD_NOTE="BENCH_YARDSTICK is not set"
		return 0
	fi
	[ -d "$YARDSTICK" ] || fail "BENCH_YARDSTICK: '$YARDSTICK' is not a folder"
	mkdir -p "$TOOLS/yardstick" || fail "cannot create $TOOLS/yardstick"
	local name src
	pcap_libs
	for name in pcap-floor flow-floor; do
		src=$YARDSTICK/$name.c
		[ -f "$src" ] || continue
		if ! cc -O2 -g -o "$TOOLS/yardstick/$name" "$src" "${PCAP_LIBS[@]}"; then
			say "BENCH_YARDSTICK: cannot build $src; no $name rows"
			[ "$name" = flow-floor ] && YARD_NOTE="$src did not build (cc's messages are in the run's output)"
			continue
		fi
		case $name in
		pcap-floor) YARD_TOOLS+=(ypcap) ;;
		flow-floor) YARD_TOOLS+=(yflow yflowm) ;;
		esac
	done
	[ -f "$YARDSTICK/flow-floor.c" ] || YARD_NOTE="no flow-floor.c in BENCH_YARDSTICK ($YARDSTICK)"
	((${#YARD_TOOLS[@]})) && say "yardstick: $(yard_list | cut -c3-) from $YARDSTICK"
	return 0
}

yard_name() { case $1 in ypcap) echo pcap-floor ;; yflow | yflowm) echo flow-floor ;; esac; }
yard_args() { case $1 in yflow) echo "-R pcap" ;; yflowm) echo "-R mmap" ;; esac; }
yard_label() { # TOOL -> "flow-floor -R mmap"
	local args
	args=$(yard_args "$1")
	echo "$(yard_name "$1")${args:+ $args}"
}
yard_list() { local t; for t in "${YARD_TOOLS[@]}"; do printf ', %s' "$(yard_label "$t")"; done; }

# A real capture is recorded once and reused (delete the file to record
# again).  Recording needs root for its network namespaces; when it cannot
# be done the table says why instead of failing, as the project's live tests do.
record_real_capture() { # -> 1 with SKIPPED[real] set when there is no capture
	local f=$BENCH_DIR/real-churn.pcap tool missing=
	[ -s "$f" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		SKIPPED[real]="skipped: recording needs root (network namespaces)"
		return 1
	fi
	for tool in ip tcpdump; do
		command -v "$tool" >/dev/null || missing+=" $tool"
	done
	if [ -n "$missing" ]; then
		SKIPPED[real]="skipped: not installed:$missing"
		return 1
	fi
	build_tool tcpping
	say "recording $f with tests/bench/record-real.sh (about 5 s)"
	# The script bounds itself (REAL_SECONDS <= 10, every tcpping under its
	# --timeout); this timeout is a backstop, and TERM still lets it remove
	# its namespaces.
	if ! CAPTURE_OUT=$f TCPPING=$TOOLS/tcpping timeout -k 10 120 \
		bash tests/bench/record-real.sh >"$TMP/real.txt" 2>&1; then
		tail -n 20 "$TMP/real.txt" >&2
		rm -f "$f"
		fail "record-real.sh could not record $f"
	fi
	say "  $(tail -n 1 "$TMP/real.txt")"
}

# ---- measuring -----------------------------------------------------------------

# One run of COMMAND under /usr/bin/time, for its peak RSS.  The wall time
# is taken here, in microseconds, because GNU time prints only hundredths of
# a second (the floor reads SMALL in under 0.1 s); it includes starting
# /usr/bin/time, a millisecond or two that every tool pays alike.
run_timed() { # INPUT TOOL STDOUT COMMAND...
	local key=$1,$2 out=$3 t0 t1 rc kb
	shift 3
	t0=${EPOCHREALTIME//[!0-9]/}
	/usr/bin/time -f '%M' -o "$TMP/time.txt" "$@" >"$out" 2>"$TMP/stderr.txt"
	rc=$?
	t1=${EPOCHREALTIME//[!0-9]/}
	if [ "$rc" -ne 0 ]; then
		say "'$*' failed (exit status $rc):"
		tail -n 5 "$TMP/stderr.txt" "$TMP/time.txt" >&2
		fail "a tool failed, so there are no figures"
	fi
	kb=$(tail -n 1 "$TMP/time.txt")
	[[ $kb =~ ^[0-9]+$ ]] || fail "no peak RSS from /usr/bin/time for '$*'"
	LAST_US=$((t1 - t0))
	WALL_US[$key]+="$LAST_US "
	((kb > ${RSS_KB[$key]:-0})) && RSS_KB[$key]=$kb
	return 0
}

# The dashboard's run (--web): connscope keeps serving once the file is
# analysed, so its time is to the line that says so (looked for every
# 10 ms) and its peak RSS is VmHWM then; it is then stopped by its PID.
# Bounded: a run that neither says it nor exits within 600 s fails.
run_web() { # INPUT FILE
	local key=$1,web t0 t1 pid kb n
	t0=${EPOCHREALTIME//[!0-9]/}
	"$CONNSCOPE" -q -r "$2" --web 127.0.0.1:0 --report /dev/null \
		>/dev/null 2>"$TMP/web.txt" &
	pid=$!
	for ((n = 0; n < 60000; n++)); do
		grep -q 'analysis done' "$TMP/web.txt" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	t1=${EPOCHREALTIME//[!0-9]/}
	kb=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status" 2>/dev/null)
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if ! grep -q 'analysis done' "$TMP/web.txt" || ! [[ $kb =~ ^[0-9]+$ ]]; then
		tail -n 5 "$TMP/web.txt" >&2
		fail "connscope --web did not finish analysing $2"
	fi
	LAST_US=$((t1 - t0))
	WALL_US[$key]+="$LAST_US "
	((kb > ${RSS_KB[$key]:-0})) && RSS_KB[$key]=$kb
	return 0
}

# A benchmark of a reader that stopped early would flatter it: connscope's
# summary.packets (the JSON's "summary" opens with it) must equal the floor's
# count.  Only the end of the file is read, since on LARGE it is large.
# summary.connections, a target on LARGE, is taken from the same object.
check_packet_count() { # INPUT JSON
	local got summary
	summary=$(tail -c 65536 "$2" | tr -d ' \n' | grep -o '"summary":{"packets":[^}]*')
	got=$(grep -o '^"summary":{"packets":[0-9]*' <<<"$summary" | grep -o '[0-9]*$')
	CONNECTIONS[$1]=$(grep -o '"connections":[0-9]*' <<<"$summary" | head -n 1 | grep -o '[0-9]*$')
	WHOLE_COUNTS[$1]=$(report_counts "$2") || WHOLE_COUNTS[$1]=
	if [ -z "$got" ]; then
		say "$1: no summary.packets at the end of $2; packet count not compared"
	elif [ "$got" != "${PACKETS[$1]}" ]; then
		fail "$1: connscope read $got packets, pcapfloor ${PACKETS[$1]}"
	fi
}

# argus writes flow records, not a report: racount (argus-client) sums
# them, which is cheap (a tenth of a second on SMALL) and tells that argus
# read every packet.
check_argus_count() { # INPUT ARGUS_OUTPUT
	local sum
	sum=$(racount -r "$2" 2>/dev/null | awk '$1 == "sum" { print $2, $3 }')
	[ -n "$sum" ] || fail "$1: racount could not read argus's output $2"
	ARGUS_RECORDS[$1]=${sum% *}
	[ "${sum#* }" = "${PACKETS[$1]}" ] ||
		fail "$1: argus read ${sum#* } packets, pcapfloor ${PACKETS[$1]}"
}

# One round: every tool once, one after another.
run_round() { # NAME FILE ROUND TSHARK_ROUNDS ARGUS_ROUNDS
	local name=$1 file=$2 round=$3 json=$BENCH_DIR/out.json line tool
	run_timed "$name" floor "$TMP/floor.txt" "$TOOLS/pcapfloor" "$file"
	line="floor $(seconds "$LAST_US") s"
	for tool in "${YARD_TOOLS[@]}"; do
		# shellcheck disable=SC2046 # yard_args is "-R pcap": two words
		run_timed "$name" "$tool" "$TMP/$tool.txt" \
			"$TOOLS/yardstick/$(yard_name "$tool")" $(yard_args "$tool") "$file"
		line+=", $(yard_label "$tool") $(seconds "$LAST_US") s"
	done
	run_timed "$name" text /dev/null "$CONNSCOPE" -r "$file"
	line+=", connscope $(seconds "$LAST_US") s"
	run_timed "$name" json /dev/null "$CONNSCOPE" -r "$file" --json "$json"
	line+=", --json $(seconds "$LAST_US") s"
	run_web "$name" "$file"
	line+=", --web $(seconds "$LAST_US") s"
	if ((round <= $4)); then
		run_timed "$name" tshark /dev/null tshark -q -z conv,tcp -r "$file"
		line+=", tshark $(seconds "$LAST_US") s"
	fi
	if ((round <= $5)); then
		# argus appends to an output file that exists: each run starts afresh.
		rm -f "$BENCH_DIR/argus.out"
		run_timed "$name" argus /dev/null argus -X -r "$file" -w "$BENCH_DIR/argus.out"
		line+=", argus $(seconds "$LAST_US") s"
	fi
	say "  round $round/$ROUNDS: $line"
}

measure_input() { # NAME FILE TSHARK_ROUNDS ARGUS_ROUNDS
	local name=$1 file=$2 round tool got
	[ -s "$file" ] || fail "input $file is missing or empty"
	INPUTS+=("$name")
	say "$name: $file, $ROUNDS rounds (tshark in $3, argus in $4)"
	# Read the file once so that the first round does not pay for the disk
	# (the reference machine keeps little idle page cache).
	cat "$file" >/dev/null
	for ((round = 1; round <= ROUNDS; round++)); do
		run_round "$name" "$file" "$round" "$3" "$4"
	done
	PACKETS[$name]=$(sed -n 's/^packets=\([0-9]*\).*/\1/p' "$TMP/floor.txt")
	[ -n "${PACKETS[$name]}" ] || fail "pcapfloor printed no packet count for $file"
	for tool in "${YARD_TOOLS[@]}"; do
		got=$(sed -n 's/^packets=\([0-9]*\).*/\1/p' "$TMP/$tool.txt")
		[ "$got" = "${PACKETS[$name]}" ] ||
			fail "$name: $(yard_label "$tool") read '$got' packets, pcapfloor ${PACKETS[$name]}"
	done
	[ -f "$TMP/yflow.txt" ] && FLOWS[$name]=$(sed -n 's/.* flows=\([0-9]*\).*/\1/p' "$TMP/yflow.txt")
	check_packet_count "$name" "$BENCH_DIR/out.json"
	rm -f "$BENCH_DIR/out.json"
	if (($4)); then
		check_argus_count "$name" "$BENCH_DIR/argus.out"
		rm -f "$BENCH_DIR/argus.out"
	fi
}

# ---- arithmetic and formatting ---------------------------------------------------

median() { # numbers, one a line, on standard input -> their median (nothing for none)
	sort -g | awk 'NF { v[++n] = $1 }
		END { if (n) print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }'
}

# "a1 a2 ..." "b1 b2 ...": a_i / b_i for each round in which both ran
pair_ratios() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, " "); m = split(b, y, " "); if (m < n) n = m
		for (i = 1; i <= n; i++) if (y[i] > 0) print x[i] / y[i] }'
}

num() { awk -v f="$1" -v v="$2" 'BEGIN { printf f, v }'; } # FORMAT VALUE
seconds() { num '%.3f' "$(awk -v us="$1" 'BEGIN { print us / 1e6 }')"; }
at_most() { awk -v v="$1" -v l="$2" 'BEGIN { exit !(v <= l) }'; }
met() { if "$@"; then echo met; else echo "not met"; fi; } # TEST... -> met / not met
grouped() { sed -E ':a; s/([0-9])([0-9]{3})($|,)/\1,\2\3/; ta' <<<"$1"; }
mib() { num '%.1f' "$(awk -v kb="$1" 'BEGIN { print kb / 1024 }')"; } # KIB

per_second() { # PACKETS MICROSECONDS -> "11.6 M"
	awk -v p="$1" -v us="$2" 'BEGIN { r = p / (us / 1e6)
		if (r >= 1e6) printf "%.2f M", r / 1e6; else if (r >= 1e3) printf "%.0f k", r / 1e3
		else printf "%.0f", r }'
}

input_label() {
	case $1 in
	small) echo SMALL ;; large) echo LARGE ;; real) echo "real (churn)" ;;
	esac
}

tool_label() {
	case $1 in
	floor) echo pcapfloor ;;
	ypcap | yflow | yflowm) echo "$(yard_label "$1") (yardstick)" ;;
	text) echo "connscope -r" ;;
	json) echo "connscope -r --json" ;;
	web) echo "connscope -r --web" ;;
	tshark) echo "tshark -q -z conv,tcp" ;;
	argus) echo "argus -X -r -w" ;;
	esac
}

# "≥ 50× faster than tshark: met", or "not measured" without tshark's rounds.
tshark_target() { # XTSHARK
	if [ -n "$1" ]; then
		echo "≥ ${TARGET_TSHARK}× faster than tshark: $(met at_most "$TARGET_TSHARK" "$1")"
	else
		echo "≥ ${TARGET_TSHARK}× faster than tshark: not measured"
	fi
}

# "every connection reported once (965,533): met": connscope's count from
# the --json run against the connections the generator started.
connections_target() { # INPUT
	local want=${STARTED[$1]:-} got=${CONNECTIONS[$1]:-}
	printf 'every connection reported once (%s started): ' "$(grouped "$want")"
	if [ -z "$got" ] || [ -z "$want" ]; then
		echo "not measured"
	elif [ "$got" = "$want" ]; then
		echo "met"
	else
		echo "not met, $(grouped "$got")"
	fi
}

# The targets this row is held to, each with met / not met; "—" for none.
row_targets() { # INPUT TOOL XFLOOR XTSHARK RSS_MIB
	local input=$1 tool=$2 xfloor=$3 xtshark=$4 rss=$5 limit parts=()
	case $tool in
	text) limit=$TARGET_FLOOR_TEXT ;;
	json) limit=${TARGET_FLOOR_JSON[$input]:-} ;;
	*) echo "—"; return ;;
	esac
	[ -n "$limit" ] && parts+=("≤ ${limit}× floor: $(met at_most "$xfloor" "$limit")")
	limit=${TARGET_RSS_MIB[$input]:-}
	[ -n "$limit" ] && parts+=("≤ $limit MiB: $(met at_most "$rss" "$limit")")
	[ "$input" = small ] && parts+=("$(tshark_target "$xtshark")")
	if [ "$tool" = json ] && [ "$input" = large ]; then
		parts+=("$(connections_target "$input")")
	fi
	((${#parts[@]})) || { echo "—"; return; }
	local out=${parts[0]} part
	for part in "${parts[@]:1}"; do out+="; $part"; done
	echo "$out"
}

# Why a row has no figures: only tshark's and argus's can be missing.
why_not_run() { # INPUT TOOL
	if [ "$1" = large ]; then
		echo "not run on LARGE"
	elif [ "$2" = argus ]; then
		echo "not installed (make deps-bench)"
	elif command -v tshark >/dev/null; then
		echo "not run (BENCH_TSHARK_ROUNDS=0)"
	else
		echo "not installed (see tests/bench/README.md)"
	fi
}

table_row() { # INPUT TOOL
	local input=$1 tool=$2 walls med xfloor xtshark=
	walls=${WALL_US[$input,$tool]:-}
	if [ -z "$walls" ]; then
		echo "| $(input_label "$input") | $(grouped "${PACKETS[$input]}") | $(tool_label "$tool") |" \
			"$(why_not_run "$input" "$tool") | | | | | |"
		return
	fi
	med=$(tr ' ' '\n' <<<"$walls" | median)
	if [ "$tool" = floor ]; then
		xfloor=1
	else
		xfloor=$(pair_ratios "$walls" "${WALL_US[$input,floor]}" | median)
	fi
	if [ -n "${WALL_US[$input,tshark]:-}" ]; then
		xtshark=$(pair_ratios "${WALL_US[$input,tshark]}" "$walls" | median)
	fi
	local rss
	rss=$(num '%.1f' "$(awk -v kb="${RSS_KB[$input,$tool]}" 'BEGIN { print kb / 1024 }')")
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
		"$(input_label "$input")" "$(grouped "${PACKETS[$input]}")" "$(tool_label "$tool")" \
		"$(seconds "$med")" "$(per_second "${PACKETS[$input]}" "$med")" \
		"$(num '%.2f' "$xfloor")" "${xtshark:+$(num '%.1f' "$xtshark")}" "$rss" \
		"$(row_targets "$input" "$tool" "$xfloor" "$xtshark" "$rss")"
}

print_table() {
	local input tool
	echo "| input | packets | tool | median wall s | packets/s | x floor | x tshark | peak RSS MiB | targets |"
	echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |"
	for input in "${INPUTS[@]}"; do
		if [ -n "${SKIPPED[$input]:-}" ]; then
			echo "| $(input_label "$input") | | ${SKIPPED[$input]} | | | | | | |"
			continue
		fi
		for tool in floor "${YARD_TOOLS[@]}" text json web tshark argus; do
			table_row "$input" "$tool"
		done
	done
	echo
	[ -z "$YARD_NOTE" ] || echo "flow-floor (yardstick): not measured, $YARD_NOTE."
	print_counts
	echo
	echo "$ROUNDS rounds per input, each running pcapfloor$(yard_list), connscope, connscope --json"
	echo "and connscope --web (the dashboard: to its \"analysis done\" line, its VmHWM then)"
	echo "one after another, $(peers_sentence)."
	echo "Wall seconds: whole processes, median of the rounds. x floor: the median of the rounds'"
	echo "ratios to pcapfloor (lower is better). x tshark: the median of tshark's time divided by"
	echo "the row's, i.e. how many times faster than tshark. Peak RSS: the largest of the rounds."
	if ((${#YARD_TOOLS[@]})); then
		echo "Yardstick rows: readers from outside the project (BENCH_YARDSTICK), a second"
		echo "opinion on the floor; no target applies to them. flow-floor -R pcap reads with"
		echo "libpcap, -R mmap walks the file itself; each keeps one 64-byte entry per 4-tuple."
	fi
}

# "tshark too in the first 3 and argus in every one (neither on LARGE)"
peers_sentence() {
	local t=none a="none (not installed)"
	((TSHARK_ROUNDS)) && t="the first $TSHARK_ROUNDS"
	((ARGUS)) && a="every one"
	echo "tshark too in $t and argus in $a (neither on LARGE)"
}

# What each tool counted, one line per input: connscope's connections,
# flow-floor's 4-tuples (a 4-tuple reused after TIME_WAIT is one to it, a
# new connection to connscope) and argus's flow records (a long flow is
# cut into several by its status interval).
print_counts() {
	local input line
	for input in "${INPUTS[@]}"; do
		[ -z "${SKIPPED[$input]:-}" ] || continue
		line="$(input_label "$input"): connscope's summary.connections $(grouped "${CONNECTIONS[$input]:-?}")"
		[ -z "${STARTED[$input]:-}" ] || line+=" of $(grouped "${STARTED[$input]}") the generator started"
		[ -z "${FLOWS[$input]:-}" ] || line+=", flow-floor's 4-tuples $(grouped "${FLOWS[$input]}")"
		[ -z "${ARGUS_RECORDS[$input]:-}" ] || line+=", argus's flow records $(grouped "${ARGUS_RECORDS[$input]}") (racount)"
		echo "$line."
	done
}

# ---- instructions per packet (BENCH_PROFILE=1) and bytes per entry -------------

# Which of connscope's threads a callgrind file of --separate-threads is:
# the main thread analyses; the others are told by the function they run.
thread_role() { # CALLGRIND_FILE
	if grep -q '^thread: 1$' "$1"; then
		echo "analysing (main thread)"
	elif grep -q '^fn=reader_main$' "$1"; then
		echo "reading (reader_main)"
	elif grep -q '^fn=writer_main$' "$1"; then
		echo "writer (writer_main)"
	elif grep -q '^fn=helper_main$' "$1"; then
		echo "writer's helper (helper_main)"
	elif grep -q '^fn=packer_main$' "$1"; then
		echo "packer (packer_main)"
	else
		echo "thread $(sed -n 's/^thread: //p' "$1") ($(grep -m 1 -o '^fn=[A-Za-z0-9_]*_main$' "$1" | cut -c4-))"
	fi
}

# connscope under callgrind on the first PROFILE_PACKETS packets of SMALL,
# as the table's row runs it (text report, or --json too).  Instructions
# are counted, not timed, so the figures hold on a busy machine.  Appends
# "RUN<TAB>THREAD<TAB>INSTRUCTIONS" lines to $TMP/profile.txt.
profile_run() { # text|json
	local out=$TMP/cg.$1 extra=() f
	[ "$1" = json ] && extra=(--json "$TMP/profile.json")
	say "profile: connscope -r small.pcap -c $PROFILE_PACKETS${extra[*]:+ ${extra[*]}} under callgrind"
	if ! valgrind --tool=callgrind --separate-threads=yes --compress-strings=no \
		--callgrind-out-file="$out" "$CONNSCOPE" -r "$BENCH_DIR/small.pcap" \
		-c "$PROFILE_PACKETS" "${extra[@]}" >/dev/null 2>"$TMP/callgrind.txt"; then
		tail -n 5 "$TMP/callgrind.txt" >&2
		fail "connscope failed under callgrind"
	fi
	for f in "$out"-[0-9]*; do
		profile_thread "$1" "$f"
	done >>"$TMP/profile.txt"
}

# Instructions of FN and what it called, in callgrind file FILE.
inclusive_of() { # FILE FN
	callgrind_annotate --inclusive=yes "$1" 2>/dev/null |
		awk -v fn="$2" '!done && $0 ~ ":" fn " " { gsub(",", "", $1); print $1; done = 1 }'
}

# One line per thread of a callgrind file.  The writer's helper starts at
# the end of the capture, after the reading thread has ended, and valgrind
# numbers it as that thread again: one file holds both, split by the
# instructions of helper_main.
profile_thread() { # RUN FILE
	local total helper
	total=$(sed -n 's/^totals: *//p' "$2")
	if grep -q '^fn=reader_main$' "$2" && grep -q '^fn=helper_main$' "$2"; then
		helper=$(inclusive_of "$2" helper_main)
		printf '%s\t%s\t%s\n' "$1" "reading (reader_main)" "$((total - helper))"
		printf '%s\t%s\t%s\n' "$1" "writer's helper (helper_main)" "$helper"
		return
	fi
	printf '%s\t%s\t%s\n' "$1" "$(thread_role "$2")" "$total"
}

profile_connscope() {
	[ "$PROFILE" = 1 ] || return 0
	if [ -z "${PACKETS[small]:-}" ]; then
		PROFILE_NOTE="not run: BENCH_PROFILE profiles SMALL, which BENCH_SIZES left out"
		return 0
	fi
	((PACKETS[small] >= PROFILE_PACKETS)) || PROFILE_PACKETS=${PACKETS[small]}
	: >"$TMP/profile.txt"
	profile_run text
	profile_run json
}

print_profile() {
	echo "| run (first $(grouped "$PROFILE_PACKETS") packets of SMALL) | thread | instructions | per packet |"
	echo "| --- | --- | ---: | ---: |"
	# Threads in the order a packet meets them, whatever order valgrind
	# numbered them in: reading, analysing, writer.
	awk -F '\t' -v n="$PROFILE_PACKETS" '
		function grp(s,   d, ip, out) { # "1234.5" -> "1,234.5"
			d = index(s, "."); ip = d ? substr(s, 1, d - 1) : s
			for (; length(ip) > 3; ip = substr(ip, 1, length(ip) - 3))
				out = "," substr(ip, length(ip) - 2) out
			return ip out (d ? substr(s, d) : "")
		}
		function row(run, what, ir) {
			printf "| %s | %s | %s M | %s |\n", run == "json" ? "connscope -r --json" : "connscope -r",
				what, grp(sprintf("%.1f", ir / 1e6)), grp(sprintf("%.0f", ir / n))
		}
		function rank(what) {
			return what ~ /^reading/ ? 1 : what ~ /^analysing/ ? 2 : what ~ /^writer/ ? 3 : 4
		}
		{ ir[$1] += $3; t[$1, rank($2)] = t[$1, rank($2)] $2 "\t" $3 "\n" }
		END {
			split("text json", runs, " ")
			for (r = 1; r <= 2; r++) {
				run = runs[r]; row(run, "whole process", ir[run])
				for (k = 1; k <= 4; k++) {
					m = split(t[run, k], l, "\n")
					for (i = 1; i < m; i++) { split(l[i], f, "\t"); row(run, f[1], f[2]) }
				}
			}
		}' "$TMP/profile.txt"
	echo
	echo "valgrind --tool=callgrind --separate-threads=yes on the table's commands with"
	echo "\`-c $PROFILE_PACKETS\`: instructions executed (Ir), whole process and each thread,"
	echo "divided by the packets read. Wall time follows the busiest thread."
}

# The bytes each connection costs, as the compiler lays out the record
# types (tests/tools/recsize.c; connscope has no debug output for it).
print_sizes() {
	echo "| entry | bytes | what |"
	echo "| --- | ---: | --- |"
	"$TOOLS/recsize" | awk -F '\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }'
}

# What a --json report says of its connections, from its end (the
# summary and outcomes follow the connections: LARGE's report is 0.6 GiB):
# "connections completed midstream evicted later", later being the packets
# of evicted connections (summary.untracked.evicted).
report_counts() { # JSON
	tail -c 1048576 "$1" | tr -d ' \n' | awk '
		function num(key,   s) {
			if (!match(rest, "\"" key "\":[0-9]+")) return "?"
			s = substr(rest, RSTART, RLENGTH); sub(/.*:/, "", s); return s
		}
		{ i = index($0, "\"summary\":{\"packets\""); if (!i) exit 1
		  rest = substr($0, i)
		  conns = num("connections"); evicted = num("evicted")
		  later = "?"
		  if (match(rest, /"untracked":\{[^}]*\}/)) {
			u = substr(rest, RSTART, RLENGTH)
			if (match(u, /"evicted":[0-9]+/)) { later = substr(u, RSTART + 10, RLENGTH - 10) }
		  }
		  j = index(rest, "\"outcomes\":{"); rest = substr(rest, j)
		  printf "%s %s %s %s %s\n", conns, num("completed"), num("midstream"), evicted, later }'
}

# LARGE once more with a table a seventh of its working set (--max-flows
# 100000 against 713,404 records at once): what eviction costs in time and
# memory, and whether each connection is still reported once and each
# completed connection completed (analyzer/tracking/evicted.h).  One run,
# after the rounds, against the whole table's --json run of the last round.
EVICT_MAX_FLOWS=100000
measure_eviction() {
	local json=$BENCH_DIR/evict.json
	[[ " $SIZES " == *" large "* ]] || return 0
	say "eviction: connscope -r large.pcap --max-flows $EVICT_MAX_FLOWS --json"
	run_timed large evict /dev/null "$CONNSCOPE" -r "$BENCH_DIR/large.pcap" \
		--max-flows "$EVICT_MAX_FLOWS" --json "$json"
	EVICT_SECONDS=$(seconds "$LAST_US")
	EVICT_COUNTS=$(report_counts "$json") || EVICT_COUNTS=
	rm -f "$json"
}

print_eviction() {
	local whole small
	read -ra whole <<<"${WHOLE_COUNTS[large]:-? ? ? 0 0}"
	read -ra small <<<"${EVICT_COUNTS:-? ? ? ? ?}"
	echo "| table | wall s | peak RSS MiB | connections | completed | midstream | evicted | later packets of evicted connections |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	echo "| whole (the --json rows above) | $(seconds "$(tr ' ' '\n' <<<"${WALL_US[large,json]:-0}" | median)") | $(mib "${RSS_KB[large,json]:-0}") | $(grouped "${whole[0]}") | $(grouped "${whole[1]}") | $(grouped "${whole[2]}") | $(grouped "${whole[3]}") | $(grouped "${whole[4]}") |"
	echo "| --max-flows $(grouped "$EVICT_MAX_FLOWS") | $EVICT_SECONDS | $(mib "${RSS_KB[large,evict]:-0}") | $(grouped "${small[0]}") | $(grouped "${small[1]}") | $(grouped "${small[2]}") | $(grouped "${small[3]}") | $(grouped "${small[4]}") |"
	echo
	echo "\`connscope -r large.pcap --max-flows $EVICT_MAX_FLOWS --json F\`, one run after the rounds;"
	echo "the generator started $(grouped "${STARTED[large]:-?}") connections."
}

# ---- the report ------------------------------------------------------------------

# Which code was measured: the commit, and whether the sources the binary is
# built from differed from it (changes to tests or documents do not count).
connscope_version() {
	local v commit
	v=$("$CONNSCOPE" -V 2>&1 | head -n 1)
	commit=$(git rev-parse --short HEAD 2>/dev/null) || { echo "$v"; return; }
	if git diff --quiet HEAD -- capture analyzer web connscope.c 2>/dev/null; then
		echo "$v, commit $commit"
	else
		echo "$v, commit $commit with uncommitted changes to its sources"
	fi
}

describe_machine() {
	local model cpus mem tshark_v=
	model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
	[ -n "$model" ] || model=$(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1)
	cpus=$(nproc)
	mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	command -v tshark >/dev/null && tshark_v=$(tshark --version 2>/dev/null | head -n 1)
	echo "- CPU: ${model:-unknown}, $cpus cores"
	echo "- memory: $mem"
	echo "- kernel: $(uname -sr)"
	echo "- compiler: $(gcc --version 2>/dev/null | head -n 1)"
	echo "- libpcap: $(pkg-config --modversion libpcap 2>/dev/null || echo unknown)"
	((${#YARD_TOOLS[@]})) && echo "- yardstick (BENCH_YARDSTICK=$YARDSTICK): $(yard_list | cut -c3-)"
	echo "- tshark: ${tshark_v:-not installed}"
	echo "- connscope: $(connscope_version)"
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	# Load is what makes figures on a shared 2-core machine move: quote it.
	echo "- load average (1, 5, 15 min): $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
	[ -z "$NOTE" ] || echo "- note: $NOTE"
}

write_report() {
	echo "# connscope benchmark results"
	echo
	echo "Written by \`make bench BENCH_RECORD=1\` (tests/bench/run.sh); the method, the"
	echo "knobs and how to add the tshark figures are in [README.md](README.md)."
	echo "Inputs: \`workload -s 1\` (tests/tools/workload.c), SMALL \`-n 1000000\`, LARGE"
	echo "\`-n 10000000\`; the floor is tests/tools/pcapfloor.c."
	[ "$REAL" = 1 ] && echo "real (churn): kernel TCP between two namespaces, recorded by tests/bench/record-real.sh."
	echo
	echo "## Machine"
	echo
	describe_machine
	echo
	echo "## Figures"
	echo
	print_table
	if [ "$PROFILE" = 1 ]; then
		echo
		echo "## Instructions per packet (BENCH_PROFILE=1)"
		echo
		if [ -n "$PROFILE_NOTE" ]; then echo "$PROFILE_NOTE."; else print_profile; fi
	fi
	if [ -n "${EVICT_SECONDS:-}" ]; then
		echo
		echo "## LARGE in a table a seventh of its working set"
		echo
		print_eviction
	fi
	echo
	echo "## Bytes per connection entry"
	echo
	print_sizes
}

# ---- main --------------------------------------------------------------------------

check_prerequisites
mkdir -p "$BENCH_DIR" "$TOOLS" || fail "cannot create $BENCH_DIR and $TOOLS"
build_tools
build_yardstick
for size in $SIZES; do
	case $size in
	small) make_input small 1000000 && count_started small 1000000 ;;
	large) make_input large 10000000 && count_started large 10000000 ;;
	esac
done
[ "$REAL" = 1 ] && { record_real_capture || true; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for size in $SIZES; do
	case $size in
	small) measure_input small "$BENCH_DIR/small.pcap" "$TSHARK_ROUNDS" "$((ARGUS * ROUNDS))" ;;
	# tshark: ~2 min, ~7 GiB.  argus: issue 16 compares it on SMALL only.
	large) measure_input large "$BENCH_DIR/large.pcap" 0 0 ;;
	esac
done
if [ "$REAL" = 1 ]; then
	if [ -n "${SKIPPED[real]:-}" ]; then
		INPUTS+=(real)
	else
		measure_input real "$BENCH_DIR/real-churn.pcap" "$TSHARK_ROUNDS" "$((ARGUS * ROUNDS))"
	fi
fi

measure_eviction
profile_connscope

write_report >"$TMP/report.md"
echo
cat "$TMP/report.md"
cp "$TMP/report.md" "$RESULTS" || fail "cannot write $RESULTS"
if [ "$RECORD" = 1 ]; then
	# The "Live capture" section is tests/bench/live.sh's: it stays.
	live=$(sed -n '/^## Live capture$/,$p' "$RECORDED" 2>/dev/null)
	{ cat "$TMP/report.md"; [ -z "$live" ] || printf '\n%s\n' "$live"; } \
		>"$TMP/recorded.md"
	cp "$TMP/recorded.md" "$RECORDED" || fail "cannot write $RECORDED"
	say "recorded in $RECORDED"
fi
say "also in $RESULTS"
