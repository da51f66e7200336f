/*
 * layers.h — the decoder's insides, shared by decode.c and link.c.
 *
 * cs_decode peels a frame layer by layer.  link.c owns the link layers
 * (Ethernet with its tags and 802.3/LLC, PPP and PPPoE, FDDI, 802.11 and
 * radiotap, NFLOG, Linux cooked, BSD loopback, bare IP); decode.c owns IP,
 * TCP, ICMP errors and the tunnels, some of which lead back into a link
 * layer (an Ethernet frame in VXLAN, an 802.11 frame in Aruba's GRE).  The
 * cursor carries what is left of the frame from one layer to the next, as
 * captured and as it was on the wire.
 *
 * Internal to capture/: only decode.c and link.c include it.  Everything
 * here reads packet bytes through the cursor and nothing else.
 */
#ifndef CS_CAPTURE_LAYERS_H
#define CS_CAPTURE_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/assert.h"
#include "capture/packet.h"
#include "capture/reader.h"

/* Ethertypes either file dispatches on. */
enum {
	ETH_IPV4 = 0x0800,
	ETH_IPV6 = 0x86dd,
	ETH_MPLS = 0x8847,	/* MPLS unicast */
	ETH_MPLS_MC = 0x8848,	/* MPLS multicast */
	ETH_MIN_TYPE = 0x0600,	/* below: an 802.3 length field */
};

/*
 * Everything a layer needs to know about where it sits in the frame.  What
 * was captured is part of what was on the wire: r.left <= wire_left, always
 * (cs_decode refuses caplen > wirelen, and every step moves both).
 */
struct cs_cursor {
	struct cs_reader r;	/* captured bytes of this layer onward */
	size_t wire_left;	/* bytes this layer onward had on the wire */
};

/* Advances both the captured and the on-wire view past n bytes. */
static inline void cs_cur_skip(struct cs_cursor *c, size_t n)
{
	cs_rd_skip(&c->r, n);
	c->wire_left = n <= c->wire_left ? c->wire_left - n : 0;
}

static inline uint16_t cs_cur_u16(struct cs_cursor *c)
{
	c->wire_left = c->wire_left >= 2 ? c->wire_left - 2 : 0;
	return cs_rd_u16(&c->r);
}

static inline uint32_t cs_cur_u32(struct cs_cursor *c)
{
	c->wire_left = c->wire_left >= 4 ? c->wire_left - 4 : 0;
	return cs_rd_u32(&c->r);
}

/*
 * Splits off the next n bytes on the wire (of which as many as were
 * captured) as a cursor of their own, and advances past them: how a
 * header's declared length bounds its payload.  n <= wire_left.
 */
static inline struct cs_cursor cs_cur_sub(struct cs_cursor *c, size_t n)
{
	struct cs_cursor sub;

	CS_ASSERT(n <= c->wire_left);
	CS_ASSERT(c->r.left <= c->wire_left);
	sub.r = cs_rd_sub(&c->r, c->r.left < n ? c->r.left : n);
	sub.wire_left = n;
	c->wire_left -= n;
	return sub;
}

/* A header did not fit: cut by the snap length, or absent on the wire? */
static inline enum cs_skip cs_cur_short(const struct cs_cursor *c, size_t need,
					enum cs_skip bad)
{
	return need <= c->wire_left ? CS_SKIP_TRUNCATED : bad;
}

/* ---- decode.c ------------------------------------------------------------ */

/* An IPv4 (family 4) or IPv6 (6) datagram and what it carries. */
enum cs_skip cs_decode_ip(struct cs_cursor *c, int family, struct cs_pkt *pkt);

/* An MPLS label stack and the IP datagram below it. */
enum cs_skip cs_decode_mpls(struct cs_cursor *c, struct cs_pkt *pkt);

/*
 * Counts one more encapsulation of this kind (enum cs_tunnel_kind) and id
 * in pkt->tunnel, before its payload is decoded; CS_SKIP_TUNNEL_DEPTH past
 * CS_TUNNEL_MAX_DEPTH.
 */
enum cs_skip cs_decode_tunnel_enter(struct cs_pkt *pkt, unsigned kind, uint32_t id);

/* ---- link.c --------------------------------------------------------------- */

/* The frame as the link type dlt frames it; CS_SKIP_LINKTYPE for others. */
enum cs_skip cs_decode_link(struct cs_cursor *c, int dlt, struct cs_pkt *pkt);

/* An Ethernet frame from its destination address on. */
enum cs_skip cs_decode_ethernet(struct cs_cursor *c, struct cs_pkt *pkt);

/* What follows an ethertype: tags, MPLS, FabricPath, ..., IP. */
enum cs_skip cs_decode_ethertype(struct cs_cursor *c, uint16_t type,
				 struct cs_pkt *pkt);

/* An 802.11 frame (Aruba's GRE carries them too); pad: its header is
 * padded to 32 bits, as radiotap may say. */
enum cs_skip cs_decode_ieee80211(struct cs_cursor *c, bool pad, struct cs_pkt *pkt);

/* A PPP frame's protocol field, past the address and control bytes when
 * present; `bad` is the reason when the wire has too few bytes. */
enum cs_skip cs_decode_ppp_protocol(struct cs_cursor *c, uint16_t *proto,
				    enum cs_skip bad);

#endif /* CS_CAPTURE_LAYERS_H */
