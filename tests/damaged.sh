#!/usr/bin/env bash
# damaged.sh — connscope on damaged capture files, exhaustively.
#
# Copies of real captures (samples/mixed.pcap, a pcapng and a nanosecond
# pcap from tests/corpus/; the originals are never touched) are cut at
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
CORPUS=${CS_CORPUS:-tests/corpus}
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
# packets_in FILE: how many packet records FILE holds.
packets_in() {
	"$CAPWALK" "$1" | awk '$3 == "packet" { n++ } END { print n + 0 }'
}
# record FILE N: "OFFSET LENGTH" of the Nth packet record (0-based).
record() {
	"$CAPWALK" "$1" | awk -v n="$2" '$3 == "packet" && k++ == n { print $1, $2 }'
}
# pcapng_block TYPE: a block of an unknown type with a 4-byte body.
pcapng_block() {
	u32 "$1"; u32 16; printf 'dmgd'; u32 16
}

MIXED_N=$(packets_in "$MIXED")
PCAPNG_N=$(packets_in "$PCAPNG")
NANO_N=$(packets_in "$NANO")

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
	# A failure names the damaged file (NAMED, or the last one read); a
	# clean read says nothing at all.
	local named=${NAMED:-$RUN_LAST}
	if [ "$want_status" != 0 ]; then
		grep -qF "'$named'" "$OUT/$name.err" || WHY+="stderr does not name '$named'; "
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
	local off len kind cut ok=0 bad=0
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
		echo "ok - $label, $packets packets: $ok cuts (every record boundary, inside every record header and body): status 0 at a boundary, 2 inside a record with the packets before it, 2 with no report inside the file header"
	else
		cases_failed=$((cases_failed + 1))
		echo "not ok - $label: $bad of $((ok + bad)) cuts wrong"
	fi
}

sweep "mixed.pcap (pcap)" "$MIXED" pcap
sweep "tcp_http-on-irc-port-missing-syn.pcapng" "$PCAPNG" pcapng
sweep "tcp-handshake-nano.pcap (nanosecond pcap)" "$NANO" pcap

# ---- the file header -------------------------------------------------------------------
cp "$MIXED" "$OUT/bad_magic.pcap"
printf 'XXXX' | patch "$OUT/bad_magic.pcap" 0
expect "bad magic" bad_magic 2 - 'not a pcap or pcapng file \(magic 0x58585858\)'
: >"$OUT/zero_length.pcap"
expect "zero-length file" zero_length 2 - 'the file is empty'
head -c 10 "$MIXED" >"$OUT/short_header.pcap"
expect "10 bytes: shorter than a file header" short_header 2 - 'damaged capture file header: truncated dump file'
head -c 24 "$MIXED" >"$OUT/header_only.pcap"
expect "pcap file header and no record" header_only 0 0
cp "$MIXED" "$OUT/archaic.pcap"
printf '\x01\x00' | patch "$OUT/archaic.pcap" 4
expect "pcap version 1.4" archaic 2 - 'damaged capture file header: archaic'
cp "$MIXED" "$OUT/linktype.pcap"
u32 0x100000 | patch "$OUT/linktype.pcap" 20
expect "a link type nobody knows" linktype 0 "$MIXED_N" "linktype.pcap': link type DLT_1048576 is not decoded"

# ---- pcap record headers ------------------------------------------------------------------
read -r off len < <(record "$MIXED" 9)	# the tenth record: 9 whole ones before it
{ head -c $((off + 8)) "$MIXED"; u32 0; bytes "$MIXED" $((off + 12)) $((off + 16)); tail -c +$((off + len + 1)) "$MIXED"; } >"$OUT/caplen_0.pcap"
expect "a record with caplen 0 (and no bytes)" caplen_0 0 "$MIXED_N" '1 record with an impossible length'
cp "$MIXED" "$OUT/len_lt_caplen.pcap"
u32 $((len - 16 - 1)) | patch "$OUT/len_lt_caplen.pcap" $((off + 12))
expect "a record with len < caplen" len_lt_caplen 0 "$MIXED_N" '1 record with an impossible length'
for big in 300000 0x80000010 0xffffffff; do
	name=caplen_$(printf %u "$big")
	cp "$MIXED" "$OUT/$name.pcap"
	u32 "$big" | patch "$OUT/$name.pcap" $((off + 8))
	expect "a record with caplen $(printf %u "$big") (> 256 KiB$([ $((big)) -ge 2147483648 ] && echo ', >= 2^31'))" \
		"$name" 2 9 "damaged after 9 packets: invalid packet capture length $(printf %u "$big")"
done
# caplen > snaplen: the file header says 64 bytes.  libpcap (as tcpdump)
# keeps the first 64 bytes of each longer record and reads on; it cannot
# be told from a capture made with -s 64, so nothing more is said.
cp "$MIXED" "$OUT/caplen_gt_snaplen.pcap"
u32 64 | patch "$OUT/caplen_gt_snaplen.pcap" 16
expect "records with caplen > the file's snaplen (64)" caplen_gt_snaplen 0 "$MIXED_N"
longer=$("$CAPWALK" "$MIXED" | awk '$3 == "packet" && $2 - 16 > 64 { n++ } END { print n + 0 }')
cut_short=$(jq '.summary.truncated + .summary.skipped.truncated' "$OUT/caplen_gt_snaplen.json" 2>/dev/null)
files_all=$((files_all + 1))
if [ "$(jq .source.snaplen "$OUT/caplen_gt_snaplen.json" 2>/dev/null)" = 64 ] &&
   [ "${cut_short:-0}" -ge "$longer" ] && [ "$longer" -gt 0 ]; then
	files_ok=$((files_ok + 1))
	echo "ok - caplen > snaplen: the $longer longer records are read cut to 64 bytes ($cut_short packets cut by the snap length)"
else
	cases_failed=$((cases_failed + 1))
	echo "not ok - caplen > snaplen: snaplen $(jq .source.snaplen "$OUT/caplen_gt_snaplen.json" 2>/dev/null), $cut_short packets cut, want >= $longer"
fi

# ---- timestamps going backwards ---------------------------------------------------------------
# The 41st packet 1000 s before the 40th.  Packet time is held at the
# latest time seen, so timers (idle, 2*MSL, SYN timeout) are not disturbed:
# every connection ends exactly as in the original file.
read -r off len < <(record "$MIXED" 40)
sec=$(od -An -t u4 -j "$off" -N 4 "$MIXED" | tr -d ' ')
cp "$MIXED" "$OUT/ts_backwards.pcap"
u32 $((sec - 1000)) | patch "$OUT/ts_backwards.pcap" "$off"
expect "one packet 1000 s older than the one before" ts_backwards 0 "$MIXED_N" '1 packet is timestamped earlier than the packet before'
run original "$MIXED"
conns='[.connections[] | {orig_h, orig_p, resp_h, resp_p, outcome, conn_state, history, orig_state, resp_state, orig_pkts, resp_pkts}] | sort_by(.orig_p, .resp_p)'
files_all=$((files_all + 1))
if [ "$(jq .summary.ts_backwards "$OUT/ts_backwards.json" 2>/dev/null)" = 1 ] &&
   [ "$(jq -c "$conns" "$OUT/ts_backwards.json")" = "$(jq -c "$conns" "$OUT/original.json")" ] &&
   [ "$(jq '.connections | length' "$OUT/original.json")" -gt 0 ]; then
	files_ok=$((files_ok + 1))
	echo "ok - timestamps going backwards: summary.ts_backwards 1; all $(jq '.connections | length' "$OUT/original.json") connections end as in the original (outcome, states, history, packets)"
else
	cases_failed=$((cases_failed + 1))
	echo "not ok - timestamps going backwards: ts_backwards $(jq .summary.ts_backwards "$OUT/ts_backwards.json" 2>/dev/null) (want 1), connections differ from the original's: $(diff <(jq -c "$conns[]" "$OUT/original.json") <(jq -c "$conns[]" "$OUT/ts_backwards.json") | head -c 300)"
fi

# ---- pcapng blocks ------------------------------------------------------------------------------
read -r idb_end _ < <(record "$PCAPNG" 0)	# the first packet block follows the IDB
read -r off len < <(record "$PCAPNG" 2)	# the third packet block
# Unknown block types are skipped, as the pcapng spec asks of readers.
{ head -c "$idb_end" "$PCAPNG"; pcapng_block 0xbad; pcapng_block 0x80000001
  bytes "$PCAPNG" "$idb_end" "$off"; pcapng_block 0x0d00; tail -c +$((off + 1)) "$PCAPNG"; } >"$OUT/unknown_blocks.pcapng"
expect "pcapng: three blocks of unknown types (one local-use)" unknown_blocks 0 "$PCAPNG_N"
# A second section (SHB + IDB again) in the middle is allowed.
read -r shb_end _ < <("$CAPWALK" "$PCAPNG" | sed -n 2p)
{ head -c "$off" "$PCAPNG"; head -c "$idb_end" "$PCAPNG"; tail -c +$((off + 1)) "$PCAPNG"; } >"$OUT/two_sections.pcapng"
expect "pcapng: a second section header and IDB after 2 packets" two_sections 0 "$PCAPNG_N"
for bl in 7 8 0x7ffffff0 $((len + 4)); do
	name=block_length_$(printf %u "$bl")
	cp "$PCAPNG" "$OUT/$name.pcapng"
	u32 "$bl" | patch "$OUT/$name.pcapng" $((off + 4))
	case $bl in
	7|8) msg='length of [0-9]+ < 12' ;;
	0x*) msg='block size 2147483632 > maximum' ;;
	*)   msg="header and trailer don't match" ;;
	esac
	expect "pcapng: the third packet block's length is $(printf %u "$bl") (its trailer says $len)" "$name" 2 2 "damaged after 2 packets: .*$msg"
done
cp "$PCAPNG" "$OUT/epb_caplen.pcapng"
u32 1000 | patch "$OUT/epb_caplen.pcapng" $((off + 20))
expect "pcapng: a packet block whose caplen (1000) exceeds the block" epb_caplen 2 2 'damaged after 2 packets: .*too short'
cp "$PCAPNG" "$OUT/epb_interface.pcapng"
u32 5 | patch "$OUT/epb_interface.pcapng" $((off + 8))
expect "pcapng: a packet on interface 5, which no IDB describes" epb_interface 2 2 'damaged after 2 packets: .*interface 5'
cp "$PCAPNG" "$OUT/shb_byte_order.pcapng"
printf 'XXXX' | patch "$OUT/shb_byte_order.pcapng" 8
expect "pcapng: the section header's byte-order magic is wrong" shb_byte_order 2 - 'damaged pcapng section header: byte-order magic 0x58585858'
cp "$PCAPNG" "$OUT/shb_version.pcapng"
printf '\x02\x00' | patch "$OUT/shb_version.pcapng" 12
expect "pcapng: section header version 2.0" shb_version 2 - 'unsupported pcapng savefile version 2.0'
head -c "$shb_end" "$PCAPNG" >"$OUT/shb_only.pcapng"
expect "pcapng: a section header and nothing else" shb_only 2 - 'no Interface Description Blocks'
head -c "$idb_end" "$PCAPNG" >"$OUT/idb_only.pcapng"
expect "pcapng: section header and IDB, no packet" idb_only 0 0
{ head -c "$off" "$PCAPNG"; printf '\x0a\x0d\x0d\x0a'; u32 28; printf 'XXXX\x01\x00\x00\x00'; u32 0xffffffff; u32 0xffffffff; u32 28
  tail -c +$((off + 1)) "$PCAPNG"; } >"$OUT/bad_section.pcapng"
expect "pcapng: a second section header with a bad byte-order magic" bad_section 2 2 'damaged after 2 packets: .*byte order magic'

# ---- several files -------------------------------------------------------------------------
read -r off len < <(record "$MIXED" 50)
head -c $((off + 16 + (len - 16) / 2)) "$MIXED" >"$OUT/cut50.pcap"	# inside the 51st record
# multi DESCRIPTION NAME STATUS PACKETS STDERR-REGEX FILE...
multi() {
	local what=$1 name=$2 st=$3 pk=$4 re=$5
	shift 5
	run "$name" "$@"
	files_all=$((files_all + 1))
	if check "$name" "$st" "$pk" "$re"; then
		files_ok=$((files_ok + 1))
		echo "ok - $what: status $st, $pk packets reported"
	else
		cases_failed=$((cases_failed + 1))
		echo "not ok - $what: ${WHY%; }"
	fi
}
NAMED=$OUT/cut50.pcap multi "-r mixed.pcap -r (mixed.pcap cut in its 51st record)" two_second_damaged 2 $((MIXED_N + 50)) \
	"cut50.pcap' is damaged after 50 packets" "$MIXED" "$OUT/cut50.pcap"
NAMED=$OUT/cut50.pcap multi "-r (mixed.pcap cut in its 51st record) -r nano.pcap: the next file is still read" two_first_damaged 2 $((50 + NANO_N)) \
	"cut50.pcap' is damaged after 50 packets" "$OUT/cut50.pcap" "$NANO"
NAMED=$OUT/caplen_0.pcap multi "-r mixed.pcap -r (caplen 0 record): a warning, status 0" two_warning 0 $((2 * MIXED_N)) \
	"caplen_0.pcap': 1 record with an impossible length" "$MIXED" "$OUT/caplen_0.pcap"

echo "damaged files: $files_ok/$files_all"
[ "$cases_failed" = 0 ]
