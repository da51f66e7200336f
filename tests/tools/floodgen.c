/*
 * floodgen.c — a spoofed SYN flood with real connections inside it, as a
 * pcap on standard output, for tests/flood.sh.
 *
 *   floodgen SYNS CONNS [RATE [SLOW_SYNS SLOW_RATE]]
 *
 * SYNS SYNs (RATE a second, default 1,000,000; the first SLOW_SYNS of them
 * at SLOW_RATE a second, so that a table fills slowly before it fills
 * fast) from as many distinct spoofed sources (100.64.0.0/10, every 4-tuple different) to 10.2.0.80:80,
 * which never answers; around and through them, CONNS client connections
 * from 10.1.x.y to 10.2.0.1:8080 that shake hands before the flood, send a
 * request and get an answer every second of it, and close with FINs after
 * it.  Everything is a function of the arguments: the counts a test expects
 * are known without reading the output back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0_SEC 1700000000u
#define FLOOD_TARGET 0x0a020050u	/* 10.2.0.80 */
#define SERVER 0x0a020001u		/* 10.2.0.1 */
#define CLIENTS 0x0a010000u		/* 10.1.0.0/16 */
#define SPOOFED 0x64400000u		/* 100.64.0.0/10 */
#define SPOOF_BITS 22
#define DATA_LEN 100

static uint8_t frame[128];
static unsigned long long written;

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void le32(uint32_t v)
{
	uint8_t b[4] = { v & 0xff, v >> 8 & 0xff, v >> 16 & 0xff, v >> 24 };
	fwrite(b, 1, 4, stdout);
}

static void file_header(void)
{
	le32(0xa1b2c3d4);
	le32(2 | 4u << 16);	/* version 2.4 */
	le32(0);
	le32(0);
	le32(65535);
	le32(1);		/* EN10MB */
}

/* One Ethernet/IPv4/TCP frame; the payload is counted, not written. */
static void segment(uint64_t ts_us, uint32_t src, uint16_t sport, uint32_t dst,
		    uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		    uint16_t payload)
{
	memset(frame, 0, 54);
	frame[5] = 1;				/* dst MAC */
	frame[11] = 2;				/* src MAC */
	put16(frame + 12, 0x0800);
	uint8_t *ip = frame + 14, *tcp = ip + 20;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + payload));
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 10, (uint16_t)~sum);
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 512);

	le32((uint32_t)(ts_us / 1000000u));
	le32((uint32_t)(ts_us % 1000000u));
	le32(54);
	le32(54 + payload);
	fwrite(frame, 1, 54, stdout);
	written++;
}

enum { FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16 };

struct conn {
	uint32_t ip;
	uint16_t port;
	uint32_t cseq, sseq;	/* next sequence number of each side */
};

static void handshake(struct conn *c, uint64_t ts)
{
	segment(ts, c->ip, c->port, SERVER, 8080, c->cseq++, 0, SYN, 0);
	segment(ts + 50, SERVER, 8080, c->ip, c->port, c->sseq++, c->cseq, SYN | ACK, 0);
	segment(ts + 100, c->ip, c->port, SERVER, 8080, c->cseq, c->sseq, ACK, 0);
}

/* Exchange packet `step` (request, answer, ACK) of a client; 50 µs apart. */
static void exchange_step(struct conn *c, uint64_t ts, int step)
{
	if (step == 0) {
		segment(ts, c->ip, c->port, SERVER, 8080, c->cseq, c->sseq, PSH | ACK,
			DATA_LEN);
		c->cseq += DATA_LEN;
	} else if (step == 1) {
		segment(ts, SERVER, 8080, c->ip, c->port, c->sseq, c->cseq, PSH | ACK,
			DATA_LEN);
		c->sseq += DATA_LEN;
	} else {
		segment(ts, c->ip, c->port, SERVER, 8080, c->cseq, c->sseq, ACK, 0);
	}
}

/* The clients' exchanges, one packet at a time, in time order: client k
 * starts at k * 200 µs into every second of the flood. */
struct schedule {
	uint64_t sec;
	uint32_t k;
	int step;
};

static uint64_t schedule_ts(const struct schedule *s)
{
	return s->sec * 1000000u + s->k * 200u + (uint64_t)s->step * 50u;
}

static void schedule_until(struct schedule *s, struct conn *c, uint32_t nconn,
			   uint64_t ts)
{
	while (nconn && schedule_ts(s) <= ts) {
		exchange_step(&c[s->k], schedule_ts(s), s->step);
		if (++s->step == 3) {
			s->step = 0;
			if (++s->k == nconn) {
				s->k = 0;
				s->sec++;
			}
		}
	}
}

static void close_both(struct conn *c, uint64_t ts)
{
	segment(ts, c->ip, c->port, SERVER, 8080, c->cseq++, c->sseq, FIN | ACK, 0);
	segment(ts + 50, SERVER, 8080, c->ip, c->port, c->sseq++, c->cseq, FIN | ACK, 0);
	segment(ts + 100, c->ip, c->port, SERVER, 8080, c->cseq, c->sseq, ACK, 0);
}

/* Source i's address and port: distinct for every i below 2^22 * 60000. */
static void spoofed(uint64_t i, uint32_t *ip, uint16_t *port)
{
	uint32_t low = (uint32_t)(i & ((1u << SPOOF_BITS) - 1));
	/* an odd multiplier permutes 22-bit numbers: sources look random */
	low = (low * 2654435761u) & ((1u << SPOOF_BITS) - 1);
	*ip = SPOOFED | low;
	*port = (uint16_t)(1024 + i / (1u << SPOOF_BITS));
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: floodgen SYNS CONNS [RATE]\n");
		return 1;
	}
	uint64_t syns = strtoull(argv[1], NULL, 10);
	uint32_t nconn = (uint32_t)strtoul(argv[2], NULL, 10);
	uint64_t rate = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000;
	uint64_t slow = argc > 5 ? strtoull(argv[4], NULL, 10) : 0;
	uint64_t slow_rate = argc > 5 ? strtoull(argv[5], NULL, 10) : 1;
	if (slow > syns)
		slow = syns;
	if (rate == 0 || rate > 1000000000 || slow_rate == 0 ||
	    slow_rate > 1000000000 || nconn > 4000 ||
	    syns > (uint64_t)(1u << SPOOF_BITS) * 60000) {
		fprintf(stderr, "floodgen: 0 < RATE <= 1e9, CONNS <= 4000, "
			"SYNS < 2.5e11\n");
		return 1;
	}
	static char buf[1 << 20];
	setvbuf(stdout, buf, _IOFBF, sizeof buf);
	struct conn *c = calloc(nconn ? nconn : 1, sizeof *c);
	if (!c)
		return 1;

	file_header();
	uint64_t t = (uint64_t)T0_SEC * 1000000u;
	for (uint32_t k = 0; k < nconn; k++) {
		c[k] = (struct conn){ CLIENTS | (k + 1), (uint16_t)(40000 + k),
				      k * 7919u, k * 104729u };
		handshake(&c[k], t + k * 200u);
	}
	uint64_t flood_start = t + 1000000;	/* a second later */
	uint64_t slow_us = slow * 1000000u / slow_rate;	/* the slow part */
	struct schedule sched = { flood_start / 1000000u + 1, 0, 0 };
	for (uint64_t i = 0; i < syns; i++) {
		uint64_t ts = flood_start + (i < slow ? i * 1000000u / slow_rate :
					     slow_us + (i - slow) * 1000000u / rate);
		schedule_until(&sched, c, nconn, ts);
		uint32_t ip;
		uint16_t port;
		spoofed(i, &ip, &port);
		segment(ts, ip, port, FLOOD_TARGET, 80, (uint32_t)(i * 2654435761u), 0,
			SYN, 0);
	}
	uint64_t end = (flood_start + slow_us + (syns - slow) * 1000000u / rate) /
		       1000000u + 1;
	schedule_until(&sched, c, nconn, end * 1000000u - 1);
	for (uint32_t k = 0; k < nconn; k++)
		close_both(&c[k], end * 1000000u + k * 200u);
	free(c);
	fflush(stdout);
	fprintf(stderr, "floodgen: %llu packets, %llu SYNs to 10.2.0.80:80, "
		"%u connections to 10.2.0.1:8080\n", written,
		(unsigned long long)syns, nconn);
	return ferror(stdout) ? 1 : 0;
}
