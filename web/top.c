/*
 * top.c — heavy hitters of failed connections, in two scans.
 */
#include "web/top.h"

#include <stdlib.h>
#include <string.h>

#include "analyzer/reports/json.h"
#include "web/connlist.h"

#define TOP_KEEP 1024			/* candidates */
#define SLOTS (2 * TOP_KEEP)		/* open addressing, half full at most */

static const uint8_t failing[] = {
	CS_OUT_REFUSED, CS_OUT_TIMEOUT, CS_OUT_UNREACHABLE, CS_OUT_ABORTED,
	CS_OUT_RESET_NONEXISTENT, CS_OUT_HALF_OPEN,
};

struct cand {
	struct cs_addr addr;
	uint16_t port;			/* 0 for a client */
	bool used;
	uint64_t count;			/* Misra-Gries, then exact */
	uint64_t by_outcome[CS_OUT_MAX];	/* exact, second scan */
};

struct top {
	bool servers;			/* key: (resp_h, resp_p); else orig_h */
	bool exact;			/* second scan: count candidates only */
	size_t used;
	struct cand slot[SLOTS];
};

static bool failed(uint8_t outcome)
{
	return memchr(failing, outcome, sizeof failing) != NULL;
}

static size_t slot_of(const struct top *t, const struct cs_addr *a, uint16_t port)
{
	uint64_t h = port * 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < 16; i++)
		h = (h ^ a->b[i]) * 0x100000001b3ull;
	size_t at = (size_t)(h % SLOTS);
	while (t->slot[at].used && (t->slot[at].port != port ||
				    memcmp(&t->slot[at].addr, a, sizeof *a)))
		at = (at + 1) % SLOTS;
	return at;
}

/* Misra-Gries's step when the table is full: every count goes down by
 * one and the zeros leave (the table is rebuilt without them). */
static void decrement_all(struct top *t)
{
	struct cand *keep = malloc(TOP_KEEP * sizeof *keep);
	size_t n = 0;

	if (!keep)
		return;
	for (size_t i = 0; i < SLOTS; i++)
		if (t->slot[i].used && --t->slot[i].count)
			keep[n++] = t->slot[i];
	memset(t->slot, 0, sizeof t->slot);
	for (size_t i = 0; i < n; i++)
		t->slot[slot_of(t, &keep[i].addr, keep[i].port)] = keep[i];
	t->used = n;
	free(keep);
}

static bool count_one(void *ctx, const struct cs_conn_rec *r)
{
	struct top *t = ctx;
	int side = t->servers ? 1 : 0;
	uint16_t port = t->servers ? r->port[1] : 0;

	if (!failed(r->outcome))
		return true;
	size_t at = slot_of(t, &r->addr[side], port);
	struct cand *c = &t->slot[at];
	if (t->exact) {
		if (c->used) {
			c->count++;
			c->by_outcome[r->outcome]++;
		}
		return true;
	}
	if (c->used) {
		c->count++;
	} else if (t->used < TOP_KEEP) {
		*c = (struct cand){ .addr = r->addr[side], .port = port, .used = true,
				    .count = 1 };
		t->used++;
	} else {
		decrement_all(t);
	}
	return true;
}

static int by_count(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->used != y->used)
		return x->used ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return memcmp(&x->addr, &y->addr, sizeof x->addr);
}

static int find(const struct cs_snapshot *s, struct top *t)
{
	struct cs_conn_filter any = { .outcome = -1, .state = -1, .conn_state = -1 };

	if (cs_connlist_each(s, &any, count_one, t) != 0)
		return -1;
	for (size_t i = 0; i < SLOTS; i++)
		t->slot[i].count = 0;
	t->exact = true;
	if (cs_connlist_each(s, &any, count_one, t) != 0)
		return -1;
	qsort(t->slot, SLOTS, sizeof t->slot[0], by_count);
	return 0;
}

static void cand_object(struct cs_json *j, const struct cand *c, bool server)
{
	char buf[CS_ADDR_STRLEN];
	int main = CS_OUT_REFUSED;

	for (size_t i = 0; i < sizeof failing; i++)
		if (c->by_outcome[failing[i]] > c->by_outcome[main])
			main = failing[i];
	cs_json_obj_begin(j);
	cs_json_kv_str(j, "host", cs_addr_format(&c->addr, buf, sizeof buf));
	if (server)
		cs_json_kv_u64(j, "port", c->port);
	cs_json_kv_u64(j, "failed", c->count);
	cs_json_kv_str(j, "outcome", cs_outcome_names[main]);
	cs_json_kv_u64(j, "outcome_count", c->by_outcome[main]);
	cs_json_obj_end(j);
}

static int list(struct cs_json *j, const struct cs_snapshot *s, bool servers)
{
	struct top *t = calloc(1, sizeof *t);

	if (!t)
		return -1;
	t->servers = servers;
	int rc = find(s, t);
	if (rc == 0) {
		cs_json_key(j, servers ? "servers" : "clients");
		cs_json_arr_begin(j);
		for (size_t i = 0; i < CS_TOP_SHOWN && t->slot[i].used && t->slot[i].count; i++)
			cand_object(j, &t->slot[i], servers);
		cs_json_arr_end(j);
	}
	free(t);
	return rc;
}

void cs_render_top(const struct cs_snapshot *s, struct cs_reply *r)
{
	FILE *f = cs_reply_open(r);
	struct cs_json j;
	int rc = 0;

	if (f) {
		cs_json_init(&j, f, 0);
		cs_json_obj_begin(&j);
		rc = list(&j, s, true) | list(&j, s, false);
		cs_json_obj_end(&j);
		fputc('\n', f);
	}
	if (rc != 0) {
		if (f)
			fclose(f);
		free(r->body);
		cs_render_error(500, "cannot count the failed connections", r);
		return;
	}
	cs_reply_close(f, r, 200, "application/json");
}
