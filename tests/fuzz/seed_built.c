/*
 * seed_built.c — seed inputs made by the tests' packet builder.
 *
 * The recorded captures hold Ethernet, SLL and a few tunnels; these seeds
 * give the fuzzers one connection of each kind the decoder knows, so that
 * mutation starts next to every path rather than having to find a GRE
 * protocol number or a VXLAN port by chance: a whole TCP connection
 * (handshake with options, data, FINs) and an ICMP error quoting its SYN,
 * over every link type, both IP versions, VLAN tags, the link-layer
 * variants (PPPoE, LLC/SNAP, VN-Tag, compressed PPP, Cisco HDLC, 802.11
 * QoS and radiotap's fields) and every encapsulation.  Each script is written as a frame-target input and as a
 * pcap (and one pcapng) file for the file target.
 */
#include "tests/fuzz/seed_built.h"

#include <stdio.h>
#include <string.h>

#include "tests/fuzz/frames.h"
#include "tests/pktbuild.h"

#define FRAMES_MAX 24	/* a split connection: 10 frames in 20 fragments */
#define FRAME_CAP 2048

struct script {
	uint8_t frames[FRAMES_MAX][FRAME_CAP];
	size_t len[FRAMES_MAX];
	int cnt;
};

/* How each frame is wrapped: a link type, VLAN tags, a variant of the
 * link layer (link sets the spec's fields for it), or a tunnel. */
struct wrapping {
	const char *name;
	int dlt;
	int vlans;
	bool tunnel;
	struct pb_tunnel t;
	void (*link)(struct pb_spec *s);
	size_t split;		/* sent as two fragments, the first with this
				 * many payload bytes (a multiple of 8) */
};

static void pppoe(struct pb_spec *s) { s->pppoe = true; s->pppoe_session = 0x2a; }
static void llc_snap(struct pb_spec *s) { s->llc_snap = true; }
static void vntag(struct pb_spec *s) { s->vntag = true; s->vntag_tag = 0x80120034; }
static void ppp_bare(struct pb_spec *s) { s->ppp_acfc = true; s->ppp_pfc = true; }
static void chdlc(struct pb_spec *s) { s->chdlc = true; }
static void qos_4addr(struct pb_spec *s) { s->wlan_qos = true; s->wlan_ds = 3; }
static void radiotap(struct pb_spec *s)
{
	s->wlan_qos = true;
	s->wlan_ds = 1;
	s->rt_flags = 0x10;	/* an FCS ends the frame */
	s->rt_ext = 1;
}

/* The frame just built (n bytes, in the script's next slot) as two IP
 * fragments, as a router (IPv4) or the sender (IPv6) would split it: the
 * first piece in that slot, the second after it.  False (the frame stays
 * whole) for a payload too short to split, or no room. */
static bool split_in_two(struct script *s, const struct wrapping *w, size_t n)
{
	static uint8_t whole[FRAME_CAP];
	const size_t link = 14;		/* split frames are Ethernet */
	uint8_t *slot = s->frames[s->cnt];

	if (n < link + 40 || s->cnt + 2 > FRAMES_MAX)
		return false;
	size_t pay = slot[link] >> 4 == 6 ?
		     ((size_t)slot[link + 4] << 8 | slot[link + 5]) :
		     ((size_t)slot[link + 2] << 8 | slot[link + 3]) -
		     (size_t)(slot[link] & 0x0f) * 4;
	if (pay <= w->split)
		return false;
	memcpy(whole, slot, n);
	size_t second = pb_ip_fragment(whole, n, link, w->split, pay - w->split,
				       false, s->frames[s->cnt + 1], FRAME_CAP);
	size_t first = pb_ip_fragment(whole, n, link, 0, w->split, true, slot,
				      FRAME_CAP);
	if (!first || !second) {
		memcpy(slot, whole, n);
		return false;
	}
	s->len[s->cnt++] = first;
	s->len[s->cnt++] = second;
	return true;
}

static void put(struct script *s, const struct wrapping *w, const struct pb_spec *inner)
{
	if (s->cnt == FRAMES_MAX)
		return;
	struct pb_spec frame = *inner;
	size_t n;

	if (w->tunnel) {
		struct pb_spec outer;
		pb_spec_init(&outer, 4);
		pb_addr(outer.src, "192.0.2.1");
		pb_addr(outer.dst, "192.0.2.2");
		for (int i = 0; i < w->vlans; i++)	/* PBB: the backbone's tag */
			pb_vlan_add(&outer, 0x88a8, (uint16_t)(200 + i));
		n = pb_tunnel_build(&outer, &w->t, inner, s->frames[s->cnt], FRAME_CAP);
	} else {
		frame.dlt = w->dlt;
		for (int i = 0; i < w->vlans; i++)
			pb_vlan_add(&frame, i ? 0x8100 : 0x88a8, (uint16_t)(100 + i));
		if (w->link)
			w->link(&frame);
		n = pb_build(&frame, s->frames[s->cnt], FRAME_CAP);
	}
	if (n && w->split && split_in_two(s, w, n))
		return;
	if (n)
		s->len[s->cnt++] = n;
}

static void segment(struct script *s, const struct wrapping *w, int ver, bool from_client,
		    uint16_t flags, uint32_t seq, uint32_t ack, size_t len, bool opts)
{
	struct pb_spec p;

	pb_spec_init(&p, ver);
	if (!from_client) {
		uint8_t a[16];
		memcpy(a, p.src, 16);
		memcpy(p.src, p.dst, 16);
		memcpy(p.dst, a, 16);
		p.tcp.sport = 80;
		p.tcp.dport = 40000;
	}
	p.tcp.flags = flags;
	p.tcp.seq = seq;
	p.tcp.ack = ack;
	p.payload_len = len;
	if (opts) {
		static const uint32_t sack[1][2] = { { 5000, 5100 } };
		pb_opt_mss(&p, 1460);
		pb_opt_sack_perm(&p);
		pb_opt_ts(&p, 100, flags & CS_TH_ACK ? 50 : 0);
		pb_opt_nop(&p);
		pb_opt_wscale(&p, 7);
		if (!(flags & CS_TH_SYN))
			pb_opt_sack(&p, sack, 1);
	}
	put(s, w, &p);
}

/* A client's SYN answered by an ICMP error from a router, then a whole
 * connection: handshake with options, data both ways, FINs, the last ACK. */
static void connection(struct script *s, const struct wrapping *w, int ver)
{
	struct pb_spec quote, icmp;

	pb_spec_init(&quote, ver);
	pb_spec_init(&icmp, ver);
	pb_addr(icmp.src, ver == 6 ? "2001:db8::fe" : "10.0.0.254");
	memcpy(icmp.dst, quote.src, 16);
	icmp.l4 = PB_L4_ICMP;
	icmp.icmp.type = ver == 6 ? 1 : 3;	/* destination unreachable */
	icmp.icmp.code = ver == 6 ? 3 : 1;	/* address / host unreachable */
	icmp.icmp.quote = &quote;
	segment(s, w, ver, true, SYN, 999, 0, 0, true);
	put(s, w, &icmp);

	segment(s, w, ver, true, SYN, 1000, 0, 0, true);
	segment(s, w, ver, false, SYNACK, 5000, 1001, 0, true);
	segment(s, w, ver, true, ACK, 1001, 5001, 0, false);
	segment(s, w, ver, true, DATA, 1001, 5001, 100, true);
	segment(s, w, ver, false, DATA, 5001, 1101, 300, false);
	segment(s, w, ver, true, FINACK, 1101, 5301, 0, false);
	segment(s, w, ver, false, FINACK, 5301, 1102, 0, false);
	segment(s, w, ver, true, ACK, 1102, 5302, 0, false);
}

static int dlt_index(int dlt)
{
	for (size_t i = 0; i < FUZZ_DLT_CNT; i++)
		if (fuzz_dlts[i] == dlt)
			return (int)i;
	return 0;
}

static int write_frames(const char *dir, const char *name, const struct wrapping *w,
			const struct script *s, uint8_t mode)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/built-%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return -1;
	}
	/* tunnels are carried by Ethernet */
	fputc(dlt_index(w->tunnel ? CS_DLT_EN10MB : w->dlt) | mode, f);
	for (int i = 0; i < s->cnt; i++) {
		fputc(1, f);	/* 100 ms apart */
		fputc((int)(s->len[i] >> 8), f);
		fputc((int)(s->len[i] & 0xff), f);
		fwrite(s->frames[i], 1, s->len[i], f);
	}
	return fclose(f);
}

static int write_capture(const char *dir, const char *name, const struct wrapping *w,
			 const struct script *s, bool pcapng)
{
	static uint8_t file[FRAMES_MAX * (FRAME_CAP + 64) + 256];
	struct pb_rec recs[FRAMES_MAX];
	struct pb_file pf = { .dlt = w->tunnel ? CS_DLT_EN10MB : w->dlt };
	char path[4096];

	for (int i = 0; i < s->cnt; i++)
		recs[i] = (struct pb_rec){ .ts_ns = 1700000000000000000ull + i * 100000000ull,
					   .bytes = s->frames[i],
					   .caplen = (uint32_t)s->len[i] };
	size_t n = pcapng ? pb_pcapng_write(&pf, recs, (size_t)s->cnt, file, sizeof file)
			  : pb_pcap_write(&pf, recs, (size_t)s->cnt, file, sizeof file);
	snprintf(path, sizeof path, "%s/built-%s.%s", dir, name, pcapng ? "pcapng" : "pcap");
	FILE *f = fopen(path, "wb");
	if (!f || !n) {
		perror(path);
		if (f)
			fclose(f);
		return -1;
	}
	fwrite(file, 1, n, f);
	return fclose(f);
}

int seed_built(const char *frame_dir, const char *file_dir)
{
	static const struct wrapping links[] = {
		{ "en10mb", CS_DLT_EN10MB, 0, false, { 0 }, NULL, 0 },
		{ "vlan2", CS_DLT_EN10MB, 2, false, { 0 }, NULL, 0 },
		{ "sll", CS_DLT_LINUX_SLL, 0, false, { 0 }, NULL, 0 },
		{ "sll2", CS_DLT_LINUX_SLL2, 0, false, { 0 }, NULL, 0 },
		{ "null", CS_DLT_NULL, 0, false, { 0 }, NULL, 0 },
		{ "loop", CS_DLT_LOOP, 0, false, { 0 }, NULL, 0 },
		{ "raw", CS_DLT_RAW, 0, false, { 0 }, NULL, 0 },
		{ "ipv4", CS_DLT_IPV4, 0, false, { 0 }, NULL, 0 },
		{ "ipv6", CS_DLT_IPV6, 0, false, { 0 }, NULL, 0 },
		{ "pppoe", CS_DLT_EN10MB, 0, false, { 0 }, pppoe, 0 },
		{ "pppoe-qinq", CS_DLT_EN10MB, 2, false, { 0 }, pppoe, 0 },
		{ "llc-snap", CS_DLT_EN10MB, 0, false, { 0 }, llc_snap, 0 },
		{ "vntag", CS_DLT_EN10MB, 1, false, { 0 }, vntag, 0 },
		{ "ppp", CS_DLT_PPP, 0, false, { 0 }, NULL, 0 },
		{ "ppp-compressed", CS_DLT_PPP, 0, false, { 0 }, ppp_bare, 0 },
		{ "ppp-hdlc", CS_DLT_PPP_SERIAL, 0, false, { 0 }, NULL, 0 },
		{ "cisco-hdlc", CS_DLT_PPP_SERIAL, 0, false, { 0 }, chdlc, 0 },
		{ "fddi", CS_DLT_FDDI, 0, false, { 0 }, NULL, 0 },
		{ "wlan", CS_DLT_IEEE802_11, 0, false, { 0 }, qos_4addr, 0 },
		{ "radiotap", CS_DLT_IEEE802_11_RADIO, 0, false, { 0 }, radiotap, 0 },
		{ "nflog", CS_DLT_NFLOG, 0, false, { 0 }, NULL, 0 },
		{ "mpls", 0, 0, true, { .kind = PB_TUN_MPLS, .labels = 2, .id = 16 }, NULL, 0 },
		{ "fabricpath", 0, 0, true, { .kind = PB_TUN_FABRICPATH }, NULL, 0 },
		{ "gre", 0, 0, true, { .kind = PB_TUN_GRE, .gre_key = true, .gre_csum = true,
				       .gre_seq = true, .id = 7 }, NULL, 0 },
		{ "gre-eth", 0, 0, true, { .kind = PB_TUN_GRE, .eth = true }, NULL, 0 },
		{ "erspan2", 0, 0, true, { .kind = PB_TUN_ERSPAN2, .id = 3 }, NULL, 0 },
		{ "erspan3", 0, 0, true, { .kind = PB_TUN_ERSPAN3, .id = 3 }, NULL, 0 },
		{ "pptp", 0, 0, true, { .kind = PB_TUN_PPTP, .id = 9 }, NULL, 0 },
		{ "pptp-compressed", 0, 0, true, { .kind = PB_TUN_PPTP, .ppp_compressed = true }, NULL, 0 },
		{ "ipip", 0, 0, true, { .kind = PB_TUN_IPIP }, NULL, 0 },
		{ "vxlan", 0, 0, true, { .kind = PB_TUN_VXLAN, .id = 42 }, NULL, 0 },
		{ "geneve", 0, 0, true, { .kind = PB_TUN_GENEVE, .geneve_opt_words = 2 }, NULL, 0 },
		{ "geneve-eth", 0, 0, true, { .kind = PB_TUN_GENEVE, .eth = true }, NULL, 0 },
		{ "teredo", 0, 0, true, { .kind = PB_TUN_TEREDO, .teredo_auth = true,
					  .teredo_origin = true }, NULL, 0 },
		{ "gtpu", 0, 0, true, { .kind = PB_TUN_GTPU, .gtp_seq = true,
					.gtp_ext_cnt = 1, .id = 77 }, NULL, 0 },
		{ "gre-frag", 0, 0, true, { .kind = PB_TUN_GRE, .first_frag = 32 }, NULL, 0 },
		{ "erspan1", 0, 0, true, { .kind = PB_TUN_ERSPAN1 }, NULL, 0 },
		{ "erspan3-sub", 0, 0, true, { .kind = PB_TUN_ERSPAN3, .id = 5,
					       .erspan_subheader = true }, NULL, 0 },
		{ "pbb", 0, 1, true, { .kind = PB_TUN_PBB, .id = 0x10203 }, NULL, 0 },
		{ "gre-udp", 0, 0, true, { .kind = PB_TUN_GRE_UDP, .gre_key = true, .id = 5 }, NULL, 0 },
		{ "gre-udp-eth", 0, 0, true, { .kind = PB_TUN_GRE_UDP, .eth = true }, NULL, 0 },
		{ "ayiya", 0, 0, true, { .kind = PB_TUN_AYIYA }, NULL, 0 },
		{ "aruba", 0, 0, true, { .kind = PB_TUN_ARUBA }, NULL, 0 },
		/* Split by a router: every IPv4 frame in two fragments. */
		{ "en10mb-split", CS_DLT_EN10MB, 0, false, { 0 }, NULL, 8 },
		{ "gre-split", 0, 0, true, { .kind = PB_TUN_GRE, .gre_key = true,
					     .id = 7 }, NULL, 32 },
		{ "vxlan-split", 0, 0, true, { .kind = PB_TUN_VXLAN, .id = 42 }, NULL, 56 },
	};
	static struct script s;
	int seeds = 0;

	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		for (int ver = 4; ver <= 6; ver += 2) {
			const struct wrapping *w = &links[i];
			char name[64];
			/* Teredo carries IPv6 only; bare IPv4/IPv6 links one family */
			if ((w->t.kind == PB_TUN_TEREDO && w->tunnel && ver == 4) ||
			    (w->dlt == CS_DLT_IPV4 && ver == 6) ||
			    (w->dlt == CS_DLT_IPV6 && ver == 4))
				continue;
			memset(&s, 0, sizeof s);
			connection(&s, w, ver);
			if (s.cnt == 0)
				continue;
			snprintf(name, sizeof name, "%s-v%d", w->name, ver);
			if ((frame_dir && write_frames(frame_dir, name, w, &s,
							seeds % 2 ? FUZZ_F_RECENT : 0)) ||
			    (file_dir && write_capture(file_dir, name, w, &s, i == 0)))
				return -1;
			seeds++;
		}
	}
	return seeds;
}
