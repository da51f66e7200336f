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

/* One record: timestamp in microseconds of packet time, lengths, bytes. */
struct cs_frame {
	uint64_t ts_us;
	uint32_t caplen;	/* bytes present at `bytes` */
	uint32_t wirelen;	/* bytes the packet had on the wire */
	int dlt;		/* libpcap DLT_ value of the source */
	const uint8_t *bytes;
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
	CS_SKIP_IP_FRAGMENT,	/* a non-first fragment: carries no TCP header */
	CS_SKIP_NOT_TCP,	/* UDP, ICMP that is not an error about TCP, ESP, ... */
	CS_SKIP_BAD_TCP_HEADER,	/* data offset < 5 or beyond the segment */
	CS_SKIP_BAD_TCP_OPTION,	/* option length < 2, past the header, or wrong for its kind */
	CS_SKIP_BAD_ICMP,	/* ICMP error whose quote cannot hold IP + 8 bytes of TCP */
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
};

struct cs_pkt {
	uint64_t ts_us;
	uint32_t wirelen;
	uint8_t kind;		/* enum cs_pkt_kind */
	uint8_t ip_ver;		/* 4 or 6: family of the (quoted, for ICMP) segment */
	uint8_t ttl;		/* TTL or hop limit of the outer IP header */
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
	} icmp;
};

/* Address helpers shared by every module that prints or compares addresses. */
bool cs_addr_is_v4(const struct cs_addr *a);
/* Formats into buf (at least CS_ADDR_STRLEN bytes); returns buf. */
#define CS_ADDR_STRLEN 46
char *cs_addr_format(const struct cs_addr *a, char *buf, unsigned len);

#endif /* CS_CAPTURE_PACKET_H */
