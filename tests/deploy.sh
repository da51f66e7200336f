#!/usr/bin/env bash
# deploy.sh — what deploy/ ships: alerting rules, dashboard, systemd unit.
#
#   CONNSCOPE=./connscope bash tests/deploy.sh
#
# Run by `make check`:
#   a  promtool check rules deploy/prometheus/connscope-rules.yml
#   b  promtool test rules: series in, alerts out (the test file's values
#      are worked out by hand in its comments)
#   c  the dashboard is JSON, and every connscope_* series named by the
#      rules and the dashboard is one connscope's /metrics serves (read
#      from a run on samples/mixed.pcap, and from a live capture on the
#      loopback of a network namespace of its own for the host view's
#      series, which only a live capture has), so no rule watches a name
#      that does not exist
#   d  systemd-analyze verify on the unit as `make install` installs it
#      (into a DESTDIR here), with the binary it names in place
set -u
cd "$(dirname "$0")/.." || exit 1
CONNSCOPE=$(realpath "${CONNSCOPE:-./connscope}")
. tests/lib/cannot_run.sh
. tests/lib/procs.sh

PASS=0
FAIL=0
PIDS=()
NAMESPACES=()
TMP=$(mktemp -d /tmp/cs-deploy.XXXXXX)
trap 'stop_all; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
ok() { echo "ok - $*"; PASS=$((PASS + 1)); }
not_ok() { echo "not ok - $*"; FAIL=$((FAIL + 1)); }

command -v promtool >/dev/null || cannot_run deploy "promtool not found (package prometheus: make deps)"

RULES=deploy/prometheus/connscope-rules.yml
if promtool check rules "$RULES" >"$TMP/check.log" 2>&1; then
	ok "a: promtool check rules: $(grep -o '[0-9]* rules found' "$TMP/check.log")"
else
	not_ok "a: promtool check rules: $(tr '\n' ' ' <"$TMP/check.log")"
fi
if (cd deploy/prometheus && promtool test rules connscope-rules.test.yml) >"$TMP/test.log" 2>&1; then
	ok "b: promtool test rules: SUCCESS"
else
	not_ok "b: promtool test rules:"
	cat "$TMP/test.log"
fi

# c: the names used against the names served.
DASH=deploy/grafana/connscope-dashboard.json
PORT=$((30000 + $$ % 20000))
"$CONNSCOPE" -r samples/mixed.pcap -q --web "127.0.0.1:$PORT" >/dev/null 2>"$TMP/web.err" &
PIDS+=($!)
for ((i = 0; i < 50; i++)); do
	curl -sf "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics" 2>/dev/null && break
	sleep 0.1
done
# The host view's series: a live capture (root: a namespace of its own,
# where connscope's own --web port is the listener the listener series
# describe).
need_root deploy "the host view's series come from a live capture in a network namespace"
unshare -n bash -c '
	ip link set lo up
	"$1" -i lo -q --duration 4 --web "127.0.0.1:$2" >/dev/null 2>"$3/live.err" &
	for ((i = 0; i < 30; i++)); do
		sleep 0.1
		curl -sf "http://127.0.0.1:$2/metrics" 2>/dev/null | grep -q "^connscope_host_tcp_events_total" &&
			{ curl -sf "http://127.0.0.1:$2/metrics" >"$3/metrics.live"; break; }
	done
	kill -INT $! 2>/dev/null
	wait
' live "$CONNSCOPE" "$PORT" "$TMP"
cat "$TMP/metrics" "$TMP/metrics.live" 2>/dev/null | grep -o '^connscope_[a-z_]*' | sort -u >"$TMP/served"
if ! jq -e . "$DASH" >/dev/null 2>&1; then
	not_ok "c: $DASH is not JSON"
elif [ ! -s "$TMP/served" ]; then
	not_ok "c: no /metrics from connscope: $(cat "$TMP/web.err")"
else
	{ grep -o 'connscope_[a-z_]*' "$RULES"; jq -r '.panels[].targets[].expr' "$DASH" |
		grep -o 'connscope_[a-z_]*'; } | sort -u >"$TMP/used"
	missing=$(comm -23 "$TMP/used" "$TMP/served" | tr '\n' ' ')
	if [ -z "$missing" ]; then
		ok "c: the $(wc -l <"$TMP/used") series the rules and the dashboard use are all served"
	else
		not_ok "c: used but not served by /metrics: $missing"
	fi
fi

# d: the unit as installed, with the binary where its ExecStart says.
if ! command -v systemd-analyze >/dev/null; then
	not_ok "d: systemd-analyze not found (package systemd: make deps)"
elif ! make -s --no-print-directory install-deploy PREFIX="$TMP/prefix" \
	>"$TMP/install.log" 2>&1; then
	not_ok "d: make install-deploy failed: $(tr '\n' ' ' <"$TMP/install.log")"
else
	UNIT=$TMP/prefix/lib/systemd/system/connscope@.service
	install -D -m 0755 "$CONNSCOPE" "$TMP/prefix/bin/connscope"
	# verify runs without a running systemd: it loads the unit, checks
	# every directive and that the commands it names are executable.
	if systemd-analyze verify "$UNIT" >"$TMP/verify.log" 2>&1 &&
	   [ ! -s "$TMP/verify.log" ]; then
		ok "d: systemd-analyze verify connscope@.service: clean"
	else
		not_ok "d: systemd-analyze verify: $(tr '\n' ' ' <"$TMP/verify.log")"
	fi
fi

echo "deploy: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
