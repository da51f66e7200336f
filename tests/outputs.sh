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
set -u
cd "$(dirname "$0")/.."
BIN=${1:?usage: outputs.sh CONNSCOPE OUT_DIR}
OUT=${2:?usage: outputs.sh CONNSCOPE OUT_DIR}
mkdir -p "$OUT"

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
