/*
 * fuzz_frame.c — frames of any decoded link type through the engine.
 *
 * Decode, accounting, the flow table (64 records, so eviction runs), both
 * endpoints' TCP states, the Zeek view, diagnosis and the detectors, then
 * the end of the run (analyzer/run/driver.c, as connscope ends); with bit
 * 6 of the first byte also the web view's series and timelines and the
 * snapshots rendered as the API would.  The input format is in frames.h.
 * A fresh run per input: nothing carries over, so a finding replays from
 * its file alone.
 */
#include <stdio.h>
#include <stdlib.h>

#include "analyzer/run/driver.h"
#include "tests/fuzz/frames.h"
#include "tests/fuzz/fuzz.h"

/* Packet time starts at a plausible epoch (2023-11-14). */
#define FUZZ_EPOCH_US 1700000000000000ull

static struct cs_run run;	/* the engine is large: kept off the stack */

static void render(void *ctx, struct cs_snapshot *s)
{
	(void)ctx;
	fuzz_render_snapshot(s);
	cs_snapshot_unref(s);
}

/* The frames of the input, in the format of frames.h. */
static void feed(const uint8_t *data, size_t size, int dlt)
{
	uint64_t ts = FUZZ_EPOCH_US;
	size_t pos = 1;

	while (size - pos >= 3) {
		ts += fuzz_step_us(data[pos]);
		unsigned field = (unsigned)data[pos + 1] << 8 | data[pos + 2];
		pos += 3;
		uint32_t caplen = field & FUZZ_CAPLEN_MASK;
		if (caplen > size - pos)
			caplen = (uint32_t)(size - pos);
		struct cs_frame f = {
			.ts_us = ts,
			.caplen = caplen,
			.wirelen = caplen + (field & FUZZ_CUT ? FUZZ_CUT_BYTES : 0),
			.dlt = dlt,
			.bytes = data + pos,
		};
		if (cs_run_feed_frame(&run, &f) != 0)
			abort();	/* nothing to begin: it cannot fail */
		pos += caplen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "fuzz" };
	struct cs_run_config cfg = { .files = names, .file_cnt = 1 };
	char err[256];

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	int dlt = fuzz_dlts[(mode & 0x0f) % FUZZ_DLT_CNT];
	fuzz_engine_opts(&cfg.engine);
	cfg.engine.verify_checksums = mode & FUZZ_F_CHECKSUMS;
	cfg.engine.flow.vlan_key = mode & FUZZ_F_VLAN_KEY;
	cfg.engine.keep_recent = mode & FUZZ_F_RECENT;
	if (cfg.engine.keep_recent)
		cfg.publish = render;
	if (cs_run_init(&run, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	cs_report_source_add(&run.src, dlt, FUZZ_CAPLEN_MASK);
	feed(data, size, dlt);
	cs_run_finish(&run);
	fuzz_check_engine(&run.engine);
	cs_run_fini(&run);
	return 0;
}
