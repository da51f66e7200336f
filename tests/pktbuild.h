/*
 * pktbuild.h — the tests' packet builder.
 *
 * Writes whole frames into a caller's buffer from a struct that describes
 * them: a link header (every link type the decoder reads, VLAN stacks,
 * 802.3 LLC/SNAP, PPPoE, VN-Tag, 802.11 under radiotap, NFLOG TLVs), an
 * IPv4 header (options, fragment fields) or an IPv6 header (extension header
 * chain, jumbo option), then TCP (flags, options), UDP, an ICMP/ICMPv6 error
 * quoting another built datagram, or bare bytes of any protocol.  Lengths and
 * checksums are computed, so a frame is exactly what a host would have sent,
 * unless a field says to write a lie (an overridden length, a data offset):
 * that is how the tests reach the decoder's rejection paths.
 *
 * It also wraps frames into pcap (µs and ns) and pcapng files in memory, for
 * the suites that test the file path.  It never allocates and never writes
 * past the capacity it is given.  Test code only: nothing in capture/,
 * analyzer/ or web/ may include it.
 */
#ifndef CS_TESTS_PKTBUILD_H
#define CS_TESTS_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/decode.h"	/* CS_DLT_*, CS_TH_* */

/* TCP flag combinations, as the tests' scripts spell them. */
#define SYN	CS_TH_SYN
#define SYNACK	(CS_TH_SYN | CS_TH_ACK)
#define ACK	CS_TH_ACK
#define DATA	(CS_TH_PSH | CS_TH_ACK)
#define FIN	CS_TH_FIN
#define FINACK	(CS_TH_FIN | CS_TH_ACK)
#define RST	CS_TH_RST
#define RSTACK	(CS_TH_RST | CS_TH_ACK)

/* Packet time in the scripts: T0 + 10 * SEC is ten seconds after T0. */
#define SEC	CS_USEC_PER_SEC

#define PB_VLAN_MAX 12		/* more than the decoder accepts (8) */
#define PB_EXT_MAX 20		/* more than the decoder walks (16) */
#define PB_TCPOPT_MAX 40	/* what a data offset of 15 leaves for options */
#define PB_IPOPT_MAX 40		/* what an IHL of 15 leaves for options */

/* IPv6 extension header types (the Next Header values, RFC 8200 4). */
enum {
	PB_EXT_HOPOPTS = 0,
	PB_EXT_ROUTING = 43,
	PB_EXT_FRAGMENT = 44,
	PB_EXT_AH = 51,
	PB_EXT_DSTOPTS = 60,
};

/* What follows the IP header (and its extension headers). */
enum pb_l4 {
	PB_L4_TCP,		/* the default */
	PB_L4_UDP,
	PB_L4_ICMP,		/* ICMP over IPv4, ICMPv6 over IPv6 */
	PB_L4_RAW,		/* payload_len bytes under protocol number `proto` */
};

struct pb_vlan {
	uint16_t tpid;		/* 0x8100, 0x88a8, 0x9100; 0 is taken as 0x8100 */
	uint16_t tci;		/* priority, DEI and VLAN id, as on the wire */
};

struct pb_ext {
	uint8_t type;		/* PB_EXT_* */
	uint8_t hdr_len;	/* Hdr Ext Len field as written: (n+1)*8 bytes,
				 * AH (n+2)*4 bytes with 0 taken as 4 (96-bit ICV) */
	uint16_t frag_off;	/* fragment header: offset in 8-octet units */
	bool frag_more;		/* fragment header: M flag */
	bool jumbo;		/* hop-by-hop: carry a jumbo payload option and
				 * write payload length 0 (RFC 2675) */
	uint32_t jumbo_len;	/* the option's value; 0: the true length */
};

struct pb_tcp {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t flags;		/* CS_TH_* incl. CS_TH_AE; the 12 bits after the
				 * data offset, so reserved bits can be set too */
	uint16_t win, urg;
	uint8_t doff;		/* 0: from the options; otherwise written as is */
	uint8_t opt_len;	/* option bytes; padded with EOL to 4 bytes */
	uint8_t opt[PB_TCPOPT_MAX];
};

struct pb_spec;

struct pb_icmp {
	uint8_t type, code;
	uint32_t rest;		/* the word after the checksum: unused, MTU, pointer */
	const struct pb_spec *quote;	/* the datagram quoted (link fields
					 * ignored); NULL: nothing quoted */
	size_t quote_len;	/* bytes of it carried; 0: all of it */
};

struct pb_spec {
	/* Link layer. */
	int dlt;		/* CS_DLT_* */
	unsigned vlan_cnt;	/* Ethernet: tags, outermost first */
	struct pb_vlan vlan[PB_VLAN_MAX];
	uint16_t ethertype;	/* Ethernet, SLL, SLL2; 0: by ip_ver */
	uint32_t null_af;	/* DLT_NULL/LOOP family; 0: 2, or 10 for IPv6 */
	bool null_be;		/* DLT_NULL written by a big-endian host */
	size_t trailer_len;	/* bytes after the datagram (Ethernet padding,
				 * an FCS), 0xa5 so that reading them shows */

	/* Link-layer variants; the defaults write none of them. */
	bool llc_snap;		/* EN10MB: an 802.3 length and LLC/SNAP (RFC 1042)
				 * in place of the ethertype (FDDI, 802.11: always) */
	bool vntag;		/* EN10MB: a Cisco VN-Tag (0x8926) before the VLAN tags */
	uint32_t vntag_tag;	/* its four bytes */
	bool pppoe;		/* EN10MB, SLL, SLL2: ethertype 0x8864, a PPPoE
				 * session header, then PPP's protocol field */
	uint16_t pppoe_session;
	bool ppp_acfc;		/* PPP, PPP_SERIAL: no address and control (ff 03) */
	bool ppp_pfc;		/* PPP, PPP_SERIAL, PPPoE: a one-byte protocol field */
	uint16_t ppp_proto;	/* 0: 0x0021 or 0x0057 by ip_ver */
	bool chdlc;		/* PPP_SERIAL: Cisco HDLC framing (C_HDLC: always) */
	uint8_t fddi_fc;	/* FDDI frame control; 0: 0x50, asynchronous LLC */
	uint8_t wlan_ds;	/* 802.11 To DS (1) and From DS (2) bits; 3: four
				 * addresses */
	bool wlan_qos;		/* 802.11: a QoS data frame (2 bytes of QoS control) */
	bool wlan_htc;		/* 802.11 QoS data: Order bit, 4 bytes of HT control */
	uint8_t rt_flags;	/* radiotap flags: 0x10 an FCS ends the frame (written),
				 * 0x20 the 802.11 header is padded to 32 bits */
	uint8_t rt_ext;		/* radiotap: extended presence words */
	bool nflog_be;		/* NFLOG TLV headers big-endian, as a big-endian
				 * host writes them; default: this host's order */

	/* Network layer. */
	uint8_t ip_ver;		/* 4 or 6 */
	uint8_t src[16], dst[16];	/* IPv4 in the first 4 bytes */
	uint8_t ttl;		/* TTL or hop limit */
	uint8_t ip_opt_len;	/* IPv4 option bytes; padded with EOL to 4 */
	uint8_t ip_opt[PB_IPOPT_MAX];
	uint16_t frag_off;	/* IPv4: fragment offset in 8-octet units */
	bool frag_more, frag_df;	/* IPv4: MF and DF */
	unsigned ext_cnt;	/* IPv6 extension headers, in order */
	struct pb_ext ext[PB_EXT_MAX];
	bool len_set;		/* write len_field instead of the true length: */
	uint16_t len_field;	/* IPv4 total length or IPv6 payload length */

	/* Transport. */
	enum pb_l4 l4;
	uint8_t proto;		/* PB_L4_RAW: the protocol number */
	struct pb_tcp tcp;
	struct pb_icmp icmp;
	size_t payload_len;	/* bytes after the TCP/UDP/ICMP header (and
				 * quote); filled with a counting pattern */
};

/*
 * Defaults: Ethernet, 10.0.0.1:40000 -> 10.0.0.2:80 (2001:db8::1 -> ::2
 * for ip_ver 6), TTL 64, TCP SYN seq 1000, window 65535, no options.
 */
void pb_spec_init(struct pb_spec *s, int ip_ver);

/* Parses "10.0.0.1" or "2001:db8::1" into addr (IPv4 in the first 4
 * bytes); false if the text is neither. */
bool pb_addr(uint8_t addr[16], const char *text);

/* Appends a VLAN tag / IPv6 extension header; false / NULL when full. */
bool pb_vlan_add(struct pb_spec *s, uint16_t tpid, uint16_t vid);
struct pb_ext *pb_ext_add(struct pb_spec *s, uint8_t type);

/* Append TCP option bytes; false (and nothing appended) when they do not fit. */
bool pb_opt_raw(struct pb_spec *s, const uint8_t *bytes, size_t n);
bool pb_opt_nop(struct pb_spec *s);
bool pb_opt_mss(struct pb_spec *s, uint16_t mss);
bool pb_opt_wscale(struct pb_spec *s, uint8_t shift);
bool pb_opt_sack_perm(struct pb_spec *s);
bool pb_opt_sack(struct pb_spec *s, const uint32_t blocks[][2], unsigned n);
bool pb_opt_ts(struct pb_spec *s, uint32_t val, uint32_t ecr);

/* Writes the frame; returns its length, or 0 if cap is too small or the
 * spec cannot be built (unknown link type, ip_ver not 4 or 6). */
size_t pb_build(const struct pb_spec *s, uint8_t *buf, size_t cap);

/* Byte offset of the IP header in frames built from s (the link header
 * length: tags, LLC/SNAP, PPPoE, radiotap, NFLOG TLVs included), for
 * tests that patch a field after building. */
size_t pb_link_len(const struct pb_spec *s);

/*
 * A fragment of the datagram in frame (n bytes, its IP header at
 * link_len): the link header and IP header copied, then len bytes of the
 * IP payload from byte off (a multiple of 8).  IPv4: total length, MF,
 * offset and header checksum written for the piece (DF cleared).  IPv6
 * (no extension headers): a Fragment header (id 0x1234) after the fixed
 * header, payload length written.  Returns its length, or 0 if the piece
 * is not inside the datagram or cap too small.
 */
size_t pb_ip_fragment(const uint8_t *frame, size_t n, size_t link_len,
		      size_t off, size_t len, bool more, uint8_t *buf, size_t cap);

/* ---- capture files in memory --------------------------------------------- */

struct pb_rec {
	uint64_t ts_ns;		/* since the epoch; µs files keep ts_ns / 1000 */
	const uint8_t *bytes;
	uint32_t caplen;	/* bytes written */
	uint32_t wirelen;	/* original length; 0: caplen */
	/* The time fields as written, instead of ts_ns (times ts_ns cannot
	 * hold, fractions that are none): pcap's 32-bit seconds and fraction,
	 * or pcapng's 64-bit count of if_tsresol units. */
	bool raw_ts;
	uint32_t raw_sec, raw_frac;
	uint64_t raw_units;
};

struct pb_file {
	int dlt;
	uint32_t snaplen;	/* 0: 262144 */
	bool nanosec;		/* pcap magic 0xa1b23c4d; pcapng if_tsresol 9 */
	bool big_endian;	/* write as a big-endian host would */
	/* pcapng: if_tsresol as written (instead of nanosec's 9), and
	 * if_tsoffset, seconds added to every time (pcapng spec 4.2). */
	bool has_tsresol, has_tsoffset;
	uint8_t tsresol;
	int64_t tsoffset;
};

/* Both return the file's length, or 0 if it does not fit in cap. */
size_t pb_pcap_write(const struct pb_file *f, const struct pb_rec *recs,
		     size_t n, uint8_t *buf, size_t cap);
/* One section (SHB), one interface (IDB), one EPB per record. */
size_t pb_pcapng_write(const struct pb_file *f, const struct pb_rec *recs,
		       size_t n, uint8_t *buf, size_t cap);

/* ---- encapsulations ------------------------------------------------------- */

enum pb_tun {
	PB_TUN_MPLS,		/* Ethernet 0x8847, label stack, datagram */
	PB_TUN_FABRICPATH,	/* Ethernet 0x8903, FTag/TTL, frame */
	PB_TUN_GRE,		/* IP protocol 47, version 0: datagram, or frame (eth) */
	PB_TUN_ERSPAN2,		/* GRE 0x88be with a sequence number, 8-byte header, frame */
	PB_TUN_ERSPAN3,		/* GRE 0x22eb, 12-byte header, frame */
	PB_TUN_PPTP,		/* GRE version 1, PPP, datagram */
	PB_TUN_IPIP,		/* IP protocol 4 or 41, by the datagram's version */
	PB_TUN_VXLAN,		/* UDP to 4789, frame */
	PB_TUN_GENEVE,		/* UDP to 6081, frame (eth) or datagram */
	PB_TUN_TEREDO,		/* UDP to 3544, IPv6 datagram */
	PB_TUN_GTPU,		/* UDP 2152 to 2152, G-PDU, datagram */
	PB_TUN_ERSPAN1,		/* GRE 0x88be without a sequence number: frame */
	PB_TUN_PBB,		/* Ethernet 0x88e7, I-tag (I-SID), customer frame */
	PB_TUN_GRE_UDP,		/* UDP to 4754 (RFC 8086), GRE as PB_TUN_GRE */
	PB_TUN_AYIYA,		/* UDP to 5072, AYIYA forward, datagram */
	PB_TUN_ARUBA,		/* GRE of Aruba's type, an 802.11 frame (wlan_* of
				 * the inner spec) */
};

struct pb_tunnel {
	enum pb_tun kind;
	uint32_t id;		/* VNI, TEID, GRE key, PPTP call ID, ERSPAN session,
				 * MPLS bottom label, PBB I-SID */
	bool eth;		/* GRE, GRE in UDP, Geneve: an Ethernet frame, not a
				 * datagram */
	bool gre_key, gre_csum, gre_seq;	/* GRE version 0 optional fields */
	uint8_t labels;		/* MPLS: entries in the stack; 0 is taken as 1 */
	uint8_t geneve_opt_words;	/* Geneve: option length, 4-byte words (<= 63) */
	bool gtp_seq;		/* GTP-U: S flag and the 4 optional bytes */
	uint8_t gtp_ext_cnt;	/* GTP-U: 4-byte extension headers (E flag) */
	bool teredo_auth, teredo_origin;	/* Teredo headers before IPv6 */
	bool ppp_compressed;	/* PPTP: no address/control, 1-byte protocol */
	uint16_t aruba_type;	/* Aruba: the GRE protocol type; 0: 0x8210 */
	bool erspan_subheader;	/* ERSPAN III: O bit, 8-byte platform subheader */
	uint16_t sport, dport;	/* UDP tunnels; 0: the kind's usual port */
	size_t first_frag;	/* IPv4 outer: keep only a first fragment with
				 * this many payload bytes (a multiple of 8) */
};

/* True when t carries an Ethernet frame, false for an IP datagram (or,
 * Aruba, an 802.11 frame). */
bool pb_tunnel_carries_frame(const struct pb_tunnel *t);

/* The link type of what t carries: EN10MB, IEEE802_11 or RAW. */
int pb_tunnel_inner_dlt(const struct pb_tunnel *t);

/*
 * Writes outer's link and IP headers (with UDP for the UDP tunnels; the
 * ports from t, outer's l4, proto and payload ignored), the tunnel header,
 * then inner: inner_len bytes of the Ethernet frame or IP datagram the
 * tunnel carries (pb_build with pb_tunnel_inner_dlt's link type, or an
 * earlier wrap with a RAW outer, for nesting).  Lengths and checksums
 * (UDP, GRE) are computed.  MPLS, FabricPath and PBB write their own
 * Ethernet header, with outer's VLAN tags.  Returns the frame's length, or 0 if it does not fit.
 */
size_t pb_tunnel_wrap(const struct pb_spec *outer, const struct pb_tunnel *t,
		      const uint8_t *inner, size_t inner_len,
		      uint8_t *buf, size_t cap);

/* pb_tunnel_wrap of inner, built as what t carries (its dlt ignored). */
size_t pb_tunnel_build(const struct pb_spec *outer, const struct pb_tunnel *t,
		       const struct pb_spec *inner, uint8_t *buf, size_t cap);

#endif /* CS_TESTS_PKTBUILD_H */
