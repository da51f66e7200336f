/*
 * decode.h — frame bytes to a cs_pkt view.
 *
 * The decoder walks the link layer (link.c), VLAN tags, IPv4/IPv6
 * (extension headers, fragments), tunnels, TCP with its options, and
 * ICMP/ICMPv6 errors with the quoted IP + TCP header (decode.c).  It never
 * reads past caplen, never allocates, never prints: it returns
 * CS_SKIP_NONE with the view filled, or the reason the frame cannot be
 * analysed.  Lengths come from the headers (IP total length) so a short
 * snap length loses no byte counts.
 */
#ifndef CS_CAPTURE_DECODE_H
#define CS_CAPTURE_DECODE_H

#include <stdbool.h>

#include "capture/packet.h"

/* DLT values used without pcap.h (they are the same on every platform
 * except DLT_RAW, which is 12 on most and 14 on OpenBSD). */
enum {
	CS_DLT_NULL = 0,
	CS_DLT_EN10MB = 1,
	CS_DLT_PPP = 9,
	CS_DLT_FDDI = 10,
	CS_DLT_RAW = 12,
	CS_DLT_RAW_OPENBSD = 14,
	CS_DLT_PPP_SERIAL = 50,		/* PPP in HDLC framing, or Cisco HDLC */
	CS_DLT_LINKTYPE_RAW = 101,
	CS_DLT_C_HDLC = 104,		/* Cisco HDLC */
	CS_DLT_IEEE802_11 = 105,
	CS_DLT_LOOP = 108,
	CS_DLT_LINUX_SLL = 113,
	CS_DLT_IEEE802_11_RADIO = 127,	/* radiotap, then 802.11 */
	CS_DLT_IPV4 = 228,
	CS_DLT_IPV6 = 229,
	CS_DLT_NFLOG = 239,		/* Linux netfilter log messages */
	CS_DLT_LINUX_SLL2 = 276,
};

enum cs_skip cs_decode(const struct cs_frame *f, struct cs_pkt *pkt);

/* True when cs_decode understands frames of this link type. */
bool cs_linktype_supported(int dlt);

/* "EN10MB", "LINUX_SLL2", ...; "DLT_<n>" in buf for others. */
const char *cs_linktype_name(int dlt, char *buf, unsigned len);

#endif /* CS_CAPTURE_DECODE_H */
