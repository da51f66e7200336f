/*
 * clients.c — client keys, failed-attempt turns and log pacing (clients.h).
 */
#include "web/clients.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_EVERY_MS 60000u	/* one line per client and kind per minute */

const char *const cs_web_misdeed_names[CS_WEB_MISDEED_MAX] = {
	[CS_WEB_BAD_TOKEN] = "bad_token",
	[CS_WEB_TOO_EARLY] = "too_early",
	[CS_WEB_CROWDING] = "crowding",
};

/* ---- keys ------------------------------------------------------------------- */

bool cs_web_client_of(const struct sockaddr *sa, socklen_t len,
		      struct cs_web_client *out)
{
	memset(out, 0, sizeof *out);
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		struct sockaddr_in s4;
		memcpy(&s4, sa, sizeof s4);
		out->b[10] = out->b[11] = 0xff;
		memcpy(&out->b[12], &s4.sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 s6;
		memcpy(&s6, sa, sizeof s6);
		memcpy(out->b, &s6.sin6_addr, 8);	/* the /64 */
		return true;
	}
	return false;
}

static bool is_v4(const struct cs_web_client *c)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(c->b, prefix, sizeof prefix);
}

void cs_web_client_format(const struct cs_web_client *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (is_v4(c)) {
		inet_ntop(AF_INET, &c->b[12], a, sizeof a);
		snprintf(buf, len, "%s", a);
	} else {
		inet_ntop(AF_INET6, c->b, a, sizeof a);
		snprintf(buf, len, "%s/64", a);
	}
}

bool cs_web_client_same(const struct cs_web_client *a, const struct cs_web_client *b)
{
	return !memcmp(a->b, b->b, sizeof a->b);
}

/* ---- the table ----------------------------------------------------------------- */

struct entry {
	bool used;
	struct cs_web_client client;
	uint64_t next_turn_ms;		/* a token attempt before this waits */
	uint64_t last_ms;		/* the latest misdeed: who to forget first */
	uint64_t counts[CS_WEB_MISDEED_MAX];
	uint64_t unlogged[CS_WEB_MISDEED_MAX];
	uint64_t logged_ms[CS_WEB_MISDEED_MAX];
	bool ever_logged[CS_WEB_MISDEED_MAX];
};

struct cs_web_clients {
	pthread_mutex_t mu;
	uint64_t penalty_ms, max_wait_ms;
	uint64_t totals[CS_WEB_MISDEED_MAX];
	unsigned cnt;
	struct entry e[];
};

struct cs_web_clients *cs_web_clients_create(unsigned clients, unsigned penalty_ms,
					     unsigned max_wait_ms)
{
	struct cs_web_clients *t;

	if (!clients || !(t = calloc(1, sizeof *t + clients * sizeof t->e[0])))
		return NULL;
	pthread_mutex_init(&t->mu, NULL);
	t->cnt = clients;
	t->penalty_ms = penalty_ms;
	t->max_wait_ms = max_wait_ms;
	return t;
}

void cs_web_clients_destroy(struct cs_web_clients *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static struct entry *find(struct cs_web_clients *t, const struct cs_web_client *c)
{
	for (unsigned i = 0; i < t->cnt; i++)
		if (t->e[i].used && cs_web_client_same(&t->e[i].client, c))
			return &t->e[i];
	return NULL;
}

/* The client's entry, made if need be: a free one, or else the one whose
 * last misdeed is oldest (its penalty long over, most likely). */
static struct entry *find_or_add(struct cs_web_clients *t, const struct cs_web_client *c)
{
	struct entry *e = find(t, c), *victim = &t->e[0];

	if (e)
		return e;
	for (unsigned i = 0; i < t->cnt; i++) {
		if (!t->e[i].used) {
			victim = &t->e[i];
			break;
		}
		if (t->e[i].last_ms < victim->last_ms)
			victim = &t->e[i];
	}
	memset(victim, 0, sizeof *victim);
	victim->used = true;
	victim->client = *c;
	return victim;
}

int64_t cs_web_clients_turn(struct cs_web_clients *t, const struct cs_web_client *c,
			    uint64_t now_ms, bool *queued)
{
	int64_t wait = 0;

	*queued = false;
	pthread_mutex_lock(&t->mu);
	struct entry *e = find(t, c);
	if (e && e->next_turn_ms > now_ms) {
		uint64_t w = e->next_turn_ms - now_ms;
		if (w > t->max_wait_ms) {
			wait = -1;
		} else {
			wait = (int64_t)w;
			e->next_turn_ms += t->penalty_ms;
			*queued = true;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return wait;
}

uint64_t cs_web_clients_note(struct cs_web_clients *t, const struct cs_web_client *c,
			     enum cs_web_misdeed kind, uint64_t now_ms, bool queued)
{
	uint64_t report = 0;

	pthread_mutex_lock(&t->mu);
	struct entry *e = find_or_add(t, c);
	t->totals[kind]++;
	e->counts[kind]++;
	e->unlogged[kind]++;
	e->last_ms = now_ms;
	if (kind == CS_WEB_BAD_TOKEN && !queued)
		e->next_turn_ms = (e->next_turn_ms > now_ms ? e->next_turn_ms : now_ms) +
				  t->penalty_ms;
	if (!e->ever_logged[kind] || now_ms - e->logged_ms[kind] >= LOG_EVERY_MS) {
		report = e->unlogged[kind];
		e->unlogged[kind] = 0;
		e->logged_ms[kind] = now_ms;
		e->ever_logged[kind] = true;
	}
	pthread_mutex_unlock(&t->mu);
	return report;
}

void cs_web_clients_totals(struct cs_web_clients *t, uint64_t totals[CS_WEB_MISDEED_MAX])
{
	pthread_mutex_lock(&t->mu);
	memcpy(totals, t->totals, sizeof t->totals);
	pthread_mutex_unlock(&t->mu);
}

void cs_web_clients_each(struct cs_web_clients *t, cs_web_client_fn fn, void *ctx)
{
	pthread_mutex_lock(&t->mu);
	for (unsigned i = 0; i < t->cnt; i++)
		if (t->e[i].used)
			fn(ctx, &t->e[i].client, t->e[i].counts);
	pthread_mutex_unlock(&t->mu);
}
