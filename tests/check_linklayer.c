/*
 * check_linklayer.c — capture/link.c: the link layers beyond Ethernet II.
 *
 * PPPoE (alone and in QinQ), 802.3 LLC/SNAP, FDDI, PPP and PPP in HDLC
 * framing, Cisco HDLC, NFLOG, 802.11 (bare and under radiotap) and VN-Tag,
 * each built by tests/pktbuild.c around the default segment and decoded
 * from a heap copy of exactly caplen bytes (a read past the capture is an
 * ASan report).  The expected answers are the builder's bytes as tcpdump
 * 4.99 reads them (`mkseed built` writes the same frames as pcap files).
 * Then the damaged variants, a truncation sweep over every link type, and
 * whole connections read from pcap files in memory through the run
 * driver: the inner connection in conn.log and its tunnel in the JSON
 * report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/run/driver.h"
#include "capture/decode.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"

#define FRAME_CAP 4096
#define N_OF(a) (sizeof (a) / sizeof (a)[0])

static uint8_t frame[FRAME_CAP];

struct dec {
	enum cs_skip why;
	struct cs_pkt pkt;
	long tcp_off;		/* where pkt.tcp pointed, as an offset */
};

static enum cs_skip decode_bytes(const uint8_t *bytes, size_t caplen,
				 size_t wirelen, int dlt, struct dec *d)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, bytes, caplen);
	struct cs_frame f = {
		.ts_us = 1700000000123456u,
		.caplen = (uint32_t)caplen,
		.wirelen = (uint32_t)wirelen,
		.dlt = dlt,
		.bytes = copy,
	};
	d->why = cs_decode(&f, &d->pkt);
	d->tcp_off = d->pkt.tcp ? (long)(d->pkt.tcp - copy) : -1;
	if (d->why == CS_SKIP_NONE && d->pkt.tcp)
		ck_assert_uint_le((size_t)d->tcp_off + d->pkt.tcp_caplen, caplen);
	free(copy);
	ck_assert_int_lt(d->why, CS_SKIP_MAX);
	ck_assert_int_lt(d->pkt.tunnel.kind, CS_TUN_MAX);
	return d->why;
}

static size_t build(const struct pb_spec *s)
{
	size_t n = pb_build(s, frame, sizeof frame);
	ck_assert_msg(n > 0, "pb_build could not build the frame");
	return n;
}

static void assert_why(const struct dec *d, enum cs_skip want, const char *name)
{
	ck_assert_msg(d->why == want, "%s: got %s, want %s", name,
		      cs_skip_names[d->why], cs_skip_names[want]);
}

static void assert_addr(const struct cs_addr *a, const char *want)
{
	char buf[CS_ADDR_STRLEN];
	ck_assert_str_eq(cs_addr_format(a, buf, sizeof buf), want);
}

/* ==== every link layer, decoded ============================================ */

/* The default segment of pb_spec_init with an MSS option and 5 bytes of
 * data, carried by one link layer; setup sets the spec's link fields. */
struct link_case {
	const char *name;
	int dlt;
	int ip_ver;
	void (*setup)(struct pb_spec *s);
	unsigned vlans;		/* tags the frame carries, outermost 0x88a8 */
	enum cs_tunnel_kind tunnel;
	uint32_t id;
};

static void pppoe(struct pb_spec *s) { s->pppoe = true; s->pppoe_session = 0x1234; }
static void pppoe_pfc(struct pb_spec *s) { pppoe(s); s->ppp_pfc = true; }
static void llc_snap(struct pb_spec *s) { s->llc_snap = true; }
static void llc_snap_padded(struct pb_spec *s) { s->llc_snap = true; s->trailer_len = 20; }
static void vntag(struct pb_spec *s) { s->vntag = true; s->vntag_tag = 0x80120034; }
static void acfc(struct pb_spec *s) { s->ppp_acfc = true; }
static void acfc_pfc(struct pb_spec *s) { s->ppp_acfc = true; s->ppp_pfc = true; }
static void chdlc(struct pb_spec *s) { s->chdlc = true; }
static void fddi_sync(struct pb_spec *s) { s->fddi_fc = 0xd4; }
static void to_ds(struct pb_spec *s) { s->wlan_ds = 1; }
static void from_ds(struct pb_spec *s) { s->wlan_ds = 2; }
static void wds(struct pb_spec *s) { s->wlan_ds = 3; }
static void qos(struct pb_spec *s) { s->wlan_qos = true; }
static void qos_wds(struct pb_spec *s) { s->wlan_qos = true; s->wlan_ds = 3; }
static void qos_htc(struct pb_spec *s) { s->wlan_qos = true; s->wlan_htc = true; }
static void rt_ext2(struct pb_spec *s) { s->rt_ext = 2; s->wlan_qos = true; }
static void rt_pad(struct pb_spec *s) { s->rt_flags = 0x20; s->wlan_qos = true; }
static void rt_fcs(struct pb_spec *s) { s->rt_flags = 0x10; s->wlan_ds = 2; }

static const struct link_case link_cases[] = {
	{ "PPPoE", CS_DLT_EN10MB, 4, pppoe, 0, CS_TUN_PPPOE, 0x1234 },
	{ "PPPoE, IPv6", CS_DLT_EN10MB, 6, pppoe, 0, CS_TUN_PPPOE, 0x1234 },
	{ "PPPoE, compressed protocol", CS_DLT_EN10MB, 4, pppoe_pfc, 0, CS_TUN_PPPOE, 0x1234 },
	{ "PPPoE in QinQ", CS_DLT_EN10MB, 4, pppoe, 2, CS_TUN_PPPOE, 0x1234 },
	{ "PPPoE in QinQ, IPv6", CS_DLT_EN10MB, 6, pppoe, 2, CS_TUN_PPPOE, 0x1234 },
	{ "PPPoE on Linux cooked", CS_DLT_LINUX_SLL, 4, pppoe, 0, CS_TUN_PPPOE, 0x1234 },
	{ "PPPoE on Linux cooked v2", CS_DLT_LINUX_SLL2, 6, pppoe, 0, CS_TUN_PPPOE, 0x1234 },
	{ "802.3 LLC/SNAP", CS_DLT_EN10MB, 4, llc_snap, 0, CS_TUN_NONE, 0 },
	{ "802.3 LLC/SNAP, IPv6", CS_DLT_EN10MB, 6, llc_snap, 0, CS_TUN_NONE, 0 },
	{ "802.3 LLC/SNAP, padded", CS_DLT_EN10MB, 4, llc_snap_padded, 0, CS_TUN_NONE, 0 },
	{ "802.3 LLC/SNAP, VLAN", CS_DLT_EN10MB, 4, llc_snap, 1, CS_TUN_NONE, 0 },
	{ "VN-Tag", CS_DLT_EN10MB, 4, vntag, 0, CS_TUN_NONE, 0 },
	{ "VN-Tag, QinQ", CS_DLT_EN10MB, 6, vntag, 2, CS_TUN_NONE, 0 },
	{ "FDDI", CS_DLT_FDDI, 4, NULL, 0, CS_TUN_NONE, 0 },
	{ "FDDI, IPv6", CS_DLT_FDDI, 6, NULL, 0, CS_TUN_NONE, 0 },
	{ "FDDI, synchronous LLC", CS_DLT_FDDI, 4, fddi_sync, 0, CS_TUN_NONE, 0 },
	{ "PPP, HDLC-like", CS_DLT_PPP, 4, NULL, 0, CS_TUN_NONE, 0 },
	{ "PPP, IPv6", CS_DLT_PPP, 6, NULL, 0, CS_TUN_NONE, 0 },
	{ "PPP, no address/control", CS_DLT_PPP, 4, acfc, 0, CS_TUN_NONE, 0 },
	{ "PPP, both compressed", CS_DLT_PPP, 6, acfc_pfc, 0, CS_TUN_NONE, 0 },
	{ "PPP in HDLC framing", CS_DLT_PPP_SERIAL, 4, NULL, 0, CS_TUN_NONE, 0 },
	{ "PPP in HDLC framing, IPv6", CS_DLT_PPP_SERIAL, 6, NULL, 0, CS_TUN_NONE, 0 },
	{ "PPP serial, no address/control", CS_DLT_PPP_SERIAL, 4, acfc, 0, CS_TUN_NONE, 0 },
	{ "Cisco HDLC on a PPP serial link", CS_DLT_PPP_SERIAL, 6, chdlc, 0, CS_TUN_NONE, 0 },
	{ "Cisco HDLC", CS_DLT_C_HDLC, 4, NULL, 0, CS_TUN_NONE, 0 },
	{ "NFLOG", CS_DLT_NFLOG, 4, NULL, 0, CS_TUN_NONE, 0 },
	{ "NFLOG, IPv6", CS_DLT_NFLOG, 6, NULL, 0, CS_TUN_NONE, 0 },
	{ "802.11 data", CS_DLT_IEEE802_11, 4, NULL, 0, CS_TUN_NONE, 0 },
	{ "802.11 to DS", CS_DLT_IEEE802_11, 6, to_ds, 0, CS_TUN_NONE, 0 },
	{ "802.11 from DS", CS_DLT_IEEE802_11, 4, from_ds, 0, CS_TUN_NONE, 0 },
	{ "802.11 four addresses", CS_DLT_IEEE802_11, 4, wds, 0, CS_TUN_NONE, 0 },
	{ "802.11 QoS data", CS_DLT_IEEE802_11, 4, qos, 0, CS_TUN_NONE, 0 },
	{ "802.11 QoS, four addresses", CS_DLT_IEEE802_11, 6, qos_wds, 0, CS_TUN_NONE, 0 },
	{ "802.11 QoS, HT control", CS_DLT_IEEE802_11, 4, qos_htc, 0, CS_TUN_NONE, 0 },
	{ "radiotap", CS_DLT_IEEE802_11_RADIO, 4, NULL, 0, CS_TUN_NONE, 0 },
	{ "radiotap, IPv6, QoS", CS_DLT_IEEE802_11_RADIO, 6, qos, 0, CS_TUN_NONE, 0 },
	{ "radiotap, 3 presence words", CS_DLT_IEEE802_11_RADIO, 4, rt_ext2, 0, CS_TUN_NONE, 0 },
	{ "radiotap, padded 802.11 header", CS_DLT_IEEE802_11_RADIO, 4, rt_pad, 0,
	  CS_TUN_NONE, 0 },
	{ "radiotap, FCS at the end", CS_DLT_IEEE802_11_RADIO, 6, rt_fcs, 0, CS_TUN_NONE, 0 },
};

/* A link case's frame: the default segment, MSS option, 5 bytes of data. */
static void link_spec(const struct link_case *c, struct pb_spec *s)
{
	pb_spec_init(s, c->ip_ver);
	s->dlt = c->dlt;
	for (unsigned i = 0; i < c->vlans; i++)
		pb_vlan_add(s, i + 1 < c->vlans ? 0x88a8 : 0x8100, (uint16_t)(100 + i));
	if (c->setup)
		c->setup(s);
	pb_opt_mss(s, 1460);
	s->payload_len = 5;
}

START_TEST(test_link_layers)
{
	const struct link_case *c = &link_cases[_i];
	struct pb_spec s;
	struct dec d;

	link_spec(c, &s);
	size_t n = build(&s);
	decode_bytes(frame, n, n, s.dlt, &d);
	assert_why(&d, CS_SKIP_NONE, c->name);

	const struct cs_pkt *p = &d.pkt;
	size_t ip_hlen = c->ip_ver == 4 ? 20 : 40;
	ck_assert_uint_eq(p->kind, CS_PKT_TCP);
	ck_assert_uint_eq(p->ip_ver, c->ip_ver);
	assert_addr(&p->src, c->ip_ver == 4 ? "10.0.0.1" : "2001:db8::1");
	assert_addr(&p->dst, c->ip_ver == 4 ? "10.0.0.2" : "2001:db8::2");
	ck_assert_uint_eq(p->sport, 40000);
	ck_assert_uint_eq(p->dport, 80);
	ck_assert_uint_eq(p->seq, 1000);
	ck_assert_uint_eq(p->flags, CS_TH_SYN);
	ck_assert_uint_eq(p->opt.mss, 1460);
	ck_assert_uint_eq(p->payload_len, 5);
	ck_assert_uint_eq(p->ip_len, ip_hlen + 24 + 5);
	ck_assert_uint_eq(p->tcp_caplen, 24 + 5);
	ck_assert_int_eq(d.tcp_off, (long)(pb_link_len(&s) + ip_hlen));
	ck_assert_uint_eq(p->vlan_cnt, c->vlans);
	if (c->vlans)
		ck_assert_uint_eq(p->vlan[0], 100);
	ck_assert_msg(p->tunnel.kind == c->tunnel, "%s: tunnel %s", c->name,
		      cs_tunnel_names[p->tunnel.kind]);
	ck_assert_uint_eq(p->tunnel.id, c->id);
	ck_assert_uint_eq(p->tunnel.depth, c->tunnel != CS_TUN_NONE);
	ck_assert(cs_linktype_supported(c->dlt));
}
END_TEST

/* "pppoe" names the tunnel alone: it has no IP endpoints. */
START_TEST(test_pppoe_tunnel_name)
{
	struct pb_spec s;
	struct dec d;
	char buf[CS_TUNNEL_STRLEN];

	pb_spec_init(&s, 4);
	pppoe(&s);
	size_t n = build(&s);
	decode_bytes(frame, n, n, s.dlt, &d);
	assert_why(&d, CS_SKIP_NONE, "PPPoE");
	ck_assert(!cs_tunnel_has_endpoints(CS_TUN_PPPOE));
	ck_assert(!cs_tunnel_has_endpoints(CS_TUN_PBB));
	ck_assert(cs_tunnel_has_endpoints(CS_TUN_AYIYA));
	ck_assert_str_eq(cs_tunnel_format(&d.pkt.tunnel, buf, sizeof buf), "pppoe");
}
END_TEST

/* ==== damaged and foreign frames ========================================== */

/* A frame with one byte or 16-bit field changed at an offset from the
 * frame's start: SET16 in network order, HOST16 in this host's (NFLOG's
 * TLV headers) and LE16 little-endian (radiotap's); LINK16 (host order)
 * counts from the end of the link header. */
struct damage_case {
	const char *name;
	int dlt;
	void (*setup)(struct pb_spec *s);
	long at;
	uint16_t value;
	enum { SET8, SET16, HOST16, LE16, LINK16, NONE } how;
	enum cs_skip want;
};

static void pppoe_lcp(struct pb_spec *s) { pppoe(s); s->ppp_proto = 0xc021; }
static void pppoe_discovery(struct pb_spec *s) { s->ethertype = 0x8863; }
static void ppp_lcp(struct pb_spec *s) { s->ppp_proto = 0xc021; }
static void ppp_vj(struct pb_spec *s) { s->ppp_proto = 0x002d; }
static void ppp_v4_says_v6(struct pb_spec *s) { s->ppp_proto = 0x0057; }
static void rt_ext9(struct pb_spec *s) { s->rt_ext = 9; }
static void nflog_be(struct pb_spec *s) { s->nflog_be = true; }
static void llc_vlan(struct pb_spec *s) { s->llc_snap = true; pb_vlan_add(s, 0x8100, 7); }
static void slarp(struct pb_spec *s) { s->ethertype = 0x8035; }

static const struct damage_case damage_cases[] = {
	/* PPPoE: header at 14, PPP protocol at 20 */
	{ "PPPoE, LCP", CS_DLT_EN10MB, pppoe_lcp, 0, 0, NONE, CS_SKIP_NOT_IP },
	{ "PPPoE discovery", CS_DLT_EN10MB, pppoe_discovery, 0, 0, NONE, CS_SKIP_NOT_IP },
	{ "PPPoE version 2", CS_DLT_EN10MB, pppoe, 14, 0x21, SET8, CS_SKIP_BAD_TUNNEL },
	{ "PPPoE code PADI", CS_DLT_EN10MB, pppoe, 15, 0x09, SET8, CS_SKIP_BAD_TUNNEL },
	{ "PPPoE length past the frame", CS_DLT_EN10MB, pppoe, 18, 200, SET16,
	  CS_SKIP_BAD_TUNNEL },
	{ "PPPoE length short of the datagram", CS_DLT_EN10MB, pppoe, 18, 30, SET16,
	  CS_SKIP_BAD_IP_HEADER },
	{ "PPPoE, IPv4 protocol carrying a version 6", CS_DLT_EN10MB, pppoe, 22, 0x65, SET8,
	  CS_SKIP_BAD_IP_HEADER },
	/* 802.3: length at 12, LLC at 14, OUI at 17 */
	{ "802.3 length past the frame", CS_DLT_EN10MB, llc_snap, 12, 1500, SET16,
	  CS_SKIP_BAD_LINK_HEADER },
	{ "802.3 spanning tree (SAP 0x42)", CS_DLT_EN10MB, llc_snap, 14, 0x4242, SET16,
	  CS_SKIP_NOT_IP },
	{ "802.3 SNAP with Cisco's OUI", CS_DLT_EN10MB, llc_snap, 19, 0x0c, SET8,
	  CS_SKIP_NOT_IP },
	{ "802.3 SNAP, 802.1H bridge tunnel OUI", CS_DLT_EN10MB, llc_snap, 19, 0xf8, SET8,
	  CS_SKIP_NONE },
	{ "802.3 LLC, I-frame control (2 bytes)", CS_DLT_EN10MB, llc_snap, 16, 0x00, SET8,
	  CS_SKIP_NOT_IP },
	{ "802.3 under a VLAN tag, LLC/SNAP", CS_DLT_EN10MB, llc_vlan, 0, 0, NONE,
	  CS_SKIP_NONE },
	/* FDDI: frame control at 0 */
	{ "FDDI SMT frame", CS_DLT_FDDI, NULL, 0, 0x41, SET8, CS_SKIP_NOT_IP },
	{ "FDDI LLC with 16-bit addresses", CS_DLT_FDDI, NULL, 0, 0x10, SET8, CS_SKIP_NOT_IP },
	/* PPP */
	{ "PPP, LCP", CS_DLT_PPP, ppp_lcp, 0, 0, NONE, CS_SKIP_NOT_IP },
	{ "PPP, Van Jacobson compressed TCP", CS_DLT_PPP, ppp_vj, 0, 0, NONE, CS_SKIP_NOT_IP },
	{ "PPP says IPv6, carries IPv4", CS_DLT_PPP, ppp_v4_says_v6, 0, 0, NONE,
	  CS_SKIP_BAD_IP_HEADER },
	{ "PPP serial, LCP", CS_DLT_PPP_SERIAL, ppp_lcp, 0, 0, NONE, CS_SKIP_NOT_IP },
	{ "Cisco HDLC keepalive (SLARP)", CS_DLT_C_HDLC, slarp, 0, 0, NONE, CS_SKIP_NOT_IP },
	{ "Cisco HDLC broadcast", CS_DLT_C_HDLC, NULL, 0, 0x8f, SET8, CS_SKIP_NONE },
	/* 802.11 (bare): frame control at 0, flags at 1, LLC at 24 */
	{ "802.11 beacon", CS_DLT_IEEE802_11, NULL, 0, 0x80, SET8, CS_SKIP_NOT_IP },
	{ "802.11 ACK (control)", CS_DLT_IEEE802_11, NULL, 0, 0xd4, SET8, CS_SKIP_NOT_IP },
	{ "802.11 null data", CS_DLT_IEEE802_11, NULL, 0, 0x48, SET8, CS_SKIP_NOT_IP },
	{ "802.11 protected", CS_DLT_IEEE802_11, NULL, 1, 0x40, SET8, CS_SKIP_NOT_IP },
	{ "802.11 protocol version 1", CS_DLT_IEEE802_11, NULL, 0, 0x09, SET8,
	  CS_SKIP_BAD_LINK_HEADER },
	{ "802.11 A-MSDU", CS_DLT_IEEE802_11, qos, 24, 0x80, SET8, CS_SKIP_NOT_IP },
	{ "802.11 LLC not SNAP", CS_DLT_IEEE802_11, NULL, 24, 0xf0f0, SET16, CS_SKIP_NOT_IP },
	/* radiotap: version 0, length 2-3 (little-endian), present 4-7, flags at 16 */
	{ "radiotap version 1", CS_DLT_IEEE802_11_RADIO, NULL, 0, 1, SET8,
	  CS_SKIP_BAD_LINK_HEADER },
	{ "radiotap length 7", CS_DLT_IEEE802_11_RADIO, NULL, 2, 7, LE16,
	  CS_SKIP_BAD_LINK_HEADER },
	{ "radiotap length past the frame", CS_DLT_IEEE802_11_RADIO, NULL, 2, 4095, LE16,
	  CS_SKIP_BAD_LINK_HEADER },
	{ "radiotap length short of its fields", CS_DLT_IEEE802_11_RADIO, NULL, 2, 16, LE16,
	  CS_SKIP_BAD_LINK_HEADER },
	{ "radiotap, frame failed its FCS check", CS_DLT_IEEE802_11_RADIO, NULL, 16, 0x40,
	  SET8, CS_SKIP_BAD_LINK_HEADER },
	{ "radiotap, 10 presence words", CS_DLT_IEEE802_11_RADIO, rt_ext9, 0, 0, NONE,
	  CS_SKIP_BAD_LINK_HEADER },
	/* NFLOG: family 0, version 1, first TLV at 4 (length, type), the
	 * payload TLV's type 2 bytes before the datagram */
	{ "NFLOG version 1", CS_DLT_NFLOG, NULL, 1, 1, SET8, CS_SKIP_BAD_LINK_HEADER },
	{ "NFLOG family AF_UNSPEC", CS_DLT_NFLOG, NULL, 0, 0, SET8, CS_SKIP_NOT_IP },
	{ "NFLOG TLV length 3", CS_DLT_NFLOG, NULL, 4, 3, HOST16, CS_SKIP_BAD_LINK_HEADER },
	{ "NFLOG TLV past the frame", CS_DLT_NFLOG, NULL, 4, 4095, HOST16,
	  CS_SKIP_BAD_LINK_HEADER },
	{ "NFLOG without a payload TLV", CS_DLT_NFLOG, NULL, -2, 8, LINK16,
	  CS_SKIP_BAD_LINK_HEADER },
	{ "NFLOG TLVs in the other byte order", CS_DLT_NFLOG, nflog_be, 0, 0, NONE,
	  CS_SKIP_BAD_LINK_HEADER },
};

START_TEST(test_damaged)
{
	const struct damage_case *c = &damage_cases[_i];
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	s.dlt = c->dlt;
	if (c->setup)
		c->setup(&s);
	size_t n = build(&s);
	size_t at = (size_t)(c->at + (c->how == LINK16 ? (long)pb_link_len(&s) : 0));
	uint16_t host = c->value;
	if (c->how != NONE)
		ck_assert_uint_lt(at + 1, n);
	switch (c->how) {
	case SET8:
		frame[at] = (uint8_t)c->value;
		break;
	case SET16:
		frame[at] = (uint8_t)(c->value >> 8);
		frame[at + 1] = (uint8_t)c->value;
		break;
	case LE16:
		frame[at] = (uint8_t)c->value;
		frame[at + 1] = (uint8_t)(c->value >> 8);
		break;
	case HOST16: case LINK16:
		memcpy(frame + at, &host, 2);
		break;
	case NONE:
		break;
	}
	decode_bytes(frame, n, n, s.dlt, &d);
	assert_why(&d, c->want, c->name);
}
END_TEST

/* A frame carries one VN-Tag: a second one is a broken header. */
START_TEST(test_vntag_twice)
{
	static const uint8_t tag[6] = { 0x89, 0x26, 0x80, 0x12, 0x00, 0x34 };
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	vntag(&s);
	size_t n = build(&s);
	memmove(frame + 18, frame + 12, n - 12);
	memcpy(frame + 12, tag, sizeof tag);
	decode_bytes(frame, n + 6, n + 6, s.dlt, &d);
	assert_why(&d, CS_SKIP_BAD_LINK_HEADER, "two VN-Tags");
}
END_TEST

/* Radiotap over a beacon: management frames carry no IP. */
START_TEST(test_radiotap_management)
{
	struct pb_spec s;
	struct dec d;

	pb_spec_init(&s, 4);
	s.dlt = CS_DLT_IEEE802_11_RADIO;
	size_t n = build(&s);
	size_t wlan = pb_link_len(&s) - 24 - 8;	/* 802.11 header, LLC/SNAP */
	frame[wlan] = 0x80;			/* beacon */
	decode_bytes(frame, n, n, s.dlt, &d);
	assert_why(&d, CS_SKIP_NOT_IP, "radiotap, beacon");
}
END_TEST

/* ==== the truncation sweep ================================================== */

/*
 * As in check_decode.c: with the wire length kept, every cut is the snap
 * length's (analysed or truncated, analysed from some caplen on); with the
 * frame really that short, never analysed nor truncated.  Frames without a
 * trailer, so that every byte is needed.
 */
START_TEST(test_truncation_sweep)
{
	const struct link_case *c = &link_cases[_i / 2];
	bool keep_wirelen = _i % 2 == 0;
	struct pb_spec s;
	struct dec d;
	bool analysed = false;

	link_spec(c, &s);
	s.trailer_len = 0;
	s.rt_flags &= (uint8_t)~0x10;		/* no FCS */
	size_t n = build(&s);
	uint8_t *orig = malloc(n);
	ck_assert_ptr_nonnull(orig);
	memcpy(orig, frame, n);
	for (size_t cap = 1; cap < n; cap++) {
		decode_bytes(orig, cap, keep_wirelen ? n : cap, s.dlt, &d);
		if (keep_wirelen) {
			ck_assert_msg(d.why == CS_SKIP_NONE || d.why == CS_SKIP_TRUNCATED,
				      "%s cut to %zu of %zu: %s", c->name, cap, n,
				      cs_skip_names[d.why]);
			ck_assert_msg(!analysed || d.why == CS_SKIP_NONE,
				      "%s: analysed at a shorter caplen, not at %zu",
				      c->name, cap);
			analysed = d.why == CS_SKIP_NONE;
		} else {
			ck_assert_msg(d.why != CS_SKIP_NONE && d.why != CS_SKIP_TRUNCATED,
				      "%s, %zu bytes on the wire: %s", c->name, cap,
				      cs_skip_names[d.why]);
		}
	}
	free(orig);
}
END_TEST

/* ==== whole connections through the run driver ================================ */

/*
 * A connection as the fuzz seeds script it, without options: SYN,
 * SYN-ACK, ACK, 100 bytes from the client, 300 from the server, FINs and
 * the last ACK.  Zeek's conn.log for it: SF, history ShADdFf (the server
 * sends no ACK without data or a flag, so no 'a'), the client 5 packets
 * and 300 IP bytes (4 x 40 + 140), the server 3 and 420 (40 + 340 + 40),
 * 100 and 300 bytes of payload.
 */
#define CONN_FRAMES 8

struct wrapped {
	const char *name;
	int dlt;
	void (*setup)(struct pb_spec *s);
	bool tunnel;
	struct pb_tunnel t;
	const char *json_tunnel;	/* the JSON report's "tunnel" (which
					 * escapes '>' as \u003e) */
};

static const struct wrapped wrapped[] = {
	{ "PPPoE", CS_DLT_EN10MB, pppoe, false, { 0 }, "\"tunnel\":\"pppoe\"" },
	{ "802.3 LLC/SNAP", CS_DLT_EN10MB, llc_snap, false, { 0 }, "\"tunnel\":null" },
	{ "VN-Tag", CS_DLT_EN10MB, vntag, false, { 0 }, "\"tunnel\":null" },
	{ "FDDI", CS_DLT_FDDI, NULL, false, { 0 }, "\"tunnel\":null" },
	{ "PPP", CS_DLT_PPP, NULL, false, { 0 }, "\"tunnel\":null" },
	{ "PPP in HDLC framing", CS_DLT_PPP_SERIAL, NULL, false, { 0 }, "\"tunnel\":null" },
	{ "Cisco HDLC", CS_DLT_C_HDLC, NULL, false, { 0 }, "\"tunnel\":null" },
	{ "NFLOG", CS_DLT_NFLOG, NULL, false, { 0 }, "\"tunnel\":null" },
	{ "NFLOG from a big-endian host", CS_DLT_NFLOG, nflog_be, false, { 0 },
	  "\"tunnel\":null" },
	{ "802.11", CS_DLT_IEEE802_11, qos, false, { 0 }, "\"tunnel\":null" },
	{ "radiotap", CS_DLT_IEEE802_11_RADIO, rt_fcs, false, { 0 }, "\"tunnel\":null" },
	{ "ERSPAN type I", CS_DLT_EN10MB, NULL, true, { .kind = PB_TUN_ERSPAN1 },
	  "\"tunnel\":\"erspan 192.0.2.1-\\u003e192.0.2.2\"" },
	{ "PBB", CS_DLT_EN10MB, NULL, true, { .kind = PB_TUN_PBB, .id = 77 },
	  "\"tunnel\":\"pbb\"" },
	{ "GRE in UDP", CS_DLT_EN10MB, NULL, true, { .kind = PB_TUN_GRE_UDP },
	  "\"tunnel\":\"gre 192.0.2.1-\\u003e192.0.2.2\"" },
	{ "AYIYA", CS_DLT_EN10MB, NULL, true, { .kind = PB_TUN_AYIYA },
	  "\"tunnel\":\"ayiya 192.0.2.1-\\u003e192.0.2.2\"" },
	{ "Aruba GRE", CS_DLT_EN10MB, NULL, true, { .kind = PB_TUN_ARUBA },
	  "\"tunnel\":\"gre 192.0.2.1-\\u003e192.0.2.2\"" },
};

struct conn_capture {
	uint8_t frames[CONN_FRAMES][512];
	struct pb_rec recs[CONN_FRAMES];
	uint8_t file[8192];
	size_t file_len;
};

static void conn_segment(const struct wrapped *w, struct conn_capture *cap, int i,
			 bool from_client, uint16_t flags, uint32_t seq, uint32_t ack,
			 size_t len)
{
	struct pb_spec p;

	pb_spec_init(&p, 4);
	if (!from_client) {
		pb_addr(p.src, "10.0.0.2");
		pb_addr(p.dst, "10.0.0.1");
		p.tcp.sport = 80;
		p.tcp.dport = 40000;
	}
	p.tcp.flags = flags;
	p.tcp.seq = seq;
	p.tcp.ack = ack;
	p.payload_len = len;
	p.dlt = w->dlt;
	if (w->setup)
		w->setup(&p);
	size_t n;
	if (w->tunnel) {
		struct pb_spec outer;
		pb_spec_init(&outer, 4);
		pb_addr(outer.src, "192.0.2.1");
		pb_addr(outer.dst, "192.0.2.2");
		n = pb_tunnel_build(&outer, &w->t, &p, cap->frames[i], sizeof cap->frames[i]);
	} else {
		n = pb_build(&p, cap->frames[i], sizeof cap->frames[i]);
	}
	ck_assert_msg(n > 0, "%s: frame %d not built", w->name, i);
	cap->recs[i] = (struct pb_rec){ .ts_ns = 1700000000000000000ull +
						 (uint64_t)i * 100000000u,
					.bytes = cap->frames[i], .caplen = (uint32_t)n };
}

static void conn_capture(const struct wrapped *w, struct conn_capture *cap)
{
	conn_segment(w, cap, 0, true, SYN, 1000, 0, 0);
	conn_segment(w, cap, 1, false, SYNACK, 5000, 1001, 0);
	conn_segment(w, cap, 2, true, ACK, 1001, 5001, 0);
	conn_segment(w, cap, 3, true, DATA, 1001, 5001, 100);
	conn_segment(w, cap, 4, false, DATA, 5001, 1101, 300);
	conn_segment(w, cap, 5, true, FINACK, 1101, 5301, 0);
	conn_segment(w, cap, 6, false, FINACK, 5301, 1102, 0);
	conn_segment(w, cap, 7, true, ACK, 1102, 5302, 0);
	struct pb_file f = { .dlt = w->dlt, .big_endian = w->setup == nflog_be };
	cap->file_len = pb_pcap_write(&f, cap->recs, CONN_FRAMES, cap->file,
				      sizeof cap->file);
	ck_assert_uint_gt(cap->file_len, 0);
}

/* What a run said, and its outputs. */
struct run_out {
	char said[1024];
	char *json, *connlog;
	size_t json_len, connlog_len;
	enum cs_run_status status;
	uint64_t tcp_packets, connections;
};

static void on_say(void *ctx, const char *msg)
{
	struct run_out *o = ctx;
	size_t len = strlen(o->said);
	snprintf(o->said + len, sizeof o->said - len, "%s\n", msg);
}

static void run_capture(const struct conn_capture *cap, const char *filter,
			struct run_out *o)
{
	static const char *const names[] = { "memory" };
	struct cs_run_config cfg = { 0 };
	struct cs_run *r = malloc(sizeof *r);
	struct cs_source *s;
	char err[256];

	memset(o, 0, sizeof *o);
	ck_assert_ptr_nonnull(r);
	cs_engine_opts_default(&cfg.engine);
	cfg.files = names;
	cfg.file_cnt = 1;
	cfg.filter = filter;
	cfg.ctx = o;
	cfg.say = on_say;
	cfg.json.stream = open_memstream(&o->json, &o->json_len);
	cfg.connlog.stream = open_memstream(&o->connlog, &o->connlog_len);
	ck_assert_msg(cs_run_init(r, &cfg, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(cs_source_open_stream(&s, fmemopen((void *)cap->file,
							  cap->file_len, "rb"),
					    "memory", err, sizeof err) == 0, "%s", err);
	cs_run_read_source(r, s);
	cs_source_close(s);
	cs_run_finish(r);
	o->status = r->status;
	o->tcp_packets = r->engine.stats.tcp_packets;
	o->connections = r->engine.conns.connections;
	cs_run_fini(r);
	free(r);
	fclose(cfg.json.stream);
	fclose(cfg.connlog.stream);
}

/* The conn.log row's fields from id.orig_h to resp_ip_bytes, without uid,
 * times and durations. */
static void connlog_fields(const char *log, char *out, size_t outlen)
{
	const char *row = log;
	while (row && *row == '#')
		row = strchr(row, '\n') ? strchr(row, '\n') + 1 : NULL;
	ck_assert_ptr_nonnull(row);
	char line[1024];
	size_t n = strcspn(row, "\n");
	ck_assert_uint_lt(n, sizeof line);
	memcpy(line, row, n);
	line[n] = '\0';

	char *field[32];
	int cnt = 0;
	for (char *p = line; p && cnt < 32; cnt++) {
		field[cnt] = p;
		p = strchr(p, '\t');
		if (p)
			*p++ = '\0';
	}
	ck_assert_int_ge(cnt, 20);
	/* ts uid orig_h orig_p resp_h resp_p proto service duration orig_bytes
	 * resp_bytes conn_state local_orig local_resp missed_bytes history
	 * orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes */
	snprintf(out, outlen, "%s %s %s %s %s %s %s %s %s %s %s %s %s %s", field[2],
		 field[3], field[4], field[5], field[6], field[9], field[10], field[11],
		 field[15], field[16], field[17], field[18], field[19], field[20]);
}

START_TEST(test_connection_through_the_driver)
{
	const struct wrapped *w = &wrapped[_i];
	static struct conn_capture cap;
	struct run_out o;
	char row[512];

	conn_capture(w, &cap);
	run_capture(&cap, NULL, &o);
	ck_assert_msg(o.status == CS_RUN_OK, "%s: status %d: %s", w->name, o.status, o.said);
	ck_assert_uint_eq(o.tcp_packets, CONN_FRAMES);
	ck_assert_uint_eq(o.connections, 1);
	connlog_fields(o.connlog, row, sizeof row);
	ck_assert_msg(!strcmp(row, "10.0.0.1 40000 10.0.0.2 80 tcp 100 300 SF ShADdFf "
			      "5 300 3 420 (empty)"), "%s: conn.log %s", w->name, row);
	ck_assert_msg(strstr(o.json, w->json_tunnel) != NULL, "%s: no %s in the JSON report",
		      w->name, w->json_tunnel);
	free(o.json);
	free(o.connlog);
}
END_TEST

/* Filters libpcap compiles for these link types keep the connection: `tcp`
 * on PPP, FDDI, 802.11 under radiotap; PPPoE needs libpcap's `pppoes`. */
START_TEST(test_filter_on_other_link_types)
{
	static const struct { int wrapped; const char *filter; } cases[] = {
		{ 4, "tcp port 80" }, { 3, "tcp" }, { 10, "host 10.0.0.1" },
		{ 0, "pppoes and tcp" },
	};
	static struct conn_capture cap;
	struct run_out o;

	for (size_t i = 0; i < N_OF(cases); i++) {
		const struct wrapped *w = &wrapped[cases[i].wrapped];
		conn_capture(w, &cap);
		run_capture(&cap, cases[i].filter, &o);
		ck_assert_msg(o.status == CS_RUN_OK, "%s, '%s': %s", w->name,
			      cases[i].filter, o.said);
		ck_assert_msg(o.tcp_packets == CONN_FRAMES, "%s, '%s': %llu packets",
			      w->name, cases[i].filter, (unsigned long long)o.tcp_packets);
		free(o.json);
		free(o.connlog);
	}
}
END_TEST

Suite *linklayer_suite(void)
{
	Suite *s = suite_create("linklayer");
	TCase *tc = tcase_create("decode");

	tcase_add_loop_test(tc, test_link_layers, 0, (int)N_OF(link_cases));
	tcase_add_test(tc, test_pppoe_tunnel_name);
	tcase_add_loop_test(tc, test_damaged, 0, (int)N_OF(damage_cases));
	tcase_add_test(tc, test_vntag_twice);
	tcase_add_test(tc, test_radiotap_management);
	suite_add_tcase(s, tc);

	tc = tcase_create("sweep");
	tcase_add_loop_test(tc, test_truncation_sweep, 0, 2 * (int)N_OF(link_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("connections");
	tcase_add_loop_test(tc, test_connection_through_the_driver, 0, (int)N_OF(wrapped));
	tcase_add_test(tc, test_filter_on_other_link_types);
	suite_add_tcase(s, tc);
	return s;
}
