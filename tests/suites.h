/*
 * suites.h — every Check suite of the one runner (tests/check_main.c).
 * Each tests/check_<module>.c defines one <module>_suite().
 */
#ifndef CS_TESTS_SUITES_H
#define CS_TESTS_SUITES_H

#include <check.h>

Suite *assert_suite(void);
Suite *reader_suite(void);
Suite *decode_suite(void);
Suite *source_suite(void);
Suite *pcapfile_suite(void);
Suite *pkttime_suite(void);
Suite *stats_suite(void);
Suite *json_suite(void);
Suite *tunnel_suite(void);
Suite *tcp_suite(void);
Suite *flow_suite(void);
Suite *tally_suite(void);
Suite *detect_suite(void);
Suite *web_suite(void);
Suite *store_suite(void);
Suite *exposure_suite(void);
Suite *readahead_suite(void);
Suite *writer_suite(void);
Suite *driver_suite(void);
Suite *outfile_suite(void);
Suite *logstream_suite(void);
Suite *jsonl_suite(void);
Suite *linklayer_suite(void);
Suite *defrag_suite(void);
Suite *unpack_suite(void);
Suite *host_suite(void);

#endif
