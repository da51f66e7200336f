/*
 * check_tunnel.c — encapsulations in capture/decode.c, and capture/checksum.c.
 *
 * Every encapsulation is built around an inner TCP segment by the packet
 * builder (pb_tunnel_build/wrap) and decoded from a heap copy of exactly
 * caplen bytes, so a read past the capture is an ASan report.  The tables
 * check the inner connection, the tunnel's kind, outer endpoints and id,
 * and the skip reason of damaged variants; two sweeps cut a VXLAN and a
 * GTP-U frame at every caplen.  The checksum is computed while the copy is
 * alive, as the analyzer must.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/checksum.h"
#include "capture/decode.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"

#define FRAME_CAP 80000
#define N_OF(a) (sizeof (a) / sizeof (a)[0])

static uint8_t frame[FRAME_CAP];
static uint8_t scratch[FRAME_CAP];	/* an inner datagram while nesting */

/* What one decode produced, taken while the frame was alive. */
struct dec {
	enum cs_skip why;
	struct cs_pkt pkt;
	enum cs_csum csum;
	char tunnel[CS_TUNNEL_STRLEN];
};

/* Decodes the first caplen bytes of bytes[] as a record of wirelen bytes. */
static enum cs_skip decode_bytes(const uint8_t *bytes, size_t caplen,
				 size_t wirelen, struct dec *d)
{
	uint8_t *copy = malloc(caplen);
	if (caplen > 0) {
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, bytes, caplen);
	}
	struct cs_frame f = {
		.ts_us = 1700000000123456u,
		.caplen = (uint32_t)caplen,
		.wirelen = (uint32_t)wirelen,
		.dlt = CS_DLT_EN10MB,
		.bytes = copy,
	};
	d->why = cs_decode(&f, &d->pkt);
	ck_assert_int_lt(d->why, CS_SKIP_MAX);
	ck_assert_int_lt(d->pkt.tunnel.kind, CS_TUN_MAX);
	ck_assert_uint_le(d->pkt.tunnel.depth, CS_TUNNEL_MAX_DEPTH);
	if (d->why == CS_SKIP_NONE && d->pkt.tcp) {
		ck_assert(d->pkt.tcp >= copy);
		ck_assert_uint_le((size_t)(d->pkt.tcp - copy) + d->pkt.tcp_caplen, caplen);
	}
	d->csum = d->why == CS_SKIP_NONE ? cs_tcp_checksum(&d->pkt) : CS_CSUM_UNKNOWN;
	cs_tunnel_format(&d->pkt.tunnel, d->tunnel, sizeof d->tunnel);
	free(copy);
	return d->why;
}

static enum cs_skip decode_frame(size_t n, struct dec *d)
{
	return decode_bytes(frame, n, n, d);
}

static void assert_why(const struct dec *d, enum cs_skip want, const char *name)
{
	ck_assert_msg(d->why == want, "%s: got %s, want %s", name,
		      cs_skip_names[d->why], cs_skip_names[want]);
}

static void assert_addr(const struct cs_addr *a, const char *want, const char *name)
{
	char buf[CS_ADDR_STRLEN];
	cs_addr_format(a, buf, sizeof buf);
	ck_assert_msg(strcmp(buf, want) == 0, "%s: address %s, want %s", name, buf, want);
}

static bool addr_is_zero(const struct cs_addr *a)
{
	static const struct cs_addr zero;
	return memcmp(a, &zero, sizeof zero) == 0;
}

/* ---- the packets ------------------------------------------------------------ */

static const char *const outer_addr[2][2] = {
	{ "10.1.1.1", "10.1.1.2" },
	{ "2001:db8:ff::1", "2001:db8:ff::2" },
};

/* The inner IPv6 source is a Teredo address (2001:0::/32), which is what
 * lets Teredo be recognised off its port; the other tunnels don't care. */
static const char *const inner_addr[2][2] = {
	{ "192.168.1.10", "192.168.1.20" },
	{ "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:db8:1::80" },
};

#define INNER_SPORT 40001
#define INNER_DPORT 443
#define INNER_PAYLOAD 7

static void outer_spec(struct pb_spec *s, int ver)
{
	pb_spec_init(s, ver);
	pb_addr(s->src, outer_addr[ver == 6][0]);
	pb_addr(s->dst, outer_addr[ver == 6][1]);
}

static void inner_spec(struct pb_spec *s, int ver)
{
	pb_spec_init(s, ver);
	pb_addr(s->src, inner_addr[ver == 6][0]);
	pb_addr(s->dst, inner_addr[ver == 6][1]);
	s->tcp.sport = INNER_SPORT;
	s->tcp.dport = INNER_DPORT;
	s->tcp.flags = CS_TH_ACK | CS_TH_PSH;
	s->tcp.seq = 123456789;
	s->tcp.ack = 987654321;
	s->payload_len = INNER_PAYLOAD;
}

static size_t build_tunnel(const struct pb_tunnel *t, int outer_ver, int inner_ver)
{
	struct pb_spec o, i;
	outer_spec(&o, outer_ver);
	inner_spec(&i, inner_ver);
	size_t n = pb_tunnel_build(&o, t, &i, frame, sizeof frame);
	ck_assert_msg(n > 0, "pb_tunnel_build could not build the frame");
	return n;
}

/* The inner segment, as inner_spec made it. */
static void assert_inner(const struct dec *d, int inner_ver, const char *name)
{
	const struct cs_pkt *p = &d->pkt;
	ck_assert_msg(p->kind == CS_PKT_TCP, "%s: not a TCP view", name);
	ck_assert_msg(p->ip_ver == inner_ver, "%s: ip_ver %u", name, p->ip_ver);
	assert_addr(&p->src, inner_addr[inner_ver == 6][0], name);
	assert_addr(&p->dst, inner_addr[inner_ver == 6][1], name);
	ck_assert_uint_eq(p->sport, INNER_SPORT);
	ck_assert_uint_eq(p->dport, INNER_DPORT);
	ck_assert_uint_eq(p->seq, 123456789);
	ck_assert_uint_eq(p->ack, 987654321);
	ck_assert_uint_eq(p->flags, CS_TH_ACK | CS_TH_PSH);
	ck_assert_uint_eq(p->tcp_hlen, 20);
	ck_assert_uint_eq(p->payload_len, INNER_PAYLOAD);
	ck_assert_uint_eq(p->tcp_caplen, 20 + INNER_PAYLOAD);
	ck_assert_uint_eq(p->ip_len, (inner_ver == 4 ? 20 : 40) + 20 + INNER_PAYLOAD);
	ck_assert_msg(d->csum == CS_CSUM_OK, "%s: inner checksum %s", name,
		      cs_csum_names[d->csum]);
}

/* ==== every encapsulation, decoded =========================================== */

struct encap_case {
	const char *name;
	struct pb_tunnel t;
	int outer_ver, inner_ver;
	enum cs_tunnel_kind kind;
	uint32_t id;
};

static const struct encap_case encap_cases[] = {
	{ "MPLS, one label", { .kind = PB_TUN_MPLS, .id = 29 }, 4, 4, CS_TUN_MPLS, 29 },
	{ "MPLS, three labels, IPv6", { .kind = PB_TUN_MPLS, .id = 1000, .labels = 3 },
	  4, 6, CS_TUN_MPLS, 1000 },
	{ "FabricPath", { .kind = PB_TUN_FABRICPATH }, 4, 4, CS_TUN_FABRICPATH, 0 },
	{ "FabricPath, IPv6", { .kind = PB_TUN_FABRICPATH }, 4, 6, CS_TUN_FABRICPATH, 0 },
	{ "GRE", { .kind = PB_TUN_GRE }, 4, 4, CS_TUN_GRE, 0 },
	{ "GRE, key, checksum, sequence",
	  { .kind = PB_TUN_GRE, .id = 0xdeadbeef, .gre_key = true, .gre_csum = true,
	    .gre_seq = true }, 4, 4, CS_TUN_GRE, 0xdeadbeef },
	{ "GRE over IPv6, IPv6 inside", { .kind = PB_TUN_GRE, .id = 5, .gre_key = true },
	  6, 6, CS_TUN_GRE, 5 },
	{ "GRE, transparent Ethernet bridging",
	  { .kind = PB_TUN_GRE, .eth = true, .id = 77, .gre_key = true }, 4, 4, CS_TUN_GRE, 77 },
	{ "ERSPAN type II", { .kind = PB_TUN_ERSPAN2, .id = 513 }, 4, 4, CS_TUN_ERSPAN, 513 },
	{ "ERSPAN type III", { .kind = PB_TUN_ERSPAN3, .id = 1023 }, 4, 6, CS_TUN_ERSPAN, 1023 },
	{ "PPTP", { .kind = PB_TUN_PPTP, .id = 0x4242 }, 4, 4, CS_TUN_PPTP, 0x4242 },
	{ "PPTP, compressed PPP, IPv6",
	  { .kind = PB_TUN_PPTP, .id = 9, .ppp_compressed = true }, 4, 6, CS_TUN_PPTP, 9 },
	{ "IPv4 in IPv4", { .kind = PB_TUN_IPIP }, 4, 4, CS_TUN_IPIP, 0 },
	{ "IPv6 in IPv4 (6in4)", { .kind = PB_TUN_IPIP }, 4, 6, CS_TUN_IPIP, 0 },
	{ "IPv4 in IPv6 (DS-Lite)", { .kind = PB_TUN_IPIP }, 6, 4, CS_TUN_IPIP, 0 },
	{ "IPv6 in IPv6", { .kind = PB_TUN_IPIP }, 6, 6, CS_TUN_IPIP, 0 },
	{ "VXLAN", { .kind = PB_TUN_VXLAN, .id = 0xabcdef }, 4, 4, CS_TUN_VXLAN, 0xabcdef },
	{ "VXLAN over IPv6", { .kind = PB_TUN_VXLAN, .id = 1 }, 6, 6, CS_TUN_VXLAN, 1 },
	{ "Geneve, Ethernet, options",
	  { .kind = PB_TUN_GENEVE, .eth = true, .id = 4096, .geneve_opt_words = 3 },
	  4, 4, CS_TUN_GENEVE, 4096 },
	{ "Geneve, IPv6 datagram", { .kind = PB_TUN_GENEVE, .id = 2 }, 6, 6, CS_TUN_GENEVE, 2 },
	{ "Geneve, 63 option words",
	  { .kind = PB_TUN_GENEVE, .eth = true, .id = 3, .geneve_opt_words = 63 },
	  4, 4, CS_TUN_GENEVE, 3 },
	{ "Teredo on 3544", { .kind = PB_TUN_TEREDO }, 4, 6, CS_TUN_TEREDO, 0 },
	{ "Teredo off port, Teredo address",
	  { .kind = PB_TUN_TEREDO, .sport = 3797, .dport = 32900 }, 4, 6, CS_TUN_TEREDO, 0 },
	{ "Teredo off port, origin indication",
	  { .kind = PB_TUN_TEREDO, .sport = 3797, .dport = 32900, .teredo_origin = true },
	  4, 6, CS_TUN_TEREDO, 0 },
	{ "Teredo, authentication and origin",
	  { .kind = PB_TUN_TEREDO, .teredo_auth = true, .teredo_origin = true },
	  4, 6, CS_TUN_TEREDO, 0 },
	{ "GTP-U", { .kind = PB_TUN_GTPU, .id = 0x9e42ca4f }, 4, 4, CS_TUN_GTPU, 0x9e42ca4f },
	{ "GTP-U, sequence number", { .kind = PB_TUN_GTPU, .id = 7, .gtp_seq = true },
	  4, 4, CS_TUN_GTPU, 7 },
	{ "GTP-U, two extension headers, IPv6",
	  { .kind = PB_TUN_GTPU, .id = 8, .gtp_ext_cnt = 2 }, 6, 6, CS_TUN_GTPU, 8 },
	{ "GTP-U from another port", { .kind = PB_TUN_GTPU, .id = 9, .sport = 5906 },
	  4, 4, CS_TUN_GTPU, 9 },
	{ "GTP-U to another port", { .kind = PB_TUN_GTPU, .id = 10, .dport = 5906 },
	  4, 4, CS_TUN_GTPU, 10 },
	{ "ERSPAN type III, platform subheader",
	  { .kind = PB_TUN_ERSPAN3, .id = 7, .erspan_subheader = true }, 4, 4, CS_TUN_ERSPAN, 7 },
	{ "ERSPAN type I", { .kind = PB_TUN_ERSPAN1 }, 4, 4, CS_TUN_ERSPAN, 0 },
	{ "ERSPAN type I over IPv6", { .kind = PB_TUN_ERSPAN1 }, 6, 6, CS_TUN_ERSPAN, 0 },
	{ "PBB", { .kind = PB_TUN_PBB, .id = 0xabcdef }, 4, 4, CS_TUN_PBB, 0xabcdef },
	{ "PBB, IPv6", { .kind = PB_TUN_PBB, .id = 1 }, 4, 6, CS_TUN_PBB, 1 },
	{ "GRE in UDP", { .kind = PB_TUN_GRE_UDP }, 4, 4, CS_TUN_GRE, 0 },
	{ "GRE in UDP, key, checksum, IPv6",
	  { .kind = PB_TUN_GRE_UDP, .id = 9, .gre_key = true, .gre_csum = true },
	  6, 6, CS_TUN_GRE, 9 },
	{ "GRE in UDP, Ethernet", { .kind = PB_TUN_GRE_UDP, .eth = true }, 4, 6, CS_TUN_GRE, 0 },
	{ "AYIYA, IPv6 in IPv4", { .kind = PB_TUN_AYIYA }, 4, 6, CS_TUN_AYIYA, 0 },
	{ "AYIYA, IPv4 in IPv4", { .kind = PB_TUN_AYIYA }, 4, 4, CS_TUN_AYIYA, 0 },
	{ "AYIYA from 5072", { .kind = PB_TUN_AYIYA, .sport = 5072, .dport = 40000 },
	  6, 6, CS_TUN_AYIYA, 0 },
	{ "AYIYA off its port, by its signature",
	  { .kind = PB_TUN_AYIYA, .sport = 40000, .dport = 40001 }, 4, 6, CS_TUN_AYIYA, 0 },
	{ "Aruba GRE, 802.11", { .kind = PB_TUN_ARUBA }, 4, 4, CS_TUN_GRE, 0 },
	{ "Aruba GRE 0x8200, key, IPv6",
	  { .kind = PB_TUN_ARUBA, .aruba_type = 0x8200, .gre_key = true, .id = 3 },
	  4, 6, CS_TUN_GRE, 3 },
	{ "Aruba GRE 0x8370", { .kind = PB_TUN_ARUBA, .aruba_type = 0x8370 }, 4, 4, CS_TUN_GRE, 0 },
	{ "Aruba GRE 0x9000", { .kind = PB_TUN_ARUBA, .aruba_type = 0x9000 }, 6, 4, CS_TUN_GRE, 0 },
};

START_TEST(test_encap)
{
	const struct encap_case *c = &encap_cases[_i];
	struct dec d;
	size_t n = build_tunnel(&c->t, c->outer_ver, c->inner_ver);

	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NONE, c->name);
	assert_inner(&d, c->inner_ver, c->name);
	const struct cs_tunnel *t = &d.pkt.tunnel;
	ck_assert_msg(t->kind == c->kind, "%s: tunnel %s", c->name, cs_tunnel_names[t->kind]);
	ck_assert_uint_eq(t->depth, 1);
	ck_assert_msg(t->id == c->id, "%s: id %u, want %u", c->name, t->id, c->id);

	char want[CS_TUNNEL_STRLEN];
	if (!cs_tunnel_has_endpoints(c->kind)) {
		ck_assert(addr_is_zero(&t->outer_src) && addr_is_zero(&t->outer_dst));
		snprintf(want, sizeof want, "%s", cs_tunnel_names[c->kind]);
	} else {
		const char *const *oa = outer_addr[c->outer_ver == 6];
		assert_addr(&t->outer_src, oa[0], c->name);
		assert_addr(&t->outer_dst, oa[1], c->name);
		snprintf(want, sizeof want, "%s %s->%s", cs_tunnel_names[c->kind], oa[0], oa[1]);
	}
	ck_assert_str_eq(d.tunnel, want);
}
END_TEST

/* The same with an Ethernet trailer, and with the caplen cutting the
 * inner payload: the view keeps the wire's lengths. */
START_TEST(test_encap_trailer_and_snaplen)
{
	const struct encap_case *c = &encap_cases[_i];
	struct pb_spec o, i;
	struct dec d;

	outer_spec(&o, c->outer_ver);
	o.trailer_len = 6;
	inner_spec(&i, c->inner_ver);
	size_t n = pb_tunnel_build(&o, &c->t, &i, frame, sizeof frame);
	ck_assert_uint_gt(n, 0);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NONE, c->name);
	ck_assert_uint_eq(d.pkt.payload_len, INNER_PAYLOAD);

	/* MPLS and FabricPath frames end with the inner datagram, so the
	 * trailer is theirs to carry: the IP length still bounds it. */
	decode_bytes(frame, n - 6 - 3, n, &d);
	assert_why(&d, CS_SKIP_NONE, c->name);
	ck_assert(d.pkt.info & CS_PKTF_TRUNCATED);
	ck_assert_uint_eq(d.pkt.payload_len, INNER_PAYLOAD);
	ck_assert_uint_eq(d.pkt.tcp_caplen, 20 + INNER_PAYLOAD - 3);
	ck_assert_int_eq(d.csum, CS_CSUM_UNKNOWN);
}
END_TEST

/* ==== damaged headers ===================================================== */

/* Offset of the tunnel header in frames build_tunnel makes. */
static size_t tunnel_off(const struct pb_tunnel *t, int outer_ver)
{
	if (t->kind == PB_TUN_MPLS || t->kind == PB_TUN_FABRICPATH ||
	    t->kind == PB_TUN_PBB)
		return 14;
	size_t off = 14 + (outer_ver == 4 ? 20 : 40);
	if (t->kind == PB_TUN_VXLAN || t->kind == PB_TUN_GENEVE ||
	    t->kind == PB_TUN_TEREDO || t->kind == PB_TUN_GTPU ||
	    t->kind == PB_TUN_GRE_UDP || t->kind == PB_TUN_AYIYA)
		off += 8;
	return off;
}

/* A field of the frame, at an offset from the tunnel header, set or or-ed. */
struct damage_case {
	const char *name;
	struct pb_tunnel t;
	int outer_ver, inner_ver;
	long at;		/* from the tunnel header; negative: UDP or IP header */
	uint16_t value;
	enum { SET8, OR8, SET16 } how;
	enum cs_skip want;
};

static const struct damage_case damage_cases[] = {
	{ "GRE version 2", { .kind = PB_TUN_GRE }, 4, 4, 1, 0x02, OR8, CS_SKIP_BAD_TUNNEL },
	{ "GRE routing present", { .kind = PB_TUN_GRE }, 4, 4, 0, 0x40, OR8, CS_SKIP_BAD_TUNNEL },
	{ "GRE reserved flag", { .kind = PB_TUN_GRE }, 4, 4, 1, 0x08, OR8, CS_SKIP_BAD_TUNNEL },
	{ "GRE, unknown protocol type", { .kind = PB_TUN_GRE }, 4, 4, 2, 0x883e, SET16,
	  CS_SKIP_NOT_IP },
	{ "GRE says IPv6, carries IPv4", { .kind = PB_TUN_GRE }, 4, 4, 2, 0x86dd, SET16,
	  CS_SKIP_BAD_TUNNEL },
	{ "GRE, inner IHL 4", { .kind = PB_TUN_GRE }, 4, 4, 4, 0x44, SET8, CS_SKIP_BAD_IP_HEADER },
	{ "ERSPAN II, version 2", { .kind = PB_TUN_ERSPAN2 }, 4, 4, 8, 0x20, SET8,
	  CS_SKIP_BAD_TUNNEL },
	{ "ERSPAN III, version 1", { .kind = PB_TUN_ERSPAN3 }, 4, 4, 8, 0x10, SET8,
	  CS_SKIP_BAD_TUNNEL },
	{ "ERSPAN III, frame type IP", { .kind = PB_TUN_ERSPAN3 }, 4, 4, 8 + 10, 0x08, SET8,
	  CS_SKIP_NOT_IP },
	{ "PPTP, LCP", { .kind = PB_TUN_PPTP }, 4, 4, 14, 0xc021, SET16, CS_SKIP_NOT_TCP },
	{ "PPTP, acknowledgement only", { .kind = PB_TUN_PPTP }, 4, 4, 4, 0, SET16,
	  CS_SKIP_NOT_TCP },
	{ "PPTP without the key bit", { .kind = PB_TUN_PPTP }, 4, 4, 0, 0x10, SET8,
	  CS_SKIP_BAD_TUNNEL },
	{ "PPTP, wrong protocol type", { .kind = PB_TUN_PPTP }, 4, 4, 2, 0x0800, SET16,
	  CS_SKIP_BAD_TUNNEL },
	{ "IPIP, protocol 4 carrying IPv6", { .kind = PB_TUN_IPIP }, 4, 6, -11, 4, SET8,
	  CS_SKIP_BAD_TUNNEL },
	{ "IPIP, protocol 41 carrying IPv4", { .kind = PB_TUN_IPIP }, 4, 4, -11, 41, SET8,
	  CS_SKIP_BAD_TUNNEL },
	{ "VXLAN, I flag clear", { .kind = PB_TUN_VXLAN }, 4, 4, 0, 0x00, SET8,
	  CS_SKIP_BAD_TUNNEL },
	{ "VXLAN, inner ARP", { .kind = PB_TUN_VXLAN }, 4, 4, 8 + 12, 0x0806, SET16,
	  CS_SKIP_NOT_IP },
	{ "VXLAN, inner IPv4 version 5", { .kind = PB_TUN_VXLAN }, 4, 4, 8 + 14, 0x55, SET8,
	  CS_SKIP_BAD_IP_HEADER },
	{ "VXLAN, UDP length 7", { .kind = PB_TUN_VXLAN }, 4, 4, -4, 7, SET16,
	  CS_SKIP_BAD_TUNNEL },
	{ "VXLAN, UDP length past the datagram", { .kind = PB_TUN_VXLAN }, 4, 4, -4, 2000,
	  SET16, CS_SKIP_BAD_TUNNEL },
	{ "Geneve version 1", { .kind = PB_TUN_GENEVE, .eth = true }, 4, 4, 0, 0x40, OR8,
	  CS_SKIP_BAD_TUNNEL },
	{ "Geneve options past the datagram", { .kind = PB_TUN_GENEVE, .eth = true }, 4, 4,
	  0, 0x3f, SET8, CS_SKIP_BAD_TUNNEL },
	{ "Geneve control message", { .kind = PB_TUN_GENEVE, .eth = true }, 4, 4, 1, 0x80,
	  SET8, CS_SKIP_NOT_TCP },
	{ "Geneve, unknown protocol", { .kind = PB_TUN_GENEVE, .eth = true }, 4, 4, 2, 0x1234,
	  SET16, CS_SKIP_NOT_IP },
	{ "GTP version 2", { .kind = PB_TUN_GTPU }, 4, 4, 0, 0x50, SET8, CS_SKIP_BAD_TUNNEL },
	{ "GTP prime (PT 0)", { .kind = PB_TUN_GTPU }, 4, 4, 0, 0x20, SET8, CS_SKIP_BAD_TUNNEL },
	{ "GTP echo request", { .kind = PB_TUN_GTPU }, 4, 4, 1, 1, SET8, CS_SKIP_NOT_TCP },
	{ "GTP end marker", { .kind = PB_TUN_GTPU }, 4, 4, 1, 254, SET8, CS_SKIP_NOT_TCP },
	{ "GTP length past the datagram", { .kind = PB_TUN_GTPU }, 4, 4, 2, 0x1000, SET16,
	  CS_SKIP_BAD_TUNNEL },
	{ "GTP length short of the inner datagram", { .kind = PB_TUN_GTPU }, 4, 4, 2, 30,
	  SET16, CS_SKIP_BAD_IP_HEADER },
	{ "GTP extension length 0", { .kind = PB_TUN_GTPU, .gtp_ext_cnt = 1 }, 4, 4, 12, 0,
	  SET8, CS_SKIP_BAD_TUNNEL },
	{ "GTP extension past the G-PDU", { .kind = PB_TUN_GTPU, .gtp_ext_cnt = 1 }, 4, 4, 12,
	  200, SET8, CS_SKIP_BAD_TUNNEL },
	{ "GTP, inner version 5", { .kind = PB_TUN_GTPU }, 4, 4, 8, 0x55, SET8,
	  CS_SKIP_BAD_TUNNEL },
	{ "Teredo, IPv6 payload length short", { .kind = PB_TUN_TEREDO }, 4, 6, 4, 26, SET16,
	  CS_SKIP_NOT_TCP },
	{ "Teredo, IPv6 payload length long", { .kind = PB_TUN_TEREDO }, 4, 6, 4, 28, SET16,
	  CS_SKIP_NOT_TCP },
	{ "Teredo, two origin indications",
	  { .kind = PB_TUN_TEREDO, .teredo_origin = true }, 4, 6, 8, 0, SET16, CS_SKIP_NOT_TCP },
	{ "Teredo, unknown header tag", { .kind = PB_TUN_TEREDO, .teredo_origin = true }, 4, 6,
	  0, 0x0002, SET16, CS_SKIP_NOT_TCP },
	{ "Teredo off port, no Teredo address",
	  { .kind = PB_TUN_TEREDO, .sport = 3797, .dport = 32900 }, 4, 6, 8, 0x3f, SET8,
	  CS_SKIP_NOT_TCP },
	{ "MPLS, payload not IP", { .kind = PB_TUN_MPLS }, 4, 4, 4, 0x05, SET8, CS_SKIP_NOT_IP },
	{ "MPLS, inner IHL 3", { .kind = PB_TUN_MPLS }, 4, 4, 4, 0x43, SET8,
	  CS_SKIP_BAD_IP_HEADER },
	{ "FabricPath, inner 802.3 length", { .kind = PB_TUN_FABRICPATH }, 4, 4, 14, 46,
	  SET16, CS_SKIP_NOT_IP },
	{ "ERSPAN I, inner ARP", { .kind = PB_TUN_ERSPAN1 }, 4, 4, 4 + 12, 0x0806, SET16,
	  CS_SKIP_NOT_IP },
	{ "PBB, inner ARP", { .kind = PB_TUN_PBB }, 4, 4, 4 + 12, 0x0806, SET16,
	  CS_SKIP_NOT_IP },
	{ "GRE in UDP, version 2", { .kind = PB_TUN_GRE_UDP }, 4, 4, 1, 0x02, OR8,
	  CS_SKIP_BAD_TUNNEL },
	{ "GRE in UDP, UDP length past the datagram", { .kind = PB_TUN_GRE_UDP }, 4, 4, -4,
	  2000, SET16, CS_SKIP_BAD_TUNNEL },
	{ "AYIYA heartbeat (opcode 0)", { .kind = PB_TUN_AYIYA }, 4, 6, 2, 0x10, SET8,
	  CS_SKIP_NOT_TCP },
	{ "AYIYA, next header 59", { .kind = PB_TUN_AYIYA }, 4, 6, 3, 59, SET8,
	  CS_SKIP_NOT_TCP },
	{ "AYIYA says IPv4, carries IPv6", { .kind = PB_TUN_AYIYA }, 4, 6, 3, 4, SET8,
	  CS_SKIP_BAD_TUNNEL },
	{ "AYIYA identity past the datagram", { .kind = PB_TUN_AYIYA }, 4, 6, 0, 0xf1, SET8,
	  CS_SKIP_BAD_TUNNEL },
	{ "AYIYA off its port, signature broken",
	  { .kind = PB_TUN_AYIYA, .sport = 40000, .dport = 40001 }, 4, 6, 1, 0x42, SET8,
	  CS_SKIP_NOT_TCP },
	{ "AYIYA off its port, identity past the datagram",
	  { .kind = PB_TUN_AYIYA, .sport = 40000, .dport = 40001 }, 4, 6, 0, 0xf1, SET8,
	  CS_SKIP_NOT_TCP },
	{ "GRE type 0x8208: not Aruba's", { .kind = PB_TUN_ARUBA }, 4, 4, 2, 0x8208, SET16,
	  CS_SKIP_NOT_IP },
	{ "GRE type 0x8380: not Aruba's", { .kind = PB_TUN_ARUBA }, 4, 4, 2, 0x8380, SET16,
	  CS_SKIP_NOT_IP },
	{ "Aruba, 802.11 management frame", { .kind = PB_TUN_ARUBA }, 4, 4, 4, 0x80, SET8,
	  CS_SKIP_NOT_IP },
	{ "Aruba, protected 802.11 frame", { .kind = PB_TUN_ARUBA }, 4, 4, 5, 0x40, SET8,
	  CS_SKIP_NOT_IP },
};

START_TEST(test_damaged)
{
	const struct damage_case *c = &damage_cases[_i];
	struct dec d;
	size_t n = build_tunnel(&c->t, c->outer_ver, c->inner_ver);
	size_t at = (size_t)((long)tunnel_off(&c->t, c->outer_ver) + c->at);

	ck_assert_uint_lt(at + 1, n);
	switch (c->how) {
	case OR8:
		frame[at] |= (uint8_t)c->value;
		break;
	case SET8:
		frame[at] = (uint8_t)c->value;
		break;
	case SET16:
		frame[at] = (uint8_t)(c->value >> 8);
		frame[at + 1] = (uint8_t)c->value;
		break;
	}
	decode_frame(n, &d);
	assert_why(&d, c->want, c->name);
}
END_TEST

/* An MPLS stack that never ends, or is deeper than the decoder walks. */
START_TEST(test_mpls_stack)
{
	struct pb_tunnel t = { .kind = PB_TUN_MPLS, .labels = 16, .id = 3 };
	struct dec d;

	size_t n = build_tunnel(&t, 4, 4);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NONE, "16 labels");
	ck_assert_uint_eq(d.pkt.tunnel.id, 3);

	t.labels = 17;
	n = build_tunnel(&t, 4, 4);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_BAD_TUNNEL, "17 labels");

	/* No bottom of stack: the labels run into the datagram and beyond. */
	t.labels = 1;
	n = build_tunnel(&t, 4, 4);
	frame[14 + 2] &= (uint8_t)~1;
	decode_frame(n, &d);
	ck_assert_msg(d.why == CS_SKIP_BAD_TUNNEL || d.why == CS_SKIP_NOT_IP,
		      "no bottom of stack: %s", cs_skip_names[d.why]);
}
END_TEST

/* Headers that end on the wire, not by the snap length: broken tunnels
 * (or, for the ones carrying Ethernet, a broken inner link header). */
START_TEST(test_short_on_the_wire)
{
	static const struct {
		enum pb_tun kind;
		enum cs_skip want;
	} cases[] = {
		{ PB_TUN_MPLS, CS_SKIP_BAD_TUNNEL },
		{ PB_TUN_FABRICPATH, CS_SKIP_BAD_TUNNEL },
		{ PB_TUN_GRE, CS_SKIP_BAD_LINK_HEADER },	/* eth: no frame */
		{ PB_TUN_ERSPAN2, CS_SKIP_BAD_LINK_HEADER },
		{ PB_TUN_ERSPAN3, CS_SKIP_BAD_LINK_HEADER },
		{ PB_TUN_PPTP, CS_SKIP_BAD_TUNNEL },		/* PPP says IPv4: none */
		{ PB_TUN_VXLAN, CS_SKIP_BAD_LINK_HEADER },
		{ PB_TUN_GENEVE, CS_SKIP_BAD_LINK_HEADER },
		{ PB_TUN_GTPU, CS_SKIP_BAD_TUNNEL },		/* G-PDU without a packet */
	};
	for (size_t k = 0; k < N_OF(cases); k++) {
		struct pb_tunnel t = { .kind = cases[k].kind, .eth = true };
		struct pb_spec o;
		struct dec d;
		/* A tunnel header with nothing after it. */
		outer_spec(&o, 4);
		size_t n = pb_tunnel_wrap(&o, &t, NULL, 0, frame, sizeof frame);
		ck_assert_uint_gt(n, 0);
		decode_frame(n, &d);
		ck_assert_msg(d.why == cases[k].want, "kind %d with no payload: %s",
			      (int)cases[k].kind, cs_skip_names[d.why]);
	}

	/* The link-level headers cut short. */
	struct pb_tunnel mpls = { .kind = PB_TUN_MPLS };
	struct pb_tunnel fp = { .kind = PB_TUN_FABRICPATH };
	struct dec d;
	size_t n = build_tunnel(&mpls, 4, 4);
	decode_frame(14 + 3, &d);
	assert_why(&d, CS_SKIP_BAD_TUNNEL, "MPLS label cut on the wire");
	decode_bytes(frame, 14 + 3, n, &d);
	assert_why(&d, CS_SKIP_TRUNCATED, "MPLS label cut by the snap length");
	n = build_tunnel(&fp, 4, 4);
	decode_frame(14 + 15, &d);
	assert_why(&d, CS_SKIP_BAD_TUNNEL, "FabricPath header cut on the wire");
	decode_bytes(frame, 14 + 15, n, &d);
	assert_why(&d, CS_SKIP_TRUNCATED, "FabricPath header cut by the snap length");

	/* UDP to a tunnel port with 4 bytes of payload: no room for the
	 * 8-byte VXLAN, Geneve or GTP-U header. */
	static const uint16_t ports[][2] = { { 49152, 4789 }, { 50000, 6081 },
					     { 2152, 2152 }, { 40000, 2152 } };
	for (size_t i = 0; i < N_OF(ports); i++) {
		struct pb_spec s;
		pb_spec_init(&s, 4);
		s.l4 = PB_L4_UDP;
		s.tcp.sport = ports[i][0];
		s.tcp.dport = ports[i][1];
		s.payload_len = 4;
		n = pb_build(&s, frame, sizeof frame);
		decode_frame(n, &d);
		assert_why(&d, CS_SKIP_BAD_TUNNEL, "tunnel header short on the wire");
		/* Snap-cut too: the wire still had no room for it. */
		decode_bytes(frame, n - 2, n, &d);
		assert_why(&d, CS_SKIP_BAD_TUNNEL, "short on the wire, and cut");
	}
}
END_TEST

/* Ordinary UDP stays not_tcp, whatever its payload looks like. */
START_TEST(test_plain_udp)
{
	struct pb_spec s;
	struct dec d;
	static const uint16_t ports[][2] = {
		{ 40000, 53 }, { 53, 40000 }, { 4789, 53 }, { 6081, 53 }, { 3544, 3544 },
		{ 40000, 32900 },
	};

	for (size_t i = 0; i < N_OF(ports); i++) {
		pb_spec_init(&s, 4);
		s.l4 = PB_L4_UDP;
		s.tcp.sport = ports[i][0];
		s.tcp.dport = ports[i][1];
		s.payload_len = 60;	/* counting pattern 01 02 03 ... */
		size_t n = pb_build(&s, frame, sizeof frame);
		decode_frame(n, &d);
		assert_why(&d, CS_SKIP_NOT_TCP, "UDP with a counting pattern");
		ck_assert_uint_eq(d.pkt.tunnel.kind, CS_TUN_NONE);

		/* A payload that starts like IPv6 but has no Teredo address. */
		size_t pay = n - 60;
		frame[pay] = 0x60;
		decode_frame(n, &d);
		assert_why(&d, CS_SKIP_NOT_TCP, "UDP starting with 0x60");
	}
}
END_TEST

/*
 * Teredo off port 3544 follows Zeek's detection: an origin indication
 * (after an optional authentication header), or a bare IPv6 header with a
 * Teredo address; authentication alone is not enough.  On 3544 any of the
 * header orders RFC 4380 allows will do.
 */
START_TEST(test_teredo_rules)
{
	struct pb_spec o, i;
	struct dec d;
	struct pb_tunnel t = { .kind = PB_TUN_TEREDO, .teredo_auth = true };

	outer_spec(&o, 4);
	inner_spec(&i, 6);
	size_t n = pb_tunnel_build(&o, &t, &i, frame, sizeof frame);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NONE, "authentication, on 3544");

	t.sport = 3797;
	t.dport = 32900;
	n = pb_tunnel_build(&o, &t, &i, frame, sizeof frame);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NOT_TCP, "authentication alone, off port");

	/* Origin indication off port: no Teredo address needed. */
	t.teredo_auth = false;
	t.teredo_origin = true;
	pb_addr(i.src, "2001:db8:5::1");
	n = pb_tunnel_build(&o, &t, &i, frame, sizeof frame);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NONE, "origin indication, off port");
	ck_assert_uint_eq(d.pkt.tunnel.kind, CS_TUN_TEREDO);

	/* Without it, neither address in 2001::/32: plain UDP. */
	t.teredo_origin = false;
	n = pb_tunnel_build(&o, &t, &i, frame, sizeof frame);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NOT_TCP, "no Teredo address, off port");
	/* A Teredo destination is enough. */
	pb_addr(i.dst, "2001:0:53aa:64c:0:fbff:ad55:fe9b");
	n = pb_tunnel_build(&o, &t, &i, frame, sizeof frame);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NONE, "Teredo destination, off port");

	/* A bubble: IPv6 with no next header and length 0, trailing bytes
	 * allowed; it carries no TCP. */
	struct pb_spec b;
	pb_spec_init(&b, 6);
	b.dlt = CS_DLT_RAW;
	b.l4 = PB_L4_RAW;
	b.proto = 59;
	b.payload_len = 0;
	size_t bn = pb_build(&b, scratch, sizeof scratch);
	memset(scratch + bn, 0, 8);
	struct pb_tunnel tb = { .kind = PB_TUN_TEREDO };
	n = pb_tunnel_wrap(&o, &tb, scratch, bn + 8, frame, sizeof frame);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NOT_TCP, "bubble");
}
END_TEST

/* ==== nesting ============================================================== */

/* MPLS around GRE around VXLAN: the outermost IP tunnel (GRE) names it. */
START_TEST(test_nested)
{
	struct pb_spec o, i;
	struct dec d;
	struct pb_tunnel vx = { .kind = PB_TUN_VXLAN, .id = 100 };
	struct pb_tunnel gre = { .kind = PB_TUN_GRE, .id = 200, .gre_key = true };
	struct pb_tunnel mpls = { .kind = PB_TUN_MPLS, .id = 300 };

	inner_spec(&i, 4);
	pb_spec_init(&o, 4);
	o.dlt = CS_DLT_RAW;
	pb_addr(o.src, "172.16.0.1");
	pb_addr(o.dst, "172.16.0.2");
	size_t n = pb_tunnel_build(&o, &vx, &i, scratch, sizeof scratch);
	ck_assert_uint_gt(n, 0);

	struct pb_spec g;
	outer_spec(&g, 4);
	g.dlt = CS_DLT_RAW;
	n = pb_tunnel_wrap(&g, &gre, scratch, n, frame, sizeof frame);
	ck_assert_uint_gt(n, 0);
	memcpy(scratch, frame, n);

	struct pb_spec e;
	pb_spec_init(&e, 4);
	pb_vlan_add(&e, 0x8100, 42);
	n = pb_tunnel_wrap(&e, &mpls, scratch, n, frame, sizeof frame);
	ck_assert_uint_gt(n, 0);

	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NONE, "MPLS/GRE/VXLAN");
	assert_inner(&d, 4, "MPLS/GRE/VXLAN");
	ck_assert_uint_eq(d.pkt.tunnel.kind, CS_TUN_GRE);
	ck_assert_uint_eq(d.pkt.tunnel.depth, 3);
	ck_assert_uint_eq(d.pkt.tunnel.id, 200);
	ck_assert_str_eq(d.tunnel, "gre 10.1.1.1->10.1.1.2");
	ck_assert_uint_eq(d.pkt.vlan_cnt, 1);
	ck_assert_uint_eq(d.pkt.vlan[0], 42);
}
END_TEST

/* IP in IP nested n deep: CS_TUNNEL_MAX_DEPTH levels decode, one more is
 * refused under its own reason. */
START_TEST(test_depth)
{
	struct pb_spec i, o;
	struct pb_tunnel t = { .kind = PB_TUN_IPIP };
	char addr[32];

	for (unsigned levels = 1; levels <= CS_TUNNEL_MAX_DEPTH + 2; levels++) {
		struct dec d;
		inner_spec(&i, 4);
		i.dlt = CS_DLT_RAW;
		size_t n = pb_build(&i, scratch, sizeof scratch);
		for (unsigned l = levels; l > 0; l--) {
			pb_spec_init(&o, 4);
			o.dlt = l == 1 ? CS_DLT_EN10MB : CS_DLT_RAW;
			snprintf(addr, sizeof addr, "10.0.%u.1", l);
			pb_addr(o.src, addr);
			snprintf(addr, sizeof addr, "10.0.%u.2", l);
			pb_addr(o.dst, addr);
			n = pb_tunnel_wrap(&o, &t, scratch, n, frame, sizeof frame);
			ck_assert_uint_gt(n, 0);
			if (l > 1)
				memcpy(scratch, frame, n);
		}
		decode_frame(n, &d);
		if (levels > CS_TUNNEL_MAX_DEPTH) {
			assert_why(&d, CS_SKIP_TUNNEL_DEPTH, "too deep");
			continue;
		}
		assert_why(&d, CS_SKIP_NONE, "nested IP in IP");
		assert_inner(&d, 4, "nested IP in IP");
		ck_assert_uint_eq(d.pkt.tunnel.depth, levels);
		ck_assert_str_eq(d.tunnel, "ipip 10.0.1.1->10.0.1.2");
	}
}
END_TEST

/* ==== fragments ============================================================= */

/*
 * The outer datagram fragmented, as in Zeek's gtp2_different_udp_port
 * trace: the first fragment holds the tunnel and inner headers, so the
 * inner segment is analysed (not whole: checksum unknown); a fragment that
 * ends inside them, and every later fragment, is ip_fragment.
 */
START_TEST(test_first_fragment)
{
	static const struct pb_tunnel tuns[] = {
		{ .kind = PB_TUN_GTPU, .id = 1 },
		{ .kind = PB_TUN_VXLAN, .id = 2 },
		{ .kind = PB_TUN_GRE },
		{ .kind = PB_TUN_IPIP },
		{ .kind = PB_TUN_TEREDO },
	};

	for (size_t k = 0; k < N_OF(tuns); k++) {
		struct pb_tunnel t = tuns[k];
		int inner_ver = t.kind == PB_TUN_TEREDO ? 6 : 4;
		struct pb_spec o, i;
		struct dec d;

		outer_spec(&o, 4);
		inner_spec(&i, inner_ver);
		i.payload_len = 1000;
		t.first_frag = 512;
		size_t n = pb_tunnel_build(&o, &t, &i, frame, sizeof frame);
		ck_assert_uint_eq(n, 14 + 20 + 512);
		decode_frame(n, &d);
		assert_why(&d, CS_SKIP_NONE, "first fragment");
		ck_assert(d.pkt.info & CS_PKTF_FRAGMENT);
		ck_assert_uint_eq(d.pkt.sport, INNER_SPORT);
		ck_assert_uint_eq(d.pkt.payload_len, 1000);
		ck_assert_uint_lt(d.pkt.tcp_caplen, 20 + 1000);
		ck_assert_int_eq(d.csum, CS_CSUM_UNKNOWN);
		ck_assert_uint_eq(d.pkt.tunnel.depth, 1);

		/* A first fragment of 16 bytes ends before the inner TCP header:
		 * a fragment.  Snap-cut at the same place, it is truncated.
		 * Teredo is told by its IPv6 header, which is not there:
		 * plain UDP, either way. */
		bool teredo = t.kind == PB_TUN_TEREDO;
		t.first_frag = 16;
		n = pb_tunnel_build(&o, &t, &i, frame, sizeof frame);
		decode_frame(n, &d);
		assert_why(&d, teredo ? CS_SKIP_NOT_TCP : CS_SKIP_IP_FRAGMENT,
			   "short first fragment");

		t.first_frag = 512;
		n = pb_tunnel_build(&o, &t, &i, frame, sizeof frame);
		decode_bytes(frame, 14 + 20 + 16, n, &d);
		assert_why(&d, teredo ? CS_SKIP_NOT_TCP : CS_SKIP_TRUNCATED,
			   "cut first fragment");

		/* A later fragment. */
		o.frag_off = 64;
		t.first_frag = 0;
		n = pb_tunnel_build(&o, &t, &i, frame, sizeof frame);
		decode_frame(n, &d);
		assert_why(&d, CS_SKIP_IP_FRAGMENT, "later fragment");
	}
}
END_TEST

/* ==== truncation sweeps ====================================================== */

/*
 * Decodes a valid frame at every caplen.  Kept wire length: analysed or
 * truncated (or, before the UDP ports are there, plain UDP: not_tcp), and
 * once analysed, analysed for every longer caplen.  Wire as short as the
 * capture: a header lies, never analysed nor "truncated".
 */
static void sweep(const struct pb_tunnel *t, int outer_ver, int inner_ver, bool keep_wire)
{
	size_t n = build_tunnel(t, outer_ver, inner_ver);
	size_t udp_ports = 14 + (outer_ver == 4 ? 20 : 40) + 4;
	uint8_t *orig = malloc(n);
	struct dec full, d;
	bool analysed = false;

	ck_assert_ptr_nonnull(orig);
	memcpy(orig, frame, n);
	decode_bytes(orig, n, n, &full);
	assert_why(&full, CS_SKIP_NONE, "the whole frame");

	for (size_t cap = 0; cap <= n; cap++) {
		decode_bytes(orig, cap, keep_wire ? n : cap, &d);
		if (cap == n) {
			ck_assert_int_eq(d.why, CS_SKIP_NONE);
		} else if (cap == 0) {
			ck_assert_int_eq(d.why, CS_SKIP_BAD_RECORD);
		} else if (keep_wire) {
			ck_assert_msg(d.why == CS_SKIP_NONE || d.why == CS_SKIP_TRUNCATED ||
				      (d.why == CS_SKIP_NOT_TCP && cap < udp_ports),
				      "cut to %zu of %zu: %s", cap, n, cs_skip_names[d.why]);
			ck_assert_msg(!analysed || d.why == CS_SKIP_NONE,
				      "analysed at a shorter caplen, not at %zu", cap);
		} else {
			ck_assert_msg(d.why != CS_SKIP_NONE && d.why != CS_SKIP_TRUNCATED,
				      "%zu bytes on the wire: %s", cap, cs_skip_names[d.why]);
		}
		if (d.why != CS_SKIP_NONE)
			continue;
		analysed = true;
		ck_assert_uint_eq(d.pkt.tunnel.kind, full.pkt.tunnel.kind);
		ck_assert_uint_eq(d.pkt.tunnel.id, full.pkt.tunnel.id);
		ck_assert_uint_eq(d.pkt.sport, full.pkt.sport);
		ck_assert_uint_eq(d.pkt.payload_len, full.pkt.payload_len);
		ck_assert_uint_eq(!!(d.pkt.info & CS_PKTF_TRUNCATED), cap < n);
		ck_assert_int_eq(d.csum, cap == n ? CS_CSUM_OK : CS_CSUM_UNKNOWN);
	}
	free(orig);
}

START_TEST(test_sweep_vxlan)
{
	struct pb_tunnel t = { .kind = PB_TUN_VXLAN, .id = 5000 };
	sweep(&t, 4, 4, _i == 0);
	sweep(&t, 6, 6, _i == 0);
}
END_TEST

/* The encapsulations connscope learnt with the link layers. */
static const struct pb_tunnel sweep_tunnels[] = {
	{ .kind = PB_TUN_ERSPAN1 },
	{ .kind = PB_TUN_PBB, .id = 12 },
	{ .kind = PB_TUN_GRE_UDP, .gre_key = true, .id = 4 },
	{ .kind = PB_TUN_AYIYA },
	{ .kind = PB_TUN_ARUBA },
};

START_TEST(test_sweep_more)
{
	const struct pb_tunnel *t = &sweep_tunnels[_i / 2];
	sweep(t, 4, 4, _i % 2 == 0);
	sweep(t, 6, 6, _i % 2 == 0);
}
END_TEST

START_TEST(test_sweep_gtpu)
{
	struct pb_tunnel t = { .kind = PB_TUN_GTPU, .id = 77, .gtp_ext_cnt = 1 };
	sweep(&t, 4, 4, _i == 0);
	t.gtp_ext_cnt = 0;
	t.gtp_seq = true;
	sweep(&t, 4, 6, _i == 0);
}
END_TEST

/* ==== checksums ============================================================== */

/* RFC 1071 the slow way: big-endian 16-bit words, odd byte padded. */
static uint16_t naive_sum(const uint8_t *p, size_t n)
{
	uint32_t acc = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

START_TEST(test_inet_sum)
{
	uint8_t buf[600];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof buf; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t off = 0; off < 8; off++) {
		for (size_t n = 0; off + n <= sizeof buf && n <= 300; n++) {
			uint16_t want = naive_sum(buf + off, n);
			uint16_t got = cs_inet_sum(buf + off, n, 0);
			/* 0x0000 and 0xffff are the same number (+0, -0). */
			if (want == 0xffff)
				want = 0;
			if (got == 0xffff)
				got = 0;
			ck_assert_msg(got == want, "offset %zu length %zu: %04x, want %04x",
				      off, n, got, want);
		}
	}
	/* All ones everywhere: the carries must all come round. */
	memset(buf, 0xff, sizeof buf);
	ck_assert_uint_eq(cs_inet_sum(buf, sizeof buf, 0xffff), 0xffff);
	/* Summing in two pieces (even split) gives the whole. */
	x = 1;
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	uint16_t whole = cs_inet_sum(buf, sizeof buf, 0);
	uint16_t split = cs_inet_sum(buf + 100, sizeof buf - 100, cs_inet_sum(buf, 100, 0));
	ck_assert_uint_eq(whole, split);
	ck_assert_str_eq(cs_csum_names[CS_CSUM_OK], "ok");
	ck_assert_str_eq(cs_csum_names[CS_CSUM_BAD], "bad");
	ck_assert_str_eq(cs_csum_names[CS_CSUM_UNKNOWN], "unknown");
}
END_TEST

/* The builder writes correct checksums: OK at every payload length (odd
 * ones included), BAD with one byte flipped anywhere in the segment or an
 * address changed, UNKNOWN when the segment is not all there. */
START_TEST(test_checksum)
{
	int ver = _i == 0 ? 4 : 6;
	struct pb_spec s;
	struct dec d;

	for (size_t pay = 0; pay <= 70; pay++) {
		pb_spec_init(&s, ver);
		s.payload_len = pay;
		s.tcp.flags = CS_TH_ACK;
		pb_opt_ts(&s, 1, 2);
		size_t n = pb_build(&s, frame, sizeof frame);
		decode_frame(n, &d);
		assert_why(&d, CS_SKIP_NONE, "plain segment");
		ck_assert_msg(d.csum == CS_CSUM_OK, "IPv%d, %zu bytes: %s", ver, pay,
			      cs_csum_names[d.csum]);

		size_t tcp = 14 + (ver == 4 ? 20 : 40);
		for (size_t at = tcp; at < n; at += 5) {
			frame[at] ^= 0x10;
			decode_frame(n, &d);
			ck_assert_msg(d.why != CS_SKIP_NONE || d.csum == CS_CSUM_BAD,
				      "IPv%d, %zu bytes, byte %zu flipped: %s", ver, pay, at,
				      cs_csum_names[d.csum]);
			frame[at] ^= 0x10;
		}
		frame[14 + (ver == 4 ? 12 : 8)] ^= 1;	/* source address */
		decode_frame(n, &d);
		ck_assert_int_eq(d.csum, CS_CSUM_BAD);
		frame[14 + (ver == 4 ? 12 : 8)] ^= 1;

		if (pay > 0) {
			decode_bytes(frame, n - 1, n, &d);
			assert_why(&d, CS_SKIP_NONE, "snap-cut payload");
			ck_assert_int_eq(d.csum, CS_CSUM_UNKNOWN);
		}
	}

	/* Large: the 32-byte loop. */
	pb_spec_init(&s, ver);
	s.payload_len = 60000;
	size_t n = pb_build(&s, frame, sizeof frame);
	decode_frame(n, &d);
	ck_assert_int_eq(d.csum, CS_CSUM_OK);
	frame[n - 1] ^= 0x80;
	decode_frame(n, &d);
	ck_assert_int_eq(d.csum, CS_CSUM_BAD);

	/* Length from the frame (TSO/GSO capture): the IP length field is 0. */
	pb_spec_init(&s, ver);
	s.payload_len = 10;
	s.len_set = true;
	s.len_field = 0;
	n = pb_build(&s, frame, sizeof frame);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NONE, "length 0");
	ck_assert(d.pkt.info & CS_PKTF_LEN_FROM_WIRE);
	ck_assert_int_eq(d.csum, CS_CSUM_UNKNOWN);

	/* A first fragment: the segment goes on in the next one. */
	pb_spec_init(&s, ver);
	s.payload_len = 10;
	if (ver == 4)
		s.frag_more = true;
	else
		pb_ext_add(&s, PB_EXT_FRAGMENT)->frag_more = true;
	n = pb_build(&s, frame, sizeof frame);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NONE, "first fragment");
	ck_assert_int_eq(d.csum, CS_CSUM_UNKNOWN);

	/* An ICMP error's quote is never a whole segment. */
	struct pb_spec q;
	pb_spec_init(&q, ver);
	pb_spec_init(&s, ver);
	s.l4 = PB_L4_ICMP;
	s.icmp.type = ver == 4 ? 3 : 1;
	s.icmp.code = 1;
	s.icmp.quote = &q;
	n = pb_build(&s, frame, sizeof frame);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NONE, "ICMP error");
	ck_assert_int_eq(d.pkt.kind, CS_PKT_ICMP_ERR);
	ck_assert_int_eq(cs_tcp_checksum(&d.pkt), CS_CSUM_UNKNOWN);
}
END_TEST

/* IPv6 with a routing header still to be followed: the pseudo-header's
 * destination is the last segment, which the view does not keep. */
START_TEST(test_checksum_routed)
{
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 6);
	pb_ext_add(&s, PB_EXT_ROUTING)->hdr_len = 2;
	size_t n = pb_build(&s, frame, sizeof frame);
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NONE, "routing header, segments left 0");
	ck_assert_int_eq(d.csum, CS_CSUM_OK);

	frame[14 + 40 + 3] = 1;			/* segments left */
	decode_frame(n, &d);
	assert_why(&d, CS_SKIP_NONE, "routing header, segments left 1");
	ck_assert(d.pkt.info & CS_PKTF_IPV6_ROUTED);
	ck_assert_int_eq(d.csum, CS_CSUM_UNKNOWN);
}
END_TEST

/* Inside a tunnel the pseudo-header has the inner addresses. */
START_TEST(test_checksum_tunnelled)
{
	static const struct pb_tunnel tuns[] = {
		{ .kind = PB_TUN_VXLAN, .id = 1 },
		{ .kind = PB_TUN_GTPU, .id = 2 },
		{ .kind = PB_TUN_TEREDO },
		{ .kind = PB_TUN_IPIP },
	};
	for (size_t k = 0; k < N_OF(tuns); k++) {
		for (int ov = 4; ov <= 6; ov += 2) {
			int iv = tuns[k].kind == PB_TUN_TEREDO ? 6 : 10 - ov;
			struct dec d;
			size_t n = build_tunnel(&tuns[k], ov, iv);
			decode_frame(n, &d);
			assert_why(&d, CS_SKIP_NONE, "tunnelled");
			ck_assert_int_eq(d.csum, CS_CSUM_OK);
			frame[n - 1] ^= 0x01;		/* last payload byte */
			decode_frame(n, &d);
			ck_assert_int_eq(d.csum, CS_CSUM_BAD);
		}
	}
}
END_TEST

/* ==== names and formatting =================================================== */

START_TEST(test_names)
{
	for (int i = 0; i < CS_TUN_MAX; i++) {
		ck_assert_ptr_nonnull(cs_tunnel_names[i]);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(cs_tunnel_names[i], cs_tunnel_names[j]);
	}
	ck_assert_str_eq(cs_skip_names[CS_SKIP_BAD_TUNNEL], "bad_tunnel");
	ck_assert_str_eq(cs_skip_names[CS_SKIP_TUNNEL_DEPTH], "tunnel_depth");

	struct cs_tunnel t;
	char buf[CS_TUNNEL_STRLEN];
	memset(&t, 0, sizeof t);
	ck_assert_str_eq(cs_tunnel_format(&t, buf, sizeof buf), "");
	t.kind = CS_TUN_MPLS;
	ck_assert_str_eq(cs_tunnel_format(&t, buf, sizeof buf), "mpls");
	t.kind = CS_TUN_GENEVE;
	t.outer_src.b[0] = 0xfe;
	t.outer_src.b[1] = 0x80;
	t.outer_src.b[15] = 1;
	t.outer_dst.b[10] = t.outer_dst.b[11] = 0xff;
	t.outer_dst.b[12] = 192;
	t.outer_dst.b[15] = 1;
	ck_assert_str_eq(cs_tunnel_format(&t, buf, sizeof buf), "geneve fe80::1->192.0.0.1");
	ck_assert_str_eq(cs_tunnel_format(&t, buf, 8), "geneve ");	/* cut to fit */
	t.kind = CS_TUN_MAX;
	ck_assert_str_eq(cs_tunnel_format(&t, buf, sizeof buf), "");
}
END_TEST

Suite *tunnel_suite(void)
{
	Suite *s = suite_create("tunnel");
	TCase *tc;

	tc = tcase_create("encapsulations");
	tcase_add_loop_test(tc, test_encap, 0, N_OF(encap_cases));
	tcase_add_loop_test(tc, test_encap_trailer_and_snaplen, 0, N_OF(encap_cases));
	tcase_add_loop_test(tc, test_damaged, 0, N_OF(damage_cases));
	tcase_add_test(tc, test_mpls_stack);
	tcase_add_test(tc, test_short_on_the_wire);
	tcase_add_test(tc, test_plain_udp);
	tcase_add_test(tc, test_teredo_rules);
	tcase_add_test(tc, test_nested);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_first_fragment);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("sweep");
	tcase_add_loop_test(tc, test_sweep_vxlan, 0, 2);
	tcase_add_loop_test(tc, test_sweep_gtpu, 0, 2);
	tcase_add_loop_test(tc, test_sweep_more, 0, 2 * (int)N_OF(sweep_tunnels));
	suite_add_tcase(s, tc);

	tc = tcase_create("checksum");
	tcase_add_test(tc, test_inet_sum);
	tcase_add_loop_test(tc, test_checksum, 0, 2);
	tcase_add_test(tc, test_checksum_routed);
	tcase_add_test(tc, test_checksum_tunnelled);
	suite_add_tcase(s, tc);
	return s;
}
