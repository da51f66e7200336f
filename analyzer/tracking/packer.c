/*
 * packer.c — quiet records packed on a thread of their own (packer.h).
 *
 * A batch changes hands by its state: the flow table's thread owns it
 * while FILLING or PACKED, the packing thread while PACKING.  Handing a
 * batch over to the thread takes the mutex (the thread may be asleep on
 * the condition); handing it back is one release store, which the flow
 * table's thread looks for at every packet (cs_packer_has_packed).
 */
#include "analyzer/tracking/packer.h"

#include <stdlib.h>
#include <string.h>

#include "capture/assert.h"
#include "capture/thread.h"

/* The thread packs with the templates of packer 1; the flow table's own
 * packing uses those of packer 0 (pack.h). */
#define THREAD_PACKER 1
_Static_assert(THREAD_PACKER < CS_PACK_PACKERS, "a half of its own");

static int state_of(const struct cs_packer_batch *b)
{
	return atomic_load_explicit(&b->state, memory_order_acquire);
}

static void pack_batch(struct cs_pack_dict *dict, struct cs_packer_batch *b)
{
	uint32_t at = 0;

	for (uint32_t i = 0; i < b->n; i++) {
		/* Room for this one's CS_PACK_MAX: each before took less. */
		size_t len = cs_conn_pack(dict, THREAD_PACKER, &b->copy[i],
					  b->packed + at);
		b->at[i] = at;
		b->len[i] = (uint32_t)len;
		at += (uint32_t)len;
	}
}

/* The batch handed over to the thread, or NULL; under mu. */
static struct cs_packer_batch *handed_over(struct cs_packer *p)
{
	for (int i = 0; i < 2; i++)
		if (state_of(&p->batch[i]) == CS_PACKER_PACKING)
			return &p->batch[i];
	return NULL;
}

static void *packer_main(void *arg)
{
	struct cs_packer *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct cs_packer_batch *b = handed_over(p);
		if (!b) {
			if (p->stop)
				break;
			p->asleep = true;
			pthread_cond_wait(&p->work, &p->mu);
			p->asleep = false;
			continue;
		}
		pthread_mutex_unlock(&p->mu);
		pack_batch(p->dict, b);
		pthread_mutex_lock(&p->mu);
		atomic_store_explicit(&b->state, CS_PACKER_PACKED,
				      memory_order_release);
		pthread_cond_signal(&p->done);	/* cs_packer_forget may wait */
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct cs_packer *cs_packer_start(struct cs_pack_dict *dict)
{
	struct cs_packer *p = malloc(sizeof *p);

	if (!p)
		return NULL;
	/* Not cleared: the batches' pages are touched only as they are used. */
	p->dict = dict;
	p->stop = p->asleep = false;
	p->filling = 0;
	for (int i = 0; i < 2; i++) {
		atomic_init(&p->batch[i].state, CS_PACKER_FILLING);
		p->batch[i].n = 0;
	}
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return NULL;
	}
	if (pthread_cond_init(&p->work, NULL) != 0)
		goto no_work;
	if (pthread_cond_init(&p->done, NULL) != 0)
		goto no_done;
	if (cs_thread_start(&p->thread, packer_main, p) != 0)
		goto no_thread;
	return p;
no_thread:
	pthread_cond_destroy(&p->done);
no_done:
	pthread_cond_destroy(&p->work);
no_work:
	pthread_mutex_destroy(&p->mu);
	free(p);
	return NULL;
}

void cs_packer_stop(struct cs_packer *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static void hand_over(struct cs_packer *p, struct cs_packer_batch *b)
{
	pthread_mutex_lock(&p->mu);
	atomic_store_explicit(&b->state, CS_PACKER_PACKING, memory_order_release);
	if (p->asleep)
		pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

bool cs_packer_add(struct cs_packer *p, cs_conn_ref ref, const struct cs_conn *c)
{
	struct cs_packer_batch *b = &p->batch[p->filling];

	if (state_of(b) != CS_PACKER_FILLING)
		return false;	/* the other is out too: no room */
	b->ref[b->n] = ref;
	memcpy(&b->copy[b->n], c, sizeof *c);	/* padding too: packed */
	if (++b->n == CS_PACKER_BATCH) {
		hand_over(p, b);
		p->filling ^= 1;
	}
	return true;
}

struct cs_packer_batch *cs_packer_packed(struct cs_packer *p)
{
	for (int i = 0; i < 2; i++)
		if (state_of(&p->batch[i]) == CS_PACKER_PACKED)
			return &p->batch[i];
	return NULL;
}

void cs_packer_taken(struct cs_packer_batch *b)
{
	CS_ASSERT(state_of(b) == CS_PACKER_PACKED);
	b->n = 0;
	atomic_store_explicit(&b->state, CS_PACKER_FILLING, memory_order_relaxed);
}

void cs_packer_forget(struct cs_packer *p)
{
	pthread_mutex_lock(&p->mu);
	while (handed_over(p))
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < 2; i++) {
		p->batch[i].n = 0;
		atomic_store_explicit(&p->batch[i].state, CS_PACKER_FILLING,
				      memory_order_relaxed);
	}
	p->filling = 0;
}
