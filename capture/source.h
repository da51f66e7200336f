/*
 * source.h — where frames come from: capture files and live interfaces.
 *
 * The only module that includes pcap.h.  It opens a file (pcap µs/ns,
 * pcapng, "-" for stdin; a regular one is then read in large pieces and
 * walked by pcapfile.h, as libpcap would read it) or an interface (pcap_create +
 * pcap_activate, no immediate mode: a read timeout keeps timers ticking
 * without giving up the kernel's TPACKET_V3 ring), checks every record's
 * lengths before anything decodes it, and hands frames to a callback.
 * Setup returns 0/-1 with a message for people in the caller's buffer;
 * the packet path never prints.
 */
#ifndef CS_CAPTURE_SOURCE_H
#define CS_CAPTURE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/child.h"
#include "capture/packet.h"
#include "capture/wake.h"

struct cs_source;

typedef void (*cs_frame_fn)(void *ctx, const struct cs_frame *f);

struct cs_live_opts {
	const char *iface;
	int snaplen;		/* bytes kept per packet */
	int buffer_mib;		/* kernel ring size */
	bool promisc;
	int timeout_ms;		/* read timeout: how often a quiet link ticks */
};

/* Defaults, and the reasons for them, are in README.md ("Live capture"). */
#define CS_LIVE_SNAPLEN_DEFAULT 256
#define CS_LIVE_BUFFER_MIB_DEFAULT 32
#define CS_LIVE_TIMEOUT_MS_DEFAULT 100

/*
 * What a read from a stream (a pipe, a FIFO, a terminal: anything but a
 * regular file) waits on besides its data.  A stream is read once, as it
 * comes; its reads wait in poll(), next to the wake's pipe.
 */
struct cs_source_wait {
	struct cs_wake *wake;		/* its stop ends a read: CS_READ_BROKEN */
	void (*poked)(void *ctx);	/* called on each poke while a read waits */
	void *ctx;
};

/*
 * Opens a capture file, or "-" for standard input, once: an input is never
 * opened again, not even to explain why its header was refused.  A FIFO is
 * opened without waiting for its writer (the first read waits).  wait may
 * be NULL: a stream's reads then wait for data alone.
 */
int cs_source_open_file(struct cs_source **out, const char *path,
			const struct cs_source_wait *wait,
			char *err, size_t errlen);
/* A capture already open as a stream (fmemopen for tests and fuzzers).
 * The source owns f from then on, also on failure. */
/* The same, a regular file read chunk bytes at a time for the walker
 * (cs_source_open_file: CS_SOURCE_READ_CHUNK; 0: libpcap reads it). */
#define CS_SOURCE_READ_CHUNK ((size_t)1 << 20)
int cs_source_open_file_read(struct cs_source **out, const char *path,
			     const struct cs_source_wait *wait, size_t chunk,
			     char *err, size_t errlen);
int cs_source_open_stream(struct cs_source **out, FILE *f, const char *name,
			  char *err, size_t errlen);
/* A capture in memory, walked as a regular file is (capture/pcapfile.h)
 * after libpcap has opened it: for tests and fuzzers.  chunk 0 walks buf
 * in place; another copies it chunk bytes at a time into the source's
 * buffer, as a file is read.  Fails for a file libpcap would read itself
 * (a link type libpcap rewrites, Kuznetzov's format, a header longer than
 * chunk). */
int cs_source_open_memory(struct cs_source **out, const uint8_t *buf,
			  size_t len, const char *name, size_t chunk,
			  char *err, size_t errlen);
int cs_source_open_live(struct cs_source **out, const struct cs_live_opts *o,
			char *err, size_t errlen);
/*
 * BPF filters.  libpcap compiles a filter for a link type and a snap
 * length; its optimizer can take minutes and gigabytes on a filter of a
 * few thousand terms, so compiling runs in a child process (child.h)
 * within bounds, and a stop of the wake kills it.
 */
struct cs_filter;

#define CS_FILTER_CPU_SEC_DEFAULT 20
#define CS_FILTER_MEM_MIB_DEFAULT 512

struct cs_filter_bounds {
	struct cs_child_limits limits;
	struct cs_wake *wake;		/* NULL: no stop */
};

enum cs_filter_result {
	CS_FILTER_OK,
	CS_FILTER_INVALID,	/* not a filter: it compiles for no link type */
	CS_FILTER_NOT_FOR_LINKTYPE,	/* good for Ethernet, but libpcap cannot
					 * compile it for this link type (no
					 * "vlan" on PPP, nothing on NFLOG) */
	CS_FILTER_TOO_COMPLEX,	/* over the bounds */
	CS_FILTER_STOPPED,	/* the wake was stopped while it compiled */
	CS_FILTER_FAILED,	/* no process to compile in */
	CS_FILTER_RESULT_MAX
};

void cs_filter_bounds_default(struct cs_filter_bounds *b);
/* Compiles bpf for s's link type and snap length; the error quotes it
 * and, when libpcap refuses it, tells an invalid expression from one it
 * cannot compile for that link type (by compiling it for Ethernet, whose
 * link type has every keyword, in the same child). */
enum cs_filter_result cs_filter_compile(struct cs_filter **out,
					const struct cs_source *s, const char *bpf,
					const struct cs_filter_bounds *b,
					char *err, size_t errlen);
/* f also keeps the ICMP and ICMPv6 errors whose quoted segment its
 * expression matches (false when libpcap could not compile that for the
 * link type: the expression alone filters then). */
bool cs_filter_keeps_icmp(const struct cs_filter *f);
/* f was compiled for s's link type and snap length. */
bool cs_filter_fits(const struct cs_filter *f, const struct cs_source *s);
void cs_filter_free(struct cs_filter *f);
/* Installs f (compiled from bpf, which messages quote) on s. */
int cs_source_apply_filter(struct cs_source *s, const struct cs_filter *f,
			   const char *bpf, char *err, size_t errlen);
/* Compiles within the default bounds and installs: 0, or -1 with err. */
int cs_source_set_filter(struct cs_source *s, const char *bpf,
			 char *err, size_t errlen);
void cs_source_close(struct cs_source *s);

int cs_source_datalink(const struct cs_source *s);
uint32_t cs_source_snaplen(const struct cs_source *s);
const char *cs_source_name(const struct cs_source *s);
bool cs_source_is_live(const struct cs_source *s);
/* A pipe, a FIFO, a terminal: read once, on the caller's thread. */
bool cs_source_is_stream(const struct cs_source *s);
/* A stream with nothing to read now, nor within wait_ms (what stdio holds
 * aside); false for a file or an interface, and when a signal came. */
bool cs_source_stalled(struct cs_source *s, int wait_ms);

enum cs_read {
	CS_READ_MORE,		/* frames delivered (maybe 0 on a quiet link) */
	CS_READ_EOF,		/* end of file */
	CS_READ_BROKEN,		/* cs_source_breakloop() was called, or a
				 * stream's wake was stopped */
	CS_READ_ERROR,		/* damaged file or device failure: see err */
};

/*
 * Delivers at most max frames to fn (max -1: what a live ring holds, or
 * the whole file) and returns.  A live source returns after the read
 * timeout even when nothing arrived, and at once on a signal.  *delivered
 * is the number of frames given to fn by this call.
 */
enum cs_read cs_source_read(struct cs_source *s, int max, cs_frame_fn fn,
			    void *ctx, uint64_t *delivered,
			    char *err, size_t errlen);

/* Live: after a stop, reads the frames still in the kernel's ring that
 * arrived by cutoff_us (at most max, -1 for all); returns how many. */
uint64_t cs_source_drain(struct cs_source *s, uint64_t cutoff_us, int max,
			 cs_frame_fn fn, void *ctx);

/* Makes a running or the next cs_source_read return CS_READ_BROKEN.
 * Safe to call from a signal handler. */
void cs_source_breakloop(struct cs_source *s);

/* How far into a regular file reading has got; -1 for a live source, a
 * pipe, or standard input. */
int cs_source_progress(struct cs_source *s, uint64_t *done_bytes,
		       uint64_t *total_bytes);

/* Kernel and interface drops of a live source (pcap_stats); -1 if unknown. */
int cs_source_drops(struct cs_source *s, uint64_t *drops);

/* Prints the capture devices, one per line, as tcpdump -D does. */
int cs_source_list_interfaces(FILE *out, char *err, size_t errlen);

#endif /* CS_CAPTURE_SOURCE_H */
