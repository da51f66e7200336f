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
FLOODGEN=${FLOODGEN:-build/tests/floodgen}

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

# phone NAME URL [JS]: the page in a 390 x 844 viewport; a screenshot of
# it in $OUT/NAME.png, and the value of JS (as JSON).
phone() {
	timeout 90 python3 "$(dirname "$0")/tools/phone.py" "$CHROMIUM" "$2" 390 844 \
		"$OUT/$1.png" "${3:-document.title}" 2>>"$OUT/$1.phone.err"
}

# The opening tag of the element with this id, from a DOM dump.
tag_of() { grep -o "<[a-z0-9]* [^>]*id=\"$2\"[^>]*>" "$1" | head -1; }

# 30100 -> 30,100, as the page writes numbers.
commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

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
	# the filters live in the URL: opened with #outcome=refused, the table
	# pages over the refused connections only
	want=$(jq '[.connections[] | select(.outcome == "refused")] | length' "$json")
	browse mixed-refused "$URL#outcome=refused"
	info=$(text_of "$OUT/mixed-refused.dom.html" page-info)
	check "#outcome=refused in the URL shows the $want refused ('$info')" \
		grep -q "^1–$want of $want\$" <<<"$info"
	# where to look first: the refusing server, first among the servers
	server=$(jq -r '[.connections[] | select(.outcome as $o |
		["refused","timeout","unreachable","aborted","reset_nonexistent","half_open"] |
		index($o)) | "\(.resp_h):\(.resp_p)"] | group_by(.) | max_by(length) | .[0]' "$json")
	got=$(tr '\n' ' ' <"$OUT/mixed.dom.html" | grep -o 'id="look-servers".*' |
		grep -o 'data-host="[^"]*" data-port="[0-9]*"' | head -1 | sed 's/data-host="\(.*\)" data-port="\(.*\)"/\1:\2/')
	check "where to look first names $server first ('$got')" [ "$got" = "$server" ]
	# one connection's story: opened from the URL, with its tcpdump filter
	c=$(jq -c '[.connections[] | select(.outcome == "refused")][0]' "$json")
	id=$(jq .id <<<"$c")
	want=$(jq -r '"tcp and host \(.orig_h) and host \(.resp_h) and port \(.orig_p) and port \(.resp_p)"' <<<"$c")
	browse mixed-detail "$URL#conn=$id"
	got=$(text_of "$OUT/mixed-detail.dom.html" cf-bpf)
	check "#conn=$id opens its detail with the tcpdump filter '$want' ('$got')" [ "$got" = "$want" ]
	# a phone, 390 pixels wide (DevTools' device mode: headless windows
	# are 500 pixels at least): the table keeps outcome, client, server and
	# the states, and nothing is wider than the screen
	got=$(phone mixed-phone "$URL" "[...document.querySelectorAll('#conn-table th')].filter((e) =>
		getComputedStyle(e).display !== 'none').map((e) => e.textContent).join(',') +
		' ' + document.documentElement.scrollWidth")
	check "phone: the table shows client, server, outcome, states in 390 px ('$got')" \
		[ "$got" = '"client,server,outcome,states (orig / resp) 390"' ]
	PHONE_SCROLL_TO=conn-table phone mixed-phone-table "$URL" >/dev/null
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
	phone flood-phone "$URL" >/dev/null
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
	form=$(tag_of "$OUT/notoken.dom.html" token-form)
	check "token: without it the page asks for the token ('$form')" \
		bash -c "[ -n '$form' ] && ! grep -q ' hidden' <<<'$form'"
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

# ---- a file past every in-memory window: every connection reachable --------
# floodgen's spoofed SYNs (every 4-tuple different, 20 a second: 25
# minutes) and real connections, with the store's memory cut to one chunk
# (4,096 records), so most connections are read back from the spill file.
# The counts come from the packets: a connection is a 4-tuple whose first
# packet is a bare SYN.
many=$OUT/many.pcap
"$FLOODGEN" 30000 100 20 >"$many" 2>/dev/null
syn_tuples() {	# the distinct 4-tuples of bare SYNs, "src.port dst.port"
	tcpdump -nn -r "$many" 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' 2>/dev/null |
		awk '{ print $3, $5 }' | sed 's/:$//' | sort -u
}
syn_tuples >"$OUT/many.tuples"
want=$(wc -l <"$OUT/many.tuples")
want_flood=$(awk '$2 ~ /^10\.2\.0\.80\./' "$OUT/many.tuples" | wc -l)
want_8080=$(awk '$2 ~ /\.8080$/' "$OUT/many.tuples" | wc -l)
if CONNSCOPE_CONN_STORE_BYTES=1 start_server many -r "$many"; then
	port=${URL#http://127.0.0.1:}
	port=${port%%/*}
	api() { curl -s --max-time 30 "http://127.0.0.1:$port$1"; }
	set_n=$(api '/api/connections?limit=1' | jq '.set.connections')
	check "many: the set holds all $want connections (set: $set_n)" [ "$set_n" = "$want" ]
	for sort in -ts bytes; do
		: >"$OUT/many.ids"
		for ((off = 0; off < want; off += 1000)); do
			api "/api/connections?limit=1000&offset=$off&sort=$sort" |
				jq -r '.items[].id' >>"$OUT/many.ids"
		done
		got=$(sort -un "$OUT/many.ids" | wc -l)
		rows=$(wc -l <"$OUT/many.ids")
		check "many: paging by $sort reaches all $want connections once ($got distinct of $rows)" \
			[ "$got" = "$want" -a "$rows" = "$want" ]
	done
	got=$(api '/api/connections?host=10.2.0.80&limit=1' | jq .total)
	check "many: host=10.2.0.80 counts the $want_flood flood SYN 4-tuples (API: $got)" \
		[ "$got" = "$want_flood" ]
	got=$(api '/api/connections?port=8080&limit=1' | jq .total)
	check "many: port=8080 counts the $want_8080 real connections (API: $got)" \
		[ "$got" = "$want_8080" ]
	# the charts: from the capture's first second to its last, in buckets
	# that keep each second's peak (the flood's 20 SYNs a second; the
	# real connections' SYNs all come in the first second)
	first=$(tcpdump -tt -nn -c 1 -r "$many" 2>/dev/null | cut -d. -f1)
	lastsec=$(tcpdump -tt -nn -r "$many" 2>/dev/null | tail -1 | cut -d. -f1)
	api /api/timeseries >"$OUT/many.ts.json"
	got=$(jq .start "$OUT/many.ts.json")
	check "many: the charts begin at the capture's first second $first (start: $got)" \
		[ "$got" = "$first" ]
	got=$(jq '.end >= '"$lastsec"' and .interval > 1' "$OUT/many.ts.json")
	check "many: the charts reach its last second $lastsec in buckets of more than 1 s" \
		[ "$got" = true ]
	want_peak=$(tcpdump -tt -nn -r "$many" 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' \
		2>/dev/null | cut -d. -f1 | uniq -c | sort -n | tail -1 | awk '{ print $1 }')
	got=$(jq '.series.syn | max' "$OUT/many.ts.json")
	check "many: the SYN chart keeps the busiest second's $want_peak SYNs (chart: $got)" \
		[ "$got" = "$want_peak" ]
	# the exports: every match, streamed
	got=$(api '/api/connections.csv' | tail -n +2 | cut -d, -f1 | sort -u | wc -l)
	check "many: the CSV export has all $want connections ($got)" [ "$got" = "$want" ]
	got=$(api '/api/connections.jsonl?port=8080' | jq -s 'map(.resp_p) | unique == [8080] and length == '"$want_8080")
	check "many: the JSON Lines export of port=8080 has its $want_8080 connections" [ "$got" = true ]
	# where to look first: the flood's target, its SYNs older than the
	# 3 s SYN timeout at the capture's end failed (timeout)
	end_ts=$(tcpdump -tt -nn -r "$many" 2>/dev/null | tail -1 | cut -d' ' -f1)
	want_top=$(tcpdump -tt -nn -r "$many" 'dst host 10.2.0.80 and tcp[tcpflags] == tcp-syn' 2>/dev/null |
		awk -v end="$end_ts" '$1 < end - 3 { print $3, $5 }' | sort -u | wc -l)
	got=$(api /api/top | jq -r '.servers[0] | "\(.host):\(.port) \(.failed) \(.outcome)"')
	check "many: the top failing server is 10.2.0.80:80 with $want_top timeouts ('$got')" \
		[ "$got" = "10.2.0.80:80 $want_top timeout" ]
	last=$(api "/api/connections?limit=1&offset=$((want - 1))&sort=ts" | jq '.items[0].id')
	got=$(api "/api/connections/$last" | jq '.connection.id')
	check "many: the detail of the last connection by time ($last) is served" [ "$got" = "$last" -a "$last" != null ]
	browse many "$URL"
	dom=$OUT/many.dom.html
	info=$(text_of "$dom" page-info)
	check "many: the table pages over all $want ('$info')" \
		grep -q "of $(commas "$want")\$" <<<"$info"
	errs=$(page_errors "$OUT/many.chromium.err")
	check "many: no script error${errs:+: $errs}" [ -z "$errs" ]
	stop_server
else
	not_ok "many: connscope did not start serving: $(head -c 300 "$OUT/many.server.err")"
	stop_server
fi

echo "browser: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
