/*
 * blast.c — replay the frames of a pcap onto an interface as fast as a
 * given rate, for tests/bench/live.sh.
 *
 *   blast [-n COUNT] [-r PPS] [-b BATCH] [-j THREADS] [-t SECONDS] [-Q]
 *         IFACE FILE
 *
 * tcpreplay sends one frame per system call and topped out near 400k
 * frames/s on the 2-core bench machine, short of the 500k the live capture
 * must be shown to keep up with.  blast reads the first COUNT frames
 * (default 1,000,000) into memory before the clock starts, then hands them
 * to an AF_PACKET socket bound to IFACE in sendmmsg() batches of BATCH
 * (default 64), paced per batch against CLOCK_MONOTONIC to PPS frames a
 * second (0, the default: as fast as it can).  It stops by itself: after
 * the last frame, after SECONDS (default 60), or on SIGINT/SIGTERM.
 *
 * On a veth the receiving side's softirq (and the copy into a capturing
 * socket's ring) runs on the sending CPU, inside the send call: one sender
 * thread is then bounded by one CPU doing both halves.  -j THREADS deals
 * the batches round-robin to that many threads, each with its own socket
 * (batch b goes to thread b mod THREADS, due at b * BATCH / PPS), so the
 * order on the wire stays that of the file to within a few batches.
 *
 * By default the socket skips the interface's queueing discipline
 * (PACKET_QDISC_BYPASS): on a veth there is none worth passing through,
 * and a frame the receiving side cannot take is then reported to the
 * sender as ENOBUFS instead of being dropped silently.  -Q keeps the qdisc.
 *
 * Exact about what the kernel took: "sent" counts only frames sendmmsg()
 * accepted.  A frame refused with ENOBUFS or EAGAIN is counted and offered
 * again (the pacing then catches up); a frame refused for itself (too long
 * for the MTU, say) is counted as rejected and not offered again.  When
 * sendmmsg() accepts only part of a batch it does not say why the rest was
 * refused; the rest is offered again and the short batch is counted.
 *
 * On stdout, one line of key=value fields when it stops:
 *
 *   loaded=N sent=N rejected=N unsent=N bytes=N seconds=S pps=R
 *   retries_enobufs=N retries_eagain=N short_batches=N threads=N
 *   stop=done|time|signal|error
 *
 * unsent: frames loaded but never accepted (the time limit or a signal came
 * first, or rejected).  Exit status 0 when every loaded frame was sent, 1
 * when some were not, 2 on a usage, file or socket error.
 *
 * The pcap is read with bounds checks on every field: a file that is not a
 * classic Ethernet pcap is refused with a message, a record longer than
 * MAX_FRAME is refused as damage, and a file cut inside a record keeps the
 * frames before the cut (with a warning).
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME 262144u	/* libpcap's largest snapshot length */
#define MAX_BATCH 1024
#define MAX_THREADS 16
#define LINKTYPE_ETHERNET 1u

struct frames {
	uint8_t *data;		/* all frames back to back */
	size_t data_len, data_cap;
	struct iovec *iov;	/* one per frame, pointing into data */
	size_t cnt;
	size_t skipped_short;	/* shorter than an Ethernet header */
	bool cut;		/* the file ended inside a record */
};

struct opts {
	const char *iface, *file;
	unsigned long count;
	unsigned long pps;	/* 0: as fast as possible */
	unsigned batch;
	unsigned threads;
	unsigned long seconds;
	bool qdisc_bypass;
};

/* Why a run ended, worst last: threads' reasons combine by the largest. */
enum stop { STOP_DONE, STOP_TIME, STOP_SIGNAL, STOP_ERROR, STOP_MAX };
static const char *const stop_names[STOP_MAX] = { "done", "time", "signal", "error" };

struct tally {
	uint64_t sent, rejected, bytes;
	uint64_t retries_enobufs, retries_eagain, short_batches;
	enum stop stop;
};

/* Set by a signal or by a thread that failed; every thread stops on it. */
static atomic_int stop_all = STOP_DONE;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_all, STOP_SIGNAL);
}

/* ---- reading the pcap ----------------------------------------------------- */

struct pcap_order {
	bool big_endian;	/* the writer's byte order, told by the magic */
};

static uint32_t get32(const uint8_t *p, const struct pcap_order *o)
{
	if (o->big_endian)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

/* The 24-byte file header: the magic tells the byte order (micro- or
 * nanosecond timestamps alike: blast does not look at them). */
static int read_file_header(FILE *fp, const char *name, struct pcap_order *o)
{
	uint8_t h[24];
	struct pcap_order le = { false };

	if (fread(h, 1, sizeof h, fp) != sizeof h) {
		fprintf(stderr, "blast: '%s' is too short for a pcap header\n", name);
		return -1;
	}
	uint32_t magic = get32(h, &le);
	if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) {
		o->big_endian = false;
	} else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) {
		o->big_endian = true;
	} else if (magic == 0x0a0d0d0au) {
		fprintf(stderr, "blast: '%s' is pcapng; convert it first "
			"(tcpdump -r IN -w OUT.pcap)\n", name);
		return -1;
	} else {
		fprintf(stderr, "blast: '%s' is not a pcap file (bad magic 0x%08x)\n",
			name, magic);
		return -1;
	}
	uint32_t linktype = get32(h + 20, o) & 0x0fffffffu; /* upper bits: FCS info */
	if (linktype != LINKTYPE_ETHERNET) {
		fprintf(stderr, "blast: '%s' has link type %u; only Ethernet (1) "
			"frames can be sent on a packet socket as they are\n",
			name, linktype);
		return -1;
	}
	return 0;
}

static int grow(struct frames *f, size_t need)
{
	if (f->data && f->data_cap - f->data_len >= need)
		return 0;	/* (no buffer yet: even a 0-byte read needs one) */
	size_t cap = f->data_cap ? f->data_cap : (size_t)1 << 20;
	while (cap - f->data_len < need) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	uint8_t *p = realloc(f->data, cap);
	if (!p)
		return -1;
	f->data = p;
	f->data_cap = cap;
	return 0;
}

/* Reads up to max frames.  The iovecs are filled in afterwards: data moves
 * while it grows, so only offsets are known during the read. */
static int load_frames(const char *name, unsigned long max, struct frames *f)
{
	struct pcap_order o;
	size_t *offset = NULL;
	int rc = -1;
	FILE *fp = fopen(name, "rb");

	if (!fp) {
		fprintf(stderr, "blast: cannot open '%s': %s\n", name, strerror(errno));
		return -1;
	}
	if (read_file_header(fp, name, &o) != 0)
		goto out;
	offset = malloc(max * sizeof *offset);
	f->iov = malloc(max * sizeof *f->iov);
	if (!offset || !f->iov)
		goto oom;
	while (f->cnt < max) {
		uint8_t rec[16];
		size_t got = fread(rec, 1, sizeof rec, fp);
		if (got == 0)
			break;
		if (got != sizeof rec) {
			f->cut = true;
			break;
		}
		uint32_t caplen = get32(rec + 8, &o);
		if (caplen > MAX_FRAME) {
			fprintf(stderr, "blast: '%s' is damaged after %zu frames: a record "
				"of %u bytes (at most %u)\n", name, f->cnt + f->skipped_short,
				caplen, MAX_FRAME);
			goto out;
		}
		if (grow(f, caplen) != 0)
			goto oom;
		if (fread(f->data + f->data_len, 1, caplen, fp) != caplen) {
			f->cut = true;
			break;
		}
		if (caplen < ETHER_HDR_LEN) {	/* the kernel would refuse it */
			f->skipped_short++;
			continue;
		}
		offset[f->cnt] = f->data_len;
		f->iov[f->cnt].iov_len = caplen;
		f->data_len += caplen;
		f->cnt++;
	}
	if (ferror(fp)) {
		fprintf(stderr, "blast: cannot read '%s': %s\n", name, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < f->cnt; i++)
		f->iov[i].iov_base = f->data + offset[i];
	rc = 0;
	goto out;
oom:
	fprintf(stderr, "blast: out of memory loading %lu frames of '%s'\n", max, name);
out:
	free(offset);
	fclose(fp);
	return rc;
}

/* ---- sending ---------------------------------------------------------------- */

static int open_socket(const struct opts *o)
{
	unsigned idx = if_nametoindex(o->iface);
	if (!idx) {
		fprintf(stderr, "blast: no interface '%s': %s\n", o->iface, strerror(errno));
		return -1;
	}
	/* Protocol 0: the socket sends and never receives, so it costs the
	 * receive path nothing and sees none of its own frames back. */
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		fprintf(stderr, "blast: cannot open a packet socket: %s (needs root "
			"or CAP_NET_RAW)\n", strerror(errno));
		return -1;
	}
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = (int)idx };
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
		fprintf(stderr, "blast: cannot bind to '%s': %s\n", o->iface, strerror(errno));
		goto fail;
	}
	int one = 1;
	if (o->qdisc_bypass &&
	    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0) {
		fprintf(stderr, "blast: PACKET_QDISC_BYPASS on '%s': %s (-Q goes "
			"without)\n", o->iface, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps until the monotonic time at_ns (not at all if it is past). */
static void sleep_until(uint64_t at_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(at_ns / 1000000000u),
			       .tv_nsec = (long)(at_ns % 1000000000u) };
	while (atomic_load(&stop_all) == STOP_DONE &&
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Errors that say "not now": the frame is offered again. */
static bool transient(int err, struct tally *t)
{
	if (err == ENOBUFS) {
		t->retries_enobufs++;
		return true;
	}
	if (err == EAGAIN || err == EINTR) {
		t->retries_eagain++;
		return true;
	}
	return false;
}

/* Errors that say "not this frame": counted, and the next one is tried.
 * Anything else (the interface went away, say) ends the run. */
static bool frame_refused(int err)
{
	return err == EMSGSIZE || err == EINVAL;
}

/* What the threads share; read-only once they start. */
struct run {
	const struct opts *o;
	const struct frames *f;
	uint64_t start_ns, deadline_ns;
};

struct sender {
	pthread_t tid;
	int fd;
	unsigned index;		/* sends batches index, index + threads, ... */
	const struct run *run;
	struct tally t;
	struct mmsghdr msgs[MAX_BATCH];
};

/* Hands frames [first, first + n) to the kernel, offering again what it
 * refused for now.  Sets t->stop and returns false when the run must end. */
static bool send_batch(struct sender *s, size_t first, unsigned n)
{
	const struct run *r = s->run;
	struct tally *t = &s->t;
	size_t next = first, end = first + n;

	while (next < end) {
		int why = atomic_load(&stop_all);
		if (why != STOP_DONE) {
			t->stop = (enum stop)why;
			return false;
		}
		if (now_ns() >= r->deadline_ns) {
			t->stop = STOP_TIME;
			return false;
		}
		unsigned k = (unsigned)(end - next);
		for (unsigned j = 0; j < k; j++) {
			memset(&s->msgs[j].msg_hdr, 0, sizeof s->msgs[j].msg_hdr);
			s->msgs[j].msg_hdr.msg_iov = &r->f->iov[next + j];
			s->msgs[j].msg_hdr.msg_iovlen = 1;
		}
		int got = sendmmsg(s->fd, s->msgs, k, 0);
		if (got < 0) {
			int err = errno;
			if (transient(err, t)) {
				sched_yield();	/* let the receive softirq drain */
				continue;
			}
			if (frame_refused(err)) {
				t->rejected++;
				next++;
				continue;
			}
			fprintf(stderr, "blast: sending on '%s' failed: %s\n",
				r->o->iface, strerror(err));
			t->stop = STOP_ERROR;
			atomic_store(&stop_all, STOP_ERROR);
			return false;
		}
		for (int j = 0; j < got; j++)
			t->bytes += r->f->iov[next + (size_t)j].iov_len;
		t->sent += (uint64_t)got;
		next += (size_t)got;
		if ((unsigned)got < k)
			t->short_batches++;
	}
	return true;
}

/* One thread: its share of the batches, batch b due at start + b * BATCH
 * / PPS.  Against the start, not the last batch: a late batch leaves no
 * lasting deficit, the next one goes at once. */
static void *sender_main(void *arg)
{
	struct sender *s = arg;
	const struct run *r = s->run;
	size_t batch = r->o->batch, cnt = r->f->cnt;

	s->t.stop = STOP_DONE;
	for (size_t b = s->index; b < (cnt + batch - 1) / batch; b += r->o->threads) {
		size_t first = b * batch;
		if (r->o->pps) {
			uint64_t due = r->start_ns +
				(uint64_t)((double)first * 1e9 / (double)r->o->pps);
			sleep_until(due < r->deadline_ns ? due : r->deadline_ns);
		}
		unsigned n = (unsigned)(cnt - first < batch ? cnt - first : batch);
		if (!send_batch(s, first, n))
			break;
	}
	return NULL;
}

static void tally_add(struct tally *sum, const struct tally *t)
{
	sum->sent += t->sent;
	sum->rejected += t->rejected;
	sum->bytes += t->bytes;
	sum->retries_enobufs += t->retries_enobufs;
	sum->retries_eagain += t->retries_eagain;
	sum->short_batches += t->short_batches;
	if (t->stop > sum->stop)
		sum->stop = t->stop;
}

/* Opens a socket per thread, runs them, and adds up their tallies.
 * Returns the seconds from the first batch to the last thread's end, or
 * -1 when the sockets cannot be set up. */
static double send_all(const struct opts *o, const struct frames *f,
		       struct tally *sum)
{
	struct sender *s = calloc(o->threads, sizeof *s);
	struct run r = { .o = o, .f = f };
	unsigned opened = 0, started = 0;
	double seconds = -1;

	if (!s) {
		fprintf(stderr, "blast: out of memory for %u threads\n", o->threads);
		return -1;
	}
	for (; opened < o->threads; opened++) {
		s[opened].fd = open_socket(o);
		if (s[opened].fd < 0)
			goto out;
		s[opened].index = opened;
		s[opened].run = &r;
	}
	r.start_ns = now_ns();
	r.deadline_ns = r.start_ns + (uint64_t)o->seconds * 1000000000u;
	for (; started < o->threads; started++) {
		int err = pthread_create(&s[started].tid, NULL, sender_main, &s[started]);
		if (err) {
			fprintf(stderr, "blast: cannot start thread %u: %s\n",
				started, strerror(err));
			atomic_store(&stop_all, STOP_ERROR);
			break;
		}
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(s[i].tid, NULL);
		tally_add(sum, &s[i].t);
	}
	if (started == o->threads)
		seconds = (double)(now_ns() - r.start_ns) / 1e9;
out:
	for (unsigned i = 0; i < opened; i++)
		close(s[i].fd);
	free(s);
	return seconds;
}

/* ---- options ------------------------------------------------------------------ */

static void usage(FILE *fp)
{
	fprintf(fp,
"usage: blast [-n COUNT] [-r PPS] [-b BATCH] [-j THREADS] [-t SECONDS] [-Q]\n"
"             IFACE FILE\n"
"  -n COUNT    frames to load from FILE and send (default 1000000)\n"
"  -r PPS      frames per second, 0 for as fast as possible (default 0)\n"
"  -b BATCH    frames per sendmmsg() call, 1 to %d (default 64)\n"
"  -j THREADS  sending threads, batches dealt round-robin, 1 to %d (default 1)\n"
"  -t SECONDS  stop after this long whatever is left (default 60)\n"
"  -Q          go through the interface's qdisc (default: bypass it)\n"
"FILE is a classic pcap of Ethernet frames; needs root or CAP_NET_RAW.\n",
		MAX_BATCH, MAX_THREADS);
}

static int parse_num(const char *opt, const char *s, unsigned long min,
		     unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "blast: %s wants a whole number from %lu to %lu, not '%s'\n",
			opt, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	unsigned long v;
	int c;

	*o = (struct opts){ .count = 1000000, .batch = 64, .threads = 1, .seconds = 60,
			    .qdisc_bypass = true };
	while ((c = getopt(argc, argv, "n:r:b:j:t:Qh")) != -1) {
		switch (c) {
		case 'n':
			if (parse_num("-n", optarg, 1, 100000000, &o->count))
				return -1;
			break;
		case 'r':
			if (parse_num("-r", optarg, 0, 100000000, &o->pps))
				return -1;
			break;
		case 'b':
			if (parse_num("-b", optarg, 1, MAX_BATCH, &v))
				return -1;
			o->batch = (unsigned)v;
			break;
		case 'j':
			if (parse_num("-j", optarg, 1, MAX_THREADS, &v))
				return -1;
			o->threads = (unsigned)v;
			break;
		case 't':
			if (parse_num("-t", optarg, 1, 86400, &o->seconds))
				return -1;
			break;
		case 'Q':
			o->qdisc_bypass = false;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return -1;
	}
	o->iface = argv[optind];
	o->file = argv[optind + 1];
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct frames f = { 0 };
	struct tally t = { 0 };
	int status = 2;

	if (parse_opts(argc, argv, &o) != 0)
		return 2;
	/* No SA_RESTART: a signal ends a sleep or a blocked send at once. */
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (load_frames(o.file, o.count, &f) != 0)
		goto out;
	if (f.cut)
		fprintf(stderr, "blast: warning: '%s' ends inside a record; sending "
			"the %zu whole frames before it\n", o.file, f.cnt);
	if (f.skipped_short)
		fprintf(stderr, "blast: warning: skipped %zu frames shorter than an "
			"Ethernet header\n", f.skipped_short);
	if (f.cnt == 0) {
		fprintf(stderr, "blast: '%s' has no frame to send\n", o.file);
		goto out;
	}
	if (f.cnt < o.count)
		fprintf(stderr, "blast: warning: '%s' has only %zu frames; sending those\n",
			o.file, f.cnt);

	double seconds = send_all(&o, &f, &t);
	if (seconds < 0)
		goto out;
	printf("loaded=%zu sent=%llu rejected=%llu unsent=%llu bytes=%llu "
	       "seconds=%.6f pps=%.0f retries_enobufs=%llu retries_eagain=%llu "
	       "short_batches=%llu threads=%u stop=%s\n",
	       f.cnt, (unsigned long long)t.sent, (unsigned long long)t.rejected,
	       (unsigned long long)(f.cnt - t.sent), (unsigned long long)t.bytes,
	       seconds, seconds > 0 ? (double)t.sent / seconds : 0.0,
	       (unsigned long long)t.retries_enobufs,
	       (unsigned long long)t.retries_eagain,
	       (unsigned long long)t.short_batches, o.threads, stop_names[t.stop]);
	status = t.stop == STOP_ERROR ? 2 : t.sent == f.cnt ? 0 : 1;
out:
	free(f.data);
	free(f.iov);
	return status;
}
