/*
 * store.h — every finished connection of a capture file, in compact form.
 *
 * The dashboard of a capture file must reach every connection, and a file
 * may hold ten million of them: far more than full records (struct
 * cs_conn, over a kilobyte each) that memory could keep.  So each finished
 * connection is kept as a fixed-size record of what a table row and a
 * filter need (struct cs_conn_rec: ids, the 4-tuple, times, outcome and
 * states, packets, bytes, the RST that ended it, Zeek's history when it is
 * short), 128 bytes.  The first ones live in memory, in chunks, up to a
 * fixed budget; past it the records go to a file under $TMPDIR that is
 * unlinked as soon as it is made, so it is gone when connscope exits,
 * however it exits.
 *
 * Writer and readers: the analysing thread alone appends.  A record, once
 * counted in `published`, is never written again, and nothing it lies in
 * (a memory chunk, the file's bytes) moves or is freed while the store is
 * referenced.  A snapshot copies `published` when it is built on the
 * analysing thread and reads only records below that count; the snapshot
 * reaches readers through the publishing mutex, which orders the records'
 * bytes before the reader's loads.  So readers and the writer never touch
 * the same bytes, and need no lock.  The store is reference-counted: the
 * engine and each snapshot hold one, and the last one frees it.
 */
#ifndef CS_ANALYZER_STORE_H
#define CS_ANALYZER_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/tracking/conn.h"
#include "analyzer/reports/export.h"

#define CS_REC_HISTORY 19		/* Zeek letters kept; longer: not kept */
#define CS_REC_HISTORY_LONG 0xff	/* history_len of a history not kept */

enum cs_rec_flag {
	CS_REC_OPEN = 1,		/* still tracked when stored */
	CS_REC_MIDSTREAM = 2,		/* the originator's SYN was not seen */
	CS_REC_PORT_REUSE = 4,
};

/* One connection, 128 bytes.  addr[0], port[0], pkts[0]... are the
 * originator's. */
struct cs_conn_rec {
	uint64_t id;
	uint64_t ts_us, duration_us;
	uint64_t bytes[2];		/* payload, as conn.log's orig_bytes */
	uint64_t ip_bytes[2];
	struct cs_addr addr[2];
	uint32_t pkts[2];		/* saturated at UINT32_MAX */
	uint16_t port[2];
	uint8_t outcome, conn_state;	/* enum cs_outcome, cs_conn_state */
	uint8_t state[2];		/* enum cs_tcp_state */
	uint8_t rst_by;			/* 0: none, 1: orig, 2: resp */
	uint8_t rst_cause;		/* enum cs_rst_cause */
	uint8_t flags;			/* enum cs_rec_flag */
	uint8_t evicted;		/* enum cs_evict */
	uint8_t history_len;		/* or CS_REC_HISTORY_LONG */
	char history[CS_REC_HISTORY];	/* not NUL-terminated */
};

/* The compact form of c, judged v; open as the flag says. */
void cs_conn_rec_fill(struct cs_conn_rec *r, const struct cs_conn *c,
		      const struct cs_verdict *v, bool open);

#define CS_STORE_CHUNK_RECS 4096	/* 512 KiB */
/* Small: the spill file's pages stay in the page cache, so a scan reads
 * them nearly as fast as memory, and the process's own memory is what
 * --max-flows sets plus this (tests/flood.sh holds it to that). */
#define CS_STORE_BUDGET_DEFAULT (2u << 20)

struct cs_store {
	atomic_int refs;
	uint64_t published;		/* records readers may read */
	uint64_t written;		/* records appended (writer only) */
	uint64_t lost;			/* not kept: the spill file failed */
	uint64_t mem_recs;		/* records kept in memory, at most */
	size_t chunk_cnt;
	struct cs_conn_rec **chunks;	/* chunk_cnt slots, filled as needed */
	int fd;				/* the spill file, or -1 */
	struct cs_conn_rec *tail;	/* records bound for the file */
	uint64_t tail_first;		/* index of tail[0] */
	bool frozen;			/* no more appends (cs_store_freeze) */
	bool broken;			/* memory or the file failed: the rest
					 * is counted in `lost` */
};

/* A store that keeps budget_bytes of records in memory (at least one
 * chunk), with one reference.  NULL if memory runs out. */
struct cs_store *cs_store_create(size_t budget_bytes);
struct cs_store *cs_store_ref(struct cs_store *s);
void cs_store_unref(struct cs_store *s);

/* Writer side.  Appends one record (counted in `lost` once memory or the
 * spill file has failed); ignored once frozen. */
void cs_store_add(struct cs_store *s, const struct cs_conn_rec *r);
/* Makes every record appended so far readable: writes the file's tail. */
void cs_store_publish(struct cs_store *s);
/* Appends no more: the capture's last view is in. */
void cs_store_freeze(struct cs_store *s);

/* Reader side: calls fn on records [0, cnt) in order, a block at a time
 * (a block lies in memory or was read from the file); stops early when fn
 * returns false.  -1 if the file cannot be read. */
typedef bool (*cs_store_block_fn)(void *ctx, const struct cs_conn_rec *recs,
				  size_t n);
int cs_store_scan(const struct cs_store *s, uint64_t cnt, cs_store_block_fn fn,
		  void *ctx);

/* Reader side: copies records [from, from + n) (all below a snapshot's
 * count) into out; 0, or -1 if the file cannot be read. */
int cs_store_read(const struct cs_store *s, uint64_t from, size_t n,
		  struct cs_conn_rec *out);

#endif /* CS_ANALYZER_STORE_H */
