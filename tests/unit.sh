#!/usr/bin/env bash
# unit.sh BIN — the Check runner BIN (tests/check_main.c) in two processes
# at once, one per core: the web suite in one, every other suite in the
# other.  Measured under ASan+UBSan (make asan), the web suite is half of
# the run (its loop over every capture analyses each one), so the halves
# are about even, and the unit tests take half the time they took in one
# process.  Each half's output is printed whole once both have ended; the
# run fails if either half fails.  The environment (CK_*, CS_TEST_DATA)
# passes to both.
set -u
bin=${1:?usage: unit.sh CHECK_RUNNER}
logs=$(mktemp -d) || exit 1
trap 'rm -rf "$logs"' EXIT

"$bin" web >"$logs/web" 2>&1 &
web=$!
"$bin" -x web >"$logs/rest" 2>&1 &
rest=$!
wait "$web"
web_status=$?
wait "$rest"
rest_status=$?

echo "== unit tests: the web suite"
cat "$logs/web"
echo "== unit tests: every other suite"
cat "$logs/rest"
if ((web_status != 0 || rest_status != 0)); then
	echo "unit.sh: failed (web suite: status $web_status, the others: status $rest_status)" >&2
	exit 1
fi
