/*
 * link.c — the link layers: what comes before IP in a frame.
 *
 * One decoder per link type (Ethernet, Linux cooked v1/v2, BSD loopback,
 * bare IP, PPP, PPP in HDLC framing, Cisco HDLC, FDDI, 802.11 bare and
 * under radiotap, NFLOG), each reading its header through the cursor and
 * handing the rest to IP (cs_decode_ip), to 802.2 LLC/SNAP, or to the
 * ethertype chain, where VLAN tags, VN-Tag, FabricPath, PBB, PPPoE and
 * MPLS are peeled.  The tunnels that carry a frame come back here
 * (cs_decode_ethernet, cs_decode_ieee80211).  A header shorter than its
 * layer needs is "truncated" when the snap length cut it and a bad link
 * header when the wire had no more.  Zeek reads all of these but Cisco
 * HDLC; where its reading is looser or stricter than the standard, the
 * comment says which one is followed.
 */
#include "capture/decode.h"

#include <stdio.h>

#include "capture/layers.h"

enum {
	ETH_VLAN = 0x8100,	/* 802.1Q */
	ETH_QINQ = 0x88a8,	/* 802.1ad service tag */
	ETH_QINQ_OLD = 0x9100,	/* pre-standard stacked tag */
	ETH_FABRICPATH = 0x8903,/* Cisco FabricPath */
	ETH_PPPOE = 0x8864,	/* PPPoE session stage (0x8863, discovery: not IP) */
	ETH_PBB = 0x88e7,	/* 802.1ah I-tag */
	ETH_VNTAG = 0x8926,	/* Cisco VN-Tag */
	ETH_MAX_LEN = 1500,	/* the largest 802.3 length; up to 0x05ff: neither */
	VLAN_MAX_DEPTH = 8,	/* deeper stacks are refused, not walked */
};

enum {
	CHDLC_UNICAST = 0x0f,	/* Cisco HDLC address bytes */
	CHDLC_BROADCAST = 0x8f,
	NFLOG_PAYLOAD = 9,	/* NFULA_PAYLOAD: the packet */
	NFLOG_TLV_MAX = 32,	/* bound on the TLV walk; Linux defines ~20 types */
	NFLOG_AF_INET = 2,	/* Linux's address families */
	NFLOG_AF_INET6 = 10,
	RADIOTAP_WORDS_MAX = 8,	/* bound on the presence-word chain */
	RT_PRESENT_TSFT = 1u << 0,
	RT_PRESENT_FLAGS = 1u << 1,
	RT_PRESENT_EXT = 1u << 31,
	RT_FLAGS_DATAPAD = 0x20,/* 802.11 header padded to 32 bits */
	RT_FLAGS_BADFCS = 0x40,	/* the frame failed its FCS check */
};

/* PPP protocol numbers (RFC 1661 2, IANA's PPP DLL protocol numbers). */
enum {
	PPP_IPV4 = 0x0021,
	PPP_IPV6 = 0x0057,
	PPP_MPLS = 0x0281,
	PPP_MPLS_MC = 0x0283,
};

/* ---- PPP ------------------------------------------------------------------ */

/*
 * The front of a PPP frame (RFC 1661 2, RFC 1662 3.1): the address and
 * control bytes ff 03 unless compressed away (ACFC, RFC 1661 6.6), then
 * the protocol, in one byte when PFC compressed it (6.5): a protocol's
 * first byte is even, so an odd one is the whole field.  PPPoE never sends
 * ff 03 (RFC 2516 7), but no protocol in use begins with ff either, so one
 * reader serves every PPP carrier.
 */
enum cs_skip cs_decode_ppp_protocol(struct cs_cursor *c, uint16_t *proto,
				    enum cs_skip bad)
{
	if (!cs_rd_has(&c->r, 2))
		return cs_cur_short(c, 2, bad);
	if (cs_rd_peek_u16(&c->r, 0) == 0xff03)
		cs_cur_skip(c, 2);
	if (!cs_rd_has(&c->r, 1))
		return cs_cur_short(c, 1, bad);
	*proto = cs_rd_peek_u8(&c->r, 0);
	if (*proto & 1) {
		cs_cur_skip(c, 1);
		return CS_SKIP_NONE;
	}
	if (!cs_rd_has(&c->r, 2))
		return cs_cur_short(c, 2, bad);
	*proto = cs_cur_u16(c);
	return CS_SKIP_NONE;
}

/*
 * What a PPP link carries past its protocol field.  LCP, IPCP, the
 * authentication protocols, CCP and compressed frames are the link's own
 * traffic; Van Jacobson compressed TCP (0x002d, 0x002f) cannot be read
 * without the state of the whole link.  None of them is IP here.
 */
static enum cs_skip ppp_payload(struct cs_cursor *c, uint16_t proto,
				struct cs_pkt *pkt)
{
	switch (proto) {
	case PPP_IPV4:
		return cs_decode_ip(c, 4, pkt);
	case PPP_IPV6:
		return cs_decode_ip(c, 6, pkt);
	case PPP_MPLS:
	case PPP_MPLS_MC:
		return cs_decode_mpls(c, pkt);
	default:
		return CS_SKIP_NOT_IP;
	}
}

/*
 * PPPoE session stage (RFC 2516 4, 5.5): version and type 1, code 0, the
 * session ID, the length of the PPP frame that follows (protocol field
 * included; the rest of the Ethernet frame is padding), then PPP.  It is
 * an encapsulation without IP endpoints, like MPLS: the session ID is the
 * tunnel's id.  (Zeek checks none of the header and reads a 2-byte
 * protocol; a compressed one is read here too.)
 */
static enum cs_skip decode_pppoe(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 6))
		return cs_cur_short(c, 6, CS_SKIP_BAD_TUNNEL);
	uint8_t ver_type = cs_rd_peek_u8(&c->r, 0);
	uint8_t code = cs_rd_peek_u8(&c->r, 1);
	uint16_t session = cs_rd_peek_u16(&c->r, 2);
	uint16_t len = cs_rd_peek_u16(&c->r, 4);
	cs_cur_skip(c, 6);
	if (ver_type != 0x11 || code != 0 || len > c->wire_left)
		return CS_SKIP_BAD_TUNNEL;
	struct cs_cursor ppp = cs_cur_sub(c, len);
	enum cs_skip why = cs_decode_tunnel_enter(pkt, CS_TUN_PPPOE, session);
	if (why != CS_SKIP_NONE)
		return why;
	uint16_t proto;
	why = cs_decode_ppp_protocol(&ppp, &proto, CS_SKIP_BAD_TUNNEL);
	if (why != CS_SKIP_NONE)
		return why;
	return ppp_payload(&ppp, proto, pkt);
}

/* ---- 802.2 LLC/SNAP ------------------------------------------------------- */

/*
 * 802.2 LLC: DSAP, SSAP, and a control field of 1 byte (unnumbered frames,
 * low bits 11) or 2.  Only SNAP (DSAP and SSAP AA) with an OUI of 00-00-00
 * (RFC 1042) or 00-00-F8 (802.1H bridge tunnel) names an ethertype; every
 * other SAP (spanning tree, NetBIOS, IPX, bare IP on SAP 06 ...) and OUI
 * (Cisco's CDP ...) is not IP here, as in Zeek.
 */
static enum cs_skip decode_llc(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 3))
		return cs_cur_short(c, 3, CS_SKIP_BAD_LINK_HEADER);
	if (cs_rd_peek_u16(&c->r, 0) != 0xaaaa)
		return CS_SKIP_NOT_IP;
	size_t llc = (cs_rd_peek_u8(&c->r, 2) & 3) == 3 ? 3 : 4;
	if (!cs_rd_has(&c->r, llc + 5))
		return cs_cur_short(c, llc + 5, CS_SKIP_BAD_LINK_HEADER);
	uint32_t oui = (uint32_t)cs_rd_peek_u8(&c->r, llc) << 16 |
		       cs_rd_peek_u16(&c->r, llc + 1);
	uint16_t type = cs_rd_peek_u16(&c->r, llc + 3);
	cs_cur_skip(c, llc + 5);
	if (oui != 0 && oui != 0xf8)
		return CS_SKIP_NOT_IP;
	return cs_decode_ethertype(c, type, pkt);
}

/* ---- Ethernet --------------------------------------------------------------- */

/*
 * An 802.3 length where a type would be (after the addresses, or a VLAN
 * tag: 802.1Q 9.5 allows both): an 802.2 LLC header follows, bounded by
 * it, the rest is padding.  A length past the frame is a broken header;
 * 1501-1535 is neither a length nor a type.
 */
static enum cs_skip decode_8023(struct cs_cursor *c, uint16_t len,
				struct cs_pkt *pkt)
{
	if (len > ETH_MAX_LEN)
		return CS_SKIP_NOT_IP;
	if (len > c->wire_left)
		return CS_SKIP_BAD_LINK_HEADER;
	struct cs_cursor llc = cs_cur_sub(c, len);
	return decode_llc(&llc, pkt);
}

/* An 802.1Q/802.1ad tag: its VLAN id is kept (two), the next type read. */
static enum cs_skip vlan_tag(struct cs_cursor *c, struct cs_pkt *pkt,
			     uint16_t *type)
{
	if (pkt->vlan_cnt == VLAN_MAX_DEPTH)
		return CS_SKIP_BAD_LINK_HEADER;
	if (!cs_rd_has(&c->r, 4))
		return cs_cur_short(c, 4, CS_SKIP_BAD_LINK_HEADER);
	uint16_t tci = cs_cur_u16(c);
	*type = cs_cur_u16(c);
	if (pkt->vlan_cnt < 2)
		pkt->vlan[pkt->vlan_cnt] = tci & 0x0fff;
	pkt->vlan_cnt++;
	return CS_SKIP_NONE;
}

/*
 * Cisco VN-Tag (802.1Qbh's forerunner, between a fabric extender and its
 * parent switch): 4 bytes of direction, pointer, destination and source
 * virtual interfaces, then the frame's own type.  It names a port, not a
 * network: neither a VLAN nor a tunnel.  A frame carries one.  (Zeek
 * follows it only into a VLAN tag; any type is followed here.)
 */
static enum cs_skip vn_tag(struct cs_cursor *c, bool *seen, uint16_t *type)
{
	if (*seen)
		return CS_SKIP_BAD_LINK_HEADER;
	*seen = true;
	if (!cs_rd_has(&c->r, 6))
		return cs_cur_short(c, 6, CS_SKIP_BAD_LINK_HEADER);
	cs_cur_skip(c, 4);
	*type = cs_cur_u16(c);
	return CS_SKIP_NONE;
}

/*
 * 802.1ah provider backbone bridging (MAC-in-MAC): after the backbone
 * addresses, B-tag and 0x88e7 come the I-tag's priority and flags and its
 * 24-bit service instance (I-SID, the tunnel's id), then the customer's
 * whole frame, addresses and tags included.
 */
static enum cs_skip decode_pbb(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 4))
		return cs_cur_short(c, 4, CS_SKIP_BAD_TUNNEL);
	uint32_t isid = cs_cur_u32(c) & 0xffffff;
	enum cs_skip why = cs_decode_tunnel_enter(pkt, CS_TUN_PBB, isid);
	if (why != CS_SKIP_NONE)
		return why;
	return cs_decode_ethernet(c, pkt);
}

/*
 * Cisco FabricPath, as Zeek reads it: after the outer addresses and the
 * 0x8903 type come 2 bytes of FTag and TTL, then the original frame's
 * addresses and type.  Returns the inner type in *type.
 */
static enum cs_skip decode_fabricpath(struct cs_cursor *c, struct cs_pkt *pkt,
				      uint16_t *type)
{
	if (!cs_rd_has(&c->r, 16))
		return cs_cur_short(c, 16, CS_SKIP_BAD_TUNNEL);
	cs_cur_skip(c, 2 + 12);		/* FTag/TTL, inner MAC addresses */
	*type = cs_cur_u16(c);
	if (*type < ETH_MIN_TYPE)
		return CS_SKIP_NOT_IP;
	return cs_decode_tunnel_enter(pkt, CS_TUN_FABRICPATH, 0);
}

/* The IP version nibble decides, for link types that carry bare IP. */
static enum cs_skip decode_raw_ip(struct cs_cursor *c, int want, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 1))
		return cs_cur_short(c, 1, CS_SKIP_BAD_IP_HEADER);
	int ver = cs_rd_peek_u8(&c->r, 0) >> 4;
	if (ver != 4 && ver != 6)
		return CS_SKIP_BAD_IP_HEADER;
	if (want && ver != want)
		return CS_SKIP_BAD_IP_HEADER;
	return cs_decode_ip(c, ver, pkt);
}

/*
 * The ethertype chain: tags (802.1Q/802.1ad stacked in any order, a
 * VN-Tag) and FabricPath lead to another type; IP, MPLS, PPPoE and PBB
 * end it.
 */
enum cs_skip cs_decode_ethertype(struct cs_cursor *c, uint16_t type,
				 struct cs_pkt *pkt)
{
	bool vntag = false;
	enum cs_skip why = CS_SKIP_NONE;

	while (why == CS_SKIP_NONE) {
		switch (type) {
		case ETH_IPV4:
			return cs_decode_ip(c, 4, pkt);
		case ETH_IPV6:
			return cs_decode_ip(c, 6, pkt);
		case ETH_VLAN:
		case ETH_QINQ:
		case ETH_QINQ_OLD:
			why = vlan_tag(c, pkt, &type);
			if (why == CS_SKIP_NONE && type < ETH_MIN_TYPE)
				return decode_8023(c, type, pkt);
			break;
		case ETH_VNTAG:
			why = vn_tag(c, &vntag, &type);
			break;
		case ETH_FABRICPATH:
			why = decode_fabricpath(c, pkt, &type);
			break;
		case ETH_MPLS:
		case ETH_MPLS_MC:
			return cs_decode_mpls(c, pkt);
		case ETH_PPPOE:
			return decode_pppoe(c, pkt);
		case ETH_PBB:
			return decode_pbb(c, pkt);
		default:
			return CS_SKIP_NOT_IP;
		}
	}
	return why;
}

/* Ethernet II names the payload's type; 802.3 gives its length instead. */
enum cs_skip cs_decode_ethernet(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 14))
		return cs_cur_short(c, 14, CS_SKIP_BAD_LINK_HEADER);
	cs_cur_skip(c, 12);		/* destination and source MAC */
	uint16_t type = cs_cur_u16(c);
	if (type < ETH_MIN_TYPE)
		return decode_8023(c, type, pkt);
	return cs_decode_ethertype(c, type, pkt);
}

/* ---- serial lines ------------------------------------------------------------ */

/*
 * Cisco HDLC: an address byte (unicast 0x0f or broadcast 0x8f), control 0,
 * and an ethertype.  SLARP keepalives (0x8035) and CDP are not IP.
 */
static enum cs_skip decode_chdlc(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 4))
		return cs_cur_short(c, 4, CS_SKIP_BAD_LINK_HEADER);
	cs_cur_skip(c, 2);
	return cs_decode_ethertype(c, cs_cur_u16(c), pkt);
}

/*
 * PPP (LINKTYPE_PPP): the frame with or without the HDLC-like address and
 * control bytes; LINKTYPE_PPP_SERIAL: the same in HDLC framing (RFC 1662),
 * or Cisco HDLC on the same serial line, told by its address byte, as
 * tcpdump tells them.  (Zeek takes bytes 2-3 as the protocol, whatever
 * the framing.)
 */
static enum cs_skip decode_ppp_link(struct cs_cursor *c, bool serial,
				    struct cs_pkt *pkt)
{
	if (serial && cs_rd_has(&c->r, 1)) {
		uint8_t addr = cs_rd_peek_u8(&c->r, 0);
		if (addr == CHDLC_UNICAST || addr == CHDLC_BROADCAST)
			return decode_chdlc(c, pkt);
	}
	uint16_t proto;
	enum cs_skip why = cs_decode_ppp_protocol(c, &proto, CS_SKIP_BAD_LINK_HEADER);
	if (why != CS_SKIP_NONE)
		return why;
	return ppp_payload(c, proto, pkt);
}

/* ---- FDDI --------------------------------------------------------------------- */

/*
 * FDDI (ANSI X3.139): frame control, destination, source.  Frame control
 * CLFF ZZZZ: format 01 is an LLC frame; with L set, the 6-byte addresses
 * libpcap's header has; C tells asynchronous (0x50) from synchronous
 * (0xd0) frames, both LLC.  SMT, MAC and token frames carry no LLC.
 * (Zeek skips 21 bytes and reads IP, whatever the frame.)
 */
static enum cs_skip decode_fddi(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 13))
		return cs_cur_short(c, 13, CS_SKIP_BAD_LINK_HEADER);
	uint8_t fc = cs_rd_peek_u8(&c->r, 0);
	cs_cur_skip(c, 13);
	if ((fc & 0x70) != 0x50)
		return CS_SKIP_NOT_IP;
	return decode_llc(c, pkt);
}

/* ---- 802.11 ---------------------------------------------------------------- */

/*
 * An 802.11 data frame (802.11-2020 9.2.4, 9.3.2.1): frame control,
 * duration, three addresses and sequence control (24 bytes); a fourth
 * address when both To DS and From DS are set (a wireless bridge); QoS
 * subtypes add QoS control (2 bytes) and, with the Order bit, HT control
 * (4).  pad: radiotap says the header is padded to 32 bits.  The payload
 * is LLC/SNAP.  Management and control frames, data subtypes without data
 * (Null, CF-Ack, CF-Poll), protected (encrypted) payloads and A-MSDUs
 * (several frames in one, flagged in QoS control) hold no IP packet that
 * can be read here.  (Zeek skips neither HT control nor radiotap's padding,
 * and so misses the packets behind them.)
 */
enum cs_skip cs_decode_ieee80211(struct cs_cursor *c, bool pad, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 24))
		return cs_cur_short(c, 24, CS_SKIP_BAD_LINK_HEADER);
	uint8_t fc = cs_rd_peek_u8(&c->r, 0), flags = cs_rd_peek_u8(&c->r, 1);
	if ((fc & 0x03) != 0)			/* protocol version 0 */
		return CS_SKIP_BAD_LINK_HEADER;
	if ((fc & 0x0c) != 0x08 || (fc & 0x40) || (flags & 0x40))
		return CS_SKIP_NOT_IP;		/* not data, no data, protected */
	size_t len = (flags & 0x03) == 0x03 ? 30 : 24;
	if (fc & 0x80) {			/* QoS data */
		if (!cs_rd_has(&c->r, len + 2))
			return cs_cur_short(c, len + 2, CS_SKIP_BAD_LINK_HEADER);
		if (cs_rd_peek_u8(&c->r, len) & 0x80)
			return CS_SKIP_NOT_IP;	/* A-MSDU */
		len += 2 + ((flags & 0x80) ? 4 : 0);
	}
	if (pad)
		len = (len + 3) & ~(size_t)3;
	if (!cs_rd_has(&c->r, len))
		return cs_cur_short(c, len, CS_SKIP_BAD_LINK_HEADER);
	cs_cur_skip(c, len);
	return decode_llc(c, pkt);
}

/*
 * Radiotap (radiotap.org): version 0, a pad byte, the header's length and
 * presence words (each with bit 31 announcing another), little-endian,
 * then the fields, each aligned to its size from the header's start.
 * Only the flags field (bit 1, after the 8-byte TSFT of bit 0) matters
 * here: whether the 802.11 header is padded, and whether the frame failed
 * its FCS check -- the receiver dropped it, so it is no segment of the
 * connection (counted as a bad link header; Zeek reads it all the same).
 * An FCS at the end is left for the IP length to bound, as Ethernet's is.
 */
static enum cs_skip decode_radiotap(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 8))
		return cs_cur_short(c, 8, CS_SKIP_BAD_LINK_HEADER);
	size_t len = cs_rd_peek_u16le(&c->r, 2);
	if (cs_rd_peek_u8(&c->r, 0) != 0 || len < 8)
		return CS_SKIP_BAD_LINK_HEADER;
	if (!cs_rd_has(&c->r, len))
		return cs_cur_short(c, len, CS_SKIP_BAD_LINK_HEADER);
	struct cs_reader h = cs_cur_sub(c, len).r;
	uint32_t present = cs_rd_peek_u32le(&h, 4);
	size_t off = 8;
	for (uint32_t word = present; word & RT_PRESENT_EXT; off += 4) {
		if (off == 4 + 4 * RADIOTAP_WORDS_MAX)
			return CS_SKIP_BAD_LINK_HEADER;
		word = cs_rd_peek_u32le(&h, off);
	}
	if (present & RT_PRESENT_TSFT)
		off = ((off + 7) & ~(size_t)7) + 8;
	uint8_t flags = (present & RT_PRESENT_FLAGS) ? cs_rd_peek_u8(&h, off) : 0;
	if (h.err)
		return CS_SKIP_BAD_LINK_HEADER;	/* fields past the header's length */
	if (flags & RT_FLAGS_BADFCS)
		return CS_SKIP_BAD_LINK_HEADER;
	return cs_decode_ieee80211(c, flags & RT_FLAGS_DATAPAD, pkt);
}

/* ---- NFLOG ----------------------------------------------------------------- */

/* NFLOG's TLV headers are in the capturing host's byte order, which libpcap
 * turns into the reading host's when the file came from the other kind. */
static uint16_t host_u16(struct cs_reader *r, size_t off)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return cs_rd_peek_u16(r, off);
#else
	return cs_rd_peek_u16le(r, off);
#endif
}

/*
 * Linux NFLOG (LINKTYPE_NFLOG): address family, version 0 and resource ID
 * (the log group), then TLVs: length (its own 4 bytes included) and type,
 * each padded to 4 bytes.  The packet -- IPv4 or IPv6 by the family, no
 * link header -- is the payload TLV's value; its length bounds it.
 */
static enum cs_skip decode_nflog(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 4))
		return cs_cur_short(c, 4, CS_SKIP_BAD_LINK_HEADER);
	uint8_t family = cs_rd_peek_u8(&c->r, 0);
	if (cs_rd_peek_u8(&c->r, 1) != 0)
		return CS_SKIP_BAD_LINK_HEADER;
	cs_cur_skip(c, 4);
	for (int i = 0; i < NFLOG_TLV_MAX; i++) {
		if (!cs_rd_has(&c->r, 4))
			return cs_cur_short(c, 4, CS_SKIP_BAD_LINK_HEADER);
		size_t len = host_u16(&c->r, 0);
		uint16_t type = host_u16(&c->r, 2);
		if (len < 4 || len > c->wire_left)
			return CS_SKIP_BAD_LINK_HEADER;
		if (type == NFLOG_PAYLOAD) {
			cs_cur_skip(c, 4);
			struct cs_cursor p = cs_cur_sub(c, len - 4);
			if (family == NFLOG_AF_INET || family == NFLOG_AF_INET6)
				return cs_decode_ip(&p, family == NFLOG_AF_INET ? 4 : 6, pkt);
			return CS_SKIP_NOT_IP;
		}
		size_t padded = (len + 3) & ~(size_t)3;
		if (!cs_rd_has(&c->r, padded))
			return cs_cur_short(c, padded, CS_SKIP_BAD_LINK_HEADER);
		cs_cur_skip(c, padded);
	}
	return CS_SKIP_BAD_LINK_HEADER;		/* no payload within the bound */
}

/* ---- Linux cooked, loopback, bare IP ---------------------------------------- */

/* Linux "cooked" v1: 16 bytes, protocol last (an ethertype, or an ARPHRD-
 * dependent code below 0x0600 for non-Ethernet payloads). */
static enum cs_skip decode_sll(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 16))
		return cs_cur_short(c, 16, CS_SKIP_BAD_LINK_HEADER);
	cs_cur_skip(c, 14);
	uint16_t proto = cs_cur_u16(c);
	return cs_decode_ethertype(c, proto, pkt);
}

/* Linux "cooked" v2 (the `any` device): 20 bytes, protocol first. */
static enum cs_skip decode_sll2(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 20))
		return cs_cur_short(c, 20, CS_SKIP_BAD_LINK_HEADER);
	uint16_t proto = cs_cur_u16(c);
	cs_cur_skip(c, 18);
	return cs_decode_ethertype(c, proto, pkt);
}

/*
 * BSD loopback: a 4-byte address family.  DLT_NULL stores it in the
 * writer's byte order, DLT_LOOP in network order; AF_INET6 differs per OS
 * (10 Linux, 24 NetBSD/OpenBSD, 28 FreeBSD, 30 Darwin).
 */
static enum cs_skip decode_loopback(struct cs_cursor *c, bool network_order,
				    struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 4))
		return cs_cur_short(c, 4, CS_SKIP_BAD_LINK_HEADER);
	CS_ASSERT(c->r.left <= c->wire_left);	/* so 4 <= wire_left too */
	uint32_t af = network_order ? cs_rd_u32(&c->r) : cs_rd_u32le(&c->r);
	c->wire_left -= 4;
	if (!network_order && (af & 0xffff) == 0 && af != 0)
		af = (af >> 24) | ((af >> 8) & 0xff00);	/* other endianness */
	switch (af) {
	case 2:
		return decode_raw_ip(c, 4, pkt);
	case 10: case 24: case 28: case 30:
		return decode_raw_ip(c, 6, pkt);
	default:
		return CS_SKIP_NOT_IP;
	}
}

bool cs_linktype_supported(int dlt)
{
	switch (dlt) {
	case CS_DLT_NULL: case CS_DLT_EN10MB: case CS_DLT_RAW:
	case CS_DLT_RAW_OPENBSD: case CS_DLT_LINKTYPE_RAW: case CS_DLT_LOOP:
	case CS_DLT_LINUX_SLL: case CS_DLT_IPV4: case CS_DLT_IPV6:
	case CS_DLT_LINUX_SLL2: case CS_DLT_PPP: case CS_DLT_PPP_SERIAL:
	case CS_DLT_C_HDLC: case CS_DLT_FDDI: case CS_DLT_IEEE802_11:
	case CS_DLT_IEEE802_11_RADIO: case CS_DLT_NFLOG:
		return true;
	default:
		return false;
	}
}

const char *cs_linktype_name(int dlt, char *buf, unsigned len)
{
	switch (dlt) {
	case CS_DLT_NULL: return "NULL";
	case CS_DLT_EN10MB: return "EN10MB";
	case CS_DLT_RAW: case CS_DLT_RAW_OPENBSD: case CS_DLT_LINKTYPE_RAW:
		return "RAW";
	case CS_DLT_LOOP: return "LOOP";
	case CS_DLT_LINUX_SLL: return "LINUX_SLL";
	case CS_DLT_IPV4: return "IPV4";
	case CS_DLT_IPV6: return "IPV6";
	case CS_DLT_LINUX_SLL2: return "LINUX_SLL2";
	case CS_DLT_PPP: return "PPP";
	case CS_DLT_PPP_SERIAL: return "PPP_SERIAL";
	case CS_DLT_C_HDLC: return "C_HDLC";
	case CS_DLT_FDDI: return "FDDI";
	case CS_DLT_IEEE802_11: return "IEEE802_11";
	case CS_DLT_IEEE802_11_RADIO: return "IEEE802_11_RADIO";
	case CS_DLT_NFLOG: return "NFLOG";
	default:
		snprintf(buf, len, "DLT_%d", dlt);
		return buf;
	}
}

enum cs_skip cs_decode_link(struct cs_cursor *c, int dlt, struct cs_pkt *pkt)
{
	switch (dlt) {
	case CS_DLT_EN10MB:
		return cs_decode_ethernet(c, pkt);
	case CS_DLT_LINUX_SLL:
		return decode_sll(c, pkt);
	case CS_DLT_LINUX_SLL2:
		return decode_sll2(c, pkt);
	case CS_DLT_NULL:
		return decode_loopback(c, false, pkt);
	case CS_DLT_LOOP:
		return decode_loopback(c, true, pkt);
	case CS_DLT_RAW: case CS_DLT_RAW_OPENBSD: case CS_DLT_LINKTYPE_RAW:
		return decode_raw_ip(c, 0, pkt);
	case CS_DLT_IPV4:
		return decode_raw_ip(c, 4, pkt);
	case CS_DLT_IPV6:
		return decode_raw_ip(c, 6, pkt);
	case CS_DLT_PPP:
		return decode_ppp_link(c, false, pkt);
	case CS_DLT_PPP_SERIAL:
		return decode_ppp_link(c, true, pkt);
	case CS_DLT_C_HDLC:
		return decode_chdlc(c, pkt);
	case CS_DLT_FDDI:
		return decode_fddi(c, pkt);
	case CS_DLT_IEEE802_11:
		return cs_decode_ieee80211(c, false, pkt);
	case CS_DLT_IEEE802_11_RADIO:
		return decode_radiotap(c, pkt);
	case CS_DLT_NFLOG:
		return decode_nflog(c, pkt);
	default:
		return CS_SKIP_LINKTYPE;
	}
}
