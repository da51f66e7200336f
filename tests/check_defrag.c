/*
 * check_defrag.c — outer IP reassembly (capture/defrag.c) through the
 * engine: what each fragment is counted as, and what the datagram that
 * completes decodes to.
 *
 * Every datagram is built whole by tests/pktbuild.c, then cut by
 * pb_ip_fragment, so the expected answer is the builder's own: the TCP
 * segment, or the tunnel and its inner segment, of the whole datagram.
 * The accounting must balance after every case: packets = analysed +
 * every skip reason, each fragment counted once.
 */
#include <stdint.h>
#include <string.h>

#include "analyzer/engine.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"

#define T0 (1700000000ull * CS_USEC_PER_SEC)
#define DATA_LEN 100		/* TCP payload bytes of the datagrams below */

static struct cs_engine eng;
static bool eng_live;
static uint8_t whole[2048], piece[8][2048];
static size_t whole_len, piece_len[8];

static void setup(void)
{
	struct cs_engine_opts o;
	char err[128];

	cs_engine_opts_default(&o);
	o.flow.max_flows = 16;
	ck_assert_msg(cs_engine_init(&eng, &o, err, sizeof err) == 0, "%s", err);
	eng_live = true;
}

static void teardown(void)
{
	if (eng_live)
		cs_engine_fini(&eng);
	eng_live = false;
}

/* A data segment of DATA_LEN bytes, 10.0.0.1:40000 -> 10.0.0.2:80, as an
 * Ethernet frame: IP payload 20 (TCP) + 100 = 120 bytes. */
static void build_segment(void)
{
	struct pb_spec s;

	pb_spec_init(&s, 4);
	s.tcp.flags = DATA;
	s.tcp.ack = 1;
	s.payload_len = DATA_LEN;
	whole_len = pb_build(&s, whole, sizeof whole);
	ck_assert_uint_eq(whole_len, 14 + 20 + 20 + DATA_LEN);
}

/* The datagram above inside GRE with key 42 (or VXLAN, VNI 42), as an
 * Ethernet frame. */
static void build_tunnelled(enum pb_tun kind)
{
	struct pb_spec outer, inner;
	struct pb_tunnel t = { .kind = kind, .id = 42, .gre_key = true };

	pb_spec_init(&outer, 4);
	pb_spec_init(&inner, 4);
	inner.tcp.flags = DATA;
	inner.tcp.ack = 1;
	inner.payload_len = DATA_LEN;
	whole_len = pb_tunnel_build(&outer, &t, &inner, whole, sizeof whole);
	ck_assert_uint_gt(whole_len, 0);
}

/* Piece i: [off, off + len) of the datagram's IP payload. */
static void cut(int i, size_t off, size_t len, bool more)
{
	piece_len[i] = pb_ip_fragment(whole, whole_len, 14, off, len, more,
				      piece[i], sizeof piece[i]);
	ck_assert_uint_gt(piece_len[i], 0);
}

/* Feeds piece i at ts; returns what the engine made of it. */
static struct cs_decoded feed(int i, uint64_t ts)
{
	struct cs_frame f = { .ts_us = ts, .caplen = (uint32_t)piece_len[i],
			      .wirelen = (uint32_t)piece_len[i],
			      .dlt = CS_DLT_EN10MB, .bytes = piece[i] };
	struct cs_decoded d;

	cs_engine_decode(&eng.decoder, &f, &d);
	struct cs_decoded kept = d;
	cs_engine_decoded(&eng, &d);
	return kept;
}

static void assert_balanced(void)
{
	ck_assert_uint_eq(eng.stats.packets,
			  eng.stats.analysed + cs_stats_skipped_total(&eng.stats));
}

static void assert_segment(const struct cs_decoded *d)
{
	ck_assert_msg(d->why == CS_SKIP_NONE, "completing fragment: %s",
		      cs_skip_names[d->why]);
	ck_assert(d->reassembled);
	ck_assert_uint_eq(d->pkt.kind, CS_PKT_TCP);
	ck_assert_uint_eq(d->pkt.dport, 80);
	ck_assert_uint_eq(d->pkt.payload_len, DATA_LEN);
	ck_assert_uint_eq(d->pkt.ip_len, 20 + 20 + DATA_LEN);
}

/* Two pieces, 64 + 56 payload bytes, in order: the first is held, the
 * second completes the segment. */
START_TEST(in_order)
{
	build_segment();
	cut(0, 0, 64, true);
	cut(1, 64, 56, false);
	ck_assert_uint_eq(feed(0, T0).why, CS_SKIP_IP_FRAGMENT_HELD);
	struct cs_decoded d = feed(1, T0 + 1);
	assert_segment(&d);
	ck_assert_uint_eq(eng.stats.packets, 2);
	ck_assert_uint_eq(eng.stats.skipped[CS_SKIP_IP_FRAGMENT_HELD], 1);
	ck_assert_uint_eq(eng.stats.tcp_packets, 1);
	ck_assert_uint_eq(eng.stats.datagrams_reassembled, 1);
	ck_assert_uint_eq(eng.flows.count, 1);
	assert_balanced();
}
END_TEST

/* Last piece first: the first piece, arriving second, completes it. */
START_TEST(reversed)
{
	build_segment();
	cut(0, 0, 64, true);
	cut(1, 64, 56, false);
	ck_assert_uint_eq(feed(1, T0).why, CS_SKIP_IP_FRAGMENT_HELD);
	struct cs_decoded d = feed(0, T0 + 1);
	assert_segment(&d);
	ck_assert_uint_eq(eng.stats.datagrams_reassembled, 1);
	assert_balanced();
}
END_TEST

/* Three pieces (40, 40, 40), the middle one twice: the copy is an
 * overlap with the same bytes, dropped, and the datagram completes. */
START_TEST(duplicated)
{
	build_segment();
	cut(0, 0, 40, true);
	cut(1, 40, 40, true);
	cut(2, 80, 40, false);
	ck_assert_uint_eq(feed(0, T0).why, CS_SKIP_IP_FRAGMENT_HELD);
	ck_assert_uint_eq(feed(1, T0 + 1).why, CS_SKIP_IP_FRAGMENT_HELD);
	ck_assert_uint_eq(feed(1, T0 + 2).why, CS_SKIP_IP_FRAGMENT_OVERLAP);
	struct cs_decoded d = feed(2, T0 + 3);
	assert_segment(&d);
	ck_assert_uint_eq(eng.stats.packets, 4);
	ck_assert_uint_eq(eng.stats.skipped[CS_SKIP_IP_FRAGMENT_HELD], 2);
	ck_assert_uint_eq(eng.stats.skipped[CS_SKIP_IP_FRAGMENT_OVERLAP], 1);
	ck_assert_uint_eq(eng.stats.datagrams_incomplete, 0);
	assert_balanced();
}
END_TEST

/* [0, 64) then [56, 120) with other bytes in the 8 they share: the
 * datagram is given up (RFC 5722), nothing is analysed, and the second
 * piece alone is no datagram (held, never completed: given up at the
 * end too). */
START_TEST(overlapping)
{
	build_segment();
	cut(0, 0, 64, true);
	cut(1, 56, 64, false);
	piece[1][14 + 20] ^= 0xff;		/* payload byte 56 differs */
	ck_assert_uint_eq(feed(0, T0).why, CS_SKIP_IP_FRAGMENT_HELD);
	ck_assert_uint_eq(feed(1, T0 + 1).why, CS_SKIP_IP_FRAGMENT_OVERLAP);
	ck_assert_uint_eq(eng.stats.datagrams_incomplete, 1);
	ck_assert_uint_eq(eng.stats.analysed, 0);
	ck_assert_uint_eq(eng.flows.count, 0);
	assert_balanced();
}
END_TEST

/* The second piece never comes: 30 s of packet time later the datagram
 * is given up (counted, not analysed); its one fragment stays counted as
 * held.  The packet that moves time is a fragment of another datagram
 * (IP id + 1), itself held and given up at the end. */
START_TEST(missing)
{
	build_segment();
	cut(0, 0, 64, true);
	ck_assert_uint_eq(feed(0, T0).why, CS_SKIP_IP_FRAGMENT_HELD);
	whole[14 + 5] ^= 1;			/* identification: another datagram */
	cut(1, 0, 64, true);
	ck_assert_uint_eq(feed(1, T0 + 30 * CS_USEC_PER_SEC).why,
			  CS_SKIP_IP_FRAGMENT_HELD);
	ck_assert_uint_eq(eng.stats.datagrams_incomplete, 1);
	cs_engine_finish(&eng);
	ck_assert_uint_eq(eng.stats.datagrams_incomplete, 2);
	ck_assert_uint_eq(eng.stats.analysed, 0);
	assert_balanced();
}
END_TEST

/*
 * A tunnel packet split by a router: the first piece ends inside the
 * inner TCP header (GRE with its key: 8 + inner IP 20 + 4 of TCP = 32; VXLAN:
 * UDP 8 + VXLAN 8 + Ethernet 14 + IP 20 + 6 of TCP = 56 bytes), so alone
 * it shows no connection.  Put together, the inner segment is read whole
 * with its tunnel.
 */
static void split_tunnel(enum pb_tun kind, size_t first, enum cs_tunnel_kind want)
{
	build_tunnelled(kind);
	size_t pay = whole_len - 14 - 20;
	cut(0, 0, first, true);
	cut(1, first, pay - first, false);
	ck_assert_uint_eq(feed(0, T0).why, CS_SKIP_IP_FRAGMENT_HELD);
	struct cs_decoded d = feed(1, T0 + 1);
	assert_segment(&d);
	ck_assert_uint_eq(d.pkt.tunnel.kind, want);
	ck_assert_uint_eq(d.pkt.tunnel.id, 42);
	assert_balanced();
}

START_TEST(gre_split)
{
	split_tunnel(PB_TUN_GRE, 32, CS_TUN_GRE);
}
END_TEST

START_TEST(vxlan_split)
{
	split_tunnel(PB_TUN_VXLAN, 56, CS_TUN_VXLAN);
}
END_TEST

/* IPv6 (RFC 8200 4.5): the same segment from 2001:db8::1 in two pieces,
 * each behind a Fragment header; reversed, too.  Put together, the
 * Fragment header is gone and the segment is read whole. */
static void build_segment6(void)
{
	struct pb_spec s;

	pb_spec_init(&s, 6);
	s.tcp.flags = DATA;
	s.tcp.ack = 1;
	s.payload_len = DATA_LEN;
	whole_len = pb_build(&s, whole, sizeof whole);
	ck_assert_uint_eq(whole_len, 14 + 40 + 20 + DATA_LEN);
}

START_TEST(ipv6_in_order_and_reversed)
{
	for (int rev = 0; rev < 2; rev++) {
		build_segment6();
		cut(0, 0, 64, true);
		cut(1, 64, 56, false);
		ck_assert_uint_eq(piece_len[0], 14 + 40 + 8 + 64);
		ck_assert_uint_eq(feed(rev, T0 + rev * 10).why, CS_SKIP_IP_FRAGMENT_HELD);
		struct cs_decoded d = feed(!rev, T0 + rev * 10 + 1);
		ck_assert_msg(d.why == CS_SKIP_NONE, "completing fragment: %s",
			      cs_skip_names[d.why]);
		ck_assert(d.reassembled);
		ck_assert_uint_eq(d.pkt.ip_ver, 6);
		ck_assert_uint_eq(d.pkt.payload_len, DATA_LEN);
		ck_assert_uint_eq(d.pkt.ip_len, 40 + 20 + DATA_LEN);
		ck_assert(!(d.pkt.info & CS_PKTF_FRAGMENT));
	}
	ck_assert_uint_eq(eng.stats.datagrams_reassembled, 2);
	ck_assert_uint_eq(eng.stats.tcp_packets, 2);
	assert_balanced();
}
END_TEST

/*
 * The headers that may stand before a Fragment header (hop-by-hop, routing,
 * destination options: RFC 8200 4.1) do not hide it: a first piece behind
 * one is held, not read as a whole packet.  Without the Fragment header,
 * the same packet is whole.
 */
START_TEST(ipv6_fragment_behind_an_extension_header)
{
	static const uint8_t before[] = { PB_EXT_HOPOPTS, PB_EXT_ROUTING,
					  PB_EXT_DSTOPTS };

	for (size_t b = 0; b < sizeof before; b++) {
		for (int fragment = 0; fragment < 2; fragment++) {
			struct pb_spec s;
			pb_spec_init(&s, 6);
			s.tcp.flags = DATA;
			s.tcp.ack = 1;
			s.payload_len = DATA_LEN;
			s.src[15] = (uint8_t)(10 + b);	/* a datagram of its own */
			ck_assert_ptr_nonnull(pb_ext_add(&s, before[b]));
			if (fragment) {
				struct pb_ext *f = pb_ext_add(&s, PB_EXT_FRAGMENT);
				ck_assert_ptr_nonnull(f);
				f->frag_off = 0;
				f->frag_more = true;
			}
			piece_len[0] = pb_build(&s, piece[0], sizeof piece[0]);
			ck_assert_uint_gt(piece_len[0], 0);
			struct cs_decoded d = feed(0, T0 + b * 10 + (uint64_t)fragment);
			ck_assert_msg(d.why == (fragment ? CS_SKIP_IP_FRAGMENT_HELD :
							   CS_SKIP_NONE),
				      "next header %u, %s: %s", before[b],
				      fragment ? "a first piece" : "whole",
				      cs_skip_names[d.why]);
		}
	}
	assert_balanced();
}
END_TEST

/* A fragment the snap length cut cannot be put together: decoded alone,
 * as before (a later piece: ip_fragment). */
START_TEST(cut_by_snaplen_is_not_held)
{
	build_segment();
	cut(1, 64, 56, false);
	struct cs_frame f = { .ts_us = T0, .caplen = (uint32_t)piece_len[1] - 10,
			      .wirelen = (uint32_t)piece_len[1],
			      .dlt = CS_DLT_EN10MB, .bytes = piece[1] };
	cs_engine_frame(&eng, &f);
	ck_assert_uint_eq(eng.stats.skipped[CS_SKIP_IP_FRAGMENT], 1);
	assert_balanced();
}
END_TEST

Suite *defrag_suite(void)
{
	Suite *s = suite_create("defrag");
	TCase *tc = tcase_create("outer IP");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, in_order);
	tcase_add_test(tc, reversed);
	tcase_add_test(tc, duplicated);
	tcase_add_test(tc, overlapping);
	tcase_add_test(tc, missing);
	tcase_add_test(tc, gre_split);
	tcase_add_test(tc, vxlan_split);
	tcase_add_test(tc, cut_by_snaplen_is_not_held);
	tcase_add_test(tc, ipv6_in_order_and_reversed);
	tcase_add_test(tc, ipv6_fragment_behind_an_extension_header);
	suite_add_tcase(s, tc);
	return s;
}
