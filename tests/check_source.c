/*
 * check_source.c — the file path: pcap (µs, ns, either byte order) and
 * pcapng built in memory, opened through fmemopen, read through libpcap,
 * counted by the engine; damaged streams, impossible records, filters.
 */
#include <stdlib.h>
#include <string.h>

#include "analyzer/engine.h"
#include "capture/source.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"

#define FRAMES 3

struct capture {
	uint8_t frames[FRAMES][256];
	struct pb_rec recs[FRAMES];
	uint8_t file[4096];
	size_t file_len;
};

/* A TCP/IPv4 SYN, a TCP/IPv6 SYN-ACK cut by an 80-byte snap length (headers
 * whole, payload cut), a UDP datagram. */
static void build_frames(struct capture *c)
{
	struct pb_spec s;
	size_t len;

	pb_spec_init(&s, 4);
	len = pb_build(&s, c->frames[0], sizeof c->frames[0]);
	c->recs[0] = (struct pb_rec){ .ts_ns = 1700000000123456789ull,
				      .bytes = c->frames[0], .caplen = (uint32_t)len };

	pb_spec_init(&s, 6);
	s.tcp.flags = CS_TH_SYN | CS_TH_ACK;
	s.payload_len = 100;
	len = pb_build(&s, c->frames[1], sizeof c->frames[1]);
	c->recs[1] = (struct pb_rec){ .ts_ns = 1700000001000000999ull,
				      .bytes = c->frames[1], .caplen = 80,
				      .wirelen = (uint32_t)len };

	pb_spec_init(&s, 4);
	s.l4 = PB_L4_UDP;
	len = pb_build(&s, c->frames[2], sizeof c->frames[2]);
	c->recs[2] = (struct pb_rec){ .ts_ns = 1700000002000000000ull,
				      .bytes = c->frames[2], .caplen = (uint32_t)len };
}

static struct cs_source *open_mem(const uint8_t *buf, size_t len, char *err,
				  size_t errlen)
{
	struct cs_source *src = NULL;
	FILE *f = fmemopen((void *)buf, len, "rb");

	ck_assert_ptr_nonnull(f);
	if (cs_source_open_stream(&src, f, "mem.pcap", err, errlen) != 0)
		return NULL;
	return src;
}

/* A small table: these tests need a handful of connections. */
static void engine_start(struct cs_engine *e)
{
	struct cs_engine_opts o;
	char err[128];

	cs_engine_opts_default(&o);
	o.flow.max_flows = 64;
	ck_assert_msg(cs_engine_init(e, &o, err, sizeof err) == 0, "%s", err);
}

struct collected {
	int n;
	struct cs_frame f[FRAMES * 2];
	struct cs_engine engine;
};

static void collect(void *ctx, const struct cs_frame *f)
{
	struct collected *c = ctx;

	if (c->n < FRAMES * 2)
		c->f[c->n++] = *f;
	cs_engine_frame(&c->engine, f);
}

/* Reads the whole source; returns the last read's verdict. */
static enum cs_read drain(struct cs_source *src, struct collected *out,
			  char *err, size_t errlen)
{
	enum cs_read rc;
	uint64_t n;

	memset(out, 0, sizeof *out);
	engine_start(&out->engine);
	do
		rc = cs_source_read(src, 2, collect, out, &n, err, errlen);
	while (rc == CS_READ_MORE);
	return rc;
}

/* Each file format, in each byte order and resolution. */
static const struct {
	bool pcapng, nanosec, big_endian;
} formats[] = {
	{ false, false, false }, { false, true, false },
	{ false, false, true },  { false, true, true },
	{ true, false, false },  { true, true, false }, { true, false, true },
};

START_TEST(every_format_delivers_the_same_frames)
{
	struct capture c;
	struct collected got;
	char err[256] = "";
	struct pb_file pf = { .dlt = CS_DLT_EN10MB, .nanosec = formats[_i].nanosec,
			      .big_endian = formats[_i].big_endian };

	build_frames(&c);
	c.file_len = formats[_i].pcapng
		? pb_pcapng_write(&pf, c.recs, FRAMES, c.file, sizeof c.file)
		: pb_pcap_write(&pf, c.recs, FRAMES, c.file, sizeof c.file);
	ck_assert_uint_gt(c.file_len, 0);

	struct cs_source *src = open_mem(c.file, c.file_len, err, sizeof err);
	ck_assert_msg(src != NULL, "%s", err);
	ck_assert_int_eq(cs_source_datalink(src), CS_DLT_EN10MB);
	ck_assert(!cs_source_is_live(src));
	ck_assert_int_eq(drain(src, &got, err, sizeof err), CS_READ_EOF);
	cs_source_close(src);

	ck_assert_int_eq(got.n, FRAMES);
	/* µs precision everywhere: ns files are scaled, not rounded up */
	ck_assert_uint_eq(got.f[0].ts_us, 1700000000123456ull);
	ck_assert_uint_eq(got.f[1].ts_us, 1700000001000000ull);
	ck_assert_uint_eq(got.f[1].caplen, 80);
	ck_assert_uint_eq(got.f[1].wirelen, c.recs[1].wirelen);
	ck_assert_int_eq(got.f[2].dlt, CS_DLT_EN10MB);

	const struct cs_stats *st = &got.engine.stats;
	ck_assert_uint_eq(st->packets, FRAMES);
	ck_assert_uint_eq(st->tcp_packets, 2);
	ck_assert_uint_eq(st->skipped[CS_SKIP_NOT_TCP], 1);
	ck_assert_uint_eq(st->truncated_frames, 1);
	ck_assert(cs_stats_balanced(st));
	cs_engine_finish(&got.engine);
	ck_assert_uint_eq(got.engine.conns.connections, 2);
	cs_engine_fini(&got.engine);
}
END_TEST

START_TEST(a_stream_cut_inside_a_record_is_damage)
{
	struct capture c;
	struct collected got;
	char err[256] = "";
	struct pb_file pf = { .dlt = CS_DLT_EN10MB };

	build_frames(&c);
	c.file_len = pb_pcap_write(&pf, c.recs, FRAMES, c.file, sizeof c.file);
	/* Cut 5 bytes into the third record's data. */
	size_t cut = c.file_len - c.recs[2].caplen + 5;

	struct cs_source *src = open_mem(c.file, cut, err, sizeof err);
	ck_assert_msg(src != NULL, "%s", err);
	ck_assert_int_eq(drain(src, &got, err, sizeof err), CS_READ_ERROR);
	cs_source_close(src);
	ck_assert_int_eq(got.n, 2);
	ck_assert_msg(strstr(err, "mem.pcap") && strstr(err, "after 2 packets"),
		      "message: %s", err);
	cs_engine_fini(&got.engine);
}
END_TEST

START_TEST(impossible_records_are_counted_not_fatal)
{
	struct capture c;
	struct collected got;
	char err[256] = "";
	struct pb_file pf = { .dlt = CS_DLT_EN10MB };

	build_frames(&c);
	c.recs[0].wirelen = c.recs[0].caplen - 1;	/* more captured than sent */
	c.recs[1].caplen = 0;				/* nothing captured */
	c.file_len = pb_pcap_write(&pf, c.recs, FRAMES, c.file, sizeof c.file);

	struct cs_source *src = open_mem(c.file, c.file_len, err, sizeof err);
	ck_assert_msg(src != NULL, "%s", err);
	ck_assert_int_eq(drain(src, &got, err, sizeof err), CS_READ_EOF);
	cs_source_close(src);

	const struct cs_stats *st = &got.engine.stats;
	ck_assert_uint_eq(st->packets, FRAMES);
	ck_assert_uint_eq(st->skipped[CS_SKIP_BAD_RECORD], 2);
	ck_assert_uint_eq(st->skipped[CS_SKIP_NOT_TCP], 1);	/* read on */
	ck_assert(cs_stats_balanced(st));
	cs_engine_fini(&got.engine);
}
END_TEST

START_TEST(not_a_capture_is_refused_at_open)
{
	static const uint8_t text[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	char err[256] = "";

	ck_assert_ptr_null(open_mem(text, sizeof text, err, sizeof err));
	ck_assert_msg(strstr(err, "mem.pcap") != NULL, "message: %s", err);
}
END_TEST

START_TEST(filter_and_count_limit_what_is_delivered)
{
	struct capture c;
	struct collected got;
	char err[256] = "";
	struct pb_file pf = { .dlt = CS_DLT_EN10MB };
	uint64_t n;

	build_frames(&c);
	c.file_len = pb_pcap_write(&pf, c.recs, FRAMES, c.file, sizeof c.file);

	struct cs_source *src = open_mem(c.file, c.file_len, err, sizeof err);
	ck_assert_msg(src != NULL, "%s", err);
	ck_assert_int_eq(cs_source_set_filter(src, "udp", err, sizeof err), 0);
	ck_assert_int_eq(drain(src, &got, err, sizeof err), CS_READ_EOF);
	ck_assert_int_eq(got.n, 1);
	cs_engine_fini(&got.engine);
	ck_assert_int_ne(cs_source_set_filter(src, "udp and and", err, sizeof err), 0);
	ck_assert_msg(strstr(err, "'udp and and'") != NULL, "message: %s", err);
	cs_source_close(src);

	src = open_mem(c.file, c.file_len, err, sizeof err);
	ck_assert_ptr_nonnull(src);
	memset(&got, 0, sizeof got);
	engine_start(&got.engine);
	ck_assert_int_eq(cs_source_read(src, 2, collect, &got, &n, err, sizeof err),
			 CS_READ_MORE);
	ck_assert_uint_eq(n, 2);
	cs_source_breakloop(src);
	ck_assert_int_eq(cs_source_read(src, 2, collect, &got, &n, err, sizeof err),
			 CS_READ_BROKEN);
	ck_assert_uint_eq(n, 0);
	cs_source_close(src);
	cs_engine_fini(&got.engine);
}
END_TEST

/*
 * libpcap compiles no filter at all for NFLOG ("NFLOG link-layer type
 * filtering not implemented"), and no "vlan" for PPP: the message names
 * the file, the link type and what to do, not an invalid expression.  A
 * mistake in the expression is still called invalid.
 */
START_TEST(a_filter_libpcap_cannot_compile_there_says_so)
{
	static const struct { int dlt; const char *filter, *link; } cases[] = {
		{ CS_DLT_NFLOG, "tcp", "link type NFLOG (NFLOG link-layer type filtering "
				       "not implemented)" },
		{ CS_DLT_PPP, "vlan and tcp", "link type PPP (no VLAN support for PPP)" },
	};
	struct capture c;
	char err[512] = "";

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pb_spec s;
		struct pb_file pf = { .dlt = cases[i].dlt };
		pb_spec_init(&s, 4);
		s.dlt = cases[i].dlt;
		size_t len = pb_build(&s, c.frames[0], sizeof c.frames[0]);
		ck_assert_uint_gt(len, 0);
		c.recs[0] = (struct pb_rec){ .ts_ns = 1700000000000000000ull,
					     .bytes = c.frames[0], .caplen = (uint32_t)len };
		c.file_len = pb_pcap_write(&pf, c.recs, 1, c.file, sizeof c.file);

		struct cs_source *src = open_mem(c.file, c.file_len, err, sizeof err);
		ck_assert_msg(src != NULL, "%s", err);
		ck_assert_int_ne(cs_source_set_filter(src, cases[i].filter, err,
						      sizeof err), 0);
		ck_assert_msg(strstr(err, "cannot apply filter") && strstr(err, "'mem.pcap'") &&
			      strstr(err, cases[i].link) && strstr(err, "without -f"),
			      "message: %s", err);
		ck_assert_int_ne(cs_source_set_filter(src, "tcp and and", err, sizeof err), 0);
		ck_assert_msg(strstr(err, "invalid filter 'tcp and and'"), "message: %s", err);
		cs_source_close(src);
	}
}
END_TEST

Suite *source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("files");

	tcase_add_loop_test(tc, every_format_delivers_the_same_frames, 0,
			    (int)(sizeof formats / sizeof formats[0]));
	tcase_add_test(tc, a_stream_cut_inside_a_record_is_damage);
	tcase_add_test(tc, impossible_records_are_counted_not_fatal);
	tcase_add_test(tc, not_a_capture_is_refused_at_open);
	tcase_add_test(tc, filter_and_count_limit_what_is_delivered);
	tcase_add_test(tc, a_filter_libpcap_cannot_compile_there_says_so);
	suite_add_tcase(s, tc);
	return s;
}
