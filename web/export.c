/*
 * export.c — CSV and JSON Lines rows, a block of records at a time.
 */
#include "web/export.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/reports/json.h"
#include "web/connlist.h"

#define BLOCK_RECS 256

struct cs_export {
	struct cs_snapshot *snap;
	struct cs_conn_filter f;
	enum cs_export_format fmt;
	bool header_done;
	uint32_t copy_at;		/* next snapshot copy to look at */
	uint64_t store_at;		/* next store record */
	struct cs_conn_rec block[BLOCK_RECS];
	char *text;			/* rows made, not yet handed out */
	size_t text_len, text_at;
};

static const char CSV_HEADER[] =
	"id,ts,duration,orig_h,orig_p,resp_h,resp_p,outcome,conn_state,history,"
	"orig_state,resp_state,rst_by,rst_cause,orig_pkts,resp_pkts,orig_bytes,"
	"resp_bytes,orig_ip_bytes,resp_ip_bytes,open\n";

int cs_export_format_of(const char *path, enum cs_export_format *fmt)
{
	if (!strcmp(path, "/api/connections.csv"))
		*fmt = CS_EXPORT_CSV;
	else if (!strcmp(path, "/api/connections.jsonl"))
		*fmt = CS_EXPORT_JSONL;
	else
		return -1;
	return 0;
}

const char *cs_export_content_type(enum cs_export_format fmt)
{
	return fmt == CS_EXPORT_CSV ? "text/csv; charset=utf-8" : "application/jsonl";
}

const char *cs_export_file_name(enum cs_export_format fmt)
{
	return fmt == CS_EXPORT_CSV ? "connections.csv" : "connections.jsonl";
}

struct cs_export *cs_export_create(const struct cs_snapshot *s,
				   const struct cs_conn_filter *f,
				   enum cs_export_format fmt)
{
	struct cs_export *x = calloc(1, sizeof *x);

	if (!x)
		return NULL;
	x->snap = cs_snapshot_ref((struct cs_snapshot *)s);
	x->f = *f;
	x->fmt = fmt;
	x->header_done = fmt != CS_EXPORT_CSV;
	return x;
}

void cs_export_destroy(struct cs_export *x)
{
	if (!x)
		return;
	cs_snapshot_unref(x->snap);
	free(x->text);
	free(x);
}

static void usec(FILE *f, uint64_t us)
{
	fprintf(f, "%" PRIu64 ".%06" PRIu64, us / 1000000u, us % 1000000u);
}

static void csv_row(FILE *f, const struct cs_conn_rec *r)
{
	char a[CS_ADDR_STRLEN], b[CS_ADDR_STRLEN];

	fprintf(f, "%" PRIu64 ",", r->id);
	usec(f, r->ts_us);
	fputc(',', f);
	usec(f, r->duration_us);
	fprintf(f, ",%s,%u,%s,%u,%s,%s,", cs_addr_format(&r->addr[0], a, sizeof a),
		r->port[0], cs_addr_format(&r->addr[1], b, sizeof b), r->port[1],
		cs_outcome_names[r->outcome], cs_conn_state_names[r->conn_state]);
	if (r->history_len != CS_REC_HISTORY_LONG)
		fwrite(r->history, 1, r->history_len, f);
	fprintf(f, ",%s,%s,%s,%s,%" PRIu32 ",%" PRIu32 ",%" PRIu64 ",%" PRIu64
		",%" PRIu64 ",%" PRIu64 ",%s\n",
		cs_tcp_state_names[r->state[0]], cs_tcp_state_names[r->state[1]],
		r->rst_by == 1 ? "orig" : r->rst_by == 2 ? "resp" : "",
		r->rst_by ? cs_rst_cause_names[r->rst_cause] : "",
		r->pkts[0], r->pkts[1], r->bytes[0], r->bytes[1],
		r->ip_bytes[0], r->ip_bytes[1], r->flags & CS_REC_OPEN ? "true" : "false");
}

static void jsonl_row(FILE *f, const struct cs_conn_rec *r)
{
	struct cs_json j;

	cs_json_init(&j, f, 0);
	cs_json_obj_begin(&j);
	cs_connlist_rec_fields(&j, r);
	cs_json_key(&j, "open");
	cs_json_bool(&j, r->flags & CS_REC_OPEN);
	cs_json_obj_end(&j);
	fputc('\n', f);
}

/* The next block of the set: snapshot copies first, then the store.
 * Returns the records in x->block, 0 at the end, -1 on a read error. */
static long next_block(struct cs_export *x)
{
	const struct cs_snapshot *s = x->snap;
	long n = 0;

	while (x->copy_at < s->conn_cnt && n < BLOCK_RECS) {
		const struct cs_snap_conn *sc = &s->conns[x->copy_at++];
		if (cs_connlist_copy_in_set(s, sc))
			cs_conn_rec_fill(&x->block[n++], &sc->c, &sc->v, sc->open);
	}
	if (n || !s->all || x->store_at >= s->all_cnt)
		return n;
	uint64_t left = s->all_cnt - x->store_at;
	n = left < BLOCK_RECS ? (long)left : BLOCK_RECS;
	if (cs_store_read(s->all, x->store_at, (size_t)n, x->block) != 0)
		return -1;
	x->store_at += (uint64_t)n;
	return n;
}

/* Rows for the next block that has a match; 0 at the end. */
static int refill(struct cs_export *x)
{
	FILE *f = NULL;

	free(x->text);
	x->text = NULL;
	x->text_len = x->text_at = 0;
	for (;;) {
		long n = next_block(x);
		if (n <= 0 && f) {	/* the end, or an error, after the header */
			if (fclose(f) != 0)
				return -1;
			return n < 0 ? -1 : x->text_len ? 1 : 0;
		}
		if (n <= 0)
			return (int)n;
		if (!f && !(f = open_memstream(&x->text, &x->text_len)))
			return -1;
		if (!x->header_done) {
			fputs(CSV_HEADER, f);
			x->header_done = true;
		}
		bool any = false;
		for (long i = 0; i < n; i++) {
			if (!cs_connlist_match(&x->block[i], &x->f))
				continue;
			(x->fmt == CS_EXPORT_CSV ? csv_row : jsonl_row)(f, &x->block[i]);
			any = true;
		}
		if (any)
			return fclose(f) == 0 ? 1 : -1;
	}
}

ssize_t cs_export_read(struct cs_export *x, char *buf, size_t max)
{
	if (x->text_at == x->text_len) {
		int rc = refill(x);
		if (rc <= 0) {
			if (rc == 0 && !x->header_done) {	/* no row at all */
				x->header_done = true;
				size_t n = strlen(CSV_HEADER) < max ? strlen(CSV_HEADER) : max;
				memcpy(buf, CSV_HEADER, n);
				return (ssize_t)n;
			}
			return rc;
		}
	}
	size_t n = x->text_len - x->text_at;
	if (n > max)
		n = max;
	memcpy(buf, x->text + x->text_at, n);
	x->text_at += n;
	return (ssize_t)n;
}
