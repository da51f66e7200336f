#!/usr/bin/env bash
# blast.sh — the live benchmark's sender says exactly what it sent.
#
#   BLAST=build/tests/blast FLOODGEN=build/tests/floodgen bash tests/blast.sh
#
# Without root: inputs blast must refuse with a message and status 2 (not a
# pcap, pcapng, another link type, a record longer than any snapshot, bad
# options), and a file cut inside a record, whose whole frames are kept.
# With root: frames sent across a veth pair inside a network namespace made
# here; the peer's rx_packets must grow by exactly blast's "sent", for a
# run that sends everything (two threads, paced) and for one the time
# limit cuts short (status 1, the rest counted as unsent).
set -u
cd "$(dirname "$0")/.." || exit 1

BLAST=${BLAST:-build/tests/blast}
FLOODGEN=${FLOODGEN:-build/tests/floodgen}
NS=bl-t-$$
IFA=bltx$$
IFB=blrx$$
NAMESPACES=()
PIDS=()
TMP=
failures=0

. tests/lib/procs.sh # stop_all

cleanup() {
	stop_all
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "blast.sh: $*"; }
bad() {
	say "FAIL: $*"
	failures=$((failures + 1))
}

for tool in "$BLAST" "$FLOODGEN"; do
	[ -x "$tool" ] || { say "'$tool' is not built (make tests)"; exit 1; }
done
TMP=$(mktemp -d /tmp/cs-blast.XXXXXX) || exit 1

# ---- inputs ---------------------------------------------------------------------

# A little-endian pcap header with link type $1, then the bytes of $2 (a
# printf format) as the records.
pcap_with() {
	local lt=$1
	printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\xff\xff\0\0'
	printf "\\x$(printf %02x "$lt")\\0\\0\\0"
	printf "${2:-}"
}

# A record header: ts 0, caplen and wirelen $1 (below 65536).
record() {
	local lo=$(($1 & 255)) hi=$(($1 >> 8))
	printf '\\0\\0\\0\\0\\0\\0\\0\\0\\x%02x\\x%02x\\0\\0\\x%02x\\x%02x\\0\\0' "$lo" "$hi" "$lo" "$hi"
}

# refused NAME FILE WORDS: blast must exit 2 and say WORDS (a grep -E pattern).
refused() {
	local rc
	"$BLAST" lo "$2" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ "$rc" -eq 2 ] || bad "$1: status $rc, not 2"
	grep -Eq "$3" "$TMP/err" || bad "$1: no '$3' in: $(cat "$TMP/err")"
	[ -s "$TMP/out" ] && bad "$1: a summary was printed"
}

printf 'not a capture at all, longer than 24 bytes\n' >"$TMP/text"
refused "text file" "$TMP/text" "not a pcap file \(bad magic 0x"
printf '\x0a\x0d\x0d\x0a' >"$TMP/ng"
head -c 40 /dev/zero >>"$TMP/ng"
refused "pcapng" "$TMP/ng" "is pcapng"
pcap_with 101 "$(record 60)" >"$TMP/raw"
head -c 60 /dev/zero >>"$TMP/raw"
refused "raw IP link type" "$TMP/raw" "link type 101"
pcap_with 1 '\0\0\0\0\0\0\0\0\xff\xff\xff\x7f\xff\xff\xff\x7f' >"$TMP/huge"
refused "record of 2 GiB" "$TMP/huge" "damaged after 0 frames"
refused "missing file" "$TMP/none" "cannot open"
head -c 10 "$TMP/raw" >"$TMP/short"
refused "short header" "$TMP/short" "too short"

# A valid file and interface, so that only the option is wrong.
pcap_with 1 "$(record 60)" >"$TMP/eth"
head -c 60 /dev/zero >>"$TMP/eth"
for args in "-b 0" "-b 1025" "-j 0" "-j 17" "-r -1" "-n 1x" "-t 0"; do
	# shellcheck disable=SC2086 # the words are the options
	"$BLAST" $args lo "$TMP/eth" >/dev/null 2>"$TMP/err"
	rc=$?
	[ "$rc" -eq 2 ] || bad "options '$args': status $rc, not 2"
	grep -q "wants a whole number" "$TMP/err" || bad "options '$args': $(cat "$TMP/err")"
done
"$BLAST" lo >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "^usage: blast" "$TMP/err" || bad "no FILE: $(cat "$TMP/err")"

# Cut inside the third record: the two whole frames before it are kept
# (the send then fails on the missing interface, after the warning).
{ pcap_with 1 "$(record 60)"; head -c 60 /dev/zero; printf "$(record 60)"; head -c 60 /dev/zero
  printf "$(record 60)"; head -c 30 /dev/zero; } >"$TMP/cut"
"$BLAST" no-such-if0 "$TMP/cut" >/dev/null 2>"$TMP/err"
grep -q "ends inside a record; sending the 2 whole frames" "$TMP/err" ||
	bad "cut file: no warning about 2 whole frames in: $(cat "$TMP/err")"
grep -q "no interface 'no-such-if0'" "$TMP/err" || bad "missing interface not reported: $(cat "$TMP/err")"

# ---- sending --------------------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then
		bad "sending: cannot run under CI: needs root for a network namespace"
	else
		say "sending: SKIPPED (needs root for a network namespace; under CI this fails)"
	fi
else
	# 3,000 SYNs and 10 connections of 7 packets, 54-byte frames.
	"$FLOODGEN" 3000 10 >"$TMP/flood.pcap" 2>/dev/null || bad "floodgen failed"
	frames=$(($(stat -c %s "$TMP/flood.pcap") - 24))
	frames=$((frames / (16 + 54)))

	ip netns add "$NS" || { say "cannot create namespace $NS"; exit 1; }
	NAMESPACES+=("$NS")
	# No IPv6, no addresses: blast's frames are all the link carries.
	{
		ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 &&
			ip -n "$NS" link add "$IFA" type veth peer name "$IFB" &&
			ip -n "$NS" link set "$IFA" up && ip -n "$NS" link set "$IFB" up
	} >"$TMP/setup.log" 2>&1 || { say "veth: $(cat "$TMP/setup.log")"; exit 1; }

	rx() { ip netns exec "$NS" cat "/sys/class/net/$IFB/statistics/rx_packets"; }
	field() { tr ' ' '\n' <"$TMP/out" | sed -n "s/^$1=//p"; }

	# blast_run NAME STATUS ARGS...: blast's status must be STATUS and the
	# peer must have received exactly what it says it sent.
	blast_run() {
		local name=$1 want=$2 before after rc
		shift 2
		before=$(rx)
		timeout -k 5 60 ip netns exec "$NS" "$BLAST" "$@" "$IFA" "$TMP/flood.pcap" \
			>"$TMP/out" 2>"$TMP/err"
		rc=$?
		after=$(rx)
		[ "$rc" -eq "$want" ] || bad "$name: status $rc, not $want: $(cat "$TMP/err")"
		[ "$(field sent)" = $((after - before)) ] ||
			bad "$name: blast says sent=$(field sent), the peer received $((after - before))"
		say "$name: $(cat "$TMP/out")"
	}

	blast_run "all frames" 0 -r 20000 -b 16 -j 2
	[ "$(field sent)" = "$frames" ] || bad "all frames: sent $(field sent) of $frames"
	[ "$(field stop)" = done ] || bad "all frames: stop=$(field stop)"

	# 1,000 frames a second for at most 1 s: about 1,000 of them, then
	# the time limit; what was not sent is unsent, not lost.
	blast_run "time limit" 1 -r 1000 -t 1
	[ "$(field stop)" = time ] || bad "time limit: stop=$(field stop)"
	[ $(($(field sent) + $(field unsent))) = "$frames" ] ||
		bad "time limit: sent $(field sent) + unsent $(field unsent) is not $frames"
	[ "$(field sent)" -lt "$frames" ] || bad "time limit: sent everything"
fi

if [ "$failures" -gt 0 ]; then
	say "$failures failure(s)"
	exit 1
fi
say "ok"
