#!/usr/bin/env bash
# outputs.sh — every output connscope writes for every bundled capture, in
# one folder, so that two builds can be compared byte for byte:
#
#   bash tests/outputs.sh OLD_BINARY /tmp/old
#   bash tests/outputs.sh ./connscope /tmp/new
#   diff -r /tmp/old /tmp/new && echo identical
#
# For each capture in samples/ and tests/corpus/ it keeps the text report,
# the JSON report, the conn.log and the exit status (and stderr, whose
# messages are part of the contract too); and the JSON report of a second
# run with --json alone, the only case where a second thread formats half
# of its rows at the end (analyzer/run/writer.h).  A change meant to move no figure
# (a refactoring) must leave the folders identical; one that fixes a figure
# on purpose shows exactly which files it changed.  The conn.log's #open
# and #close lines carry the wall clock and are left out.
#
# With --web, the dashboard's API as it answers once the file is analysed
# (its last snapshot: the open connections as they stood, then every
# connection) is kept too: /api/summary without the snapshot's sequence
# number (a count of publishes, which timing sets), every connection as
# JSON Lines, /api/top, /api/alerts, /api/timeseries and the first
# connection's timeline.  (OUTPUTS_WEB=0 leaves it out; it needs curl.)
set -u
cd "$(dirname "$0")/.."
BIN=${1:?usage: outputs.sh CONNSCOPE OUT_DIR}
OUT=${2:?usage: outputs.sh CONNSCOPE OUT_DIR}
mkdir -p "$OUT"

# The API's answers for capture $1 (its extra options after) into $OUT/$2.*
web_answers() { # CAPTURE NAME [OPTION...]
	local f=$1 name=$2 pid port api i id
	shift 2
	"$BIN" -q -r "$f" "$@" --web 127.0.0.1:0 --report /dev/null \
		>/dev/null 2>"$OUT/$name.web.err" &
	pid=$!
	for ((i = 0; i < 600; i++)); do	# 60 s at most
		grep -q 'analysis done' "$OUT/$name.web.err" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	port=$(sed -n 's|.*dashboard at http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$OUT/$name.web.err")
	api="http://127.0.0.1:$port/api"
	if [ -n "$port" ] && grep -q 'analysis done' "$OUT/$name.web.err"; then
		curl -s "$api/summary" | sed 's/"seq":[0-9]*,//' >"$OUT/$name.web.summary"
		curl -s "$api/connections.jsonl" >"$OUT/$name.web.jsonl"
		curl -s "$api/top" >"$OUT/$name.web.top"
		curl -s "$api/alerts" >"$OUT/$name.web.alerts"
		curl -s "$api/timeseries" >"$OUT/$name.web.timeseries"
		id=$(head -n 1 "$OUT/$name.web.jsonl" | grep -o '"id":[0-9]*' | head -n 1 | cut -d: -f2)
		[ -z "$id" ] || curl -s "$api/connections/$id" >"$OUT/$name.web.timeline"
	else
		echo "no answer: the analysis did not finish within 60 s" >"$OUT/$name.web.summary"
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	sed -i 's|127.0.0.1:[0-9]*|127.0.0.1:PORT|' "$OUT/$name.web.err"
}

n=0
for f in samples/*.pcap tests/corpus/*/*.pcap tests/corpus/*/*.pcapng; do
	[ -e "$f" ] || continue
	name=$(echo "$f" | tr '/' '_')
	args=(-r "$f" --no-color --json "$OUT/$name.json" --conn-log "$OUT/$name.conn.log")
	case $f in	# the traces Zeek read with checksum validation on
	*tcp_syn-bad.pcap|*chksums_localhost-bad-chksum.pcap) args+=(--verify-checksums) ;;
	esac
	"$BIN" "${args[@]}" >"$OUT/$name.txt" 2>"$OUT/$name.err"
	echo $? >"$OUT/$name.rc"
	[ -e "$OUT/$name.conn.log" ] && sed -i '/^#open\|^#close/d' "$OUT/$name.conn.log"
	args=(-q -r "$f" --json "$OUT/$name.alone.json")
	case $f in
	*tcp_syn-bad.pcap|*chksums_localhost-bad-chksum.pcap) args+=(--verify-checksums) ;;
	esac
	"$BIN" "${args[@]}" >/dev/null 2>&1
	if [ "${OUTPUTS_WEB:-1}" != 0 ]; then
		args=()
		case $f in
		*tcp_syn-bad.pcap|*chksums_localhost-bad-chksum.pcap) args+=(--verify-checksums) ;;
		esac
		web_answers "$f" "$name" ${args[@]+"${args[@]}"}
	fi
	n=$((n + 1))
done
echo "outputs: $n captures into $OUT"

# Within one build, the report written alone must be the one written beside
# a conn.log: whichever thread formatted a row, it reads the same.
bad=0
for a in "$OUT"/*.alone.json; do
	[ -e "$a" ] || continue
	if ! cmp -s "$a" "${a%.alone.json}.json"; then
		echo "outputs: ${a##*/}: differs from the report beside a conn.log"
		bad=1
	fi
done
exit "$bad"
