#!/usr/bin/env bash
# structure.sh — the shape the code promises a newcomer (docs/DEVELOPING.md):
#
#   - no production function longer than 80 lines (capture/, analyzer/,
#     web/, connscope.c): a function that does not fit on a screen is
#     doing more than one thing;
#   - no #include cycle among the project's own headers: the layers
#     (capture < analyzer/tracking < detectors < reports < views < engine,
#     run, web) only ever look down;
#   - no folder of analyzer/ with more than 12 source files.
#
# Functions are found the way the code is written (STYLE.md): a definition
# starts at column 0 and its body opens with "{" alone at column 0 and ends
# with "}" alone at column 0.  Prints one line per finding; exit status 1
# if there is any.
set -u
cd "$(dirname "$0")/.."
MAX_LINES=80
MAX_FILES=12
status=0
bad() { echo "not ok - $*"; status=1; }

sources=$(git ls-files 'capture/*.c' 'analyzer/*.c' 'web/*.c' connscope.c)

# ---- function length ----------------------------------------------------------
long=$(for f in $sources; do
	awk -v f="$f" -v max="$MAX_LINES" '
		/^\{$/ { start = NR; name = prev; next }
		/^\}/ && start { n = NR - start - 1; if (n > max) printf "%s:%d: %s: %d lines\n", f, start, name, n; start = 0 }
		/^[A-Za-z_].*\(/ && !start { prev = $0 }' "$f"
done)
if [ -n "$long" ]; then
	while IFS= read -r line; do bad "function over $MAX_LINES lines: $line"; done <<<"$long"
else
	echo "ok - no function over $MAX_LINES lines in $(echo "$sources" | wc -w) files"
fi

# ---- include cycles among the project's headers ------------------------------------
# Edges "a.h b.h" for every #include "b.h" in a.h; tsort reports a cycle.
edges=$(for h in $(git ls-files '*.h' | grep -v '^tests/'); do
	sed -n 's/^#include "\(.*\)"/\1/p' "$h" | while read -r dep; do echo "$h $dep"; done
	echo "$h $h"
done)
if cycle=$(echo "$edges" | tsort 2>&1 >/dev/null) && [ -z "$cycle" ]; then
	echo "ok - no include cycle among $(git ls-files '*.h' | grep -vc '^tests/') headers"
else
	bad "include cycle: $(echo "$cycle" | tr '\n' ' ')"
fi

# ---- folder sizes --------------------------------------------------------------
crowded=0
for d in analyzer analyzer/*/; do
	d=${d%/}
	n=$(find "$d" -maxdepth 1 -name '*.c' | wc -l)
	if [ "$n" -gt "$MAX_FILES" ]; then bad "$d holds $n source files (at most $MAX_FILES)"; crowded=1; fi
done
[ "$crowded" -eq 0 ] && echo "ok - every analyzer folder holds at most $MAX_FILES source files"
exit "$status"
