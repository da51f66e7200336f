/*
 * check_decode.c — capture/decode.c against frames from tests/pktbuild.c.
 *
 * Most tests are loops over a table of cases: a frame described by a
 * pb_spec, the result it must get and the fields it must fill.  Every frame
 * is decoded from a heap copy of exactly caplen bytes, so that a read one
 * byte past the capture is an ASan report, not a silent pass.  The last
 * test case is the truncation sweep: valid frames decoded at every caplen.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/checksum.h"
#include "capture/decode.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"

#define FRAME_CAP 80000		/* a jumbogram with 70000 bytes of data */
#define N_OF(a) (sizeof (a) / sizeof (a)[0])
#define BE32(v) (uint8_t)((v) >> 24), (uint8_t)((v) >> 16), \
		(uint8_t)((v) >> 8), (uint8_t)(v)

static uint8_t frame[FRAME_CAP];

/* What one decode produced; tcp_off is where pkt.tcp pointed, as an offset,
 * because the copy it pointed into is freed. */
struct dec {
	enum cs_skip why;
	struct cs_pkt pkt;
	long tcp_off;
};

static size_t build(const struct pb_spec *s)
{
	size_t n = pb_build(s, frame, sizeof frame);
	ck_assert_msg(n > 0, "pb_build could not build the frame");
	return n;
}

/* Decodes the first caplen bytes of bytes[] as a record of wirelen bytes. */
static enum cs_skip decode_bytes(const uint8_t *bytes, size_t caplen,
				 size_t wirelen, int dlt, struct dec *d)
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
		.dlt = dlt,
		.bytes = copy,
	};
	d->why = cs_decode(&f, &d->pkt);
	d->tcp_off = d->pkt.tcp ? (long)(d->pkt.tcp - copy) : -1;
	if (d->pkt.tcp) {
		ck_assert(d->tcp_off >= 0);
		ck_assert_uint_le((size_t)d->tcp_off + d->pkt.tcp_caplen, caplen);
	}
	free(copy);
	ck_assert_int_lt(d->why, CS_SKIP_MAX);
	return d->why;
}

/* Builds s and decodes the whole frame. */
static enum cs_skip decode_spec(const struct pb_spec *s, struct dec *d)
{
	size_t n = build(s);
	return decode_bytes(frame, n, n, s->dlt, d);
}

/* Builds s and decodes it cut to caplen, the wire length kept. */
static enum cs_skip decode_cut(const struct pb_spec *s, size_t caplen, struct dec *d)
{
	size_t n = build(s);
	ck_assert_uint_le(caplen, n);
	return decode_bytes(frame, caplen, n, s->dlt, d);
}

static void assert_addr(const struct cs_addr *a, const char *want)
{
	char buf[CS_ADDR_STRLEN];
	ck_assert_str_eq(cs_addr_format(a, buf, sizeof buf), want);
}

static void assert_why(const struct dec *d, enum cs_skip want, const char *name)
{
	ck_assert_msg(d->why == want, "%s: got %s, want %s", name,
		      cs_skip_names[d->why], cs_skip_names[want]);
}

/* Length of an IP header without options or extension headers. */
static size_t ip_hlen(int ip_ver)
{
	return ip_ver == 4 ? 20 : 40;
}

/* ==== link layer ========================================================== */

struct link_case {
	const char *name;
	int dlt;
	int ip_ver;
	uint32_t null_af;	/* 0: the builder's default */
	bool null_be;
	enum cs_skip want;
};

static const struct link_case link_cases[] = {
	{ "EN10MB v4", CS_DLT_EN10MB, 4, 0, false, CS_SKIP_NONE },
	{ "EN10MB v6", CS_DLT_EN10MB, 6, 0, false, CS_SKIP_NONE },
	{ "SLL v4", CS_DLT_LINUX_SLL, 4, 0, false, CS_SKIP_NONE },
	{ "SLL v6", CS_DLT_LINUX_SLL, 6, 0, false, CS_SKIP_NONE },
	{ "SLL2 v4", CS_DLT_LINUX_SLL2, 4, 0, false, CS_SKIP_NONE },
	{ "SLL2 v6", CS_DLT_LINUX_SLL2, 6, 0, false, CS_SKIP_NONE },
	{ "NULL le AF_INET", CS_DLT_NULL, 4, 2, false, CS_SKIP_NONE },
	{ "NULL be AF_INET", CS_DLT_NULL, 4, 2, true, CS_SKIP_NONE },
	{ "NULL le AF_INET6 10 (Linux)", CS_DLT_NULL, 6, 10, false, CS_SKIP_NONE },
	{ "NULL le AF_INET6 24 (NetBSD)", CS_DLT_NULL, 6, 24, false, CS_SKIP_NONE },
	{ "NULL le AF_INET6 28 (FreeBSD)", CS_DLT_NULL, 6, 28, false, CS_SKIP_NONE },
	{ "NULL le AF_INET6 30 (Darwin)", CS_DLT_NULL, 6, 30, false, CS_SKIP_NONE },
	{ "NULL be AF_INET6 10", CS_DLT_NULL, 6, 10, true, CS_SKIP_NONE },
	{ "NULL be AF_INET6 24", CS_DLT_NULL, 6, 24, true, CS_SKIP_NONE },
	{ "NULL be AF_INET6 28", CS_DLT_NULL, 6, 28, true, CS_SKIP_NONE },
	{ "NULL be AF_INET6 30", CS_DLT_NULL, 6, 30, true, CS_SKIP_NONE },
	{ "NULL unknown family", CS_DLT_NULL, 4, 7, false, CS_SKIP_NOT_IP },
	{ "NULL AF_INET carrying v6", CS_DLT_NULL, 6, 2, false, CS_SKIP_BAD_IP_HEADER },
	{ "LOOP AF_INET", CS_DLT_LOOP, 4, 2, false, CS_SKIP_NONE },
	{ "LOOP AF_INET6 10", CS_DLT_LOOP, 6, 10, false, CS_SKIP_NONE },
	{ "LOOP AF_INET6 24", CS_DLT_LOOP, 6, 24, false, CS_SKIP_NONE },
	{ "LOOP AF_INET6 28", CS_DLT_LOOP, 6, 28, false, CS_SKIP_NONE },
	{ "LOOP AF_INET6 30", CS_DLT_LOOP, 6, 30, false, CS_SKIP_NONE },
	{ "LOOP unknown family", CS_DLT_LOOP, 4, 7, false, CS_SKIP_NOT_IP },
	{ "RAW(12) v4", CS_DLT_RAW, 4, 0, false, CS_SKIP_NONE },
	{ "RAW(12) v6", CS_DLT_RAW, 6, 0, false, CS_SKIP_NONE },
	{ "RAW(14) v4", CS_DLT_RAW_OPENBSD, 4, 0, false, CS_SKIP_NONE },
	{ "RAW(14) v6", CS_DLT_RAW_OPENBSD, 6, 0, false, CS_SKIP_NONE },
	{ "RAW(101) v4", CS_DLT_LINKTYPE_RAW, 4, 0, false, CS_SKIP_NONE },
	{ "RAW(101) v6", CS_DLT_LINKTYPE_RAW, 6, 0, false, CS_SKIP_NONE },
	{ "IPV4 v4", CS_DLT_IPV4, 4, 0, false, CS_SKIP_NONE },
	{ "IPV6 v6", CS_DLT_IPV6, 6, 0, false, CS_SKIP_NONE },
	{ "IPV4 carrying v6", CS_DLT_IPV4, 6, 0, false, CS_SKIP_BAD_IP_HEADER },
	{ "IPV6 carrying v4", CS_DLT_IPV6, 4, 0, false, CS_SKIP_BAD_IP_HEADER },
};

/* The fields of the default segment pb_spec_init describes, plus an MSS
 * option and 5 bytes of data. */
static void assert_default_segment(const struct dec *d, int ip_ver)
{
	const struct cs_pkt *p = &d->pkt;

	ck_assert_uint_eq(p->kind, CS_PKT_TCP);
	ck_assert_uint_eq(p->ip_ver, ip_ver);
	assert_addr(&p->src, ip_ver == 4 ? "10.0.0.1" : "2001:db8::1");
	assert_addr(&p->dst, ip_ver == 4 ? "10.0.0.2" : "2001:db8::2");
	ck_assert_uint_eq(p->sport, 40000);
	ck_assert_uint_eq(p->dport, 80);
	ck_assert_uint_eq(p->seq, 1000);
	ck_assert_uint_eq(p->flags, CS_TH_SYN);
	ck_assert_uint_eq(p->win, 65535);
	ck_assert_uint_eq(p->ttl, 64);
	ck_assert_uint_eq(p->tcp_hlen, 24);
	ck_assert_uint_eq(p->payload_len, 5);
	ck_assert_uint_eq(p->ip_len, ip_hlen(ip_ver) + 24 + 5);
	ck_assert_uint_eq(p->opt.present, CS_OPT_MSS);
	ck_assert_uint_eq(p->opt.mss, 1460);
	ck_assert_uint_eq(p->info, 0);
	ck_assert_uint_eq(p->vlan_cnt, 0);
	ck_assert_uint_eq(p->tcp_caplen, 24 + 5);
}

START_TEST(test_link_types)
{
	const struct link_case *c = &link_cases[_i];
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, c->ip_ver);
	s.dlt = c->dlt;
	s.null_af = c->null_af;
	s.null_be = c->null_be;
	pb_opt_mss(&s, 1460);
	s.payload_len = 5;
	size_t n = build(&s);
	decode_bytes(frame, n, n, s.dlt, &d);
	assert_why(&d, c->want, c->name);
	if (c->want != CS_SKIP_NONE)
		return;
	assert_default_segment(&d, c->ip_ver);
	ck_assert_int_eq(d.tcp_off, (long)(pb_link_len(&s) + ip_hlen(c->ip_ver)));
	ck_assert_uint_eq(d.pkt.wirelen, n);
	ck_assert_uint_eq(d.pkt.ts_us, 1700000000123456u);
	ck_assert(cs_linktype_supported(c->dlt));
}
END_TEST

START_TEST(test_unknown_linktype)
{
	static const int dlts[] = { 2, 8, 104 + 100, 147, 228 + 100, -1, 65535 };
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	size_t n = build(&s);
	for (size_t i = 0; i < N_OF(dlts); i++) {
		decode_bytes(frame, n, n, dlts[i], &d);
		assert_why(&d, CS_SKIP_LINKTYPE, "unknown DLT");
		ck_assert(!cs_linktype_supported(dlts[i]));
	}
}
END_TEST

START_TEST(test_linktype_names)
{
	static const struct { int dlt; const char *name; } names[] = {
		{ CS_DLT_NULL, "NULL" }, { CS_DLT_EN10MB, "EN10MB" },
		{ CS_DLT_RAW, "RAW" }, { CS_DLT_RAW_OPENBSD, "RAW" },
		{ CS_DLT_LINKTYPE_RAW, "RAW" }, { CS_DLT_LOOP, "LOOP" },
		{ CS_DLT_LINUX_SLL, "LINUX_SLL" }, { CS_DLT_IPV4, "IPV4" },
		{ CS_DLT_IPV6, "IPV6" }, { CS_DLT_LINUX_SLL2, "LINUX_SLL2" },
		{ CS_DLT_PPP, "PPP" }, { CS_DLT_PPP_SERIAL, "PPP_SERIAL" },
		{ CS_DLT_C_HDLC, "C_HDLC" }, { CS_DLT_FDDI, "FDDI" },
		{ CS_DLT_IEEE802_11, "IEEE802_11" },
		{ CS_DLT_IEEE802_11_RADIO, "IEEE802_11_RADIO" },
		{ CS_DLT_NFLOG, "NFLOG" }, { 147, "DLT_147" },
	};
	char buf[32];

	for (size_t i = 0; i < N_OF(names); i++)
		ck_assert_str_eq(cs_linktype_name(names[i].dlt, buf, sizeof buf),
				 names[i].name);
}
END_TEST

struct vlan_case {
	const char *name;
	unsigned depth;
	uint16_t outer_tpid;	/* every tag but the innermost (802.1Q) */
	int ip_ver;
	enum cs_skip want;
};

static const struct vlan_case vlan_cases[] = {
	{ "one 802.1Q tag", 1, 0x8100, 4, CS_SKIP_NONE },
	{ "one 802.1Q tag, IPv6", 1, 0x8100, 6, CS_SKIP_NONE },
	{ "802.1ad + 802.1Q", 2, 0x88a8, 4, CS_SKIP_NONE },
	{ "0x9100 + 802.1Q", 2, 0x9100, 6, CS_SKIP_NONE },
	{ "two 802.1Q tags", 2, 0x8100, 4, CS_SKIP_NONE },
	{ "8 tags", 8, 0x88a8, 4, CS_SKIP_NONE },
	{ "9 tags", 9, 0x88a8, 4, CS_SKIP_BAD_LINK_HEADER },
	{ "12 tags", 12, 0x8100, 6, CS_SKIP_BAD_LINK_HEADER },
};

START_TEST(test_vlan_stacks)
{
	const struct vlan_case *c = &vlan_cases[_i];
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, c->ip_ver);
	for (unsigned i = 0; i < c->depth; i++)
		pb_vlan_add(&s, i + 1 < c->depth ? c->outer_tpid : 0x8100,
			    (uint16_t)(100 + i));
	s.vlan[0].tci |= 0xa000;	/* priority 5: not part of the id */
	pb_opt_mss(&s, 1460);
	s.payload_len = 5;
	decode_spec(&s, &d);
	assert_why(&d, c->want, c->name);
	if (c->want != CS_SKIP_NONE)
		return;
	ck_assert_uint_eq(d.pkt.vlan_cnt, c->depth);
	ck_assert_uint_eq(d.pkt.vlan[0], 100);
	ck_assert_uint_eq(d.pkt.vlan[1], c->depth > 1 ? 101 : 0);
	d.pkt.vlan_cnt = 0;	/* the rest is the untagged frame's */
	assert_default_segment(&d, c->ip_ver);
}
END_TEST

struct not_ip_case {
	const char *name;
	int dlt;
	uint16_t ethertype;
};

static const struct not_ip_case not_ip_cases[] = {
	{ "ARP", CS_DLT_EN10MB, 0x0806 },
	{ "RARP", CS_DLT_EN10MB, 0x8035 },
	{ "LLDP", CS_DLT_EN10MB, 0x88cc },
	{ "802.3 length 46, LLC not SNAP", CS_DLT_EN10MB, 46 },
	{ "802.3 length 1500, LLC not SNAP", CS_DLT_EN10MB, 1500 },
	{ "1501: neither length nor type", CS_DLT_EN10MB, 1501 },
	{ "1535: neither length nor type", CS_DLT_EN10MB, 1535 },
	{ "SLL ARP", CS_DLT_LINUX_SLL, 0x0806 },
	{ "SLL 802.2 (ETH_P_802_2)", CS_DLT_LINUX_SLL, 0x0004 },
	{ "SLL2 ARP", CS_DLT_LINUX_SLL2, 0x0806 },
};

START_TEST(test_not_ip)
{
	const struct not_ip_case *c = &not_ip_cases[_i];
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	s.dlt = c->dlt;
	s.ethertype = c->ethertype;
	s.trailer_len = 1500;	/* room for an 802.3 length: the LLC header is
				 * the datagram's first bytes, 0x45 0x00 */
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NOT_IP, c->name);
}
END_TEST

/* An ethertype or link family that names one IP version over the other. */
START_TEST(test_ip_version_mismatch)
{
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 6);
	s.ethertype = 0x0800;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_IP_HEADER, "ethertype IPv4, version 6");

	pb_spec_init(&s, 4);
	s.ethertype = 0x86dd;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_IP_HEADER, "ethertype IPv6, version 4");

	pb_spec_init(&s, 4);
	s.dlt = CS_DLT_RAW;
	size_t n = build(&s);
	frame[0] = (uint8_t)(5 << 4 | (frame[0] & 0x0f));
	decode_bytes(frame, n, n, s.dlt, &d);
	assert_why(&d, CS_SKIP_BAD_IP_HEADER, "RAW, version 5");
}
END_TEST

/* A link header cut by the snap length, or missing from the wire too. */
START_TEST(test_link_header_short)
{
	static const int dlts[] = {
		CS_DLT_EN10MB, CS_DLT_LINUX_SLL, CS_DLT_LINUX_SLL2,
		CS_DLT_NULL, CS_DLT_LOOP,
	};
	struct pb_spec s;
	struct dec d;

	for (size_t i = 0; i < N_OF(dlts); i++) {
		pb_spec_init(&s, 4);
		s.dlt = dlts[i];
		size_t n = build(&s);
		size_t cut = pb_link_len(&s) - 1;
		decode_bytes(frame, cut, n, s.dlt, &d);
		assert_why(&d, CS_SKIP_TRUNCATED, "link header cut by snaplen");
		decode_bytes(frame, cut, cut, s.dlt, &d);
		assert_why(&d, CS_SKIP_BAD_LINK_HEADER, "link header short on the wire");
	}
}
END_TEST

/* Record lengths no packet can have: nothing captured, or more captured
 * than was on the wire. */
START_TEST(test_bad_record)
{
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	size_t n = build(&s);
	decode_bytes(frame, 0, n, s.dlt, &d);
	assert_why(&d, CS_SKIP_BAD_RECORD, "caplen 0");
	decode_bytes(frame, 0, 0, s.dlt, &d);
	assert_why(&d, CS_SKIP_BAD_RECORD, "caplen 0, wirelen 0");
	decode_bytes(frame, n, n - 1, s.dlt, &d);
	assert_why(&d, CS_SKIP_BAD_RECORD, "caplen > wirelen");
	decode_bytes(frame, n, 0, 9999, &d);
	assert_why(&d, CS_SKIP_BAD_RECORD, "bad record of an unknown link type");
}
END_TEST

/* A view is filled afresh: nothing of the previous frame stays. */
START_TEST(test_view_reset)
{
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	pb_vlan_add(&s, 0x8100, 7);
	pb_opt_mss(&s, 1400);
	pb_opt_ts(&s, 1, 2);
	s.frag_more = true;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "options");
	ck_assert_uint_ne(d.pkt.opt.present, 0);

	pb_spec_init(&s, 4);
	size_t n = build(&s);
	struct cs_frame f = { .caplen = (uint32_t)n, .wirelen = (uint32_t)n,
			      .dlt = s.dlt, .bytes = frame };
	ck_assert_int_eq(cs_decode(&f, &d.pkt), CS_SKIP_NONE);
	ck_assert_uint_eq(d.pkt.opt.present, 0);
	ck_assert_uint_eq(d.pkt.opt.mss, 0);
	ck_assert_uint_eq(d.pkt.vlan_cnt, 0);
	ck_assert_uint_eq(d.pkt.info, 0);
}
END_TEST

/* ==== IPv4 ================================================================ */

struct ipopt_case {
	const char *name;
	uint8_t len;
	uint8_t opt[PB_IPOPT_MAX];
	enum cs_skip want;
};

static const struct ipopt_case ipopt_cases[] = {
	{ "four NOPs", 4, { 1, 1, 1, 1 }, CS_SKIP_NONE },
	{ "router alert", 4, { 0x94, 4, 0, 0 }, CS_SKIP_NONE },
	{ "NOP + record route", 8, { 1, 7, 7, 4, 0, 0, 0, 0 }, CS_SKIP_NONE },
	{ "EOL then junk", 4, { 0, 0xff, 0xff, 0xff }, CS_SKIP_NONE },
	{ "timestamp, 40 bytes", 40, { 0x44, 40, 5, 0 }, CS_SKIP_NONE },
	{ "length 0", 4, { 0x94, 0, 0, 0 }, CS_SKIP_BAD_IP_HEADER },
	{ "length 1", 4, { 7, 1, 0, 0 }, CS_SKIP_BAD_IP_HEADER },
	{ "length past header", 4, { 0x94, 8, 0, 0 }, CS_SKIP_BAD_IP_HEADER },
	{ "length past header by 1", 8, { 1, 7, 8, 4, 0, 0, 0, 0 },
	  CS_SKIP_BAD_IP_HEADER },
	{ "type in the last byte", 4, { 1, 1, 1, 0x94 }, CS_SKIP_BAD_IP_HEADER },
};

START_TEST(test_ipv4_options)
{
	const struct ipopt_case *c = &ipopt_cases[_i];
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	memcpy(s.ip_opt, c->opt, c->len);
	s.ip_opt_len = c->len;
	pb_opt_mss(&s, 1460);
	s.payload_len = 5;
	decode_spec(&s, &d);
	assert_why(&d, c->want, c->name);
	if (c->want != CS_SKIP_NONE)
		return;
	ck_assert_uint_eq(d.pkt.ip_len, 20 + c->len + 24 + 5);
	ck_assert_uint_eq(d.pkt.payload_len, 5);
	ck_assert_uint_eq(d.pkt.opt.mss, 1460);
	ck_assert_int_eq(d.tcp_off, (long)(14 + 20 + c->len));
}
END_TEST

/* Version and IHL are patched in after building: the builder writes
 * only what a host could send. */
START_TEST(test_ipv4_bad_version_ihl)
{
	static const struct { const char *name; uint8_t ver_ihl; } cases[] = {
		{ "IHL 0", 0x40 }, { "IHL 4", 0x44 }, { "version 5", 0x55 },
		{ "version 0", 0x05 }, { "IHL past the datagram", 0x4f },
	};
	struct pb_spec s;
	struct dec d;

	for (size_t i = 0; i < N_OF(cases); i++) {
		pb_spec_init(&s, 4);
		size_t n = build(&s);
		frame[14] = cases[i].ver_ihl;
		decode_bytes(frame, n, n, s.dlt, &d);
		assert_why(&d, CS_SKIP_BAD_IP_HEADER, cases[i].name);
	}
}
END_TEST

struct frag_case {
	const char *name;
	uint16_t off;
	bool mf, df;
	enum cs_skip want;
	bool first;		/* CS_PKTF_FRAGMENT */
};

static const struct frag_case frag_cases[] = {
	{ "DF, not fragmented", 0, false, true, CS_SKIP_NONE, false },
	{ "first fragment", 0, true, false, CS_SKIP_NONE, true },
	{ "middle fragment", 185, true, false, CS_SKIP_IP_FRAGMENT, false },
	{ "last fragment", 370, false, false, CS_SKIP_IP_FRAGMENT, false },
	{ "offset 1", 1, true, false, CS_SKIP_IP_FRAGMENT, false },
	{ "largest offset", 0x1fff, false, false, CS_SKIP_IP_FRAGMENT, false },
};

START_TEST(test_ipv4_fragments)
{
	const struct frag_case *c = &frag_cases[_i];
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	s.frag_off = c->off;
	s.frag_more = c->mf;
	s.frag_df = c->df;
	pb_opt_mss(&s, 1460);
	s.payload_len = 5;
	decode_spec(&s, &d);
	assert_why(&d, c->want, c->name);
	ck_assert_uint_eq(!!(d.pkt.info & CS_PKTF_FRAGMENT), c->first);
	if (c->want != CS_SKIP_NONE)
		return;
	d.pkt.info &= (uint16_t)~CS_PKTF_FRAGMENT;
	assert_default_segment(&d, 4);
}
END_TEST

/* TSO/GSO super-packets captured on the sender carry total length 0. */
START_TEST(test_ipv4_total_length_zero)
{
	static const int dlts[] = { CS_DLT_EN10MB, CS_DLT_RAW, CS_DLT_LINUX_SLL2 };
	struct pb_spec s;
	struct dec d;

	for (size_t i = 0; i < N_OF(dlts); i++) {
		pb_spec_init(&s, 4);
		s.dlt = dlts[i];
		s.tcp.flags = CS_TH_ACK | CS_TH_PSH;
		s.payload_len = 70000;	/* BIG TCP: past 16 bits */
		s.len_set = true;
		s.len_field = 0;
		size_t n = build(&s);
		decode_bytes(frame, n, n, s.dlt, &d);
		assert_why(&d, CS_SKIP_NONE, "total length 0");
		ck_assert_uint_eq(d.pkt.info, CS_PKTF_LEN_FROM_WIRE);
		ck_assert_uint_eq(d.pkt.ip_len, n - pb_link_len(&s));
		ck_assert_uint_eq(d.pkt.payload_len, 70000);

		/* Captured with a snap length: the length is the wire's. */
		decode_bytes(frame, 200, n, s.dlt, &d);
		assert_why(&d, CS_SKIP_NONE, "total length 0, snapped");
		ck_assert_uint_eq(d.pkt.info, CS_PKTF_LEN_FROM_WIRE | CS_PKTF_TRUNCATED);
		ck_assert_uint_eq(d.pkt.payload_len, 70000);
	}
}
END_TEST

struct total_case {
	const char *name;
	int delta;		/* len_field = true total + delta */
	enum cs_skip want;
};

static const struct total_case total_cases[] = {
	{ "total = frame", 0, CS_SKIP_NONE },
	{ "total one past the frame", 1, CS_SKIP_BAD_IP_HEADER },
	{ "total far past the frame", 1000, CS_SKIP_BAD_IP_HEADER },
	{ "total below the IP header", -(24 + 5 + 1), CS_SKIP_BAD_IP_HEADER },
	{ "total = IP header alone", -(24 + 5), CS_SKIP_BAD_TCP_HEADER },
	{ "total cuts the TCP header", -(24 + 5 - 19), CS_SKIP_BAD_TCP_HEADER },
	{ "total cuts the TCP options", -(5 + 2), CS_SKIP_BAD_TCP_HEADER },
};

START_TEST(test_ipv4_total_length)
{
	const struct total_case *c = &total_cases[_i];
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	pb_opt_mss(&s, 1460);
	s.payload_len = 5;
	s.len_set = true;
	s.len_field = (uint16_t)(20 + 24 + 5 + c->delta);
	decode_spec(&s, &d);
	assert_why(&d, c->want, c->name);
}
END_TEST

/* Ethernet pads frames to 60 bytes: the IP length, not the frame, says
 * where the segment ends. */
START_TEST(test_ethernet_padding)
{
	static const struct { int ip_ver; size_t payload, trailer; } cases[] = {
		{ 4, 0, 6 }, { 4, 5, 1 }, { 4, 0, 100 }, { 6, 0, 4 }, { 6, 3, 60 },
	};
	struct pb_spec s;
	struct dec d;

	for (size_t i = 0; i < N_OF(cases); i++) {
		pb_spec_init(&s, cases[i].ip_ver);
		s.tcp.flags = CS_TH_ACK;
		s.payload_len = cases[i].payload;
		s.trailer_len = cases[i].trailer;
		size_t n = build(&s);
		decode_bytes(frame, n, n, s.dlt, &d);
		assert_why(&d, CS_SKIP_NONE, "padded frame");
		ck_assert_uint_eq(d.pkt.payload_len, cases[i].payload);
		ck_assert_uint_eq(d.pkt.ip_len, ip_hlen(cases[i].ip_ver) + 20 +
				  cases[i].payload);
		ck_assert_uint_eq(d.pkt.tcp_caplen, 20 + cases[i].payload);
		ck_assert_uint_eq(d.pkt.info, 0);
	}
}
END_TEST

/* The snap length cut the data, not the headers: analysed, marked. */
START_TEST(test_caplen_below_wirelen)
{
	struct pb_spec s;
	struct dec d;

	for (int v = 4; v <= 6; v += 2) {
		pb_spec_init(&s, v);
		pb_opt_mss(&s, 1460);
		s.payload_len = 1000;
		size_t hdrs = 14 + ip_hlen(v) + 24;
		decode_cut(&s, hdrs + 10, &d);
		assert_why(&d, CS_SKIP_NONE, "data cut");
		ck_assert_uint_eq(d.pkt.info, CS_PKTF_TRUNCATED);
		ck_assert_uint_eq(d.pkt.payload_len, 1000);
		ck_assert_uint_eq(d.pkt.ip_len, ip_hlen(v) + 24 + 1000);
		ck_assert_uint_eq(d.pkt.tcp_caplen, 24 + 10);
		ck_assert_uint_eq(d.pkt.opt.mss, 1460);
		ck_assert_uint_eq(d.pkt.opt.present, CS_OPT_MSS);

		decode_cut(&s, hdrs, &d);	/* exactly the headers */
		assert_why(&d, CS_SKIP_NONE, "all data cut");
		ck_assert_uint_eq(d.pkt.payload_len, 1000);
		ck_assert_uint_eq(d.pkt.opt.present, CS_OPT_MSS);
	}
}
END_TEST

/* ==== IPv6 ================================================================ */

#define EXT(t, ...) { .type = (t), __VA_ARGS__ }

struct ext_case {
	const char *name;
	unsigned n;
	struct pb_ext ext[8];
	enum cs_skip want;
	bool first;		/* CS_PKTF_FRAGMENT */
	size_t ext_len;		/* bytes of extension headers */
};

static const struct ext_case ext_cases[] = {
	{ "hop-by-hop", 1, { EXT(PB_EXT_HOPOPTS) }, CS_SKIP_NONE, false, 8 },
	{ "hop-by-hop, 32 bytes", 1, { EXT(PB_EXT_HOPOPTS, .hdr_len = 3) },
	  CS_SKIP_NONE, false, 32 },
	{ "destination options", 1, { EXT(PB_EXT_DSTOPTS) }, CS_SKIP_NONE, false, 8 },
	{ "routing", 1, { EXT(PB_EXT_ROUTING) }, CS_SKIP_NONE, false, 8 },
	{ "routing, 24 bytes", 1, { EXT(PB_EXT_ROUTING, .hdr_len = 2) },
	  CS_SKIP_NONE, false, 24 },
	{ "AH, 96-bit ICV", 1, { EXT(PB_EXT_AH) }, CS_SKIP_NONE, false, 24 },
	{ "AH, 256-bit ICV", 1, { EXT(PB_EXT_AH, .hdr_len = 10) }, CS_SKIP_NONE,
	  false, 48 },
	{ "fragment, first", 1, { EXT(PB_EXT_FRAGMENT, .frag_more = true) },
	  CS_SKIP_NONE, true, 8 },
	{ "fragment, atomic", 1, { EXT(PB_EXT_FRAGMENT) }, CS_SKIP_NONE, false, 8 },
	{ "fragment, middle", 1,
	  { EXT(PB_EXT_FRAGMENT, .frag_off = 100, .frag_more = true) },
	  CS_SKIP_IP_FRAGMENT, false, 8 },
	{ "fragment, last", 1, { EXT(PB_EXT_FRAGMENT, .frag_off = 100) },
	  CS_SKIP_IP_FRAGMENT, false, 8 },
	{ "hop, dst, routing, fragment, AH, dst", 6,
	  { EXT(PB_EXT_HOPOPTS), EXT(PB_EXT_DSTOPTS, .hdr_len = 1),
	    EXT(PB_EXT_ROUTING, .hdr_len = 2),
	    EXT(PB_EXT_FRAGMENT, .frag_more = true), EXT(PB_EXT_AH),
	    EXT(PB_EXT_DSTOPTS) },
	  CS_SKIP_NONE, true, 8 + 16 + 24 + 8 + 24 + 8 },
	{ "hop, fragment (middle), dst", 3,
	  { EXT(PB_EXT_HOPOPTS), EXT(PB_EXT_FRAGMENT, .frag_off = 1),
	    EXT(PB_EXT_DSTOPTS) },
	  CS_SKIP_IP_FRAGMENT, false, 24 },
	{ "hop-by-hop not first", 2, { EXT(PB_EXT_DSTOPTS), EXT(PB_EXT_HOPOPTS) },
	  CS_SKIP_BAD_IP_HEADER, false, 16 },
	{ "two hop-by-hop", 2, { EXT(PB_EXT_HOPOPTS), EXT(PB_EXT_HOPOPTS) },
	  CS_SKIP_BAD_IP_HEADER, false, 16 },
};

START_TEST(test_ipv6_extension_chains)
{
	const struct ext_case *c = &ext_cases[_i];
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 6);
	for (unsigned i = 0; i < c->n; i++)
		*pb_ext_add(&s, c->ext[i].type) = c->ext[i];
	pb_opt_mss(&s, 1460);
	s.payload_len = 5;
	decode_spec(&s, &d);
	assert_why(&d, c->want, c->name);
	ck_assert_uint_eq(!!(d.pkt.info & CS_PKTF_FRAGMENT), c->first);
	if (c->want != CS_SKIP_NONE)
		return;
	ck_assert_int_eq(d.tcp_off, (long)(14 + 40 + c->ext_len));
	ck_assert_uint_eq(d.pkt.ip_len, 40 + c->ext_len + 24 + 5);
	ck_assert_uint_eq(d.pkt.payload_len, 5);
	ck_assert_uint_eq(d.pkt.opt.mss, 1460);
	ck_assert_uint_eq(d.pkt.ttl, 64);
}
END_TEST

/* The walk is bounded: 16 extension headers are walked, the 17th is not. */
START_TEST(test_ipv6_extension_limit)
{
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 6);
	for (int i = 0; i < 16; i++)
		pb_ext_add(&s, PB_EXT_DSTOPTS);
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "16 extension headers");
	ck_assert_uint_eq(d.pkt.ip_len, 40 + 16 * 8 + 20);

	pb_ext_add(&s, PB_EXT_DSTOPTS);
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_IP_HEADER, "17 extension headers");
}
END_TEST

/* An extension header longer than the payload length allows. */
START_TEST(test_ipv6_extension_past_payload)
{
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 6);
	pb_ext_add(&s, PB_EXT_DSTOPTS)->hdr_len = 1;	/* 16 bytes */
	s.len_set = true;
	s.len_field = 12;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_IP_HEADER, "extension past payload length");

	s.len_field = 1;	/* not even the next-header byte pair */
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_IP_HEADER, "payload length 1");
}
END_TEST

START_TEST(test_ipv6_payload_length)
{
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 6);
	s.payload_len = 5;
	s.len_set = true;
	s.len_field = 20 + 5 + 1;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_IP_HEADER, "payload length past the frame");

	s.len_field = 19;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_TCP_HEADER, "payload length cuts TCP");

	/* Length 0 without a jumbo option: BIG TCP, the frame is the packet. */
	s.len_field = 0;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "payload length 0");
	ck_assert_uint_eq(d.pkt.info, CS_PKTF_LEN_FROM_WIRE);
	ck_assert_uint_eq(d.pkt.payload_len, 5);
	ck_assert_uint_eq(d.pkt.ip_len, 40 + 20 + 5);
}
END_TEST

struct v6_not_tcp_case {
	const char *name;
	unsigned n;
	uint8_t ext[2];
	enum pb_l4 l4;
	uint8_t proto;
};

static const struct v6_not_tcp_case v6_not_tcp_cases[] = {
	{ "ESP", 0, { 0 }, PB_L4_RAW, 50 },
	{ "no next header", 0, { 0 }, PB_L4_RAW, 59 },
	{ "hop-by-hop, then ESP", 1, { PB_EXT_HOPOPTS }, PB_L4_RAW, 50 },
	{ "dst, then no next header", 1, { PB_EXT_DSTOPTS }, PB_L4_RAW, 59 },
	{ "UDP", 0, { 0 }, PB_L4_UDP, 0 },
	{ "fragment (first), UDP", 1, { PB_EXT_FRAGMENT }, PB_L4_UDP, 0 },
	{ "SCTP", 0, { 0 }, PB_L4_RAW, 132 },
	{ "ICMP (v4) in IPv6", 0, { 0 }, PB_L4_RAW, 1 },
	{ "ICMPv6 echo request", 0, { 0 }, PB_L4_ICMP, 0 },
};

START_TEST(test_ipv6_not_tcp)
{
	const struct v6_not_tcp_case *c = &v6_not_tcp_cases[_i];
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 6);
	for (unsigned i = 0; i < c->n; i++)
		pb_ext_add(&s, c->ext[i]);
	s.l4 = c->l4;
	s.proto = c->proto;
	s.icmp.type = 128;
	s.payload_len = 24;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NOT_TCP, c->name);
}
END_TEST

/* RFC 2675 jumbograms: payload length 0 and a jumbo option in hop-by-hop. */
START_TEST(test_ipv6_jumbo)
{
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 6);
	pb_ext_add(&s, PB_EXT_HOPOPTS)->jumbo = true;
	pb_opt_ts(&s, 7, 8);
	s.tcp.flags = CS_TH_ACK;
	s.payload_len = 70000;
	size_t n = build(&s);
	decode_bytes(frame, n, n, s.dlt, &d);
	assert_why(&d, CS_SKIP_NONE, "jumbogram");
	ck_assert_uint_eq(d.pkt.payload_len, 70000);
	ck_assert_uint_eq(d.pkt.ip_len, 40 + 8 + 32 + 70000);
	ck_assert_uint_eq(d.pkt.info, 0);
	ck_assert_uint_eq(d.pkt.opt.ts_val, 7);

	/* Snapped to the headers, the lengths still come from the option. */
	decode_bytes(frame, 14 + 40 + 8 + 32, n, s.dlt, &d);
	assert_why(&d, CS_SKIP_NONE, "jumbogram, snapped");
	ck_assert_uint_eq(d.pkt.payload_len, 70000);
	ck_assert_uint_eq(d.pkt.info, CS_PKTF_TRUNCATED);

	/* Trailing bytes past the jumbo length are not data. */
	s.trailer_len = 10;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "jumbogram with trailer");
	ck_assert_uint_eq(d.pkt.payload_len, 70000);
	s.trailer_len = 0;

	s.ext[0].jumbo_len = 8 + 32 + 70000 + 1;	/* past the frame */
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_IP_HEADER, "jumbo length past the frame");

	s.ext[0].jumbo_len = 65535;	/* RFC 2675: must exceed 65535 */
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_IP_HEADER, "jumbo length 65535");

	s.ext[0].jumbo_len = 0;
	s.len_set = true;	/* a jumbo option with a payload length */
	s.len_field = 1000;
	s.payload_len = 1000 - 8 - 32;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_IP_HEADER, "jumbo option, payload length set");
}
END_TEST

/* ==== TCP ================================================================= */

struct optval_case {
	const char *name;
	uint8_t len;
	uint8_t opt[PB_TCPOPT_MAX];
	struct cs_tcp_opts want;
};

static const struct optval_case optval_cases[] = {
	{ "MSS", 4, { 2, 4, 0x05, 0xb4 },
	  { .present = CS_OPT_MSS, .mss = 1460 } },
	{ "MSS 0 and 65535", 8, { 2, 4, 0, 0, 2, 4, 0xff, 0xff },
	  { .present = CS_OPT_MSS, .mss = 65535 } },
	{ "window scale 7", 4, { 1, 3, 3, 7 },
	  { .present = CS_OPT_WSCALE, .wscale = 7 } },
	{ "window scale 15, kept as sent", 4, { 1, 3, 3, 15 },
	  { .present = CS_OPT_WSCALE, .wscale = 15 } },
	{ "SACK permitted", 4, { 1, 1, 4, 2 },
	  { .present = CS_OPT_SACK_PERM } },
	{ "timestamps", 12, { 1, 1, 8, 10, BE32(0x01020304), BE32(0xfffffffe) },
	  { .present = CS_OPT_TIMESTAMP, .ts_val = 0x01020304,
	    .ts_ecr = 0xfffffffe } },
	{ "SACK, 1 block", 12, { 1, 1, 5, 10, BE32(100), BE32(200) },
	  { .present = CS_OPT_SACK, .sack_cnt = 1, .sack = { { 100, 200 } } } },
	{ "SACK, 2 blocks", 20,
	  { 1, 1, 5, 18, BE32(100), BE32(200), BE32(300), BE32(400) },
	  { .present = CS_OPT_SACK, .sack_cnt = 2,
	    .sack = { { 100, 200 }, { 300, 400 } } } },
	{ "SACK, 3 blocks + timestamps", 40,
	  { 1, 1, 8, 10, BE32(5), BE32(6), 1, 1, 5, 26, BE32(1), BE32(2),
	    BE32(3), BE32(4), BE32(0xfffffff0), BE32(0x10) },
	  { .present = CS_OPT_SACK | CS_OPT_TIMESTAMP, .ts_val = 5, .ts_ecr = 6,
	    .sack_cnt = 3, .sack = { { 1, 2 }, { 3, 4 }, { 0xfffffff0, 0x10 } } } },
	{ "SACK, 4 blocks", 36,
	  { 1, 1, 5, 34, BE32(1), BE32(2), BE32(3), BE32(4), BE32(5), BE32(6),
	    BE32(7), BE32(8) },
	  { .present = CS_OPT_SACK, .sack_cnt = 4,
	    .sack = { { 1, 2 }, { 3, 4 }, { 5, 6 }, { 7, 8 } } } },
	{ "Linux SYN", 20,
	  { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, BE32(11), BE32(0), 1, 3, 3, 7 },
	  { .present = CS_OPT_MSS | CS_OPT_SACK_PERM | CS_OPT_TIMESTAMP |
		       CS_OPT_WSCALE,
	    .mss = 1460, .wscale = 7, .ts_val = 11, .ts_ecr = 0 } },
	{ "TCP MD5 signature", 20, { 1, 1, 19, 18 },
	  { .present = CS_OPT_MD5 } },
	{ "MPTCP MP_CAPABLE", 12, { 30, 12, 0x00, 0x81 },
	  { .present = CS_OPT_MPTCP } },
	{ "Fast Open cookie request", 4, { 1, 1, 34, 2 },
	  { .present = CS_OPT_FASTOPEN } },
	{ "Fast Open cookie", 12, { 1, 1, 34, 10 },
	  { .present = CS_OPT_FASTOPEN } },
	{ "user timeout", 4, { 28, 4, 0x80, 0x10 }, { .present = 0 } },
	{ "TCP-AO", 16, { 29, 16 }, { .present = 0 } },
	{ "unknown kind 253", 8, { 253, 6, 0xab, 0xcd, 0, 0, 1, 1 },
	  { .present = 0 } },
	{ "EOL, then junk not parsed", 8, { 2, 4, 0, 100, 0, 2, 1, 0xff },
	  { .present = CS_OPT_MSS, .mss = 100 } },
	{ "only NOPs", 8, { 1, 1, 1, 1, 1, 1, 1, 1 }, { .present = 0 } },
};

static void assert_opts(const struct cs_tcp_opts *got,
			const struct cs_tcp_opts *want, const char *name)
{
	ck_assert_msg(got->present == want->present, "%s: present 0x%x, want 0x%x",
		      name, (unsigned)got->present, (unsigned)want->present);
	ck_assert_uint_eq(got->mss, want->mss);
	ck_assert_uint_eq(got->wscale, want->wscale);
	ck_assert_uint_eq(got->ts_val, want->ts_val);
	ck_assert_uint_eq(got->ts_ecr, want->ts_ecr);
	ck_assert_uint_eq(got->sack_cnt, want->sack_cnt);
	for (unsigned i = 0; i < want->sack_cnt; i++) {
		ck_assert_uint_eq(got->sack[i][0], want->sack[i][0]);
		ck_assert_uint_eq(got->sack[i][1], want->sack[i][1]);
	}
}

START_TEST(test_tcp_option_values)
{
	const struct optval_case *c = &optval_cases[_i];
	struct pb_spec s;
	struct dec d;

	for (int v = 4; v <= 6; v += 2) {
		pb_spec_init(&s, v);
		pb_opt_raw(&s, c->opt, c->len);
		s.payload_len = 3;
		decode_spec(&s, &d);
		assert_why(&d, CS_SKIP_NONE, c->name);
		assert_opts(&d.pkt.opt, &c->want, c->name);
		ck_assert_uint_eq(d.pkt.tcp_hlen, 20 + c->len);
		ck_assert_uint_eq(d.pkt.payload_len, 3);
	}
}
END_TEST

/* The builder's option helpers write what the decoder reads back. */
START_TEST(test_tcp_option_helpers)
{
	static const uint32_t blocks[4][2] = {
		{ 10, 20 }, { 30, 40 }, { 50, 60 }, { 70, 80 },
	};
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	ck_assert(pb_opt_mss(&s, 8960));
	ck_assert(pb_opt_sack_perm(&s));
	ck_assert(pb_opt_ts(&s, 123456, 654321));
	ck_assert(pb_opt_nop(&s));
	ck_assert(pb_opt_wscale(&s, 14));
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "helpers");
	ck_assert_uint_eq(d.pkt.opt.present, CS_OPT_MSS | CS_OPT_SACK_PERM |
			  CS_OPT_TIMESTAMP | CS_OPT_WSCALE);
	ck_assert_uint_eq(d.pkt.opt.mss, 8960);
	ck_assert_uint_eq(d.pkt.opt.ts_val, 123456);
	ck_assert_uint_eq(d.pkt.opt.ts_ecr, 654321);
	ck_assert_uint_eq(d.pkt.opt.wscale, 14);

	pb_spec_init(&s, 6);
	ck_assert(pb_opt_nop(&s));
	ck_assert(pb_opt_nop(&s));
	ck_assert(pb_opt_sack(&s, blocks, 4));
	ck_assert(!pb_opt_ts(&s, 1, 2));	/* 36 + 10 > 40: refused */
	ck_assert(!pb_opt_sack(&s, blocks, 5));
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "four SACK blocks");
	ck_assert_uint_eq(d.pkt.opt.sack_cnt, 4);
	ck_assert_uint_eq(d.pkt.opt.sack[3][1], 80);
	ck_assert_uint_eq(d.pkt.tcp_hlen, 20 + 2 + 34);
}
END_TEST

struct badopt_case {
	const char *name;
	uint8_t len;
	uint8_t opt[PB_TCPOPT_MAX];
};

static const struct badopt_case badopt_cases[] = {
	{ "length 0", 4, { 2, 0, 0x05, 0xb4 } },
	{ "length 1", 4, { 1, 1, 3, 1 } },
	{ "unknown kind, length 1", 4, { 253, 1, 1, 1 } },
	{ "length past header", 4, { 2, 8, 0x05, 0xb4 } },
	{ "timestamps past header", 8, { 1, 1, 8, 10, 0, 0, 0, 1 } },
	{ "kind in the last byte", 4, { 1, 1, 1, 2 } },
	{ "MSS length 3", 4, { 2, 3, 0x05, 1 } },
	{ "MSS length 5", 8, { 2, 5, 0x05, 0xb4, 0, 1, 1, 1 } },
	{ "window scale length 2", 4, { 3, 2, 1, 1 } },
	{ "window scale length 4", 4, { 3, 4, 7, 0 } },
	{ "SACK permitted length 3", 4, { 4, 3, 0, 1 } },
	{ "SACK permitted length 4", 4, { 4, 4, 0, 0 } },
	{ "SACK length 2", 4, { 5, 2, 1, 1 } },
	{ "SACK length 6", 8, { 5, 6, 0, 0, 0, 1, 1, 1 } },
	{ "SACK length 9", 12, { 5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1 } },
	{ "SACK length 12", 12, { 5, 12 } },
	{ "timestamps length 8", 8, { 8, 8 } },
	{ "timestamps length 12", 12, { 8, 12 } },
	{ "MD5 length 10", 12, { 19, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1 } },
	{ "user timeout length 5", 8, { 28, 5, 0, 0, 0, 1, 1, 1 } },
	{ "TCP-AO length 3", 4, { 29, 3, 0, 1 } },
	{ "MPTCP length 2", 4, { 30, 2, 1, 1 } },
	{ "Fast Open length 3", 4, { 34, 3, 0, 1 } },
	{ "Fast Open length 20", 20, { 34, 20 } },
};

START_TEST(test_tcp_option_malformed)
{
	const struct badopt_case *c = &badopt_cases[_i];
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	pb_opt_raw(&s, c->opt, c->len);
	s.payload_len = 10;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_TCP_OPTION, c->name);
}
END_TEST

/*
 * A Linux SYN's options, cut by the snap length after k option bytes:
 * still analysed, with the options that were whole and the list marked
 * truncated; the data's length still comes from the IP header.
 */
START_TEST(test_tcp_options_cut)
{
	/* mss(0..4) sackOK(4..6) ts(6..16) nop(16) wscale(17..20) */
	static const struct { size_t end; uint16_t bit; } ends[] = {
		{ 4, CS_OPT_MSS }, { 6, CS_OPT_SACK_PERM },
		{ 16, CS_OPT_TIMESTAMP }, { 20, CS_OPT_WSCALE },
	};
	size_t k = (size_t)_i;
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	pb_opt_mss(&s, 1460);
	pb_opt_sack_perm(&s);
	pb_opt_ts(&s, 1, 0);
	pb_opt_nop(&s);
	pb_opt_wscale(&s, 7);
	s.payload_len = 10;
	decode_cut(&s, 14 + 20 + 20 + k, &d);
	ck_assert_msg(d.why == CS_SKIP_NONE, "cut after %zu option bytes: %s", k,
		      cs_skip_names[d.why]);

	uint16_t want = k < 20 ? CS_OPT_TRUNCATED : 0;
	for (size_t i = 0; i < N_OF(ends); i++)
		if (k >= ends[i].end)
			want |= ends[i].bit;
	ck_assert_msg(d.pkt.opt.present == want, "cut after %zu: present 0x%x, want 0x%x",
		      k, (unsigned)d.pkt.opt.present, (unsigned)want);
	ck_assert_uint_eq(d.pkt.info, CS_PKTF_TRUNCATED);
	ck_assert_uint_eq(d.pkt.tcp_hlen, 40);
	ck_assert_uint_eq(d.pkt.payload_len, 10);
	ck_assert_uint_eq(d.pkt.tcp_caplen, 20 + k);
}
END_TEST

/*
 * The snap length cuts the option list, but what was captured already
 * shows the option malformed: the verdict must not depend on the snap
 * length (the full frame of each case is bad_tcp_option).
 */
struct cutbad_case {
	const char *name;
	uint8_t len;
	uint8_t opt[8];
	size_t keep;		/* option bytes captured */
	enum cs_skip want;
};

static const struct cutbad_case cutbad_cases[] = {
	{ "length 1, cut after it", 4, { 2, 1, 0x05, 0xb4 }, 2,
	  CS_SKIP_BAD_TCP_OPTION },
	{ "length past the header, cut after it", 4, { 2, 8, 0x05, 0xb4 }, 2,
	  CS_SKIP_BAD_TCP_OPTION },
	{ "length past the header, cut in the body", 8,
	  { 1, 1, 1, 1, 8, 10, 0, 0 }, 7, CS_SKIP_BAD_TCP_OPTION },
	{ "MSS length 3, cut after it", 4, { 2, 3, 0x05, 1 }, 2,
	  CS_SKIP_BAD_TCP_OPTION },
	{ "window scale length 4, cut in the body", 4, { 3, 4, 7, 0 }, 3,
	  CS_SKIP_BAD_TCP_OPTION },
	/* Controls: whole options, cut by the snap length, are fine. */
	{ "MSS, cut after the length", 4, { 2, 4, 0x05, 0xb4 }, 2, CS_SKIP_NONE },
	{ "timestamps, cut in the body", 12, { 1, 1, 8, 10, 0, 0, 0, 1 }, 7,
	  CS_SKIP_NONE },
};

START_TEST(test_tcp_option_bad_when_cut)
{
	const struct cutbad_case *c = &cutbad_cases[_i];
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	pb_opt_raw(&s, c->opt, c->len);
	s.payload_len = 4;
	decode_cut(&s, 14 + 20 + 20 + c->keep, &d);
	assert_why(&d, c->want, c->name);
}
END_TEST

struct doff_case {
	const char *name;
	unsigned doff;
	uint8_t opt_len;	/* NOPs */
	size_t payload;
	enum cs_skip want;
};

static const struct doff_case doff_cases[] = {
	{ "doff 0", 0, 0, 0, CS_SKIP_BAD_TCP_HEADER },
	{ "doff 1", 1, 0, 0, CS_SKIP_BAD_TCP_HEADER },
	{ "doff 4", 4, 0, 8, CS_SKIP_BAD_TCP_HEADER },
	{ "doff 5", 5, 0, 0, CS_SKIP_NONE },
	{ "doff 6, 20-byte segment", 6, 0, 0, CS_SKIP_BAD_TCP_HEADER },
	{ "doff 15, 60-byte header", 15, 40, 0, CS_SKIP_NONE },
	{ "doff 15, 59-byte segment", 15, 36, 3, CS_SKIP_BAD_TCP_HEADER },
	{ "doff 15, 20-byte segment", 15, 0, 0, CS_SKIP_BAD_TCP_HEADER },
};

START_TEST(test_tcp_data_offset)
{
	const struct doff_case *c = &doff_cases[_i];
	static const uint8_t nops[PB_TCPOPT_MAX] = {
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	};
	struct pb_spec s;
	struct dec d;

	for (int v = 4; v <= 6; v += 2) {
		pb_spec_init(&s, v);
		pb_opt_raw(&s, nops, c->opt_len);
		s.tcp.doff = (uint8_t)c->doff;
		s.payload_len = c->payload;
		size_t n = build(&s);
		/* doff 0 means "computed" to the builder: patch it in. */
		size_t at = 14 + ip_hlen(v) + 12;
		frame[at] = (uint8_t)(c->doff << 4 | (frame[at] & 0x0f));
		decode_bytes(frame, n, n, s.dlt, &d);
		assert_why(&d, c->want, c->name);
		if (c->want == CS_SKIP_NONE)
			ck_assert_uint_eq(d.pkt.tcp_hlen, c->doff * 4);
	}
}
END_TEST

static const uint16_t flag_cases[] = {
	CS_TH_FIN, CS_TH_SYN, CS_TH_RST, CS_TH_PSH, CS_TH_ACK, CS_TH_URG,
	CS_TH_ECE, CS_TH_CWR, CS_TH_AE, CS_TH_SYN | CS_TH_ACK,
	CS_TH_SYN | CS_TH_ECE | CS_TH_CWR | CS_TH_AE,	/* AccECN SYN */
	CS_TH_FIN | CS_TH_PSH | CS_TH_URG,		/* "Xmas" */
	0, 0x1ff,
};

START_TEST(test_tcp_flags)
{
	uint16_t want = flag_cases[_i];
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, _i % 2 ? 6 : 4);
	s.tcp.flags = want;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "flags");
	ck_assert_uint_eq(d.pkt.flags, want);

	/* The three reserved bits are not flags. */
	s.tcp.flags = (uint16_t)(want | 0x0e00);
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "flags with reserved bits");
	ck_assert_uint_eq(d.pkt.flags, want);
}
END_TEST

START_TEST(test_tcp_fields)
{
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	pb_addr(s.src, "192.0.2.200");
	pb_addr(s.dst, "198.51.100.7");
	s.ttl = 1;
	s.tcp.sport = 65535;
	s.tcp.dport = 0;
	s.tcp.seq = 0xfffffffe;
	s.tcp.ack = 0x80000001;
	s.tcp.flags = CS_TH_ACK | CS_TH_URG;
	s.tcp.win = 0;
	s.tcp.urg = 0x1234;
	s.payload_len = 1;
	size_t n = build(&s);
	decode_bytes(frame, n, n, s.dlt, &d);
	assert_why(&d, CS_SKIP_NONE, "fields");
	assert_addr(&d.pkt.src, "192.0.2.200");
	assert_addr(&d.pkt.dst, "198.51.100.7");
	ck_assert(cs_addr_is_v4(&d.pkt.src));
	ck_assert_uint_eq(d.pkt.ttl, 1);
	ck_assert_uint_eq(d.pkt.sport, 65535);
	ck_assert_uint_eq(d.pkt.dport, 0);
	ck_assert_uint_eq(d.pkt.seq, 0xfffffffe);
	ck_assert_uint_eq(d.pkt.ack, 0x80000001);
	ck_assert_uint_eq(d.pkt.win, 0);
	ck_assert_uint_eq(d.pkt.urg, 0x1234);
	ck_assert_uint_eq(d.pkt.tcp_hlen, 20);
	ck_assert_uint_eq(d.pkt.payload_len, 1);
	ck_assert_uint_eq(d.pkt.ip_len, 41);
	ck_assert_uint_eq(d.pkt.wirelen, n);
	ck_assert_int_eq(d.tcp_off, 34);
	ck_assert_uint_eq(d.pkt.tcp_caplen, 21);

	pb_spec_init(&s, 6);
	pb_addr(s.src, "fe80::1");
	pb_addr(s.dst, "ff02::1:ff00:2");
	s.ttl = 255;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "IPv6 fields");
	assert_addr(&d.pkt.src, "fe80::1");
	assert_addr(&d.pkt.dst, "ff02::1:ff00:2");
	ck_assert(!cs_addr_is_v4(&d.pkt.src));
	ck_assert_uint_eq(d.pkt.ttl, 255);
}
END_TEST

/* ==== ICMP errors ========================================================= */

/* The segment an error quotes: 10.0.0.1:40000 -> 10.0.0.2:80 (v6 alike),
 * an ACK with data, so that every quoted field is distinct. */
static void quoted_segment(struct pb_spec *q, int ip_ver)
{
	pb_spec_init(q, ip_ver);
	q->ttl = 3;
	q->tcp.seq = 0x11223344;
	q->tcp.ack = 0x55667788;
	q->tcp.flags = CS_TH_ACK | CS_TH_PSH;
	pb_opt_ts(q, 1, 2);
	q->payload_len = 100;
}

/* An error from a router (192.0.2.254, 2001:db8:ff::1) back to the sender. */
static void icmp_error(struct pb_spec *s, int ip_ver, uint8_t type,
		       const struct pb_spec *quote)
{
	pb_spec_init(s, ip_ver);
	pb_addr(s->src, ip_ver == 4 ? "192.0.2.254" : "2001:db8:ff::1");
	pb_addr(s->dst, ip_ver == 4 ? "10.0.0.1" : "2001:db8::1");
	s->ttl = 250;
	s->l4 = PB_L4_ICMP;
	s->icmp.type = type;
	s->icmp.code = 1;
	s->icmp.quote = quote;
}

static void assert_quoted(const struct dec *d, int ip_ver, bool whole_tcp)
{
	const struct cs_pkt *p = &d->pkt;

	ck_assert_uint_eq(p->kind, CS_PKT_ICMP_ERR);
	ck_assert_uint_eq(p->ip_ver, ip_ver);
	ck_assert_uint_eq(p->ttl, 250);		/* the outer header's */
	assert_addr(&p->src, ip_ver == 4 ? "10.0.0.1" : "2001:db8::1");
	assert_addr(&p->dst, ip_ver == 4 ? "10.0.0.2" : "2001:db8::2");
	ck_assert_uint_eq(p->sport, 40000);
	ck_assert_uint_eq(p->dport, 80);
	ck_assert_uint_eq(p->seq, 0x11223344);
	ck_assert_uint_eq(p->ack, whole_tcp ? 0x55667788 : 0);
	ck_assert_uint_eq(p->flags, whole_tcp ? (CS_TH_ACK | CS_TH_PSH) : 0);
	ck_assert_uint_eq(p->icmp.code, 1);
	assert_addr(&p->icmp.from, ip_ver == 4 ? "192.0.2.254" : "2001:db8:ff::1");
	assert_addr(&p->icmp.to, ip_ver == 4 ? "10.0.0.1" : "2001:db8::1");
}

START_TEST(test_icmp4_unreachable)
{
	struct pb_spec s, q;
	struct dec d;

	quoted_segment(&q, 4);
	icmp_error(&s, 4, 3, &q);
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "ICMP unreachable, whole quote");
	assert_quoted(&d, 4, true);
	ck_assert_uint_eq(d.pkt.icmp.type, 3);

	s.icmp.quote_len = 28;		/* RFC 792: IP header + 8 bytes */
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "ICMP unreachable, 8-byte quote");
	assert_quoted(&d, 4, false);

	/* Quoted IP options move the TCP header; the quote still finds it. */
	q.ip_opt[0] = 0x94;
	q.ip_opt[1] = 4;
	q.ip_opt_len = 4;
	s.icmp.quote_len = 32;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "quote with IP options");
	assert_quoted(&d, 4, false);
}
END_TEST

START_TEST(test_icmp6_unreachable)
{
	struct pb_spec s, q;
	struct dec d;

	quoted_segment(&q, 6);
	icmp_error(&s, 6, 1, &q);
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "ICMPv6 unreachable");
	assert_quoted(&d, 6, true);
	ck_assert_uint_eq(d.pkt.icmp.type, 1);

	/* Quoted extension headers are walked to the TCP header. */
	pb_ext_add(&q, PB_EXT_DSTOPTS)->hdr_len = 1;
	pb_ext_add(&q, PB_EXT_FRAGMENT)->frag_more = true;
	s.icmp.quote_len = 40 + 16 + 8 + 8;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "quote with extension headers");
	assert_quoted(&d, 6, false);

	/* The same error captured on the `any` device. */
	s.dlt = CS_DLT_LINUX_SLL2;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NONE, "ICMPv6 over SLL2");
}
END_TEST

struct icmp_type_case {
	int ip_ver;
	uint8_t type;
	enum cs_skip want;
};

static const struct icmp_type_case icmp_type_cases[] = {
	{ 4, 3, CS_SKIP_NONE },		/* destination unreachable */
	{ 4, 4, CS_SKIP_NONE },		/* source quench */
	{ 4, 5, CS_SKIP_NONE },		/* redirect */
	{ 4, 11, CS_SKIP_NONE },	/* time exceeded */
	{ 4, 12, CS_SKIP_NONE },	/* parameter problem */
	{ 4, 0, CS_SKIP_NOT_TCP },	/* echo reply */
	{ 4, 8, CS_SKIP_NOT_TCP },	/* echo request */
	{ 4, 9, CS_SKIP_NOT_TCP },	/* router advertisement */
	{ 4, 13, CS_SKIP_NOT_TCP },	/* timestamp */
	{ 6, 1, CS_SKIP_NONE },		/* destination unreachable */
	{ 6, 2, CS_SKIP_NONE },		/* packet too big */
	{ 6, 3, CS_SKIP_NONE },		/* time exceeded */
	{ 6, 4, CS_SKIP_NONE },		/* parameter problem */
	{ 6, 0, CS_SKIP_NOT_TCP },
	{ 6, 128, CS_SKIP_NOT_TCP },	/* echo request */
	{ 6, 129, CS_SKIP_NOT_TCP },	/* echo reply */
	{ 6, 135, CS_SKIP_NOT_TCP },	/* neighbour solicitation */
};

START_TEST(test_icmp_types)
{
	const struct icmp_type_case *c = &icmp_type_cases[_i];
	struct pb_spec s, q;
	struct dec d;
	char name[32];

	quoted_segment(&q, c->ip_ver);
	icmp_error(&s, c->ip_ver, c->type, &q);
	s.icmp.code = 0;
	decode_spec(&s, &d);
	snprintf(name, sizeof name, "ICMPv%d type %u", c->ip_ver, c->type);
	assert_why(&d, c->want, name);
	if (c->want == CS_SKIP_NONE) {
		ck_assert_uint_eq(d.pkt.icmp.type, c->type);
		ck_assert_uint_eq(d.pkt.icmp.code, 0);
	}
}
END_TEST

struct quote_case {
	int ip_ver;
	bool none;		/* no quote at all */
	size_t quote_len;	/* 0: the whole datagram */
	enum cs_skip want;
	bool whole_tcp;		/* ack and flags quoted too */
};

static const struct quote_case quote_cases[] = {
	{ 4, true, 0, CS_SKIP_BAD_ICMP, false },
	{ 4, false, 1, CS_SKIP_BAD_ICMP, false },
	{ 4, false, 19, CS_SKIP_BAD_ICMP, false },
	{ 4, false, 20, CS_SKIP_BAD_ICMP, false },
	{ 4, false, 27, CS_SKIP_BAD_ICMP, false },
	{ 4, false, 28, CS_SKIP_NONE, false },
	{ 4, false, 33, CS_SKIP_NONE, false },
	{ 4, false, 34, CS_SKIP_NONE, true },
	{ 4, false, 0, CS_SKIP_NONE, true },
	{ 6, true, 0, CS_SKIP_BAD_ICMP, false },
	{ 6, false, 39, CS_SKIP_BAD_ICMP, false },
	{ 6, false, 40, CS_SKIP_BAD_ICMP, false },
	{ 6, false, 47, CS_SKIP_BAD_ICMP, false },
	{ 6, false, 48, CS_SKIP_NONE, false },
	{ 6, false, 54, CS_SKIP_NONE, true },
	{ 6, false, 0, CS_SKIP_NONE, true },
};

START_TEST(test_icmp_quote_length)
{
	const struct quote_case *c = &quote_cases[_i];
	struct pb_spec s, q;
	struct dec d;
	char name[48];

	quoted_segment(&q, c->ip_ver);
	icmp_error(&s, c->ip_ver, c->ip_ver == 4 ? 3 : 1, c->none ? NULL : &q);
	s.icmp.quote_len = c->quote_len;
	decode_spec(&s, &d);
	snprintf(name, sizeof name, "v%d quote of %zu bytes%s", c->ip_ver,
		 c->quote_len, c->none ? " (none)" : "");
	assert_why(&d, c->want, name);
	if (c->want == CS_SKIP_NONE)
		assert_quoted(&d, c->ip_ver, c->whole_tcp);
}
END_TEST

/* Errors about something other than a whole TCP header. */
START_TEST(test_icmp_quote_not_tcp)
{
	struct pb_spec s, q;
	struct dec d;

	for (int v = 4; v <= 6; v += 2) {
		quoted_segment(&q, v);
		q.l4 = PB_L4_UDP;
		icmp_error(&s, v, v == 4 ? 3 : 1, &q);
		decode_spec(&s, &d);
		assert_why(&d, CS_SKIP_NOT_TCP, "quoting UDP");

		quoted_segment(&q, v);
		q.l4 = PB_L4_ICMP;
		q.icmp.type = v == 4 ? 8 : 128;
		decode_spec(&s, &d);
		assert_why(&d, CS_SKIP_NOT_TCP, "quoting an echo request");
	}

	quoted_segment(&q, 4);
	q.frag_off = 185;
	icmp_error(&s, 4, 11, &q);
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_IP_FRAGMENT, "quoting a later fragment");

	quoted_segment(&q, 6);
	pb_ext_add(&q, PB_EXT_FRAGMENT)->frag_off = 185;
	icmp_error(&s, 6, 3, &q);
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_IP_FRAGMENT, "quoting a later IPv6 fragment");
}
END_TEST

START_TEST(test_icmp_malformed)
{
	struct pb_spec s, q;
	struct dec d;

	quoted_segment(&q, 6);
	icmp_error(&s, 4, 3, &q);
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_ICMP, "ICMPv4 quoting IPv6");

	quoted_segment(&q, 4);
	icmp_error(&s, 6, 1, &q);
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_ICMP, "ICMPv6 quoting IPv4");

	quoted_segment(&q, 4);
	q.len_set = true;
	q.len_field = 19;
	icmp_error(&s, 4, 3, &q);
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_ICMP, "quoted total length below IHL");

	quoted_segment(&q, 4);
	q.ip_opt[0] = 0x94;
	q.ip_opt[1] = 9;	/* past the quoted header */
	q.ip_opt_len = 4;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_ICMP, "quoted IP options malformed");

	quoted_segment(&q, 6);
	pb_ext_add(&q, PB_EXT_DSTOPTS)->hdr_len = 4;	/* 40 bytes */
	icmp_error(&s, 6, 1, &q);
	s.icmp.quote_len = 40 + 16;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_ICMP, "quoted extension header cut");

	/* An ICMP header shorter than 8 bytes on the wire. */
	quoted_segment(&q, 4);
	icmp_error(&s, 4, 3, &q);
	s.len_set = true;
	s.len_field = 20 + 4;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_BAD_ICMP, "ICMP header of 4 bytes");
}
END_TEST

/* ICMP in IPv6 and ICMPv6 in IPv4 are nobody's errors. */
START_TEST(test_icmp_wrong_family)
{
	struct pb_spec s, q;
	struct dec d;

	quoted_segment(&q, 4);
	icmp_error(&s, 4, 3, &q);
	s.l4 = PB_L4_RAW;
	s.proto = 58;
	s.payload_len = 8 + 48;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NOT_TCP, "ICMPv6 in IPv4");

	pb_spec_init(&s, 6);
	s.l4 = PB_L4_RAW;
	s.proto = 1;
	s.payload_len = 8 + 48;
	decode_spec(&s, &d);
	assert_why(&d, CS_SKIP_NOT_TCP, "ICMP in IPv6");
}
END_TEST

/* ==== the truncation sweep ================================================ */

/* Valid frames that reach every layer the decoder has. */
static void sweep_frame(int which, struct pb_spec *s, struct pb_spec *q)
{
	static const uint32_t blocks[2][2] = { { 1, 2 }, { 3, 4 } };

	switch (which) {
	case 0:		/* VLAN, IPv4 with options, TCP with options and data */
		pb_spec_init(s, 4);
		pb_vlan_add(s, 0x88a8, 10);
		pb_vlan_add(s, 0x8100, 20);
		s->ip_opt[0] = 0x94;
		s->ip_opt[1] = 4;
		s->ip_opt_len = 4;
		pb_opt_mss(s, 1460);
		pb_opt_sack_perm(s);
		pb_opt_ts(s, 100, 200);
		pb_opt_nop(s);
		pb_opt_wscale(s, 7);
		s->payload_len = 12;
		break;
	case 1:		/* IPv6 with a chain of extension headers */
		pb_spec_init(s, 6);
		pb_ext_add(s, PB_EXT_HOPOPTS);
		pb_ext_add(s, PB_EXT_DSTOPTS)->hdr_len = 1;
		pb_ext_add(s, PB_EXT_ROUTING);
		pb_ext_add(s, PB_EXT_FRAGMENT)->frag_more = true;
		pb_ext_add(s, PB_EXT_AH);
		s->tcp.flags = CS_TH_ACK;
		pb_opt_nop(s);
		pb_opt_nop(s);
		pb_opt_ts(s, 100, 200);
		pb_opt_nop(s);
		pb_opt_nop(s);
		pb_opt_sack(s, blocks, 2);
		s->payload_len = 12;
		break;
	case 2:		/* ICMP unreachable quoting IPv4 + TCP */
		quoted_segment(q, 4);
		q->ip_opt[0] = 1;
		q->ip_opt_len = 4;
		icmp_error(s, 4, 3, q);
		s->icmp.quote_len = 24 + 32 + 8;
		break;
	case 3:		/* ICMPv6 too big, quoting IPv6 + dst options + TCP, SLL2 */
		quoted_segment(q, 6);
		pb_ext_add(q, PB_EXT_DSTOPTS);
		icmp_error(s, 6, 2, q);
		s->icmp.rest = 1280;
		s->dlt = CS_DLT_LINUX_SLL2;
		break;
	default:	/* IPv6 on BSD loopback, written big-endian */
		pb_spec_init(s, 6);
		s->dlt = CS_DLT_NULL;
		s->null_af = 30;
		s->null_be = true;
		pb_opt_mss(s, 16344);
		s->payload_len = 3;
		break;
	}
}

#define SWEEP_FRAMES 5

/*
 * With the wire length kept, every cut is the snap length's: the answer is
 * "analysed" or "truncated", never a malformed-header reason, and once
 * analysed, analysed for every longer caplen.  With wirelen == caplen the
 * frame really is that short: any named reason but "analysed" and
 * "truncated", except at the full length.  A record of 0 bytes is a
 * bad_record either way.
 */
START_TEST(test_truncation_sweep)
{
	int which = _i / 2;
	bool keep_wirelen = _i % 2 == 0;
	struct pb_spec s, q;
	struct dec full, d;
	bool analysed = false;

	sweep_frame(which, &s, &q);
	size_t n = build(&s);
	uint8_t *orig = malloc(n);
	ck_assert_ptr_nonnull(orig);
	memcpy(orig, frame, n);
	decode_bytes(orig, n, n, s.dlt, &full);
	assert_why(&full, CS_SKIP_NONE, "the whole frame");

	for (size_t cap = 0; cap <= n; cap++) {
		decode_bytes(orig, cap, keep_wirelen ? n : cap, s.dlt, &d);
		ck_assert_ptr_nonnull(cs_skip_names[d.why]);
		if (cap == n) {
			ck_assert_int_eq(d.why, CS_SKIP_NONE);
		} else if (cap == 0) {
			/* No bytes at all: the record, not the packet, is bad. */
			ck_assert_int_eq(d.why, CS_SKIP_BAD_RECORD);
		} else if (keep_wirelen) {
			ck_assert_msg(d.why == CS_SKIP_NONE || d.why == CS_SKIP_TRUNCATED,
				      "frame %d cut to %zu of %zu: %s", which, cap, n,
				      cs_skip_names[d.why]);
			ck_assert_msg(!analysed || d.why == CS_SKIP_NONE,
				      "frame %d: analysed at a shorter caplen, not at %zu",
				      which, cap);
		} else {
			ck_assert_msg(d.why != CS_SKIP_NONE && d.why != CS_SKIP_TRUNCATED,
				      "frame %d, %zu bytes on the wire: %s", which, cap,
				      cs_skip_names[d.why]);
		}
		if (d.why != CS_SKIP_NONE)
			continue;
		analysed = true;
		ck_assert_uint_eq(!!(d.pkt.info & CS_PKTF_TRUNCATED),
				  keep_wirelen && cap < n);
		ck_assert_uint_eq(d.pkt.kind, full.pkt.kind);
		ck_assert_uint_eq(d.pkt.sport, full.pkt.sport);
		ck_assert_uint_eq(d.pkt.dport, full.pkt.dport);
		ck_assert_uint_eq(d.pkt.seq, full.pkt.seq);
		ck_assert_uint_eq(d.pkt.ip_len, full.pkt.ip_len);
		ck_assert_uint_eq(d.pkt.payload_len, full.pkt.payload_len);
		ck_assert_mem_eq(&d.pkt.src, &full.pkt.src, sizeof d.pkt.src);
		ck_assert_mem_eq(&d.pkt.dst, &full.pkt.dst, sizeof d.pkt.dst);
	}
	free(orig);
}
END_TEST

/* RFC 1071 the slow way: big-endian 16-bit words, an odd last byte the
 * high half of a word padded with zero, carries folded at the end. */
static uint16_t rfc1071_reference(const uint8_t *p, size_t len, uint16_t acc_in)
{
	uint64_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len % 2)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum += acc_in;
	return (uint16_t)((sum & 0xffff) + (sum >> 16));
}

/* cs_inet_sum takes words 32, 8, 4, 2 and 1 bytes at a time: every length
 * and starting alignment, all-ones and random bytes, agree with the
 * reference. */
START_TEST(test_inet_sum_every_length)
{
	static uint8_t buf[200];
	uint64_t x = 88172645463325252ull;	/* xorshift64 */

	for (int fill = 0; fill < 2; fill++)
		for (size_t at = 0; at < 8; at++)
			for (size_t len = 0; len + at <= sizeof buf; len++) {
				for (size_t i = 0; i < sizeof buf; i++) {
					x ^= x << 13, x ^= x >> 7, x ^= x << 17;
					buf[i] = fill ? (uint8_t)x : 0xff;
				}
				uint16_t acc = (uint16_t)(x >> 40);
				ck_assert_uint_eq(cs_inet_sum(buf + at, len, acc),
						  rfc1071_reference(buf + at, len, acc));
			}
}
END_TEST

/* IPv4 addresses are formatted without inet_ntop (packet.c): the same
 * text as inet_ntop for every octet value in every place, and nothing
 * (an empty string) when the buffer cannot hold it and its NUL. */
START_TEST(test_addr_format_v4_as_inet_ntop)
{
	uint64_t x = 88172645463325252ull;	/* xorshift64 */

	for (int n = 0; n < 4 * 256 + 2000; n++) {
		struct cs_addr a = { { 0 } };
		uint8_t *v4 = a.b + 12;
		a.b[10] = a.b[11] = 0xff;	/* IPv4-mapped: cs_addr_is_v4 */
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(v4, &x, 4);
		if (n < 4 * 256)	/* each value in each place, the rest 0 */
			memset(v4, 0, 4), v4[n / 256] = (uint8_t)n;
		char want[INET_ADDRSTRLEN], buf[CS_ADDR_STRLEN];
		ck_assert_ptr_nonnull(inet_ntop(AF_INET, v4, want, sizeof want));
		ck_assert(cs_addr_is_v4(&a));
		ck_assert_str_eq(cs_addr_format(&a, buf, sizeof buf), want);
		for (unsigned len = 1; len <= strlen(want) + 1; len++) {
			memset(buf, 'x', sizeof buf);
			cs_addr_format(&a, buf, len);
			ck_assert_str_eq(buf, len > strlen(want) ? want : "");
		}
	}
}
END_TEST

Suite *decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc = tcase_create("link");

	tcase_add_loop_test(tc, test_link_types, 0, (int)N_OF(link_cases));
	tcase_add_test(tc, test_unknown_linktype);
	tcase_add_test(tc, test_linktype_names);
	tcase_add_loop_test(tc, test_vlan_stacks, 0, (int)N_OF(vlan_cases));
	tcase_add_loop_test(tc, test_not_ip, 0, (int)N_OF(not_ip_cases));
	tcase_add_test(tc, test_ip_version_mismatch);
	tcase_add_test(tc, test_link_header_short);
	tcase_add_test(tc, test_bad_record);
	tcase_add_test(tc, test_view_reset);
	suite_add_tcase(s, tc);

	tc = tcase_create("ipv4");
	tcase_add_loop_test(tc, test_ipv4_options, 0, (int)N_OF(ipopt_cases));
	tcase_add_test(tc, test_ipv4_bad_version_ihl);
	tcase_add_test(tc, test_inet_sum_every_length);
	tcase_add_test(tc, test_addr_format_v4_as_inet_ntop);
	tcase_add_loop_test(tc, test_ipv4_fragments, 0, (int)N_OF(frag_cases));
	tcase_add_test(tc, test_ipv4_total_length_zero);
	tcase_add_loop_test(tc, test_ipv4_total_length, 0, (int)N_OF(total_cases));
	tcase_add_test(tc, test_ethernet_padding);
	tcase_add_test(tc, test_caplen_below_wirelen);
	suite_add_tcase(s, tc);

	tc = tcase_create("ipv6");
	tcase_add_loop_test(tc, test_ipv6_extension_chains, 0, (int)N_OF(ext_cases));
	tcase_add_test(tc, test_ipv6_extension_limit);
	tcase_add_test(tc, test_ipv6_extension_past_payload);
	tcase_add_test(tc, test_ipv6_payload_length);
	tcase_add_loop_test(tc, test_ipv6_not_tcp, 0, (int)N_OF(v6_not_tcp_cases));
	tcase_add_test(tc, test_ipv6_jumbo);
	suite_add_tcase(s, tc);

	tc = tcase_create("tcp");
	tcase_add_loop_test(tc, test_tcp_option_values, 0, (int)N_OF(optval_cases));
	tcase_add_test(tc, test_tcp_option_helpers);
	tcase_add_loop_test(tc, test_tcp_option_malformed, 0, (int)N_OF(badopt_cases));
	tcase_add_loop_test(tc, test_tcp_options_cut, 0, 21);
	tcase_add_loop_test(tc, test_tcp_option_bad_when_cut, 0, (int)N_OF(cutbad_cases));
	tcase_add_loop_test(tc, test_tcp_data_offset, 0, (int)N_OF(doff_cases));
	tcase_add_loop_test(tc, test_tcp_flags, 0, (int)N_OF(flag_cases));
	tcase_add_test(tc, test_tcp_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("icmp");
	tcase_add_test(tc, test_icmp4_unreachable);
	tcase_add_test(tc, test_icmp6_unreachable);
	tcase_add_loop_test(tc, test_icmp_types, 0, (int)N_OF(icmp_type_cases));
	tcase_add_loop_test(tc, test_icmp_quote_length, 0, (int)N_OF(quote_cases));
	tcase_add_test(tc, test_icmp_quote_not_tcp);
	tcase_add_test(tc, test_icmp_malformed);
	tcase_add_test(tc, test_icmp_wrong_family);
	suite_add_tcase(s, tc);

	tc = tcase_create("sweep");
	tcase_add_loop_test(tc, test_truncation_sweep, 0, SWEEP_FRAMES * 2);
	suite_add_tcase(s, tc);
	return s;
}
