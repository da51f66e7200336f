#!/usr/bin/env bash
# conformance/run.sh — connscope's conn.log against Zeek's, row by row.
#
# For every trace in tests/corpus/zeek with an expected conn.log
# (*.expected.tsv, see the corpus README), runs connscope --conn-log and
# pairs each expected row with one of ours: same unordered 4-tuple, nearest
# start time.  Counts agreement on conn_state and on history (a row we do
# not have counts against both).  Checksums are verified exactly when
# Zeek's run did (its command in MANIFEST.tsv has no -C).
#
# Prints every disagreement, the agreement figures, and exits non-zero if
# they fall below the issue's bar (95% conn_state, 90% history) or if a
# disagreement is not listed in KNOWN_DIFFERENCES.md.
set -u
cd "$(dirname "$0")/../.."

CONNSCOPE=${CONNSCOPE:-./connscope}
CORPUS=${CS_CORPUS:-tests/corpus}
OUT=${CS_TEST_OUT:-tests/out/conformance}
KNOWN=tests/conformance/KNOWN_DIFFERENCES.md
MIN_STATE=${MIN_STATE:-95}
MIN_HISTORY=${MIN_HISTORY:-90}
rm -rf "$OUT" && mkdir -p "$OUT"

: >"$OUT/pairs.tsv"
for expected in "$CORPUS"/zeek/*.expected*.tsv; do
	base=$(basename "$expected")
	trace=${base%%.expected*}
	pcap=$CORPUS/zeek/$trace
	notes=$(awk -F'\t' -v p="zeek/$base" '$1 == p { print $9 }' "$CORPUS/MANIFEST.tsv")
	flags=()
	case "$base" in
	*ignore-checksums*) ;;
	*) case "$notes" in *" -C "*|*" -C"|*"-C -r"*) ;; *) flags+=(--verify-checksums) ;; esac ;;
	esac
	ours=$OUT/$base.conn.log
	# shellcheck disable=SC2086
	$CONNSCOPE -q "${flags[@]}" --conn-log "$ours" -r "$pcap" 2>"$OUT/$base.err"
	# Pair rows: expected (ts, tuple, state, history) with ours.
	awk -F'\t' -v trace="$base" -v flags="${flags[*]:-}" '
	function key(a, ap, b, bp) { return (a ":" ap < b ":" bp) ? a ":" ap "-" b ":" bp : b ":" bp "-" a ":" ap }
	function absf(x) { return x < 0 ? -x : x }
	FNR == NR {
		if ($0 ~ /^#/) next
		n++; ots[n] = $1; ooh[n] = $3; oop[n] = $4; orh[n] = $5; orp[n] = $6
		ost[n] = $12; ohi[n] = $16; okey[n] = key($3, $4, $5, $6); used[n] = 0
		next
	}
	FNR == 1 { next }	# the expected header
	{
		k = key($2, $3, $4, $5); best = 0; bd = 1e18
		for (i = 1; i <= n; i++) {
			if (used[i] || okey[i] != k) continue
			d = ($1 == "-") ? 0 : absf(ots[i] - $1)
			if (d < bd) { bd = d; best = i }
		}
		if (best) {
			used[best] = 1
			dir = (ooh[best] == $2 && oop[best] == $3) ? "same" : "flipped"
			printf "%s\t%s:%s-%s:%s\t%s\t%s\t%s\t%s\t%s\t%s\n", trace, $2, $3, $4, $5, $7, ost[best], $8, ohi[best], dir, flags
		} else {
			printf "%s\t%s:%s-%s:%s\t%s\t%s\t%s\t%s\t%s\t%s\n", trace, $2, $3, $4, $5, $7, "(none)", $8, "(none)", "-", flags
		}
	}' "$ours" "$expected" >>"$OUT/pairs.tsv"
done

# trace tuple want_state got_state want_history got_history direction flags
awk -F'\t' -v known="$KNOWN" -v min_s="$MIN_STATE" -v min_h="$MIN_HISTORY" '
BEGIN { while ((getline line < known) > 0) if (line ~ /^\| `/) { split(line, f, "`"); listed[f[2] "|" f[4]] = 1 } }
{
	rows++
	if ($3 != "-") { srows++; if ($3 == $4 && $7 != "flipped") sok++; else sbad = 1 }
	else sbad = 0
	hok_row = ($5 == $6 && $7 != "flipped")
	if (hok_row) hok++
	if (($3 != "-" && ($3 != $4 || $7 == "flipped")) || !hok_row) {
		id = $1 "|" $2
		printf "%s %-48s state %s/%s history %s/%s%s%s\n", (id in listed) ? "known  " : "UNKNOWN", $1 " " $2, $3, $4, $5, $6, ($7 == "flipped" ? " (direction)" : ""), ($8 != "" ? " [" $8 "]" : "")
		if (!(id in listed)) unknown++
	}
}
END {
	ps = srows ? 100.0 * sok / srows : 0; ph = rows ? 100.0 * hok / rows : 0
	printf "conformance: conn_state %d/%d (%.1f%%), history %d/%d (%.1f%%), %d unlisted differences\n", sok, srows, ps, hok, rows, ph, unknown
	exit (ps < min_s || ph < min_h || unknown > 0) ? 1 : 0
}' "$OUT/pairs.tsv"
