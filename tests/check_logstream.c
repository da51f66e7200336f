/*
 * check_logstream.c — the sensor's log files: rotated names, rotation,
 * reopening after a move, heads and tails on every file, nothing
 * overwritten.  Expected names are written out from the UTC time used.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer/run/logstream.h"
#include "tests/suites.h"

/* 2026-12-06 10:00:00 UTC: 56 years of 365 days, 14 leap days (1972..2024)
 * and 339 days into 2026 make 20793 days after 1970-01-01; 36000 s into it. */
#define T_1000 ((uint64_t)20793 * 86400 + 36000)

START_TEST(rotated_names_put_the_time_before_the_extension)
{
	static const struct { const char *path; int n; const char *want; } cases[] = {
		{ "conn.jsonl", 0, "conn.2026-12-06-10-00-00.jsonl" },
		{ "/var/lib/x/conn.log", 0, "/var/lib/x/conn.2026-12-06-10-00-00.log" },
		{ "a.b/conn", 0, "a.b/conn.2026-12-06-10-00-00" },	/* dot in a directory */
		{ ".hidden", 0, ".hidden.2026-12-06-10-00-00" },
		{ "x.tar.gz", 2, "x.tar.2026-12-06-10-00-00-2.gz" },
	};
	char buf[PATH_MAX];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cs_logstream_rotated_name(buf, sizeof buf, cases[i].path, T_1000, cases[i].n);
		ck_assert_str_eq(buf, cases[i].want);
	}
}
END_TEST

static void head(FILE *f) { fputs("#head\n", f); }
static void tail(FILE *f) { fputs("#tail\n", f); }

static char dir[] = "/tmp/cs-logstream.XXXXXX";

static char *in_dir(const char *name)
{
	static char bufs[4][PATH_MAX];
	static int k;
	char *b = bufs[k++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void put_line(struct cs_logstream *s, const char *line)
{
	FILE *f = cs_logstream_lock(s);
	ck_assert_ptr_nonnull(f);
	fputs(line, f);
	cs_logstream_unlock(s);
}

/*
 * Two rotations in one interval (a restart): the second name gets "-1",
 * nothing is overwritten; each file has its head and tail; the close
 * renames the last file after its interval.
 */
START_TEST(rotation_renames_after_the_interval_and_overwrites_nothing)
{
	struct cs_logstream s;
	char err[512];
	const char *path = in_dir("conn.log");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = in_dir("conn.log");
	ck_assert_int_eq(cs_logstream_open(&s, path, head, tail, T_1000, err, sizeof err), 0);
	put_line(&s, "one\n");
	ck_assert_int_eq(cs_logstream_rotate(&s, T_1000, err, sizeof err), 0);
	put_line(&s, "two\n");
	ck_assert_int_eq(cs_logstream_rotate(&s, T_1000 + 3600, err, sizeof err), 0);
	cs_logstream_flush(&s);
	ck_assert_str_eq(slurp(path), "#head\n");	/* the new file: its head */
	put_line(&s, "three\n");
	ck_assert_int_eq(cs_logstream_close(&s, true, err, sizeof err), 0);

	ck_assert_str_eq(slurp(in_dir("conn.2026-12-06-10-00-00.log")), "#head\none\n#tail\n");
	ck_assert_str_eq(slurp(in_dir("conn.2026-12-06-10-00-00-1.log")), "#head\ntwo\n#tail\n");
	ck_assert_str_eq(slurp(in_dir("conn.2026-12-06-11-00-00.log")), "#head\nthree\n#tail\n");
	ck_assert_int_eq(access(path, F_OK), -1);	/* renamed at the end */
	unlink(in_dir("conn.2026-12-06-10-00-00.log"));
	unlink(in_dir("conn.2026-12-06-10-00-00-1.log"));
	unlink(in_dir("conn.2026-12-06-11-00-00.log"));
	rmdir(dir);
}
END_TEST

/* logrotate's way: mv, then SIGHUP (reopen): the moved file is ended, a
 * new one starts under the name; reopening appends, never truncates. */
START_TEST(reopen_after_a_move_starts_a_new_file)
{
	struct cs_logstream s;
	char err[512], moved[PATH_MAX];
	const char *path;

	strcpy(dir, "/tmp/cs-logstream.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = in_dir("conn.jsonl");
	ck_assert_int_eq(cs_logstream_open(&s, path, NULL, NULL, 0, err, sizeof err), 0);
	put_line(&s, "{\"a\":1}\n");
	snprintf(moved, sizeof moved, "%s.1", path);
	ck_assert_int_eq(rename(path, moved), 0);
	put_line(&s, "{\"a\":2}\n");		/* still the moved file */
	ck_assert_int_eq(cs_logstream_reopen(&s, err, sizeof err), 0);
	put_line(&s, "{\"a\":3}\n");
	ck_assert_int_eq(cs_logstream_reopen(&s, err, sizeof err), 0);	/* no move */
	put_line(&s, "{\"a\":4}\n");
	ck_assert_int_eq(cs_logstream_close(&s, false, err, sizeof err), 0);

	ck_assert_str_eq(slurp(moved), "{\"a\":1}\n{\"a\":2}\n");
	ck_assert_str_eq(slurp(path), "{\"a\":3}\n{\"a\":4}\n");
	unlink(moved);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(a_file_that_cannot_be_opened_says_so)
{
	struct cs_logstream s;
	char err[512] = "";

	ck_assert_int_eq(cs_logstream_open(&s, "/nonexistent-dir/conn.jsonl", NULL, NULL,
					   0, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "cannot open '/nonexistent-dir/conn.jsonl'"), "%s", err);
	/* closing one never opened is nothing */
	ck_assert_int_eq(cs_logstream_close(&s, true, err, sizeof err), 0);
}
END_TEST

Suite *logstream_suite(void)
{
	Suite *s = suite_create("logstream");
	TCase *tc = tcase_create("logstream");

	tcase_add_test(tc, rotated_names_put_the_time_before_the_extension);
	tcase_add_test(tc, rotation_renames_after_the_interval_and_overwrites_nothing);
	tcase_add_test(tc, reopen_after_a_move_starts_a_new_file);
	tcase_add_test(tc, a_file_that_cannot_be_opened_says_so);
	suite_add_tcase(s, tc);
	return s;
}
