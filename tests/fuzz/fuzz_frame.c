/*
 * fuzz_frame.c — frames of any decoded link type through the engine.
 *
 * Decode, accounting, the flow table (64 records, so eviction runs), both
 * endpoints' TCP states, the Zeek view, diagnosis and the detectors, then
 * the end of the capture; with bit 6 of the first byte also the web view's
 * series and timelines and a snapshot rendered as the API would.  The input
 * format is in frames.h.  A fresh engine per input: nothing carries over,
 * so a finding replays from its file alone.
 */
#include <stdio.h>
#include <stdlib.h>

#include "analyzer/reports/report.h"
#include "tests/fuzz/frames.h"
#include "tests/fuzz/fuzz.h"

/* Packet time starts at a plausible epoch (2023-11-14). */
#define FUZZ_EPOCH_US 1700000000000000ull

static struct cs_engine engine;	/* large: kept off the stack */

static void snapshot_and_render(struct cs_engine *e, int dlt, bool finished)
{
	static const char *const names[] = { "fuzz" };
	struct cs_report_source src = { .names = names, .name_cnt = 1 };

	cs_report_source_add(&src, dlt, FUZZ_CAPLEN_MASK);
	cs_engine_refresh(e);
	struct cs_snapshot *s = cs_snapshot_build(e, &src, 1, false, finished);
	if (!s)
		return;
	fuzz_render_snapshot(s);
	cs_snapshot_unref(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_engine_opts o;
	char err[256];

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	int dlt = fuzz_dlts[(mode & 0x0f) % FUZZ_DLT_CNT];
	fuzz_engine_opts(&o);
	o.verify_checksums = mode & FUZZ_F_CHECKSUMS;
	o.flow.vlan_key = mode & FUZZ_F_VLAN_KEY;
	o.keep_recent = mode & FUZZ_F_RECENT;
	if (cs_engine_init(&engine, &o, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}

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
		cs_engine_frame(&engine, &f);
		pos += caplen;
	}
	/* as connscope.c ends: the seconds closed, the last snapshot, then
	 * the open records judged */
	if (o.keep_recent)
		snapshot_and_render(&engine, dlt, false);
	cs_engine_close_seconds(&engine);
	if (o.keep_recent)
		snapshot_and_render(&engine, dlt, true);
	cs_engine_finish(&engine);
	fuzz_check_engine(&engine);
	cs_engine_fini(&engine);
	return 0;
}
