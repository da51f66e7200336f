#!/usr/bin/env bash
# check.sh — the ground truth of samples/ checked against the packets.
#
#   bash tests/samples/check.sh [SAMPLES_DIR [EXPECTED_DIR]]
#
# For every samples/NAME.pcap it reads the packets with tcpdump (nothing of
# connscope) and derives, connection by connection, what any observer at
# the capture point can see: the outcome, who sent the RST and why, the
# ICMP error, and each endpoint's state at the end (the rules are those of
# tests/samples/README.md).  Then it compares that with NAME.expected.tsv
# (row by row, in the order the connections began) or with
# NAME.expected-counts.tsv, and checks that NAME.expected-alerts.tsv lists
# an alert exactly where the packets cross connscope's default thresholds.
# The expected files were written by samples/record.sh from what each
# scenario did; this is the second, independent opinion.
#
# Needs tcpdump and awk.  Prints one line per check and ends with
# "check: N passed, N failed"; exit status 0 when nothing failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SAMPLES=${1:-$HERE/../../samples}
EXPECTED=${2:-$HERE}

passed=0
failed=0
ok()     { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

command -v tcpdump >/dev/null || { echo "check: tcpdump not found"; exit 2; }

# scan_ports PCAP KIND: distinct ports that got a bare SYN (ports_probed),
# answered one with a SYN-ACK (open), with a RST and never a SYN-ACK
# (refused), or neither (silent).
scan_ports() {
	tcpdump -nn -r "$1" tcp 2>/dev/null | awk -v kind="$2" '
	function portof(e) { sub(/:$/, "", e); sub(/^.*\./, "", e); return e }
	$6 == "Flags" && $7 == "[S]," { probed[portof($5)] = 1 }
	$6 == "Flags" && $7 == "[S.]," { open[portof($3)] = 1 }
	$6 == "Flags" && $7 ~ /R/ { rst[portof($3)] = 1 }
	END {
		for (p in probed) {
			if (p in open) o++
			else if (p in rst) r++
			else s++
			n++
		}
		if (kind == "ports_probed") print n + 0
		else if (kind == "open") print o + 0
		else if (kind == "refused") print r + 0
		else print s + 0
	}'
}

# scan_alerts PCAP: "port_scan SRC->DST" for every source that sent bare
# SYNs to at least 15 distinct ports of one host that no SYN-ACK answered
# (vertical), and "port_scan SRC:port P" for at least 25 distinct hosts on
# one port (horizontal): connscope's thresholds (DESIGN.md).
scan_alerts() {
	tcpdump -nn -r "$1" tcp 2>/dev/null | awk '
	function hostof(e) { sub(/:$/, "", e); sub(/\.[0-9]+$/, "", e); return e }
	function portof(e) { sub(/:$/, "", e); sub(/^.*\./, "", e); return e }
	$6 == "Flags" && $7 == "[S]," {
		v[hostof($3) "->" hostof($5) SUBSEP portof($5)] = 1
		h[hostof($3) SUBSEP portof($5) SUBSEP hostof($5)] = 1
	}
	$6 == "Flags" && $7 == "[S.]," {
		delete v[hostof($5) "->" hostof($3) SUBSEP portof($3)]
		delete h[hostof($5) SUBSEP portof($3) SUBSEP hostof($3)]
	}
	END {
		for (k in v) { split(k, a, SUBSEP); nv[a[1]]++ }
		for (k in h) { split(k, a, SUBSEP); nh[a[1] " port " a[2]]++ }
		for (k in nv) if (nv[k] >= 15) print "port_scan\t" k
		for (k in nh) if (nh[k] >= 25) print "port_scan\t" k
	}'
}

# backscatter_alerts PCAP: "rst_backscatter HOST" for every host that sent
# at least 20 lone RSTs (a RST on a 4-tuple that carried nothing else, in
# either direction) to at least 10 distinct ip:ports: connscope's
# thresholds (DESIGN.md).
backscatter_alerts() {
	tcpdump -nn -r "$1" tcp 2>/dev/null | awk '
	function hostof(e) { sub(/:$/, "", e); sub(/\.[0-9]+$/, "", e); return e }
	$6 == "Flags" {
		d = $5; sub(/:$/, "", d)
		k = ($3 < d) ? $3 " " d : d " " $3
		pkts[k]++
		if ($7 ~ /R/) { rst_from[k] = $3; rst_to[k] = d }
	}
	END {
		for (k in rst_from) if (pkts[k] == 1) {
			h = hostof(rst_from[k]); n[h]++
			if (!((h, rst_to[k]) in seen)) { seen[h, rst_to[k]] = 1; peers[h]++ }
		}
		for (h in n) if (n[h] >= 20 && peers[h] >= 10) print "rst_backscatter\t" h
	}'
}

# derive PCAP: one line per connection, in the order they began:
#   orig_h orig_p resp_h resp_p outcome rst_by rst_cause orig_state
#   resp_state icmp_type icmp_code syns synacks reused reuse_trouble
# (reused: 1 when a new SYN on the same 4-tuple ended this one's TIME_WAIT;
# reuse_trouble: 1 when this connection's SYN came on a 4-tuple whose last
# connection had both FINs (a TIME_WAIT) and the reuse hurt: the SYN drew
# an ACK of the old connection, was sent again, or got no handshake)
# The model, for these captures (the client side of a short path):
# - the originator is the sender of the first bare SYN; a bare SYN with a
#   new ISN on a 4-tuple whose connection saw a FIN or RST starts a new
#   connection (port reuse); if the responder answers it, a TIME_WAIT it
#   held for the old one is over (CLOSED).
# - a bare ACK from the responder before any SYN-ACK, not acknowledging
#   the SYN, belongs to an older connection on the 4-tuple (a stale one, or
#   a TIME_WAIT); the originator's bare RST whose sequence number is that
#   ACK's acknowledgment is RFC 9293 3.10.7.3's answer from SYN-SENT: it
#   resets the older connection, not this one, which goes on.
# - an ICMP destination-unreachable that names the responder answers its
#   latest unanswered SYN: unreachable, both CLOSED (the client aborts).
# - RST from the responder to a SYN: refused.  A bare RST (no ACK flag)
#   whose sequence number is the ACK number of the peer's last segment:
#   reset_nonexistent (cause nonexistent).  Any other RST after the
#   handshake: aborted (cause abort).  All of these: both CLOSED.
# - SYN-ACK but no ACK from the originator: half_open, SYN_SENT /
#   SYN_RECEIVED.  No answer at all: timeout when the SYN was retransmitted
#   or is 3 s older than the capture's last packet (connect() failed:
#   CLOSED / CLOSED), else attempt (SYN_SENT / CLOSED).
# - handshake and both FINs: completed; the first FIN's sender is in
#   TIME_WAIT (its last ACK seen), the other CLOSED.  One FIN: closing,
#   FIN_WAIT_2 (FIN acknowledged) or FIN_WAIT_1, and CLOSE_WAIT.  None:
#   established.
derive() {
	tcpdump -nn -S -tt -r "$1" 2>/dev/null | awk '
	function hostof(e) { sub(/\.[0-9]+:?$/, "", e); return e }
	function portof(e) { sub(/:$/, "", e); sub(/^.*\./, "", e); return e }
	function tok(name,   i, v) {
		for (i = 6; i < NF; i++)
			if ($i == name) { v = $(i + 1); sub(/,$/, "", v); return v }
		return ""
	}
	{ last_ts = $1 }
	$6 == "Flags" {
		src = $3; dst = $5; sub(/:$/, "", dst)
		fl = $7; gsub(/[\[\],]/, "", fl)
		seq = tok("seq"); ack = tok("ack"); len = tok("length")
		split(seq, sq, ":"); s0 = sq[1]
		tuple_sd = src " " dst; tuple_ds = dst " " src
		if (fl == "S") {
			c = cur[tuple_sd]
			if (c == "" || (isn[c] != s0 && (fin_o[c] || fin_r[c] || rst_by[c] != "-"))) {
				prev = c
				c = ++n; cur[tuple_sd] = c
				orig[c] = src; resp[c] = dst; isn[c] = s0; t0[c] = $1
				prevc[c] = prev
				syns[c] = 0; synacks[c] = 0; hs[c] = 0; fin_o[c] = 0; fin_r[c] = 0
				first_fin[c] = "-"; rst_by[c] = "-"; cause[c] = "-"
				icmp_t[c] = "-"; icmp_c[c] = "-"; tw_killed[c] = 0
				stale_ack[c] = ""
				lastack_o[c] = ""; lastack_r[c] = ""; finack_o[c] = 0; finack_r[c] = 0
			}
			syns[c]++
			next
		}
		if ((tuple_sd) in cur) { c = cur[tuple_sd]; side = "o" }
		else if ((tuple_ds) in cur) { c = cur[tuple_ds]; side = "r" }
		else next
		if (fl == "S.") {
			synacks[c]++
			if (prevc[c] != "") tw_killed[prevc[c]] = 1
			next
		}
		if (side == "r" && fl == "." && !synacks[c] && ack + 0 != (isn[c] + 1) % 4294967296)
			stale_ack[c] = ack
		if (fl == "R" && side == "o" && !synacks[c] && stale_ack[c] != "" && s0 + 0 == stale_ack[c] + 0)
			next
		if (index(fl, "R")) {
			if (rst_by[c] != "-") next
			rst_by[c] = side == "o" ? "orig" : "resp"
			other_ack = side == "o" ? lastack_r[c] : lastack_o[c]
			if (!hs[c] && side == "r" && synacks[c] == 0) cause[c] = "refused"
			else if (fl == "R" && s0 + 0 == other_ack + 0) cause[c] = "nonexistent"
			else cause[c] = "abort"
			next
		}
		if (side == "o" && synacks[c] && !hs[c] && index(fl, ".")) hs[c] = 1
		if (ack != "") { if (side == "o") lastack_o[c] = ack; else lastack_r[c] = ack }
		if (index(fl, "F")) {
			end = (seq ~ /:/) ? sq[2] : s0
			if (side == "o" && !fin_o[c]) { fin_o[c] = 1; finseq_o[c] = end + 1; if (first_fin[c] == "-") first_fin[c] = "o" }
			if (side == "r" && !fin_r[c]) { fin_r[c] = 1; finseq_r[c] = end + 1; if (first_fin[c] == "-") first_fin[c] = "r" }
		}
		if (ack != "") {
			if (side == "r" && fin_o[c] && ack + 0 == finseq_o[c] % 4294967296) finack_o[c] = 1
			if (side == "o" && fin_r[c] && ack + 0 == finseq_r[c] % 4294967296) finack_r[c] = 1
		}
		next
	}
	/ ICMP6?,? / {
		target = ""; port = ""; ty = "-"; co = "-"
		if ($0 ~ /ICMP6, destination unreachable/) {
			ty = 1
			if ($0 ~ /unreachable route/) co = 0
			else if ($0 ~ /unreachable prohibited/) co = 1
			else if ($0 ~ /unreachable address/) co = 3
			else if ($0 ~ /unreachable port/) co = 4
			for (i = 1; i < NF; i++) if ($i == "address" || $i == "route" || $i == "port" || $i == "prohibited") target = $(i + 1)
			sub(/,$/, "", target)
		} else if ($0 ~ /ICMP .*unreachable/) {
			ty = 3
			if ($0 ~ /tcp port [0-9]+ unreachable/) {
				co = 3; target = $7; port = $10
			} else {
				target = $8
				if ($0 ~ /admin prohibited filter/) co = 13
				else if ($0 ~ /admin prohibited/) co = 10
				else if ($7 == "host") co = 1
				else if ($7 == "net") co = 0
			}
		}
		if (target == "") next
		for (k = n; k >= 1; k--)
			if (hostof(resp[k]) == target && (port == "" || portof(resp[k]) == port) &&
			    synacks[k] == 0 && rst_by[k] == "-") break
		if (k >= 1 && icmp_t[k] == "-") { icmp_t[k] = ty; icmp_c[k] = co }
		next
	}
	END {
		for (c = 1; c <= n; c++) {
			os = "CLOSED"; rs = "CLOSED"
			if (icmp_t[c] != "-") out = "unreachable"
			else if (cause[c] == "refused") out = "refused"
			else if (cause[c] == "nonexistent") out = "reset_nonexistent"
			else if (cause[c] == "abort") out = "aborted"
			else if (synacks[c] && !hs[c]) { out = "half_open"; os = "SYN_SENT"; rs = "SYN_RECEIVED" }
			else if (!synacks[c]) {
				out = (syns[c] > 1 || last_ts - t0[c] >= 3) ? "timeout" : "attempt"
				os = out == "timeout" ? "CLOSED" : "SYN_SENT"
			} else if (fin_o[c] && fin_r[c]) {
				out = "completed"
				if (first_fin[c] == "o") { os = finack_r[c] ? "TIME_WAIT" : "FIN_WAIT_2"; rs = finack_r[c] ? "CLOSED" : "LAST_ACK" }
				else { rs = finack_o[c] ? "TIME_WAIT" : "FIN_WAIT_2"; os = finack_o[c] ? "CLOSED" : "LAST_ACK" }
				if (tw_killed[c]) { os = "CLOSED"; rs = "CLOSED" }
			} else if (fin_o[c] || fin_r[c]) {
				out = "closing"
				if (fin_o[c]) { os = finack_o[c] ? "FIN_WAIT_2" : "FIN_WAIT_1"; rs = "CLOSE_WAIT" }
				else { rs = finack_r[c] ? "FIN_WAIT_2" : "FIN_WAIT_1"; os = "CLOSE_WAIT" }
			} else { out = "established"; os = "ESTABLISHED"; rs = "ESTABLISHED" }
			p = prevc[c]; trouble = 0
			if (p != "" && fin_o[p] && fin_r[p])
				trouble = (stale_ack[c] != "" || syns[c] > 1 || !hs[c]) ? 1 : 0
			print hostof(orig[c]), portof(orig[c]), hostof(resp[c]), portof(resp[c]), out,
			      rst_by[c], cause[c], os, rs, icmp_t[c], icmp_c[c], syns[c], synacks[c], tw_killed[c],
			      trouble
		}
	}'
}

# td PCAP FILTER: tcpdump lines.
td() { tcpdump -nn -r "$1" "$2" 2>/dev/null; }

for pcap in "$SAMPLES"/*.pcap; do
	name=$(basename "$pcap" .pcap)
	rows=$EXPECTED/$name.expected.tsv
	counts=$EXPECTED/$name.expected-counts.tsv
	alerts=$EXPECTED/$name.expected-alerts.tsv
	derived=$(derive "$pcap")

	# ---- per-connection rows ----
	if [ -e "$rows" ]; then
		got=$(echo "$derived" | awk '{ print $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 "\t" $7 "\t" $8 "\t" $9 "\t" $10 "\t" $11 }')
		want=$(tail -n +2 "$rows")
		if [ "$got" = "$want" ]; then
			ok "$name: $(echo "$want" | wc -l) connections as in $(basename "$rows")"
		else
			not_ok "$name: the packets say otherwise than $(basename "$rows"):"
			diff <(echo "$want") <(echo "$got") | sed 's/^/#   /' | head -n 20
		fi
	elif [ -e "$counts" ]; then
		# ---- aggregate counts ----
		got=$(echo "$derived" | awk '
			{ conns++; out[$5]++; os[$8]++; rs[$9]++ }
			END {
				print "connections\tall\t" conns
				for (k in out) print "outcome\t" k "\t" out[k]
				for (k in os) print "orig_state\t" k "\t" os[k]
				for (k in rs) print "resp_state\t" k "\t" rs[k]
			}' | sort)
		want=$(tail -n +2 "$counts" | grep -v '^wire	' | sort)
		if [ -z "$want" ]; then
			# A scan's probes: the file holds the wire facts only (its
			# connections are tcpdump's per-port answers, counted below).
			ok "$name: wire facts only"
		elif [ "$got" = "$want" ]; then
			ok "$name: outcome and state counts as in $(basename "$counts")"
		else
			not_ok "$name: the packets say otherwise than $(basename "$counts"):"
			diff <(echo "$want") <(echo "$got") | sed 's/^/#   /' | head -n 20
		fi
		# The wire facts, counted again.
		while IFS=$'\t' read -r kind key want_n; do
			[ "$kind" = wire ] || continue
			case $key in
			syn) n=$(td "$pcap" 'tcp[tcpflags] == tcp-syn' | wc -l) ;;
			syn_spoofed) n=$(td "$pcap" 'src net 10.213.128.0/17 and tcp[tcpflags] == tcp-syn' | wc -l) ;;
			synack) n=$(td "$pcap" 'tcp[tcpflags] == (tcp-syn|tcp-ack)' | wc -l) ;;
			distinct_sources) n=$(td "$pcap" 'tcp[tcpflags] == tcp-syn' | awk '{ sub(/\.[0-9]+$/, "", $3); print $3 }' | sort -u | wc -l) ;;
			distinct_client_ports) n=$(td "$pcap" 'tcp[tcpflags] == tcp-syn' | awk '{ print $3 }' | sort -u | wc -l) ;;
			ports_probed|open|refused|silent) n=$(scan_ports "$pcap" "$key") ;;
			rst) n=$(td "$pcap" 'tcp[tcpflags] & tcp-rst != 0' | wc -l) ;;
			rst_ack) n=$(td "$pcap" 'tcp[tcpflags] == (tcp-rst|tcp-ack)' | wc -l) ;;
			rst_peers) n=$(td "$pcap" 'tcp[tcpflags] & tcp-rst != 0' | awk '{ print $5 }' | sort -u | wc -l) ;;
			*) n="?" ;;
			esac
			[ "$n" = "$want_n" ] && ok "$name: wire $key $n" || not_ok "$name: wire $key: tcpdump counts $n, file says $want_n"
		done < "$counts"
	else
		not_ok "$name: neither $name.expected.tsv nor $name.expected-counts.tsv"
	fi

	# ---- alerts: exactly where the packets cross the default thresholds ----
	# syn_flood: >= 200 SYN/s to one ip:port with under 20% completing;
	# time_wait_buildup: >= 1000 endpoints of one host in TIME_WAIT;
	# close_wait_buildup: >= 50 CLOSE_WAIT endpoints of one ip:port (the
	# age is checked by record.sh); port_reuse: a connection whose SYN
	# came on a 4-tuple in TIME_WAIT and stalled (see reuse_trouble); a
	# reuse whose handshake completes at once is healthy (Linux does it by
	# design) and raises none.
	if [ ! -e "$alerts" ]; then
		not_ok "$name: no $name.expected-alerts.tsv"
		continue
	fi
	rate=$(tcpdump -nn -tt -r "$pcap" 'tcp[tcpflags] == tcp-syn' 2>/dev/null |
		awk 'NR == 1 { t0 = $1 } { t = $1 } END { print (t > t0) ? int(NR / (t - t0)) : 0 }')
	got=$({ echo "$derived" | awk -v rate="$rate" '
		function hp(h, p) { return (h ~ /:/ ? "[" h "]" : h) ":" p }
		{
			tgt = hp($3, $4); syn[tgt]++
			if ($5 == "completed" || $5 == "closing" || $5 == "established") done[tgt]++
			if ($8 == "TIME_WAIT") tw[$1]++
			if ($9 == "TIME_WAIT") tw[$3]++
			if ($9 == "CLOSE_WAIT") cw[tgt]++
			if ($15 == 1) print "port_reuse\t" hp($1, $2) "->" tgt
		}
		END {
			for (t in syn) if (syn[t] >= 1000 && rate >= 200 && done[t] * 5 < syn[t]) print "syn_flood\t" t
			for (h in tw) if (tw[h] >= 1000) print "time_wait_buildup\t" h
			for (t in cw) if (cw[t] >= 50) print "close_wait_buildup\t" t
		}'; scan_alerts "$pcap"; backscatter_alerts "$pcap"; } | sort)
	want=$(tail -n +2 "$alerts" | sort)
	if [ "$got" = "$want" ]; then
		ok "$name: alerts: ${want:-none}"
	else
		not_ok "$name: alerts: the packets give '${got//$'\n'/, }', $(basename "$alerts") says '${want//$'\n'/, }'"
	fi
done

echo "check: $passed passed, $failed failed"
[ "$failed" = 0 ]
