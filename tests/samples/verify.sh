#!/usr/bin/env bash
# verify.sh — connscope's report on samples/ against the ground truth.
#
#   CONNSCOPE=./connscope bash tests/samples/verify.sh [SAMPLES_DIR [EXPECTED_DIR]]
#
# check.sh shows that the files in tests/samples/ describe the packets;
# this one shows that connscope says the same.  For every NAME.pcap with
# ground truth it reads the JSON report and compares:
#   NAME.expected.tsv         connection by connection, in the order they
#                             began: outcome, who reset and why, both
#                             endpoints' states, the ICMP error;
#   NAME.expected-counts.tsv  the number of connections per outcome and per
#                             state of each side (exact: what is not
#                             listed must be 0); the wire counts are for
#                             the alert details below;
#   NAME.expected-alerts.tsv  exactly these alerts (type and target), and
#                             their figures where the wire counts fix them.
# Needs jq.  Ends with "verify: N passed, N failed"; status 0 when nothing
# failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SAMPLES=${1:-$HERE/../../samples}
EXPECTED=${2:-$HERE}
CONNSCOPE=${CONNSCOPE:-./connscope}
OUT=${OUT:-tests/out/samples}

passed=0
failed=0
ok()     { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

command -v jq >/dev/null || { echo "verify: jq not found"; exit 2; }
mkdir -p "$OUT"

# The report's connections as expected.tsv rows, in the order they began
# (ties: the order connscope opened them).
connection_rows() {
	jq -r '.connections | sort_by(.ts, .id)[] |
		[.orig_p, .resp_h, .resp_p, .outcome,
		 (.rst.by // "-"), (.rst.cause // "-"),
		 .orig_state, .resp_state,
		 (.icmp.type // "-"), (.icmp.code // "-")] | @tsv' "$1"
}

# kind, name, count for every outcome and side state the report holds.
count_rows() {
	jq -r '.connections as $c |
		(["connections", "all", ($c | length)]),
		($c | group_by(.outcome)[] | ["outcome", .[0].outcome, length]),
		($c | group_by(.orig_state)[] | ["orig_state", .[0].orig_state, length]),
		($c | group_by(.resp_state)[] | ["resp_state", .[0].resp_state, length])
		| @tsv' "$1" | sort
}

# type and target of every alert, written as the ground truth writes them.
alert_rows() {
	jq -r '.alerts[] |
		def bracket(h): if (h | test(":")) then "[" + h + "]" else h end;
		[.type,
		 (if .type == "time_wait_buildup" then .host
		  elif .type == "port_reuse"
		  then "\(bracket(.host)):\(.example_port)->\(.peer)"
		  elif .type == "rst_backscatter" then .host
		  elif .type == "port_scan"
		  then (if .peer then "\(.host)->\(.peer)" else "\(.host) port \(.port)" end)
		  else .target end)] | @tsv' "$1" | sort
}

# wire KEY from a counts file, or empty.
wire() { awk -F'\t' -v k="$2" '$1 == "wire" && $2 == k { print $3 }' "$1"; }

# The figures of the alerts that the packets fix.
check_alert_figures() {
	local name=$1 json=$2 counts=$3 rows=$4 want got
	if [ -f "$counts" ]; then
		want=$(wire "$counts" syn)
		if [ -n "$want" ] && jq -e '.alerts[] | select(.type == "syn_flood")' "$json" >/dev/null; then
			got=$(jq '[.alerts[] | select(.type == "syn_flood") | .syns_total] | add' "$json")
			[ "$got" = "$want" ] && ok "$name: syn_flood counts all $want SYNs" ||
				not_ok "$name: syn_flood syns_total $got, the wire has $want"
			want=$(wire "$counts" distinct_sources)
			got=$(jq '[.alerts[] | select(.type == "syn_flood") | .sources] | add' "$json")
			[ "$got" = "$want" ] && ok "$name: syn_flood names $want sources" ||
				not_ok "$name: syn_flood sources $got, the wire has $want"
		fi
		want=$(awk -F'\t' '$1 == "orig_state" && $2 == "TIME_WAIT" { print $3 }' "$counts")
		if [ -n "$want" ] && jq -e '.alerts[] | select(.type == "time_wait_buildup")' "$json" >/dev/null; then
			got=$(jq '[.alerts[] | select(.type == "time_wait_buildup") | .time_wait] | max' "$json")
			[ "$got" = "$want" ] && ok "$name: time_wait_buildup peaks at $want" ||
				not_ok "$name: time_wait_buildup time_wait $got, expected $want"
		fi
	fi
	if [ -f "$counts" ] && [ -n "$(wire "$counts" ports_probed)" ]; then
		for k in syns:syn ports_probed:ports_probed open:open refused:refused silent:silent; do
			want=$(wire "$counts" "${k#*:}")
			got=$(jq "[.alerts[] | select(.type == \"port_scan\") | .${k%%:*}] | add" "$json")
			[ "$got" = "$want" ] && ok "$name: port_scan ${k%%:*} $want" ||
				not_ok "$name: port_scan ${k%%:*} $got, the wire has $want"
		done
	fi
	if [ -f "$counts" ] && [ -n "$(wire "$counts" rst_peers)" ]; then
		for k in rsts:rst rst_acks:rst_ack peers:rst_peers; do
			want=$(wire "$counts" "${k#*:}")
			got=$(jq "[.alerts[] | select(.type == \"rst_backscatter\") | .${k%%:*}] | add" "$json")
			[ "$got" = "$want" ] && ok "$name: rst_backscatter ${k%%:*} $want" ||
				not_ok "$name: rst_backscatter ${k%%:*} $got, the wire has $want"
		done
	fi
	if [ -f "$rows" ] && jq -e '.alerts[] | select(.type == "close_wait_buildup")' "$json" >/dev/null; then
		want=$(awk -F'\t' 'NR > 1 && $8 == "CLOSE_WAIT"' "$rows" | wc -l)
		got=$(jq '[.alerts[] | select(.type == "close_wait_buildup") | .close_wait] | max' "$json")
		[ "$got" = "$want" ] && ok "$name: close_wait_buildup peaks at $want" ||
			not_ok "$name: close_wait_buildup close_wait $got, expected $want"
	fi
}

# The diagnosis of connections whose SYN an older connection answered,
# from the packets: a bare ACK from the responder before any SYN-ACK that
# does not acknowledge the SYN, then the originator's bare RST with that
# acknowledgment as its sequence number (RFC 9293 3.10.7.3).  The delay is
# from the first SYN to the last SYN before the SYN-ACK, in microseconds.
old_conn_notes() {
	tcpdump -nn -tt -S -r "$1" 2>/dev/null | awk '
	function us(t,   a) { split(t, a, "."); return a[1] * 1000000 + a[2] }
	function tok(name,   i, v) {
		for (i = 6; i < NF; i++) if ($i == name) { v = $(i + 1); sub(/,$/, "", v); return v }
		return "" }
	$6 == "Flags" {
		src = $3; dst = $5; sub(/:$/, "", dst); fl = $7; gsub(/[\[\],]/, "", fl)
		if (fl == "S") {
			if (!(src in first) || (src in done)) { first[src] = us($1); delete done[src]; delete rst[src]; delete synack[src]; delete oldack[src]; isn[src] = tok("seq") }
			last[src] = us($1); peer[dst] = src; next }
		if (fl == "." && (dst in first) && !(dst in synack) && tok("ack") != isn[dst] + 1) { oldack[dst] = tok("ack"); next }
		if (fl == "R" && (src in oldack) && tok("seq") == oldack[src]) { rst[src] = 1; next }
		if (fl == "S." && (dst in first)) { synack[dst] = 1; if (rst[dst]) {
			n = split(dst, a, "."); d = last[dst] - first[dst]
			printf "%s\tconnect delayed %d.%06d s: the server answered the SYN with an ACK for an older connection on this 4-tuple; the client reset it and retried\n", a[n], d / 1000000, d % 1000000 }
			done[dst] = 1 }
	}' | sort
}

verify_sample() {
	local pcap=$1 name json rows counts alerts
	name=$(basename "$pcap" .pcap)
	rows=$EXPECTED/$name.expected.tsv
	counts=$EXPECTED/$name.expected-counts.tsv
	alerts=$EXPECTED/$name.expected-alerts.tsv
	[ -f "$rows" ] || [ -f "$counts" ] || return 0
	json=$OUT/$name.json
	if ! "$CONNSCOPE" -q -r "$pcap" --json "$json" 2>"$OUT/$name.err"; then
		not_ok "$name: connscope failed: $(head -c 200 "$OUT/$name.err")"
		return
	fi

	if [ -f "$rows" ]; then
		connection_rows "$json" >"$OUT/$name.got.tsv"
		if diff <(tail -n +2 "$rows") "$OUT/$name.got.tsv" >"$OUT/$name.diff"; then
			ok "$name: $(wc -l <"$OUT/$name.got.tsv") connections as in $name.expected.tsv"
		else
			not_ok "$name: connections differ (< expected, > connscope):"
			sed 's/^/#   /' "$OUT/$name.diff" | head -20
		fi
	fi
	if [ -f "$counts" ] && awk -F'\t' 'NR > 1 && $1 != "wire"' "$counts" | grep -q .; then
		count_rows "$json" >"$OUT/$name.got-counts.tsv"
		if diff <(awk -F'\t' 'NR > 1 && $1 != "wire"' "$counts" | sort) \
			"$OUT/$name.got-counts.tsv" >"$OUT/$name.diff"; then
			ok "$name: counts as in $name.expected-counts.tsv"
		else
			not_ok "$name: counts differ (< expected, > connscope):"
			sed 's/^/#   /' "$OUT/$name.diff" | head -20
		fi
	fi
	if [ -f "$alerts" ]; then
		alert_rows "$json" >"$OUT/$name.got-alerts.tsv"
		if diff <(tail -n +2 "$alerts" | sort) "$OUT/$name.got-alerts.tsv" >"$OUT/$name.diff"; then
			ok "$name: alerts: $(tr '\t\n' ' ;' <"$OUT/$name.got-alerts.tsv")"
		else
			not_ok "$name: alerts differ (< expected, > connscope):"
			sed 's/^/#   /' "$OUT/$name.diff"
		fi
	fi
	check_alert_figures "$name" "$json" "$counts" "$rows"
	local want_notes got_notes
	want_notes=$(old_conn_notes "$pcap")
	got_notes=$(jq -r '.connections[] | select(.diagnosis != null) | [.orig_p, .diagnosis] | @tsv' "$json" | sort)
	if [ "$want_notes" != "$got_notes" ]; then
		not_ok "$name: diagnoses differ: the packets give '${want_notes}', connscope '${got_notes}'"
	elif [ -n "$want_notes" ]; then
		ok "$name: $(echo "$want_notes" | wc -l) connect delayed by an older connection, diagnosed"
	fi
}

for pcap in "$SAMPLES"/*.pcap; do
	verify_sample "$pcap"
done
echo "verify: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
