#!/usr/bin/env bash
# prometheus.sh — a real Prometheus scrapes a live connscope and alerts.
#
#   CONNSCOPE=./connscope TCPPING=build/tests/tcpping bash tests/prometheus.sh
#
# Run by `make check`; needs root (network namespaces), prometheus and
# hping3 (make deps); without them it fails with the reason under CI.
#
# A server namespace and a client namespace joined by a veth pair; in the
# client namespace, on its own loopback: connscope -i on the veth with
# --web, and Debian's prometheus (its own temporary storage, a free port)
# scraping connscope's /metrics every second and evaluating the shipped
# rules (deploy/prometheus/connscope-rules.yml) every second.  Traffic:
# a few kernel connections (tcpping), then a bounded SYN flood (hping3
# -c 3000 at 1000 SYN/s to the listening port: the client's kernel answers
# each SYN-ACK with a RST, so no handshake completes, and 1000 SYN/s is
# over --synflood-rate 200).  Expected through Prometheus's HTTP API:
#   a  connscope_packets_total and connscope_connections_total arrive, and
#      the completed connections counted equal tcpping's count
#   b  refused connections to a closed port arrive as that server's
#      connscope_server_failed_connections_total, one per refusal
#   c  the ConnscopeSynFlood alert fires
# Every wait is bounded (the whole run well under a minute); every process
# started here is stopped by its PID; the namespaces are removed on exit.
set -u
cd "$(dirname "$0")/.." || exit 1
CONNSCOPE=$(realpath "${CONNSCOPE:-./connscope}")
TCPPING=$(realpath "${TCPPING:-build/tests/tcpping}")
RULES=$(realpath deploy/prometheus/connscope-rules.yml)
. tests/lib/cannot_run.sh
need_root prometheus "to create network namespaces"
. tests/lib/procs.sh
for tool in prometheus hping3 curl jq; do
	command -v "$tool" >/dev/null || cannot_run prometheus "'$tool' not found (make deps)"
done

NSS=csp-srv-$$
NSC=csp-cli-$$
SRV_ADDR=10.213.52.1
CLI_ADDR=10.213.52.2
PORT=7072
CONNS=5
REFUSED=3
CLOSED_PORT=7073
PIDS=()
NAMESPACES=()
PASS=0
FAIL=0
TMP=$(mktemp -d /tmp/cs-prometheus.XXXXXX)
trap 'stop_all; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
ok() { echo "ok - $*"; PASS=$((PASS + 1)); }
not_ok() { echo "not ok - $*"; FAIL=$((FAIL + 1)); }
setup_fail() {
	echo "not ok - setup: $*"
	echo "prometheus: 0 passed, 1 failed"
	exit 1
}

ip netns add "$NSS" 2>/dev/null || cannot_run prometheus "ip netns add failed"
NAMESPACES+=("$NSS")
ip netns add "$NSC" 2>/dev/null || cannot_run prometheus "ip netns add failed"
NAMESPACES+=("$NSC")
{
	for n in "$NSS" "$NSC"; do
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$n" link set lo up
	done
	ip link add vp0 netns "$NSS" type veth peer name vp1 netns "$NSC"
	ip -n "$NSS" addr add "$SRV_ADDR/24" dev vp0
	ip -n "$NSC" addr add "$CLI_ADDR/24" dev vp1
	ip -n "$NSS" link set vp0 up
	ip -n "$NSC" link set vp1 up
} >"$TMP/setup.log" 2>&1 || setup_fail "namespaces: $(tr '\n' ' ' <"$TMP/setup.log")"

ip netns exec "$NSS" "$TCPPING" serve "$SRV_ADDR" "$PORT" --count 0 \
	--timeout 60 >"$TMP/server.log" 2>&1 &
PIDS+=($!)

# Ports on the client namespace's own loopback: nothing else listens there.
CS_WEB=9101
PROM_WEB=9090
before=$(packet_sockets "$NSC")
ip netns exec "$NSC" "$CONNSCOPE" -i vp1 -q --web "127.0.0.1:$CS_WEB" \
	--duration 50 >"$TMP/cs.out" 2>"$TMP/cs.err" &
CS_PID=$!
PIDS+=("$CS_PID")
wait_capture "$NSC" "$CS_PID" "$before" || setup_fail "connscope did not start: $(cat "$TMP/cs.err")"

cat >"$TMP/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $RULES
scrape_configs:
  - job_name: connscope
    static_configs:
      - targets: ['127.0.0.1:$CS_WEB']
CONF
ip netns exec "$NSC" prometheus --config.file="$TMP/prometheus.yml" \
	--storage.tsdb.path="$TMP/data" --web.listen-address="127.0.0.1:$PROM_WEB" \
	>"$TMP/prom.log" 2>&1 &
PROM_PID=$!
PIDS+=("$PROM_PID")

# query PROMQL: the first result's value, "" if none.
query() {
	ip netns exec "$NSC" curl -s --max-time 2 -G \
		"http://127.0.0.1:$PROM_WEB/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
# firing NAME: "firing" once Prometheus has the alert firing.
firing() {
	ip netns exec "$NSC" curl -s --max-time 2 "http://127.0.0.1:$PROM_WEB/api/v1/alerts" |
		jq -r --arg n "$1" '.data.alerts[] | select(.labels.alertname == $n) | .state' 2>/dev/null |
		sort -u | head -n 1
}

ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$PORT" --count "$CONNS" \
	--timeout 20 >"$TMP/traffic.log" 2>&1 || not_ok "tcpping: $(tail -n 1 "$TMP/traffic.log")"

# a: the series arrive (connscope finishes a completed connection once its
# TIME_WAIT, 2*MSL, is over, so the completed count is waited for too).
got=
for ((i = 0; i < 40; i++)); do
	pk=$(query 'connscope_packets_total{job="connscope"}')
	got=$(query 'connscope_connections_total{outcome="completed"} + on(instance) connscope_connections_open_by_outcome{outcome="completed"}')
	[ -n "$pk" ] && [ "$got" = "$CONNS" ] && break
	sleep 0.5
done
if [ -n "$pk" ] && [ "$pk" != 0 ] && [ "$got" = "$CONNS" ]; then
	ok "a: Prometheus has connscope_packets_total ($pk) and $got completed connections (tcpping made $CONNS)"
else
	not_ok "a: Prometheus has packets '$pk', completed '$got' (want $CONNS); $(tail -n 3 "$TMP/prom.log" | tr '\n' ' ')"
fi

# b: REFUSED connections to a port nobody listens on: the server's RST
# ends each; connscope finishes it 5 s later, then it is counted per server.
ip netns exec "$NSC" "$TCPPING" connect "$SRV_ADDR" "$CLOSED_PORT" --count "$REFUSED" \
	--expect refused --timeout 5 >>"$TMP/traffic.log" 2>&1 ||
	not_ok "tcpping refused: $(tail -n 1 "$TMP/traffic.log")"
series="connscope_server_failed_connections_total{server=\"$SRV_ADDR:$CLOSED_PORT\"}"
for ((i = 0; i < 40; i++)); do
	failed=$(query "$series")
	[ "$failed" = "$REFUSED" ] && break
	sleep 0.5
done
if [ "$failed" = "$REFUSED" ]; then
	ok "b: Prometheus has $series = $failed (tcpping was refused $REFUSED times)"
else
	not_ok "b: Prometheus has $series = '$failed', want $REFUSED"
fi

# c: a bounded flood: 3000 SYNs at 1000/s from the client's address.
ip netns exec "$NSC" timeout 20 hping3 -q -S -p "$PORT" -i u1000 -c 3000 "$SRV_ADDR" \
	>"$TMP/hping3.log" 2>&1
state=
for ((i = 0; i < 40; i++)); do
	state=$(firing ConnscopeSynFlood)
	[ "$state" = firing ] && break
	sleep 0.5
done
alerts=$(query 'connscope_alerts_total{type="syn_flood"}')
if [ "$state" = firing ]; then
	ok "c: ConnscopeSynFlood fires (connscope_alerts_total{type=\"syn_flood\"} = $alerts)"
else
	not_ok "c: ConnscopeSynFlood is '$state' (syn_flood alerts in Prometheus: '$alerts'); hping3: $(tail -n 2 "$TMP/hping3.log" | tr '\n' ' ')"
fi

stop "$PROM_PID"
stop "$CS_PID" INT
echo "prometheus: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
