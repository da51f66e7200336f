/*
 * check_outfile.c — an output that names an input or another output is
 * found by any of its names; a report file replaces the old one only when
 * it is committed, keeps its permissions, and leaves no temporary behind.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer/run/outfile.h"
#include "tests/suites.h"

/* Short names: every path in a test fits in NAME_LEN. */
#define NAME_LEN 128
static char dir[32];

static const char *at(const char *name)
{
	static char paths[8][NAME_LEN];
	static int next;
	char *p = paths[next++ % 8];

	ck_assert_uint_lt(strlen(dir) + strlen(name) + 1, NAME_LEN);
	memcpy(p, dir, strlen(dir));
	p[strlen(dir)] = '/';
	strcpy(p + strlen(dir) + 1, name);
	return p;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static const char *get(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");

	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Files in dir whose name starts with a dot: temporaries. */
static int temporaries(void)
{
	char cmd[NAME_LEN + 64];

	snprintf(cmd, sizeof cmd, "find '%s' -name '.*' -type f | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/cs-outfile.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	put(at("cap"), "capture");
	ck_assert_int_eq(link(at("cap"), at("hard")), 0);
	ck_assert_int_eq(symlink("cap", at("sym")), 0);
	ck_assert_int_eq(symlink("target", at("dangling")), 0);
	ck_assert_int_eq(mkdir(at("sub"), 0755), 0);
}

static void teardown(void)
{
	char cmd[NAME_LEN + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- the check ------------------------------------------------------------------ */

struct check_case {
	const char *what;
	const char *input;		/* -r, in dir; NULL: none */
	const char *json, *connlog;	/* in dir, unless absolute */
	const char *message;		/* part of the refusal; NULL: accepted */
};

static const struct check_case check_cases[] = {
	{ "output is the input", "cap", "cap", NULL, "is the file read by -r" },
	{ "by a dotted path", "cap", "./cap", NULL, "is the file read by -r" },
	{ "by a path through ..", "cap", "sub/../cap", NULL, "is the file read by -r" },
	{ "by a hard link", "cap", "hard", NULL, "is the file read by -r" },
	{ "by a symbolic link", "cap", "sym", NULL, "is the file read by -r" },
	{ "two outputs, one new name", NULL, "new", "./new", "are the same file" },
	{ "two outputs, one existing name", "x", "cap", "hard", "are the same file" },
	{ "a dangling link and its target", NULL, "dangling", "target", "are the same file" },
	{ "a new output named as a missing input", "gone", "sub/../gone", NULL, "is the file read by -r" },
	{ "the null device twice", "cap", "/dev/null", "/dev/null", NULL },
	{ "other names", "cap", "a.json", "a.log", NULL },
	{ "a directory's name is no file's", "cap", "sub/cap", "sub/hard", NULL },
};

START_TEST(check_finds_one_file_by_any_name)
{
	const struct check_case *c = &check_cases[_i];
	struct cs_outfile_name names[3];
	char paths[3][NAME_LEN];
	char err[2 * PATH_MAX + 256] = "";
	int n = 0;

	const char *given[3][2] = {
		{ "-r", c->input }, { "--json", c->json }, { "--conn-log", c->connlog },
	};
	for (int i = 0; i < 3; i++) {
		if (!given[i][1])
			continue;
		snprintf(paths[n], NAME_LEN, "%s", given[i][1][0] == '/' ?
			 given[i][1] : at(given[i][1]));
		names[n] = (struct cs_outfile_name){ given[i][0], paths[n], i > 0 };
		n++;
	}
	int rc = cs_outfile_check(names, n, err, sizeof err);
	if (!c->message) {
		ck_assert_msg(rc == 0, "%s: refused: %s", c->what, err);
	} else {
		ck_assert_msg(rc == -1, "%s: accepted", c->what);
		ck_assert_msg(strstr(err, c->message), "%s: message '%s'", c->what, err);
	}
}
END_TEST

START_TEST(check_names_both_options)
{
	struct cs_outfile_name names[] = {
		{ "-r", at("cap"), false }, { "--json", at("x.json"), true },
		{ "--report", at("sym"), true },
	};
	char err[2 * PATH_MAX + 256];
	char want[3 * NAME_LEN];

	ck_assert_int_eq(cs_outfile_check(names, 3, err, sizeof err), -1);
	snprintf(want, sizeof want, "--report '%s' is the file read by -r '%s'",
		 at("sym"), at("cap"));
	ck_assert_msg(strstr(err, want), "message: %s", err);
}
END_TEST

/* ---- writing ---------------------------------------------------------------------- */

START_TEST(old_file_stays_until_commit)
{
	struct cs_outfile o;
	char err[PATH_MAX + 256];

	put(at("r.json"), "old");
	ck_assert_int_eq(cs_outfile_open(&o, at("r.json"), err, sizeof err), 0);
	ck_assert_ptr_nonnull(o.tmp);
	fputs("new", o.f);
	fflush(o.f);
	ck_assert_str_eq(get(at("r.json")), "old");
	ck_assert_int_eq(temporaries(), 1);
	ck_assert_int_eq(cs_outfile_commit(&o, at("r.json"), err, sizeof err), 0);
	ck_assert_str_eq(get(at("r.json")), "new");
	ck_assert_int_eq(temporaries(), 0);
}
END_TEST

START_TEST(discard_keeps_old_file)
{
	struct cs_outfile o;
	char err[PATH_MAX + 256];

	put(at("r.json"), "old");
	ck_assert_int_eq(cs_outfile_open(&o, at("r.json"), err, sizeof err), 0);
	fputs("half a rep", o.f);
	cs_outfile_discard(&o);
	ck_assert_str_eq(get(at("r.json")), "old");
	ck_assert_int_eq(temporaries(), 0);
	cs_outfile_discard(&o);		/* twice is nothing */
	/* a new name discarded: no file at all */
	ck_assert_int_eq(cs_outfile_open(&o, at("n.json"), err, sizeof err), 0);
	cs_outfile_discard(&o);
	ck_assert_int_eq(access(at("n.json"), F_OK), -1);
}
END_TEST

/* Rows go out in pieces larger than the JSON writer's 4 KiB (outfile.c):
 * 12 KiB written 4 KiB at a time are still all in memory. */
START_TEST(written_in_large_pieces)
{
	struct cs_outfile o;
	char err[PATH_MAX + 256];
	char piece[4096];
	struct stat st;

	memset(piece, 'x', sizeof piece);
	ck_assert_int_eq(cs_outfile_open(&o, at("r.json"), err, sizeof err), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(fwrite(piece, 1, sizeof piece, o.f), sizeof piece);
	ck_assert_int_eq(fstat(fileno(o.f), &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_int_eq(cs_outfile_commit(&o, at("r.json"), err, sizeof err), 0);
	ck_assert_int_eq(stat(at("r.json"), &st), 0);
	ck_assert_int_eq(st.st_size, 3 * (off_t)sizeof piece);
}
END_TEST

/* Bytes waiting in pipe end fd. */
static int pipe_holds(int fd)
{
	int n = -1;

	ck_assert_int_eq(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

/* 12 KiB written to f 4 KiB at a time: what pipe end fd holds before f
 * is flushed. */
static int held_before_flush(FILE *f, int fd)
{
	char piece[4096];

	memset(piece, 'x', sizeof piece);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(fwrite(piece, 1, sizeof piece, f), sizeof piece);
	int held = pipe_holds(fd);
	ck_assert_int_eq(fflush(f), 0);
	return held;
}

/* Standard output as a pipe (connscope --json - | jq): the same pieces as
 * a report file. */
START_TEST(a_piped_stream_written_in_large_pieces)
{
	static char buf[CS_OUTFILE_BUFFER_BYTES];
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	FILE *f = fdopen(p[1], "w");
	ck_assert_ptr_nonnull(f);
	cs_outfile_buffer_stream(f, buf);
	ck_assert_int_eq(held_before_flush(f, p[0]), 0);
	ck_assert_int_eq(pipe_holds(p[0]), 3 * 4096);
	fclose(f);
	close(p[0]);
}
END_TEST

START_TEST(modes_as_open_would_give)
{
	struct cs_outfile o;
	char err[PATH_MAX + 256];
	struct stat st;
	mode_t saved = umask(027);

	ck_assert_int_eq(cs_outfile_open(&o, at("new.json"), err, sizeof err), 0);
	ck_assert_int_eq(cs_outfile_commit(&o, at("new.json"), err, sizeof err), 0);
	ck_assert_int_eq(stat(at("new.json"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640);

	put(at("old.json"), "old");
	ck_assert_int_eq(chmod(at("old.json"), 0604), 0);
	ck_assert_int_eq(cs_outfile_open(&o, at("old.json"), err, sizeof err), 0);
	ck_assert_int_eq(cs_outfile_commit(&o, at("old.json"), err, sizeof err), 0);
	ck_assert_int_eq(stat(at("old.json"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0604);
	umask(saved);
}
END_TEST

START_TEST(link_stays_a_link)
{
	struct cs_outfile o;
	char err[PATH_MAX + 256];
	struct stat st;

	ck_assert_int_eq(cs_outfile_open(&o, at("sym"), err, sizeof err), 0);
	fputs("report", o.f);
	ck_assert_int_eq(cs_outfile_commit(&o, at("sym"), err, sizeof err), 0);
	ck_assert_int_eq(lstat(at("sym"), &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_str_eq(get(at("cap")), "report");
	/* a dangling link: its target is created, the link stays */
	ck_assert_int_eq(cs_outfile_open(&o, at("dangling"), err, sizeof err), 0);
	fputs("first", o.f);
	ck_assert_int_eq(cs_outfile_commit(&o, at("dangling"), err, sizeof err), 0);
	ck_assert_int_eq(lstat(at("dangling"), &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_str_eq(get(at("target")), "first");
}
END_TEST

START_TEST(fifo_written_in_place)
{
	struct cs_outfile o;
	char err[PATH_MAX + 256];
	char buf[16] = "";

	ck_assert_int_eq(mkfifo(at("fifo"), 0600), 0);
	int rd = open(at("fifo"), O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rd, 0);
	ck_assert_int_eq(cs_outfile_open(&o, at("fifo"), err, sizeof err), 0);
	ck_assert_ptr_null(o.tmp);
	fputs("row", o.f);
	ck_assert_int_eq(cs_outfile_commit(&o, at("fifo"), err, sizeof err), 0);
	ck_assert_int_eq(read(rd, buf, sizeof buf - 1), 3);
	ck_assert_str_eq(buf, "row");
	close(rd);
}
END_TEST

START_TEST(missing_directory_is_an_error)
{
	struct cs_outfile o;
	char err[PATH_MAX + 256];
	char want[2 * NAME_LEN];

	ck_assert_int_eq(cs_outfile_open(&o, at("nodir/r.json"), err, sizeof err), -1);
	snprintf(want, sizeof want, "cannot write '%s': No such file or directory",
		 at("nodir/r.json"));
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(o.f);
	ck_assert_ptr_null(o.tmp);
}
END_TEST

Suite *outfile_suite(void)
{
	Suite *s = suite_create("outfile");
	TCase *tc = tcase_create("outfile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, check_finds_one_file_by_any_name, 0,
			    (int)(sizeof check_cases / sizeof check_cases[0]));
	tcase_add_test(tc, check_names_both_options);
	tcase_add_test(tc, old_file_stays_until_commit);
	tcase_add_test(tc, discard_keeps_old_file);
	tcase_add_test(tc, written_in_large_pieces);
	tcase_add_test(tc, a_piped_stream_written_in_large_pieces);
	tcase_add_test(tc, modes_as_open_would_give);
	tcase_add_test(tc, link_stays_a_link);
	tcase_add_test(tc, fifo_written_in_place);
	tcase_add_test(tc, missing_directory_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}
