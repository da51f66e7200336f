/*
 * guard.c — request deadlines (see guard.h for why).
 */
#include "web/guard.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "analyzer/run/thread.h"

#define CHECK_EVERY_SEC 1

struct slot {
	int fd;			/* -1: free */
	uint64_t due_ms;	/* 0: not waiting for a request */
};

struct cs_web_guard {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	pthread_t thread;
	bool stopping;
	unsigned request_ms;
	unsigned slot_cnt;
	struct slot slots[];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Shuts down the late; under mu, so no slot is forgotten meanwhile. */
static void cut_the_late(struct cs_web_guard *g)
{
	uint64_t now = now_ms();

	for (unsigned i = 0; i < g->slot_cnt; i++) {
		struct slot *s = &g->slots[i];
		if (s->fd < 0 || !s->due_ms || now < s->due_ms)
			continue;
		shutdown(s->fd, SHUT_RDWR);
		s->due_ms = 0;
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

struct cs_web_guard *cs_web_guard_create(unsigned slots, unsigned request_sec)
{
	struct cs_web_guard *g = calloc(1, sizeof *g + slots * sizeof g->slots[0]);

	if (!g)
		return NULL;
	g->slot_cnt = slots;
	g->request_ms = request_sec * 1000;
	for (unsigned i = 0; i < slots; i++)
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

int cs_web_guard_watch(struct cs_web_guard *g, int fd)
{
	int found = -1;

	pthread_mutex_lock(&g->mu);
	for (unsigned i = 0; i < g->slot_cnt && found < 0; i++)
		if (g->slots[i].fd < 0) {
			g->slots[i] = (struct slot){ fd, now_ms() + g->request_ms };
			found = (int)i;
		}
	pthread_mutex_unlock(&g->mu);
	return found;
}

static void set_due(struct cs_web_guard *g, int slot, bool arm)
{
	if (slot < 0 || (unsigned)slot >= g->slot_cnt)
		return;
	pthread_mutex_lock(&g->mu);
	g->slots[slot].due_ms = arm ? now_ms() + g->request_ms : 0;
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
	if (slot < 0 || (unsigned)slot >= g->slot_cnt)
		return;
	pthread_mutex_lock(&g->mu);
	g->slots[slot] = (struct slot){ -1, 0 };
	pthread_mutex_unlock(&g->mu);
}
