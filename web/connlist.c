/*
 * connlist.c — the connection set: matching, paging, rendering.
 */
#include "web/connlist.h"

#include <stdlib.h>
#include <string.h>

#include "analyzer/reports/json.h"
#include "analyzer/tracking/zeek.h"

#define TIMELINE_MAX 64
/* Matches a page is picked from at the end; the narrowing scans go on
 * until no more than this lie in the range (memory: 144 bytes each). */
#define PICK_MAX 16384
#define BUCKETS 256

typedef unsigned __int128 u128;	/* a sort key and an id: unique, ordered */

/* ---- the set ------------------------------------------------------------------ */

static bool addr_is(const struct cs_conn_rec *r, const struct cs_addr *a)
{
	return !memcmp(&r->addr[0], a, sizeof *a) || !memcmp(&r->addr[1], a, sizeof *a);
}

bool cs_connlist_match(const struct cs_conn_rec *r, const struct cs_conn_filter *f)
{
	if (f->outcome >= 0 && r->outcome != f->outcome)
		return false;
	if (f->conn_state >= 0 && r->conn_state != f->conn_state)
		return false;
	if (f->state >= 0 && r->state[0] != f->state && r->state[1] != f->state)
		return false;
	if (f->have_host && !addr_is(r, &f->host))
		return false;
	if (f->port && r->port[0] != f->port && r->port[1] != f->port)
		return false;
	return true;
}

/* A snapshot copy belongs to the set unless the store has it: for a file,
 * the store holds the finished ones, and in the last view the open too. */
bool cs_connlist_copy_in_set(const struct cs_snapshot *s, const struct cs_snap_conn *sc)
{
	return !s->all || (sc->open && !s->all_has_open);
}

struct each_ctx {
	const struct cs_conn_filter *f;
	cs_connlist_fn fn;
	void *ctx;
	bool stopped;
};

static bool each_block(void *ctx, const struct cs_conn_rec *recs, size_t n)
{
	struct each_ctx *e = ctx;

	for (size_t i = 0; i < n; i++)
		if (cs_connlist_match(&recs[i], e->f) && !e->fn(e->ctx, &recs[i]))
			return !(e->stopped = true);
	return true;
}

int cs_connlist_each(const struct cs_snapshot *s, const struct cs_conn_filter *f,
		     cs_connlist_fn fn, void *ctx)
{
	struct each_ctx e = { f, fn, ctx, false };

	for (uint32_t i = 0; i < s->conn_cnt && !e.stopped; i++) {
		const struct cs_snap_conn *sc = &s->conns[i];
		struct cs_conn_rec rec;
		if (!cs_connlist_copy_in_set(s, sc))
			continue;
		cs_conn_rec_fill(&rec, &sc->c, &sc->v, sc->open);
		each_block(&e, &rec, 1);
	}
	if (e.stopped || !s->all)
		return 0;
	return cs_store_scan(s->all, s->all_cnt, each_block, &e);
}

/* ---- a page: counting, narrowing, picking ------------------------------------- */

static u128 key_of(const struct cs_conn_rec *r, enum cs_sort_key k)
{
	uint64_t v;

	switch (k) {
	case CS_SORT_DURATION:
		v = r->duration_us;
		break;
	case CS_SORT_BYTES:
		v = r->ip_bytes[0] + r->ip_bytes[1];
		break;
	case CS_SORT_PKTS:
		v = (uint64_t)r->pkts[0] + r->pkts[1];
		break;
	default:
		v = r->ts_us;
	}
	return (u128)v << 64 | r->id;
}

struct pick {
	u128 key;
	struct cs_conn_rec rec;
};

struct page_ctx {
	enum cs_sort_key sort;
	/* counting: all matches */
	uint64_t total;
	u128 min, max;
	/* narrowing: matches in [lo, hi], by bucket of width w */
	u128 lo, hi, w;
	uint64_t hist[BUCKETS];
	u128 bmin[BUCKETS], bmax[BUCKETS];	/* of each bucket's keys */
	/* picking: the `want` smallest keys >= lo, a max-heap */
	struct pick *heap;
	size_t heap_n, want;
};

static bool count_one(void *ctx, const struct cs_conn_rec *r)
{
	struct page_ctx *p = ctx;
	u128 k = key_of(r, p->sort);

	if (!p->total++ || k < p->min)
		p->min = k;
	if (p->total == 1 || k > p->max)
		p->max = k;
	return true;
}

static bool bucket_one(void *ctx, const struct cs_conn_rec *r)
{
	struct page_ctx *p = ctx;
	u128 k = key_of(r, p->sort);

	if (k < p->lo || k > p->hi)
		return true;
	size_t b = (size_t)((k - p->lo) / p->w);
	if (!p->hist[b]++ || k < p->bmin[b])
		p->bmin[b] = k;
	if (p->hist[b] == 1 || k > p->bmax[b])
		p->bmax[b] = k;
	return true;
}

static void heap_down(struct pick *h, size_t n, size_t i)
{
	for (;;) {
		size_t big = i, l = 2 * i + 1, r = l + 1;
		if (l < n && h[l].key > h[big].key)
			big = l;
		if (r < n && h[r].key > h[big].key)
			big = r;
		if (big == i)
			return;
		struct pick t = h[i];
		h[i] = h[big];
		h[big] = t;
		i = big;
	}
}

static void heap_up(struct pick *h, size_t i)
{
	while (i && h[(i - 1) / 2].key < h[i].key) {
		struct pick t = h[i];
		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static bool pick_one(void *ctx, const struct cs_conn_rec *r)
{
	struct page_ctx *p = ctx;
	u128 k = key_of(r, p->sort);

	if (k < p->lo)
		return true;
	if (p->heap_n < p->want) {
		p->heap[p->heap_n] = (struct pick){ k, *r };
		heap_up(p->heap, p->heap_n++);
	} else if (k < p->heap[0].key) {
		p->heap[0] = (struct pick){ k, *r };
		heap_down(p->heap, p->heap_n, 0);
	}
	return true;
}

/*
 * Narrows [lo, hi] to the bucket that holds ascending rank `rank` until at
 * most PICK_MAX matches lie in it; *before: the matches below lo.  Each
 * round divides the range's width by BUCKETS at least, so it ends within
 * 16 rounds (keys are 128 bits, and unique).
 */
static int narrow(const struct cs_snapshot *s, const struct cs_conn_filter *f,
		  struct page_ctx *p, uint64_t rank, uint64_t *before)
{
	uint64_t in_range = p->total;

	p->lo = p->min;
	p->hi = p->max;
	*before = 0;
	while (in_range > PICK_MAX) {
		memset(p->hist, 0, sizeof p->hist);
		p->w = (p->hi - p->lo) / BUCKETS + 1;
		if (cs_connlist_each(s, f, bucket_one, p) != 0)
			return -1;
		size_t b = 0;
		while (b < BUCKETS - 1 && *before + p->hist[b] <= rank)
			*before += p->hist[b++];
		in_range = p->hist[b];
		/* the bucket's own smallest and largest key: ties on the sort
		 * key (many zero durations) leave only their ids to narrow */
		p->lo = p->bmin[b];
		p->hi = p->bmax[b];
	}
	return 0;
}

static int by_key(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

long cs_connlist_page(const struct cs_snapshot *s, const struct cs_conn_filter *f,
		      struct cs_conn_rec *out, uint64_t *total)
{
	struct page_ctx *p = calloc(1, sizeof *p);
	uint64_t before, first, last;	/* ascending ranks [first, last] */
	long n = -1;

	if (!p)
		return -1;
	p->sort = f->sort;
	if (cs_connlist_each(s, f, count_one, p) != 0)
		goto done;
	*total = p->total;
	n = 0;
	if (f->offset >= p->total)
		goto done;
	uint64_t cnt = p->total - f->offset < f->limit ? p->total - f->offset : f->limit;
	first = f->descending ? p->total - f->offset - cnt : f->offset;
	last = first + cnt - 1;
	n = -1;
	if (narrow(s, f, p, first, &before) != 0)
		goto done;
	p->want = (size_t)(last - before + 1);
	p->heap = malloc(p->want * sizeof *p->heap);
	if (!p->heap || cs_connlist_each(s, f, pick_one, p) != 0)
		goto done;
	qsort(p->heap, p->heap_n, sizeof *p->heap, by_key);
	for (uint64_t i = 0; i < cnt; i++) {
		uint64_t at = first - before + (f->descending ? cnt - 1 - i : i);
		if (at >= p->heap_n)	/* the set changed under us: cannot */
			goto done;
		out[i] = p->heap[at].rec;
	}
	n = (long)cnt;
done:
	free(p->heap);
	free(p);
	return n;
}

/* ---- rendering ------------------------------------------------------------------ */

const struct cs_snap_conn *cs_connlist_full(const struct cs_snapshot *s, uint64_t id)
{
	for (uint32_t i = 0; i < s->conn_cnt; i++)
		if (s->conns[i].c.id == id)
			return &s->conns[i];
	return NULL;
}

static void json_addr(struct cs_json *j, const char *key, const struct cs_addr *a)
{
	char buf[CS_ADDR_STRLEN];

	cs_json_kv_str(j, key, cs_addr_format(a, buf, sizeof buf));
}

void cs_connlist_rec_fields(struct cs_json *j, const struct cs_conn_rec *r)
{
	cs_json_kv_u64(j, "id", r->id);
	json_addr(j, "orig_h", &r->addr[0]);
	cs_json_kv_u64(j, "orig_p", r->port[0]);
	json_addr(j, "resp_h", &r->addr[1]);
	cs_json_kv_u64(j, "resp_p", r->port[1]);
	cs_json_kv_usec(j, "ts", r->ts_us);
	cs_json_kv_usec(j, "duration", r->duration_us);
	cs_json_kv_str(j, "outcome", cs_outcome_names[r->outcome]);
	cs_json_kv_str(j, "conn_state", cs_conn_state_names[r->conn_state]);
	if (r->history_len != CS_REC_HISTORY_LONG) {
		cs_json_key(j, "history");
		cs_json_strn(j, r->history, r->history_len);
	}
	cs_json_kv_str(j, "orig_state", cs_tcp_state_names[r->state[0]]);
	cs_json_kv_str(j, "resp_state", cs_tcp_state_names[r->state[1]]);
	cs_json_kv_str(j, "close_wait", r->state[0] == CS_TCP_CLOSE_WAIT ? "orig" :
			r->state[1] == CS_TCP_CLOSE_WAIT ? "resp" : NULL);
	cs_json_key(j, "rst");
	if (r->rst_by) {
		cs_json_obj_begin(j);
		cs_json_kv_str(j, "by", r->rst_by == 1 ? "orig" : "resp");
		cs_json_kv_str(j, "cause", cs_rst_cause_names[r->rst_cause]);
		cs_json_obj_end(j);
	} else {
		cs_json_null(j);
	}
	cs_json_kv_u64(j, "orig_pkts", r->pkts[0]);
	cs_json_kv_u64(j, "resp_pkts", r->pkts[1]);
	cs_json_kv_u64(j, "orig_bytes", r->bytes[0]);
	cs_json_kv_u64(j, "resp_bytes", r->bytes[1]);
	cs_json_kv_u64(j, "orig_ip_bytes", r->ip_bytes[0]);
	cs_json_kv_u64(j, "resp_ip_bytes", r->ip_bytes[1]);
	cs_json_key(j, "midstream");
	cs_json_bool(j, r->flags & CS_REC_MIDSTREAM);
	cs_json_key(j, "port_reuse");
	cs_json_bool(j, r->flags & CS_REC_PORT_REUSE);
	cs_json_kv_str(j, "evicted", r->evicted ? cs_evict_names[r->evicted] : NULL);
}

/* The full object when the snapshot has the record, else the compact one
 * (with "compact": true). */
static void conn_object(struct cs_json *j, const struct cs_snapshot *s,
			const struct cs_conn_rec *r)
{
	const struct cs_snap_conn *sc = cs_connlist_full(s, r->id);

	cs_json_obj_begin(j);
	if (sc)
		cs_export_conn_fields(j, &sc->c, &sc->v);
	else
		cs_connlist_rec_fields(j, r);
	cs_json_key(j, "open");
	cs_json_bool(j, sc ? sc->open : (r->flags & CS_REC_OPEN) != 0);
	if (!sc) {
		cs_json_key(j, "compact");
		cs_json_bool(j, true);
	}
	cs_json_obj_end(j);
}

/* How much of every connection seen the set holds (web/API.md). */
static void set_object(struct cs_json *j, const struct cs_snapshot *s)
{
	uint64_t in_set = s->all_cnt;

	for (uint32_t i = 0; i < s->conn_cnt; i++)
		in_set += cs_connlist_copy_in_set(s, &s->conns[i]);
	cs_json_key(j, "set");
	cs_json_obj_begin(j);
	cs_json_kv_str(j, "kind", s->all ? "all" : "recent");
	cs_json_kv_u64(j, "connections", in_set);
	cs_json_kv_u64(j, "of", s->open_total + s->finished_total);
	cs_json_kv_u64(j, "not_kept", s->all_lost);
	cs_json_obj_end(j);
}

void cs_render_connections(const struct cs_snapshot *s,
			   const struct cs_conn_filter *f, struct cs_reply *r)
{
	struct cs_conn_rec *page = malloc(f->limit * sizeof *page);
	uint64_t total = 0;
	long n = page ? cs_connlist_page(s, f, page, &total) : -1;

	if (n < 0) {
		free(page);
		cs_render_error(500, "cannot list the connections (memory, or the "
				"spill file could not be read)", r);
		return;
	}
	FILE *out = cs_reply_open(r);
	struct cs_json j;
	if (out) {
		cs_json_init(&j, out, 0);
		cs_json_obj_begin(&j);
		cs_json_kv_u64(&j, "total", total);
		cs_json_kv_u64(&j, "offset", f->offset);
		cs_json_kv_u64(&j, "limit", f->limit);
		set_object(&j, s);
		cs_json_key(&j, "items");
		cs_json_arr_begin(&j);
		for (long i = 0; i < n; i++)
			conn_object(&j, s, &page[i]);
		cs_json_arr_end(&j);
		cs_json_obj_end(&j);
		fputc('\n', out);
	}
	free(page);
	cs_reply_close(out, r, 200, "application/json");
}

/* ---- /api/connections/{id} ------------------------------------------------ */

/* tcpdump's letters, in tcpdump's order: "S." is a SYN-ACK. */
static void flag_letters(uint16_t flags, char *buf)
{
	static const struct { uint16_t bit; char c; } order[] = {
		{ CS_TH_FIN, 'F' }, { CS_TH_SYN, 'S' }, { CS_TH_RST, 'R' },
		{ CS_TH_PSH, 'P' }, { CS_TH_ACK, '.' }, { CS_TH_URG, 'U' },
		{ CS_TH_ECE, 'E' }, { CS_TH_CWR, 'W' }, { CS_TH_AE, 'e' },
	};
	int n = 0;

	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (flags & order[i].bit)
			buf[n++] = order[i].c;
	if (!n)
		buf[n++] = '-';		/* no flag at all (a null scan) */
	buf[n] = '\0';
}

/* The connection's events in the ring, oldest first: the first
 * TIMELINE_MAX of them (the handshake and what went wrong first tell the
 * story), and how many there are. */
static void timeline(struct cs_json *j, const struct cs_snapshot *s,
		     uint64_t id, uint64_t first_ts_us)
{
	uint32_t n = 0;
	char fl[12];

	cs_json_key(j, "events");
	cs_json_arr_begin(j);
	for (uint32_t i = 0; i < s->event_cnt; i++) {
		const struct cs_event *e = &s->events[i];
		if (e->conn_id != id || n++ >= TIMELINE_MAX)
			continue;
		cs_json_obj_begin(j);
		cs_json_kv_usec(j, "ts", e->ts_us);
		cs_json_kv_str(j, "from", e->from ? "resp" : "orig");
		flag_letters(e->flags, fl);
		cs_json_kv_str(j, "flags", fl);
		cs_json_kv_u64(j, "seq", e->seq);
		cs_json_kv_u64(j, "ack", e->ack);
		cs_json_kv_u64(j, "len", e->len);
		cs_json_kv_str(j, "orig_state", cs_tcp_state_names[e->state[0]]);
		cs_json_kv_str(j, "resp_state", cs_tcp_state_names[e->state[1]]);
		cs_json_obj_end(j);
	}
	cs_json_arr_end(j);
	cs_json_kv_u64(j, "events_total", n);
	cs_json_key(j, "events_complete");
	cs_json_bool(j, n <= TIMELINE_MAX &&
			   !(s->oldest_event_us && s->oldest_event_us > first_ts_us));
}

struct find_ctx {
	uint64_t id;
	bool found;
	struct cs_conn_rec rec;
};

static bool find_one(void *ctx, const struct cs_conn_rec *r)
{
	struct find_ctx *fc = ctx;

	if (r->id != fc->id)
		return true;
	fc->rec = *r;
	fc->found = true;
	return false;
}

/* The connection from the store: a scan, stopped at the id. */
static bool find_rec(const struct cs_snapshot *s, uint64_t id, struct cs_conn_rec *out)
{
	struct find_ctx fc = { .id = id };
	struct cs_conn_filter any = { .outcome = -1, .state = -1, .conn_state = -1 };

	if (cs_connlist_each(s, &any, find_one, &fc) != 0 || !fc.found)
		return false;
	*out = fc.rec;
	return true;
}

void cs_render_connection(const struct cs_snapshot *s, uint64_t id,
			  struct cs_reply *r)
{
	const struct cs_snap_conn *sc = cs_connlist_full(s, id);
	struct cs_conn_rec rec;

	if (sc)
		cs_conn_rec_fill(&rec, &sc->c, &sc->v, sc->open);
	else if (!find_rec(s, id, &rec)) {
		cs_render_error(404, "no such connection in the current snapshot", r);
		return;
	}
	FILE *f = cs_reply_open(r);
	struct cs_json j;
	if (f) {
		cs_json_init(&j, f, 0);
		cs_json_obj_begin(&j);
		cs_json_key(&j, "connection");
		conn_object(&j, s, &rec);
		timeline(&j, s, rec.id, rec.ts_us);
		cs_json_obj_end(&j);
		fputc('\n', f);
	}
	cs_reply_close(f, r, 200, "application/json");
}
