#!/usr/bin/env bash
# Replays saved inputs through the fuzz targets' entry points, built by the
# ordinary compiler (no clang needed): every committed regression, the web
# seeds, for the file target every capture in samples/ and the shared
# corpus and the compressed seeds (tests/fuzz/seeds/file/), and for the frame target the seeds mkseed makes (frames cut from
# the samples, a connection over every link type and encapsulation).  A
# crash fails it; the file is then named by a verbose rerun.
# Usage: replay.sh DIR MKSEED (DIR holds replay-frame, replay-file,
# replay-web; MKSEED is the seed maker).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=$1
mkseed=$2
corpus_src=${CORPUS_SRC:-tests/corpus}
frame_seeds=$(mktemp -d)
trap 'rm -rf "$frame_seeds"' EXIT
"$mkseed" cut "$frame_seeds" samples/*.pcap >/dev/null
"$mkseed" built "$frame_seeds" - >/dev/null

inputs() {
	local t=$1
	[ -d "tests/fuzz/regressions/$t" ] && echo "tests/fuzz/regressions/$t"
	case $t in
	frame) echo "$frame_seeds" ;;
	web) echo tests/fuzz/seeds/web ;;
	file)
		ls samples/*.pcap tests/fuzz/seeds/file/*
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
