#!/usr/bin/env bash
# integration.sh — the connscope binary on real captures and bad input.
#
# Runs $CONNSCOPE (default ./connscope) on samples/ and tests/corpus/:
# packet counts equal capinfos' (MANIFEST.tsv) and tcpdump's, the samples'
# packets, bytes and connections equal what tcpdump reads from the packets
# (and then their golden summaries), the accounting balances, malformed
# files never crash, damaged files give exit status 2 with the report of
# what was read, and the command line's errors give status 1.
# Prints one line per check and ends with "integration: N passed, N failed".
#
# CS_UPDATE_GOLDEN=1 rewrites tests/golden/ (review the diff).
# CS_QUICK=1 (used under valgrind) runs a representative subset.
set -u
cd "$(dirname "$0")/.."

CONNSCOPE=${CONNSCOPE:-./connscope}
CORPUS=${CS_CORPUS:-tests/corpus}
OUT=${CS_TEST_OUT:-tests/out/integration}
QUICK=${CS_QUICK:-0}
rm -rf "$OUT" && mkdir -p "$OUT"

passed=0
failed=0
ok()     { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# run NAME ARGS...: runs connscope, keeps stdout/stderr/status under $OUT/NAME.
run() {
	local name=$1; shift
	# shellcheck disable=SC2086  # CONNSCOPE may carry a valgrind prefix
	$CONNSCOPE "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
	echo $? >"$OUT/$name.rc"
}
rc()  { cat "$OUT/$1.rc"; }
jqo() { jq -r "$2" "$OUT/$1.out" 2>/dev/null; }

# A crash is a status above 128 (signal) or a sanitizer's report.
no_crash() {
	local name=$1 status
	status=$(rc "$name")
	if [ "$status" -ge 128 ] || grep -qE 'ERROR: (Address|Undefined|Leak)Sanitizer|runtime error:' "$OUT/$name.err"; then
		return 1
	fi
	return 0
}

balanced() {
	[ "$(jqo "$1" '.summary as $s | ($s.analysed + ([$s.skipped[]] | add)) == $s.packets')" = true ]
}

# Figures below are checked against tcpdump's reading of the packets.
for tool in jq tcpdump; do
	command -v "$tool" >/dev/null || { not_ok "'$tool' not found (make deps)"; }
done

if [ ! -d "$CORPUS" ]; then
	not_ok "corpus not found at $CORPUS (CS_CORPUS overrides)"
	echo "integration: $passed passed, $failed failed"
	exit 1
fi

# ---- the corpus is what its provenance says: every file's SHA-256 -----------
# A capture edited by accident (or by a tool that "fixes" files) would make
# every expectation below about some other file.
corpus_changed=$(cd "$CORPUS" && awk -F'\t' 'NR > 1 { print $5 "  " $1 }' MANIFEST.tsv |
	sha256sum --check --quiet 2>&1)
if [ -z "$corpus_changed" ]; then
	ok "corpus: every file matches its SHA-256 in MANIFEST.tsv"
else
	not_ok "corpus: files differ from MANIFEST.tsv: $(echo "$corpus_changed" | head -c 300)"
fi

# ---- every corpus capture: capinfos' packet count, balanced accounting -----
check_capture() {	# path expected_packets allowed_statuses
	local f=$1 want=$2 allowed=$3 name
	name=$(echo "$f" | tr '/' '_')
	run "$name" -q --json - -r "$CORPUS/$f"
	local status got
	status=$(rc "$name")
	if ! no_crash "$name"; then
		not_ok "$f: crashed (status $status): $(head -c 300 "$OUT/$name.err")"
		return
	fi
	case " $allowed " in
	*" $status "*) ;;
	*) not_ok "$f: exit status $status, expected one of $allowed: $(head -c 200 "$OUT/$name.err")"; return ;;
	esac
	got=$(jqo "$name" .summary.packets)
	if [ "$want" != "-" ] && [ "$got" != "$want" ]; then
		not_ok "$f: $got packets, capinfos counts $want"
	elif ! balanced "$name"; then
		not_ok "$f: packets != analysed + skipped"
	else
		ok "$f: $got packets, accounting balanced (status $status)"
	fi
}

while IFS=$'\t' read -r path packets; do
	case "$path" in
	zeek/*|wellformed/*) check_capture "$path" "$packets" "0" ;;
	malformed/*)         check_capture "$path" "$packets" "0 2" ;;
	esac
	if [ "$QUICK" = 1 ]; then
		case "$path" in zeek/ssh_ssh.pcap) break ;; esac
	fi
done < <(awk -F'\t' 'NR > 1 && $1 ~ /\.pcap(ng)?$/ { print $1 "\t" $7 }' "$CORPUS/MANIFEST.tsv")

# ---- wellformed corpus: tcpdump's own line counts -------------------------------
# tcpdump-line-counts.tsv holds what `tcpdump -nn -r` printed for each file
# when it entered the corpus (one line per packet at that verbosity); the
# tcpdump installed here must print as many, and connscope read as many.
while IFS=$'\t' read -r file lines _; do
	f=wellformed/$file
	run "lines_$file" -q --json - -r "$CORPUS/$f"
	now=$(tcpdump -nn -r "$CORPUS/$f" 2>/dev/null | wc -l)
	got=$(jqo "lines_$file" .summary.packets)
	if [ "$now" = "$lines" ] && [ "$got" = "$lines" ]; then
		ok "$f: $got packets, as tcpdump prints $lines lines"
	else
		not_ok "$f: connscope $got packets, tcpdump $now lines, tcpdump-line-counts.tsv $lines"
	fi
	[ "$QUICK" = 1 ] && break
done < <(tail -n +2 "$CORPUS/wellformed/tcpdump-line-counts.tsv")

# ---- samples: figures from the packets, by tcpdump ------------------------------
# A golden file below is connscope's own output, so it could freeze a wrong
# count.  Packets, bytes and connections are first checked against figures
# tcpdump gives from the same packets (-tt: a line starts with its
# timestamp; -e: the link header, with the frame's length; -S: absolute
# sequence numbers):
#   packets      lines that start with a timestamp (one per packet, even if
#                a dissector ever wraps one);
#   bytes        the sum of the frames' lengths on the wire, which -e prints
#                as "length N:" after the ethertype for EN10MB, the samples'
#                link type: the original length, not the captured one (ten
#                frames of mixed.pcap are cut at the 256-byte snap length);
#   connections  bare SYNs (S, no ACK) carrying a new ISN for their sender's
#                4-tuple -- a retransmitted SYN repeats its ISN and stays one
#                connection, a new connect() on a reused 4-tuple brings a new
#                ISN and is a second (portreuse.pcap), as in connscope, which
#                starts a record there -- plus 4-tuples that carry TCP but no
#                bare SYN at all (joined midstream: connscope opens a record
#                for those too; the samples have none).
# It prints "packets bytes connections", or "unreadable" when a packet line
# shows no frame length (another link type: this reading would not hold).
tcpdump_figures() {
	tcpdump -nn -tt -e -S -r "$1" 2>/dev/null | awk '
	!/^[0-9]+\.[0-9]+ / { next }
	{ packets++ }
	!match($0, /, length [0-9]+: /) { unreadable = 1; next }
	{ bytes += substr($0, RSTART + 9, RLENGTH - 11) }
	match($0, /: [^ ]+ > [^ ]+: Flags \[[^]]*\]/) {
		split(substr($0, RSTART + 2, RLENGTH - 2), w, " ")
		src = w[1]; dst = w[3]; sub(/:$/, "", dst)
		tuple = src < dst ? src " " dst : dst " " src
		seen[tuple] = 1
		if (w[5] !~ /^\[S[EW]*\]$/)
			next
		with_syn[tuple] = 1
		match($0, /Flags [^ ]+ seq [0-9]+/)
		isn = substr($0, RSTART, RLENGTH); sub(/.* /, "", isn)
		if (!((src " " dst " " isn) in syn))
			conns++
		syn[src " " dst " " isn] = 1
	}
	END {
		for (t in seen)
			if (!(t in with_syn))
				conns++
		if (unreadable)
			print "unreadable"
		else
			printf "%d %d %d\n", packets, bytes, conns
	}'
}

# sample_figures FILE NAME: connscope's packets, bytes and connections for
# FILE (its run NAME) against tcpdump's.
sample_figures() {
	local f=$1 name=$2 want got
	want=$(tcpdump_figures "$f")
	got=$(jqo "$name" '.summary | "\(.packets) \(.bytes) \(.connections)"')
	if [ "$got" = "$want" ]; then
		ok "$f: packets, bytes, connections $got, as tcpdump reads them"
	else
		not_ok "$f: packets, bytes, connections $got; tcpdump reads $want"
	fi
}

# ---- samples: golden JSON summaries -----------------------------------------
mkdir -p tests/golden
for f in samples/*.pcap; do
	[ -e "$f" ] || continue
	base=$(basename "$f" .pcap)
	run "sample_$base" -q --json - -r "$f"
	if [ "$(rc "sample_$base")" != 0 ]; then
		not_ok "$f: exit status $(rc "sample_$base")"
		continue
	fi
	sample_figures "$f" "sample_$base"
	# Only fields without wall-clock values, in a stable order.
	jq -S '{summary: (.summary | del(.capture_drops)), source: (.source | {kind, linktype, snaplen})}' \
		"$OUT/sample_$base.out" >"$OUT/sample_$base.golden.json"
	golden=tests/golden/$base.summary.json
	if [ "${CS_UPDATE_GOLDEN:-0}" = 1 ]; then
		cp "$OUT/sample_$base.golden.json" "$golden"
		ok "$f: golden summary written"
	elif [ ! -e "$golden" ]; then
		not_ok "$f: no golden file $golden (run with CS_UPDATE_GOLDEN=1 and review)"
	elif diff -u "$golden" "$OUT/sample_$base.golden.json" >"$OUT/sample_$base.diff"; then
		ok "$f: summary matches $golden"
	else
		not_ok "$f: summary differs from $golden: $(head -c 400 "$OUT/sample_$base.diff")"
	fi
done

# ---- the dashboard says what the report says ----------------------------------
# As a user runs it (-r FILE --json F --web): once the analysis is done,
# /api/summary's summary has every field of the report's summary with the
# same value, plus "open", and /metrics passes promtool.  check_web.c
# compares the two field by field from the code's table; this checks that
# connscope's own end (the last snapshot, then the report) keeps them equal.
web_summary() {	# sample
	local f=$1 name pid url=
	name=web_$(basename "$f" .pcap)
	# shellcheck disable=SC2086
	$CONNSCOPE -q --web 127.0.0.1:0 --json "$OUT/$name.json" -r "$f" 2>"$OUT/$name.err" &
	pid=$!
	for _ in $(seq 600); do
		if grep -q "serving the dashboard until Ctrl-C" "$OUT/$name.err"; then
			url=$(sed -n 's/.*dashboard at \(http:[^ ]*\).*/\1/p' "$OUT/$name.err")
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$url" ] && curl -sf "${url}api/summary" >"$OUT/$name.api" &&
		curl -sf "${url}metrics" >"$OUT/$name.metrics"
	local got=$?
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
	if [ -z "$url" ] || [ "$got" != 0 ]; then
		not_ok "$f --web: no answer: $(head -c 300 "$OUT/$name.err")"
		return
	fi
	local diff
	diff=$(jq -nc --slurpfile r "$OUT/$name.json" --slurpfile a "$OUT/$name.api" '
		$r[0].summary as $s | $a[0].summary as $w |
		[($s | keys_unsorted[] | select(. as $k | ($w | has($k) | not) or $s[$k] != $w[$k])),
		 (($w | keys) - ($s | keys) - ["open"])[]]' 2>&1)
	if [ "$diff" = "[]" ] && [ "$(jq .snapshot.finished "$OUT/$name.api")" = true ]; then
		ok "$f: /api/summary of the finished snapshot has the report's summary"
	else
		not_ok "$f: /api/summary and the report differ in: $diff"
	fi
	if command -v promtool >/dev/null; then
		if promtool check metrics <"$OUT/$name.metrics" >"$OUT/$name.promtool" 2>&1; then
			ok "$f: /metrics passes promtool check metrics"
		else
			not_ok "$f: promtool: $(head -c 300 "$OUT/$name.promtool")"
		fi
	fi
}
if command -v curl >/dev/null; then
	for f in samples/*.pcap; do
		[ -e "$f" ] || continue
		[ "$QUICK" = 1 ] && [ "$f" != samples/portreuse.pcap ] && continue
		web_summary "$f"
	done
else
	not_ok "curl not found: the dashboard's summary is not checked (make deps)"
fi

# ---- command line -------------------------------------------------------------
expect_status() {	# name want description args...
	local name=$1 want=$2 what=$3; shift 3
	run "$name" "$@"
	if ! no_crash "$name"; then
		not_ok "$what: crashed"
	elif [ "$(rc "$name")" = "$want" ]; then
		ok "$what: status $want ($(head -n 1 "$OUT/$name.err" | head -c 120))"
	else
		not_ok "$what: status $(rc "$name"), want $want: $(head -c 200 "$OUT/$name.err")"
	fi
}

SSH=$CORPUS/wellformed/ssh.pcap
expect_status cli_none 1 "no input"
expect_status cli_unknown 1 "unknown option" --no-such-option
expect_status cli_count 1 "-c not a number" -c abc -r "$SSH"
expect_status cli_count0 1 "-c 0" -c 0 -r "$SSH"
expect_status cli_both 1 "-r with -i" -r "$SSH" -i lo
expect_status cli_dur 1 "--duration on a file" --duration 1 -r "$SSH"
expect_status cli_bpf 1 "invalid BPF filter" -f 'tcp and and' -r "$SSH"
grep -q "tcp and and" "$OUT/cli_bpf.err" && ok "BPF error quotes the filter" || not_ok "BPF error does not quote the filter"
expect_status cli_help 0 "--help" --help
grep -q -- "-r FILE" "$OUT/cli_help.out" && ok "--help lists -r" || not_ok "--help output"

expect_status in_missing 2 "missing file" -r "$OUT/does-not-exist.pcap"
printf 'this is not a capture file at all\n' >"$OUT/text.txt"
expect_status in_text 2 "not a capture" -r "$OUT/text.txt"
grep -q "text.txt.*not a pcap or pcapng file (magic 0x74686973)" "$OUT/in_text.err" \
	&& ok "bad magic named in the message" || not_ok "bad magic message: $(cat "$OUT/in_text.err")"
: >"$OUT/empty.bin"
expect_status in_empty 2 "empty file" -r "$OUT/empty.bin"
head -c 10 "$SSH" >"$OUT/short-header.pcap"
expect_status in_shorthdr 2 "file shorter than its header" -r "$OUT/short-header.pcap"

# ---- several files, stdin, filters, -c ------------------------------------------
run multi -q --json - -r "$SSH" -r "$SSH" -r "$CORPUS/wellformed/dns_tcp.pcap"
one=$( $CONNSCOPE -q --json - -r "$SSH" | jq .summary.packets)
dns=$( $CONNSCOPE -q --json - -r "$CORPUS/wellformed/dns_tcp.pcap" | jq .summary.packets)
[ "$(jqo multi .summary.packets)" = $((2 * one + dns)) ] \
	&& ok "three files read as one stream: $((2 * one + dns)) packets" \
	|| not_ok "three files: $(jqo multi .summary.packets) packets, want $((2 * one + dns))"
[ "$(jqo multi '.source.files | length')" = 3 ] && ok "source.files lists the three files" || not_ok "source.files"

run stdin -q --json - -r - <"$SSH"
[ "$(jqo stdin .summary.packets)" = "$one" ] && ok "-r - reads standard input" || not_ok "-r - gave $(jqo stdin .summary.packets)"

run count -q --json - -c 7 -r "$SSH" -r "$SSH"
[ "$(jqo count .summary.packets)" = 7 ] && ok "-c 7 stops after 7 packets" || not_ok "-c 7 gave $(jqo count .summary.packets)"
run count2 -q --json - -c 60 -r "$SSH" -r "$SSH"
[ "$(jqo count2 .summary.packets)" = 60 ] && ok "-c 60 spans two files" || not_ok "-c 60 gave $(jqo count2 .summary.packets)"

syn_filter='tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn'
run filter -q --json - -f "$syn_filter" -r "$CORPUS/zeek/pop3_pop3.pcap"
syns=$(tcpdump -nn -r "$CORPUS/zeek/pop3_pop3.pcap" "$syn_filter" 2>/dev/null | wc -l)
[ "$(jqo filter .summary.packets)" = "$syns" ] && [ "$syns" -gt 0 ] \
	&& ok "-f keeps the $syns bare SYNs tcpdump finds" || not_ok "-f gave $(jqo filter .summary.packets), tcpdump $syns"

# A filter on a port keeps the ICMP errors quoting a segment to that port:
# they explain why its connects failed.  tcpdump counts the segments, and
# the errors by their quote: IPv4 ICMP types 3, 4, 5, 11, 12 quoting TCP
# (icmp[17], the quoted protocol) from or to the port (icmp[28:2],
# icmp[30:2]: a 20-byte quoted header, as these kernels write it); ICMPv6
# types 1-4 quoting TCP (ip6[54]) from or to it (ip6[88:2], ip6[90:2]).
quoting() {	# port
	local p=$1
	echo "(icmp and (icmp[0] = 3 or icmp[0] = 4 or icmp[0] = 5 or icmp[0] = 11 or icmp[0] = 12)" \
		"and icmp[17] = 6 and (icmp[28:2] = $p or icmp[30:2] = $p))" \
		"or (icmp6 and ip6[40] >= 1 and ip6[40] <= 4 and ip6[54] = 6" \
		"and (ip6[88:2] = $p or ip6[90:2] = $p))"
}
for case in unreachable.pcap:8093 unreachable-reject.pcap:8096 unreachable-reject.pcap:8097 \
	    unreachable.pcap:9; do
	f=samples/${case%%:*} port=${case##*:}
	name=portfilter-${case//[:.]/-}
	run "$name" -q --json - -f "tcp port $port" -r "$f"
	segs=$(tcpdump -nn -r "$f" "tcp port $port" 2>/dev/null | wc -l)
	errs=$(tcpdump -nn -r "$f" "$(quoting "$port")" 2>/dev/null | wc -l)
	got="$(jqo "$name" '[.summary.packets, .summary.icmp_errors, .source.filter, .source.filter_keeps_icmp] | @tsv')"
	want="$((segs + errs))	$errs	tcp port $port	true"
	[ "$got" = "$want" ] \
		&& ok "-f 'tcp port $port' on $f: $segs segments and the $errs ICMP errors quoting them, as tcpdump" \
		|| not_ok "-f 'tcp port $port' on $f: got '$got', want '$want'"
done
run portfilter-text -f "tcp port 8093" -r samples/unreachable.pcap
grep -q "^Filter: 'tcp port 8093', and the ICMP errors quoting a packet it matches" "$OUT/portfilter-text.out" \
	&& ok "the text report says what the filter was" || not_ok "no filter line in the text report"

# --json FILE and the text report together; the report names the file.
run both --json "$OUT/both.json" -r "$SSH"
jq -e .summary "$OUT/both.json" >/dev/null && grep -q "capture file .*ssh.pcap" "$OUT/both.out" \
	&& ok "--json FILE plus the text report" || not_ok "--json FILE plus text report"

# ---- the JSON report and conn.log: well-formed, and agreeing with each other ----
run report -q --json "$OUT/report.json" --conn-log "$OUT/report.conn.log" -r samples/mixed.pcap
if jq -e '.connections | length > 0' "$OUT/report.json" >/dev/null 2>&1; then
	ok "JSON report parses and lists connections"
else
	not_ok "JSON report does not parse or has no connections"
fi
listed=$(jq '.connections | length' "$OUT/report.json" 2>/dev/null)
[ -n "$listed" ] && [ "$listed" -gt 0 ] \
	&& [ "$(jq '[.outcomes[]] | add' "$OUT/report.json")" = "$listed" ] \
	&& [ "$(jq '.summary.connections' "$OUT/report.json")" = "$listed" ] \
	&& ok "outcome counts add up to the $listed connections listed" \
	|| not_ok "outcome counts and connections disagree (listed: ${listed:-none})"
# Zeek's header lines, exactly as Zeek writes them (zeek-cut relies on them).
zeek_fields='#fields	ts	uid	id.orig_h	id.orig_p	id.resp_h	id.resp_p	proto	service	duration	orig_bytes	resp_bytes	conn_state	local_orig	local_resp	missed_bytes	history	orig_pkts	orig_ip_bytes	resp_pkts	resp_ip_bytes	tunnel_parents'
if head -n 1 "$OUT/report.conn.log" | grep -qx '#separator \\x09' &&
   grep -qxF "$zeek_fields" "$OUT/report.conn.log" &&
   grep -qx '#path	conn' "$OUT/report.conn.log" && tail -n 1 "$OUT/report.conn.log" | grep -q '^#close	'; then
	ok "conn.log carries Zeek's header and footer lines"
else
	not_ok "conn.log header: $(head -n 8 "$OUT/report.conn.log")"
fi
rows=$(grep -vc '^#' "$OUT/report.conn.log")
cols=$(grep -v '^#' "$OUT/report.conn.log" | awk -F'\t' '{ print NF }' | sort -u | tr '\n' ' ')
[ "$cols" = "21 " ] && [ "$rows" -ge "$(jq '.connections | length' "$OUT/report.json")" ] \
	&& ok "conn.log: $rows rows of 21 fields" || not_ok "conn.log rows: $rows, field counts: $cols"
# Each JSON connection's conn_state appears in conn.log for the same tuple.
mismatch=$(jq -r '.connections[] | "\(.orig_h)\t\(.orig_p)\t\(.resp_h)\t\(.resp_p)\t\(.conn_state)\t\(.history)"' "$OUT/report.json" |
	while IFS=$'\t' read -r oh op rh rp st hi; do
		awk -F'\t' -v oh="$oh" -v op="$op" -v rh="$rh" -v rp="$rp" -v st="$st" -v hi="$hi" \
			'!/^#/ && $3 == oh && $4 == op && $5 == rh && $6 == rp && $12 == st && $16 == hi { f = 1 } END { exit !f }' \
			"$OUT/report.conn.log" || echo "$oh:$op-$rh:$rp"
	done)
[ -n "$listed" ] && [ "$listed" -gt 0 ] && [ -z "$mismatch" ] \
	&& ok "every JSON connection has its conn.log row" \
	|| not_ok "JSON connections without a conn.log row: ${mismatch:-no connections listed}"

# ---- damaged files: cut at every record boundary and inside records ----------------
# Record boundaries of the classic-pcap file, from its headers (little endian).
boundaries() {
	local f=$1 size off=24 len
	size=$(stat -c %s "$f")
	while [ "$off" -lt "$size" ]; do
		echo "$off"
		len=$(od -An -t u4 -j $((off + 8)) -N 4 "$f" | tr -d ' ')
		off=$((off + 16 + len))
	done
	echo "$size"
}
cuts_ok=0
cuts_bad=0
k=0
prev=""
for b in $(boundaries "$SSH"); do
	# At a boundary: a clean, shorter file.  Inside the next record header
	# and inside its data: damaged, k complete records before the damage.
	for cut in $b $((b + 7)) $((b + 20)); do
		[ "$cut" -le "$(stat -c %s "$SSH")" ] || continue
		head -c "$cut" "$SSH" >"$OUT/cut.pcap"
		$CONNSCOPE -q --json "$OUT/cut.json" -r "$OUT/cut.pcap" 2>"$OUT/cut.err"
		status=$?
		if [ "$cut" = "$b" ]; then want_status=0; else want_status=2; fi
		got=$(jq .summary.packets "$OUT/cut.json" 2>/dev/null)
		if [ "$status" = "$want_status" ] && [ "$got" = "$k" ] &&
		   { [ "$want_status" = 0 ] || grep -q "cut.pcap" "$OUT/cut.err"; }; then
			cuts_ok=$((cuts_ok + 1))
		else
			cuts_bad=$((cuts_bad + 1))
			[ "$cuts_bad" -le 3 ] && echo "# cut at $cut: status $status (want $want_status), $got packets (want $k): $(head -c 200 "$OUT/cut.err")"
		fi
	done
	[ "$b" != "$prev" ] && k=$((k + 1))
	prev=$b
done
[ "$cuts_bad" = 0 ] && ok "truncated copies of ssh.pcap: $cuts_ok cuts, each status 0/2 with the packets before the cut" \
	|| not_ok "truncated copies: $cuts_bad of $((cuts_ok + cuts_bad)) wrong"

echo "integration: $passed passed, $failed failed"
[ "$failed" = 0 ]
