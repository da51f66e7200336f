#!/usr/bin/env bash
# cmdline.sh — the command line's edges: outputs that never destroy data,
# numbers parsed strictly, and messages that name the real problem.
#
#   - an output (--json, --conn-log, --report) that names an input or
#     another output, by any path (./x, a hard link, a symbolic link,
#     /dev/stdout), is refused with status 1 before anything is written;
#   - a report replaces the file it names only when it is complete: while
#     the run goes on, after it is killed, and after a failed write the old
#     file is intact and no temporary file is left (except after SIGKILL);
#     a replaced file keeps its permissions, a new one gets 0666 & ~umask;
#   - counts are digits only and seconds digits with an optional decimal
#     fraction, range-checked, the message naming the option and the range;
#   - a directory, an empty pipe, a missing interface and an unknown option
#     inside a cluster (-nn) are each named for what they are.
#
# Waits are for a condition (a file appears), never for an amount of time.
# Prints one line per check and ends with "cmdline: N passed, N failed".
set -u
cd "$(dirname "$0")/.."

CONNSCOPE=${CONNSCOPE:-./connscope}
OUT=${OUT:-tests/out/cmdline}
rm -rf "$OUT" && mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SAMPLE=$PWD/samples/mixed.pcap

passed=0
failed=0
ok()     { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# run NAME ARGS...: connscope in $OUT (relative names are relative to it),
# stdout, stderr and status kept as $OUT/NAME.{out,err,rc}.
run() {
	local name=$1; shift
	# shellcheck disable=SC2086  # CONNSCOPE may carry a valgrind prefix
	(cd "$OUT" && $CONNSCOPE "$@" >"$name.out" 2>"$name.err")
	echo $? >"$OUT/$name.rc"
}
rc()  { cat "$OUT/$1.rc"; }
err() { head -c 300 "$OUT/$1.err"; }
sum() { sha256sum <"$1" | cut -d' ' -f1; }
mode() { stat -c %a "$1"; }
temporaries() { find "$OUT" -name '.*.??????' | wc -l; }

# files NAME: every file in $OUT but NAME's own, with its checksum.
files() {
	(cd "$OUT" && find . -type f ! -name "$1.*" -print0 | sort -z | xargs -0 sha256sum)
}
# refused NAME PATTERN ARGS...: status 1, the message matches PATTERN, and
# no file was created or changed (the capture $OUT/victim among them).
refused() {
	local name=$1 want=$2; shift 2
	cp "$SAMPLE" "$OUT/victim"
	local before
	before=$(files "$name")
	run "$name" "$@"
	if [ "$(rc "$name")" = 1 ] && grep -qE -- "$want" "$OUT/$name.err" &&
	   [ "$(files "$name")" = "$before" ]; then
		ok "$name: refused, status 1: $(head -n 1 "$OUT/$name.err" | cut -c 1-150)"
	else
		not_ok "$name: status $(rc "$name") (want 1, message /$want/, no file written): $(err "$name")"
	fi
	rm -f "$OUT"/*.new
}

# ---- outputs that name an input ------------------------------------------------
refused json_is_input "--json 'victim'.*-r 'victim'" -r victim --json victim -q
refused json_is_input_dotted "--json '\./victim'.*-r 'victim'" -r victim --json ./victim -q
refused conn_log_is_input_by_dir "--conn-log '\.\./[^']*/victim'.*-r 'victim'" \
	-r victim --conn-log "../$(basename "$OUT")/victim" -q
ln -f "$OUT/victim" "$OUT/hardlink" 2>/dev/null || cp "$SAMPLE" "$OUT/hardlink"
refused report_is_input_hardlink "--report 'hardlink'.*-r 'victim'" -r victim --report hardlink
ln -sf victim "$OUT/symlink"
refused json_is_input_symlink "--json 'symlink'.*-r 'victim'" -r victim --json symlink -q
refused json_is_second_input "--json 'victim'.*-r 'victim'" \
	-r "$SAMPLE" -r victim --json victim -q
# -r - reads standard input: an output that is that file is refused too.
cp "$SAMPLE" "$OUT/victim"
before=$(sum "$OUT/victim")
(cd "$OUT" && $CONNSCOPE -r - --json victim -q <victim >stdin_victim.out 2>stdin_victim.err)
status=$?
if [ "$status" = 1 ] && grep -q "standard input" "$OUT/stdin_victim.err" &&
   [ "$(sum "$OUT/victim")" = "$before" ]; then
	ok "stdin_is_output: refused, status 1: $(head -n 1 "$OUT/stdin_victim.err" | cut -c 1-150)"
else
	not_ok "stdin_is_output: status $status (want 1), victim changed or message: $(head -c 300 "$OUT/stdin_victim.err")"
fi

# ---- outputs that name each other ------------------------------------------------
refused json_is_conn_log "--json 'a\.new' and --conn-log 'a\.new'" \
	-r victim --json a.new --conn-log a.new -q
refused json_is_conn_log_dotted "--json 'a\.new' and --conn-log '\./a\.new'" \
	-r victim --json a.new --conn-log ./a.new -q
refused json_is_report "--json 'a\.new' and --report '\./\./a\.new'" \
	-r victim --json a.new --report ././a.new
touch "$OUT/exists.new"
refused json_is_conn_log_existing "--json 'exists\.new' and --conn-log '$OUT/exists\.new'" \
	-r victim --json exists.new --conn-log "$OUT/exists.new" -q
# /dev/stdout is where the text report goes ('-'): one file for two reports.
refused json_is_stdout "--json '/dev/stdout' and --report '-' \(standard output\)" \
	-r victim --json /dev/stdout
refused two_stdout "only one report can go to standard output" \
	-r victim --json - --conn-log -

# Not the same file: the null device takes any number of reports, and a
# name only alike is another file.
run null_twice -r "$SAMPLE" --json /dev/null --conn-log /dev/null --report /dev/null
[ "$(rc null_twice)" = 0 ] && ok "/dev/null for every report: status 0" \
	|| not_ok "/dev/null for every report: status $(rc null_twice): $(err null_twice)"
run distinct -r "$SAMPLE" -q --json a.json --conn-log a.json.log
[ "$(rc distinct)" = 0 ] && jq -e .summary "$OUT/a.json" >/dev/null 2>&1 &&
	grep -q '^#close' "$OUT/a.json.log" && ok "two outputs, two names: both written" \
	|| not_ok "two outputs, two names: status $(rc distinct): $(err distinct)"

# ---- a report replaces the old one only when complete -----------------------------
printf '{"old": true}\n' >"$OUT/keep.json"
old=$(sum "$OUT/keep.json")

# wait_for COND...: up to 60 s for a condition (the machine may be loaded).
wait_for() {
	for _ in $(seq 600); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
# The run has begun (its outputs are open): a temporary file appeared, or
# (the behaviour this replaces) the old report was already overwritten.
begun() { [ "$(temporaries)" -gt 0 ] || [ "$(sum "$OUT/keep.json")" != "$old" ]; }

# Standard input held open: the run has read the capture's header and the
# first packets, and waits for more.
FIFO=$OUT/feed
rm -f "$FIFO" && mkfifo "$FIFO"
(cd "$OUT" && exec $CONNSCOPE -r - -q --json keep.json <"$FIFO" 2>during.err) &
pid=$!
exec 3>"$FIFO"
cat "$SAMPLE" >&3
if wait_for begun; then
	[ "$(sum "$OUT/keep.json")" = "$old" ] \
		&& ok "while the run goes on, the old report is intact" \
		|| not_ok "while the run goes on, the old report is already overwritten ($(wc -c <"$OUT/keep.json") bytes)"
else
	not_ok "the run did not begin within 60 s: $(head -c 300 "$OUT/during.err")"
fi
exec 3>&-
wait "$pid"
status=$?
if [ "$status" = 0 ] && jq -e .summary "$OUT/keep.json" >/dev/null 2>&1 && [ "$(temporaries)" = 0 ]; then
	ok "once complete, the report replaces the old one, no temporary file left"
else
	not_ok "after the run: status $status, keep.json $(head -c 80 "$OUT/keep.json"), $(temporaries) temporary files"
fi

# Killed outright: the old report is whole (the temporary file stays, as
# nothing can remove it; it is hidden and named after the report).
printf '{"old": true}\n' >"$OUT/keep.json"
(cd "$OUT" && exec $CONNSCOPE -r - -q --json keep.json <"$FIFO" 2>killed.err) &
pid=$!
exec 3>"$FIFO"
cat "$SAMPLE" >&3
wait_for begun
exec 4>&2 2>/dev/null	# bash's own "Killed" line
kill -KILL "$pid"
wait "$pid"
exec 2>&4 4>&- 3>&-
[ "$(sum "$OUT/keep.json")" = "$old" ] && ok "SIGKILL during the run: the old report is intact" \
	|| not_ok "SIGKILL during the run: the old report is gone ($(wc -c <"$OUT/keep.json") bytes left)"
find "$OUT" -name '.keep.json.??????' -delete

# A report that cannot be written whole (a 1 KiB file size limit, as a full
# disk would): the run fails (3), the old report stays, the temporary goes.
( trap '' XFSZ; ulimit -f 1; cd "$OUT" &&
  exec $CONNSCOPE -r "$SAMPLE" -q --json keep.json >full.out 2>full.err )
status=$?
if [ "$status" = 3 ] && [ "$(sum "$OUT/keep.json")" = "$old" ] && [ "$(temporaries)" = 0 ] &&
   grep -q "keep.json" "$OUT/full.err"; then
	ok "a report that cannot be written whole: status 3, old report intact, no temporary ($(head -n 1 "$OUT/full.err" | cut -c 1-100))"
else
	not_ok "a failed write: status $status (want 3), keep.json $(wc -c <"$OUT/keep.json") bytes, $(temporaries) temporaries: $(head -c 200 "$OUT/full.err")"
fi

# A run that cannot begin (the conn.log's directory is missing): the JSON
# report it had opened is dropped, the old one stays.
printf '{"old": true}\n' >"$OUT/keep.json"
run nobegin -r "$SAMPLE" -q --json keep.json --conn-log nodir/x.log
if [ "$(rc nobegin)" = 3 ] && [ "$(sum "$OUT/keep.json")" = "$old" ] && [ "$(temporaries)" = 0 ]; then
	ok "a run that cannot open every output: status 3, old report intact, no temporary"
else
	not_ok "a run that cannot open every output: status $(rc nobegin) (want 3), keep.json $(head -c 60 "$OUT/keep.json"), $(temporaries) temporaries"
fi

# Permissions: a new report as open() would create it, a replaced one keeps its own.
rm -f "$OUT/new.json"
(umask 027 && cd "$OUT" && $CONNSCOPE -r "$SAMPLE" -q --json new.json 2>/dev/null)
chmod 604 "$OUT/keep.json"
(umask 077 && cd "$OUT" && $CONNSCOPE -r "$SAMPLE" -q --json keep.json 2>/dev/null)
[ "$(mode "$OUT/new.json")" = 640 ] && [ "$(mode "$OUT/keep.json")" = 604 ] \
	&& ok "modes: a new report 640 under umask 027, a replaced one keeps 604" \
	|| not_ok "modes: new $(mode "$OUT/new.json") (want 640), replaced $(mode "$OUT/keep.json") (want 604)"
# A symbolic link stays one: the file it points to gets the report.
printf 'old\n' >"$OUT/target.json"
ln -sf target.json "$OUT/link.json"
run via_link -r "$SAMPLE" -q --json link.json
[ -L "$OUT/link.json" ] && jq -e .summary "$OUT/target.json" >/dev/null 2>&1 \
	&& ok "--json through a symbolic link: the link stays, its target gets the report" \
	|| not_ok "--json through a symbolic link: link $(stat -c %F "$OUT/link.json"), target $(head -c 40 "$OUT/target.json")"

# ---- numbers --------------------------------------------------------------------
# bad_number NAME OPTION VALUE RANGE: status 1, and the message names the
# option, the value as given and the range.
bad_number() {
	local name=$1 opt=$2 value=$3 range=$4
	run "$name" "$opt" "$value" -r "$SAMPLE" -q
	if [ "$(rc "$name")" = 1 ] && grep -qF -- "connscope: $opt: '$value' is not $range" "$OUT/$name.err"; then
		ok "$opt '$value': refused ($(head -n 1 "$OUT/$name.err"))"
	else
		not_ok "$opt '$value': status $(rc "$name") (want 1 and \"$opt: '$value' is not $range\"): $(err "$name")"
	fi
}
COUNT='a whole number from 1 to 18446744073709551615'
SECONDS_RANGE='a number of seconds from 0.000001 to 10000000'
bad_number c_blank -c ' 5' "$COUNT"
bad_number c_plus -c '+5' "$COUNT"
bad_number c_minus_blank -c ' -5' "$COUNT"
bad_number c_minus -c '-5' "$COUNT"
bad_number c_hex -c '0x10' "$COUNT"
bad_number c_zero -c '0' "$COUNT"
bad_number c_wrap -c '18446744073709551616' "$COUNT"
bad_number flows_max --max-flows '1073741825' 'a whole number from 1 to 1073741824'
bad_number rate_blank --synflood-rate ' 200' 'a whole number from 1 to 100000000'
bad_number idle_tiny --idle-timeout '1e-300' "$SECONDS_RANGE"
bad_number idle_exp --idle-timeout '1e3' "$SECONDS_RANGE"
bad_number idle_plus --idle-timeout '+1' "$SECONDS_RANGE"
bad_number idle_blank --msl ' 1' "$SECONDS_RANGE"
bad_number idle_hex --syn-timeout '0x10' "$SECONDS_RANGE"
bad_number idle_below_us --closewait-age '0.0000001' "$SECONDS_RANGE"
bad_number idle_zero --idle-timeout '0' "$SECONDS_RANGE"
bad_number idle_big --idle-timeout '10000000.5' "$SECONDS_RANGE"
bad_number idle_dot --idle-timeout '1.' "$SECONDS_RANGE"
bad_number duration_inf --duration 'inf' "$SECONDS_RANGE"

# good_number OPTION VALUE: the spellings the README and --help use still work.
good_number() {
	local opt=$1 value=$2
	run good "$opt" "$value" -r "$SAMPLE" -q --json good.json
	[ "$(rc good)" = 0 ] && ok "$opt $value: accepted" \
		|| not_ok "$opt $value: status $(rc good): $(err good)"
}
good_number -c 100000
good_number -c 18446744073709551615
good_number -c 007
good_number --max-flows 1000
good_number --idle-timeout 300
good_number --idle-timeout 0.5
good_number --msl 30
good_number --syn-timeout 0.000001
good_number --closewait-age 10000000
good_number --synflood-rate 200
run count7 -c 7 -r "$SAMPLE" -q --json - 
[ "$(jq .summary.packets "$OUT/count7.out" 2>/dev/null)" = 7 ] && ok "-c 7 reads 7 packets" \
	|| not_ok "-c 7: $(head -c 100 "$OUT/count7.out")"

# ---- messages ---------------------------------------------------------------------
# says NAME STATUS PATTERN WHAT ARGS...
says() {
	local name=$1 want_rc=$2 want=$3 what=$4; shift 4
	run "$name" "$@"
	if [ "$(rc "$name")" = "$want_rc" ] && grep -qE -- "$want" "$OUT/$name.err"; then
		ok "$what: $(head -n 1 "$OUT/$name.err" | cut -c 1-150)"
	else
		not_ok "$what: status $(rc "$name") (want $want_rc, /$want/): $(err "$name")"
	fi
}
mkdir -p "$OUT/adir"
says dir 2 "cannot read 'adir': is a directory" "a directory is called one" -r adir -q
: >"$OUT/empty.pcap"
says empty 2 "cannot read 'empty.pcap': the file is empty" "an empty file is called empty" -r empty.pcap -q

# A pipe opened by name whose writer sent nothing.
: | (cd "$OUT" && timeout 60 $CONNSCOPE -r /dev/stdin -q >pipe.out 2>pipe.err)
status=$?
[ "$status" = 2 ] && grep -q "cannot read '/dev/stdin': no data arrived on the pipe" "$OUT/pipe.err" \
	&& ok "an empty pipe: $(head -n 1 "$OUT/pipe.err")" \
	|| not_ok "an empty pipe: status $status (want 2, 'no data arrived on the pipe'): $(head -c 200 "$OUT/pipe.err")"
: | (cd "$OUT" && timeout 60 $CONNSCOPE -r - -q >stdin.out 2>stdin.err)
status=$?
[ "$status" = 2 ] && grep -q "cannot read standard input: no data arrived on the pipe" "$OUT/stdin.err" \
	&& ok "an empty pipe on standard input: $(head -n 1 "$OUT/stdin.err")" \
	|| not_ok "an empty pipe on standard input: status $status: $(head -c 200 "$OUT/stdin.err")"
# Some bytes through a pipe, then the end: pcap's reading, not "empty".
head -c 10 "$SAMPLE" | (cd "$OUT" && timeout 60 $CONNSCOPE -r /dev/stdin -q >short.out 2>short.err)
status=$?
[ "$status" = 2 ] && grep -q "cannot read '/dev/stdin': .*header" "$OUT/short.err" && ! grep -q empty "$OUT/short.err" \
	&& ok "a short header through a pipe: $(head -n 1 "$OUT/short.err")" \
	|| not_ok "a short header through a pipe: status $status: $(head -c 200 "$OUT/short.err")"
# A FIFO whose writer opens and closes it: the input is not opened again.
rm -f "$FIFO" && mkfifo "$FIFO"
(cd "$OUT" && timeout 60 $CONNSCOPE -r feed -q >fifo.out 2>fifo.err) &
pid=$!
: >"$FIFO"
wait "$pid"
status=$?
[ "$status" = 2 ] && grep -q "cannot read 'feed': no data arrived on the pipe" "$OUT/fifo.err" \
	&& ok "an empty FIFO: $(head -n 1 "$OUT/fifo.err")" \
	|| not_ok "an empty FIFO: status $status (want 2; 124 is a hang): $(head -c 200 "$OUT/fifo.err")"

# No such interface: the problem once, with the interface's name.  (Without
# root, Linux refuses the capture socket before it looks for the device.)
run nosuchif -i nosuchif0 -q
if [ "$(rc nosuchif)" = 2 ] && grep -q "'nosuchif0'" "$OUT/nosuchif.err" &&
   ! grep -qE '(No such device[a-z ]*): \1' "$OUT/nosuchif.err"; then
	ok "-i nosuchif0: $(head -n 1 "$OUT/nosuchif.err")"
else
	not_ok "-i nosuchif0: status $(rc nosuchif): $(err nosuchif)"
fi

# Unknown options and missing values are named as written.
says opt_nn 1 "unknown option '-n'" "-nn names -n" -nn -r "$SAMPLE"
says opt_qx 1 "unknown option '-x'" "-qx names -x" -qx -r "$SAMPLE"
says opt_long 1 "unknown option '--bogus'" "--bogus=1 names --bogus" --bogus=1 -r "$SAMPLE"
says opt_qr 1 "option '-r' needs a value" "-qr without a file names -r" -qr
says opt_json 1 "option '--json' needs a value" "--json without a file" -r "$SAMPLE" --json
says opt_flag_value 1 "option '--vlan-key' takes no value" "--vlan-key=1" --vlan-key=1 -r "$SAMPLE"
says opt_ambiguous 1 "option '--web-' is ambiguous" "--web- is ambiguous" --web- x -r "$SAMPLE"

echo "cmdline: $passed passed, $failed failed"
[ "$failed" = 0 ]
