/*
 * outfile.c — refusing outputs that name inputs, and replacing report
 * files only when they are complete.
 */
#include "analyzer/run/outfile.h"

#include <errno.h>
#include <limits.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Symbolic links followed by hand (a dangling one) before giving up: the
 * kernel's own limit for a path is 40, but a chain this long is a loop. */
#define LINKS_MAX 8

/* ---- names ------------------------------------------------------------------ */

/* The part of path after its last slash. */
static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The part of path before its last slash ("." without one, "/" for a
 * file in the root); NULL when out of memory. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* The target of the symbolic link path, as a path from here (a relative
 * target is relative to the link's directory); NULL if path is no link. */
static char *link_target(const char *path)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof target - 1);
	char *out;

	if (n < 0)
		return NULL;
	target[n] = '\0';
	if (target[0] == '/')
		return strdup(target);
	int dir_len = (int)(base_of(path) - path);
	if (asprintf(&out, "%.*s%s", dir_len, path, target) < 0)
		return NULL;
	return out;
}

/* path in its directory's real name: "./x", "d/../x" and "$PWD/x" are
 * one name; path itself if the directory cannot be resolved (then nothing
 * can be written there either). */
static char *in_real_dir(const char *path)
{
	const char *base = base_of(path);
	char *dir = dir_of(path);
	char *real = dir ? realpath(dir, NULL) : NULL;
	char *out = NULL;

	if (real && *base && strcmp(base, ".") && strcmp(base, "..")) {
		if (asprintf(&out, "%s%s%s", real, strcmp(real, "/") ? "/" : "",
			     base) < 0)
			out = NULL;
	} else {
		out = strdup(path);
	}
	free(real);
	free(dir);
	return out;
}

/*
 * Where writing to path puts the file: path with every symbolic link
 * followed, a dangling one too (open() creates its target), and for a
 * file that does not exist yet, its directory's real name.  NULL when out
 * of memory.
 */
static char *final_name(const char *path)
{
	char *name = realpath(path, NULL);

	if (name)
		return name;
	name = strdup(path);
	for (int i = 0; name && i < LINKS_MAX; i++) {
		char *next = link_target(name);
		if (!next)
			break;
		free(name);
		name = next;
	}
	if (!name)
		return NULL;
	char *out = in_real_dir(name);
	free(name);
	return out;
}

/* ---- are two names one file? ---------------------------------------------------- */

struct file_id {
	bool exists;
	bool chardev;		/* a terminal, /dev/null: nothing to destroy */
	dev_t dev;
	ino_t ino;
	char *name;		/* final_name, when it does not exist */
};

/* stat() follows /dev/stdout and /proc/self/fd/N to what they are open
 * on; "-" is the descriptor itself. */
static int identify(const struct cs_outfile_name *n, struct file_id *id)
{
	struct stat st;
	bool dash = !strcmp(n->path, "-");
	int rc = dash ? fstat(n->written ? STDOUT_FILENO : STDIN_FILENO, &st)
		      : stat(n->path, &st);

	memset(id, 0, sizeof *id);
	if (rc == 0) {
		id->exists = true;
		id->chardev = S_ISCHR(st.st_mode);
		id->dev = st.st_dev;
		id->ino = st.st_ino;
		return 0;
	}
	if (dash)
		return 0;	/* a closed descriptor: no file to compare */
	id->name = final_name(n->path);
	return id->name ? 0 : -1;
}

static bool same_file(const struct file_id *a, const struct file_id *b)
{
	if (a->exists != b->exists || a->chardev || b->chardev)
		return false;
	if (a->exists)
		return a->dev == b->dev && a->ino == b->ino;
	return a->name && b->name && !strcmp(a->name, b->name);
}

/* The input, or else the earlier output, that output i would destroy;
 * -1 if none. */
static int clash_of(const struct cs_outfile_name *names,
		    const struct file_id *ids, int cnt, int i)
{
	for (int j = 0; j < cnt; j++)
		if (!names[j].written && same_file(&ids[i], &ids[j]))
			return j;
	for (int j = 0; j < i; j++)
		if (names[j].written && same_file(&ids[i], &ids[j]))
			return j;
	return -1;
}

/* "--json 'x'", and what "-" stands for. */
static void describe(const struct cs_outfile_name *n, char *buf, size_t len)
{
	const char *what = "";

	if (!strcmp(n->path, "-"))
		what = n->written ? " (standard output)" : " (standard input)";
	snprintf(buf, len, "%s '%s'%s", n->option, n->path, what);
}

static void explain_clash(const struct cs_outfile_name *out,
			  const struct cs_outfile_name *other,
			  char *err, size_t errlen)
{
	char a[PATH_MAX + 64], b[PATH_MAX + 64];

	describe(out, a, sizeof a);
	describe(other, b, sizeof b);
	if (other->written)
		snprintf(err, errlen, "%s and %s are the same file: each report "
			 "needs a file of its own", b, a);
	else
		snprintf(err, errlen, "%s is the file read by %s: the report "
			 "would destroy it; write the report elsewhere", a, b);
}

int cs_outfile_check(const struct cs_outfile_name *names, int cnt,
		     char *err, size_t errlen)
{
	struct file_id *ids = calloc(cnt > 0 ? (size_t)cnt : 1, sizeof *ids);
	int rc = 0;

	if (!ids) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < cnt && rc == 0; i++)
		if (identify(&names[i], &ids[i]) != 0) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		}
	for (int i = 0; i < cnt && rc == 0; i++) {
		int j = names[i].written ? clash_of(names, ids, cnt, i) : -1;
		if (j >= 0) {
			explain_clash(&names[i], &names[j], err, errlen);
			rc = -1;
		}
	}
	for (int i = 0; i < cnt; i++)
		free(ids[i].name);
	free(ids);
	return rc;
}

/* ---- writing ---------------------------------------------------------------- */

/* What open() gives a new file.  The umask can only be read by setting
 * it, so it is set back at once; files are created on one thread only. */
static mode_t creation_mode(void)
{
	mode_t mask = umask(0);

	umask(mask);
	return 0666 & ~mask;
}

/* In a sticky directory (/tmp) only the owner of a file or of the
 * directory may replace the file, even one that others may write to. */
static bool rename_refused(const char *dir, const struct stat *file)
{
	struct stat d;
	uid_t me = geteuid();

	if (stat(dir, &d) != 0)
		return false;
	return (d.st_mode & S_ISVTX) && me != 0 && file->st_uid != me &&
	       d.st_uid != me;
}

/* A temporary file next to o->final, with the owner and permissions the
 * report should end up with (those of old, if there is an old file);
 * 0, or -1 with errno set. */
static int open_temporary(struct cs_outfile *o, const char *dir,
			  const struct stat *old)
{
	/* NAME_MAX is 255: a long name is cut, the X's must stay. */
	if (asprintf(&o->tmp, "%s/.%.200s.XXXXXX", dir, base_of(o->final)) < 0) {
		o->tmp = NULL;
		errno = ENOMEM;
		return -1;
	}
	int fd = mkstemp(o->tmp);
	if (fd >= 0) {
		/* Owner first: a change of owner clears some mode bits. */
		if (old && fchown(fd, old->st_uid, old->st_gid) != 0) {
			/* Only root may give a file away: the report is
			 * ours, as a file we created anew would be. */
		}
		/* mkstemp creates 0600 */
		if (fchmod(fd, old ? old->st_mode & 0777 : creation_mode()) == 0 &&
		    (o->f = fdopen(fd, "w")) != NULL)
			return 0;
	}
	int saved = errno;
	if (fd >= 0) {
		close(fd);
		unlink(o->tmp);
	}
	free(o->tmp);
	o->tmp = NULL;
	errno = saved;
	return -1;
}

/*
 * A regular file, or a name not taken yet: written under a temporary name.
 * If the directory takes no new file (or the file could not be replaced)
 * but the file exists, it is written in place.  Returns 0 when o->f is
 * open, 1 to write in place, -1 with errno set.
 */
static int open_replacement(struct cs_outfile *o, const char *path,
			    const struct stat *old)
{
	struct stat now;
	char *dir = NULL;
	int rc = -1;

	errno = ENOMEM;
	if (!(o->final = final_name(path)) || !(dir = dir_of(o->final)))
		goto out;
	/* Never rename over a file other than the one the name leads to
	 * (/proc/self/fd/N of a deleted file, say). */
	if (old && (stat(o->final, &now) != 0 || now.st_dev != old->st_dev ||
		    now.st_ino != old->st_ino))
		rc = 1;
	else if (old && rename_refused(dir, old))
		rc = 1;
	else
		rc = open_temporary(o, dir, old);
out:
	free(dir);
	return rc < 0 && old ? 1 : rc;
}

/*
 * A report is written in pieces of this size.  stdio's own buffer is the
 * file system's block (4 KiB here), and the JSON writer hands over 4 KiB
 * at a time, so each went to write() alone: SMALL's --json report (64 MB)
 * took 15,587 calls.  Four rounds of the same runs, interleaved (wall
 * medians, system time means):
 *
 *   buffer     SMALL --json (15 rounds)    LARGE --json (6 rounds)
 *   4 KiB      0.33 s, 0.135 s system      3.50 s, 1.36 s system
 *   16 KiB     0.29 s, 0.106 s             3.20 s, 1.15 s
 *   256 KiB    0.30 s, 0.111 s             4.24 s, 1.76 s
 *
 * Larger pieces cost the kernel more on LARGE (636 MB written), so
 * 16 KiB.  Without the memory, stdio's buffer serves.
 */
#define BUFFER_BYTES CS_OUTFILE_BUFFER_BYTES

static void give_buffer(struct cs_outfile *o)
{
	o->buf = malloc(BUFFER_BYTES);
	if (o->buf && setvbuf(o->f, o->buf, _IOFBF, BUFFER_BYTES) != 0) {
		free(o->buf);
		o->buf = NULL;
	}
}

/* A buffer may be given only before the stream's first use: one it has
 * (__fbufsize) says it was used. */
void cs_outfile_buffer_stream(FILE *f, char *buf)
{
	if (__fbufsize(f) == 0 && !isatty(fileno(f)))
		(void)setvbuf(f, buf, _IOFBF, BUFFER_BYTES);
}

int cs_outfile_open(struct cs_outfile *o, const char *path,
		    char *err, size_t errlen)
{
	struct stat st;
	bool exists = stat(path, &st) == 0;
	int rc = 1;

	memset(o, 0, sizeof *o);
	/* A FIFO or a device has no content to lose and no name to replace. */
	if (!exists || S_ISREG(st.st_mode))
		rc = open_replacement(o, path, exists ? &st : NULL);
	if (rc == 1)
		rc = (o->f = fopen(path, "w")) ? 0 : -1;
	if (rc == 0) {
		give_buffer(o);
		return 0;
	}
	snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
	cs_outfile_discard(o);
	return -1;
}

int cs_outfile_commit(struct cs_outfile *o, const char *path,
		      char *err, size_t errlen)
{
	int bad = ferror(o->f);

	bad |= fclose(o->f) != 0;
	o->f = NULL;
	free(o->buf);
	o->buf = NULL;
	if (bad) {
		snprintf(err, errlen, "writing '%s' failed: %s%s", path,
			 strerror(errno), o->tmp ? "; the file was left as it "
			 "was" : "");
	} else if (o->tmp && rename(o->tmp, o->final) != 0) {
		snprintf(err, errlen, "cannot put '%s' in place (renaming '%s'): %s",
			 path, o->tmp, strerror(errno));
		bad = 1;
	}
	if (bad) {
		cs_outfile_discard(o);
		return -1;
	}
	free(o->tmp);
	free(o->final);
	o->tmp = o->final = NULL;
	return 0;
}

bool cs_outfile_abandon(const struct cs_outfile *o)
{
	if (!o->tmp)
		return false;
	unlink(o->tmp);
	return true;
}

void cs_outfile_discard(struct cs_outfile *o)
{
	if (o->f)
		fclose(o->f);
	free(o->buf);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->final);
	memset(o, 0, sizeof *o);
}
