#!/usr/bin/env bash
# damaged.sh — connscope on damaged capture files, exhaustively.
#
# Copies of real captures (samples/mixed.pcap, a pcapng and a nanosecond
# pcap from ../shared/corpus/; the originals are never touched) are cut at
# every record boundary and inside every record header and body, and
# damaged in the ways README.md's "Damaged input" table lists.  Where the
# whole records lie is found by tests/tools/capwalk (the framing only),
# never by connscope.  For each case: the exit status, the message on
# standard error (it names the file), and the report of what was read:
# summary.packets in the JSON report (which must still parse) and in the
# text report.  One line per case, then "damaged files: N/N".
#
# Environment: CONNSCOPE (the binary), CAPWALK (the walker), CS_CORPUS,
# OUT (scratch directory, default build/out/damaged).
set -u
cd "$(dirname "$0")/.."

CONNSCOPE=${CONNSCOPE:-./connscope}
CAPWALK=${CAPWALK:-build/tests/capwalk}
CORPUS=${CS_CORPUS:-../shared/corpus}
OUT=${OUT:-build/out/damaged}
rm -rf "$OUT" && mkdir -p "$OUT"

MIXED=samples/mixed.pcap
PCAPNG=$CORPUS/zeek/tcp_http-on-irc-port-missing-syn.pcapng
NANO=$CORPUS/wellformed/tcp-handshake-nano.pcap

files_ok=0		# damaged files that behaved as documented
files_all=0
cases_failed=0

for need in "$MIXED" "$PCAPNG" "$NANO"; do
	if [ ! -e "$need" ]; then
		echo "not ok - input $need not found (CS_CORPUS overrides the corpus)"
		echo "damaged files: 0/1"
		exit 1
	fi
done
for tool in jq "$CAPWALK"; do
	command -v "$tool" >/dev/null || { echo "not ok - '$tool' not found (make tests; make deps)"; exit 1; }
done

# ---- building damaged copies -------------------------------------------------
# u32 VALUE: four bytes, little endian (every input here is little endian).
u32() {
	local v=$(($1)) i
	for i in 0 8 16 24; do
		printf "\\x$(printf %02x $(((v >> i) & 255)))"
	done
}
# patch FILE OFFSET: standard input overwrites FILE's bytes at OFFSET.
patch() {
	dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# bytes FILE FROM TO: FILE's bytes [FROM, TO).
bytes() {
	tail -c +$(($2 + 1)) "$1" | head -c $(($3 - $2))
}
# record FILE N: "OFFSET LENGTH" of the Nth packet record (0-based).
record() {
	"$CAPWALK" "$1" | awk -v n="$2" '$3 == "packet" && k++ == n { print $1, $2 }'
}
# pcapng_block TYPE: a block of an unknown type with a 4-byte body.
pcapng_block() {
	u32 "$1"; u32 16; printf 'dmgd'; u32 16
}

# ---- running connscope ---------------------------------------------------------
# run NAME FILE...: connscope -r each FILE, with the text report on stdout
# and the JSON report in NAME.json; sets STATUS.
run() {
	local name=$1 args=() f
	shift
	for f in "$@"; do args+=(-r "$f"); done
	RUN_LAST=${!#}
	rm -f "$OUT/$name.json"
	$CONNSCOPE --no-color --json "$OUT/$name.json" "${args[@]}" \
		>"$OUT/$name.txt" 2>"$OUT/$name.err"
	STATUS=$?
}

# check NAME STATUS PACKETS [STDERR-REGEX]: what the last run of NAME must
# have given.  PACKETS "-" means no report at all (the file could not be
# opened).  Sets WHY to what differed; returns 1 if anything did.
check() {
	local name=$1 want_status=$2 want_packets=$3 want_err=${4:-} got
	WHY=
	if [ "$STATUS" -ge 128 ] || grep -qE 'Sanitizer|runtime error:' "$OUT/$name.err"; then
		WHY="crashed (status $STATUS): $(head -c 200 "$OUT/$name.err")"
		return 1
	fi
	[ "$STATUS" = "$want_status" ] || WHY="status $STATUS, want $want_status; "
	if [ "$want_packets" = - ]; then
		[ -s "$OUT/$name.json" ] && WHY+="a JSON report without any input; "
		[ -s "$OUT/$name.txt" ] && WHY+="a text report without any input; "
	else
		got=$(jq -e .summary.packets "$OUT/$name.json" 2>/dev/null) ||
			WHY+="the JSON report is missing or not valid JSON; "
		[ -n "$got" ] && [ "$got" != "$want_packets" ] &&
			WHY+="JSON: $got packets, want $want_packets; "
		grep -Eq "^Packets +$want_packets read" "$OUT/$name.txt" ||
			WHY+="the text report does not say 'Packets $want_packets read'; "
	fi
	# A failure names the file; a clean read says nothing at all.
	if [ "$want_status" != 0 ]; then
		grep -qF "'$RUN_LAST'" "$OUT/$name.err" || WHY+="stderr does not name '$RUN_LAST'; "
	elif [ -z "$want_err" ] && [ -s "$OUT/$name.err" ]; then
		WHY+="unexpected stderr: $(head -c 200 "$OUT/$name.err"); "
	fi
	if [ -n "$want_err" ]; then
		[ "$(grep -cE "$want_err" "$OUT/$name.err")" = 1 ] ||
			WHY+="stderr should say /$want_err/ once: $(head -c 300 "$OUT/$name.err"); "
	fi
	[ -z "$WHY" ]
}

# expect DESCRIPTION NAME STATUS PACKETS [STDERR-REGEX]: runs connscope on
# $OUT/NAME.{pcap,pcapng} and prints the case's line.
expect() {
	local what=$1 name=$2 file
	shift 2
	file=$(ls "$OUT/$name".pcap* 2>/dev/null | head -n 1)
	run "$name" "$file"
	files_all=$((files_all + 1))
	if check "$name" "$@"; then
		files_ok=$((files_ok + 1))
		echo "ok - $what: status $1, $( [ "$2" = - ] && echo "no report" || echo "$2 packets reported")$(
			[ "$1" != 0 ] || [ -n "${3:-}" ] && printf ' (%s)' "$(head -n 1 "$OUT/$name.err" | cut -c 1-110)")"
	else
		cases_failed=$((cases_failed + 1))
		echo "not ok - $what: ${WHY%; }"
	fi
}

# ---- cuts at every record boundary and inside every record --------------------------
# sweep LABEL FILE EXT: for every record of FILE, cuts at its start, inside
# its header, in the middle of its body and one byte before its end, and
# one at the end of the file.  Whole packet records before the cut decide
# the count; a cut before the end of the last "header" record (what libpcap
# needs to open the file) is an unreadable file with no report.
sweep() {
	local label=$1 src=$2 ext=$3 size walk header_end=0 packets=0
	local off len kind cut in_header ok=0 bad=0 n=0
	local -A boundary=() before=()
	size=$(stat -c %s "$src")
	walk=$("$CAPWALK" "$src") || { echo "not ok - $label: capwalk cannot walk $src"; cases_failed=$((cases_failed + 1)); return; }
	# Packets whole before each record starts.
	while read -r off len kind; do
		[ "$off" = end ] && break
		boundary[$off]=1
		before[$off]=$packets
		[ "$kind" = header ] && header_end=$((off + len))
		[ "$kind" = packet ] && packets=$((packets + 1))
	done <<<"$walk"
	boundary[$size]=1
	before[$size]=$packets
	# pcap: a 16-byte record header; pcapng: 8 bytes of type and length.
	local hdr=16
	[ "$ext" = pcapng ] && hdr=8
	while read -r off len kind; do
		[ "$off" = end ] && break
		for cut in "$off" $((off + hdr / 2)) $((off + hdr + (len - hdr) / 2)) $((off + len - 1)) ; do
			n=$((n + 1))
			head -c "$cut" "$src" >"$OUT/cut.$ext"
			run cut "$OUT/cut.$ext"
			if [ "$cut" -lt "$header_end" ]; then
				check cut 2 -
			elif [ -n "${boundary[$cut]:-}" ]; then
				check cut 0 "${before[$cut]}"
			else	# inside this record: the ones before it are whole
				check cut 2 "${before[$off]}" "damaged after ${before[$off]} packets"
			fi
			if [ $? = 0 ]; then
				ok=$((ok + 1))
			else
				bad=$((bad + 1))
				[ "$bad" -le 3 ] && echo "# $label cut at byte $cut: $WHY"
			fi
		done
	done <<<"$walk"
	# and the whole file
	cp "$src" "$OUT/cut.$ext"
	run cut "$OUT/cut.$ext"
	if check cut 0 "$packets"; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "# $label uncut: $WHY"; fi
	files_all=$((files_all + ok + bad))
	files_ok=$((files_ok + ok))
	if [ "$bad" = 0 ]; then
		echo "ok - $label: $ok cuts (every record boundary, inside every record header and body): status 0 at a boundary, 2 inside a record with the packets before it, 2 with no report inside the file header"
	else
		cases_failed=$((cases_failed + 1))
		echo "not ok - $label: $bad of $((ok + bad)) cuts wrong"
	fi
}

sweep "mixed.pcap (pcap, 92 packets)" "$MIXED" pcap
sweep "tcp_http-on-irc-port-missing-syn.pcapng (pcapng, 13 packets)" "$PCAPNG" pcapng
sweep "tcp-handshake-nano.pcap (nanosecond pcap, 3 packets)" "$NANO" pcap

echo "damaged files: $files_ok/$files_all"
[ "$cases_failed" = 0 ]
