#!/usr/bin/env bash
# pair.sh — two builds of connscope (or any two commands) run in turn on the
# same arguments, N times each, and compared: wall and CPU (user + system)
# medians, the ratio of B's median to A's, and in how many of the N pairs B
# was the faster (a sign test: on a machine whose speed drifts by a third
# within minutes, a single run of each says little; see PROFILE.md).
#
#   bash tests/bench/pair.sh N A B -- ARGS...
#   bash tests/bench/pair.sh 31 /tmp/old/connscope ./connscope -- -q -r small.pcap
#
# Each pair runs A then B, the next B then A, so that a drift in the
# machine's speed falls on both.  Output goes to /dev/null; a run that
# fails stops the comparison.  Needs GNU time (/usr/bin/time) for the CPU,
# which it gives in hundredths of a second.
set -euo pipefail

usage() { echo "usage: $0 N A B -- ARGS..." >&2; exit 2; }
if [ $# -lt 4 ] || [ "$4" != "--" ]; then usage; fi
n=$1 a=$2 b=$3
shift 4
[[ $n =~ ^[1-9][0-9]*$ ]] || usage
[ -x /usr/bin/time ] || { echo "$0: needs /usr/bin/time (GNU time)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run LABEL CMD: appends "wall_seconds cpu_seconds" to $tmp/LABEL
run() {
	local label=$1 cmd=$2 t0 t1
	shift 2
	t0=$(date +%s%N)
	if ! /usr/bin/time -f '%U %S' -o "$tmp/cpu" "$cmd" "$@" >/dev/null 2>&1; then
		echo "$0: $cmd $* failed" >&2
		exit 1
	fi
	t1=$(date +%s%N)
	awk -v w=$((t1 - t0)) '{ printf "%.4f %.4f\n", w / 1e9, $1 + $2 }' \
		"$tmp/cpu" >>"$tmp/$label"
}

for ((i = 0; i < n; i++)); do
	if ((i % 2 == 0)); then
		run A "$a" "$@"
		run B "$b" "$@"
	else
		run B "$b" "$@"
		run A "$a" "$@"
	fi
done

# median COLUMN FILE
median() { sort -n -k"$1","$1" "$2" | awk -v c="$1" '{ v[NR] = $c }
	END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for label in A B; do
	bin=$a
	[ $label = B ] && bin=$b
	printf '%s  %s: wall median %s s, min %s s; cpu median %s s\n' "$label" "$bin" \
		"$(median 1 "$tmp/$label")" "$(sort -n "$tmp/$label" | head -1 | cut -d' ' -f1)" \
		"$(median 2 "$tmp/$label")"
done
faster=$(paste -d' ' "$tmp/A" "$tmp/B" | awk '$3 < $1 { k++ } END { print k + 0 }')
awk -v wa="$(median 1 "$tmp/A")" -v wb="$(median 1 "$tmp/B")" \
    -v ca="$(median 2 "$tmp/A")" -v cb="$(median 2 "$tmp/B")" -v k="$faster" -v n="$n" \
    'BEGIN { cpu = ca > 0 ? sprintf("%.3f", cb / ca) : "-"
	     printf "B/A: wall %.3f, cpu %s; B faster in %d of %d pairs\n",
		    wb / wa, cpu, k, n }'
