/*
 * pktbuild.c — frames and capture files for the tests, written in place.
 *
 * Headers are written front to back through a bounds-checked writer with
 * their length and checksum fields zero; once everything behind a header is
 * written, the fields are patched in.  The same routine writes the datagram
 * an ICMP error quotes, so a quote is a real datagram cut to a length.
 */
#include "tests/pktbuild.h"

#include <arpa/inet.h>
#include <string.h>

enum {
	PROTO_ICMP = 1,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	PROTO_ICMPV6 = 58,
	ETH_IPV4 = 0x0800,
	ETH_IPV6 = 0x86dd,
	ETH_VLAN = 0x8100,
	AF_INET_BSD = 2,
	AF_INET6_LINUX = 10,
	TRAILER_BYTE = 0xa5,	/* not zero: a decoder reading padding shows */
};

/* ---- a bounds-checked writer --------------------------------------------- */

struct out {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool err;		/* sticky: something did not fit */
};

/* Room for n more bytes at the end, or NULL (and err) when there is none. */
static uint8_t *reserve(struct out *o, size_t n)
{
	if (o->err || n > o->cap - o->len) {
		o->err = true;
		return NULL;
	}
	uint8_t *p = o->buf + o->len;
	o->len += n;
	return p;
}

static void put(struct out *o, const void *src, size_t n)
{
	uint8_t *p = reserve(o, n);
	if (p && n > 0)
		memcpy(p, src, n);
}

static void put_fill(struct out *o, uint8_t byte, size_t n)
{
	uint8_t *p = reserve(o, n);
	if (p && n > 0)
		memset(p, byte, n);
}

static void put_u8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put16(struct out *o, uint16_t v, bool be)
{
	uint8_t b[2];
	if (be) {
		b[0] = (uint8_t)(v >> 8);
		b[1] = (uint8_t)v;
	} else {
		b[0] = (uint8_t)v;
		b[1] = (uint8_t)(v >> 8);
	}
	put(o, b, 2);
}

static void put32(struct out *o, uint32_t v, bool be)
{
	put16(o, (uint16_t)(be ? v >> 16 : v), be);
	put16(o, (uint16_t)(be ? v : v >> 16), be);
}

static void put_be16(struct out *o, uint16_t v)
{
	put16(o, v, true);
}

static void put_be32(struct out *o, uint32_t v)
{
	put32(o, v, true);
}

/* Patches a big-endian field already written at off. */
static void patch_be16(struct out *o, size_t off, uint16_t v)
{
	if (o->err || off > o->len || 2 > o->len - off)
		return;
	o->buf[off] = (uint8_t)(v >> 8);
	o->buf[off + 1] = (uint8_t)v;
}

static void patch_be32(struct out *o, size_t off, uint32_t v)
{
	patch_be16(o, off, (uint16_t)(v >> 16));
	patch_be16(o, off + 2, (uint16_t)v);
}

/* The counting pattern of payloads: recognisable, and never all zero. */
static void put_payload(struct out *o, size_t n)
{
	uint8_t *p = reserve(o, n);
	for (size_t i = 0; p && i < n; i++)
		p[i] = (uint8_t)(i + 1);
}

static size_t round4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* ---- checksums (RFC 1071) ------------------------------------------------ */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* The pseudo-header of RFC 9293 3.1 (IPv4) and RFC 8200 8.1 (IPv6). */
static uint32_t pseudo_sum(const struct pb_spec *s, uint8_t proto, size_t l4_len)
{
	size_t alen = s->ip_ver == 4 ? 4 : 16;
	uint32_t acc = sum16(s->src, alen, 0);
	acc = sum16(s->dst, alen, acc);
	acc += proto;
	acc += (uint32_t)(l4_len >> 16) + (uint32_t)(l4_len & 0xffff);
	return acc;
}

/* ---- spec helpers --------------------------------------------------------- */

bool pb_addr(uint8_t addr[16], const char *text)
{
	memset(addr, 0, 16);
	return inet_pton(AF_INET, text, addr) == 1 ||
	       inet_pton(AF_INET6, text, addr) == 1;
}

void pb_spec_init(struct pb_spec *s, int ip_ver)
{
	memset(s, 0, sizeof *s);
	s->dlt = CS_DLT_EN10MB;
	s->ip_ver = ip_ver == 6 ? 6 : 4;
	if (s->ip_ver == 4) {
		pb_addr(s->src, "10.0.0.1");
		pb_addr(s->dst, "10.0.0.2");
	} else {
		pb_addr(s->src, "2001:db8::1");
		pb_addr(s->dst, "2001:db8::2");
	}
	s->ttl = 64;
	s->l4 = PB_L4_TCP;
	s->tcp.sport = 40000;
	s->tcp.dport = 80;
	s->tcp.seq = 1000;
	s->tcp.flags = CS_TH_SYN;
	s->tcp.win = 65535;
}

bool pb_vlan_add(struct pb_spec *s, uint16_t tpid, uint16_t vid)
{
	if (s->vlan_cnt >= PB_VLAN_MAX)
		return false;
	s->vlan[s->vlan_cnt].tpid = tpid;
	s->vlan[s->vlan_cnt].tci = vid & 0x0fff;
	s->vlan_cnt++;
	return true;
}

struct pb_ext *pb_ext_add(struct pb_spec *s, uint8_t type)
{
	if (s->ext_cnt >= PB_EXT_MAX)
		return NULL;
	struct pb_ext *e = &s->ext[s->ext_cnt++];
	memset(e, 0, sizeof *e);
	e->type = type;
	return e;
}

bool pb_opt_raw(struct pb_spec *s, const uint8_t *bytes, size_t n)
{
	if (s->tcp.opt_len > PB_TCPOPT_MAX || n > (size_t)(PB_TCPOPT_MAX - s->tcp.opt_len))
		return false;
	memcpy(s->tcp.opt + s->tcp.opt_len, bytes, n);
	s->tcp.opt_len = (uint8_t)(s->tcp.opt_len + n);
	return true;
}

bool pb_opt_nop(struct pb_spec *s)
{
	const uint8_t o[] = { 1 };
	return pb_opt_raw(s, o, sizeof o);
}

bool pb_opt_mss(struct pb_spec *s, uint16_t mss)
{
	const uint8_t o[] = { 2, 4, (uint8_t)(mss >> 8), (uint8_t)mss };
	return pb_opt_raw(s, o, sizeof o);
}

bool pb_opt_wscale(struct pb_spec *s, uint8_t shift)
{
	const uint8_t o[] = { 3, 3, shift };
	return pb_opt_raw(s, o, sizeof o);
}

bool pb_opt_sack_perm(struct pb_spec *s)
{
	const uint8_t o[] = { 4, 2 };
	return pb_opt_raw(s, o, sizeof o);
}

static void be32_at(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

bool pb_opt_sack(struct pb_spec *s, const uint32_t blocks[][2], unsigned n)
{
	uint8_t o[2 + 8 * 4];

	if (n == 0 || n > 4)	/* 40 option bytes hold at most four */
		return false;
	o[0] = 5;
	o[1] = (uint8_t)(2 + 8 * n);
	for (unsigned i = 0; i < n; i++) {
		be32_at(o + 2 + 8 * i, blocks[i][0]);
		be32_at(o + 6 + 8 * i, blocks[i][1]);
	}
	return pb_opt_raw(s, o, o[1]);
}

bool pb_opt_ts(struct pb_spec *s, uint32_t val, uint32_t ecr)
{
	uint8_t o[10] = { 8, 10 };
	be32_at(o + 2, val);
	be32_at(o + 6, ecr);
	return pb_opt_raw(s, o, sizeof o);
}

/* ---- link layer ----------------------------------------------------------- */

enum {
	ETH_PPPOE = 0x8864,
	ETH_VNTAG = 0x8926,
	PPP_IPV4 = 0x0021,
	PPP_IPV6 = 0x0057,
	NFLOG_PACKET_HDR = 1,
	NFLOG_PAYLOAD = 9,
	NFLOG_PREFIX = 10,
	NFLOG_UID = 11,
	RT_FLAGS_FCS = 0x10,
	RT_FLAGS_DATAPAD = 0x20,
};

/*
 * Length fields of the link layer that count what follows them (an 802.3
 * length, PPPoE's, NFLOG's payload TLV), written as zero and patched once
 * the datagram is written, and the 802.11 frame an FCS must close.
 */
struct link_fix {
	struct {
		size_t at;	/* where the 16-bit field is */
		size_t from;	/* it counts the bytes from here to the end */
		bool host;	/* in this host's byte order (NFLOG) */
	} len[3];
	int len_cnt;
	bool fcs;
	size_t fcs_from;	/* start of the 802.11 frame */
};

static void fix_len(struct out *o, struct link_fix *fix, size_t from_off, bool host)
{
	if (fix->len_cnt < 3) {
		fix->len[fix->len_cnt].at = o->len;
		fix->len[fix->len_cnt].from = o->len + from_off;
		fix->len[fix->len_cnt].host = host;
		fix->len_cnt++;
	}
	put_be16(o, 0);		/* patched */
}

/* The type field's value: PPPoE's ethertype, or the datagram's. */
static uint16_t ethertype_of(const struct pb_spec *s)
{
	if (s->pppoe)
		return ETH_PPPOE;
	if (s->ethertype != 0)
		return s->ethertype;
	return s->ip_ver == 4 ? ETH_IPV4 : ETH_IPV6;
}

static uint16_t ppp_proto_of(const struct pb_spec *s)
{
	if (s->ppp_proto)
		return s->ppp_proto;
	return s->ip_ver == 4 ? PPP_IPV4 : PPP_IPV6;
}

/* PPP's protocol field, one byte when PFC compresses it (RFC 1661 6.5). */
static void put_ppp_proto(struct out *o, const struct pb_spec *s)
{
	if (s->ppp_pfc)
		put_u8(o, (uint8_t)ppp_proto_of(s));
	else
		put_be16(o, ppp_proto_of(s));
}

/* After a type field saying 0x8864: the PPPoE session header (RFC 2516 4). */
static void put_pppoe(struct out *o, const struct pb_spec *s, struct link_fix *fix)
{
	if (!s->pppoe)
		return;
	put_u8(o, 0x11);		/* version 1, type 1 */
	put_u8(o, 0);			/* code: session data */
	put_be16(o, s->pppoe_session);
	fix_len(o, fix, 2, false);	/* the PPP frame's length */
	put_ppp_proto(o, s);
}

/* 802.2 LLC (DSAP, SSAP AA, UI frame) and SNAP with OUI 0 (RFC 1042). */
static void put_snap(struct out *o, uint16_t type)
{
	static const uint8_t snap[6] = { 0xaa, 0xaa, 0x03, 0, 0, 0 };
	put(o, snap, sizeof snap);
	put_be16(o, type);
}

static void put_macs(struct out *o)
{
	static const uint8_t macs[12] = {
		0x02, 0, 0, 0, 0, 0x02,		/* destination */
		0x02, 0, 0, 0, 0, 0x01,		/* source */
	};
	put(o, macs, sizeof macs);
}

static void put_ethernet(struct out *o, const struct pb_spec *s, struct link_fix *fix)
{
	put_macs(o);
	if (s->vntag) {
		put_be16(o, ETH_VNTAG);
		put_be32(o, s->vntag_tag);
	}
	for (unsigned i = 0; i < s->vlan_cnt && i < PB_VLAN_MAX; i++) {
		put_be16(o, s->vlan[i].tpid ? s->vlan[i].tpid : ETH_VLAN);
		put_be16(o, s->vlan[i].tci);
	}
	if (s->llc_snap) {
		fix_len(o, fix, 2, false);	/* 802.3 length */
		put_snap(o, ethertype_of(s));
	} else {
		put_be16(o, ethertype_of(s));
	}
	put_pppoe(o, s, fix);
}

/* Linux cooked v1: packet type, ARPHRD, address length, address, protocol. */
static void put_sll(struct out *o, const struct pb_spec *s, struct link_fix *fix)
{
	static const uint8_t addr[8] = { 0x02, 0, 0, 0, 0, 0x01, 0, 0 };
	put_be16(o, 0);		/* PACKET_HOST */
	put_be16(o, 1);		/* ARPHRD_ETHER */
	put_be16(o, 6);
	put(o, addr, sizeof addr);
	put_be16(o, ethertype_of(s));
	put_pppoe(o, s, fix);
}

/* Linux cooked v2: protocol first, then interface index and the rest. */
static void put_sll2(struct out *o, const struct pb_spec *s, struct link_fix *fix)
{
	static const uint8_t addr[8] = { 0x02, 0, 0, 0, 0, 0x01, 0, 0 };
	put_be16(o, ethertype_of(s));
	put_be16(o, 0);		/* reserved */
	put_be32(o, 1);		/* interface index */
	put_be16(o, 1);		/* ARPHRD_ETHER */
	put_u8(o, 0);		/* PACKET_HOST */
	put_u8(o, 6);
	put(o, addr, sizeof addr);
	put_pppoe(o, s, fix);
}

static void put_loopback(struct out *o, const struct pb_spec *s, bool be)
{
	uint32_t af = s->null_af;
	if (af == 0)
		af = s->ip_ver == 4 ? AF_INET_BSD : AF_INET6_LINUX;
	put32(o, af, be);
}

/* PPP with (RFC 1662 3.1) or without the address and control bytes. */
static void put_ppp(struct out *o, const struct pb_spec *s)
{
	if (!s->ppp_acfc)
		put_be16(o, 0xff03);
	put_ppp_proto(o, s);
}

/* Cisco HDLC: unicast address, control 0, an ethertype. */
static void put_chdlc(struct out *o, const struct pb_spec *s)
{
	put_u8(o, 0x0f);
	put_u8(o, 0);
	put_be16(o, ethertype_of(s));
}

/* FDDI: frame control, destination, source, then LLC/SNAP. */
static void put_fddi(struct out *o, const struct pb_spec *s)
{
	put_u8(o, s->fddi_fc ? s->fddi_fc : 0x50);
	put_macs(o);
	put_snap(o, ethertype_of(s));
}

/* An 802.11 data frame's header (802.11-2020 9.3.2.1), then LLC/SNAP. */
static void put_wlan(struct out *o, const struct pb_spec *s, bool datapad)
{
	static const uint8_t addrs[24] = {
		0x02, 0, 0, 0, 0, 0x0b,		/* address 1 (BSSID) */
		0x02, 0, 0, 0, 0, 0x01,		/* address 2 */
		0x02, 0, 0, 0, 0, 0x02,		/* address 3 */
		0x02, 0, 0, 0, 0, 0x04,		/* address 4, both DS bits */
	};
	size_t start = o->len;
	bool htc = s->wlan_qos && s->wlan_htc;

	put_u8(o, s->wlan_qos ? 0x88 : 0x08);	/* data type, (QoS) data subtype */
	put_u8(o, (uint8_t)((s->wlan_ds & 3) | (htc ? 0x80 : 0)));
	put_be16(o, 0x2c00);			/* duration */
	put(o, addrs, 18);
	put_be16(o, 0x1000);			/* sequence control */
	if ((s->wlan_ds & 3) == 3)
		put(o, addrs + 18, 6);
	if (s->wlan_qos)
		put_be16(o, 0);			/* QoS control: TID 0 */
	if (htc)
		put_be32(o, 0);			/* HT control */
	if (datapad)
		put_fill(o, 0, round4(o->len - start) - (o->len - start));
	put_snap(o, ethertype_of(s));
}

/*
 * Radiotap (radiotap.org): version, pad, length and presence words, little-
 * endian; fields TSFT (8-aligned), flags, rate, channel, antenna signal.
 * rt_ext more presence words move the fields, so TSFT's alignment shows.
 */
static void put_radiotap(struct out *o, const struct pb_spec *s, struct link_fix *fix)
{
	size_t start = o->len;
	size_t words = 1 + (size_t)s->rt_ext;
	size_t fields = 8 + 4 * (words - 1);
	size_t tsft = (fields + 7) & ~(size_t)7;
	size_t len = tsft + 8 + 1 + 1 + 4 + 1;

	put_u8(o, 0);				/* version */
	put_u8(o, 0);
	put16(o, (uint16_t)len, false);
	for (size_t i = 0; i < words; i++) {
		uint32_t more = i + 1 < words ? 0x80000000u : 0;
		put32(o, (i == 0 ? 0x2fu : 0) | more, false);	/* TSFT, flags, rate,
								 * channel, signal */
	}
	put_fill(o, 0, tsft - (o->len - start));
	put32(o, 0x01020304, false);		/* TSFT */
	put32(o, 0, false);
	put_u8(o, s->rt_flags);
	put_u8(o, 12);				/* rate: 6 Mb/s */
	put16(o, 2437, false);			/* channel 6 */
	put16(o, 0x00a0, false);		/* 2.4 GHz, OFDM */
	put_u8(o, 0xc4);			/* -60 dBm */
	fix->fcs = s->rt_flags & RT_FLAGS_FCS;
	fix->fcs_from = o->len;
	put_wlan(o, s, s->rt_flags & RT_FLAGS_DATAPAD);
}

static void put_host16(struct out *o, uint16_t v, bool be)
{
	uint8_t b[2];
	if (be) {
		put_be16(o, v);
		return;
	}
	memcpy(b, &v, 2);	/* this host's order, as the kernel writes it */
	put(o, b, 2);
}

/* One NFLOG TLV: length and type, the value, padding to 4 bytes. */
static void put_nflog_tlv(struct out *o, const struct pb_spec *s, uint16_t type,
			  const void *value, size_t n)
{
	put_host16(o, (uint16_t)(4 + n), s->nflog_be);
	put_host16(o, type, s->nflog_be);
	put(o, value, n);
	put_fill(o, 0, round4(n) - n);
}

/*
 * NFLOG (LINKTYPE_NFLOG): family, version 0, resource ID, then TLVs: a
 * packet header, a prefix whose length needs padding, a UID, and the
 * payload TLV holding the datagram, its length patched.
 */
static void put_nflog(struct out *o, const struct pb_spec *s, struct link_fix *fix)
{
	static const uint8_t hdr[4] = { 0x08, 0x00, 1, 0 };	/* IPv4, hook 1 */
	static const uint8_t hdr6[4] = { 0x86, 0xdd, 1, 0 };
	static const char prefix[] = "connscope";	/* 10 bytes with its NUL */
	static const uint8_t uid[4] = { 0, 0, 0x03, 0xe8 };

	put_u8(o, (uint8_t)(s->null_af ? s->null_af : s->ip_ver == 4 ? 2 : 10));
	put_u8(o, 0);				/* version */
	put_be16(o, 1);				/* resource ID: the log group */
	put_nflog_tlv(o, s, NFLOG_PACKET_HDR, s->ip_ver == 4 ? hdr : hdr6, 4);
	put_nflog_tlv(o, s, NFLOG_PREFIX, prefix, sizeof prefix);
	put_nflog_tlv(o, s, NFLOG_UID, uid, sizeof uid);
	if (fix->len_cnt < 3) {
		fix->len[fix->len_cnt].at = o->len;
		fix->len[fix->len_cnt].from = o->len;
		fix->len[fix->len_cnt].host = !s->nflog_be;
		fix->len_cnt++;
	}
	put_be16(o, 0);				/* length, patched */
	put_host16(o, NFLOG_PAYLOAD, s->nflog_be);
}

static bool put_link(struct out *o, const struct pb_spec *s, struct link_fix *fix)
{
	switch (s->dlt) {
	case CS_DLT_EN10MB:
		put_ethernet(o, s, fix);
		return true;
	case CS_DLT_LINUX_SLL:
		put_sll(o, s, fix);
		return true;
	case CS_DLT_LINUX_SLL2:
		put_sll2(o, s, fix);
		return true;
	case CS_DLT_NULL:
		put_loopback(o, s, s->null_be);
		return true;
	case CS_DLT_LOOP:
		put_loopback(o, s, true);
		return true;
	case CS_DLT_RAW: case CS_DLT_RAW_OPENBSD: case CS_DLT_LINKTYPE_RAW:
	case CS_DLT_IPV4: case CS_DLT_IPV6:
		return true;
	case CS_DLT_PPP:
		put_ppp(o, s);
		return true;
	case CS_DLT_PPP_SERIAL:
		if (s->chdlc)
			put_chdlc(o, s);
		else
			put_ppp(o, s);
		return true;
	case CS_DLT_C_HDLC:
		put_chdlc(o, s);
		return true;
	case CS_DLT_FDDI:
		put_fddi(o, s);
		return true;
	case CS_DLT_IEEE802_11:
		put_wlan(o, s, false);
		return true;
	case CS_DLT_IEEE802_11_RADIO:
		put_radiotap(o, s, fix);
		return true;
	case CS_DLT_NFLOG:
		put_nflog(o, s, fix);
		return true;
	default:
		return false;
	}
}

size_t pb_link_len(const struct pb_spec *s)
{
	uint8_t hdr[512];
	struct out o = { hdr, sizeof hdr, 0, false };
	struct link_fix fix = { .len_cnt = 0 };

	return put_link(&o, s, &fix) && !o.err ? o.len : 0;
}

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return ~crc;
}

/* Patches the link layer's length fields and appends the 802.11 FCS. */
static void finish_link(struct out *o, const struct link_fix *fix)
{
	for (int i = 0; i < fix->len_cnt && !o->err; i++) {
		uint16_t v = (uint16_t)(o->len - fix->len[i].from);
		if (fix->len[i].host)
			memcpy(o->buf + fix->len[i].at, &v, 2);
		else
			patch_be16(o, fix->len[i].at, v);
	}
	if (fix->fcs && !o->err)
		put32(o, crc32_ieee(o->buf + fix->fcs_from, o->len - fix->fcs_from), false);
}

/* ---- transport ------------------------------------------------------------ */

static uint8_t l4_proto(const struct pb_spec *s)
{
	switch (s->l4) {
	case PB_L4_TCP:	 return PROTO_TCP;
	case PB_L4_UDP:	 return PROTO_UDP;
	case PB_L4_ICMP: return s->ip_ver == 4 ? PROTO_ICMP : PROTO_ICMPV6;
	default:	 return s->proto;
	}
}

static void put_tcp(struct out *o, const struct pb_spec *s)
{
	const struct pb_tcp *t = &s->tcp;
	size_t opt_len = t->opt_len <= PB_TCPOPT_MAX ? t->opt_len : PB_TCPOPT_MAX;
	size_t padded = round4(opt_len);
	unsigned doff = t->doff ? t->doff : (unsigned)(20 + padded) / 4;

	put_be16(o, t->sport);
	put_be16(o, t->dport);
	put_be32(o, t->seq);
	put_be32(o, t->ack);
	put_be16(o, (uint16_t)((doff & 0xf) << 12 | (t->flags & 0x0fff)));
	put_be16(o, t->win);
	put_be16(o, 0);		/* checksum, patched */
	put_be16(o, t->urg);
	put(o, t->opt, opt_len);
	put_fill(o, 0, padded - opt_len);	/* EOL */
	put_payload(o, s->payload_len);
}

static void put_udp(struct out *o, const struct pb_spec *s)
{
	put_be16(o, s->tcp.sport);
	put_be16(o, s->tcp.dport);
	put_be16(o, (uint16_t)(8 + s->payload_len));
	put_be16(o, 0);		/* checksum, patched */
	put_payload(o, s->payload_len);
}

static bool put_datagram(struct out *o, const struct pb_spec *s);

static void put_icmp(struct out *o, const struct pb_spec *s)
{
	const struct pb_icmp *ic = &s->icmp;

	put_u8(o, ic->type);
	put_u8(o, ic->code);
	put_be16(o, 0);		/* checksum, patched */
	put_be32(o, ic->rest);
	if (ic->quote) {
		size_t qstart = o->len;
		if (!put_datagram(o, ic->quote))
			o->err = true;
		/* Routers quote the IP header and 8 bytes (RFC 792), or as
		 * much as fits in 576/1280 bytes (RFC 1812, RFC 4443). */
		if (!o->err && ic->quote_len > 0 && o->len - qstart > ic->quote_len)
			o->len = qstart + ic->quote_len;
	}
	put_payload(o, s->payload_len);
}

/* Writes the transport header and data, then its checksum. */
static void put_l4(struct out *o, const struct pb_spec *s)
{
	size_t start = o->len;
	size_t csum_at;
	uint32_t acc = 0;

	switch (s->l4) {
	case PB_L4_TCP:
		put_tcp(o, s);
		csum_at = 16;
		break;
	case PB_L4_UDP:
		put_udp(o, s);
		csum_at = 6;
		break;
	case PB_L4_ICMP:
		put_icmp(o, s);
		csum_at = 2;
		break;
	default:
		put_payload(o, s->payload_len);
		return;
	}
	if (o->err)
		return;
	size_t len = o->len - start;
	/* ICMPv4 alone has no pseudo-header (RFC 792 vs RFC 4443 2.3). */
	if (!(s->l4 == PB_L4_ICMP && s->ip_ver == 4))
		acc = pseudo_sum(s, l4_proto(s), len);
	uint16_t c = fold(sum16(o->buf + start, len, acc));
	if (s->l4 == PB_L4_UDP && c == 0)
		c = 0xffff;	/* RFC 768: 0 means "no checksum" */
	patch_be16(o, start + csum_at, c);
}

/* ---- IPv4 ------------------------------------------------------------------ */

static bool put_ipv4(struct out *o, const struct pb_spec *s)
{
	size_t start = o->len;
	size_t opt_len = s->ip_opt_len <= PB_IPOPT_MAX ? s->ip_opt_len : PB_IPOPT_MAX;
	size_t hlen = 20 + round4(opt_len);
	uint16_t frag = (uint16_t)((s->frag_df ? 0x4000 : 0) |
				   (s->frag_more ? 0x2000 : 0) |
				   (s->frag_off & 0x1fff));

	put_u8(o, (uint8_t)(0x40 | hlen / 4));
	put_u8(o, 0);			/* DSCP/ECN */
	put_be16(o, 0);			/* total length, patched */
	put_be16(o, 0x1234);		/* identification */
	put_be16(o, frag);
	put_u8(o, s->ttl);
	put_u8(o, l4_proto(s));
	put_be16(o, 0);			/* header checksum, patched */
	put(o, s->src, 4);
	put(o, s->dst, 4);
	put(o, s->ip_opt, opt_len);
	put_fill(o, 0, hlen - 20 - opt_len);	/* EOL */
	put_l4(o, s);
	if (o->err)
		return false;

	size_t total = o->len - start;
	if (!s->len_set && total > 0xffff)
		return false;	/* not expressible: set len_field (0 for TSO) */
	patch_be16(o, start + 2, s->len_set ? s->len_field : (uint16_t)total);
	patch_be16(o, start + 10, fold(sum16(o->buf + start, hlen, 0)));
	return true;
}

/* ---- IPv6 ------------------------------------------------------------------ */

/* Fills n bytes of a hop-by-hop or destination options header (RFC 8200 4.2). */
static void put_option_padding(struct out *o, size_t n)
{
	while (n > 0) {
		if (n == 1) {
			put_u8(o, 0);			/* Pad1 */
			return;
		}
		size_t body = n - 2 > 255 ? 255 : n - 2;
		put_u8(o, 1);				/* PadN */
		put_u8(o, (uint8_t)body);
		put_fill(o, 0, body);
		n -= body + 2;
	}
}

/* Writes one extension header; *jumbo_at gets the jumbo value's offset. */
static void put_ext(struct out *o, const struct pb_ext *e, uint8_t next,
		    size_t *jumbo_at)
{
	size_t start = o->len;

	if (e->type == PB_EXT_FRAGMENT) {
		put_u8(o, next);
		put_u8(o, 0);
		put_be16(o, (uint16_t)((e->frag_off & 0x1fff) << 3 |
				       (e->frag_more ? 1 : 0)));
		put_be32(o, 0x01020304);	/* identification */
		return;
	}
	if (e->type == PB_EXT_AH) {
		/* RFC 4302 2.2: length in 4-octet units, minus 2. */
		uint8_t n = e->hdr_len ? e->hdr_len : 4;
		put_u8(o, next);
		put_u8(o, n);
		put_be16(o, 0);
		put_be32(o, 0x100);		/* SPI */
		put_be32(o, 1);			/* sequence number */
		put_fill(o, 0, ((size_t)n + 2) * 4 - 12);	/* ICV */
		return;
	}

	size_t size = ((size_t)e->hdr_len + 1) * 8;
	put_u8(o, next);
	put_u8(o, e->hdr_len);
	if (e->type == PB_EXT_HOPOPTS || e->type == PB_EXT_DSTOPTS) {
		if (e->jumbo) {
			/* Type 0xC2, 4n+2 alignment: right after the two bytes. */
			put_u8(o, 0xc2);
			put_u8(o, 4);
			*jumbo_at = o->len;
			put_be32(o, 0);		/* patched */
		}
		if (!o->err)
			put_option_padding(o, size - (o->len - start));
	} else if (e->type == PB_EXT_ROUTING) {
		put_u8(o, 0);			/* routing type */
		put_u8(o, 0);			/* segments left: nothing to do */
		put_fill(o, 0, size - 4);
	} else {
		put_fill(o, 0, size - 2);
	}
}

static bool put_ipv6(struct out *o, const struct pb_spec *s)
{
	size_t start = o->len;
	size_t jumbo_at = 0;
	unsigned n = s->ext_cnt <= PB_EXT_MAX ? s->ext_cnt : PB_EXT_MAX;

	put_be32(o, 0x60000000);	/* version, class, flow label */
	put_be16(o, 0);			/* payload length, patched */
	put_u8(o, n > 0 ? s->ext[0].type : l4_proto(s));
	put_u8(o, s->ttl);
	put(o, s->src, 16);
	put(o, s->dst, 16);
	for (unsigned i = 0; i < n; i++)
		put_ext(o, &s->ext[i], i + 1 < n ? s->ext[i + 1].type : l4_proto(s),
			&jumbo_at);
	put_l4(o, s);
	if (o->err)
		return false;

	size_t plen = o->len - start - 40;
	if (jumbo_at) {
		const struct pb_ext *j = NULL;
		for (unsigned i = 0; i < n && !j; i++)
			if (s->ext[i].jumbo)
				j = &s->ext[i];
		patch_be32(o, jumbo_at, j && j->jumbo_len ? j->jumbo_len : (uint32_t)plen);
		patch_be16(o, start + 4, s->len_set ? s->len_field : 0);
		return true;
	}
	if (!s->len_set && plen > 0xffff)
		return false;	/* needs a jumbo option or len_field 0 */
	patch_be16(o, start + 4, s->len_set ? s->len_field : (uint16_t)plen);
	return true;
}

static bool put_datagram(struct out *o, const struct pb_spec *s)
{
	if (s->ip_ver == 4)
		return put_ipv4(o, s);
	if (s->ip_ver == 6)
		return put_ipv6(o, s);
	return false;
}

size_t pb_build(const struct pb_spec *s, uint8_t *buf, size_t cap)
{
	struct out o = { buf, cap, 0, false };
	struct link_fix fix = { .len_cnt = 0 };

	if (!put_link(&o, s, &fix) || !put_datagram(&o, s))
		return 0;
	finish_link(&o, &fix);
	put_fill(&o, TRAILER_BYTE, s->trailer_len);
	return o.err ? 0 : o.len;
}

/* ---- capture files ---------------------------------------------------------- */

enum {
	PCAP_MAGIC_US = 0xa1b2c3d4,
	PCAP_MAGIC_NS = 0xa1b23c4d,
	PCAP_SNAPLEN_DEFAULT = 262144,
	PCAPNG_SHB = 0x0a0d0d0a,
	PCAPNG_IDB = 0x00000001,
	PCAPNG_EPB = 0x00000006,
	PCAPNG_BOM = 0x1a2b3c4d,
	PCAPNG_OPT_TSRESOL = 9,
	PCAPNG_OPT_TSOFFSET = 14,
};

static uint32_t snaplen_of(const struct pb_file *f)
{
	return f->snaplen ? f->snaplen : PCAP_SNAPLEN_DEFAULT;
}

static uint32_t wirelen_of(const struct pb_rec *r)
{
	return r->wirelen ? r->wirelen : r->caplen;
}

size_t pb_pcap_write(const struct pb_file *f, const struct pb_rec *recs,
		     size_t n, uint8_t *buf, size_t cap)
{
	struct out o = { buf, cap, 0, false };
	const bool be = f->big_endian;
	const uint64_t div = f->nanosec ? 1000000000u : 1000000u;

	put32(&o, f->nanosec ? PCAP_MAGIC_NS : PCAP_MAGIC_US, be);
	put16(&o, 2, be);		/* version 2.4 */
	put16(&o, 4, be);
	put32(&o, 0, be);		/* thiszone */
	put32(&o, 0, be);		/* sigfigs */
	put32(&o, snaplen_of(f), be);
	put32(&o, (uint32_t)f->dlt, be);
	for (size_t i = 0; i < n; i++) {
		uint64_t ts = f->nanosec ? recs[i].ts_ns : recs[i].ts_ns / 1000;
		bool raw = recs[i].raw_ts;
		put32(&o, raw ? recs[i].raw_sec : (uint32_t)(ts / div), be);
		put32(&o, raw ? recs[i].raw_frac : (uint32_t)(ts % div), be);
		put32(&o, recs[i].caplen, be);
		put32(&o, wirelen_of(&recs[i]), be);
		put(&o, recs[i].bytes, recs[i].caplen);
	}
	return o.err ? 0 : o.len;
}

/* Block total length is written twice: after the type and at the end. */
static void pcapng_shb(struct out *o, bool be)
{
	put32(o, PCAPNG_SHB, be);
	put32(o, 28, be);
	put32(o, PCAPNG_BOM, be);
	put16(o, 1, be);		/* version 1.0 */
	put16(o, 0, be);
	put32(o, 0xffffffff, be);	/* section length: unknown */
	put32(o, 0xffffffff, be);
	put32(o, 28, be);
}

static bool idb_has_tsresol(const struct pb_file *f)
{
	return f->nanosec || f->has_tsresol;
}

static void pcapng_idb(struct out *o, const struct pb_file *f, bool be)
{
	bool resol = idb_has_tsresol(f), offset = f->has_tsoffset;
	uint32_t len = 20 + (resol ? 8 : 0) + (offset ? 12 : 0) +
		       (resol || offset ? 4 : 0);

	put32(o, PCAPNG_IDB, be);
	put32(o, len, be);
	put16(o, (uint16_t)f->dlt, be);
	put16(o, 0, be);
	put32(o, snaplen_of(f), be);
	if (resol) {
		put16(o, PCAPNG_OPT_TSRESOL, be);
		put16(o, 1, be);
		put_u8(o, f->has_tsresol ? f->tsresol : 9);	/* 10^-n s */
		put_fill(o, 0, 3);
	}
	if (offset) {
		put16(o, PCAPNG_OPT_TSOFFSET, be);
		put16(o, 8, be);
		put32(o, (uint32_t)((uint64_t)f->tsoffset >> (be ? 32 : 0)), be);
		put32(o, (uint32_t)((uint64_t)f->tsoffset >> (be ? 0 : 32)), be);
	}
	if (resol || offset)
		put32(o, 0, be);	/* opt_endofopt */
	put32(o, len, be);
}

static void pcapng_epb(struct out *o, const struct pb_rec *r, bool nanosec, bool be)
{
	uint64_t ts = r->raw_ts ? r->raw_units : nanosec ? r->ts_ns : r->ts_ns / 1000;
	size_t padded = round4(r->caplen);
	uint32_t len = (uint32_t)(32 + padded);

	put32(o, PCAPNG_EPB, be);
	put32(o, len, be);
	put32(o, 0, be);		/* interface id */
	put32(o, (uint32_t)(ts >> 32), be);
	put32(o, (uint32_t)ts, be);
	put32(o, r->caplen, be);
	put32(o, wirelen_of(r), be);
	put(o, r->bytes, r->caplen);
	put_fill(o, 0, padded - r->caplen);
	put32(o, len, be);
}

size_t pb_pcapng_write(const struct pb_file *f, const struct pb_rec *recs,
		       size_t n, uint8_t *buf, size_t cap)
{
	struct out o = { buf, cap, 0, false };

	pcapng_shb(&o, f->big_endian);
	pcapng_idb(&o, f, f->big_endian);
	for (size_t i = 0; i < n; i++)
		pcapng_epb(&o, &recs[i], f->nanosec, f->big_endian);
	return o.err ? 0 : o.len;
}

/* ---- encapsulations ---------------------------------------------------------- */

enum {
	PROTO_IPIP = 4,
	PROTO_IPV6_IN_IP = 41,
	PROTO_GRE = 47,
	ETH_MPLS = 0x8847,
	ETH_FABRICPATH = 0x8903,
	ETH_TEB = 0x6558,
	ETH_ERSPAN_2 = 0x88be,
	ETH_ERSPAN_3 = 0x22eb,
	ETH_PPP = 0x880b,
	ETH_PBB = 0x88e7,
	ARUBA_DEFAULT = 0x8210,
	AYIYA_IDENTITY = 16,	/* an IPv6 address: length code 4 (2^4 bytes) */
	AYIYA_SIGNATURE = 20,	/* SHA-1: 5 words */
	TUN_HDR_MAX = 1024,	/* the longest header written below, with room */
};

bool pb_tunnel_carries_frame(const struct pb_tunnel *t)
{
	switch (t->kind) {
	case PB_TUN_FABRICPATH: case PB_TUN_ERSPAN1: case PB_TUN_ERSPAN2:
	case PB_TUN_ERSPAN3: case PB_TUN_VXLAN: case PB_TUN_PBB:
		return true;
	case PB_TUN_GRE: case PB_TUN_GENEVE: case PB_TUN_GRE_UDP:
		return t->eth;
	default:
		return false;
	}
}

int pb_tunnel_inner_dlt(const struct pb_tunnel *t)
{
	if (t->kind == PB_TUN_ARUBA)
		return CS_DLT_IEEE802_11;
	return pb_tunnel_carries_frame(t) ? CS_DLT_EN10MB : CS_DLT_RAW;
}

static bool tunnel_over_udp(const struct pb_tunnel *t)
{
	switch (t->kind) {
	case PB_TUN_VXLAN: case PB_TUN_GENEVE: case PB_TUN_TEREDO:
	case PB_TUN_GTPU: case PB_TUN_GRE_UDP: case PB_TUN_AYIYA:
		return true;
	default:
		return false;
	}
}

/* The tunnels that write their own Ethernet header around what they carry. */
static bool tunnel_over_ethernet(const struct pb_tunnel *t)
{
	return t->kind == PB_TUN_MPLS || t->kind == PB_TUN_FABRICPATH ||
	       t->kind == PB_TUN_PBB;
}

static uint16_t inner_ethertype(const uint8_t *inner, size_t len)
{
	return len > 0 && inner[0] >> 4 == 6 ? ETH_IPV6 : ETH_IPV4;
}

/* GRE base header and the optional words, in RFC 2890 order. */
static void put_gre(struct out *o, uint16_t flags, uint16_t type, uint32_t key)
{
	put_be16(o, flags);
	put_be16(o, type);
	if (flags & 0x8000)
		put_be32(o, 0);		/* checksum (patched), reserved */
	if (flags & 0x2000)
		put_be32(o, key);
	if (flags & 0x1000)
		put_be32(o, 7);		/* sequence number */
}

/* Everything between the outer (IP/UDP or Ethernet type) and inner. */
static void put_tunnel_header(struct out *o, const struct pb_tunnel *t,
			      const uint8_t *inner, size_t inner_len)
{
	uint16_t gre_flags;

	switch (t->kind) {
	case PB_TUN_MPLS: {
		unsigned n = t->labels ? t->labels : 1;
		for (unsigned i = 0; i < n; i++) {
			bool bottom = i + 1 == n;
			uint32_t label = bottom ? t->id & 0xfffff : 16 + i;
			put_be32(o, label << 12 | (bottom ? 0x100u : 0u) | 64);
		}
		break;
	}
	case PB_TUN_FABRICPATH:
		put_be16(o, (uint16_t)(1 << 6 | 32));	/* FTag 1, TTL 32 */
		break;
	case PB_TUN_GRE:
	case PB_TUN_GRE_UDP:
		gre_flags = (uint16_t)((t->gre_csum ? 0x8000 : 0) |
				       (t->gre_key ? 0x2000 : 0) |
				       (t->gre_seq ? 0x1000 : 0));
		put_gre(o, gre_flags, t->eth ? ETH_TEB : inner_ethertype(inner, inner_len),
			t->id);
		break;
	case PB_TUN_ARUBA:
		put_gre(o, t->gre_key ? 0x2000 : 0,
			t->aruba_type ? t->aruba_type : ARUBA_DEFAULT, t->id);
		break;
	case PB_TUN_ERSPAN1:
		put_gre(o, 0, ETH_ERSPAN_2, 0);		/* no sequence: no header */
		break;
	case PB_TUN_PBB:
		put_be32(o, t->id & 0xffffff);		/* I-tag: PCP 0, I-SID */
		break;
	case PB_TUN_AYIYA: {
		/* identity: an IPv6 address; SHA-1 signature, shared secret,
		 * forward; next header by the datagram's family */
		bool v6 = inner_ethertype(inner, inner_len) == ETH_IPV6;
		put_u8(o, 4 << 4 | 1);
		put_u8(o, (AYIYA_SIGNATURE / 4) << 4 | 2);
		put_u8(o, 1 << 4 | 1);
		put_u8(o, v6 ? 41 : 4);
		put_be32(o, 1700000000);		/* epoch time */
		put_fill(o, 0x20, AYIYA_IDENTITY);
		put_fill(o, 0x5a, AYIYA_SIGNATURE);
		break;
	}
	case PB_TUN_ERSPAN2:
		put_gre(o, 0x1000, ETH_ERSPAN_2, 0);
		put_be16(o, 1 << 12 | 10);		/* version 1, VLAN 10 */
		put_be16(o, (uint16_t)(t->id & 0x3ff));	/* COS, En, T, session */
		put_be32(o, 0);				/* reserved, index */
		break;
	case PB_TUN_ERSPAN3:
		put_gre(o, 0x1000, ETH_ERSPAN_3, 0);
		put_be16(o, 2 << 12 | 10);		/* version 2, VLAN 10 */
		put_be16(o, (uint16_t)(t->id & 0x3ff));
		put_be32(o, 0x01020304);		/* timestamp */
		put_be16(o, 0);				/* SGT */
		/* P, FT 0 (Ethernet), HW ID, D, Gra, O */
		put_be16(o, t->erspan_subheader ? 1 : 0);
		if (t->erspan_subheader) {
			put_be32(o, 3u << 26 | 0x1234);	/* platform ID 3, switch ID */
			put_be32(o, 0x01020304);	/* timestamp seconds */
		}
		break;
	case PB_TUN_PPTP: {
		size_t ppp = (t->ppp_compressed ? 1 : 4) + inner_len;
		put_be16(o, 0x3001);			/* K, S, version 1 */
		put_be16(o, ETH_PPP);
		put_be16(o, (uint16_t)ppp);		/* key: payload length, */
		put_be16(o, (uint16_t)t->id);		/* call ID */
		put_be32(o, 7);				/* sequence number */
		bool v6 = inner_ethertype(inner, inner_len) == ETH_IPV6;
		if (t->ppp_compressed) {
			put_u8(o, v6 ? 0x57 : 0x21);
		} else {
			put_be16(o, 0xff03);
			put_be16(o, v6 ? 0x0057 : 0x0021);
		}
		break;
	}
	case PB_TUN_IPIP:
		break;
	case PB_TUN_VXLAN:
		put_be32(o, 0x08000000);		/* I flag */
		put_be32(o, (t->id & 0xffffff) << 8);
		break;
	case PB_TUN_GENEVE: {
		unsigned words = t->geneve_opt_words & 0x3f;
		put_u8(o, (uint8_t)words);
		put_u8(o, 0);
		put_be16(o, t->eth ? ETH_TEB : inner_ethertype(inner, inner_len));
		put_be32(o, (t->id & 0xffffff) << 8);
		if (words > 0) {
			unsigned body = words - 1 > 31 ? 31 : words - 1;
			put_be16(o, 0x0103);		/* option class */
			put_u8(o, 0x01);		/* type */
			put_u8(o, (uint8_t)body);
			put_fill(o, 0, (size_t)(words - 1) * 4);
		}
		break;
	}
	case PB_TUN_TEREDO:
		if (t->teredo_auth) {
			put_be16(o, 1);
			put_u8(o, 2);			/* client id length */
			put_u8(o, 3);			/* authentication value length */
			put(o, "idabc", 5);
			put_be32(o, 0x11223344);	/* nonce */
			put_be32(o, 0x55667788);
			put_u8(o, 0);			/* confirmation */
		}
		if (t->teredo_origin) {
			put_be16(o, 0);
			put_be16(o, 40000 ^ 0xffff);	/* obfuscated port */
			put_be32(o, 0xc0000201 ^ 0xffffffffu);	/* and address */
		}
		break;
	case PB_TUN_GTPU: {
		bool opt = t->gtp_seq || t->gtp_ext_cnt > 0;
		size_t len = (opt ? 4 : 0) + 4 * (size_t)t->gtp_ext_cnt + inner_len;
		put_u8(o, (uint8_t)(0x30 | (t->gtp_ext_cnt ? 0x04 : 0) |
				    (t->gtp_seq ? 0x02 : 0)));
		put_u8(o, 255);				/* G-PDU */
		put_be16(o, (uint16_t)len);
		put_be32(o, t->id);
		if (opt) {
			put_be16(o, 1);			/* sequence number */
			put_u8(o, 0);			/* N-PDU number */
			put_u8(o, t->gtp_ext_cnt ? 0x85 : 0);
		}
		for (unsigned i = 0; i < t->gtp_ext_cnt; i++) {
			put_u8(o, 1);			/* 4 bytes */
			put_u8(o, 0);			/* PDU session container */
			put_u8(o, 9);			/* QFI */
			put_u8(o, i + 1 < t->gtp_ext_cnt ? 0x85 : 0);
		}
		break;
	}
	}
}

static uint16_t tunnel_port(const struct pb_tunnel *t, bool dst)
{
	uint16_t set = dst ? t->dport : t->sport;
	if (set)
		return set;
	switch (t->kind) {
	case PB_TUN_VXLAN:	return dst ? 4789 : 49152;
	case PB_TUN_GENEVE:	return dst ? 6081 : 50000;
	case PB_TUN_TEREDO:	return dst ? 3544 : 40000;
	case PB_TUN_GRE_UDP:	return dst ? 4754 : 50123;
	case PB_TUN_AYIYA:	return dst ? 5072 : 50124;
	default:		return 2152;
	}
}

/* Cuts the IPv4 datagram at ip_off to a first fragment of `keep` bytes. */
static size_t first_fragment(uint8_t *buf, size_t ip_off, size_t keep)
{
	size_t hlen = (size_t)(buf[ip_off] & 0x0f) * 4;
	size_t total = hlen + keep;
	struct out o = { buf, ip_off + total, ip_off + total, false };

	buf[ip_off + 6] |= 0x20;		/* MF */
	patch_be16(&o, ip_off + 2, (uint16_t)total);
	patch_be16(&o, ip_off + 10, 0);
	patch_be16(&o, ip_off + 10, fold(sum16(buf + ip_off, hlen, 0)));
	return ip_off + total;
}

size_t pb_tunnel_wrap(const struct pb_spec *outer, const struct pb_tunnel *t,
		      const uint8_t *inner, size_t inner_len,
		      uint8_t *buf, size_t cap)
{
	uint8_t hdr[TUN_HDR_MAX];
	struct out h = { hdr, sizeof hdr, 0, false };

	put_tunnel_header(&h, t, inner, inner_len);
	if (h.err)
		return 0;

	if (tunnel_over_ethernet(t)) {
		struct pb_spec eth = *outer;
		struct out o = { buf, cap, 0, false };
		struct link_fix fix = { .len_cnt = 0 };
		eth.ethertype = t->kind == PB_TUN_MPLS ? ETH_MPLS :
				t->kind == PB_TUN_PBB ? ETH_PBB : ETH_FABRICPATH;
		eth.llc_snap = eth.pppoe = false;
		put_ethernet(&o, &eth, &fix);
		put(&o, hdr, h.len);
		if (inner_len > 0)
			put(&o, inner, inner_len);
		put_fill(&o, TRAILER_BYTE, outer->trailer_len);
		return o.err ? 0 : o.len;
	}

	/* The outer datagram, its payload a placeholder overwritten below. */
	struct pb_spec s = *outer;
	size_t pay = h.len + inner_len;
	bool udp = tunnel_over_udp(t);
	s.l4 = udp ? PB_L4_UDP : PB_L4_RAW;
	if (t->kind == PB_TUN_IPIP)
		s.proto = inner_ethertype(inner, inner_len) == ETH_IPV6 ? PROTO_IPV6_IN_IP
									: PROTO_IPIP;
	else
		s.proto = PROTO_GRE;
	s.tcp.sport = tunnel_port(t, false);
	s.tcp.dport = tunnel_port(t, true);
	s.payload_len = pay;
	s.trailer_len = 0;
	size_t n = pb_build(&s, buf, cap);
	if (n == 0 || n < pay)
		return 0;
	size_t at = n - pay;
	memcpy(buf + at, hdr, h.len);
	if (inner_len > 0)
		memcpy(buf + at + h.len, inner, inner_len);

	struct out o = { buf, n, n, false };
	if ((t->kind == PB_TUN_GRE || t->kind == PB_TUN_GRE_UDP) && t->gre_csum)
		patch_be16(&o, at + 4, fold(sum16(buf + at, pay, 0)));
	if (udp) {
		size_t u = at - 8;
		patch_be16(&o, u + 6, 0);
		uint16_t c = fold(sum16(buf + u, 8 + pay, pseudo_sum(&s, PROTO_UDP, 8 + pay)));
		patch_be16(&o, u + 6, c ? c : 0xffff);
	}
	if (t->first_frag && s.ip_ver == 4 && t->first_frag < n - pb_link_len(&s) - 20)
		n = first_fragment(buf, pb_link_len(&s), t->first_frag);
	if (outer->trailer_len) {
		o.len = n;
		o.cap = cap;
		put_fill(&o, TRAILER_BYTE, outer->trailer_len);
		if (o.err)
			return 0;
		n = o.len;
	}
	return n;
}

size_t pb_tunnel_build(const struct pb_spec *outer, const struct pb_tunnel *t,
		       const struct pb_spec *inner, uint8_t *buf, size_t cap)
{
	/* Not reentrant: test code, one test at a time per process. */
	static uint8_t inner_buf[70000];
	struct pb_spec in = *inner;

	in.dlt = pb_tunnel_inner_dlt(t);
	size_t n = pb_build(&in, inner_buf, sizeof inner_buf);
	if (n == 0)
		return 0;
	return pb_tunnel_wrap(outer, t, inner_buf, n, buf, cap);
}

/* ---- IPv4 fragments -------------------------------------------------------- */

/* IPv6 without extension headers: a Fragment header (id 0x1234) goes
 * after the fixed header, and takes over its next header. */
static size_t ip6_fragment(const uint8_t *frame, size_t n, size_t link_len,
			   size_t off, size_t len, bool more, uint8_t *buf, size_t cap)
{
	size_t plen = (size_t)frame[link_len + 4] << 8 | frame[link_len + 5];
	if (link_len + 40 + plen > n || off + len > plen ||
	    link_len + 48 + len > cap)
		return 0;
	memcpy(buf, frame, link_len + 40);
	uint8_t *ip = buf + link_len, *fh = ip + 40;
	size_t fplen = 8 + len;
	uint16_t off_m = (uint16_t)(off | (more ? 1 : 0));
	fh[0] = ip[6];			/* the next header, now after Fragment */
	fh[1] = 0;
	fh[2] = (uint8_t)(off_m >> 8);
	fh[3] = (uint8_t)off_m;
	fh[4] = 0;
	fh[5] = 0;
	fh[6] = 0x12;
	fh[7] = 0x34;
	ip[6] = 44;
	ip[4] = (uint8_t)(fplen >> 8);
	ip[5] = (uint8_t)fplen;
	memcpy(fh + 8, frame + link_len + 40 + off, len);
	return link_len + 48 + len;
}

size_t pb_ip_fragment(const uint8_t *frame, size_t n, size_t link_len,
		      size_t off, size_t len, bool more, uint8_t *buf, size_t cap)
{
	if (link_len + 40 <= n && frame[link_len] >> 4 == 6 && off % 8 == 0)
		return ip6_fragment(frame, n, link_len, off, len, more, buf, cap);
	if (link_len + 20 > n || frame[link_len] >> 4 != 4 || off % 8 != 0)
		return 0;
	size_t hlen = (size_t)(frame[link_len] & 0x0f) * 4;
	size_t total = (size_t)frame[link_len + 2] << 8 | frame[link_len + 3];
	if (hlen < 20 || total < hlen || link_len + total > n ||
	    off + len > total - hlen || link_len + hlen + len > cap)
		return 0;
	memcpy(buf, frame, link_len + hlen);
	memcpy(buf + link_len + hlen, frame + link_len + hlen + off, len);
	uint8_t *ip = buf + link_len;
	size_t ftotal = hlen + len;
	uint16_t field = (uint16_t)((more ? 0x2000 : 0) | (off / 8));
	ip[2] = (uint8_t)(ftotal >> 8);
	ip[3] = (uint8_t)ftotal;
	ip[6] = (uint8_t)(field >> 8);
	ip[7] = (uint8_t)field;
	ip[10] = ip[11] = 0;
	uint16_t sum = fold(sum16(ip, hlen, 0));
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
	return link_len + hlen + len;
}
