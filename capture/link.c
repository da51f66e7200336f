/*
 * link.c — the link layers: what comes before IP in a frame.
 *
 * One decoder per link type, each reading its header through the cursor
 * and handing the rest to IP (cs_decode_ip) or to the ethertype chain,
 * where VLAN tags, MPLS and FabricPath are peeled.  The tunnels that carry
 * a frame come back here (cs_decode_ethernet).  A header shorter than its
 * layer needs is "truncated" when the snap length cut it and a bad link
 * header when the wire had no more.
 */
#include "capture/decode.h"

#include <stdio.h>

#include "capture/layers.h"

enum {
	ETH_VLAN = 0x8100,	/* 802.1Q */
	ETH_QINQ = 0x88a8,	/* 802.1ad service tag */
	ETH_QINQ_OLD = 0x9100,	/* pre-standard stacked tag */
	ETH_FABRICPATH = 0x8903,/* Cisco FabricPath */
	VLAN_MAX_DEPTH = 8,	/* deeper stacks are refused, not walked */
};

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

/* Ethertype chain: VLAN tags (stacked, any order of 802.1Q/802.1ad) then IP. */
enum cs_skip cs_decode_ethertype(struct cs_cursor *c, uint16_t type,
				     struct cs_pkt *pkt)
{
	for (;;) {
		switch (type) {
		case ETH_IPV4:
			return cs_decode_ip(c, 4, pkt);
		case ETH_IPV6:
			return cs_decode_ip(c, 6, pkt);
		case ETH_VLAN:
		case ETH_QINQ:
		case ETH_QINQ_OLD:
			if (pkt->vlan_cnt == VLAN_MAX_DEPTH)
				return CS_SKIP_BAD_LINK_HEADER;
			if (!cs_rd_has(&c->r, 4))
				return cs_cur_short(c, 4, CS_SKIP_BAD_LINK_HEADER);
			uint16_t tci = cs_cur_u16(c);
			type = cs_cur_u16(c);
			if (pkt->vlan_cnt < 2)
				pkt->vlan[pkt->vlan_cnt] = tci & 0x0fff;
			pkt->vlan_cnt++;
			break;
		case ETH_MPLS:
		case ETH_MPLS_MC:
			return cs_decode_mpls(c, pkt);
		case ETH_FABRICPATH: {
			enum cs_skip why = decode_fabricpath(c, pkt, &type);
			if (why != CS_SKIP_NONE)
				return why;
			break;
		}
		default:
			return CS_SKIP_NOT_IP;
		}
	}
}

enum cs_skip cs_decode_ethernet(struct cs_cursor *c, struct cs_pkt *pkt)
{
	if (!cs_rd_has(&c->r, 14))
		return cs_cur_short(c, 14, CS_SKIP_BAD_LINK_HEADER);
	cs_cur_skip(c, 12);		/* destination and source MAC */
	uint16_t type = cs_cur_u16(c);
	if (type < ETH_MIN_TYPE)	/* 802.3 length + LLC: not IP here */
		return CS_SKIP_NOT_IP;
	return cs_decode_ethertype(c, type, pkt);
}

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
	case CS_DLT_LINUX_SLL2:
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
	default:
		return CS_SKIP_LINKTYPE;
	}
}
