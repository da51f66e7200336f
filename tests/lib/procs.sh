# procs.sh — stopping what a test script started, and removing its network
# namespaces.  Sourced by the scripts that make traffic (tests/live.sh,
# tests/webload.sh, tests/bench/live.sh, samples/record.sh).  The script
# keeps PIDS (processes it started) and NAMESPACES (namespaces it made);
# nothing else is ever signalled or removed.

# wait_gone PID TENTHS: 0 once PID has exited, 1 if still running after.
wait_gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$1" 2>/dev/null
}

# stop PID [SIGNAL]: SIGNAL (default TERM), then KILL if it lingers 3 s.
stop() {
	kill -0 "$1" 2>/dev/null || return 0
	kill -"${2:-TERM}" "$1" 2>/dev/null
	wait_gone "$1" 30 || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# stop_all: every process in PIDS, then every namespace in NAMESPACES.
stop_all() {
	local p
	for p in "${PIDS[@]}"; do
		stop "$p"
	done
	for p in "${NAMESPACES[@]}"; do
		ip netns del "$p" 2>/dev/null
	done
	return 0
}
