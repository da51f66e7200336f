#!/usr/bin/env bash
# run.sh — how fast connscope reads a capture, and in how much memory,
# measured against the libpcap floor and against tshark.
#
#   make bench                      SMALL (1 M packets) and LARGE (10 M, 1.6 GB)
#   make bench BENCH_SIZES=small    SMALL only
#   make bench BENCH_REAL=1         also a real capture of connection churn (root)
#   make bench BENCH_RECORD=1       also write tests/bench/RESULTS.md
#
# The inputs are made by the project's own generator, tests/tools/workload.c
# (`workload -n 1000000 -s 1` and `-n 10000000 -s 1`), and the floor is its
# own tests/tools/pcapfloor.c; both are built into BENCH_BUILD here.  Each
# input is read in BENCH_ROUNDS rounds; a round runs, one after another,
#   build/bench/pcapfloor FILE                       the floor
#   YARDSTICK/pcap-floor FILE, flow-floor FILE       only with BENCH_YARDSTICK
#   connscope -r FILE >/dev/null                     the text report
#   connscope -r FILE --json $BENCH_DIR/out.json     the JSON report as well
#   tshark -q -z conv,tcp -r FILE                    first rounds only; not on LARGE
# so that whatever else the machine does slows all of them alike: "x floor"
# and "x tshark" are medians of the ratios taken round by round, never ratios
# of medians taken minutes apart.  tests/bench/README.md says more.
#
# Figures are not assertions: a missed target prints "not met" and the run
# still succeeds.  It fails (exit 1) only when a tool fails: a build, an
# input that cannot be made, a command exiting non-zero, connscope reading
# a different number of packets than the floor.
#
# Knobs (environment; the Makefile passes CONNSCOPE and BENCH_BUILD):
#   BENCH_SIZES          inputs to measure, "small large" (either may go)
#   BENCH_ROUNDS         rounds per input, 1..50 (5)
#   BENCH_TSHARK_ROUNDS  rounds that also run tshark, 0..BENCH_ROUNDS (3)
#   BENCH_REAL           1: also measure a real capture, recorded once by
#                        tests/bench/record-real.sh (root, tcpdump)
#   BENCH_YARDSTICK      a folder holding pcap-floor.c and/or flow-floor.c,
#                        readers from outside the project: built here with
#                        libpcap and measured as extra rows (optional)
#   BENCH_RECORD         1: also write tests/bench/RESULTS.md
#   BENCH_NOTE           a sentence for the report on the circumstances
#                        ("a CI run used the other core")
#   BENCH_DIR            where inputs and the JSON report go (/tmp/connscope-bench)
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
NOTE=${BENCH_NOTE:-}
RESULTS=$TOOLS/results.md
RECORDED=tests/bench/RESULTS.md

# The targets of issue 6: text report within 2x the floor, JSON within 3x,
# 50x faster than tshark, flat memory.
TARGET_FLOOR_TEXT=2.0
TARGET_FLOOR_JSON=3.0
TARGET_TSHARK=50
declare -A TARGET_RSS_MIB=([small]=64 [large]=100)

declare -A WALL_US   # "input,tool" -> wall microseconds of each round, in order
declare -A RSS_KB    # "input,tool" -> the largest peak RSS of the rounds
declare -A PACKETS   # input -> packets in the file, as the floor counted them
declare -A SKIPPED   # input -> why it was not measured
INPUTS=()            # in the order measured
YARD_TOOLS=()        # yardstick tools built: ypcap (pcap-floor), yflow (flow-floor)
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
}

# build_tool, pcap_libs (PCAP_LIBS), make_input
. tests/bench/inputs.sh

# The floor and the generator, from tests/tools/, every run (a second).
build_tools() {
	pcap_libs
	build_tool pcapfloor "${PCAP_LIBS[@]}"
	build_tool workload
}

# Readers from outside the project, when BENCH_YARDSTICK names a folder
# that holds them: each source found is built into $TOOLS/yardstick with
# libpcap, as its own notes say to build it, and measured in every round.
# They are a second opinion on the floor, never needed.
build_yardstick() {
	[ -n "$YARDSTICK" ] || return 0
	[ -d "$YARDSTICK" ] || fail "BENCH_YARDSTICK: '$YARDSTICK' is not a folder"
	mkdir -p "$TOOLS/yardstick" || fail "cannot create $TOOLS/yardstick"
	local key src
	pcap_libs
	for key in ypcap yflow; do
		src=$YARDSTICK/$(yard_name "$key").c
		[ -f "$src" ] || continue
		cc -O2 -g -o "$TOOLS/yardstick/$(yard_name "$key")" "$src" "${PCAP_LIBS[@]}" ||
			fail "BENCH_YARDSTICK: cannot build $src"
		YARD_TOOLS+=("$key")
	done
	((${#YARD_TOOLS[@]})) || fail "BENCH_YARDSTICK: no pcap-floor.c or flow-floor.c in '$YARDSTICK'"
	say "yardstick: $(for key in "${YARD_TOOLS[@]}"; do yard_name "$key"; done | tr '\n' ' ')from $YARDSTICK"
}

yard_name() { case $1 in ypcap) echo pcap-floor ;; yflow) echo flow-floor ;; esac; }
yard_list() { local t; for t in "${YARD_TOOLS[@]}"; do printf ', %s' "$(yard_name "$t")"; done; }

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

# A benchmark of a reader that stopped early would flatter it: connscope's
# summary.packets (the JSON's "summary" opens with it) must equal the floor's
# count.  Only the end of the file is read, since on LARGE it is large.
check_packet_count() { # INPUT JSON
	local got
	got=$(tail -c 65536 "$2" | tr -d ' \n' | grep -o '"summary":{"packets":[0-9]*' | grep -o '[0-9]*$')
	if [ -z "$got" ]; then
		say "$1: no summary.packets at the end of $2; packet count not compared"
	elif [ "$got" != "${PACKETS[$1]}" ]; then
		fail "$1: connscope read $got packets, pcapfloor ${PACKETS[$1]}"
	fi
}

measure_input() { # NAME FILE TSHARK_ROUNDS
	local name=$1 file=$2 tshark_rounds=$3 json=$BENCH_DIR/out.json round line tool got
	[ -s "$file" ] || fail "input $file is missing or empty"
	INPUTS+=("$name")
	say "$name: $file, $ROUNDS rounds (tshark in $tshark_rounds)"
	# Read the file once so that the first round does not pay for the disk
	# (the reference machine keeps little idle page cache).
	cat "$file" >/dev/null
	for ((round = 1; round <= ROUNDS; round++)); do
		run_timed "$name" floor "$TMP/floor.txt" "$TOOLS/pcapfloor" "$file"
		line="floor $(seconds "$LAST_US") s"
		for tool in "${YARD_TOOLS[@]}"; do
			run_timed "$name" "$tool" "$TMP/$tool.txt" \
				"$TOOLS/yardstick/$(yard_name "$tool")" "$file"
			line+=", $(yard_name "$tool") $(seconds "$LAST_US") s"
		done
		run_timed "$name" text /dev/null "$CONNSCOPE" -r "$file"
		line+=", connscope $(seconds "$LAST_US") s"
		run_timed "$name" json /dev/null "$CONNSCOPE" -r "$file" --json "$json"
		line+=", --json $(seconds "$LAST_US") s"
		if ((round <= tshark_rounds)); then
			run_timed "$name" tshark /dev/null tshark -q -z conv,tcp -r "$file"
			line+=", tshark $(seconds "$LAST_US") s"
		fi
		say "  round $round/$ROUNDS: $line"
	done
	PACKETS[$name]=$(sed -n 's/^packets=\([0-9]*\).*/\1/p' "$TMP/floor.txt")
	[ -n "${PACKETS[$name]}" ] || fail "pcapfloor printed no packet count for $file"
	for tool in "${YARD_TOOLS[@]}"; do
		got=$(sed -n 's/^packets=\([0-9]*\).*/\1/p' "$TMP/$tool.txt")
		[ "$got" = "${PACKETS[$name]}" ] ||
			fail "$name: $(yard_name "$tool") read '$got' packets, pcapfloor ${PACKETS[$name]}"
	done
	check_packet_count "$name" "$json"
	rm -f "$json"
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
	ypcap) echo "pcap-floor (yardstick)" ;;
	yflow) echo "flow-floor (yardstick)" ;;
	text) echo "connscope -r" ;;
	json) echo "connscope -r --json" ;;
	tshark) echo "tshark -q -z conv,tcp" ;;
	esac
}

# The targets this row is held to, each with met / not met.
row_targets() { # INPUT TOOL XFLOOR XTSHARK RSS_MIB
	local input=$1 tool=$2 xfloor=$3 xtshark=$4 rss=$5 limit out
	case $tool in
	text) limit=$TARGET_FLOOR_TEXT ;;
	json) limit=$TARGET_FLOOR_JSON ;;
	*) echo "—"; return ;;
	esac
	out="≤ ${limit}× floor: $(met at_most "$xfloor" "$limit")"
	limit=${TARGET_RSS_MIB[$input]:-}
	[ -n "$limit" ] && out+="; ≤ $limit MiB: $(met at_most "$rss" "$limit")"
	if [ "$input" = small ]; then
		out+="; ≥ ${TARGET_TSHARK}× faster than tshark: "
		if [ -n "$xtshark" ]; then
			out+=$(met at_most "$TARGET_TSHARK" "$xtshark")
		else
			out+="not measured"
		fi
	fi
	echo "$out"
}

# Why a row has no figures: only tshark's can be missing.
why_not_run() { # INPUT
	if [ "$1" = large ]; then
		echo "not run on LARGE (minutes, and GiBs of memory)"
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
			"$(why_not_run "$input") | | | | | |"
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
		for tool in floor "${YARD_TOOLS[@]}" text json tshark; do
			table_row "$input" "$tool"
		done
	done
	echo
	echo "$ROUNDS rounds per input, each running pcapfloor$(yard_list), connscope and connscope --json"
	echo "one after another, and tshark too in the first $TSHARK_ROUNDS (never on LARGE). Wall seconds:"
	echo "whole processes, median of the rounds. x floor: the median of the rounds' ratios to"
	echo "pcapfloor (lower is better). x tshark: the median of tshark's time divided by the row's,"
	echo "i.e. how many times faster than tshark. Peak RSS: the largest of the rounds."
	if ((${#YARD_TOOLS[@]})); then
		echo "Yardstick rows: readers from outside the project (BENCH_YARDSTICK), a second"
		echo "opinion on the floor; no target applies to them."
	fi
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
	((${#YARD_TOOLS[@]})) && echo "- yardstick (BENCH_YARDSTICK):$(yard_list)"
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
}

# ---- main --------------------------------------------------------------------------

check_prerequisites
mkdir -p "$BENCH_DIR" "$TOOLS" || fail "cannot create $BENCH_DIR and $TOOLS"
build_tools
build_yardstick
for size in $SIZES; do
	case $size in
	small) make_input small 1000000 ;;
	large) make_input large 10000000 ;;
	esac
done
[ "$REAL" = 1 ] && { record_real_capture || true; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for size in $SIZES; do
	case $size in
	small) measure_input small "$BENCH_DIR/small.pcap" "$TSHARK_ROUNDS" ;;
	large) measure_input large "$BENCH_DIR/large.pcap" 0 ;; # tshark: ~2 min, ~7 GiB
	esac
done
if [ "$REAL" = 1 ]; then
	if [ -n "${SKIPPED[real]:-}" ]; then
		INPUTS+=(real)
	else
		measure_input real "$BENCH_DIR/real-churn.pcap" "$TSHARK_ROUNDS"
	fi
fi

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
