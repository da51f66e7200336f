/*
 * store.c — compact records in memory chunks, then in an unlinked file.
 */
#include "analyzer/views/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/tracking/zeek.h"
#include "capture/assert.h"

_Static_assert(sizeof(struct cs_conn_rec) == 128, "a record is 128 bytes");

#define CHUNK_BYTES (CS_STORE_CHUNK_RECS * sizeof(struct cs_conn_rec))

static uint32_t saturated_u32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Who sent the RST that ended it, as the JSON report says it (export.c):
 * the accepted one, or else the ones the receiver would not accept. */
static void fill_rst(struct cs_conn_rec *r, const struct cs_conn *c)
{
	const struct cs_endpoint *o = &c->ep[0], *p = &c->ep[1];

	if (o->rst_first || p->rst_first) {
		r->rst_by = o->rst_first ? 1 : 2;
		r->rst_cause = c->rst_cause;
	} else if (o->invalid_rsts || p->invalid_rsts) {
		r->rst_by = o->invalid_rsts ? 1 : 2;
		r->rst_cause = CS_RST_INVALID;
	}
}

void cs_conn_rec_fill(struct cs_conn_rec *r, const struct cs_conn *c,
		      const struct cs_verdict *v, bool open)
{
	int ro = c->orig, rr = !c->orig;
	size_t hl = strnlen(c->history, sizeof c->history);

	memset(r, 0, sizeof *r);
	r->id = c->id;
	r->ts_us = c->first_ts_us;
	r->duration_us = c->last_ts_us - c->first_ts_us;
	r->bytes[0] = cs_zeek_size(c, c->z_flip);
	r->bytes[1] = cs_zeek_size(c, !c->z_flip);
	r->addr[0] = c->key.addr[ro];
	r->addr[1] = c->key.addr[rr];
	r->port[0] = c->key.port[ro];
	r->port[1] = c->key.port[rr];
	for (int side = 0; side < 2; side++) {
		r->ip_bytes[side] = c->ep[side].ip_bytes;
		r->pkts[side] = saturated_u32(c->ep[side].pkts);
		r->state[side] = c->ep[side].state;
	}
	r->outcome = (uint8_t)v->outcome;
	r->conn_state = (uint8_t)v->conn_state;
	fill_rst(r, c);
	r->flags = (uint8_t)((open ? CS_REC_OPEN : 0) |
			     (!c->ep[0].syn ? CS_REC_MIDSTREAM : 0) |
			     (c->port_reuse ? CS_REC_PORT_REUSE : 0));
	r->evicted = c->evicted;
	if (hl <= CS_REC_HISTORY) {
		r->history_len = (uint8_t)hl;
		memcpy(r->history, c->history, hl);
	} else {
		r->history_len = CS_REC_HISTORY_LONG;
	}
}

/* ---- life ------------------------------------------------------------------- */

struct cs_store *cs_store_create(size_t budget_bytes)
{
	struct cs_store *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	s->fd = -1;
	s->chunk_cnt = budget_bytes / CHUNK_BYTES;
	if (s->chunk_cnt < 1)
		s->chunk_cnt = 1;
	s->mem_recs = (uint64_t)s->chunk_cnt * CS_STORE_CHUNK_RECS;
	s->chunks = calloc(s->chunk_cnt, sizeof *s->chunks);
	if (!s->chunks) {
		free(s);
		return NULL;
	}
	return s;
}

struct cs_store *cs_store_ref(struct cs_store *s)
{
	int held = atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	CS_ASSERT(held >= 1);
	(void)held;
	return s;
}

void cs_store_unref(struct cs_store *s)
{
	if (!s)
		return;
	int held = atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel);
	CS_ASSERT(held >= 1);
	if (held != 1)
		return;
	for (size_t i = 0; i < s->chunk_cnt; i++)
		free(s->chunks[i]);
	free(s->chunks);
	free(s->tail);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

/* ---- the writer ------------------------------------------------------------- */

/* The spill file: made under $TMPDIR (or /tmp) and unlinked at once, so
 * that it goes away with the process, however that ends. */
static int spill_open(struct cs_store *s)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];

	if (!dir || !*dir)
		dir = "/tmp";
	if (snprintf(path, sizeof path, "%s/connscope-conns-XXXXXX", dir) >=
	    (int)sizeof path)
		return -1;
	s->tail = malloc(CHUNK_BYTES);
	if (!s->tail)
		return -1;
	s->fd = mkstemp(path);
	if (s->fd < 0)
		return -1;
	unlink(path);
	s->tail_first = s->mem_recs;
	return 0;
}

/* Writes tail records [tail_first, written) at their place in the file. */
static int tail_write(struct cs_store *s)
{
	size_t n = (size_t)(s->written - s->tail_first) * sizeof *s->tail;
	off_t at = (off_t)((s->tail_first - s->mem_recs) * sizeof *s->tail);
	const char *p = (const char *)s->tail;

	while (n) {
		ssize_t w = pwrite(s->fd, p, n, at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		at += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A write that failed: what is in the tail is lost, and so is all that
 * follows (readers must never see a hole). */
static void spill_failed(struct cs_store *s)
{
	s->lost += s->written - s->published;
	s->written = s->published;
	s->broken = true;
}

static void add_spilled(struct cs_store *s, const struct cs_conn_rec *r)
{
	if (s->fd < 0 && spill_open(s) != 0) {
		s->lost++;
		s->broken = true;
		return;
	}
	s->tail[s->written - s->tail_first] = *r;
	s->written++;
	if (s->written - s->tail_first < CS_STORE_CHUNK_RECS)
		return;
	if (tail_write(s) != 0) {
		spill_failed(s);
		return;
	}
	s->tail_first = s->written;
	s->published = s->written;
}

void cs_store_add(struct cs_store *s, const struct cs_conn_rec *r)
{
	if (s->frozen)
		return;
	if (s->broken) {
		s->lost++;
		return;
	}
	if (s->written >= s->mem_recs) {
		add_spilled(s, r);
		return;
	}
	size_t c = (size_t)(s->written / CS_STORE_CHUNK_RECS);
	if (!s->chunks[c] && !(s->chunks[c] = malloc(CHUNK_BYTES))) {
		s->lost++;
		s->broken = true;	/* a later chunk must not leave a hole */
		return;
	}
	s->chunks[c][s->written % CS_STORE_CHUNK_RECS] = *r;
	s->published = ++s->written;
}

void cs_store_publish(struct cs_store *s)
{
	if (s->written == s->published || s->broken)
		return;
	/* The tail is written again, whole, when it fills: the bytes of the
	 * records published now are rewritten with the same values. */
	if (tail_write(s) != 0) {
		spill_failed(s);
		return;
	}
	s->published = s->written;
}

void cs_store_freeze(struct cs_store *s)
{
	cs_store_publish(s);
	s->frozen = true;
}

/* ---- readers ----------------------------------------------------------------- */

static int scan_file(const struct cs_store *s, uint64_t from, uint64_t cnt,
		     cs_store_block_fn fn, void *ctx)
{
	struct cs_conn_rec *buf = malloc(CHUNK_BYTES);

	if (!buf)
		return -1;
	int rc = 0;
	while (from < cnt) {
		uint64_t n = cnt - from;
		if (n > CS_STORE_CHUNK_RECS)
			n = CS_STORE_CHUNK_RECS;
		size_t want = (size_t)n * sizeof *buf;
		ssize_t got = pread(s->fd, buf, want,
				    (off_t)((from - s->mem_recs) * sizeof *buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || (size_t)got % sizeof *buf) {
			rc = -1;
			break;
		}
		from += (size_t)got / sizeof *buf;
		if (!fn(ctx, buf, (size_t)got / sizeof *buf))
			break;
	}
	free(buf);
	return rc;
}

int cs_store_scan(const struct cs_store *s, uint64_t cnt, cs_store_block_fn fn,
		  void *ctx)
{
	uint64_t in_mem = cnt < s->mem_recs ? cnt : s->mem_recs;

	for (uint64_t at = 0; at < in_mem; at += CS_STORE_CHUNK_RECS) {
		uint64_t n = in_mem - at;
		if (n > CS_STORE_CHUNK_RECS)
			n = CS_STORE_CHUNK_RECS;
		if (!fn(ctx, s->chunks[at / CS_STORE_CHUNK_RECS], (size_t)n))
			return 0;
	}
	return cnt > s->mem_recs ? scan_file(s, s->mem_recs, cnt, fn, ctx) : 0;
}

int cs_store_read(const struct cs_store *s, uint64_t from, size_t n,
		  struct cs_conn_rec *out)
{
	while (n && from < s->mem_recs) {
		size_t in_chunk = CS_STORE_CHUNK_RECS - (size_t)(from % CS_STORE_CHUNK_RECS);
		size_t k = n < in_chunk ? n : in_chunk;
		memcpy(out, &s->chunks[from / CS_STORE_CHUNK_RECS][from % CS_STORE_CHUNK_RECS],
		       k * sizeof *out);
		out += k;
		from += k;
		n -= k;
	}
	size_t want = n * sizeof *out;
	char *p = (char *)out;
	off_t at = (off_t)((from - s->mem_recs) * sizeof *out);
	while (want) {
		ssize_t got = pread(s->fd, p, want, at);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		p += got;
		at += got;
		want -= (size_t)got;
	}
	return 0;
}
