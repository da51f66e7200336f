/*
 * outfile.h — report files that never destroy data.
 *
 * Two promises about the files a run writes (--json, --conn-log, --report):
 *
 * - A report never overwrites an input or another report.  Before anything
 *   is opened, every name written is compared with every name read and
 *   with the other names written: the same device and inode when the file
 *   exists, the same normalised path (symbolic links followed) when it
 *   does not.  "-" is standard input when read and standard output when
 *   written.  Character devices (a terminal, /dev/null) are never the same
 *   file as anything: nothing there can be destroyed.
 *
 * - A report replaces the file it names only once it is complete.  It is
 *   written under a hidden temporary name in the same directory
 *   (".NAME.XXXXXX") and renamed over NAME at the end; a run that fails or
 *   is abandoned removes the temporary, so the old report stays where it
 *   was.  The new file gets the old one's owner (where allowed) and
 *   permissions, or 0666 & ~umask as open() would give a new file.  Where
 *   the directory takes no new file but NAME is writable, or NAME is not a
 *   regular file (a FIFO, a device), NAME is written in place, as before.
 *
 * It only opens, renames and removes files: what goes into them is the
 * reports' business, and it never prints (messages go to the caller).
 */
#ifndef CS_ANALYZER_OUTFILE_H
#define CS_ANALYZER_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A file named on the command line, and the option that names it. */
struct cs_outfile_name {
	const char *option;	/* "-r", "--json", ... */
	const char *path;	/* "-": standard input or output */
	bool written;		/* an output (else an input) */
};

/* 0 if every name written is a file of its own; -1 with a message naming
 * both options and both paths in err if one is an input or another
 * output.  Opens nothing and writes nothing. */
int cs_outfile_check(const struct cs_outfile_name *names, int cnt,
		     char *err, size_t errlen);

/* A report file being written. */
struct cs_outfile {
	FILE *f;		/* write here */
	char *final;		/* where the file ends up (links followed) */
	char *tmp;		/* renamed over final at the end; NULL when
				 * final is written in place */
	char *buf;		/* f's buffer (outfile.c), or NULL */
};

/* A report is written to its file in pieces of this size (outfile.c). */
#define CS_OUTFILE_BUFFER_BYTES (16u * 1024)

/* Opens path (not "-") for writing; 0, or -1 with a message in err. */
int cs_outfile_open(struct cs_outfile *o, const char *path,
		    char *err, size_t errlen);

/* Closes the file and puts it in place; 0, or -1 with a message in err
 * (the write or the rename failed: the temporary is removed, and the old
 * file, if any, is left as it was). */
int cs_outfile_commit(struct cs_outfile *o, const char *path,
		      char *err, size_t errlen);

/* Closes the file and removes the temporary (an unfinished report); the
 * old file, if any, is left as it was.  Nothing if o was not opened. */
void cs_outfile_discard(struct cs_outfile *o);

/* For a process about to _exit (a second Ctrl-C): removes the temporary
 * without closing the stream, which another thread may be stuck writing;
 * false if the file is written in place (nothing to remove). */
bool cs_outfile_abandon(const struct cs_outfile *o);

/*
 * Standard output carrying a report ("-") goes out in the same pieces as
 * a report file, in buf (CS_OUTFILE_BUFFER_BYTES, living as long as f):
 * with stdio's own buffer (4 KiB for a pipe), SMALL's --json report piped
 * took 15,587 writes.  Not a terminal, whose lines a person reads as they
 * come, nor a stream used already.
 */
void cs_outfile_buffer_stream(FILE *f, char *buf);

#endif /* CS_ANALYZER_OUTFILE_H */
