#!/usr/bin/env bash
# browser.sh — the dashboard in a real headless Chromium.
#
#   CONNSCOPE=./connscope bash tests/browser.sh
#
# Serves samples/mixed.pcap (and a SYN flood sample) with --web on a free
# loopback port, loads the page in Chromium, lets its scripts run, and
# compares what the page shows (the DOM after the scripts ran) with the
# JSON report of the same file: counters, outcome rows, the connection
# table, the alert list.  Also: the page opened with the token works and
# without it shows the error; over HTTPS (--web-cert, --web-key, with a
# certificate made here by openssl) it works too; the page's scripts log
# no error.  A
# screenshot of each page is left in $OUT for a human to look at.
#
# Needs chromium (Debian package, in the Makefile's DEBS).  Ends with
# "browser: N passed, N failed"; status 0 when nothing failed.
set -u
CONNSCOPE=${CONNSCOPE:-./connscope}
OUT=${OUT:-tests/out/browser}
CHROMIUM=${CHROMIUM:-chromium}

passed=0
failed=0
ok()     { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
check()  { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

command -v "$CHROMIUM" >/dev/null || { echo "browser: $CHROMIUM not found (make deps installs it)"; exit 2; }
command -v jq >/dev/null || { echo "browser: jq not found"; exit 2; }
rm -rf "$OUT"
mkdir -p "$OUT"

server_pid=
stop_server() {
	[ -n "$server_pid" ] || return 0
	kill -INT "$server_pid" 2>/dev/null
	wait "$server_pid"
	local status=$?
	server_pid=
	return $status
}
trap stop_server EXIT

# start_server NAME ARGS...: connscope with --web on a free port, in the
# background; sets URL once the analysis is done (at most 30 s).
start_server() {
	local name=$1
	shift
	"$CONNSCOPE" -q --web 127.0.0.1:0 "$@" 2>"$OUT/$name.server.err" &
	server_pid=$!
	URL=
	for _ in $(seq 300); do
		if grep -q "serving the dashboard until Ctrl-C" "$OUT/$name.server.err"; then
			URL=$(sed -n 's/.*dashboard at \(https\{0,1\}:[^ ]*\).*/\1/p' "$OUT/$name.server.err")
			return 0
		fi
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

# browse NAME URL [FLAGS...]: the DOM after the page's scripts ran (at most
# 10 s of the page's time), the console's messages, and a screenshot.
browse() {
	local name=$1 url=$2
	shift 2
	local flags=("$@" --headless --no-sandbox --disable-gpu --no-first-run
		     --disable-extensions --disable-background-networking
		     --disable-component-update --disable-sync
		     --user-data-dir="$OUT/profile" --virtual-time-budget=10000
		     --window-size=1400,1800)
	timeout 60 "$CHROMIUM" "${flags[@]}" --enable-logging=stderr --v=0 \
		--dump-dom "$url" >"$OUT/$name.dom.html" 2>"$OUT/$name.chromium.err"
	timeout 60 "$CHROMIUM" "${flags[@]}" --screenshot="$OUT/$name.png" \
		"$url" >/dev/null 2>&1
	return 0
}

# The opening tag of the element with this id, from a DOM dump.
tag_of() { grep -o "<[a-z0-9]* [^>]*id=\"$2\"[^>]*>" "$1" | head -1; }

# The value of an attribute of the element with this id.
attr_of() { tag_of "$1" "$2" | grep -o " $3=\"[^\"]*\"" | sed 's/.*="\(.*\)"/\1/'; }

# The text inside the element with this id (the element must not nest its
# own tag name).
text_of() {
	tr '\n' ' ' <"$1" | grep -o "id=\"$2\"[^>]*>[^<]*" | head -1 | sed 's/.*>//'
}

# Page errors Chromium logged: uncaught exceptions and console.error.
page_errors() {
	grep -E 'CONSOLE|Uncaught' "$1" | grep -v -E 'favicon' | grep -E 'Uncaught|ERROR|error' || true
}

# ---- mixed.pcap: the counters, outcomes and table agree with the report ----
json=$OUT/mixed.json
"$CONNSCOPE" -q -r samples/mixed.pcap --json "$json" 2>/dev/null
if start_server mixed -r samples/mixed.pcap; then
	ok "connscope serves samples/mixed.pcap at $URL"
	browse mixed "$URL"
	dom=$OUT/mixed.dom.html
	check "the page's scripts finished loading (body data-ready)" \
		grep -q '<body[^>]*data-ready="true"' "$dom"
	for pair in packets:.summary.packets connections:.summary.connections; do
		id=${pair%%:*}
		want=$(jq "${pair#*:}" "$json")
		got=$(attr_of "$dom" "$id" data-value)
		check "#$id shows $want (page: '$got')" [ "$got" = "$want" ]
	done
	want=$(jq '[.connections[] | select(.outcome as $o |
		["refused","timeout","unreachable","aborted","reset_nonexistent","half_open"] |
		index($o))] | length' "$json")
	got=$(attr_of "$dom" failed data-value)
	check "#failed shows the $want failed connections (page: '$got')" [ "$got" = "$want" ]
	got=$(attr_of "$dom" status data-state)
	check "the status says finished (page: '$got')" [ "$got" = "finished" ]
	rows=$(tr '\n' ' ' <"$dom" | grep -o '<tr[^>]*data-id="[0-9]*"' | wc -l)
	want=$(jq '.connections | length' "$json")
	check "the connection table lists $want connections (page: $rows)" [ "$rows" -eq "$want" ]
	for o in $(jq -r '.outcomes | to_entries[] | select(.value > 0) | .key' "$json"); do
		check "the outcome '$o' is listed" grep -q "$o" "$dom"
	done
	verdict=$(jq -r '.connections[] | select(.outcome == "refused") | .resp_h' "$json" | head -1)
	check "the verdicts name the refusing server $verdict" \
		grep -q "refused by $verdict" "$dom"
	# A finished file has nothing open: the counter names what it counts,
	# the connections the end found tracked, as the text report does.
	tracked=$("$CONNSCOPE" -r samples/mixed.pcap 2>/dev/null |
		sed -n 's/^  at the end  .* endpoints of the \([0-9,]*\) connections\{0,1\} still tracked.*/\1/p' | tr -d ,)
	check "the finished file's counter is 'Still tracked' $tracked, as the text report says" \
		grep -q "c-label\">Still tracked</div><div id=\"open\" class=\"c-value\" data-value=\"$tracked\"" "$dom"
	errs=$(page_errors "$OUT/mixed.chromium.err")
	check "no script error in the page${errs:+: $errs}" [ -z "$errs" ]
	check "screenshot written" [ -s "$OUT/mixed.png" ]
	check "connscope stops on Ctrl-C with status 0" stop_server
else
	not_ok "connscope did not start serving: $(head -c 300 "$OUT/mixed.server.err")"
	stop_server
fi

# ---- a SYN flood: the alert is on the page --------------------------------
json=$OUT/flood.json
"$CONNSCOPE" -q -r samples/synflood-cookies.pcap --json "$json" 2>/dev/null
if start_server flood -r samples/synflood-cookies.pcap; then
	browse flood "$URL"
	dom=$OUT/flood.dom.html
	check "flood: the page finished loading" grep -q '<body[^>]*data-ready="true"' "$dom"
	target=$(jq -r '.alerts[] | select(.type == "syn_flood") | .target' "$json")
	check "flood: the syn_flood alert on $target is shown" \
		grep -q "SYN flood on $target" "$dom"
	want=$(jq '.alerts | length' "$json")
	got=$(attr_of "$dom" alerts-count data-value)
	check "flood: #alerts-count shows $want (page: '$got')" [ "$got" = "$want" ]
	want=$(jq '.summary.connections' "$json")
	got=$(attr_of "$dom" connections data-value)
	check "flood: #connections shows $want (page: '$got')" [ "$got" = "$want" ]
	errs=$(page_errors "$OUT/flood.chromium.err")
	check "flood: no script error${errs:+: $errs}" [ -z "$errs" ]
	stop_server
else
	not_ok "flood: connscope did not start serving: $(head -c 300 "$OUT/flood.server.err")"
	stop_server
fi

# ---- the token: with it the page works, without it says why not -----------
token=browser-test-token-$$
if start_server token -r samples/refused.pcap --web-token "$token"; then
	check "token: the dashboard URL carries the token" grep -q "token=$token" <<<"$URL"
	browse token "$URL"
	check "token: the page loads with the token" \
		grep -q '<body[^>]*data-ready="true"' "$OUT/token.dom.html"
	browse notoken "${URL%%\?*}"
	check "token: without it the page does not claim to be ready" \
		bash -c "! grep -q '<body[^>]*data-ready=\"true\"' '$OUT/notoken.dom.html'"
	errtext=$(text_of "$OUT/notoken.dom.html" error)
	check "token: without it the page shows an error ('$errtext')" [ -n "$errtext" ]
	stop_server
else
	not_ok "token: connscope did not start serving: $(head -c 300 "$OUT/token.server.err")"
	stop_server
fi

# ---- HTTPS: the page works over TLS with a certificate made here -----------
# Chromium trusts that one key (its SPKI hash), nothing else.
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$OUT/key.pem" -out "$OUT/cert.pem" -days 2 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1 &&
   start_server tls -r samples/mixed.pcap --web-cert "$OUT/cert.pem" --web-key "$OUT/key.pem"; then
	check "tls: the dashboard's address is https ($URL)" grep -q '^https://' <<<"$URL"
	spki=$(openssl x509 -in "$OUT/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | base64)
	browse tls "$URL" --ignore-certificate-errors-spki-list="$spki"
	check "tls: the page loads over HTTPS" \
		grep -q '<body[^>]*data-ready="true"' "$OUT/tls.dom.html"
	got=$(attr_of "$OUT/tls.dom.html" connections data-value)
	want=$(jq .summary.connections "$OUT/mixed.json")
	check "tls: #connections shows $want over HTTPS (page: '$got')" [ "$got" = "$want" ]
	errs=$(page_errors "$OUT/tls.chromium.err")
	check "tls: no script error${errs:+: $errs}" [ -z "$errs" ]
	stop_server
else
	not_ok "tls: connscope did not serve HTTPS: $(head -c 300 "$OUT/tls.server.err" 2>/dev/null)"
	stop_server
fi

# ---- a capture still being written: the dashboard follows it ---------------
# The file goes through a pipe in two parts, 3 s apart; in the pause the
# API must show the first part (not nothing, not everything).
http_get() {
	timeout 5 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET %s HTTP/1.0\r\n\r\n" "$2" >&3
		sed "1,/^\r$/d" <&3' _ "$1" "$2"
}
pcap=samples/synflood-cookies.pcap
total=$(jq .summary.packets "$OUT/flood.json")
{ head -c 150000 "$pcap"; sleep 3; tail -c +150001 "$pcap"; } |
	"$CONNSCOPE" -q -r - --web 127.0.0.1:0 2>"$OUT/pipe.server.err" &
server_pid=$!
port=
for _ in $(seq 50); do
	port=$(sed -n 's/.*dashboard at http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$OUT/pipe.server.err")
	[ -n "$port" ] && break
	sleep 0.1
done
sleep 1.5
mid=$(http_get "$port" /api/summary | jq '.summary.packets' 2>/dev/null)
for _ in $(seq 50); do
	grep -q "serving the dashboard until Ctrl-C" "$OUT/pipe.server.err" && break
	sleep 0.1
done
end=$(http_get "$port" /api/summary | jq '.summary.packets' 2>/dev/null)
between() { [ "${mid:-0}" -gt 0 ] && [ "${mid:-0}" -lt "$total" ] && [ "$end" = "$total" ]; } 2>/dev/null
check "a capture read from a pipe shows on the dashboard while it arrives ($mid, then $end of $total packets)" \
	between
stop_server

echo "browser: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
