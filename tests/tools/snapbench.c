/*
 * snapbench.c — what a dashboard snapshot costs with many connections open.
 *
 *   snapbench [-n CONNECTIONS]      (default 1000000)
 *
 * Opens CONNECTIONS connections through the engine, built by the tests'
 * packet builder over two seconds of packet time: half of them unanswered
 * SYNs (attempts, timeouts once --syn-timeout's 3 s have passed), a quarter
 * answered by a SYN-ACK only (half-open), an eighth established and an
 * eighth refused, to 64 servers, so that the open connections fill the
 * outcome gauges and the verdict groups.  Then it publishes a few
 * snapshots as the live capture does (cs_engine_refresh, then
 * cs_snapshot_build): at the end of the packets, and after the SYN timeout
 * has turned the attempts into timeouts on the clock alone.
 *
 * It prints each publish's wall time, but wall time on a shared machine
 * varies: count instructions instead, with
 *
 *   valgrind --tool=callgrind --toggle-collect=cs_snapshot_build \
 *       build/tests/snapbench
 *
 * which counts only what cs_snapshot_build runs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyzer/engine.h"
#include "analyzer/views/snapshot.h"
#include "tests/pktbuild.h"

#define T0 (1700000000ull * SEC)
#define SERVERS 64

static struct cs_engine eng;

static void frame(const struct pb_spec *s, uint64_t ts_us)
{
	uint8_t buf[128];
	size_t n = pb_build(s, buf, sizeof buf);
	struct cs_frame f = { .ts_us = ts_us, .caplen = (uint32_t)n,
			      .wirelen = (uint32_t)n, .dlt = CS_DLT_EN10MB,
			      .bytes = buf };

	cs_engine_frame(&eng, &f);
}

/* Connection i: client 10.a.b.c:port to server 10.200.0.(i % 64):80. */
static void open_one(uint32_t i, uint64_t ts_us)
{
	struct pb_spec cli, srv;
	uint16_t port = (uint16_t)(1024 + i % 60000);
	uint32_t host = 1 + i / 60000;

	pb_spec_init(&cli, 4);
	uint8_t ca[4] = { 10, (uint8_t)(host >> 8), (uint8_t)host, 1 };
	uint8_t sa[4] = { 10, 200, 0, (uint8_t)(i % SERVERS) };
	memcpy(cli.src, ca, 4);
	memcpy(cli.dst, sa, 4);
	cli.tcp.sport = port;
	cli.tcp.dport = 80;
	cli.tcp.seq = 1000;
	cli.tcp.flags = SYN;
	srv = cli;
	memcpy(srv.src, sa, 4);
	memcpy(srv.dst, ca, 4);
	srv.tcp.sport = 80;
	srv.tcp.dport = port;
	srv.tcp.seq = 5000;
	srv.tcp.ack = 1001;

	frame(&cli, ts_us);
	switch (i % 8) {
	case 4: case 5:			/* half-open */
		srv.tcp.flags = SYNACK;
		frame(&srv, ts_us + 100);
		break;
	case 6:				/* established */
		srv.tcp.flags = SYNACK;
		frame(&srv, ts_us + 100);
		cli.tcp.flags = ACK;
		cli.tcp.seq = 1001;
		cli.tcp.ack = 5001;
		frame(&cli, ts_us + 200);
		break;
	case 7:				/* refused */
		srv.tcp.flags = RSTACK;
		srv.tcp.seq = 0;
		frame(&srv, ts_us + 100);
		break;
	default:			/* an attempt */
		break;
	}
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void publish(const char *what, uint64_t seq)
{
	struct cs_report_source src = { .live = true };
	double t = now_sec();

	cs_engine_refresh(&eng);
	struct cs_snapshot *s = cs_snapshot_build(&eng, &src, seq, true, false);
	t = now_sec() - t;
	if (!s) {
		fprintf(stderr, "snapbench: out of memory for a snapshot\n");
		exit(1);
	}
	printf("%-26s %8.1f ms  open %" PRIu64 "  attempt %" PRIu64
	       "  timeout %" PRIu64 "  half_open %" PRIu64 "\n", what, t * 1e3,
	       s->summary.open, s->outcomes[CS_OUT_ATTEMPT],
	       s->outcomes[CS_OUT_TIMEOUT], s->outcomes[CS_OUT_HALF_OPEN]);
	cs_snapshot_unref(s);
}

int main(int argc, char **argv)
{
	uint32_t n = 1000000;
	struct cs_engine_opts o;
	char err[160];

	if (argc == 3 && strcmp(argv[1], "-n") == 0)
		n = (uint32_t)strtoul(argv[2], NULL, 10);
	else if (argc != 1) {
		fprintf(stderr, "usage: snapbench [-n CONNECTIONS]\n");
		return 2;
	}
	cs_engine_opts_default(&o);
	o.flow.max_flows = 2 * n;	/* below the adaptive timeouts */
	o.keep_recent = true;
	if (cs_engine_init(&eng, &o, err, sizeof err) != 0) {
		fprintf(stderr, "snapbench: %s\n", err);
		return 1;
	}
	/* over two seconds: n / 2 per second */
	for (uint32_t i = 0; i < n; i++)
		open_one(i, T0 + (uint64_t)i * 2 * SEC / n);
	publish("end of the packets", 1);
	publish("again", 2);
	cs_engine_tick(&eng, T0 + 6 * SEC);	/* the SYN timeout has passed */
	publish("after the SYN timeout", 3);
	cs_engine_fini(&eng);
	return 0;
}
