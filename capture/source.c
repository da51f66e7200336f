/*
 * source.c — libpcap behind a small interface: files, interfaces, filters;
 * regular files walked in memory (pcapfile.h) once libpcap has opened them.
 */
#include "capture/source.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/child.h"
#include "capture/decode.h"
#include "capture/pcapfile.h"
#include "capture/pkttime.h"
#include "capture/reader.h"
#include "capture/unpack.h"

struct cs_source {
	pcap_t *p;
	char *name;
	bool live;
	int dlt;
	uint32_t snaplen;
	bool u32_seconds;	/* a pcap file: seconds are unsigned 32-bit */
	int fd;			/* live: selectable descriptor; stream: its
				 * descriptor; -1 otherwise */
	int timeout_ms;		/* live: longest wait in one read */
	bool stream;		/* a pipe, a FIFO, a terminal: read once, as it comes */
	struct cs_wake *wake;	/* the run's: its stop ends a read (NULL: none) */
	char *iobuf;		/* file: stdio buffer, freed after pcap_close */
	struct cs_unpack *unpack;	/* a compressed file's decompressor */
	uint64_t cutoff_us;	/* while draining: later frames are not read */

	/* A regular file walked in memory (pcapfile.h) instead of read by
	 * libpcap, which then only opened it; NULL when libpcap reads. */
	struct cs_pcapfile *walk;
	int walk_fd;		/* the file read (libpcap's, which closes it);
				 * -1: the caller's buffer (mem) */
	const uint8_t *mem;	/* cs_source_open_memory's buffer */
	size_t mem_len;
	uint8_t *buf;		/* the file's bytes being walked (walk_fd) */
	size_t buf_cap;
	uint64_t read_at;	/* the file's offset the next read starts at */
	struct bpf_program installed;	/* the walker's filter: what
					 * pcap_setfilter installed */
	/* How far the walker has got, for cs_source_progress on another
	 * thread (the analysing one reports the reading one's progress). */
	_Atomic uint64_t walked_bytes;
	volatile sig_atomic_t broken;

	/* State of the cs_source_read in progress, for the pcap callback. */
	cs_frame_fn fn;
	void *ctx;
	uint64_t delivered;
	uint64_t records;	/* records delivered so far, across reads */

	/* With a filter that also passes ICMP errors (cs_filter below): the
	 * user's own expression, matched here against each frame the
	 * installed program passed, and the quote of an ICMP error put in
	 * place of the datagram that carried it. */
	bool match_quotes;
	struct bpf_program user;
	uint8_t *quote_frame;	/* snaplen bytes */
};

/* ---- opening ----------------------------------------------------------- */

static struct cs_source *source_new(pcap_t *p, const char *name, bool live)
{
	struct cs_source *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->name = strdup(name);
	if (!s->name) {
		free(s);
		return NULL;
	}
	s->p = p;
	s->live = live;
	s->fd = -1;
	s->walk_fd = -1;
	atomic_init(&s->walked_bytes, 0);
	s->dlt = pcap_datalink(p);
	/* libpcap gives a pcapng file the version of its section header,
	 * 1.0; a pcap file's is 2.x (or DG/UX's 543.0). */
	s->u32_seconds = !live && pcap_major_version(p) >= 2;
	int snap = pcap_snapshot(p);
	s->snaplen = snap > 0 ? (uint32_t)snap : 0;
	return s;
}

/* Magic numbers as cs_rd_peek_u32 reads them: the file's bytes in order. */
enum {
	MAGIC_PCAPNG = 0x0a0d0d0a,	/* section header block type */
	PCAPNG_BOM = 0x1a2b3c4d,	/* byte-order magic, in the writer's order */
	PCAPNG_BOM_SWAPPED = 0x4d3c2b1a,
};

static bool is_capture_magic(uint32_t magic)
{
	static const uint32_t known[] = {
		0xa1b2c3d4, 0xd4c3b2a1,		/* pcap µs, either order */
		0xa1b23c4d, 0x4d3cb2a1,		/* pcap ns */
		MAGIC_PCAPNG,
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (magic == known[i])
			return true;
	return false;
}

/* A pcapng file whose section header's byte-order magic (bytes 8..11) is
 * neither order: libpcap calls it an "unknown file format", which hides
 * that it is a damaged pcapng. */
static bool is_pcapng_bad_byte_order(struct cs_reader head)
{
	if (!cs_rd_has_at(&head, 8, 4) || cs_rd_peek_u32(&head, 0) != MAGIC_PCAPNG)
		return false;
	uint32_t bom = cs_rd_peek_u32(&head, 8);
	return bom != PCAPNG_BOM && bom != PCAPNG_BOM_SWAPPED;
}

/* How an input is named in messages. */
static void input_label(const char *path, char *buf, size_t len)
{
	if (!strcmp(path, "-"))
		snprintf(buf, len, "standard input");
	else
		snprintf(buf, len, "'%s'", path);
}

/* An input that ended before its first byte, named for what it is. */
static const char *nothing_arrived(const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return "the file is empty";
	if (S_ISFIFO(st->st_mode))
		return "no data arrived on the pipe";
	if (S_ISSOCK(st->st_mode))
		return "no data arrived on the socket";
	return "no data arrived";
}

/* The first bytes of an input, kept as they pass: a header libpcap
 * refuses is explained from them, never by opening the input again (a
 * pipe cannot be read twice, and opening a FIFO that has lost its writer
 * waits for the next one). */
struct head {
	unsigned char b[12];
	size_t len;
	int read_errno;		/* of a read that failed before len bytes */
};

/*
 * libpcap's messages name the symptom ("unknown file format"); people want
 * to know what the input is: empty, too short, something else, or a
 * capture whose header is damaged.
 */
static void describe_open_failure(const char *label, const struct stat *st,
				  const char *pcap_msg, const struct head *h,
				  char *err, size_t errlen)
{
	struct cs_reader head = cs_rd_make(h->b, h->len);

	if (h->len == 0 && h->read_errno)
		snprintf(err, errlen, "cannot read %s: %s", label,
			 strerror(h->read_errno));
	else if (h->len == 0)
		snprintf(err, errlen, "cannot read %s: %s", label, nothing_arrived(st));
	else if (h->len < 4)
		snprintf(err, errlen, "cannot read %s: only %zu bytes, too short "
			 "for a capture file header", label, h->len);
	else if (!is_capture_magic(cs_rd_peek_u32(&head, 0)))
		snprintf(err, errlen, "cannot read %s: not a pcap or pcapng file "
			 "(magic 0x%08" PRIx32 ")", label, cs_rd_peek_u32(&head, 0));
	else if (is_pcapng_bad_byte_order(head))
		snprintf(err, errlen, "cannot read %s: damaged pcapng section "
			 "header: byte-order magic 0x%08" PRIx32 ", not 0x1a2b3c4d "
			 "in either byte order", label, cs_rd_peek_u32(&head, 8));
	else
		snprintf(err, errlen, "cannot read %s: damaged capture file "
			 "header: %s", label, pcap_msg);
}

/* ---- streams: pipes, FIFOs, terminals ---------------------------------------- */

/*
 * libpcap reads through stdio, and stdio's read() blocks until input
 * comes: a signal's flag cannot end that wait without a race, and a
 * reader with SA_RESTART would not even see the signal.  A stream is read
 * through a stdio cookie instead, whose read polls the descriptor and the
 * run's wake together: a stop ends the read at once (libpcap then reports
 * an error, which cs_source_read turns into CS_READ_BROKEN), a poke calls
 * the caller back (SIGUSR1's statistics) and the wait goes on.
 */
struct stream {
	int fd;
	bool own_fd;		/* not standard input's, which stays open */
	struct cs_source_wait wait;
	struct head head;
	/* bytes looked at before libpcap read (stream_peek), given first */
	unsigned char pend[CS_UNPACK_MAGIC_LEN];
	size_t pend_len, pend_off;
};

static void keep_head(struct head *h, const char *buf, size_t n)
{
	size_t room = sizeof h->b - h->len;
	size_t k = n < room ? n : room;

	memcpy(h->b + h->len, buf, k);
	h->len += k;
}

static ssize_t stream_read_fd(struct stream *st, char *buf, size_t size)
{
	for (;;) {
		enum cs_wait w = cs_wake_wait(st->wait.wake, st->fd, -1);
		if (w == CS_WAIT_STOPPED) {
			errno = EINTR;
			return -1;
		}
		if (w == CS_WAIT_POKED) {
			if (st->wait.poked)
				st->wait.poked(st->wait.ctx);
			continue;
		}
		ssize_t n = read(st->fd, buf, size);
		if (n >= 0) {
			keep_head(&st->head, buf, (size_t)n);
			return n;
		}
		if (errno != EINTR && errno != EAGAIN) {
			if (st->head.len == 0)
				st->head.read_errno = errno;
			return -1;
		}
	}
}

static ssize_t stream_read(void *cookie, char *buf, size_t size)
{
	struct stream *st = cookie;
	size_t n = st->pend_len - st->pend_off;

	if (n == 0)
		return stream_read_fd(st, buf, size);
	if (n > size)
		n = size;
	memcpy(buf, st->pend + st->pend_off, n);
	st->pend_off += n;
	return (ssize_t)n;
}

/* The first bytes of a stream, read before libpcap reads and given to it
 * after: a pipe cannot be read again to tell a compressed capture. */
static size_t stream_peek(struct stream *st, unsigned char *buf, size_t want)
{
	while (st->pend_len < want && st->pend_len < sizeof st->pend) {
		ssize_t n = stream_read_fd(st, (char *)st->pend + st->pend_len,
					   sizeof st->pend - st->pend_len);
		if (n <= 0)
			break;	/* the end, or a stop: libpcap's read meets it */
		st->pend_len += (size_t)n;
	}
	memcpy(buf, st->pend, st->pend_len);
	return st->pend_len;
}

static int stream_close(void *cookie)
{
	struct stream *st = cookie;
	int rc = st->own_fd ? close(st->fd) : 0;

	free(st);
	return rc;
}

/* A stream's buffer: what a pipe holds at most, so one read() empties it. */
#define STREAM_BUF_SIZE (64u << 10)

static FILE *stream_open(int fd, bool own_fd, const struct cs_source_wait *wait,
			 struct stream **out)
{
	static const cookie_io_functions_t io = {
		.read = stream_read,
		.close = stream_close,
	};
	struct stream *st = calloc(1, sizeof *st);

	if (!st)
		return NULL;
	st->fd = fd;
	st->own_fd = own_fd;
	if (wait)
		st->wait = *wait;
	FILE *f = fopencookie(st, "rb", io);
	if (!f) {
		free(st);
		return NULL;
	}
	setvbuf(f, NULL, _IOFBF, STREAM_BUF_SIZE);
	*out = st;
	return f;
}

/* ---- opening a file ------------------------------------------------------------ */

/*
 * libpcap reads a file through stdio, a record header and a record at a
 * time; with stdio's default 4 KiB buffer that is a read() every 30 or so
 * packets, 40,000 system calls for a million.  A regular file gets a
 * buffer of IOBUF_SIZE instead.
 */
#define IOBUF_SIZE (1u << 20)

struct opening {
	const char *path;
	char label[PATH_MAX + 2];	/* 'path', or standard input */
	struct stat st;
	int fd;
	bool regular;
	FILE *f;
	char *iobuf;		/* a regular file's stdio buffer */
	struct stream *st_cookie;	/* a stream's cookie, owned by f */
	struct cs_unpack *unpack;	/* a compressed input's, owned by f */
};

/*
 * Opens path once ("-": standard input) without blocking: O_NONBLOCK, so
 * that a FIFO with no writer yet does not hold open() (its first read
 * waits for the writer instead, where a stop reaches it).  A directory
 * opens, and then fails every read: it is refused here.
 */
static int open_fd(struct opening *o, char *err, size_t errlen)
{
	if (!strcmp(o->path, "-"))
		o->fd = STDIN_FILENO;
	else
		o->fd = open(o->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (o->fd < 0 || fstat(o->fd, &o->st) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", o->label, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(o->st.st_mode)) {
		snprintf(err, errlen, "cannot read %s: is a directory", o->label);
		goto fail;
	}
	o->regular = S_ISREG(o->st.st_mode);
	if (o->regular && o->fd == STDIN_FILENO &&
	    (o->fd = dup(STDIN_FILENO)) < 0) {	/* fclose must not close stdin */
		snprintf(err, errlen, "cannot read %s: %s", o->label, strerror(errno));
		return -1;
	}
	if (o->regular)
		fcntl(o->fd, F_SETFL, fcntl(o->fd, F_GETFL) & ~O_NONBLOCK);
	return 0;
fail:
	if (o->fd > STDIN_FILENO)
		close(o->fd);
	return -1;
}

/* The descriptor as a stdio stream for libpcap. */
static int open_stdio(struct opening *o, const struct cs_source_wait *wait,
		      char *err, size_t errlen)
{
	if (!o->regular) {
		o->f = stream_open(o->fd, o->fd != STDIN_FILENO, wait, &o->st_cookie);
	} else if ((o->f = fdopen(o->fd, "rb")) != NULL &&
		   (o->iobuf = malloc(IOBUF_SIZE)) != NULL) {
		setvbuf(o->f, o->iobuf, _IOFBF, IOBUF_SIZE);
	}
	if (!o->f) {
		snprintf(err, errlen, "cannot read %s: %s", o->label, strerror(errno));
		if (o->fd != STDIN_FILENO)
			close(o->fd);
		return -1;
	}
	return 0;
}

/* The first bytes, when libpcap refused the header: a stream's as they
 * passed, a regular file's read again from its start on the same
 * descriptor. */
static void read_head(const struct opening *o, struct head *h)
{
	ssize_t n;

	memset(h, 0, sizeof *h);
	if (o->st_cookie) {
		*h = o->st_cookie->head;
		return;
	}
	n = pread(o->fd, h->b, sizeof h->b, 0);
	if (n < 0)
		h->read_errno = errno;
	else
		h->len = (size_t)n;
}

/*
 * A compressed capture is told by its first bytes, not its name, so a
 * renamed file or a pipe from curl reads as well.  Its decompressed bytes
 * are read through another cookie (unpack.h) over the stream so far.
 */
static int unpack_if_compressed(struct opening *o, char *err, size_t errlen)
{
	unsigned char magic[CS_UNPACK_MAGIC_LEN];
	ssize_t n;

	if (o->st_cookie)
		n = (ssize_t)stream_peek(o->st_cookie, magic, sizeof magic);
	else
		n = pread(o->fd, magic, sizeof magic, 0);
	enum cs_unpack_kind kind = cs_unpack_detect(magic, n > 0 ? (size_t)n : 0);
	if (kind == CS_UNPACK_NONE)
		return 0;
	FILE *f = cs_unpack_open(o->f, kind, &o->unpack);
	if (!f) {
		snprintf(err, errlen, "cannot read %s: cannot start the %s "
			 "decompressor: %s", o->label, cs_unpack_kind_names[kind],
			 strerror(errno));
		fclose(o->f);
		free(o->iobuf);
		o->iobuf = NULL;
		return -1;
	}
	o->f = f;
	snprintf(o->label + strlen(o->label), sizeof o->label - strlen(o->label),
		 " (%s-compressed)", cs_unpack_kind_names[kind]);
	return 0;
}

/* A header libpcap refused: the decompressor's failure, or what the bytes
 * that passed are. */
static void explain_refusal(const struct opening *o, const char *pcap_msg,
			    char *err, size_t errlen)
{
	struct head h;

	if (cs_unpack_error(o->unpack)) {
		snprintf(err, errlen, "cannot read %s: %s", o->label,
			 cs_unpack_error(o->unpack));
		return;
	}
	read_head(o, &h);
	if (o->unpack) {
		h.len = cs_unpack_head(o->unpack, h.b, sizeof h.b);
		h.read_errno = 0;
	}
	describe_open_failure(o->label, &o->st, pcap_msg, &h, err, errlen);
}

/* Microsecond precision: nanosecond files are scaled by libpcap, and every
 * timer in connscope counts microseconds of packet time. */
static pcap_t *open_offline(struct opening *o, const struct cs_source_wait *wait,
			    char *err, size_t errlen)
{
	char pe[PCAP_ERRBUF_SIZE] = "";

	input_label(o->path, o->label, sizeof o->label);
	if (open_fd(o, err, errlen) != 0 || open_stdio(o, wait, err, errlen) != 0 ||
	    unpack_if_compressed(o, err, errlen) != 0)
		return NULL;
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(
		o->f, PCAP_TSTAMP_PRECISION_MICRO, pe);
	if (!p) {
		explain_refusal(o, pe, err, errlen);
		fclose(o->f);	/* libpcap leaves the stream to the caller */
		free(o->iobuf);
		o->iobuf = NULL;
	}
	return p;
}

/* ---- a regular file walked in memory ---------------------------------------- */

/*
 * libpcap reads a file through stdio a record header and a record at a
 * time, copying each record into its buffer: about 300 instructions a
 * record (tests/bench/PROFILE.md).  A regular, uncompressed file is
 * read instead in large pieces into one buffer and walked there
 * (pcapfile.h).  libpcap still opens
 * it: the header's checks and messages, the link type's LINKTYPE_ to
 * DLT_ mapping and the snap length are its own, and the walker takes
 * them from it; libpcap's handle then only compiles filters.
 */

/* libpcap's longest record for the link types walked (max_snaplen_for_dlt:
 * larger only for D-Bus, EBHSCR and USBPcap, which libpcap reads). */
#define LIBPCAP_MAX_SNAPLEN 262144u

/*
 * Whether libpcap hands this link type's records over as the file holds
 * them.  It rewrites a byte-swapped file's Linux cooked (CAN), NFLOG and
 * USB headers (swap_pseudo_headers), and a USB mmapped header's length
 * always: those, and link types connscope does not decode, stay with
 * libpcap.
 */
static bool walker_reads(int dlt, bool swapped)
{
	if (!cs_linktype_supported(dlt))
		return false;
	return !swapped || (dlt != CS_DLT_LINUX_SLL && dlt != CS_DLT_LINUX_SLL2 &&
			    dlt != CS_DLT_NFLOG);
}

/* Puts a walker over buf on s, which libpcap opened; false (and s as it
 * was) when libpcap should read it after all. */
static bool start_walker(struct cs_source *s, const uint8_t *buf, size_t len,
			 bool more)
{
	struct cs_pcapfile_params prm = {
		.dlt = s->dlt, .max_caplen = LIBPCAP_MAX_SNAPLEN, .more = more,
	};
	char why[PCAP_ERRBUF_SIZE];
	struct cs_pcapfile *w;

	if (!walker_reads(s->dlt, pcap_is_swapped(s->p)) || !(w = malloc(sizeof *w)))
		return false;
	if (cs_pcapfile_open(w, buf, len, &prm, why, sizeof why) != 0 ||
	    w->snapshot != s->snaplen) {
		cs_pcapfile_fini(w);
		free(w);
		return false;
	}
	s->walk = w;
	return true;
}

/*
 * Reads from s->read_at into buf until len bytes came or the file ended:
 * the bytes read, or -1 with errno.  The file is read as it is at each
 * call: one truncated meanwhile ends early (the walker then reports a
 * cut record, as libpcap would), one growing is read to its new end.
 */
static ssize_t read_file_at(struct cs_source *s, uint8_t *buf, size_t len)
{
	size_t got = 0;

	if (s->walk_fd < 0) {	/* the caller's buffer, a piece at a time */
		got = s->mem_len - s->read_at < len ? s->mem_len - s->read_at : len;
		memcpy(buf, s->mem + s->read_at, got);
	}
	while (s->walk_fd >= 0 && got < len) {
		ssize_t n = pread(s->walk_fd, buf + got, len - got,
				  (off_t)(s->read_at + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	s->read_at += got;
	return (ssize_t)got;
}

/* A regular file (fd; -1: s->mem) read in pieces of chunk bytes for the
 * walker; false, and libpcap keeps reading it, when the walker cannot (a
 * link type libpcap rewrites, a header longer than the first piece). */
static bool walk_read(struct cs_source *s, int fd, size_t chunk)
{
	uint8_t *buf = malloc(chunk);
	ssize_t n;

	if (!buf)
		return false;
	s->walk_fd = fd;
	s->read_at = 0;
	n = read_file_at(s, buf, chunk);
	/* more may come even after a short read: a file being written */
	if (n <= 0 || !start_walker(s, buf, (size_t)n, true)) {
		free(buf);
		s->walk_fd = -1;
		return false;
	}
	s->buf = buf;
	s->buf_cap = chunk;
	return true;
}

int cs_source_open_memory(struct cs_source **out, const uint8_t *buf,
			  size_t len, const char *name, size_t chunk,
			  char *err, size_t errlen)
{
	/* read-only: fmemopen's buffer is not const only because of "w" */
	FILE *f = len ? fmemopen((void *)(uintptr_t)buf, len, "rb") : NULL;

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "cannot read '%s': %s", name,
			 len ? strerror(errno) : "the file is empty");
		return -1;
	}
	if (cs_source_open_stream(out, f, name, err, errlen) != 0)
		return -1;
	(*out)->mem = buf;
	(*out)->mem_len = len;
	if (chunk ? !walk_read(*out, -1, chunk) : !start_walker(*out, buf, len, false)) {
		cs_source_close(*out);
		*out = NULL;
		snprintf(err, errlen, "cannot read '%s': not walked in memory", name);
		return -1;
	}
	return 0;
}

int cs_source_open_file(struct cs_source **out, const char *path,
			const struct cs_source_wait *wait,
			char *err, size_t errlen)
{
	return cs_source_open_file_read(out, path, wait, CS_SOURCE_READ_CHUNK,
					err, errlen);
}

int cs_source_open_file_read(struct cs_source **out, const char *path,
			     const struct cs_source_wait *wait, size_t chunk,
			     char *err, size_t errlen)
{
	struct opening o = { .path = path, .fd = -1 };

	*out = NULL;
	pcap_t *p = open_offline(&o, wait, err, errlen);
	if (!p)
		return -1;
	*out = source_new(p, path, false);
	if (!*out) {
		pcap_close(p);
		free(o.iobuf);
		snprintf(err, errlen, "cannot read '%s': out of memory", path);
		return -1;
	}
	(*out)->iobuf = o.iobuf;
	(*out)->unpack = o.unpack;
	(*out)->stream = !o.regular;
	(*out)->fd = o.regular ? -1 : o.fd;
	(*out)->wake = wait ? wait->wake : NULL;
	if (o.regular && !o.unpack && chunk > 0)
		walk_read(*out, o.fd, chunk);
	return 0;
}

int cs_source_open_stream(struct cs_source **out, FILE *f, const char *name,
			  char *err, size_t errlen)
{
	char pe[PCAP_ERRBUF_SIZE] = "";

	*out = NULL;
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(
		f, PCAP_TSTAMP_PRECISION_MICRO, pe);
	if (!p) {
		/* libpcap leaves the stream to the caller when it fails */
		fclose(f);
		snprintf(err, errlen, "cannot read '%s': %s", name, pe);
		return -1;
	}
	*out = source_new(p, name, false);
	if (!*out) {
		pcap_close(p);	/* closes f */
		snprintf(err, errlen, "cannot read '%s': out of memory", name);
		return -1;
	}
	return 0;
}

/*
 * Explains pcap_activate's failures in terms of what to do about them.
 * libpcap's detail often is its status text again ("No such device
 * exists"), or holds it: then it is said once.
 */
static void describe_activate_error(pcap_t *p, const char *iface, int rc,
				    char *err, size_t errlen)
{
	const char *status = pcap_statustostr(rc);
	const char *detail = pcap_geterr(p);
	const char *hint = "";

	if (rc == PCAP_ERROR_PERM_DENIED)
		hint = " (run as root or give the binary CAP_NET_RAW)";
	else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
		hint = " (connscope -D lists the interfaces)";
	else if (rc == PCAP_ERROR_IFACE_NOT_UP)
		hint = " (the interface is down)";
	if (!detail || !*detail || strstr(detail, status))
		snprintf(err, errlen, "cannot capture on '%s': %s%s", iface,
			 detail && *detail ? detail : status, hint);
	else
		snprintf(err, errlen, "cannot capture on '%s': %s: %s%s", iface,
			 status, detail, hint);
}

int cs_source_open_live(struct cs_source **out, const struct cs_live_opts *o,
			char *err, size_t errlen)
{
	char pe[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	p = pcap_create(o->iface, pe);
	if (!p) {
		snprintf(err, errlen, "cannot capture on '%s': %s", o->iface, pe);
		return -1;
	}
	/* No pcap_set_immediate_mode: on Linux it turns TPACKET_V3's block
	 * batching off.  The read timeout bounds the latency instead. */
	if (pcap_set_snaplen(p, o->snaplen) != 0 ||
	    pcap_set_promisc(p, o->promisc) != 0 ||
	    pcap_set_timeout(p, o->timeout_ms) != 0 ||
	    pcap_set_buffer_size(p, o->buffer_mib * 1024 * 1024) != 0 ||
	    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO) != 0) {
		snprintf(err, errlen, "cannot configure '%s': %s", o->iface,
			 pcap_geterr(p));
		goto fail;
	}
	rc = pcap_activate(p);
	if (rc < 0) {
		describe_activate_error(p, o->iface, rc, err, errlen);
		goto fail;
	}
	if (rc > 0)	/* a warning: capture works, but say what is off */
		snprintf(err, errlen, "warning: '%s': %s: %s", o->iface,
			 pcap_statustostr(rc), pcap_geterr(p));
	/* Non-blocking, with our own poll(): with TPACKET_V3 libpcap's read
	 * timeout only runs once a packet has arrived, so a blocking read
	 * would never return on a quiet link, and timers could not tick. */
	if (pcap_setnonblock(p, 1, pe) != 0) {
		snprintf(err, errlen, "cannot configure '%s': %s", o->iface, pe);
		goto fail;
	}
	*out = source_new(p, o->iface, true);
	if (!*out) {
		snprintf(err, errlen, "cannot capture on '%s': out of memory",
			 o->iface);
		goto fail;
	}
	(*out)->fd = pcap_get_selectable_fd(p);
	(*out)->timeout_ms = o->timeout_ms;
	return 0;
fail:
	pcap_close(p);
	return -1;
}

/* ---- filters ------------------------------------------------------------------ */

/* A compiled program, for the link type and snap length it was made for
 * (libpcap compiles for both). */
struct cs_filter {
	int dlt;
	uint32_t snaplen;
	struct bpf_program prog;	/* the user's expression */
	/*
	 * What is installed: the user's expression, or any ICMP or ICMPv6
	 * error.  A filter on a port would otherwise drop the unreachable
	 * that explains why the connects to it failed.  The source keeps of
	 * those errors only those whose quoted segment the user's expression
	 * matches (on_packet).  No program (bf_insns NULL) when libpcap
	 * cannot compile that for the link type: the user's alone, then.
	 */
	struct bpf_program passes;
};

/*
 * ICMP errors (RFC 792: unreachable, source quench, redirect, time
 * exceeded, parameter problem; RFC 4443: types 1-4).  libpcap reads
 * icmp6[] only right after the fixed IPv6 header: an ICMPv6 error behind
 * extension headers is not passed, nor is one in a VLAN-tagged frame
 * (an expression of ours cannot say "vlan" without moving the offsets of
 * the user's).
 */
#define ICMP_ERRORS_BPF \
	"(icmp[icmptype] = 3 or icmp[icmptype] = 4 or icmp[icmptype] = 5" \
	" or icmp[icmptype] = 11 or icmp[icmptype] = 12)" \
	" or (icmp6[icmp6type] >= 1 and icmp6[icmp6type] <= 4)"

/* What the child sends back: a tag, then the instructions or libpcap's
 * reason. */
enum answer {
	COMPILED,		/* n, then n instructions */
	REFUSED,		/* the reason: for Ethernet too */
	NOT_FOR_LINKTYPE,	/* the reason: Ethernet would take it */
	OUT_OF_MEMORY,		/* the memory limit refused it */
};

/*
 * What the child compiles for.  A file is compiled for a handle with no
 * file (pcap_open_dead) of the same link type and snapshot length: the
 * child leaves the real one, its FILE and offset, alone.  A live capture
 * is compiled for its own handle: on Linux libpcap generates "vlan" tests
 * there from the kernel's tag (its codegen flags), which no dead handle
 * has; it has no FILE either.
 */
struct compile_job {
	pcap_t *live;		/* a live capture's handle; NULL for a file */
	int dlt;
	int snaplen;
	int precision;		/* PCAP_TSTAMP_PRECISION_* */
	const char *bpf;
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *b = buf;

	while (len) {
		ssize_t n = write(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Whether bpf compiles for Ethernet: a filter libpcap refuses for another
 * link type is then no typo but something libpcap cannot filter there. */
static bool compiles_for_ethernet(const char *bpf)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	struct bpf_program prog;
	bool ok = false;

	if (dead && pcap_compile(dead, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) == 0) {
		pcap_freecode(&prog);
		ok = true;
	}
	if (dead)
		pcap_close(dead);
	return ok;
}

/* Compiles bpf for p and writes the answer to fd; the exit status. */
static int compile_and_answer(pcap_t *p, const char *bpf, int fd)
{
	struct bpf_program prog;
	uint32_t tag = COMPILED;

	errno = 0;
	if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		char why[PCAP_ERRBUF_SIZE];
		/* libpcap says "malloc" when the memory limit refuses it */
		bool no_memory = errno == ENOMEM;
		snprintf(why, sizeof why, "%s", pcap_geterr(p));
		tag = no_memory ? OUT_OF_MEMORY : compiles_for_ethernet(bpf) ?
		      NOT_FOR_LINKTYPE : REFUSED;
		return write_all(fd, &tag, sizeof tag) || write_all(fd, why, strlen(why));
	}
	uint32_t n = prog.bf_len;
	int rc = write_all(fd, &tag, sizeof tag) || write_all(fd, &n, sizeof n) ||
		 write_all(fd, prog.bf_insns, (size_t)n * sizeof *prog.bf_insns);
	pcap_freecode(&prog);
	return rc;
}

/* In the child (child.h): libpcap's compiler and optimizer, bounded. */
static int compile_in_child(void *arg, int fd)
{
	const struct compile_job *job = arg;

	if (job->live)
		return compile_and_answer(job->live, job->bpf, fd);
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(job->dlt, job->snaplen,
							    (u_int)job->precision);
	if (!dead) {
		uint32_t tag = OUT_OF_MEMORY;	/* its only reason to fail */
		return write_all(fd, &tag, sizeof tag);
	}
	int rc = compile_and_answer(dead, job->bpf, fd);
	pcap_close(dead);
	return rc;
}

/* The child's program, from its answer (after the COMPILED tag). */
static int take_program(const char *buf, size_t len, struct bpf_program *prog)
{
	uint32_t n;

	if (len < sizeof n)
		return -1;
	memcpy(&n, buf, sizeof n);
	if ((len - sizeof n) / sizeof *prog->bf_insns != n || n == 0)
		return -1;
	prog->bf_len = n;
	prog->bf_insns = malloc((size_t)n * sizeof *prog->bf_insns);
	if (!prog->bf_insns)
		return -1;
	memcpy(prog->bf_insns, buf + sizeof n, (size_t)n * sizeof *prog->bf_insns);
	return 0;
}

/* A filter as messages quote it: a long one cut, so that libpcap's reason
 * after it still fits. */
static const char *quoted(const char *bpf, char *buf, size_t len)
{
	enum { SHOWN = 160 };

	if (strlen(bpf) <= SHOWN)
		return bpf;
	snprintf(buf, len, "%.*s ... (%zu characters)", SHOWN, bpf, strlen(bpf));
	return buf;
}

/* How a compilation that ended without an answer is told to people. */
static enum cs_filter_result compile_failed(enum cs_child_end end, const char *bpf,
					    const struct cs_child_limits *lim,
					    char *err, size_t errlen)
{
	char q[224];

	switch (end) {
	case CS_CHILD_STOPPED:
		snprintf(err, errlen, "compiling the filter was interrupted");
		return CS_FILTER_STOPPED;
	case CS_CHILD_OVER_LIMIT:
		snprintf(err, errlen, "filter '%s' is too complex: libpcap's "
			 "compiler needed more than %u s of CPU time or %zu MiB "
			 "(its optimizer grows much faster than the filter; write "
			 "a list of hosts or ports as a net or a portrange)",
			 quoted(bpf, q, sizeof q), lim->cpu_sec, lim->mem_mib);
		return CS_FILTER_TOO_COMPLEX;
	default:
		snprintf(err, errlen, "cannot compile filter '%s': %s",
			 quoted(bpf, q, sizeof q), end == CS_CHILD_ERROR ?
			 strerror(errno) : "the compiler failed");
		return CS_FILTER_FAILED;
	}
}

/*
 * libpcap cannot compile every expression for every link type: nothing at
 * all for NFLOG ("NFLOG link-layer type filtering not implemented"), no
 * "vlan" on PPP, FDDI or Linux cooked captures.  Such a filter is no
 * mistake in the expression, so the message says what to do instead.
 */
static enum cs_filter_result refused(const struct cs_source *s, const char *bpf,
				     uint32_t tag, const char *why, int why_len,
				     char *err, size_t errlen)
{
	const char *name = pcap_datalink_val_to_name(s->dlt);
	char num[16], q[224];

	if (tag != NOT_FOR_LINKTYPE) {
		snprintf(err, errlen, "invalid filter '%s': %.*s",
			 quoted(bpf, q, sizeof q), why_len, why);
		return CS_FILTER_INVALID;
	}
	if (!name) {
		snprintf(num, sizeof num, "DLT_%d", s->dlt);
		name = num;
	}
	snprintf(err, errlen, "cannot apply filter '%s' to '%s': libpcap cannot "
		 "compile it for link type %s (%.*s); read it without -f, or with "
		 "an expression libpcap supports there", quoted(bpf, q, sizeof q),
		 s->name, name, why_len, why);
	return CS_FILTER_NOT_FOR_LINKTYPE;
}

/* Compiles bpf for s in a bounded child: the program, or why not. */
static enum cs_filter_result compile(const struct cs_source *s, const char *bpf,
				     const struct cs_filter_bounds *b,
				     struct bpf_program *prog, char *err, size_t errlen)
{
	struct compile_job job = {
		.live = s->live ? s->p : NULL,
		.dlt = pcap_datalink(s->p),
		.snaplen = pcap_snapshot(s->p),
		.precision = pcap_get_tstamp_precision(s->p),
		.bpf = bpf,
	};
	enum cs_filter_result rc = CS_FILTER_OK;
	char *out;
	size_t len;
	uint32_t tag;

	enum cs_child_end end = cs_child_run(compile_in_child, &job, &b->limits,
					     b->wake, &out, &len);
	if (end != CS_CHILD_DONE && end != CS_CHILD_FAILED)
		return compile_failed(end, bpf, &b->limits, err, errlen);
	if (len < sizeof tag)
		tag = UINT32_MAX;
	else
		memcpy(&tag, out, sizeof tag);
	const char *rest = out + sizeof tag;
	size_t rest_len = len < sizeof tag ? 0 : len - sizeof tag;
	if (tag == OUT_OF_MEMORY)
		rc = compile_failed(CS_CHILD_OVER_LIMIT, bpf, &b->limits, err, errlen);
	else if (tag == REFUSED || tag == NOT_FOR_LINKTYPE)
		rc = refused(s, bpf, tag, rest, (int)rest_len, err, errlen);
	else if (tag != COMPILED || take_program(rest, rest_len, prog) != 0)
		rc = compile_failed(CS_CHILD_FAILED, bpf, &b->limits, err, errlen);
	free(out);
	return rc;
}

void cs_filter_bounds_default(struct cs_filter_bounds *b)
{
	b->limits.cpu_sec = CS_FILTER_CPU_SEC_DEFAULT;
	b->limits.mem_mib = CS_FILTER_MEM_MIB_DEFAULT;
	b->wake = NULL;
}

/*
 * The program to install: bpf or any ICMP error.  It fails only when
 * stopped; one libpcap cannot compile (or that is over the bounds, while
 * bpf alone was not) leaves *passes empty, and bpf alone is installed.
 */
static enum cs_filter_result compile_passes(const struct cs_source *s,
					    const char *bpf,
					    const struct cs_filter_bounds *b,
					    struct bpf_program *passes)
{
	size_t len = strlen(bpf) + sizeof "() or " ICMP_ERRORS_BPF;
	char *both = malloc(len);
	char why[256];

	memset(passes, 0, sizeof *passes);
	if (!both)
		return CS_FILTER_OK;
	snprintf(both, len, "(%s) or " ICMP_ERRORS_BPF, bpf);
	enum cs_filter_result rc = compile(s, both, b, passes, why, sizeof why);
	free(both);
	if (rc == CS_FILTER_STOPPED)
		return rc;
	if (rc != CS_FILTER_OK)
		memset(passes, 0, sizeof *passes);
	return CS_FILTER_OK;
}

enum cs_filter_result cs_filter_compile(struct cs_filter **out,
					const struct cs_source *s, const char *bpf,
					const struct cs_filter_bounds *b,
					char *err, size_t errlen)
{
	struct cs_filter *f = calloc(1, sizeof *f);

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "cannot compile filter: out of memory");
		return CS_FILTER_FAILED;
	}
	f->dlt = s->dlt;
	f->snaplen = s->snaplen;
	enum cs_filter_result rc = compile(s, bpf, b, &f->prog, err, errlen);
	if (rc == CS_FILTER_OK)
		rc = compile_passes(s, bpf, b, &f->passes);
	if (rc != CS_FILTER_OK) {
		cs_filter_free(f);
		return rc;
	}
	*out = f;
	return CS_FILTER_OK;
}

bool cs_filter_keeps_icmp(const struct cs_filter *f)
{
	return f && f->passes.bf_insns;
}

bool cs_filter_fits(const struct cs_filter *f, const struct cs_source *s)
{
	return f && f->dlt == s->dlt && f->snaplen == s->snaplen;
}

void cs_filter_free(struct cs_filter *f)
{
	if (!f)
		return;
	free(f->prog.bf_insns);
	free(f->passes.bf_insns);
	free(f);
}

/* Keeps f's own expression in s, to match frames and quotes against. */
static int keep_user_program(struct cs_source *s, const struct cs_filter *f)
{
	size_t bytes = (size_t)f->prog.bf_len * sizeof *f->prog.bf_insns;
	struct bpf_insn *insns = malloc(bytes);
	uint8_t *frame = malloc(s->snaplen ? s->snaplen : 1);

	if (!insns || !frame) {
		free(insns);
		free(frame);
		return -1;
	}
	memcpy(insns, f->prog.bf_insns, bytes);
	free(s->user.bf_insns);
	free(s->quote_frame);
	s->user.bf_len = f->prog.bf_len;
	s->user.bf_insns = insns;
	s->quote_frame = frame;
	s->match_quotes = true;
	return 0;
}

/* The walker's copy of what pcap_setfilter installed (and validated). */
static int keep_installed(struct cs_source *s, const struct bpf_program *prog)
{
	size_t bytes = (size_t)prog->bf_len * sizeof *prog->bf_insns;
	struct bpf_insn *insns = malloc(bytes ? bytes : 1);

	if (!insns)
		return -1;
	memcpy(insns, prog->bf_insns, bytes);
	free(s->installed.bf_insns);
	s->installed.bf_len = prog->bf_len;
	s->installed.bf_insns = insns;
	return 0;
}

int cs_source_apply_filter(struct cs_source *s, const struct cs_filter *f,
			   const char *bpf, char *err, size_t errlen)
{
	char q[224];

	const struct bpf_program *prog = cs_filter_keeps_icmp(f) ? &f->passes
								 : &f->prog;
	s->match_quotes = false;
	if (cs_filter_keeps_icmp(f) && keep_user_program(s, f) != 0) {
		snprintf(err, errlen, "cannot install filter '%s' on '%s': out "
			 "of memory", quoted(bpf, q, sizeof q), s->name);
		return -1;
	}
	/* pcap_setfilter copies the program (and gives it to the kernel). */
	if (pcap_setfilter(s->p, (struct bpf_program *)prog) != 0) {
		snprintf(err, errlen, "cannot install filter '%s' on '%s': %s",
			 quoted(bpf, q, sizeof q), s->name, pcap_geterr(s->p));
		return -1;
	}
	if (s->walk && keep_installed(s, prog) != 0) {
		snprintf(err, errlen, "cannot install filter '%s' on '%s': out "
			 "of memory", quoted(bpf, q, sizeof q), s->name);
		return -1;
	}
	return 0;
}

int cs_source_set_filter(struct cs_source *s, const char *bpf,
			 char *err, size_t errlen)
{
	struct cs_filter_bounds b;
	struct cs_filter *f;

	cs_filter_bounds_default(&b);
	if (cs_filter_compile(&f, s, bpf, &b, err, errlen) != CS_FILTER_OK)
		return -1;
	int rc = cs_source_apply_filter(s, f, bpf, err, errlen);
	cs_filter_free(f);
	return rc;
}

void cs_source_close(struct cs_source *s)
{
	if (!s)
		return;
	pcap_close(s->p);	/* closes the file before its buffer goes */
	free(s->iobuf);
	if (s->walk) {
		cs_pcapfile_fini(s->walk);
		free(s->walk);
	}
	free(s->buf);
	free(s->installed.bf_insns);
	free(s->user.bf_insns);
	free(s->quote_frame);
	free(s->name);
	free(s);
}

int cs_source_datalink(const struct cs_source *s) { return s->dlt; }
uint32_t cs_source_snaplen(const struct cs_source *s) { return s->snaplen; }
const char *cs_source_name(const struct cs_source *s) { return s->name; }
bool cs_source_is_live(const struct cs_source *s) { return s->live; }
bool cs_source_is_stream(const struct cs_source *s) { return s->stream; }

bool cs_source_stalled(struct cs_source *s, int wait_ms)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };

	/* 0: nothing came in time; a signal (-1) means look again later */
	return s->stream && poll(&pfd, 1, wait_ms) == 0;
}

/* ---- reading ----------------------------------------------------------- */

/*
 * A record's time in packet time; false if it has none (pkttime.h).
 *
 * A pcap file's seconds are an unsigned 32-bit count (1970 to 2106), but
 * libpcap 1.10 reads them into a signed 32-bit field and, in a file of the
 * host's byte order, sign-extends it into tv_sec: from 2038-01-19 03:14:08
 * on, tv_sec is negative (a byte-swapped file's come out unsigned).  The
 * low 32 bits are the file's either way, so they are taken as unsigned.  A
 * pcapng file's 64-bit time is divided by if_tsresol and if_tsoffset added
 * in 64 bits, then cast to time_t: a negative tv_sec there is before 1970
 * (a negative offset) or past 2^63 s, and no packet time either way.  The
 * fraction is the file's 32-bit field as libpcap gives it (signed or not
 * as the seconds; a nanosecond pcap file's divided by 1000): a million µs
 * or more, or negative, is no fraction of a second.
 */
static bool record_time(const struct cs_source *s, const struct timeval *tv,
			uint64_t *ts_us)
{
	int64_t sec = (int64_t)tv->tv_sec;

	if (s->u32_seconds)
		sec = (int64_t)(uint32_t)sec;
	return cs_time_from_unix(sec, (int64_t)tv->tv_usec, ts_us);
}

/*
 * An ICMP error the installed program passed (not inside a tunnel: the
 * user's expression matches outer headers) is kept when the user's
 * expression matches the segment it quotes: the frame with the quoted
 * datagram in place of the one that carried it, as the segment looked
 * on its way out.  A quote holds the IP header and at least 8 bytes of
 * TCP (ports and sequence number); an expression that reads further
 * than the quote does not match, as it would not on a short capture.
 */
static bool quote_matches(struct cs_source *s, const struct pcap_pkthdr *h,
			  const u_char *bytes)
{
	struct cs_frame f = { .caplen = h->caplen, .wirelen = h->len,
			      .dlt = s->dlt, .bytes = bytes };
	struct cs_pkt pkt;

	if (cs_decode(&f, &pkt) != CS_SKIP_NONE || pkt.kind != CS_PKT_ICMP_ERR ||
	    pkt.tunnel.depth != 0 || !pkt.outer_ip || !pkt.icmp.quote)
		return false;
	size_t link = (size_t)(pkt.outer_ip - bytes);
	size_t n = link + pkt.icmp.quote_caplen;
	if (n > s->snaplen || n > h->caplen)
		return false;
	memcpy(s->quote_frame, bytes, link);
	memcpy(s->quote_frame + link, pkt.icmp.quote, pkt.icmp.quote_caplen);
	struct pcap_pkthdr q = { .ts = h->ts, .caplen = (bpf_u_int32)n,
				 .len = (bpf_u_int32)n };
	return pcap_offline_filter(&s->user, &q, s->quote_frame) != 0;
}

/* Whether a frame the installed program passed is one the user asked for. */
static bool wanted(struct cs_source *s, const struct pcap_pkthdr *h,
		   const u_char *bytes)
{
	if (!s->match_quotes || pcap_offline_filter(&s->user, h, bytes))
		return true;
	return quote_matches(s, h, bytes);
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h,
		      const u_char *bytes)
{
	struct cs_source *s = (struct cs_source *)user;
	uint64_t ts;
	bool valid = record_time(s, &h->ts, &ts);

	if (s->cutoff_us && ts > s->cutoff_us)
		return;		/* arrived after the capture was stopped */
	if (!wanted(s, h, bytes))
		return;		/* filtered out: as if the filter had */
	struct cs_frame f = {
		.ts_us = ts,
		.caplen = h->caplen,
		.wirelen = h->len,
		.dlt = s->dlt,
		.bytes = bytes,
		.ts_invalid = !valid,
	};
	s->records++;
	s->delivered++;
	s->fn(s->ctx, &f);
}

/* Waits up to the read timeout for the ring to have packets; false when
 * nothing came (a quiet link, or a signal interrupted the wait). */
static bool wait_readable(struct cs_source *s, int timeout_ms)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };

	if (s->fd < 0)
		return true;	/* no descriptor: libpcap's own timeout rules */
	return poll(&pfd, 1, timeout_ms) > 0;
}

static enum cs_read dispatch(struct cs_source *s, int max, char *err,
			     size_t errlen)
{
	int rc = pcap_dispatch(s->p, max, on_packet, (u_char *)s);

	if (rc == PCAP_ERROR_BREAK)
		return s->broken ? CS_READ_BROKEN : CS_READ_MORE;
	/* A stopped stream's read fails on purpose (stream_read): a stop,
	 * not damage. */
	if (rc == PCAP_ERROR && (s->broken || cs_wake_stopped(s->wake)))
		return CS_READ_BROKEN;
	if (rc == PCAP_ERROR) {
		if (s->live)
			snprintf(err, errlen, "capture on '%s' failed: %s",
				 s->name, pcap_geterr(s->p));
		else
			snprintf(err, errlen, "'%s' is damaged after %" PRIu64
				 " packets: %s", s->name, s->records,
				 cs_unpack_error(s->unpack) ? cs_unpack_error(s->unpack)
							    : pcap_geterr(s->p));
		return CS_READ_ERROR;
	}
	if (rc == 0 && !s->live)
		return CS_READ_EOF;
	return CS_READ_MORE;
}

/*
 * Moves the bytes the walker left unread (the record it stopped inside)
 * to the buffer's front and reads the file after them; a record longer
 * than the buffer doubles it, up to the longest the walker takes.  Every
 * record handed over before is gone: on_packet's callback has used (the
 * readahead thread decoded) each frame before the walker is called again,
 * so no one holds a pointer into the buffer.  0, or -1 with why.
 */
static int refill(struct cs_source *s, char *why, size_t whylen)
{
	struct cs_reader *rest = &s->walk->rest;
	size_t left = rest->left;

	if (left == s->buf_cap) {
		size_t longest = cs_pcapfile_longest(s->walk);
		size_t cap = s->buf_cap * 2 < longest ? s->buf_cap * 2 : longest;
		uint8_t *bigger = cap > s->buf_cap ? malloc(cap) : NULL;
		if (!bigger) {
			snprintf(why, whylen, "no memory for a record of more than "
				 "%zu bytes", left);
			return -1;
		}
		memcpy(bigger, rest->p, left);
		free(s->buf);
		s->buf = bigger;
		s->buf_cap = cap;
	} else {
		memmove(s->buf, rest->p, left);
	}
	ssize_t n = read_file_at(s, s->buf + left, s->buf_cap - left);
	if (n < 0) {
		snprintf(why, whylen, "error reading dump file: %s", strerror(errno));
		return -1;
	}
	/* the end only where a read finds nothing, as fread's: a file
	 * written meanwhile is read on */
	cs_pcapfile_refill(s->walk, s->buf, left + (size_t)n, n == 0);
	return 0;
}

/*
 * What pcap_dispatch does on a file (libpcap's pcap_offline_read), over
 * the walker: at most max records that pass the installed filter, a stop
 * seen between records, damage reported after the records before it.
 */
static enum cs_read walk(struct cs_source *s, int max, char *err, size_t errlen)
{
	int cnt = max <= 0 ? INT_MAX : max, n = 0;
	struct cs_pcapfile_rec rec;
	char why[PCAP_ERRBUF_SIZE];

	for (;;) {
		if (s->broken)
			return n ? CS_READ_MORE : CS_READ_BROKEN;
		enum cs_pcapfile_step st = cs_pcapfile_next(s->walk, &rec, why,
							    sizeof why);
		if (st == CS_PCAPFILE_MORE && refill(s, why, sizeof why) == 0)
			continue;
		if (st == CS_PCAPFILE_END)
			return n ? CS_READ_MORE : CS_READ_EOF;
		if (st != CS_PCAPFILE_RECORD) {	/* damaged, or unreadable */
			snprintf(err, errlen, "'%s' is damaged after %" PRIu64
				 " packets: %s", s->name, s->records, why);
			return CS_READ_ERROR;
		}
		struct pcap_pkthdr h = {
			.ts = { .tv_sec = (time_t)rec.sec,
				.tv_usec = (suseconds_t)rec.usec },
			.caplen = rec.caplen, .len = rec.len,
		};
		if (s->installed.bf_insns &&
		    !pcap_offline_filter(&s->installed, &h, rec.bytes))
			continue;
		on_packet((u_char *)s, &h, rec.bytes);
		if (++n >= cnt)
			return CS_READ_MORE;
	}
}

enum cs_read cs_source_read(struct cs_source *s, int max, cs_frame_fn fn,
			    void *ctx, uint64_t *delivered,
			    char *err, size_t errlen)
{
	s->fn = fn;
	s->ctx = ctx;
	s->delivered = 0;
	*delivered = 0;
	if (s->broken || cs_wake_stopped(s->wake))
		return CS_READ_BROKEN;
	if (s->live && !wait_readable(s, s->timeout_ms))
		return s->broken ? CS_READ_BROKEN : CS_READ_MORE;

	enum cs_read rc;
	if (s->walk) {
		rc = walk(s, max, err, errlen);
		atomic_store_explicit(&s->walked_bytes, cs_pcapfile_offset(s->walk),
				      memory_order_relaxed);
	} else {
		rc = dispatch(s, max, err, errlen);
	}
	*delivered = s->delivered;
	return rc;
}

/*
 * The kernel hands the ring over in blocks, retiring a partly filled one
 * only after the read timeout: stopping at once would lose the packets of
 * the last block.  Waits for it (two timeouts at most per block) and reads
 * what arrived up to cutoff_us.
 */
uint64_t cs_source_drain(struct cs_source *s, uint64_t cutoff_us, int max,
			 cs_frame_fn fn, void *ctx)
{
	char err[PCAP_ERRBUF_SIZE];
	uint64_t total = 0;

	if (!s->live || s->fd < 0 || max == 0)
		return 0;
	s->fn = fn;
	s->ctx = ctx;
	s->cutoff_us = cutoff_us;
	s->broken = 0;
	for (int round = 0; round < 8 && (max < 0 || total < (uint64_t)max); round++) {
		if (!wait_readable(s, 2 * s->timeout_ms))
			break;
		s->delivered = 0;
		int left = max < 0 ? -1 : (int)((uint64_t)max - total);
		enum cs_read rc = dispatch(s, left, err, sizeof err);
		total += s->delivered;
		if (rc == CS_READ_ERROR)
			break;
	}
	return total;
}

void cs_source_breakloop(struct cs_source *s)
{
	s->broken = 1;
	pcap_breakloop(s->p);
}

int cs_source_progress(struct cs_source *s, uint64_t *done_bytes,
		       uint64_t *total_bytes)
{
	struct stat st;
	FILE *f;

	if (s->walk) {
		*done_bytes = atomic_load_explicit(&s->walked_bytes,
						   memory_order_relaxed);
		/* the file as it is now */
		if (s->walk_fd < 0)
			*total_bytes = s->mem_len;
		else if (fstat(s->walk_fd, &st) == 0)
			*total_bytes = (uint64_t)st.st_size;
		else
			return -1;
		return 0;
	}
	if (s->live || !(f = pcap_file(s->p)) || fstat(fileno(f), &st) != 0 ||
	    !S_ISREG(st.st_mode))
		return -1;
	long pos = ftell(f);
	if (pos < 0)
		return -1;
	*done_bytes = (uint64_t)pos;
	*total_bytes = (uint64_t)st.st_size;
	return 0;
}

int cs_source_drops(struct cs_source *s, uint64_t *drops)
{
	struct pcap_stat st;

	if (!s->live || pcap_stats(s->p, &st) != 0)
		return -1;
	*drops = (uint64_t)st.ps_drop + st.ps_ifdrop;
	return 0;
}

int cs_source_list_interfaces(FILE *out, char *err, size_t errlen)
{
	char pe[PCAP_ERRBUF_SIZE] = "";
	pcap_if_t *all = NULL;
	int n = 0;

	if (pcap_findalldevs(&all, pe) != 0) {
		snprintf(err, errlen, "cannot list interfaces: %s", pe);
		return -1;
	}
	for (pcap_if_t *d = all; d; d = d->next) {
		fprintf(out, "%d.%s", ++n, d->name);
		if (d->description)
			fprintf(out, " (%s)", d->description);
		fprintf(out, " [%s%s%s]\n",
			d->flags & PCAP_IF_UP ? "Up" : "Down",
			d->flags & PCAP_IF_RUNNING ? ", Running" : "",
			d->flags & PCAP_IF_LOOPBACK ? ", Loopback" : "");
	}
	pcap_freealldevs(all);
	if (n == 0) {
		snprintf(err, errlen, "no capture interfaces found (root or "
			 "CAP_NET_RAW may be needed to see them)");
		return -1;
	}
	return 0;
}
