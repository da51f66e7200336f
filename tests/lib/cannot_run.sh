# cannot_run.sh — what a test does when this machine cannot run it.
#
# A test that needs root, network namespaces or a tool may find none here.
# On a developer's machine it says so loudly and passes, so that `make check`
# as an ordinary user still runs everything else.  Under CI (the variable CI
# set, as .ci/run does) it fails with the reason: a green CI run must mean
# that every test ran, never that a missing capability was skipped.

# cannot_run NAME REASON: ends the script (status 1 under CI, 0 elsewhere).
cannot_run() {
	if [ -n "${CI:-}" ]; then
		echo "not ok - $1: cannot run under CI: $2"
		exit 1
	fi
	echo "$1: SKIPPED ($2; under CI this fails)"
	exit 0
}

# need_root NAME WHY: cannot_run unless root.
need_root() {
	[ "$(id -u)" -eq 0 ] || cannot_run "$1" "needs root $2"
}
