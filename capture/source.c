/*
 * source.c — libpcap behind a small interface: files, interfaces, filters.
 */
#include "capture/source.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/pkttime.h"
#include "capture/reader.h"

struct cs_source {
	pcap_t *p;
	char *name;
	bool live;
	int dlt;
	uint32_t snaplen;
	bool u32_seconds;	/* a pcap file: seconds are unsigned 32-bit */
	int fd;			/* live: selectable descriptor, -1 if none */
	int timeout_ms;		/* live: longest wait in one read */
	char *iobuf;		/* file: stdio buffer, freed after pcap_close */
	uint64_t cutoff_us;	/* while draining: later frames are not read */
	volatile sig_atomic_t broken;

	/* State of the cs_source_read in progress, for the pcap callback. */
	cs_frame_fn fn;
	void *ctx;
	uint64_t delivered;
	uint64_t records;	/* records delivered so far, across reads */
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

/*
 * libpcap's messages name the symptom ("unknown file format"); people want
 * to know what the file is: too short, something else, or a capture whose
 * header is damaged.  A regular file's first bytes are read again from
 * where the reading began, on the stream pcap failed on: opening the input
 * a second time would wait forever on a FIFO whose writer has gone, and a
 * pipe's bytes are gone, so for those pcap's message is what there is.
 */
static void describe_open_failure(FILE *f, const struct stat *st, long start,
				  const char *label, const char *pcap_msg,
				  char *err, size_t errlen)
{
	unsigned char m[12];
	size_t got = 0;

	if (!S_ISREG(st->st_mode) || start < 0 || fseek(f, start, SEEK_SET) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", label, pcap_msg);
		return;
	}
	got = fread(m, 1, sizeof m, f);
	struct cs_reader head = cs_rd_make(m, got);
	if (got < 4)
		snprintf(err, errlen, "cannot read %s: only %zu bytes, too short "
			 "for a capture file header", label, got);
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

/*
 * Opens the input as a stream ("-": standard input) and makes sure that
 * it is one libpcap can be given: not a directory (which opens, and then
 * fails every read), and not empty (said as such, rather than as a header
 * too short).  The first byte is read and pushed back, which works on a
 * pipe too.  NULL with a message in err.
 */
static FILE *open_input(const char *path, const char *label, struct stat *st,
			char *err, size_t errlen)
{
	bool dash = !strcmp(path, "-");
	FILE *f = dash ? stdin : fopen(path, "rb");
	const char *problem = NULL;
	int c;

	if (!f) {
		snprintf(err, errlen, "cannot read %s: %s", label, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), st) != 0)
		problem = strerror(errno);
	else if (S_ISDIR(st->st_mode))
		problem = "is a directory";
	else if ((c = getc(f)) == EOF)
		problem = ferror(f) ? strerror(errno) : nothing_arrived(st);
	else
		ungetc(c, f);
	if (!problem)
		return f;
	snprintf(err, errlen, "cannot read %s: %s", label, problem);
	if (!dash)
		fclose(f);
	return NULL;
}

/*
 * libpcap reads a file through stdio, a record header and a record at a
 * time; with stdio's default 4 KiB buffer that is a read() every 30 or so
 * packets, 40,000 system calls for a million.  A regular file gets a
 * buffer of IOBUF_SIZE instead (a pipe keeps the default, so a capture
 * arriving through it is not held back).  Returns the pcap_t or NULL with
 * err filled; *iobuf is the buffer to free after pcap_close.
 */
#define IOBUF_SIZE (1u << 20)

static pcap_t *open_offline(const char *path, char **iobuf,
			    char *err, size_t errlen)
{
	char pe[PCAP_ERRBUF_SIZE] = "";
	char label[PATH_MAX + 2];
	struct stat st;

	*iobuf = NULL;
	input_label(path, label, sizeof label);
	FILE *f = open_input(path, label, &st, err, errlen);
	if (!f)
		return NULL;
	long start = S_ISREG(st.st_mode) ? ftell(f) : -1;
	if (S_ISREG(st.st_mode) && f != stdin &&
	    (*iobuf = malloc(IOBUF_SIZE)) != NULL)
		setvbuf(f, *iobuf, _IOFBF, IOBUF_SIZE);
	/* Microsecond precision: nanosecond files are scaled by libpcap, and
	 * every timer in connscope counts microseconds of packet time. */
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(
		f, PCAP_TSTAMP_PRECISION_MICRO, pe);
	if (!p) {
		describe_open_failure(f, &st, start, label, pe, err, errlen);
		if (f != stdin)
			fclose(f);	/* libpcap leaves the stream to the caller */
		free(*iobuf);
		*iobuf = NULL;
	}
	return p;
}

int cs_source_open_file(struct cs_source **out, const char *path,
			char *err, size_t errlen)
{
	char *iobuf;

	*out = NULL;
	pcap_t *p = open_offline(path, &iobuf, err, errlen);
	if (!p)
		return -1;
	*out = source_new(p, path, false);
	if (!*out) {
		pcap_close(p);
		free(iobuf);
		snprintf(err, errlen, "cannot read '%s': out of memory", path);
		return -1;
	}
	(*out)->iobuf = iobuf;
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

/*
 * libpcap cannot compile every expression for every link type: nothing at
 * all for NFLOG ("NFLOG link-layer type filtering not implemented"), no
 * "vlan" on PPP, FDDI or Linux cooked captures.  Such a filter is no
 * mistake in the expression, so the message says what to do instead.
 */
static void filter_error(const struct cs_source *s, const char *bpf,
			 const char *why, char *err, size_t errlen)
{
	const char *name = pcap_datalink_val_to_name(s->dlt);
	char num[16];

	if (!compiles_for_ethernet(bpf)) {
		snprintf(err, errlen, "invalid filter '%s': %s", bpf, why);
		return;
	}
	if (!name) {
		snprintf(num, sizeof num, "DLT_%d", s->dlt);
		name = num;
	}
	snprintf(err, errlen, "cannot apply filter '%s' to '%s': libpcap cannot "
		 "compile it for link type %s (%s); read it without -f, or with "
		 "an expression libpcap supports there", bpf, s->name, name, why);
}

int cs_source_set_filter(struct cs_source *s, const char *bpf,
			 char *err, size_t errlen)
{
	struct bpf_program prog;

	if (pcap_compile(s->p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		filter_error(s, bpf, pcap_geterr(s->p), err, errlen);
		return -1;
	}
	int rc = pcap_setfilter(s->p, &prog);
	pcap_freecode(&prog);
	if (rc != 0) {
		snprintf(err, errlen, "cannot install filter '%s' on '%s': %s",
			 bpf, s->name, pcap_geterr(s->p));
		return -1;
	}
	return 0;
}

void cs_source_close(struct cs_source *s)
{
	if (!s)
		return;
	pcap_close(s->p);	/* closes the file before its buffer goes */
	free(s->iobuf);
	free(s->name);
	free(s);
}

int cs_source_datalink(const struct cs_source *s) { return s->dlt; }
uint32_t cs_source_snaplen(const struct cs_source *s) { return s->snaplen; }
const char *cs_source_name(const struct cs_source *s) { return s->name; }
bool cs_source_is_live(const struct cs_source *s) { return s->live; }

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

static void on_packet(u_char *user, const struct pcap_pkthdr *h,
		      const u_char *bytes)
{
	struct cs_source *s = (struct cs_source *)user;
	uint64_t ts;
	bool valid = record_time(s, &h->ts, &ts);

	if (s->cutoff_us && ts > s->cutoff_us)
		return;		/* arrived after the capture was stopped */
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
	if (rc == PCAP_ERROR) {
		if (s->live)
			snprintf(err, errlen, "capture on '%s' failed: %s",
				 s->name, pcap_geterr(s->p));
		else
			snprintf(err, errlen, "'%s' is damaged after %" PRIu64
				 " packets: %s", s->name, s->records,
				 pcap_geterr(s->p));
		return CS_READ_ERROR;
	}
	if (rc == 0 && !s->live)
		return CS_READ_EOF;
	return CS_READ_MORE;
}

enum cs_read cs_source_read(struct cs_source *s, int max, cs_frame_fn fn,
			    void *ctx, uint64_t *delivered,
			    char *err, size_t errlen)
{
	s->fn = fn;
	s->ctx = ctx;
	s->delivered = 0;
	*delivered = 0;
	if (s->broken)
		return CS_READ_BROKEN;
	if (s->live && !wait_readable(s, s->timeout_ms))
		return s->broken ? CS_READ_BROKEN : CS_READ_MORE;

	enum cs_read rc = dispatch(s, max, err, errlen);
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
