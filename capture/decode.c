/*
 * decode.c — IP, TCP, ICMP errors and tunnels, bounds-checked.
 *
 * cs_decode hands the frame to its link layer (link.c), which comes back
 * here with the IP datagram.  Layers are peeled with the cursor of
 * layers.h, and every byte is read through it: a field needed before the
 * cursor moves is peeked at its offset, never indexed.  Each layer's
 * declared length becomes a sub-reader so an inner header can never read
 * into the outer one's trailer (Ethernet padding, for one).  Two lengths
 * are tracked apart: what was captured (the reader) and what was on the
 * wire (wire_left), so a short snap length is told from a header that lies
 * about its length.
 *
 * Encapsulations (MPLS, GRE/ERSPAN/PPTP, IP-in-IP, VXLAN, Geneve, Teredo,
 * GTP-U; FabricPath in link.c) are peeled by the same routines recursing
 * into the inner header, so the inner connection is what the view
 * describes; pkt->tunnel keeps the outer endpoints.  Recursion is bounded
 * by CS_TUNNEL_MAX_DEPTH, counted before each layer is entered.
 */
#include "capture/decode.h"

#include <string.h>

#include "capture/checksum.h"
#include "capture/layers.h"

enum {
	ETH_TEB = 0x6558,	/* transparent Ethernet bridging (GRE, Geneve) */
	ETH_ERSPAN_2 = 0x88be,	/* ERSPAN type I (no header) and II */
	ETH_ERSPAN_3 = 0x22eb,
	ETH_PPP = 0x880b,	/* enhanced GRE (PPTP) payload */
	IPV6_EXT_MAX = 16,	/* bound on the extension-header walk */
	MPLS_MAX_LABELS = 16,	/* bound on the label-stack walk */
	GTP_EXT_MAX = 16,	/* bound on the GTP-U extension-header walk */
};

enum {
	PORT_VXLAN = 4789,	/* RFC 7348 */
	PORT_GENEVE = 6081,	/* RFC 8926 */
	PORT_GTPU = 2152,	/* 3GPP TS 29.281 */
	PORT_TEREDO = 3544,	/* RFC 4380 */
	PORT_GRE_UDP = 4754,	/* RFC 8086 */
	PORT_AYIYA = 5072,	/* SixXS */
	/* What a tunnel in a first fragment may declare beyond the fragment:
	 * the inner datagram's end is not in this frame, only bounded. */
	FRAG_WIRE_MAX = 65535,
};

enum {
	PROTO_HOPOPTS = 0,
	PROTO_ICMP = 1,
	PROTO_IPIP = 4,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	PROTO_IPV6 = 41,
	PROTO_ROUTING = 43,
	PROTO_FRAGMENT = 44,
	PROTO_GRE = 47,
	PROTO_ESP = 50,
	PROTO_AH = 51,
	PROTO_ICMPV6 = 58,
	PROTO_NONE = 59,
	PROTO_DSTOPTS = 60,
	PROTO_MOBILITY = 135,
	PROTO_HIP = 139,
	PROTO_SHIM6 = 140,
	PROTO_EXP1 = 253,
	PROTO_EXP2 = 254,
};

static void addr_from_v4(struct cs_addr *a, const uint8_t v4[4])
{
	memset(a->b, 0, 10);
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	memcpy(a->b + 12, v4, 4);
}

/* ---- TCP ---------------------------------------------------------------- */

/* Exact option lengths (RFC 9293 3.1, RFC 7323, RFC 2018, RFC 2385). */
static bool option_length_ok(uint8_t kind, uint8_t len)
{
	switch (kind) {
	case 2:	 return len == 4;		/* MSS */
	case 3:	 return len == 3;		/* window scale */
	case 4:	 return len == 2;		/* SACK permitted */
	case 5:	 return len >= 10 && (len - 2) % 8 == 0; /* SACK blocks */
	case 8:	 return len == 10;		/* timestamps */
	case 19: return len == 18;		/* TCP MD5 signature */
	case 28: return len == 4;		/* user timeout */
	case 29: return len >= 4;		/* TCP-AO */
	case 30: return len >= 3;		/* MPTCP: subtype + data */
	case 34: return len == 2 || (len >= 6 && len <= 18); /* Fast Open */
	default: return true;
	}
}

static void store_option(struct cs_tcp_opts *o, uint8_t kind,
			 struct cs_reader body)
{
	switch (kind) {
	case 2:
		o->present |= CS_OPT_MSS;
		o->mss = cs_rd_u16(&body);
		break;
	case 3:
		o->present |= CS_OPT_WSCALE;
		o->wscale = cs_rd_u8(&body);
		break;
	case 4:
		o->present |= CS_OPT_SACK_PERM;
		break;
	case 5:
		o->present |= CS_OPT_SACK;
		o->sack_cnt = 0;
		while (body.left >= 8 && o->sack_cnt < CS_SACK_MAX) {
			o->sack[o->sack_cnt][0] = cs_rd_u32(&body);
			o->sack[o->sack_cnt][1] = cs_rd_u32(&body);
			o->sack_cnt++;
		}
		break;
	case 8:
		o->present |= CS_OPT_TIMESTAMP;
		o->ts_val = cs_rd_u32(&body);
		o->ts_ecr = cs_rd_u32(&body);
		break;
	case 19:
		o->present |= CS_OPT_MD5;
		break;
	case 30:
		o->present |= CS_OPT_MPTCP;
		break;
	case 34:
		o->present |= CS_OPT_FASTOPEN;
		break;
	default:
		break;
	}
}

/*
 * Walks the option list.  `r` holds the option bytes that were captured,
 * `wire_len` how many the header has: an option whose length is wrong for
 * its kind, or runs past the header, is malformed whatever the snap length
 * (the bytes present already show it).  Only an option the snap length cut
 * before its kind and length could be judged is a capture artefact: the
 * options seen so far are kept and the list is marked truncated.
 */
static enum cs_skip decode_tcp_options(struct cs_reader r, size_t wire_len,
				       struct cs_tcp_opts *o)
{
	bool cut = r.left < wire_len;

	while (wire_len > 0) {
		if (r.left == 0)
			goto ran_off;
		uint8_t kind = cs_rd_u8(&r);
		wire_len--;
		if (kind == 0)		/* end of option list */
			break;
		if (kind == 1)		/* no-operation */
			continue;
		if (wire_len == 0)
			return CS_SKIP_BAD_TCP_OPTION;	/* no room for a length */
		if (r.left == 0)
			goto ran_off;
		uint8_t len = cs_rd_u8(&r);
		wire_len--;
		if (len < 2 || (size_t)(len - 2) > wire_len ||
		    !option_length_ok(kind, len))
			return CS_SKIP_BAD_TCP_OPTION;
		if ((size_t)(len - 2) > r.left)
			goto ran_off;
		store_option(o, kind, cs_rd_sub(&r, (size_t)len - 2));
		wire_len -= (size_t)len - 2;
	}
	if (cut)
		o->present |= CS_OPT_TRUNCATED;
	return CS_SKIP_NONE;
ran_off:
	o->present |= CS_OPT_TRUNCATED;
	return CS_SKIP_NONE;
}

/* c covers exactly the TCP segment (header + payload) as the IP layer sized it. */
static enum cs_skip decode_tcp(struct cs_cursor *c, struct cs_pkt *pkt)
{
	struct cs_reader *r = &c->r;
	size_t seg_len = c->wire_left;

	if (seg_len < 20)
		return CS_SKIP_BAD_TCP_HEADER;
	if (!cs_rd_has(r, 20))
		return CS_SKIP_TRUNCATED;

	pkt->tcp = r->p;
	pkt->tcp_caplen = (uint32_t)r->left;
	pkt->sport = cs_rd_u16(r);
	pkt->dport = cs_rd_u16(r);
	pkt->seq = cs_rd_u32(r);
	pkt->ack = cs_rd_u32(r);
	uint16_t off_flags = cs_rd_u16(r);
	pkt->win = cs_rd_u16(r);
	cs_rd_skip(r, 2);	/* checksum: verified on request by the analyzer */
	pkt->urg = cs_rd_u16(r);

	unsigned doff = off_flags >> 12;
	if (doff < 5 || doff * 4u > seg_len)
		return CS_SKIP_BAD_TCP_HEADER;
	pkt->flags = off_flags & 0x1ff;
	pkt->tcp_hlen = (uint16_t)(doff * 4);
	pkt->payload_len = (uint32_t)(seg_len - pkt->tcp_hlen);

	size_t opt_len = pkt->tcp_hlen - 20u;
	struct cs_reader opts = cs_rd_sub(r, r->left < opt_len ? r->left : opt_len);
	return decode_tcp_options(opts, opt_len, &pkt->opt);
}

/* ---- IPv4 / IPv6 headers ------------------------------------------------ */

/* What the IP layer tells the transport layer. */
struct ip_view {
	uint8_t proto;		/* transport protocol after extension headers */
	bool later_fragment;	/* fragment offset != 0: no transport header */
	bool first_fragment;
	bool len_from_wire;
	bool routed;		/* routing header with segments left (RFC 8200 8.1) */
	bool bad_csum;		/* IPv4 header checksum wrong (RFC 791) */
	uint32_t total_len;	/* header + payload */
	struct cs_cursor payload;	/* the transport bytes, bounded by total_len */
};

/*
 * IPv4 options are only skipped, but their framing is checked the way a
 * receiving kernel checks it (a datagram with malformed options is dropped
 * there, so it must not advance connection state here).
 */
static bool ipv4_options_ok(struct cs_reader r)
{
	while (r.left > 0) {
		uint8_t type = cs_rd_u8(&r);
		if (type == 0)
			return true;
		if (type == 1)
			continue;
		if (r.left == 0)
			return false;
		uint8_t len = cs_rd_u8(&r);
		if (len < 2 || (size_t)(len - 2) > r.left)
			return false;
		cs_rd_skip(&r, (size_t)len - 2);
	}
	return true;
}

/*
 * quoted: the header is the one an ICMP error carries back.  Its total
 * length describes the original datagram, not the quote, so it is not
 * checked against what follows.
 */
static enum cs_skip decode_ipv4(struct cs_cursor *c, struct cs_pkt *pkt,
				bool quoted, struct ip_view *v)
{
	struct cs_reader *r = &c->r;
	const enum cs_skip bad = quoted ? CS_SKIP_BAD_ICMP : CS_SKIP_BAD_IP_HEADER;

	if (!cs_rd_has(r, 20))
		return cs_cur_short(c, 20, bad);
	struct cs_reader h = *r;
	uint8_t ver_ihl = cs_rd_u8(&h);
	cs_rd_skip(&h, 1);			/* DSCP/ECN */
	uint16_t total = cs_rd_u16(&h);
	cs_rd_skip(&h, 2);			/* identification */
	uint16_t frag = cs_rd_u16(&h);
	uint8_t ttl = cs_rd_u8(&h);
	v->proto = cs_rd_u8(&h);
	cs_rd_skip(&h, 2);			/* header checksum */
	uint8_t src[4], dst[4];
	cs_rd_copy(&h, src, 4);
	cs_rd_copy(&h, dst, 4);

	if (ver_ihl >> 4 != 4 || (ver_ihl & 0x0f) < 5)
		return bad;
	size_t hlen = (size_t)(ver_ihl & 0x0f) * 4;
	if (!cs_rd_has(r, hlen))
		return cs_cur_short(c, hlen, bad);
	/* h has read the fixed 20 bytes: the options follow. */
	if (hlen > 20 && !ipv4_options_ok(cs_rd_sub(&h, hlen - 20)))
		return bad;
	/* A header holding its own right checksum sums to 0xffff (RFC 1071).
	 * A quote is not checked: the router's copy is what it received. */
	v->bad_csum = !quoted && cs_inet_sum(r->p, hlen, 0) != 0xffff;

	if (quoted) {
		v->total_len = total;
	} else if (total == 0) {
		/* TSO/GSO and BIG TCP super-packets captured on the sending
		 * host carry length 0; the frame is the datagram. */
		v->total_len = (uint32_t)c->wire_left;
		v->len_from_wire = true;
	} else {
		v->total_len = total;
	}
	if (v->total_len < hlen)
		return bad;
	if (!quoted && v->total_len > c->wire_left)
		return bad;

	pkt->ip_ver = 4;
	if (!quoted)
		pkt->ttl = ttl;
	addr_from_v4(&pkt->src, src);
	addr_from_v4(&pkt->dst, dst);

	uint16_t offset = frag & 0x1fff;
	v->later_fragment = offset != 0;
	v->first_fragment = offset == 0 && (frag & 0x2000);

	/* The transport layer sees exactly the datagram's payload; of a quoted
	 * datagram, only as much as the ICMP message carried. */
	size_t pay_wire = v->total_len - hlen;
	cs_cur_skip(c, hlen);
	if (quoted && pay_wire > c->wire_left)
		pay_wire = c->wire_left;
	v->payload.wire_left = pay_wire;
	v->payload.r = cs_rd_sub(&c->r, c->r.left < pay_wire ? c->r.left : pay_wire);
	return CS_SKIP_NONE;
}

/* RFC 2675: the jumbo payload option in a hop-by-hop header. */
static bool find_jumbo(struct cs_reader opts, uint32_t *jumbo)
{
	while (opts.left > 0) {
		uint8_t type = cs_rd_u8(&opts);
		if (type == 0)		/* Pad1 */
			continue;
		uint8_t len = cs_rd_u8(&opts);
		if (opts.err || len > opts.left)
			return false;
		if (type == 0xc2 && len == 4) {
			*jumbo = cs_rd_u32(&opts);
			return true;
		}
		cs_rd_skip(&opts, len);
	}
	return false;
}

static bool ipv6_is_extension(uint8_t nh)
{
	switch (nh) {
	case PROTO_HOPOPTS: case PROTO_ROUTING: case PROTO_FRAGMENT:
	case PROTO_AH: case PROTO_DSTOPTS: case PROTO_MOBILITY:
	case PROTO_HIP: case PROTO_SHIM6: case PROTO_EXP1: case PROTO_EXP2:
		return true;
	default:
		return false;
	}
}

/*
 * Walks the extension-header chain inside the payload (c covers the
 * payload).  Returns the skip reason; on success v->proto is the transport.
 */
static enum cs_skip walk_ipv6_extensions(struct cs_cursor *c, uint8_t nh,
					 enum cs_skip bad, uint32_t *jumbo,
					 bool *have_jumbo, struct ip_view *v)
{
	for (int i = 0; ipv6_is_extension(nh); i++) {
		if (i == IPV6_EXT_MAX)
			return bad;
		if (!cs_rd_has(&c->r, 2))
			return cs_cur_short(c, 2, bad);
		uint8_t next = cs_rd_peek_u8(&c->r, 0);
		size_t ext_len = cs_rd_peek_u8(&c->r, 1);	/* Hdr Ext Len */
		size_t len;
		if (nh == PROTO_FRAGMENT)
			len = 8;
		else if (nh == PROTO_AH)
			len = (ext_len + 2) * 4;	/* RFC 4302 2.2 */
		else
			len = (ext_len + 1) * 8;
		if (!cs_rd_has(&c->r, len))
			return cs_cur_short(c, len, bad);

		/* len >= 8: every offset below is inside the header. */
		struct cs_reader h = cs_cur_sub(c, len).r;
		if (nh == PROTO_FRAGMENT) {
			uint16_t off_m = cs_rd_peek_u16(&h, 2);
			if (off_m >> 3)
				v->later_fragment = true;
			else if (off_m & 1)
				v->first_fragment = true;
		} else if (nh == PROTO_HOPOPTS && i == 0) {
			cs_rd_skip(&h, 2);
			*have_jumbo = find_jumbo(h, jumbo);
		} else if (nh == PROTO_HOPOPTS) {
			return bad;	/* RFC 8200 4.3: only first */
		} else if (nh == PROTO_ROUTING && cs_rd_peek_u8(&h, 3) != 0) {
			v->routed = true;	/* segments left */
		}
		nh = next;
		if (v->later_fragment)
			break;
	}
	v->proto = nh;
	return CS_SKIP_NONE;
}

static enum cs_skip decode_ipv6(struct cs_cursor *c, struct cs_pkt *pkt,
				bool quoted, struct ip_view *v)
{
	struct cs_reader *r = &c->r;
	const enum cs_skip bad = quoted ? CS_SKIP_BAD_ICMP : CS_SKIP_BAD_IP_HEADER;

	if (!cs_rd_has(r, 40))
		return cs_cur_short(c, 40, bad);
	uint32_t vtf = cs_rd_u32(r);
	uint16_t plen = cs_rd_u16(r);
	uint8_t nh = cs_rd_u8(r);
	uint8_t hlim = cs_rd_u8(r);
	cs_rd_copy(r, pkt->src.b, 16);
	cs_rd_copy(r, pkt->dst.b, 16);
	c->wire_left = c->wire_left >= 40 ? c->wire_left - 40 : 0;
	if (vtf >> 28 != 6)
		return bad;
	pkt->ip_ver = 6;
	if (!quoted)
		pkt->ttl = hlim;

	/* Payload length 0 means a jumbogram (RFC 2675) or a BIG TCP packet
	 * whose jumbo option the kernel removed before the tap: decide after
	 * the hop-by-hop header is read. */
	size_t pay_wire = c->wire_left;
	if (plen != 0 && !quoted) {
		if (plen > c->wire_left)
			return bad;
		pay_wire = plen;
	} else if (quoted) {
		pay_wire = c->wire_left;	/* the quote, whatever plen says */
	}
	struct cs_cursor pay = { cs_rd_sub(r, r->left < pay_wire ? r->left : pay_wire),
			      pay_wire };
	uint32_t jumbo = 0;
	bool have_jumbo = false;
	enum cs_skip why = walk_ipv6_extensions(&pay, nh, bad, &jumbo,
						&have_jumbo, v);
	if (why != CS_SKIP_NONE)
		return why;

	if (!quoted && plen == 0) {
		if (have_jumbo) {
			if (jumbo > c->wire_left || jumbo <= 65535)
				return bad;
			/* The jumbo length counts from after the fixed header:
			 * shrink the view to it. */
			size_t consumed = pay_wire - pay.wire_left;
			if (jumbo < consumed)
				return bad;
			pay.wire_left = jumbo - consumed;
			if (pay.r.left > pay.wire_left)
				pay.r.left = pay.wire_left;
		} else {
			v->len_from_wire = true;
		}
		v->total_len = (uint32_t)(40 + (have_jumbo ? jumbo : pay_wire));
	} else if (!quoted) {
		if (have_jumbo)
			return bad;	/* jumbo option with a non-zero length */
		v->total_len = 40u + plen;
	} else {
		v->total_len = 40u + plen;
	}
	v->payload = pay;
	return CS_SKIP_NONE;
}

/* ---- ICMP errors -------------------------------------------------------- */

static bool icmp4_is_error(uint8_t type)
{
	/* unreachable, source quench, redirect, time exceeded, parameter problem */
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static bool icmp6_is_error(uint8_t type)
{
	/* unreachable, packet too big, time exceeded, parameter problem */
	return type >= 1 && type <= 4;
}

/*
 * The quoted datagram: an IP header and at least the first 8 bytes of the
 * TCP header (RFC 792 guarantees no more; ports and sequence number are
 * enough to find the connection and the very segment that drew the error).
 */
static enum cs_skip decode_icmp_quote(struct cs_cursor *c, int family,
				      struct cs_pkt *pkt)
{
	struct ip_view v = { 0 };
	struct cs_addr from = pkt->src, to = pkt->dst;
	const uint8_t *quote = c->r.p;
	size_t quote_caplen = c->r.left;
	enum cs_skip why;

	if (!cs_rd_has(&c->r, 1))
		return cs_cur_short(c, 1, CS_SKIP_BAD_ICMP);
	if (cs_rd_peek_u8(&c->r, 0) >> 4 != family)
		return CS_SKIP_BAD_ICMP;
	why = family == 4 ? decode_ipv4(c, pkt, true, &v)
			  : decode_ipv6(c, pkt, true, &v);
	if (why != CS_SKIP_NONE)
		return why;
	if (v.later_fragment)
		return CS_SKIP_IP_FRAGMENT;
	if (v.proto != PROTO_TCP)
		return CS_SKIP_NOT_TCP;

	struct cs_reader *q = &v.payload.r;
	if (!cs_rd_has(q, 8))
		return cs_cur_short(&v.payload, 8, CS_SKIP_BAD_ICMP);
	pkt->sport = cs_rd_u16(q);
	pkt->dport = cs_rd_u16(q);
	pkt->seq = cs_rd_u32(q);
	if (cs_rd_has(q, 6)) {		/* routers often quote more */
		pkt->ack = cs_rd_u32(q);
		pkt->flags = cs_rd_u16(q) & 0x1ff;
	}
	pkt->kind = CS_PKT_ICMP_ERR;
	pkt->icmp.quote = quote;
	pkt->icmp.quote_caplen = (uint32_t)quote_caplen;
	pkt->icmp.from = from;
	pkt->icmp.to = to;
	pkt->ip_len = v.total_len;
	return CS_SKIP_NONE;
}

static enum cs_skip decode_icmp(struct cs_cursor *c, int family, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 8))
		return cs_cur_short(c, 8, CS_SKIP_BAD_ICMP);
	uint8_t type = cs_rd_peek_u8(&c->r, 0);
	uint8_t code = cs_rd_peek_u8(&c->r, 1);
	if (family == 4 ? !icmp4_is_error(type) : !icmp6_is_error(type))
		return CS_SKIP_NOT_TCP;
	cs_cur_skip(c, 8);	/* type, code, checksum, unused/MTU/pointer */
	pkt->icmp.type = type;
	pkt->icmp.code = code;
	return decode_icmp_quote(c, family, pkt);
}

/* ---- encapsulations ------------------------------------------------------ */


/*
 * Counts one more encapsulation, refusing past CS_TUNNEL_MAX_DEPTH (each
 * layer is a recursion, and a packet nesting tunnels without end is an
 * attack, not traffic).  The outermost IP tunnel names the packet's tunnel
 * and keeps its endpoints -- pkt->src/dst still hold the enclosing IP
 * header's addresses when this is called; MPLS or FabricPath name it only
 * until an IP tunnel turns up inside them.
 */
enum cs_skip cs_decode_tunnel_enter(struct cs_pkt *pkt, unsigned kind, uint32_t id)
{
	struct cs_tunnel *t = &pkt->tunnel;

	if (t->depth >= CS_TUNNEL_MAX_DEPTH)
		return CS_SKIP_TUNNEL_DEPTH;
	t->depth++;
	if (cs_tunnel_has_endpoints(t->kind))
		return CS_SKIP_NONE;
	if (cs_tunnel_has_endpoints(kind)) {
		t->kind = (uint8_t)kind;
		t->outer_src = pkt->src;
		t->outer_dst = pkt->dst;
		t->id = id;
	} else if (t->kind == CS_TUN_NONE) {
		t->kind = (uint8_t)kind;
		t->id = id;
	}
	return CS_SKIP_NONE;
}

/* A payload a tunnel declares to be IP: family 4 or 6, or 0 to go by the
 * version nibble.  Anything else is a broken tunnel, not a bad IP header. */
static enum cs_skip tunnel_ip(struct cs_cursor *c, int family, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 1))
		return cs_cur_short(c, 1, CS_SKIP_BAD_TUNNEL);
	int ver = cs_rd_peek_u8(&c->r, 0) >> 4;
	if ((ver != 4 && ver != 6) || (family != 0 && ver != family))
		return CS_SKIP_BAD_TUNNEL;
	return cs_decode_ip(c, ver, pkt);
}

/*
 * RFC 3032: 4-byte entries down to the one with the bottom-of-stack bit.
 * The payload's protocol is not written anywhere; like Zeek, the version
 * nibble decides.  Pseudowires (Ethernet over MPLS, with or without a
 * control word) cannot be told apart without the signalling: not IP.
 */
enum cs_skip cs_decode_mpls(struct cs_cursor *c, struct cs_pkt *pkt)
{
	uint32_t label = 0;

	for (int i = 0;; i++) {
		if (i == MPLS_MAX_LABELS)
			return CS_SKIP_BAD_TUNNEL;
		if (!cs_rd_has(&c->r, 4))
			return cs_cur_short(c, 4, CS_SKIP_BAD_TUNNEL);
		uint32_t entry = cs_cur_u32(c);
		label = entry >> 12;
		if (entry & 0x100)
			break;
	}
	enum cs_skip why = cs_decode_tunnel_enter(pkt, CS_TUN_MPLS, label);
	if (why != CS_SKIP_NONE)
		return why;
	if (!cs_rd_has(&c->r, 1))
		return cs_cur_short(c, 1, CS_SKIP_BAD_TUNNEL);
	switch (cs_rd_peek_u8(&c->r, 0) >> 4) {
	case 4:
		return cs_decode_ip(c, 4, pkt);
	case 6:
		return cs_decode_ip(c, 6, pkt);
	default:
		return CS_SKIP_NOT_IP;
	}
}

/*
 * ERSPAN over GRE.  Type I has no header of its own; type II (GRE
 * sequence bit set) 8 bytes, version 1; type III 12 bytes, version 2, and
 * 8 more when the O bit announces a platform subheader.  The session ID
 * is the low 10 bits of the second 16-bit word in both.
 */
static enum cs_skip decode_erspan(struct cs_cursor *c, uint16_t type, bool seq,
				  struct cs_pkt *pkt)
{
	uint32_t session = 0;

	if (type == ETH_ERSPAN_3) {
		if (!cs_rd_has(&c->r, 12))
			return cs_cur_short(c, 12, CS_SKIP_BAD_TUNNEL);
		if (cs_rd_peek_u8(&c->r, 0) >> 4 != 2)
			return CS_SKIP_BAD_TUNNEL;
		session = cs_rd_peek_u16(&c->r, 2) & 0x3ff;
		unsigned frame_type = (cs_rd_peek_u8(&c->r, 10) >> 2) & 0x1f;
		size_t len = 12 + ((cs_rd_peek_u8(&c->r, 11) & 1) ? 8 : 0);
		if (frame_type != 0)	/* 0: Ethernet; 2: bare IP, not seen */
			return CS_SKIP_NOT_IP;
		if (!cs_rd_has(&c->r, len))
			return cs_cur_short(c, len, CS_SKIP_BAD_TUNNEL);
		cs_cur_skip(c, len);
	} else if (seq) {
		if (!cs_rd_has(&c->r, 8))
			return cs_cur_short(c, 8, CS_SKIP_BAD_TUNNEL);
		if (cs_rd_peek_u8(&c->r, 0) >> 4 != 1)
			return CS_SKIP_BAD_TUNNEL;
		session = cs_rd_peek_u16(&c->r, 2) & 0x3ff;
		cs_cur_skip(c, 8);
	}
	enum cs_skip why = cs_decode_tunnel_enter(pkt, CS_TUN_ERSPAN, session);
	if (why != CS_SKIP_NONE)
		return why;
	return cs_decode_ethernet(c, pkt);
}

/*
 * PPP in enhanced GRE, address/control and protocol possibly compressed
 * (cs_decode_ppp_protocol).  LCP, IPCP, CCP and compressed frames are
 * PPTP's own traffic: not TCP.
 */
static enum cs_skip decode_ppp(struct cs_cursor *c, uint32_t call_id,
			       struct cs_pkt *pkt)
{
	uint16_t proto;
	enum cs_skip why = cs_decode_ppp_protocol(c, &proto, CS_SKIP_BAD_TUNNEL);
	if (why != CS_SKIP_NONE)
		return why;
	if (proto != 0x0021 && proto != 0x0057)
		return CS_SKIP_NOT_TCP;
	why = cs_decode_tunnel_enter(pkt, CS_TUN_PPTP, call_id);
	if (why != CS_SKIP_NONE)
		return why;
	return tunnel_ip(c, proto == 0x0021 ? 4 : 6, pkt);
}

/*
 * Aruba's access points tunnel their clients' 802.11 frames to the
 * controller in GRE with protocol types of their own: 0x8200 to 0x8370 in
 * steps of 16, and 0x9000 (the list Wireshark's GRE dissector knows).
 * Zeek's test (type & 0x8200) == 0x8200 with a zero low nibble admits
 * more, up to 0xfff0; those types are not Aruba's and stay not IP here.
 */
static bool aruba_type(uint16_t type)
{
	return (type >= 0x8200 && type <= 0x8370 && (type & 0x0f) == 0) ||
	       type == 0x9000;
}

/*
 * GRE (IP protocol 47, or UDP 4754 by RFC 8086).  Version 0 (RFC 2784,
 * key and sequence from RFC 2890) carries IP, Ethernet (0x6558), ERSPAN,
 * MPLS or Aruba's 802.11 frames; version 1 (RFC 2637 4.1) always PPP,
 * with the key bit set and the key holding payload length and call ID.
 * As in Zeek, the RFC 1701 routing field and the reserved flag bits make
 * the packet unusable; the checksum is not verified.
 */
static enum cs_skip decode_gre(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 4))
		return cs_cur_short(c, 4, CS_SKIP_BAD_TUNNEL);
	uint16_t flags = cs_cur_u16(c);
	uint16_t type = cs_cur_u16(c);
	unsigned ver = flags & 0x7;
	bool csum = flags & 0x8000, key_bit = flags & 0x2000;
	bool seq = flags & 0x1000, ack = flags & 0x0080;

	if (ver > 1 || (flags & 0x4000) || (flags & 0x0078))
		return CS_SKIP_BAD_TUNNEL;
	size_t opt = 4u * ((csum ? 1u : 0u) + (key_bit ? 1u : 0u) +
			   (seq ? 1u : 0u) + (ack ? 1u : 0u));
	if (!cs_rd_has(&c->r, opt))
		return cs_cur_short(c, opt, CS_SKIP_BAD_TUNNEL);
	if (csum)
		cs_cur_skip(c, 4);		/* checksum, reserved */
	uint32_t key = key_bit ? cs_cur_u32(c) : 0;
	cs_cur_skip(c, opt - (csum ? 4 : 0) - (key_bit ? 4 : 0));

	if (ver == 1) {
		if (type != ETH_PPP || !key_bit || csum)
			return CS_SKIP_BAD_TUNNEL;
		if (key >> 16 == 0)	/* an acknowledgement alone */
			return CS_SKIP_NOT_TCP;
		return decode_ppp(c, key & 0xffff, pkt);
	}

	enum cs_skip why;
	switch (type) {
	case ETH_IPV4:
	case ETH_IPV6:
		why = cs_decode_tunnel_enter(pkt, CS_TUN_GRE, key);
		if (why != CS_SKIP_NONE)
			return why;
		return tunnel_ip(c, type == ETH_IPV4 ? 4 : 6, pkt);
	case ETH_TEB:
		why = cs_decode_tunnel_enter(pkt, CS_TUN_GRE, key);
		if (why != CS_SKIP_NONE)
			return why;
		return cs_decode_ethernet(c, pkt);
	case ETH_MPLS:
	case ETH_MPLS_MC:
		why = cs_decode_tunnel_enter(pkt, CS_TUN_GRE, key);
		if (why != CS_SKIP_NONE)
			return why;
		return cs_decode_mpls(c, pkt);
	case ETH_ERSPAN_2:
	case ETH_ERSPAN_3:
		return decode_erspan(c, type, seq, pkt);
	default:
		if (!aruba_type(type))
			return CS_SKIP_NOT_IP;	/* WCCP, NHRP, keepalive ... */
		why = cs_decode_tunnel_enter(pkt, CS_TUN_GRE, key);
		if (why != CS_SKIP_NONE)
			return why;
		return cs_decode_ieee80211(c, false, pkt);
	}
}

/* IPv4 (protocol 4) or IPv6 (41) right after an IP header. */
static enum cs_skip decode_ipip(struct cs_cursor *c, int family, struct cs_pkt *pkt)
{
	enum cs_skip why = cs_decode_tunnel_enter(pkt, CS_TUN_IPIP, 0);
	if (why != CS_SKIP_NONE)
		return why;
	return tunnel_ip(c, family, pkt);
}

/* RFC 7348 5: 8 flag bits of which I (a VNI follows) must be set. */
static enum cs_skip decode_vxlan(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 8))
		return cs_cur_short(c, 8, CS_SKIP_BAD_TUNNEL);
	if (!(cs_rd_peek_u8(&c->r, 0) & 0x08))
		return CS_SKIP_BAD_TUNNEL;
	cs_cur_skip(c, 4);
	uint32_t vni = cs_cur_u32(c) >> 8;
	enum cs_skip why = cs_decode_tunnel_enter(pkt, CS_TUN_VXLAN, vni);
	if (why != CS_SKIP_NONE)
		return why;
	return cs_decode_ethernet(c, pkt);
}

/*
 * RFC 8926 3.4: version 0 (others MUST be dropped), options of 4-byte
 * words, then a protocol type: 0x6558 Ethernet, else an ethertype.  A
 * control message (O bit) carries no packet to forward.
 */
static enum cs_skip decode_geneve(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 8))
		return cs_cur_short(c, 8, CS_SKIP_BAD_TUNNEL);
	uint8_t ver_optlen = cs_rd_peek_u8(&c->r, 0);
	if (ver_optlen >> 6 != 0)
		return CS_SKIP_BAD_TUNNEL;
	size_t len = 8 + (size_t)(ver_optlen & 0x3f) * 4;
	bool control = cs_rd_peek_u8(&c->r, 1) & 0x80;
	uint16_t type = cs_rd_peek_u16(&c->r, 2);
	uint32_t vni = cs_rd_peek_u32(&c->r, 4) >> 8;
	if (!cs_rd_has(&c->r, len))
		return cs_cur_short(c, len, CS_SKIP_BAD_TUNNEL);
	cs_cur_skip(c, len);
	if (control)
		return CS_SKIP_NOT_TCP;
	enum cs_skip why = cs_decode_tunnel_enter(pkt, CS_TUN_GENEVE, vni);
	if (why != CS_SKIP_NONE)
		return why;
	if (type == ETH_TEB)
		return cs_decode_ethernet(c, pkt);
	return cs_decode_ethertype(c, type, pkt);
}

/*
 * GTP-U (3GPP TS 29.281 5.1): version 1, PT 1, then message type, length
 * of what follows the 8 mandatory bytes, TEID.  Any of E, S, PN adds 4
 * bytes (sequence, N-PDU, next extension type); extension headers are
 * length (4-byte units, never 0), contents, next type.  Only a G-PDU (255)
 * carries a user packet, IPv4 or IPv6; echo, error indication and end
 * marker are GTP's own traffic.
 */
static enum cs_skip decode_gtpu(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 8))
		return cs_cur_short(c, 8, CS_SKIP_BAD_TUNNEL);
	uint8_t flags = cs_rd_peek_u8(&c->r, 0);
	uint8_t type = cs_rd_peek_u8(&c->r, 1);
	cs_cur_skip(c, 2);
	uint16_t len = cs_cur_u16(c);
	uint32_t teid = cs_cur_u32(c);
	if (flags >> 5 != 1 || !(flags & 0x10))
		return CS_SKIP_BAD_TUNNEL;
	if (len > c->wire_left)
		return CS_SKIP_BAD_TUNNEL;
	struct cs_cursor g = cs_cur_sub(c, len);
	if (type != 255)
		return CS_SKIP_NOT_TCP;

	if (flags & 0x07) {
		if (!cs_rd_has(&g.r, 4))
			return cs_cur_short(&g, 4, CS_SKIP_BAD_TUNNEL);
		/* sequence number, N-PDU number, next extension type */
		uint8_t next = cs_rd_peek_u8(&g.r, 3);
		cs_cur_skip(&g, 4);
		for (int i = 0; (flags & 0x04) && next != 0; i++) {
			if (i == GTP_EXT_MAX)
				return CS_SKIP_BAD_TUNNEL;
			if (!cs_rd_has(&g.r, 1))
				return cs_cur_short(&g, 1, CS_SKIP_BAD_TUNNEL);
			size_t ext = (size_t)cs_rd_peek_u8(&g.r, 0) * 4;
			if (ext == 0)
				return CS_SKIP_BAD_TUNNEL;
			if (!cs_rd_has(&g.r, ext))
				return cs_cur_short(&g, ext, CS_SKIP_BAD_TUNNEL);
			next = cs_rd_peek_u8(&g.r, ext - 1);
			cs_cur_skip(&g, ext);
		}
	}
	enum cs_skip why = cs_decode_tunnel_enter(pkt, CS_TUN_GTPU, teid);
	if (why != CS_SKIP_NONE)
		return why;
	return tunnel_ip(&g, 0, pkt);
}

/* The IPv6 address at off in r is a Teredo one: 2001::/32. */
static bool teredo_prefix(struct cs_reader *r, size_t off)
{
	return cs_rd_peek_u32(r, off) == 0x20010000;
}

/*
 * Teredo (RFC 4380) has no port of its own past the server's 3544: Zeek
 * tries it on every UDP datagram, and so does this, with Zeek's tests.
 * The payload is an authentication header (00 01, at most once, never
 * after the origin indication), an origin indication (00 00, 8 bytes, at
 * most once), then an IPv6 header.  Off port 3544 Zeek's detection also
 * wants either an origin indication or a Teredo address (2001::/32) as
 * source or destination of a bare IPv6 header.  Then, on any port, the
 * IPv6 payload length must account for the datagram exactly, unless it is
 * a bubble (no next header, length 0).  Whatever fails is plain UDP.
 * Bytes not captured cannot be tested: such a datagram stays UDP too.
 */
static enum cs_skip decode_teredo(struct cs_cursor *c, bool on_port,
				  struct cs_pkt *pkt)
{
	struct cs_reader r = c->r;
	bool origin = false, auth = false;

	for (;;) {
		if (!cs_rd_has(&r, 2))
			return CS_SKIP_NOT_TCP;
		uint16_t tag = cs_rd_peek_u16(&r, 0);
		if (tag == 0) {
			if (origin || !cs_rd_has(&r, 8))
				return CS_SKIP_NOT_TCP;
			cs_rd_skip(&r, 8);
			origin = true;
		} else if (tag == 1) {
			if (origin || auth || !cs_rd_has(&r, 4))
				return CS_SKIP_NOT_TCP;
			/* id and value, nonce (8), confirmation (1) */
			size_t len = 4 + (size_t)cs_rd_peek_u8(&r, 2) +
				     cs_rd_peek_u8(&r, 3) + 8 + 1;
			if (!cs_rd_has(&r, len))
				return CS_SKIP_NOT_TCP;
			cs_rd_skip(&r, len);
			auth = true;
		} else if (tag >> 12 == 6) {
			break;
		} else {
			return CS_SKIP_NOT_TCP;
		}
	}
	if (!cs_rd_has(&r, 40))
		return CS_SKIP_NOT_TCP;
	if (!on_port && !origin &&
	    (auth || (!teredo_prefix(&r, 8) && !teredo_prefix(&r, 24))))
		return CS_SKIP_NOT_TCP;

	size_t hdr = c->r.left - r.left;
	CS_ASSERT(c->r.left <= c->wire_left);
	size_t inner = c->wire_left - hdr;	/* hdr <= captured <= wire */
	uint16_t plen = cs_rd_peek_u16(&r, 4);
	uint8_t nh = cs_rd_peek_u8(&r, 6);
	if (40u + plen > inner)
		return CS_SKIP_NOT_TCP;
	if (40u + plen < inner && !(nh == PROTO_NONE && plen == 0))
		return CS_SKIP_NOT_TCP;

	enum cs_skip why = cs_decode_tunnel_enter(pkt, CS_TUN_TEREDO, 0);
	if (why != CS_SKIP_NONE)
		return why;
	cs_cur_skip(c, hdr);
	return cs_decode_ip(c, 6, pkt);
}

/*
 * Off its port Zeek takes a datagram for AYIYA when its second and third
 * bytes are 0x52 0x11: a SHA-1 signature of 5 words, a shared secret, and
 * the forward opcode -- what SixXS's clients send.
 */
static bool ayiya_signature(struct cs_reader *r)
{
	return cs_rd_has(r, 3) && cs_rd_peek_u16(r, 1) == 0x5211;
}

/*
 * AYIYA, "Anything In Anything" (SixXS, draft-massar-v6ops-ayiya): the
 * identity's length (2^n bytes) and type, the signature's length (4-byte
 * words) and hash, the authentication method and opcode, the next header,
 * and the epoch time, 8 bytes in all; then the identity and the
 * signature, then the packet.  Only opcode 1 (forward) carries one, of the
 * family next header names (4 or 41); heartbeats and the rest are AYIYA's
 * own traffic.
 * on_port: the datagram came to or from 5072.  Off it, a header that does
 * not fit is plain UDP, as for Teredo.
 */
static enum cs_skip decode_ayiya(struct cs_cursor *c, bool on_port,
				 struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 8))
		return on_port ? cs_cur_short(c, 8, CS_SKIP_BAD_TUNNEL) : CS_SKIP_NOT_TCP;
	size_t len = 8 + ((size_t)1 << (cs_rd_peek_u8(&c->r, 0) >> 4)) +
		     (size_t)(cs_rd_peek_u8(&c->r, 1) >> 4) * 4;
	uint8_t opcode = cs_rd_peek_u8(&c->r, 2) & 0x0f;
	uint8_t next = cs_rd_peek_u8(&c->r, 3);
	if (!cs_rd_has(&c->r, len)) {
		if (!on_port)
			return CS_SKIP_NOT_TCP;
		return cs_cur_short(c, len, CS_SKIP_BAD_TUNNEL);
	}
	if (opcode != 1 || (next != PROTO_IPIP && next != PROTO_IPV6))
		return CS_SKIP_NOT_TCP;
	cs_cur_skip(c, len);
	enum cs_skip why = cs_decode_tunnel_enter(pkt, CS_TUN_AYIYA, 0);
	if (why != CS_SKIP_NONE)
		return why;
	return tunnel_ip(c, next == PROTO_IPIP ? 4 : 6, pkt);
}

/*
 * UDP: the tunnels that have a port are told by it -- VXLAN, Geneve and
 * GRE by the destination (their source port is flow entropy), GTP-U and
 * AYIYA by either -- and a malformed header there is a broken tunnel.  Any
 * other datagram is tried as AYIYA by its signature or as Teredo, and is
 * plain UDP (not TCP) unless it passes.
 *
 * frag: c holds a first fragment, so the datagram is as long as the UDP
 * header says, beyond what this frame carries.
 */
static enum cs_skip decode_udp(struct cs_cursor *c, bool frag, struct cs_pkt *pkt)
{
	/* Without its ports a datagram cannot be told from any other. */
	if (!cs_rd_has(&c->r, 4))
		return CS_SKIP_NOT_TCP;
	uint16_t sport = cs_rd_peek_u16(&c->r, 0);
	uint16_t dport = cs_rd_peek_u16(&c->r, 2);

	enum { NONE, VXLAN, GENEVE, GTPU, GRE, AYIYA } port = NONE;
	if (dport == PORT_VXLAN)
		port = VXLAN;
	else if (dport == PORT_GENEVE)
		port = GENEVE;
	else if (dport == PORT_GRE_UDP)
		port = GRE;
	else if (sport == PORT_GTPU || dport == PORT_GTPU)
		port = GTPU;
	else if (sport == PORT_AYIYA || dport == PORT_AYIYA)
		port = AYIYA;

	if (!cs_rd_has(&c->r, 8))
		return port == NONE ? CS_SKIP_NOT_TCP
				    : cs_cur_short(c, 8, CS_SKIP_BAD_TUNNEL);
	cs_cur_skip(c, 4);				/* ports */
	uint16_t ulen = cs_cur_u16(c);
	cs_cur_skip(c, 2);				/* checksum */

	/* The datagram's own length: within the IP payload, unless this is a
	 * first fragment, which must hold no more than the datagram. */
	size_t pay;
	if (ulen < 8 || (frag ? (size_t)(ulen - 8) < c->wire_left
			      : (size_t)(ulen - 8) > c->wire_left))
		return port == NONE ? CS_SKIP_NOT_TCP : CS_SKIP_BAD_TUNNEL;
	pay = (size_t)ulen - 8;
	struct cs_cursor p;
	p.r = cs_rd_sub(&c->r, c->r.left < pay ? c->r.left : pay);
	p.wire_left = pay;

	switch (port) {
	case VXLAN:
		return decode_vxlan(&p, pkt);
	case GENEVE:
		return decode_geneve(&p, pkt);
	case GTPU:
		return decode_gtpu(&p, pkt);
	case GRE:
		return decode_gre(&p, pkt);
	case AYIYA:
		return decode_ayiya(&p, true, pkt);
	default:
		if (ayiya_signature(&p.r))
			return decode_ayiya(&p, false, pkt);
		return decode_teredo(&p, sport == PORT_TEREDO || dport == PORT_TEREDO,
				     pkt);
	}
}

/* ---- network layer dispatch -------------------------------------------- */

enum cs_skip cs_decode_ip(struct cs_cursor *c, int family, struct cs_pkt *pkt)
{
	struct ip_view v = { 0 };
	if (!pkt->outer_ip)
		pkt->outer_ip = c->r.p;
	enum cs_skip why = family == 4 ? decode_ipv4(c, pkt, false, &v)
				       : decode_ipv6(c, pkt, false, &v);
	if (why != CS_SKIP_NONE)
		return why;
	pkt->ip_len = v.total_len;
	/* These describe the header of the segment's own datagram: an outer
	 * header's are replaced by the inner one's. */
	pkt->info &= (uint16_t)~(CS_PKTF_LEN_FROM_WIRE | CS_PKTF_IPV6_ROUTED);
	if (v.len_from_wire)
		pkt->info |= CS_PKTF_LEN_FROM_WIRE;
	if (v.routed)
		pkt->info |= CS_PKTF_IPV6_ROUTED;
	/* Kept across layers: a wrong checksum in any header drops it all. */
	if (v.bad_csum)
		pkt->info |= CS_PKTF_IP_CSUM_BAD;
	if (v.first_fragment)
		pkt->info |= CS_PKTF_FRAGMENT;
	if (v.later_fragment)
		return CS_SKIP_IP_FRAGMENT;

	/*
	 * A tunnel in a first fragment: its inner headers may be here whole
	 * (decode them, counting the rest of the datagram under ip_fragment
	 * as today), or may run past the fragment -- a header cut by the
	 * fragment's end rather than the snap length is a fragment too.
	 */
	bool frag_whole = v.first_fragment && v.payload.r.left >= v.payload.wire_left;
	switch (v.proto) {
	case PROTO_TCP:
		pkt->kind = CS_PKT_TCP;
		return decode_tcp(&v.payload, pkt);
	case PROTO_ICMP:
		return family == 4 ? decode_icmp(&v.payload, 4, pkt) : CS_SKIP_NOT_TCP;
	case PROTO_ICMPV6:
		return family == 6 ? decode_icmp(&v.payload, 6, pkt) : CS_SKIP_NOT_TCP;
	case PROTO_UDP:
		why = decode_udp(&v.payload, v.first_fragment, pkt);
		break;
	case PROTO_GRE:
	case PROTO_IPIP:
	case PROTO_IPV6:
		/* No length of their own: in a first fragment, the inner
		 * datagram may end anywhere up to an IP datagram's maximum. */
		if (v.first_fragment && v.payload.wire_left < FRAG_WIRE_MAX)
			v.payload.wire_left = FRAG_WIRE_MAX;
		why = v.proto == PROTO_GRE ? decode_gre(&v.payload, pkt)
					   : decode_ipip(&v.payload,
							 v.proto == PROTO_IPIP ? 4 : 6, pkt);
		break;
	default:
		return CS_SKIP_NOT_TCP;
	}
	if (why == CS_SKIP_TRUNCATED && frag_whole)
		why = CS_SKIP_IP_FRAGMENT;
	return why;
}

enum cs_skip cs_decode(const struct cs_frame *f, struct cs_pkt *pkt)
{
	struct cs_cursor c;

	memset(pkt, 0, sizeof *pkt);
	pkt->ts_us = f->ts_us;
	pkt->wirelen = f->wirelen;
	/* A record that holds more than was on the wire, or nothing at all,
	 * describes no real packet: the file is damaged at this record. */
	if (f->caplen == 0 || f->caplen > f->wirelen)
		return CS_SKIP_BAD_RECORD;
	c.r = cs_rd_make(f->bytes, f->caplen);
	c.wire_left = f->wirelen;
	if (f->caplen < f->wirelen)
		pkt->info |= CS_PKTF_TRUNCATED;
	return cs_decode_link(&c, f->dlt, pkt);
}
