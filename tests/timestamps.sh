#!/usr/bin/env bash
# timestamps.sh — connscope's packet time at its edges, from the command line.
#
# The tcpdump corpus's files with times past 2038 and 2106 and with
# fractions of a second that are none (tests/corpus/MANIFEST.tsv), then
# copies of samples/mixed.pcap and samples/closewait.pcap moved to 2040
# and 2105 (pcap: seconds past 2^31, read as unsigned), to the last
# microsecond of packet time (pcapng, 2^64 - 2 us) and partly before 1970
# (pcapng, a negative if_tsoffset).  The originals are never touched.
#
# Every expected time is worked out here from the bytes (od, date -u),
# never from connscope: tcpdump 4.99 prints "[Error converting time]" from
# 2038 on, so it cannot be the oracle.  A moved copy must end every
# connection and alert as the original does, times apart.  For each case:
# the exit status, standard error, the JSON report's summary and the text
# report's Time line.  One line per case, then "timestamps: N/N".
#
# Environment: CONNSCOPE (the binary), CAPWALK (the record walker),
# CS_CORPUS, OUT (scratch directory, default build/out/timestamps).
set -u
cd "$(dirname "$0")/.."

CONNSCOPE=${CONNSCOPE:-./connscope}
CAPWALK=${CAPWALK:-build/tests/capwalk}
CORPUS=${CS_CORPUS:-tests/corpus}
OUT=${OUT:-build/out/timestamps}
rm -rf "$OUT" && mkdir -p "$OUT"

MIXED=samples/mixed.pcap
CLOSEWAIT=samples/closewait.pcap
DAY=86400
Y2040=2208988800	# 2040-01-01 00:00:00 UTC
Y2105=4291660800	# 2105-12-31 00:00:00 UTC

ok=0
all=0
for need in "$MIXED" "$CLOSEWAIT" "$CORPUS/malformed/time_2038_overflow.pcap"; do
	if [ ! -e "$need" ]; then
		echo "not ok - input $need not found (CS_CORPUS overrides the corpus)"
		echo "timestamps: 0/1"
		exit 1
	fi
done
for tool in jq date od "$CAPWALK"; do
	command -v "$tool" >/dev/null || { echo "not ok - '$tool' not found (make tests; make deps)"; exit 1; }
done

# ---- bytes -------------------------------------------------------------------------
# u32 VALUE, u16 VALUE: the bytes, little endian (every input here is
# little endian).  Builtins only: they run once per record.
u32() {
	local v=$(($1)) s
	printf -v s '\\x%02x\\x%02x\\x%02x\\x%02x' $((v & 255)) $(((v >> 8) & 255)) \
		$(((v >> 16) & 255)) $(((v >> 24) & 255))
	printf "$s"
}
u16() {
	local s
	printf -v s '\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255))
	printf "$s"
}
# words FILE OFFSET N: N little-endian 32-bit words of FILE at OFFSET.
words() {
	echo $(od -An -v -t u4 -j "$2" -N $((4 * $3)) "$1")
}
# records FILE: "OFFSET LENGTH" of each packet record, in file order.
records() {
	"$CAPWALK" "$1" | awk '$3 == "packet" { print $1, $2 }'
}
# headers PCAP: "OFFSET SEC FRAC CAPLEN LEN" of each record, where capwalk
# finds them, read in one pass (mawk's %d stops at 2^31: %.0f).
headers() {
	records "$1" >"$OUT/offsets"
	od -An -v -t u1 "$1" | awk -v offs="$OUT/offsets" '
		function u32(o) { return b[o] + 256 * (b[o + 1] + 256 * (b[o + 2] + 256 * b[o + 3])) }
		{ for (i = 1; i <= NF; i++) b[n++] = $i }
		END {
			while ((getline line < offs) > 0) {
				split(line, f, " ")
				o = f[1]
				printf "%.0f %.0f %.0f %.0f %.0f\n", o, u32(o), u32(o + 4),
				       u32(o + 8), u32(o + 12)
			}
		}'
}
# frame FILE OFFSET CAPLEN: the frame of the pcap record at OFFSET.
frame() {
	dd if="$1" iflag=skip_bytes,count_bytes skip=$(($2 + 16)) count="$3" bs=65536 status=none
}
# usec_str US: microseconds as connscope writes seconds ("S.FFFFFF").
usec_str() {
	printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000))
}
# utc SEC: the text report's way of writing a second.
utc() {
	date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'
}

# ---- running connscope and judging ------------------------------------------------------
# run NAME FILE: text report on NAME.txt, JSON on NAME.json, stderr on
# NAME.err; sets STATUS.
run() {
	"$CONNSCOPE" --no-color --json "$OUT/$1.json" -r "$2" >"$OUT/$1.txt" 2>"$OUT/$1.err"
	STATUS=$?
}

# The summary's raw text for KEY (jq would round a time past 2^53 us).
summary_raw() {
	grep -oE "^    \"$2\":[^,]*" "$OUT/$1.json" | sed 's/^[^:]*://'
}

# expect_times NAME FIRST LAST INVALID: the run of NAME read without
# trouble (status 0), with these times and this many times that are none.
# FIRST and LAST as connscope writes them ("S.FFFFFF"), or null.
expect_times() {
	local name=$1 first=$2 last=$3 invalid=$4 t0 t1
	[ "$STATUS" = 0 ] || WHY+="status $STATUS; "
	grep -qE 'Sanitizer|runtime error:|assertion failed' "$OUT/$name.err" &&
		WHY+="crashed: $(head -c 200 "$OUT/$name.err"); "
	jq -e . "$OUT/$name.json" >/dev/null 2>&1 || WHY+="the JSON report is not valid JSON; "
	[ "$(summary_raw "$name" first_ts)" = "$first" ] ||
		WHY+="first_ts $(summary_raw "$name" first_ts), want $first; "
	[ "$(summary_raw "$name" last_ts)" = "$last" ] ||
		WHY+="last_ts $(summary_raw "$name" last_ts), want $last; "
	[ "$(summary_raw "$name" ts_invalid)" = "$invalid" ] ||
		WHY+="ts_invalid $(summary_raw "$name" ts_invalid), want $invalid; "
	[ "$(summary_raw "$name" ts_backwards)" = 0 ] ||
		WHY+="ts_backwards $(summary_raw "$name" ts_backwards), want 0; "
	if [ "$first" = null ]; then
		grep -q '^Time ' "$OUT/$name.txt" && WHY+="a Time line without a time; "
		return
	fi
	t0="$(utc "${first%.*}").${first#*.}"
	t1="$(utc "${last%.*}").${last#*.}"
	grep -qF "Time    $t0 UTC -> $t1 UTC" "$OUT/$name.txt" ||
		WHY+="the text report's Time line is not '$t0 UTC -> $t1 UTC': $(grep '^Time' "$OUT/$name.txt"); "
}

# expect_warning NAME FILE N: standard error names FILE's N times that
# are none, once; N 0: standard error is empty.
expect_warning() {
	local name=$1 file=$2 n=$3 what
	if [ "$n" = 0 ]; then
		[ -s "$OUT/$name.err" ] && WHY+="unexpected stderr: $(head -c 200 "$OUT/$name.err"); "
		return
	fi
	[ "$n" = 1 ] && what="1 packet has" || what="$n packets have"
	[ "$(grep -cF "'$file': $what a timestamp that is no time" "$OUT/$name.err")" = 1 ] ||
		WHY+="stderr does not say once that '$file' has $n times that are none: $(head -c 300 "$OUT/$name.err"); "
	grep -qF "$n packets have a timestamp that is no time" "$OUT/$name.txt" ||
		WHY+="the text report does not count the $n; "
}

# The reports of A and B with every time taken out: what must not depend
# on when the traffic was.
timeless() {
	jq -S 'del(.source) | del(.connections[].ts) |
	       del(.summary.first_ts, .summary.last_ts, .summary.rst_peak_at) |
	       del(.alerts[].start, .alerts[].end, .alerts[].peak_at) |
	       .alerts[].explanation |= gsub("[0-9]{2}:[0-9]{2}:[0-9]{2} UTC"; "hh:mm:ss UTC")' "$1"
}
expect_same_as() {
	local name=$1 original=$2
	[ "$(timeless "$OUT/$name.json")" = "$(timeless "$OUT/$original.json")" ] ||
		WHY+="the connections or alerts differ from the original's: $(diff <(timeless "$OUT/$original.json") <(timeless "$OUT/$name.json") | tr -s " \n" " " | head -c 300); "
}

verdict() {
	all=$((all + 1))
	if [ -z "$WHY" ]; then
		ok=$((ok + 1))
		echo "ok - $1"
	else
		echo "not ok - $1: ${WHY%; }"
	fi
}

# ---- the corpus ----------------------------------------------------------------------------

# time_2038_overflow.pcap: one record at 2^31 s, the first second a signed
# 32-bit count does not hold.
case_2038() {
	local f=$CORPUS/malformed/time_2038_overflow.pcap off sec frac
	read -r off _ < <(records "$f")
	read -r sec frac < <(words "$f" "$off" 2)
	WHY=
	run corpus_2038 "$f"
	expect_times corpus_2038 "$sec.$(printf %06d "$frac")" "$sec.$(printf %06d "$frac")" 0
	expect_warning corpus_2038 "$f" 0
	verdict "pcap seconds $sec ($(utc "$sec") UTC) are read unsigned, not as 1970"
}

# time_2106_overflow.pcapng: one enhanced packet block (microseconds: the
# interface block has no if_tsresol) whose time is 2^32 s.
case_2106() {
	local f=$CORPUS/malformed/time_2106_overflow.pcapng off hi lo us idb_len
	read -r off _ < <(records "$f")
	read -r _ _ _ hi lo < <(words "$f" "$off" 5)
	idb_len=$(words "$f" 96 1)	# the IDB after the 92-byte SHB
	us=$((hi * 4294967296 + lo))
	WHY=
	[ "$idb_len" = 20 ] || WHY+="the interface block has options ($idb_len bytes): the unit is not known here; "
	run corpus_2106 "$f"
	expect_times corpus_2106 "$(usec_str $us)" "$(usec_str $us)" 0
	expect_warning corpus_2106 "$f" 0
	verdict "pcapng time $(usec_str $us) ($(utc $((us / 1000000))) UTC) past 32-bit seconds"
}

# timestamp_invalid_{micro,nano}.pcap: fractions of 10^6 us (10^9 ns) and
# 2^31 are none; the valid records' times make the span.
case_invalid_fraction() {
	local kind=$1 f=$CORPUS/malformed/timestamp_invalid_$1.pcap
	local unit limit off sec frac us first= last= bad=0
	[ "$kind" = nano ] && unit=1000 || unit=1
	limit=$((1000000 * unit))
	while read -r off sec frac _; do
		if [ "$frac" -ge "$limit" ]; then
			bad=$((bad + 1))
			continue
		fi
		us=$((sec * 1000000 + frac / unit))
		[ -z "$first" ] || [ "$us" -lt "$first" ] && first=$us
		[ -z "$last" ] || [ "$us" -gt "$last" ] && last=$us
	done < <(headers "$f")
	WHY=
	[ "$bad" -gt 0 ] || WHY+="the file has no fraction out of range; "
	run "invalid_$kind" "$f"
	expect_times "invalid_$kind" "$(usec_str "$first")" "$(usec_str "$last")" "$bad"
	expect_warning "invalid_$kind" "$f" "$bad"
	verdict "$kind fractions: $bad of $(records "$f" | wc -l) out of range are counted as no time, none goes backwards"
}

# ---- samples, moved -----------------------------------------------------------------------

# moved_pcap SRC DST SHIFT: SRC with every record's seconds plus SHIFT.
moved_pcap() {
	local off sec
	cp "$1" "$2"
	while read -r off sec _; do
		u32 $((sec + $3)) | dd of="$2" bs=1 seek="$off" conv=notrunc status=none
	done < <(headers "$1")
}

# span SRC: microseconds from SRC's first record to its latest one, and
# the first record's time ("SPAN FIRST_US").
span() {
	local off sec frac us first= max=0
	while read -r off sec frac _; do
		us=$((sec * 1000000 + frac))
		[ -z "$first" ] && first=$us
		[ $((us - first)) -gt "$max" ] && max=$((us - first))
	done < <(headers "$1")
	echo "$max $first"
}

# as_pcapng SRC DST TSOFFSET BASE_HI BASE_LO: SRC's records as enhanced
# packet blocks, microseconds, each at (BASE_HI:BASE_LO) + its time after
# the first record (BASE_HI empty: at its own time since the epoch), with
# if_tsoffset TSOFFSET seconds when not empty.
as_pcapng() {
	local src=$1 dst=$2 tsoffset=$3 base_hi=$4 base_lo=$5
	local snap dlt off sec frac cap len first= rel hi lo pad opts=0
	read -r snap dlt < <(words "$src" 16 2)
	[ -n "$tsoffset" ] && opts=16
	{
		u32 0x0a0d0d0a; u32 28; u32 0x1a2b3c4d; u16 1; u16 0
		u32 0xffffffff; u32 0xffffffff; u32 28
		u32 1; u32 $((20 + opts)); u16 "$dlt"; u16 0; u32 "$snap"
		if [ -n "$tsoffset" ]; then
			u16 14; u16 8; u32 $((tsoffset & 0xffffffff)); u32 $(((tsoffset >> 32) & 0xffffffff))
			u16 0; u16 0
		fi
		u32 $((20 + opts))
		while read -r off sec frac cap len; do
			if [ -n "$base_hi" ]; then
				[ -z "$first" ] && first=$((sec * 1000000 + frac))
				rel=$((sec * 1000000 + frac - first))
				hi=$base_hi
				lo=$((base_lo + rel))
			else
				hi=$(((sec * 1000000 + frac) >> 32))
				lo=$(((sec * 1000000 + frac) & 0xffffffff))
			fi
			pad=$(((4 - cap % 4) % 4))
			u32 6; u32 $((32 + cap + pad)); u32 0; u32 "$hi"; u32 "$lo"
			u32 "$cap"; u32 "$len"
			frame "$src" "$off" "$cap"
			case $pad in 1) printf '\0' ;; 2) printf '\0\0' ;; 3) printf '\0\0\0' ;; esac
			u32 $((32 + cap + pad))
		done < <(headers "$src")
	} >"$dst"
}

# A sample moved by whole days to YEAR_START or later: the same connections,
# states, outcomes, alerts and sentences (times of day unchanged), its span
# moved by as much.
case_moved_pcap() {
	local src=$1 to=$2 label=$3 name sp first shift
	name=$(basename "$src" .pcap)_$label
	read -r sp first < <(span "$src")
	shift=$((((to - first / 1000000) / DAY + 1) * DAY))
	moved_pcap "$src" "$OUT/$name.pcap" "$shift"
	WHY=
	run "$name" "$OUT/$name.pcap"
	expect_times "$name" "$(usec_str $((first + shift * 1000000)))" \
		"$(usec_str $((first + sp + shift * 1000000)))" 0
	expect_warning "$name" "$OUT/$name.pcap" 0
	expect_same_as "$name" "$(basename "$src" .pcap)"
	verdict "$(basename "$src") moved $((shift / DAY)) days to $(utc $((first / 1000000 + shift))) UTC ends every connection as the original"
}

# A sample as pcapng whose latest record is at the last packet time,
# 2^64 - 2 us (0xffffffff:0xfffffffe): idle, 2*MSL, SYN and Zeek's timers
# all run past the end.
case_end_of_time() {
	local src=$1 name sp first lo_dec first_str
	name=$(basename "$src" .pcap)_end
	read -r sp first < <(span "$src")
	as_pcapng "$src" "$OUT/$name.pcapng" "" 0xffffffff $((0xfffffffe - sp))
	# 2^64 - 2 = 18446744073 * 10^9 + 709551614; the first record is sp
	# before it (sp < 709551614: a sample spans minutes at most)
	lo_dec=$(printf %09d $((709551614 - sp)))
	first_str="18446744073${lo_dec:0:3}.${lo_dec:3}"
	WHY=
	[ "$sp" -lt 709551614 ] || WHY+="the sample spans too long for this arithmetic; "
	run "$name" "$OUT/$name.pcapng"
	expect_times "$name" "$first_str" "18446744073709.551614" 0
	expect_warning "$name" "$OUT/$name.pcapng" 0
	expect_same_as "$name" "$(basename "$src" .pcap)"
	verdict "$(basename "$src") ending at 2^64 - 2 us ($(utc 18446744073709) UTC) ends every connection as the original"
}

# mixed.pcap as pcapng with if_tsoffset -(first second + 5): the records of
# its first 5 s fall before 1970 (no time), the rest from 1970-01-01.
case_before_1970() {
	local src=$MIXED name=mixed_pre1970 off sec frac us first_sec tsoffset
	local bad=0 first= last=
	read -r first_sec _ < <(words "$src" 24 1)
	tsoffset=$((-(first_sec + 5)))
	while read -r off sec frac _; do
		if [ $((sec + tsoffset)) -lt 0 ]; then
			bad=$((bad + 1))
			continue
		fi
		us=$(((sec + tsoffset) * 1000000 + frac))
		[ -z "$first" ] || [ "$us" -lt "$first" ] && first=$us
		[ -z "$last" ] || [ "$us" -gt "$last" ] && last=$us
	done < <(headers "$src")
	as_pcapng "$src" "$OUT/$name.pcapng" "$tsoffset" "" ""
	WHY=
	[ "$bad" -gt 0 ] && [ -n "$first" ] || WHY+="the copy should have times on both sides of 1970; "
	run "$name" "$OUT/$name.pcapng"
	expect_times "$name" "$(usec_str "$first")" "$(usec_str "$last")" "$bad"
	expect_warning "$name" "$OUT/$name.pcapng" "$bad"
	[ "$(jq .summary.packets "$OUT/$name.json")" = "$(records "$src" | wc -l)" ] ||
		WHY+="not every packet was read; "
	verdict "pcapng with if_tsoffset $tsoffset: the $bad packets before 1970 are counted as no time, the rest read from $(utc 0) UTC"
}

run mixed "$MIXED"
run closewait "$CLOSEWAIT"
case_2038
case_2106
case_invalid_fraction micro
case_invalid_fraction nano
case_moved_pcap "$MIXED" "$Y2040" 2040
case_moved_pcap "$CLOSEWAIT" "$Y2105" 2105
case_end_of_time "$MIXED"
case_end_of_time "$CLOSEWAIT"
case_before_1970

echo "timestamps: $ok/$all"
[ "$ok" = "$all" ]
