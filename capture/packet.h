/*
 * packet.h — what the capture layer hands the analyzer.
 *
 * A cs_frame is one record as the source delivered it: its bytes die at the
 * next read, so nothing downstream keeps the pointer.  A cs_pkt is the
 * decoder's view of a frame: fixed-size fields filled on the caller's stack,
 * no allocation and no copy of the payload.  cs_skip names every reason a
 * frame is not analysed; the reasons' spelling in names[] is the one every
 * exporter uses, because reports and tests parse it.
 *
 * This header includes neither pcap.h nor anything else from the outside,
 * so the analyzer and the tests can use it without a capture device.
 */
#ifndef CS_CAPTURE_PACKET_H
#define CS_CAPTURE_PACKET_H

#include <stdbool.h>
#include <stdint.h>

/* Time everywhere is uint64_t microseconds (of packet time, unless a name
 * says otherwise); this is the one definition of the second in them. */
#define CS_USEC_PER_SEC ((uint64_t)1000000)

/* One record: timestamp in microseconds of packet time, lengths, bytes. */
struct cs_frame {
	uint64_t ts_us;
	uint32_t caplen;	/* bytes present at `bytes` */
	uint32_t wirelen;	/* bytes the packet had on the wire */
	int dlt;		/* libpcap DLT_ value of the source */
	const uint8_t *bytes;
	/* The record's time is none packet time holds (pkttime.h): ts_us is 0
	 * and means nothing; the engine analyses the frame at the time it has
	 * reached and counts it (cs_stats.ts_invalid). */
	bool ts_invalid;
};

/*
 * Why a frame was not analysed.  Every frame read is either analysed
 * (CS_SKIP_NONE) or counted under exactly one of these, so that
 * packets read = analysed + sum of skipped, always.
 */
enum cs_skip {
	CS_SKIP_NONE,		/* analysed: TCP segment or ICMP error about TCP */
	CS_SKIP_BAD_RECORD,	/* record header impossible: caplen 0 or > wire length */
	CS_SKIP_LINKTYPE,	/* a link type connscope does not decode */
	CS_SKIP_TRUNCATED,	/* the snap length cut a header analysis needs */
	CS_SKIP_BAD_LINK_HEADER,/* impossible link header (e.g. VLAN stack too deep) */
	CS_SKIP_NOT_IP,		/* ARP, LLDP, 802.3/LLC, unknown ethertype or family */
	CS_SKIP_BAD_IP_HEADER,	/* wrong version, header or total length, ext. headers */
	CS_SKIP_IP_FRAGMENT,	/* a fragment not held for reassembly (inside a
				 * tunnel, or that cannot be held: defrag.h) */
	CS_SKIP_NOT_TCP,	/* UDP, ICMP that is not an error about TCP, ESP, ... */
	CS_SKIP_BAD_TCP_HEADER,	/* data offset < 5 or beyond the segment */
	CS_SKIP_BAD_TCP_OPTION,	/* option length < 2, past the header, or wrong for its kind */
	CS_SKIP_BAD_ICMP,	/* ICMP error whose quote cannot hold IP + 8 bytes of TCP */
	CS_SKIP_BAD_TUNNEL,	/* a recognised encapsulation whose header is malformed,
				 * or whose payload is not what it declares */
	CS_SKIP_TUNNEL_DEPTH,	/* encapsulations nested deeper than CS_TUNNEL_MAX_DEPTH */
	CS_SKIP_BAD_CHECKSUM,	/* --verify-checksums: a TCP checksum that is wrong */
	CS_SKIP_BAD_IP_CHECKSUM,/* --verify-checksums: an IPv4 header checksum
				 * that is wrong (the outer or a tunnel's) */
	CS_SKIP_IP_FRAGMENT_HELD,/* a fragment of the outer IP datagram, held:
				 * its bytes are read with the fragment that
				 * completes the datagram (defrag.h) */
	CS_SKIP_IP_FRAGMENT_OVERLAP,/* a fragment overlapping bytes already held:
				 * dropped (its datagram too when they differ) */
	CS_SKIP_MAX
};

extern const char *const cs_skip_names[CS_SKIP_MAX];

/* TCP header flags, bit positions as on the wire (RFC 9293, RFC 3168). */
enum {
	CS_TH_FIN = 0x01,
	CS_TH_SYN = 0x02,
	CS_TH_RST = 0x04,
	CS_TH_PSH = 0x08,
	CS_TH_ACK = 0x10,
	CS_TH_URG = 0x20,
	CS_TH_ECE = 0x40,
	CS_TH_CWR = 0x80,
	CS_TH_AE = 0x100,	/* AccECN, formerly NS (RFC 3540) */
};

/* Which TCP options a segment carried (cs_tcp_opts.present bits). */
enum {
	CS_OPT_MSS = 1u << 0,
	CS_OPT_WSCALE = 1u << 1,
	CS_OPT_SACK_PERM = 1u << 2,
	CS_OPT_SACK = 1u << 3,
	CS_OPT_TIMESTAMP = 1u << 4,
	CS_OPT_FASTOPEN = 1u << 5,
	CS_OPT_MD5 = 1u << 6,
	CS_OPT_MPTCP = 1u << 7,
	CS_OPT_TRUNCATED = 1u << 8,	/* the snap length cut the option list */
};

#define CS_SACK_MAX 4	/* 40 option bytes hold at most four blocks */

struct cs_tcp_opts {
	uint16_t present;
	uint16_t mss;
	uint8_t wscale;		/* as sent; RFC 7323 caps the effective shift at 14 */
	uint8_t sack_cnt;
	uint32_t ts_val, ts_ecr;
	uint32_t sack[CS_SACK_MAX][2];	/* left and right edge of each block */
};

/* An IPv4 address is held as ::ffff:a.b.c.d so both families share one key. */
struct cs_addr {
	uint8_t b[16];
};

enum cs_pkt_kind {
	CS_PKT_TCP,		/* a TCP segment */
	CS_PKT_ICMP_ERR,	/* an ICMP/ICMPv6 error quoting a TCP segment */
};

/* cs_pkt.info bits: what a reader of the view should know about it. */
enum {
	CS_PKTF_TRUNCATED = 1u << 0,	/* caplen < wirelen: payload not all present */
	CS_PKTF_FRAGMENT = 1u << 1,	/* first fragment of a fragmented datagram */
	CS_PKTF_LEN_FROM_WIRE = 1u << 2,/* IP length 0 (TSO/GSO/BIG TCP): taken from the frame */
	CS_PKTF_IPV6_ROUTED = 1u << 3,	/* IPv6 routing header with segments left: the
					 * destination is not the final one */
	CS_PKTF_IP_CSUM_BAD = 1u << 4,	/* an IPv4 header on the way in (outer or
					 * inner, not an ICMP quote) fails its
					 * checksum */
};

/*
 * Encapsulations the decoder peels to reach the inner connection.  The
 * spelling in cs_tunnel_names[] is the one every exporter uses.
 */
enum cs_tunnel_kind {
	CS_TUN_NONE,
	CS_TUN_MPLS,		/* label stack (RFC 3032), IP below it */
	CS_TUN_FABRICPATH,	/* Cisco FabricPath (ethertype 0x8903) */
	CS_TUN_GRE,		/* GRE version 0 (RFC 2784, RFC 2890) */
	CS_TUN_ERSPAN,		/* Cisco ERSPAN type I/II/III over GRE */
	CS_TUN_PPTP,		/* enhanced GRE version 1 carrying PPP (RFC 2637) */
	CS_TUN_IPIP,		/* IPv4 or IPv6 in IP (protocols 4 and 41) */
	CS_TUN_VXLAN,		/* RFC 7348, UDP 4789 */
	CS_TUN_GENEVE,		/* RFC 8926, UDP 6081 */
	CS_TUN_TEREDO,		/* RFC 4380, IPv6 in UDP */
	CS_TUN_GTPU,		/* 3GPP TS 29.281 G-PDU, UDP 2152 */
	CS_TUN_PPPOE,		/* PPPoE session (RFC 2516), ethertype 0x8864 */
	CS_TUN_PBB,		/* 802.1ah provider backbone bridging (MAC-in-MAC) */
	CS_TUN_AYIYA,		/* AYIYA (SixXS), UDP 5072 */
	CS_TUN_MAX
};

extern const char *const cs_tunnel_names[CS_TUN_MAX];

/* False for none, MPLS, FabricPath, PPPoE and PBB: no IP header of their own. */
bool cs_tunnel_has_endpoints(unsigned kind);

#define CS_TUNNEL_MAX_DEPTH 4	/* encapsulations peeled before giving up */

/*
 * How a packet reached the decoder.  kind names the outermost tunnel that
 * has IP endpoints (GRE, VXLAN, ...), or failing that the outermost link-
 * level one (MPLS, FabricPath, PPPoE, PBB); outer_src/outer_dst are that
 * IP tunnel's endpoints (zero for a link-level one alone).  id belongs to
 * the same tunnel: VXLAN/Geneve VNI, GTP-U TEID, GRE key, PPTP call ID,
 * ERSPAN session ID, MPLS bottom-of-stack label, PPPoE session ID, PBB
 * I-SID; 0 when the tunnel has none.  depth counts every encapsulation
 * peeled, nested ones included.
 */
struct cs_tunnel {
	uint8_t kind;		/* enum cs_tunnel_kind */
	uint8_t depth;
	struct cs_addr outer_src, outer_dst;
	uint32_t id;
};

struct cs_pkt {
	uint64_t ts_us;
	uint32_t wirelen;
	uint8_t kind;		/* enum cs_pkt_kind */
	uint8_t ip_ver;		/* 4 or 6: family of the (quoted, for ICMP) segment */
	uint8_t ttl;		/* TTL or hop limit of the segment's own IP header
				 * (not an ICMP quote's; the inner one in a tunnel) */
	uint8_t vlan_cnt;	/* 802.1Q/802.1ad tags seen, outermost first */
	uint16_t vlan[2];	/* VLAN ids of the two outermost tags */
	uint16_t info;		/* CS_PKTF_* */
	uint32_t ip_len;	/* IP datagram length (header + payload) */

	/* For an ICMP error these describe the quoted segment, in the
	 * direction it was sent: src is the host whose segment drew the error. */
	struct cs_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t flags;		/* CS_TH_* */
	uint16_t win;		/* raw window field, not yet scaled */
	uint16_t urg;
	uint16_t tcp_hlen;	/* TCP header length in bytes (data offset * 4) */
	uint32_t payload_len;	/* by the IP length, not by what was captured */
	struct cs_tcp_opts opt;

	/* The TCP segment as captured, for checksum checks: valid only while
	 * the frame is (i.e. during the callback). */
	const uint8_t *tcp;
	uint32_t tcp_caplen;

	struct {
		uint8_t type, code;
		struct cs_addr from;	/* sender of the error: a router or the host */
		struct cs_addr to;
		/* The quoted datagram (IP header on) as captured, and the
		 * frame's outermost IP header: valid only while the frame is.
		 * A filter is matched against the quote put in place of the
		 * datagram that carried it (source.c). */
		const uint8_t *quote;
		uint32_t quote_caplen;
	} icmp;
	const uint8_t *outer_ip;	/* the frame's first IP header; while
					 * the frame is */

	/* Encapsulation: kind CS_TUN_NONE for a packet seen bare.  For a
	 * tunnelled one the fields above describe the inner packet, except
	 * vlan*, the tags seen from the outermost Ethernet header inward. */
	struct cs_tunnel tunnel;
};

/* Address helpers shared by every module that prints or compares addresses. */
bool cs_addr_is_v4(const struct cs_addr *a);
/* True for destination unreachable: ICMP type 3 (RFC 792), ICMPv6 type 1
 * (RFC 4443): the error that ends a connect() (track.c), names the
 * outcome "unreachable" (diagnose.c) and whose code verdict.c explains. */
bool cs_icmp_is_unreachable(bool ipv4, uint8_t type);
/* Formats into buf (at least CS_ADDR_STRLEN bytes); returns buf. */
#define CS_ADDR_STRLEN 46
char *cs_addr_format(const struct cs_addr *a, char *buf, unsigned len);

/* "vxlan 10.1.1.1->10.1.1.2", "mpls" (no IP endpoints), "" for none.
 * Truncated to fit; CS_TUNNEL_STRLEN always suffices. */
#define CS_TUNNEL_STRLEN (16 + 2 * CS_ADDR_STRLEN)
char *cs_tunnel_format(const struct cs_tunnel *t, char *buf, unsigned len);

#endif /* CS_CAPTURE_PACKET_H */
