/*
 * check_main.c — the one Check runner: `make check` runs it.
 * CS_TEST_DATA points at the repository root (samples/, tests/corpus).
 */
#include <stdlib.h>

#include "tests/suites.h"

int main(void)
{
	SRunner *sr = srunner_create(assert_suite());

	srunner_add_suite(sr, reader_suite());
	srunner_add_suite(sr, decode_suite());
	srunner_add_suite(sr, source_suite());
	srunner_add_suite(sr, pcapfile_suite());
	srunner_add_suite(sr, unpack_suite());
	srunner_add_suite(sr, pkttime_suite());
	srunner_add_suite(sr, stats_suite());
	srunner_add_suite(sr, json_suite());
	srunner_add_suite(sr, tunnel_suite());
	srunner_add_suite(sr, linklayer_suite());
	srunner_add_suite(sr, tcp_suite());
	srunner_add_suite(sr, flow_suite());
	srunner_add_suite(sr, tally_suite());
	srunner_add_suite(sr, defrag_suite());
	srunner_add_suite(sr, detect_suite());
	srunner_add_suite(sr, web_suite());
	srunner_add_suite(sr, store_suite());
	srunner_add_suite(sr, exposure_suite());
	srunner_add_suite(sr, readahead_suite());
	srunner_add_suite(sr, writer_suite());
	srunner_add_suite(sr, driver_suite());
	srunner_add_suite(sr, outfile_suite());
	srunner_add_suite(sr, host_suite());
	srunner_add_suite(sr, logstream_suite());
	srunner_add_suite(sr, jsonl_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
