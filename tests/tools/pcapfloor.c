/*
 * pcapfloor.c — the floor of tests/bench/run.sh: the least work a program
 * can do to read a capture file through libpcap.
 *
 *   pcapfloor FILE        ("-": standard input)
 *
 * pcap_open_offline, then pcap_dispatch until the end of the file, with a
 * callback that counts frames and their captured and on-wire bytes and
 * reads the two bytes every TCP analyser must read first: the Ethernet
 * type (past one 802.1Q tag) and the IPv4 protocol or IPv6 next header.
 * connscope reads its input through the same library and the same call,
 * so its time over this one's ("x floor") is what its own work costs.
 * Nothing is kept, nothing is allocated per packet, nothing is printed
 * until the end.
 *
 * On stdout, one line when the file is read:
 *
 *   packets=N tcp=N caplen_bytes=N wire_bytes=N seconds=S pps=R
 *
 * tcp: frames whose IP header says TCP (an IPv6 extension header is not
 * followed).  seconds: open and read, on CLOCK_MONOTONIC.  Exit status 0,
 * 1 when the file cannot be opened or is damaged, 2 on a usage error.
 *
 * Built by tests/bench/run.sh with `pkg-config --libs libpcap` (the
 * Makefile's tools rule links no libpcap).
 */
#define _DEFAULT_SOURCE	/* pcap.h wants u_char and u_int */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct counts {
	uint64_t packets, tcp, caplen_bytes, wire_bytes;
};

static void count(u_char *user, const struct pcap_pkthdr *h, const u_char *b)
{
	struct counts *c = (struct counts *)user;
	uint32_t n = h->caplen, at = 12, type;

	c->packets++;
	c->caplen_bytes += n;
	c->wire_bytes += h->len;
	if (n < at + 2)
		return;
	type = (uint32_t)b[at] << 8 | b[at + 1];
	if (type == 0x8100 && n >= at + 6) {
		at += 4;
		type = (uint32_t)b[at] << 8 | b[at + 1];
	}
	at += 2;
	if (type == 0x0800 && n > at + 9)
		c->tcp += b[at + 9] == 6;
	else if (type == 0x86dd && n > at + 6)
		c->tcp += b[at + 6] == 6;
}

static double since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct counts c = { 0, 0, 0, 0 };
	struct timespec t0;
	pcap_t *p;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: pcapfloor FILE   (\"-\": standard input)\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = pcap_open_offline(argv[1], err);
	if (!p) {
		fprintf(stderr, "pcapfloor: cannot open '%s': %s\n", argv[1], err);
		return 1;
	}
	/* On a file, -1 means every packet; the loop is for a library that
	 * stops at a buffer's end anyway.  0: the end of the file. */
	while ((rc = pcap_dispatch(p, -1, count, (u_char *)&c)) > 0)
		;
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "pcapfloor: '%s' is damaged after %llu packets: %s\n", argv[1],
			(unsigned long long)c.packets, pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	double s = since(&t0);
	pcap_close(p);
	printf("packets=%llu tcp=%llu caplen_bytes=%llu wire_bytes=%llu seconds=%.6f pps=%.0f\n",
	       (unsigned long long)c.packets, (unsigned long long)c.tcp,
	       (unsigned long long)c.caplen_bytes, (unsigned long long)c.wire_bytes, s,
	       s > 0 ? (double)c.packets / s : 0.0);
	return 0;
}
