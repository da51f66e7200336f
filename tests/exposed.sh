#!/usr/bin/env bash
# exposed.sh — the dashboard as a network would use and abuse it, against
# a running connscope on loopback (no root, no namespaces):
#
#   host    a Host naming another server (DNS rebinding) gets 421 and no
#           data on every kind of path; the server's own names are served
#   origin  the event stream and the API refuse a page of another site
#   token   under 16 characters: a usage error (option, file, environment);
#           --web-token-file and CONNSCOPE_WEB_TOKEN keep it out of ps
#           and stderr;
#           failed attempts: counted per client in /metrics, one log line
#   tls     --web-cert/--web-key with a certificate made here (openssl):
#           curl over HTTPS trusting it; without it, or in plain HTTP, nothing
#   idle    the issue's case: 2 addresses x 300 idle connections, and a
#           third client's requests must all be answered; and with 40
#           descriptors, libmicrohttpd's failing accept() is told and counted
#   memory  1,000 requests for /api/connections?limit=1000, 32 at a time:
#           peak memory within the README's bound, and back near where it
#           was once they are done (not under a sanitizer, CS_SANITIZED=1:
#           its shadow memory is no measure)
#
#   CONNSCOPE=./connscope WEBPEST=build/tests/webpest bash tests/exposed.sh
#
# Pointed at an older connscope, it shows what that one did.  Every wait is
# bounded; nothing asserts how fast a thing is.  Ends with "exposed: N
# passed, N failed"; status 0 when nothing failed.
set -u
CONNSCOPE=${CONNSCOPE:-./connscope}
WEBPEST=${WEBPEST:-build/tests/webpest}
SAMPLE=${SAMPLE:-samples/mixed.pcap}
BIG_SAMPLE=samples/timewait.pcap	# 3,000 connections: ?limit=1000 is ~600 KiB
MAX_FLOWS=10000
TOKEN=exposed-test-token-$$

passed=0
failed=0
ok()     { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
check()  { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

for tool in curl openssl jq; do
	command -v "$tool" >/dev/null || { echo "exposed: '$tool' not found (make deps)"; exit 2; }
done
CONNSCOPE=$(realpath "$CONNSCOPE")
TMP=$(mktemp -d /tmp/cs-exposed.XXXXXX) || exit 2
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# serve NAME ARGS...: connscope -q ARGS --web 127.0.0.1:0 in the background,
# once the file is analysed: PID, PORT and SCHEME set; false if it did not.
serve() {
	local name=$1
	shift
	"$CONNSCOPE" -q "$@" 2>"$TMP/$name.err" &
	PID=$!
	PIDS+=("$PID")
	PORT= SCHEME=
	for _ in $(seq 300); do
		if grep -q "serving the dashboard until Ctrl-C" "$TMP/$name.err"; then
			PORT=$(sed -n 's/.*dashboard at https\{0,1\}:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$TMP/$name.err")
			SCHEME=$(sed -n 's/.*dashboard at \(https\{0,1\}\):.*/\1/p' "$TMP/$name.err")
			[ -n "$PORT" ] && return 0
		fi
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

finish() { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }

# status PATH [CURL ARGS...]: the HTTP status (000: no answer); the body in $TMP/body.
status() {
	local path=$1
	shift
	curl -s -m 10 -o "$TMP/body" -w '%{http_code}' "$@" "$SCHEME://127.0.0.1:$PORT$path"
}

# no_data FILE: nothing of the capture or the page in a refusal.
no_data() { ! grep -q -i -E '10\.213\.|"packets"|connscope_|event:|<html|<!doctype' "$1"; }

# ---- host and origin ---------------------------------------------------------
if serve host -r "$SAMPLE" --web 127.0.0.1:0; then
	for path in / /app.js /healthz /api/summary "/api/connections?limit=5" /api/events /metrics; do
		got=$(status "$path" -m 2 -H "Host: evil.example:$PORT")
		if [ "$got" = 421 ] && no_data "$TMP/body"; then
			ok "host: GET $path with Host evil.example: 421, no data"
		else
			not_ok "host: GET $path with Host evil.example: $got, body: $(head -c 120 "$TMP/body" | tr -d '\n')"
		fi
	done
	for host in "127.0.0.1:$PORT" "localhost:$PORT" "[::1]:$PORT"; do
		got=$(status /api/summary -H "Host: $host")
		check "host: GET /api/summary with Host $host: 200 (got $got)" [ "$got" = 200 ]
	done
	got=$(status /api/events -m 2 -H "Origin: http://evil.example")
	if [ "$got" = 403 ] && no_data "$TMP/body"; then
		ok "origin: /api/events from a page of evil.example: 403, no data"
	else
		not_ok "origin: /api/events from a page of evil.example: $got, body: $(head -c 120 "$TMP/body" | tr -d '\n')"
	fi
	got=$(status /api/events -m 2 -H "Origin: http://127.0.0.1:$PORT")
	check "origin: /api/events from the dashboard's own page: 200 (got $got)" [ "$got" = 200 ]
	finish
else
	not_ok "host: connscope did not start: $(head -c 300 "$TMP/host.err")"
fi
if serve names -r "$SAMPLE" --web 127.0.0.1:0 --web-host dash.example; then
	got=$(status /api/summary -H "Host: dash.example")
	check "host: GET /api/summary with Host dash.example (--web-host): 200 (got $got)" \
		[ "$got" = 200 ]
	finish
else
	not_ok "host: --web-host: connscope did not start: $(head -c 300 "$TMP/names.err")"
fi

# ---- token -------------------------------------------------------------------
short=short-token-15c	# 15 characters
# (bounded: a connscope that took the token would serve until stopped)
timeout 10 "$CONNSCOPE" -q -r "$SAMPLE" --web 127.0.0.1:0 --web-token "$short" \
	>/dev/null 2>"$TMP/short.err"
rc=$?
check "token: --web-token of 15 characters: status 1 (got $rc: $(head -n 1 "$TMP/short.err"))" \
	[ "$rc" = 1 ]
CONNSCOPE_WEB_TOKEN=$short timeout 10 "$CONNSCOPE" -q -r "$SAMPLE" --web 127.0.0.1:0 \
	>/dev/null 2>"$TMP/short-env.err"
rc=$?
check "token: CONNSCOPE_WEB_TOKEN of 15 characters: status 1 (got $rc: $(head -n 1 "$TMP/short-env.err"))" \
	[ "$rc" = 1 ]

printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
for how in file env; do
	if [ "$how" = file ]; then
		serve "token-$how" -r "$SAMPLE" --web 127.0.0.1:0 --web-token-file "$TMP/token"
	else
		CONNSCOPE_WEB_TOKEN=$TOKEN serve "token-$how" -r "$SAMPLE" --web 127.0.0.1:0
	fi || { not_ok "token: connscope did not start ($how): $(head -c 300 "$TMP/token-$how.err")"; continue; }
	check "token ($how): not in the command line others see in ps" \
		bash -c "! tr '\\0' ' ' </proc/$PID/cmdline | grep -q -- '$TOKEN'"
	check "token ($how): not in the dashboard's address on stderr either" \
		bash -c "! grep -q -- '$TOKEN' '$TMP/token-$how.err'"
	got=$(status /api/summary -H "Authorization: Bearer $TOKEN")
	check "token ($how): the right token: 200 (got $got)" [ "$got" = 200 ]
	got=$(status /api/summary -H "Authorization: Bearer wrong-token-$$-$how")
	check "token ($how): a wrong one: 401 (got $got)" [ "$got" = 401 ]
	if [ "$how" = file ]; then
		# another client: it has not failed, its turn is now
		curl -s -m 10 --interface 127.0.0.2 -H "Authorization: Bearer $TOKEN" \
			"http://127.0.0.1:$PORT/metrics" >"$TMP/metrics"
		n=$(sed -n 's/^connscope_web_client_refused_total{client="127.0.0.1",reason="bad_token"} //p' "$TMP/metrics")
		check "token: the failed attempt is counted for its client in /metrics (got '${n:-none}')" \
			[ "${n:-0}" = 1 ]
		lines=$(grep -c 'with a missing or wrong token' "$TMP/token-$how.err")
		check "token: the failed attempt is told on stderr, once (got $lines lines)" \
			[ "$lines" = 1 ]
	fi
	finish
done

# ---- tls ---------------------------------------------------------------------
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1 &&
   serve tls -r "$SAMPLE" --web 127.0.0.1:0 --web-cert "$TMP/cert.pem" --web-key "$TMP/key.pem"; then
	check "tls: the dashboard's address is https (got $SCHEME)" [ "$SCHEME" = https ]
	got=$(status /api/summary --cacert "$TMP/cert.pem")
	packets=$(jq .summary.packets "$TMP/body" 2>/dev/null)
	check "tls: /api/summary over HTTPS with the certificate trusted: 200, $packets packets" \
		bash -c '[ "$1" = 200 ] && [ -n "$2" ]' _ "$got" "$packets"
	got=$(curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert "$TMP/cert.pem" \
		"https://localhost:$PORT/healthz")
	check "tls: https://localhost/healthz: 200 (got $got)" [ "$got" = 200 ]
	got=$(status /healthz)
	check "tls: not trusting the certificate, curl refuses it (got $got)" [ "$got" = 000 ]
	got=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
	check "tls: plain HTTP gets no answer (got $got)" [ "$got" = 000 ]
	finish
else
	not_ok "tls: connscope did not serve HTTPS: $(head -c 300 "$TMP/tls.err" 2>/dev/null)"
fi
timeout 10 "$CONNSCOPE" -q -r "$SAMPLE" --web 127.0.0.1:0 --web-cert "$TMP/cert.pem" \
	--web-key "$TMP/cert.pem" >/dev/null 2>"$TMP/tls-bad.err"
rc=$?
check "tls: a certificate for a key: status 3, said at start ($(head -n 1 "$TMP/tls-bad.err"))" \
	[ "$rc" = 3 ]

# ---- idle connections ----------------------------------------------------------
# 2 addresses x 300 idle connections used to fill the 512 connections.
if [ ! -x "$WEBPEST" ]; then
	not_ok "idle: $WEBPEST not built (make tests)"
elif serve idle -r "$SAMPLE" --web 127.0.0.1:0; then
	"$WEBPEST" idle 127.0.0.1 "$PORT" --from 127.0.0.2 --count 300 --hold 8 >"$TMP/idle2" &
	p2=$!
	"$WEBPEST" idle 127.0.0.1 "$PORT" --from 127.0.0.3 --count 300 --hold 8 >"$TMP/idle3" &
	p3=$!
	sleep 2
	"$WEBPEST" probe 127.0.0.1 "$PORT" --from 127.0.0.4 --count 9 --interval 300 \
		--deadline 5 >"$TMP/probe"
	probe_rc=$?
	wait "$p2" "$p3"
	echo "# 127.0.0.2: $(cat "$TMP/idle2")"
	echo "# 127.0.0.3: $(cat "$TMP/idle3")"
	check "idle: a third client, while 2 x 300 idle connections are tried: $(cat "$TMP/probe")" \
		[ "$probe_rc" = 0 ]
	check "idle: the refused clients are told ($(grep -m1 'refused .* connection' "$TMP/idle.err"))" \
		grep -q 'refused .* connections\{0,1\} from 127\.0\.0\.[23]' "$TMP/idle.err"
	finish
else
	not_ok "idle: connscope did not start: $(head -c 300 "$TMP/idle.err")"
fi

# libmicrohttpd's own refusals were hidden: out of descriptors (40 here),
# accept() fails; the server must say so, and count it.
if [ -x "$WEBPEST" ]; then
	(ulimit -n 40 && exec "$CONNSCOPE" -q -r "$SAMPLE" --web 127.0.0.1:0) 2>"$TMP/emfile.err" &
	PID=$!
	PIDS+=("$PID")
	PORT=
	for _ in $(seq 300); do
		grep -q "serving the dashboard" "$TMP/emfile.err" && break
		sleep 0.1
	done
	PORT=$(sed -n 's/.*dashboard at http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$TMP/emfile.err")
	if [ -n "$PORT" ]; then
		pests=()
		for a in 2 3 4; do
			"$WEBPEST" idle 127.0.0.1 "$PORT" --from "127.0.0.$a" --count 20 --hold 3 \
				>/dev/null &
			pests+=($!)
		done
		wait "${pests[@]}"
		n=$(curl -s -m 10 "http://127.0.0.1:$PORT/metrics" |
			sed -n 's/^connscope_web_refused_total{reason="resources"} //p')
		line=$(grep -m1 'web: .*Too many open files' "$TMP/emfile.err")
		check "resources: out of descriptors, the server says so ('$line') and counts it (${n:-none})" \
			bash -c '[ -n "$1" ] && [ "$2" -ge 1 ]' _ "$line" "${n:-0}"
	else
		not_ok "resources: connscope did not start: $(head -c 300 "$TMP/emfile.err")"
	fi
	finish
fi

# ---- memory under API load -------------------------------------------------------
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
if [ "${CS_SANITIZED:-0}" = 1 ]; then
	echo "# memory: not measured under a sanitizer"
elif serve memory -r "$BIG_SAMPLE" --max-flows "$MAX_FLOWS" --web 127.0.0.1:0; then
	before=$(kib "$PID" VmRSS)
	seq 1000 | xargs -P 32 -I{} curl -s -m 20 -o /dev/null \
		"http://127.0.0.1:$PORT/api/connections?limit=1000"
	peak=$(kib "$PID" VmHWM) after=$(kib "$PID" VmRSS)
	# the README: about 28 MiB + 0.9 KiB x --max-flows, dashboard included
	bound=$((28 * 1024 + MAX_FLOWS * 9 / 10))
	echo "# memory: RSS $before KiB before, peak $peak KiB, $after KiB after (bound $bound KiB)"
	check "memory: peak $peak KiB within the README's $bound KiB" [ "$peak" -le "$bound" ]
	check "memory: $after KiB after, within 8 MiB of the $before KiB before" \
		[ "$after" -le $((before + 8192)) ]
	finish
else
	not_ok "memory: connscope did not start: $(head -c 300 "$TMP/memory.err")"
fi

echo "exposed: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
