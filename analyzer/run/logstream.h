/*
 * logstream.h — a log file written as a stream: rotated, reopened.
 *
 * A sensor's logs (--jsonl, and --conn-log under --rotate) are tailed by a
 * shipper while they are written, so unlike the reports (outfile.h) they
 * are written in place under their own name, never under a temporary one.
 * A stream is opened for appending, so a restarted sensor adds to the file
 * it left rather than destroying it.  It can be:
 *
 * - rotated (--rotate): the file is ended, renamed NAME.YYYY-MM-DD-HH-MM-SS.EXT
 *   (the UTC start of the interval it holds, as Zeek names rotated logs;
 *   never over an existing file: "-1", "-2" ... are added) and a new one
 *   is opened under NAME;
 * - reopened (SIGHUP, for logrotate): the file is ended and NAME opened
 *   again, which after a `mv` is a new file.
 *
 * A file always has its head and its tail (a conn.log's header and #close
 * line), written by the caller's callbacks.  Standard output ("-") is
 * never renamed or reopened: it is only flushed.
 *
 * The lock serialises the writers of one stream (the writer thread's rows,
 * the analysing thread's alert and stats lines) with its rotation; every
 * function below takes it itself but for the rows written between
 * cs_logstream_lock and cs_logstream_unlock.  It never prints: messages go
 * to the caller in err.
 */
#ifndef CS_ANALYZER_LOGSTREAM_H
#define CS_ANALYZER_LOGSTREAM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes a file's first (or last) lines. */
typedef void (*cs_logstream_edge_fn)(FILE *f);

struct cs_logstream {
	const char *path;		/* as given; "-": standard output */
	FILE *f;			/* NULL once closed, or if a reopen failed */
	cs_logstream_edge_fn head, tail;	/* either may be NULL */
	uint64_t interval_start_sec;	/* of what the file holds (rotation) */
	bool locked_init;
	pthread_mutex_t lock;
};

/* Opens path for appending and writes the head; 0, or -1 with a message. */
int cs_logstream_open(struct cs_logstream *s, const char *path,
		      cs_logstream_edge_fn head, cs_logstream_edge_fn tail,
		      uint64_t interval_start_sec, char *err, size_t errlen);

/* For the rows of one writer: f may be NULL (the file could not be
 * reopened): the row is then lost, and counted by the caller. */
FILE *cs_logstream_lock(struct cs_logstream *s);
void cs_logstream_unlock(struct cs_logstream *s);

/* Pushes what is buffered to the file (at least once a second, live). */
void cs_logstream_flush(struct cs_logstream *s);

/* Ends the file and opens NAME again (SIGHUP); 0, or -1 with a message
 * (no file until the next reopen or rotation then). */
int cs_logstream_reopen(struct cs_logstream *s, char *err, size_t errlen);

/* Ends the file, renames it after its interval, opens a new NAME whose
 * interval starts at next_start_sec; 0, or -1 with a message. */
int cs_logstream_rotate(struct cs_logstream *s, uint64_t next_start_sec,
			char *err, size_t errlen);

/* Ends the file (and renames it after its interval if rename); 0, or -1
 * with a message.  Standard output is flushed.  Frees the lock. */
int cs_logstream_close(struct cs_logstream *s, bool rename,
		       char *err, size_t errlen);

/* NAME.YYYY-MM-DD-HH-MM-SS.EXT for path and a UTC second; suffix n > 0
 * adds "-n" before ".EXT".  Returns the length snprintf would write. */
int cs_logstream_rotated_name(char *buf, size_t len, const char *path,
			      uint64_t sec, int n);

#endif /* CS_ANALYZER_LOGSTREAM_H */
