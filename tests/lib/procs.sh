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

# packet_sockets NS: how many packet sockets are open in namespace NS (a
# capture is live once its socket shows up in /proc/net/packet).
packet_sockets() {
	ip netns exec "$1" sh -c 'tail -n +2 /proc/net/packet | wc -l'
}

# wait_capture NS PID BEFORE: 0 once NS holds more than BEFORE packet
# sockets (PID's capture is open; at most 5 s) and the filter, installed
# just after the socket opens, had half a second; 1 if PID ended first or
# no socket came.
wait_capture() {
	local i
	for ((i = 0; i < 50; i++)); do
		if [ "$(packet_sockets "$1")" -gt "$3" ]; then
			sleep 0.5
			kill -0 "$2" 2>/dev/null
			return
		fi
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
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
