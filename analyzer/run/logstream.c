/*
 * logstream.c — log files written in place, rotated and reopened.
 */
#include "analyzer/run/logstream.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Rotated names tried for one interval before giving up (a clock that
 * jumps back, or many SIGHUP-free restarts within one interval). */
#define ROTATED_NAME_TRIES 100

static bool is_stdout(const struct cs_logstream *s)
{
	return !strcmp(s->path, "-");
}

/* O_APPEND: a restart adds to the file, and a writer of a file that
 * logrotate truncated (copytruncate) writes at the new end. */
static FILE *open_append(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;

	if (!f) {
		snprintf(err, errlen, "cannot open '%s' for writing: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

/* s->lock held. */
static int open_file(struct cs_logstream *s, char *err, size_t errlen)
{
	s->f = is_stdout(s) ? stdout : open_append(s->path, err, errlen);
	if (!s->f)
		return -1;
	if (s->head)
		s->head(s->f);
	return 0;
}

/* Writes the tail and closes; s->lock held.  -1 if a write failed. */
static int end_file(struct cs_logstream *s, char *err, size_t errlen)
{
	int bad;

	if (!s->f)
		return 0;
	if (s->tail)
		s->tail(s->f);
	bad = ferror(s->f);
	if (s->f == stdout)
		bad |= fflush(s->f) != 0;
	else
		bad |= fclose(s->f) != 0;
	s->f = NULL;
	if (bad)
		snprintf(err, errlen, "writing '%s' failed: %s", s->path,
			 strerror(errno));
	return bad ? -1 : 0;
}

int cs_logstream_open(struct cs_logstream *s, const char *path,
		      cs_logstream_edge_fn head, cs_logstream_edge_fn tail,
		      uint64_t interval_start_sec, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->path = path;
	s->head = head;
	s->tail = tail;
	s->interval_start_sec = interval_start_sec;
	if (open_file(s, err, errlen) != 0)
		return -1;
	pthread_mutex_init(&s->lock, NULL);
	s->locked_init = true;
	return 0;
}

FILE *cs_logstream_lock(struct cs_logstream *s)
{
	pthread_mutex_lock(&s->lock);
	return s->f;
}

void cs_logstream_unlock(struct cs_logstream *s)
{
	pthread_mutex_unlock(&s->lock);
}

void cs_logstream_flush(struct cs_logstream *s)
{
	if (!s->locked_init)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->f)
		fflush(s->f);
	pthread_mutex_unlock(&s->lock);
}

int cs_logstream_reopen(struct cs_logstream *s, char *err, size_t errlen)
{
	int rc = 0;

	if (!s->locked_init || is_stdout(s))
		return 0;
	pthread_mutex_lock(&s->lock);
	rc |= end_file(s, err, errlen);
	rc |= open_file(s, err, errlen);
	pthread_mutex_unlock(&s->lock);
	return rc ? -1 : 0;
}

int cs_logstream_rotated_name(char *buf, size_t len, const char *path,
			      uint64_t sec, int n)
{
	const char *base = strrchr(path, '/');
	const char *dot = strrchr(base ? base + 1 : path, '.');
	time_t t = (time_t)sec;
	struct tm tm;
	char when[32] = "unknown-time", suffix[16] = "";

	base = base ? base + 1 : path;
	if (dot == base)
		dot = NULL;		/* ".hidden": no extension */
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof when, "%Y-%m-%d-%H-%M-%S", &tm);
	if (n > 0)
		snprintf(suffix, sizeof suffix, "-%d", n);
	if (!dot)
		return snprintf(buf, len, "%s.%s%s", path, when, suffix);
	return snprintf(buf, len, "%.*s.%s%s%s", (int)(dot - path), path, when,
			suffix, dot);
}

/*
 * link + unlink rather than rename: rename would replace a file of the
 * same name (a second run within one interval) without a word.
 */
static int rename_after_interval(const struct cs_logstream *s,
				 char *err, size_t errlen)
{
	char name[PATH_MAX];

	for (int n = 0; n < ROTATED_NAME_TRIES; n++) {
		int w = cs_logstream_rotated_name(name, sizeof name, s->path,
						  s->interval_start_sec, n);
		if (w < 0 || (size_t)w >= sizeof name)
			break;
		if (link(s->path, name) == 0)
			return unlink(s->path) == 0 || errno == ENOENT ? 0 : -1;
		if (errno != EEXIST) {
			snprintf(err, errlen, "cannot rename '%s' to '%s': %s",
				 s->path, name, strerror(errno));
			return -1;
		}
	}
	snprintf(err, errlen, "cannot rename '%s': no free rotated name", s->path);
	return -1;
}

int cs_logstream_rotate(struct cs_logstream *s, uint64_t next_start_sec,
			char *err, size_t errlen)
{
	int rc = 0;

	if (!s->locked_init || is_stdout(s))
		return 0;
	pthread_mutex_lock(&s->lock);
	bool had_file = s->f != NULL;
	rc |= end_file(s, err, errlen);
	if (had_file)
		rc |= rename_after_interval(s, err, errlen);
	s->interval_start_sec = next_start_sec;
	rc |= open_file(s, err, errlen);
	pthread_mutex_unlock(&s->lock);
	return rc ? -1 : 0;
}

int cs_logstream_close(struct cs_logstream *s, bool rename,
		       char *err, size_t errlen)
{
	int rc = 0;

	if (!s->locked_init)
		return 0;
	pthread_mutex_lock(&s->lock);
	bool had_file = s->f != NULL;
	rc |= end_file(s, err, errlen);
	if (rename && had_file && !is_stdout(s))
		rc |= rename_after_interval(s, err, errlen);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	s->locked_init = false;
	return rc ? -1 : 0;
}
