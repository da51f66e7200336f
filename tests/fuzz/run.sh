#!/usr/bin/env bash
# make fuzz: seeds each libFuzzer target, runs it for FUZZ_SECONDS, and
# prints its executions and coverage (libFuzzer's cov: and ft: of the last
# stats line).  Any crash, leak, timeout or out-of-memory fails the run,
# with the path of the input that caused it (replay it with
# build/fuzz/fuzz-TARGET FILE).  Usage: run.sh BUILD_DIR TARGET...
set -uo pipefail
cd "$(dirname "$0")/../.."

build=$1
shift
seconds=${FUZZ_SECONDS:-60}
corpus_src=${CORPUS_SRC:-tests/corpus}
# Per input: an input runs in milliseconds, but on a shared machine a
# stall of 10 s has been seen ("slow unit" of an input that takes 20 ms),
# so a hang is called at 30 s.  2 GiB is libFuzzer's own default, stated.
timeout=${FUZZ_TIMEOUT:-30}
rss=${FUZZ_RSS_MB:-2048}

# Capture files for seeds: the samples and the shared corpus (up to 256 KiB:
# the file target reads only the first 64 KiB of each anyway).
capture_files() {
	find samples "$corpus_src" -type f \( -name '*.pcap' -o -name '*.pcapng' \
		-o -path '*/malformed/*' \) -size -256k 2>/dev/null | sort
}

# Seeds are rebuilt on every run (cheap), per target, so two targets can
# run at once; what a run found stays in its corpus folder.
make_seeds() {
	local t=$1 s=$build/seeds/$1
	rm -rf "$s"
	mkdir -p "$s"
	case $t in
	file)
		capture_files | while read -r f; do
			cp "$f" "$s/$(echo "$f" | tr / _)"
		done
		cp tests/fuzz/seeds/file/* "$s/"
		"$build/mkseed" built - "$s" >/dev/null
		;;
	frame)
		capture_files | xargs "$build/mkseed" cut "$s" >/dev/null
		"$build/mkseed" built "$s" - >/dev/null
		;;
	web) cp tests/fuzz/seeds/web/* "$s/" ;;
	esac
	if [ -d "tests/fuzz/regressions/$t" ]; then
		cp tests/fuzz/regressions/$t/* "$s/" 2>/dev/null || true
	fi
}

# libFuzzer options per target.
target_opts() {
	case $1 in
	frame) echo "-max_len=16384" ;;
	file) echo "-max_len=65536" ;;
	web) echo "-max_len=4096 -dict=tests/fuzz/web.dict" ;;
	esac
}

failed=()
summary=()
for t in "$@"; do
	bin=$build/fuzz-$t
	corpus=$build/corpus/$t		# grows across runs; never committed
	artifacts=$build/artifacts/$t/
	log=$build/fuzz-$t.log
	mkdir -p "$corpus" "$artifacts"
	make_seeds "$t"
	echo "== fuzz $t: $seconds s (log: $log)"
	# shellcheck disable=SC2046
	"$bin" $(target_opts "$t") -max_total_time="$seconds" -timeout="$timeout" \
		-rss_limit_mb="$rss" -print_final_stats=1 \
		-artifact_prefix="$artifacts" "$corpus" "$build/seeds/$t" >"$log" 2>&1
	rc=$?
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rssmb=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
	cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | cut -d' ' -f2)
	ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | cut -d' ' -f2)
	corp=$(echo "$last" | grep -oE 'corp: [0-9]+' | cut -d' ' -f2)
	line=$(printf '%-6s executions %-10s cov %-6s ft %-7s corpus %-6s peak RSS %s MB' \
		"$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rssmb:-?}")
	if [ "$rc" -ne 0 ]; then
		grep -E '^==[0-9]+==ERROR|runtime error:|^SUMMARY:|ALARM|Test unit written to|fuzz:' \
			"$log" | head -n 20
		unit=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
		line="$line  FAILED (exit $rc): ${unit:-see $log}"
		failed+=("$t")
	fi
	echo "$line"
	summary+=("$line")
done

echo "== fuzz summary ($seconds s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]}"
	exit 1
fi
