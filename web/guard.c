/*
 * guard.c — request deadlines (see guard.h for why).
 */
#include "web/guard.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "capture/assert.h"
#include "capture/thread.h"

#define CHECK_EVERY_SEC 1

struct slot {
	int fd;			/* -1: free */
	bool waiting;		/* for a request, since armed_ms */
	uint64_t armed_ms;
	struct cs_web_client client;
};

struct cs_web_guard {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	pthread_t thread;
	bool stopping;
	struct cs_web_guard_limits lim;
	unsigned used;			/* slots with a connection */
	uint64_t cut_cnt;
	struct slot slots[];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Shuts down the late; under mu, so no slot is forgotten meanwhile.  While
 * the server is busy the deadline is the short one, for connections
 * already waiting too: an idle connection holds a thread a newcomer needs. */
static void cut_the_late(struct cs_web_guard *g)
{
	uint64_t now = now_ms();
	bool busy = g->used >= g->lim.busy_slots;
	uint64_t limit_ms = 1000ull * (busy ? g->lim.busy_request_sec : g->lim.request_sec);

	for (unsigned i = 0; i < g->lim.slots; i++) {
		struct slot *s = &g->slots[i];
		if (s->fd < 0 || !s->waiting || now - s->armed_ms < limit_ms)
			continue;
		shutdown(s->fd, SHUT_RDWR);
		s->waiting = false;
		g->cut_cnt++;
	}
}

static void *guard_main(void *arg)
{
	struct cs_web_guard *g = arg;

	pthread_mutex_lock(&g->mu);
	while (!g->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += CHECK_EVERY_SEC;
		pthread_cond_timedwait(&g->wake, &g->mu, &until);
		cut_the_late(g);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

struct cs_web_guard *cs_web_guard_create(const struct cs_web_guard_limits *l)
{
	struct cs_web_guard *g = calloc(1, sizeof *g + l->slots * sizeof g->slots[0]);

	if (!g)
		return NULL;
	g->lim = *l;
	for (unsigned i = 0; i < l->slots; i++)
		g->slots[i].fd = -1;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->wake, NULL);
	/* Signals stay with the main thread: a Ctrl-C taken here would set
	 * the stop flag but leave the main thread in its blocking read. */
	if (cs_thread_start(&g->thread, guard_main, g) != 0) {
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->mu);
		free(g);
		return NULL;
	}
	return g;
}

void cs_web_guard_destroy(struct cs_web_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->stopping = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

/* libmicrohttpd asks (accept policy) and then announces (started) each
 * connection from its one listening thread, so no other admission comes
 * between a yes and the watch that counts it. */
bool cs_web_guard_admit(struct cs_web_guard *g, const struct cs_web_client *c)
{
	unsigned held = 0;

	pthread_mutex_lock(&g->mu);
	for (unsigned i = 0; i < g->lim.slots; i++)
		held += g->slots[i].fd >= 0 && cs_web_client_same(&g->slots[i].client, c);
	pthread_mutex_unlock(&g->mu);
	return held < g->lim.per_client;
}

int cs_web_guard_watch(struct cs_web_guard *g, int fd, const struct cs_web_client *c)
{
	int found = -1;

	pthread_mutex_lock(&g->mu);
	for (unsigned i = 0; i < g->lim.slots && found < 0; i++)
		if (g->slots[i].fd < 0) {
			g->slots[i] = (struct slot){ fd, true, now_ms(), *c };
			g->used++;
			found = (int)i;
		}
	pthread_mutex_unlock(&g->mu);
	return found;
}

static void set_due(struct cs_web_guard *g, int slot, bool arm)
{
	if (slot < 0 || (unsigned)slot >= g->lim.slots)
		return;
	pthread_mutex_lock(&g->mu);
	g->slots[slot].waiting = arm;
	g->slots[slot].armed_ms = now_ms();
	pthread_mutex_unlock(&g->mu);
}

void cs_web_guard_arm(struct cs_web_guard *g, int slot)
{
	set_due(g, slot, true);
}

void cs_web_guard_disarm(struct cs_web_guard *g, int slot)
{
	set_due(g, slot, false);
}

void cs_web_guard_forget(struct cs_web_guard *g, int slot)
{
	if (slot < 0 || (unsigned)slot >= g->lim.slots)
		return;
	pthread_mutex_lock(&g->mu);
	CS_ASSERT(g->slots[slot].fd >= 0 && g->used > 0);
	g->slots[slot] = (struct slot){ .fd = -1 };
	g->used--;
	pthread_mutex_unlock(&g->mu);
}

uint64_t cs_web_guard_cut_cnt(struct cs_web_guard *g)
{
	pthread_mutex_lock(&g->mu);
	uint64_t n = g->cut_cnt;
	pthread_mutex_unlock(&g->mu);
	return n;
}
