#!/usr/bin/env bash
# Replays saved inputs through the fuzz targets' entry points, built by the
# ordinary compiler (no clang needed): every committed regression, the web
# seeds, and for the file target every capture in samples/ and the shared
# corpus.  A crash fails it; the file is then named by a verbose rerun.
# Usage: replay.sh DIR (where replay-frame, replay-file, replay-web are).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=$1
corpus_src=${CORPUS_SRC:-../shared/corpus}

inputs() {
	local t=$1
	[ -d "tests/fuzz/regressions/$t" ] && echo "tests/fuzz/regressions/$t"
	case $t in
	web) echo tests/fuzz/seeds/web ;;
	file)
		ls samples/*.pcap
		[ -d "$corpus_src" ] && find "$corpus_src" -type f \( -name '*.pcap' \
			-o -name '*.pcapng' -o -path '*/malformed/*' \) | sort
		;;
	esac
	return 0
}

for t in frame file web; do
	mapfile -t args < <(inputs "$t")
	[ ${#args[@]} -gt 0 ] || continue
	if ! "$dir/replay-$t" "${args[@]}"; then
		echo "replay-$t failed; again, naming each input:" >&2
		FUZZ_REPLAY_VERBOSE=1 "$dir/replay-$t" "${args[@]}" 2>&1 | tail -n 40 >&2 || true
		exit 1
	fi
done
