/*
 * workload.c — a mixed TCP workload written as a classic pcap: the inputs
 * of tests/bench/run.sh (SMALL -n 1000000, LARGE -n 10000000, seed 1) and
 * of tests/bench/live.sh.
 *
 *   workload -n PACKETS [-s SEED] [-r RATE] [-q] -o FILE|-
 *
 * It writes exactly PACKETS frames; the end of the file cuts the
 * connections still open, as the end of a real capture does.  The same
 * arguments give the same bytes on every machine: one generator
 * (splitmix64) seeded with SEED, no clock, and no libm (the logarithm and
 * the exponential the delays need are computed below, so that no libm
 * version can move a timestamp).  It needs no library: the file format is
 * written here.  On stderr, unless -q, one summary: packets, bytes,
 * simulated seconds, the most connections open at once, and how many
 * connections of each kind were started.
 *
 * The tap sits next to the servers: a server's answer follows the
 * client's packet by 15-400 us (the server's own latency), a client's
 * answer follows the server's by the connection's round trip, 0.3-80 ms,
 * log-uniform.  Connections start in three independent Poisson streams:
 *
 *   kind      how often            what the tap sees
 *   normal    79% of the mixed     SYN (MSS, window scale, SACK permitted),
 *             stream (RATE a       SYN-ACK, ACK; one request/response round,
 *             second, default      or 2-4 rounds (keep-alive) for 30%;
 *             10,000)              requests 20-299 bytes, responses 1-6
 *                                  segments, the client ACKing every second
 *                                  one and the last; closed by the client
 *                                  first (50%; half of the servers ACK the
 *                                  FIN before sending their own), by the
 *                                  server first (45%; half of the clients
 *                                  likewise) or by both at once (5%)
 *   refused   8%                   SYN answered by RST-ACK; 20% of the
 *                                  clients try twice more, 0.5 s apart
 *   timeout   4%                   SYN sent at 0, 1, 3 and 7 s, never
 *                                  answered
 *   aborted   9%                   a third each: the client resets in the
 *                                  middle of the response (the server's
 *                                  next segment, already sent, then draws a
 *                                  bare RST), the server resets right after
 *                                  the request, the client resets instead
 *                                  of closing
 *   churn     RATE/10 a second     one client, 10.99.0.7, to one server,
 *                                  192.168.20.10:8080: a handshake, one
 *                                  short exchange, the client closes first,
 *                                  so each connection leaves a TIME_WAIT on
 *                                  the client; its source ports go through
 *                                  32768-60999 in turn, so after 28 s a
 *                                  port comes back while its previous
 *                                  connection would still be in TIME_WAIT
 *   flood     from 35% of the      PACKETS/33 SYNs (3% of the packets) at
 *             file on              100,000 a second from random spoofed
 *                                  IPv4 sources, no options, to
 *                                  192.168.30.80:80; each is answered by a
 *                                  SYN-ACK, retransmitted after 1 s for
 *                                  30%; 10% of the sources answer the
 *                                  SYN-ACK with a RST
 *
 * Losses beyond the tap: 1% of requests and 2% of responses lose their
 * last segment and send it again after the retransmission timeout,
 * max(200 ms, 3 round trips).  Mixed connections: clients in
 * 10.32.0.0/12, servers 192.168.10.1-200 on 443, 80, 22, 8080, 5432 and
 * 6379 (443 most); 5% are IPv6 (2001:db8:c::/64 to 2001:db8:5::/64) and
 * 5% carry an 802.1Q tag (VLAN 10-80), independently.  The churn and the
 * flood are untagged IPv4.
 *
 * With the defaults SMALL spans about 6 s of traffic and LARGE about 60 s;
 * a frame is 145 bytes on average, so LARGE is about 1.6 GB.  These shares
 * and sizes are those of gen-pcap, the outside generator the benchmark
 * used before this one, so that figures taken with either compare.
 *
 * Every IPv4 header checksum and every TCP checksum is right.  Payloads
 * are zeros: no application protocol, so tshark's port-based dissectors
 * (TLS on 443, HTTP on 80) find nothing malformed and do no extra work.
 * Timestamps start at 2025-03-01 00:00:00 UTC, in microseconds; the file
 * is little-endian pcap 2.4, LINKTYPE_ETHERNET, snaplen 65535, and every
 * frame is captured whole.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EPOCH_SEC 1740787200u	/* 2025-03-01 00:00:00 UTC */
#define SNAPLEN 65535u
#define LINKTYPE_ETHERNET 1u
#define SCRIPT_MAX 64		/* segments of one connection; 4 rounds with
				 * every loss come to 63 */
#define FRAME_MAX 512		/* 18 link + 40 IPv6 + 32 TCP + 300 data */
#define FULL_SEGMENT 300	/* bytes of a response segment but the last */
#define FLOOD_RATE 100000	/* SYNs a second */
#define LN2 0.693147180559945309417

enum { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10 };

enum kind { NORMAL, REFUSED, TIMEOUT, ABORTED, CHURN, FLOOD, KIND_MAX };
static const char *const kind_names[KIND_MAX] = {
	"normal", "refused", "timeout", "aborted", "churn", "flood",
};

/* Who sends a segment, and which SYN options it carries. */
enum { FROM_SERVER = 1, CLIENT_OPTS = 2, SERVER_OPTS = 4 };
enum { CLIENT = 0, SERVER = 1 };

struct seg {
	uint32_t at_us;		/* after the connection's first segment */
	uint32_t seq, ack;
	uint16_t len;		/* payload bytes, all zero */
	uint8_t flags;
	uint8_t how;		/* FROM_SERVER | *_OPTS */
};

struct conn {
	uint64_t start_us;	/* since the start of the file */
	uint64_t serial;	/* breaks ties between equal times */
	uint32_t addr[2];	/* IPv4; the IPv6 addresses embed them */
	uint16_t port[2];
	uint16_t ipid[2];
	uint16_t win[2];	/* after the handshake, unscaled */
	uint8_t ttl[2];
	uint16_t vlan;		/* 0: untagged */
	bool v6;
	uint8_t kind;
	uint8_t cnt, next;	/* segments, and the next one to write */
	struct seg seg[];
};

/* ---- randomness and the two functions libm would give ------------------- */

static uint64_t rng;

static uint64_t rnd64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15u);

	z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9u;
	z = (z ^ z >> 27) * 0x94d049bb133111ebu;
	return z ^ z >> 31;
}

static uint32_t rnd32(void) { return (uint32_t)(rnd64() >> 32); }

/* 0 .. n-1 (n < 2^32): the top 32 bits scaled, no division */
static uint32_t below(uint32_t n)
{
	return (uint32_t)((rnd64() >> 32) * n >> 32);
}

static uint32_t between(uint32_t lo, uint32_t hi) /* lo .. hi inclusive */
{
	return lo + below(hi - lo + 1);
}

static bool percent(uint32_t p) { return below(100) < p; }

static double unit(void) /* [0, 1) */
{
	return (double)(rnd64() >> 11) * 0x1p-53;
}

/* ln x for x > 0: x = m 2^k with m in [0.75, 1.5), then
 * ln m = 2 atanh z, z = (m - 1)/(m + 1), |z| < 0.2, whose series has
 * converged to double precision by its 12th term. */
static double ln(double x)
{
	int k = 0;

	while (x >= 1.5) {
		x /= 2;
		k++;
	}
	while (x < 0.75) {
		x *= 2;
		k--;
	}
	double z = (x - 1) / (x + 1), z2 = z * z, term = z, sum = 0;
	for (int i = 1; i < 25; i += 2) {
		sum += term / i;
		term *= z2;
	}
	return 2 * sum + k * LN2;
}

/* e^y for 0 <= y < 40: 2^k e^r with r in [0, ln 2), r's Taylor series */
static double expo(double y)
{
	int k = (int)(y / LN2);
	double r = y - k * LN2, term = 1, sum = 1;

	for (int i = 1; i < 20; i++) {
		term *= r / i;
		sum += term;
	}
	while (k-- > 0)
		sum *= 2;
	return sum;
}

/* lo .. hi, log-uniform: as many round trips near 1 ms as near 10 ms */
static uint32_t log_uniform(double lo, double hi)
{
	return (uint32_t)(lo * expo(unit() * ln(hi / lo)));
}

/* The gap to the next start of a Poisson stream of `rate` a second, in
 * microseconds; at least 1, so that two starts never share a time. */
static uint64_t poisson_gap(double rate)
{
	return (uint64_t)(-ln(1 - unit()) * 1e6 / rate) + 1;
}

/* ---- building a connection's segments ------------------------------------- */

/* A script is written into a scratch connection in any order, then sorted
 * by time and copied into one just big enough. */
struct script {
	struct conn *c;
	uint32_t end_us;	/* the latest segment so far */
};

static void put(struct script *s, uint32_t at, uint8_t how, uint8_t flags,
		uint32_t seq, uint32_t ack, uint32_t len)
{
	if (s->c->cnt == SCRIPT_MAX) {
		fprintf(stderr, "workload: internal error: a connection of more "
			"than %d segments\n", SCRIPT_MAX);
		exit(3);
	}
	s->c->seg[s->c->cnt++] = (struct seg){
		.at_us = at, .seq = seq, .ack = ack, .len = (uint16_t)len,
		.flags = flags, .how = how,
	};
	if (at > s->end_us)
		s->end_us = at;
}

static void client(struct script *s, uint32_t at, uint8_t flags,
		   uint32_t seq, uint32_t ack, uint32_t len)
{
	put(s, at, 0, flags, seq, ack, len);
}

static void server(struct script *s, uint32_t at, uint8_t flags,
		   uint32_t seq, uint32_t ack, uint32_t len)
{
	put(s, at, FROM_SERVER, flags, seq, ack, len);
}

/* Stable: segments given the same time keep the order they were made in. */
static void sort_script(struct conn *c)
{
	for (int i = 1; i < c->cnt; i++) {
		struct seg x = c->seg[i];
		int j = i;
		while (j > 0 && c->seg[j - 1].at_us > x.at_us) {
			c->seg[j] = c->seg[j - 1];
			j--;
		}
		c->seg[j] = x;
	}
}

/* Normal, aborted and churn connections: a handshake, request/response
 * rounds, then a close or a reset. */
static void build_exchange(struct script *s)
{
	bool churn = s->c->kind == CHURN;
	uint32_t rtt = churn ? between(150, 449) : log_uniform(300, 80000);
	uint32_t srv = churn ? between(15, 74) : between(15, 400);
	uint32_t rto = rtt * 3 > 200000 ? rtt * 3 : 200000;
	uint32_t cseq = rnd32(), sseq = rnd32(), t;

	put(s, 0, CLIENT_OPTS, SYN, cseq, 0, 0);
	put(s, srv, FROM_SERVER | SERVER_OPTS, SYN | ACK, sseq, cseq + 1, 0);
	cseq++;
	sseq++;
	client(s, srv + rtt, ACK, cseq, sseq, 0);

	int rounds = s->c->kind == NORMAL && percent(30) ? (int)between(2, 4) : 1;
	/* 0: client resets mid-response, 1: server resets after the
	 * request, 2: client resets instead of closing */
	int abort_how = s->c->kind == ABORTED ? (int)below(3) : -1;
	for (int r = 0; r < rounds; r++) {
		bool last_round = r == rounds - 1;
		t = s->end_us + (r == 0 ? below(40) : between(300, churn ? 799 : 30299));
		uint32_t req = churn ? between(60, 119) : between(20, 299);
		client(s, t, PSH | ACK, cseq, sseq, req);
		if (!churn && below(100) == 0) {	/* lost past the tap */
			t += rto;
			client(s, t, PSH | ACK, cseq, sseq, req);
		}
		cseq += req;
		t += srv;
		if (abort_how == 1 && last_round) {
			server(s, t, RST | ACK, sseq, cseq, 0);
			return;
		}
		uint32_t nseg = churn ? 1 : between(1, 6);
		uint32_t reset_after = abort_how == 0 && last_round ? between(1, nseg) : 0;
		for (uint32_t i = 1; i <= nseg; i++) {
			bool tail = i == nseg;
			uint32_t len = tail ? between(30, 299) : FULL_SEGMENT;
			uint8_t flags = tail ? PSH | ACK : ACK;
			server(s, t, flags, sseq, cseq, len);
			sseq += len;
			uint32_t gap = between(5, 44);
			if (i == reset_after) {
				client(s, t + rtt, RST | ACK, cseq, sseq, 0);
				if (!tail) {
					/* already on the wire when the RST left;
					 * the closed socket answers it with a RST
					 * whose seq is its ACK (RFC 9293 3.10.7.1) */
					server(s, t + gap, ACK, sseq, cseq, FULL_SEGMENT);
					client(s, t + gap + rtt, RST, cseq, 0, 0);
				}
				return;
			}
			if (tail && !churn && below(50) == 0) {
				/* the tail lost past the tap: the RTO sends it again */
				server(s, t + rto, flags, sseq - len, cseq, len);
				client(s, t + rto + rtt, ACK, cseq, sseq, 0);
			} else if (tail || i % 2 == 0) {
				client(s, t + rtt, ACK, cseq, sseq, 0);
			}
			t += gap;
		}
	}

	t = s->end_us + (churn ? between(100, 299) : between(100, 5099));
	if (abort_how == 2) {
		client(s, t, RST | ACK, cseq, sseq, 0);
		return;
	}
	uint32_t closer = churn ? 0 : below(100);
	if (closer < 50) {		/* the client closes first */
		client(s, t, FIN | ACK, cseq, sseq, 0);
		t += srv;
		if (!churn && percent(50)) {
			server(s, t, ACK, sseq, cseq + 1, 0);
			t += between(20, 2019);
		}
		server(s, t, FIN | ACK, sseq, cseq + 1, 0);
		client(s, t + rtt, ACK, cseq + 1, sseq + 1, 0);
	} else if (closer < 95) {	/* the server closes first */
		server(s, t, FIN | ACK, sseq, cseq, 0);
		t += rtt;
		if (percent(50)) {
			client(s, t, ACK, cseq, sseq + 1, 0);
			t += between(20, 3019);
		}
		client(s, t, FIN | ACK, cseq, sseq + 1, 0);
		server(s, t + srv, ACK, sseq + 1, cseq + 1, 0);
	} else {			/* both, each FIN sent before the other arrived */
		server(s, t, FIN | ACK, sseq, cseq, 0);
		uint32_t tc = t + between(1, srv);
		client(s, tc, FIN | ACK, cseq, sseq, 0);
		server(s, tc + srv, ACK, sseq + 1, cseq + 1, 0);
		client(s, t + rtt, ACK, cseq + 1, sseq + 1, 0);
	}
}

static void build(struct script *s)
{
	uint32_t isn = rnd32();

	switch (s->c->kind) {
	case REFUSED: {
		uint32_t tries = percent(20) ? 3 : 1;
		for (uint32_t i = 0; i < tries; i++) {
			uint32_t t = i * 500000;
			put(s, t, CLIENT_OPTS, SYN, isn, 0, 0);
			server(s, t + between(15, 214), RST | ACK, 0, isn + 1, 0);
		}
		break;
	}
	case TIMEOUT:
		/* Linux's SYN retransmissions: 1 s, then doubling */
		put(s, 0, CLIENT_OPTS, SYN, isn, 0, 0);
		put(s, 1000000, CLIENT_OPTS, SYN, isn, 0, 0);
		put(s, 3000000, CLIENT_OPTS, SYN, isn, 0, 0);
		put(s, 7000000, CLIENT_OPTS, SYN, isn, 0, 0);
		break;
	case FLOOD: {
		uint32_t sisn = rnd32(), t = between(10, 39), fate = below(100);
		client(s, 0, SYN, isn, 0, 0);
		put(s, t, FROM_SERVER | SERVER_OPTS, SYN | ACK, sisn, isn + 1, 0);
		if (fate < 10)		/* a real host: "I sent no SYN" */
			client(s, t + between(2000, 151999), RST, isn + 1, 0, 0);
		else if (fate < 40)	/* no ACK came: the SYN-ACK again */
			put(s, t + 1000000, FROM_SERVER | SERVER_OPTS, SYN | ACK,
			    sisn, isn + 1, 0);
		break;
	}
	default:
		build_exchange(s);
	}
	sort_script(s->c);
}

/* ---- who talks to whom ------------------------------------------------------ */

#define CHURN_CLIENT 0x0a630007u	/* 10.99.0.7 */
#define CHURN_SERVER 0xc0a8140au	/* 192.168.20.10 */
#define FLOOD_TARGET 0xc0a81e50u	/* 192.168.30.80 */
#define MIXED_CLIENTS 0x0a200000u	/* 10.32.0.0/12 */
#define MIXED_SERVERS 0xc0a80a01u	/* 192.168.10.1 .. .200 */
#define CHURN_PORT_LO 32768u
#define CHURN_PORT_HI 60999u		/* Linux's ip_local_port_range */

static const uint16_t service_ports[10] = {
	443, 443, 443, 443, 80, 80, 22, 8080, 5432, 6379,
};

static uint64_t started[KIND_MAX], v6_conns, vlan_conns;

static void endpoints(struct conn *c)
{
	static uint32_t churn_port = CHURN_PORT_LO;

	c->ttl[CLIENT] = (uint8_t)((rnd32() & 1 ? 128 : 64) - between(3, 17));
	c->ttl[SERVER] = 64;
	c->ipid[CLIENT] = (uint16_t)rnd32();
	c->ipid[SERVER] = (uint16_t)rnd32();
	c->win[CLIENT] = 1026;	/* x128 with the scale of 7 offered */
	c->win[SERVER] = 509;
	c->vlan = 0;
	c->v6 = false;
	switch (c->kind) {
	case CHURN:
		c->addr[CLIENT] = CHURN_CLIENT;
		c->addr[SERVER] = CHURN_SERVER;
		c->port[CLIENT] = (uint16_t)churn_port;
		c->port[SERVER] = 8080;
		c->ttl[CLIENT] = 64;
		churn_port = churn_port == CHURN_PORT_HI ? CHURN_PORT_LO : churn_port + 1;
		break;
	case FLOOD: {
		uint32_t a, first;
		do {	/* no 0/8, 10/8, 127/8, multicast or reserved */
			a = rnd32();
			first = a >> 24;
		} while (first == 0 || first == 10 || first == 127 || first >= 224);
		c->addr[CLIENT] = a;
		c->addr[SERVER] = FLOOD_TARGET;
		c->port[CLIENT] = (uint16_t)between(1024, 65535);
		c->port[SERVER] = 80;
		c->ttl[CLIENT] = (uint8_t)between(30, 229);
		break;
	}
	default: {
		uint32_t srv = below(200);
		c->addr[CLIENT] = MIXED_CLIENTS | below(1u << 20);
		c->addr[SERVER] = MIXED_SERVERS + srv;
		/* each server listens on three neighbouring entries */
		c->port[SERVER] = service_ports[(srv * 3 + below(3)) % 10];
		c->port[CLIENT] = (uint16_t)between(CHURN_PORT_LO, CHURN_PORT_HI);
		if (percent(5)) {
			c->v6 = true;
			v6_conns++;
		}
		if (percent(5)) {
			c->vlan = (uint16_t)(10 * (1 + (c->addr[CLIENT] & 7)));
			vlan_conns++;
		}
	}
	}
}

/* ---- connections in time order: a min-heap on the next segment's time -- */

static void out_of_memory(void)
{
	fprintf(stderr, "workload: out of memory\n");
	exit(1);
}

static struct conn **heap;
static size_t heap_len, heap_cap, peak_open;

static uint64_t due(const struct conn *c)
{
	return c->start_us + c->seg[c->next].at_us;
}

static bool before(const struct conn *a, const struct conn *b)
{
	uint64_t ta = due(a), tb = due(b);
	return ta < tb || (ta == tb && a->serial < b->serial);
}

static void sift_down(size_t i)
{
	struct conn *x = heap[i];

	for (;;) {
		size_t k = 2 * i + 1;
		if (k >= heap_len)
			break;
		if (k + 1 < heap_len && before(heap[k + 1], heap[k]))
			k++;
		if (!before(heap[k], x))
			break;
		heap[i] = heap[k];
		i = k;
	}
	heap[i] = x;
}

static void push(struct conn *c)
{
	if (heap_len == heap_cap) {
		heap_cap = heap_cap ? 2 * heap_cap : 65536;
		heap = realloc(heap, heap_cap * sizeof *heap);
		if (!heap)
			out_of_memory();
	}
	size_t i = heap_len++;
	while (i > 0 && before(c, heap[(i - 1) / 2])) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = c;
	if (heap_len > peak_open)
		peak_open = heap_len;
}

static void start(enum kind kind, uint64_t now_us)
{
	static struct conn *scratch;
	static uint64_t serial;

	if (!scratch)
		scratch = malloc(sizeof *scratch + SCRIPT_MAX * sizeof scratch->seg[0]);
	if (!scratch)
		out_of_memory();
	memset(scratch, 0, sizeof *scratch);
	scratch->kind = (uint8_t)kind;
	scratch->start_us = now_us;
	scratch->serial = serial++;
	endpoints(scratch);
	struct script s = { .c = scratch, .end_us = 0 };
	build(&s);
	size_t size = sizeof *scratch + scratch->cnt * sizeof scratch->seg[0];
	struct conn *c = malloc(size);
	if (!c)
		out_of_memory();
	memcpy(c, scratch, size);
	started[kind]++;
	push(c);
}

/* ---- frames ------------------------------------------------------------------- */

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

/* The Internet checksum's running sum of big-endian 16-bit words. */
static uint32_t sum16(uint32_t acc, const uint8_t *p, size_t n)
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

static void mac(uint8_t *m, uint32_t addr, int side)
{
	m[0] = 0x02;		/* locally administered, unicast */
	m[1] = side == SERVER ? 0x5e : 0xc1;
	put32(m + 2, addr * 0x9e3779b1u);
}

static void ip6(uint8_t *a, uint32_t addr, int side)
{
	/* 2001:db8:c::/64 for clients, 2001:db8:5::/64 for servers */
	memset(a, 0, 16);
	put16(a, 0x2001);
	put16(a + 2, 0x0db8);
	put16(a + 4, side == SERVER ? 0x5 : 0xc);
	put32(a + 12, addr);
}

/* MSS 1460, SACK permitted, window scale 7, padded to 12 bytes */
static const uint8_t syn_opts[12] = { 2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7, 1, 1 };

/* The frame of c's next segment into f; returns its length.  The payload
 * is zeros, which add nothing to a checksum: only headers are summed. */
static size_t frame(uint8_t *f, struct conn *c)
{
	const struct seg *s = &c->seg[c->next];
	int from = s->how & FROM_SERVER ? SERVER : CLIENT, to = !from;
	size_t opt_len = s->how & (CLIENT_OPTS | SERVER_OPTS) ? sizeof syn_opts : 0;
	size_t tcp_len = 20 + opt_len + s->len, at = 12;
	uint8_t *ip, *tcp;
	uint32_t acc;

	mac(f, c->addr[to], to);
	mac(f + 6, c->addr[from], from);
	if (c->vlan) {
		put16(f + 12, 0x8100);
		put16(f + 14, c->vlan);
		at = 16;
	}
	put16(f + at, c->v6 ? 0x86dd : 0x0800);
	ip = f + at + 2;
	if (c->v6) {
		put32(ip, 0x60000000u | (((uint32_t)c->port[CLIENT] << 4 ^ c->port[SERVER]) & 0xfffff));
		put16(ip + 4, (uint32_t)tcp_len);
		ip[6] = 6;
		ip[7] = c->ttl[from];
		ip6(ip + 8, c->addr[from], from);
		ip6(ip + 24, c->addr[to], to);
		tcp = ip + 40;
		acc = sum16(0, ip + 8, 32) + (uint32_t)tcp_len + 6;
	} else {
		ip[0] = 0x45;
		ip[1] = 0;
		put16(ip + 2, (uint32_t)(20 + tcp_len));
		put16(ip + 4, c->ipid[from]++);
		put16(ip + 6, 0x4000);	/* don't fragment */
		ip[8] = c->ttl[from];
		ip[9] = 6;
		put16(ip + 10, 0);
		put32(ip + 12, c->addr[from]);
		put32(ip + 16, c->addr[to]);
		put16(ip + 10, fold(sum16(0, ip, 20)));
		tcp = ip + 20;
		acc = sum16(0, ip + 12, 8) + (uint32_t)tcp_len + 6;
	}
	uint32_t win;
	if (s->flags & RST)
		win = 0;
	else if (s->flags & SYN)
		win = from == SERVER ? 65160 : c->kind == FLOOD ? 1024 : 64240;
	else
		win = c->win[from];
	put16(tcp, c->port[from]);
	put16(tcp + 2, c->port[to]);
	put32(tcp + 4, s->seq);
	put32(tcp + 8, s->ack);
	tcp[12] = (uint8_t)((20 + opt_len) / 4 << 4);
	tcp[13] = s->flags;
	put16(tcp + 14, win);
	put16(tcp + 16, 0);
	put16(tcp + 18, 0);
	memcpy(tcp + 20, syn_opts, opt_len);
	memset(tcp + 20 + opt_len, 0, s->len);
	put16(tcp + 16, fold(sum16(acc, tcp, 20 + opt_len)));
	return (size_t)(tcp + tcp_len - f);
}

/* ---- the file ------------------------------------------------------------------- */

static void usage(FILE *fp)
{
	fprintf(fp,
"usage: workload -n PACKETS [-s SEED] [-r RATE] [-q] -o FILE|-\n"
"  -n PACKETS  frames to write, 1 to 10000000000; the connections still\n"
"              open at the end are cut, as in a real capture\n"
"  -s SEED     0 to 2^64-1 (default 1); the same arguments give the same file\n"
"  -r RATE     mixed connections started a second, 1 to 1000000 (default\n"
"              10000); the churn starts RATE/10, the flood 100000 SYNs a second\n"
"  -o FILE     the pcap to write ('-': standard output)\n"
"  -q          no summary on standard error\n"
"The mix is described at the top of tests/tools/workload.c.\n");
}

static bool number(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int bad_value(const char *opt, const char *value)
{
	fprintf(stderr, "workload: %s: '%s' is not a number in range (see -h)\n", opt, value);
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t packets = 0, seed = 1, rate = 10000;
	const char *path = NULL;
	bool quiet = false;
	int opt;

	while ((opt = getopt(argc, argv, "n:s:r:o:qh")) != -1) {
		switch (opt) {
		case 'n':
			if (!number(optarg, 1, 10000000000u, &packets))
				return bad_value("-n", optarg);
			break;
		case 's':
			if (!number(optarg, 0, UINT64_MAX, &seed))
				return bad_value("-s", optarg);
			break;
		case 'r':
			if (!number(optarg, 1, 1000000, &rate))
				return bad_value("-r", optarg);
			break;
		case 'o':
			path = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !packets || !path) {
		fprintf(stderr, "workload: -n and -o are needed, and nothing else\n");
		usage(stderr);
		return 2;
	}

	FILE *out = strcmp(path, "-") ? fopen(path, "wb") : stdout;
	if (!out) {
		fprintf(stderr, "workload: cannot write '%s': %s\n", path, strerror(errno));
		return 1;
	}
	static char buf[1 << 20];
	setvbuf(out, buf, _IOFBF, sizeof buf);

	uint8_t rec[16 + FRAME_MAX];
	le32(rec, 0xa1b2c3d4u);
	le32(rec + 4, 2u | 4u << 16);	/* version 2.4 */
	le32(rec + 8, 0);		/* GMT offset */
	le32(rec + 12, 0);		/* timestamp accuracy */
	le32(rec + 16, SNAPLEN);
	le32(rec + 20, LINKTYPE_ETHERNET);
	fwrite(rec, 1, 24, out);

	rng = seed;
	/* Next start of each stream; the flood's is set once it begins. */
	uint64_t next_mixed = 0, next_churn = poisson_gap((double)rate / 10);
	uint64_t next_flood = UINT64_MAX, flood_left = packets / 33 + 1;
	uint64_t flood_from = packets * 35 / 100, written = 0, bytes = 24, now = 0;

	while (written < packets) {
		uint64_t first = next_mixed;
		enum kind kind = NORMAL;
		if (next_churn < first) {
			first = next_churn;
			kind = CHURN;
		}
		if (next_flood < first) {
			first = next_flood;
			kind = FLOOD;
		}
		if (heap_len == 0 || first <= due(heap[0])) {
			if (kind == CHURN) {
				next_churn += poisson_gap((double)rate / 10);
			} else if (kind == FLOOD) {
				next_flood = --flood_left ? next_flood + poisson_gap(FLOOD_RATE)
							  : UINT64_MAX;
			} else {
				uint32_t r = below(100);
				kind = r < 79 ? NORMAL : r < 87 ? REFUSED : r < 91 ? TIMEOUT : ABORTED;
				next_mixed += poisson_gap((double)rate);
			}
			start(kind, first);
			continue;
		}

		struct conn *c = heap[0];
		now = due(c);
		uint32_t len = (uint32_t)frame(rec + 16, c);
		le32(rec, (uint32_t)(EPOCH_SEC + now / 1000000));
		le32(rec + 4, (uint32_t)(now % 1000000));
		le32(rec + 8, len);
		le32(rec + 12, len);
		fwrite(rec, 1, 16 + len, out);
		bytes += 16 + len;
		written++;
		if (written >= flood_from && next_flood == UINT64_MAX && flood_left)
			next_flood = now;
		if (++c->next == c->cnt) {
			free(c);
			heap[0] = heap[--heap_len];
		}
		if (heap_len)
			sift_down(0);
	}

	bool failed = ferror(out) != 0;
	if ((out == stdout ? fflush(out) : fclose(out)) != 0)
		failed = true;
	if (failed) {
		fprintf(stderr, "workload: writing '%s' failed: %s\n",
			strcmp(path, "-") ? path : "standard output", strerror(errno));
		return 1;
	}
	if (!quiet) {
		fprintf(stderr, "workload: seed %llu: %llu packets, %llu bytes, %.3f s of traffic, "
			"at most %zu connections open\n", (unsigned long long)seed,
			(unsigned long long)written, (unsigned long long)bytes, now / 1e6,
			peak_open);
		fprintf(stderr, "workload: started");
		for (int k = 0; k < KIND_MAX; k++)
			fprintf(stderr, " %s=%llu", kind_names[k], (unsigned long long)started[k]);
		fprintf(stderr, " (ipv6 %llu, vlan %llu)\n", (unsigned long long)v6_conns,
			(unsigned long long)vlan_conns);
	}
	return 0;
}
