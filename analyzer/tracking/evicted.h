/*
 * evicted.h — connections a full table evicted, remembered by key, so that
 * their later packets are known as theirs and open no new record.
 *
 * When --max-flows is below the working set, the table evicts (flow.h) and
 * the evicted connection is reported at once.  Its later packets -- the
 * SYN-ACK a server retransmits for an evicted SYN, a retransmitted FIN, the
 * last ACK, the rest of a connection pushed out while quiet -- used to open
 * a new `midstream` record each, which filled the table in turn and was
 * evicted itself: at --max-flows 100,000 LARGE reported 2,228,702
 * connections for its 965,533, 1,170,799 of them midstream.
 *
 * Eviction now keeps the key and what decides whether a SYN opens a new
 * connection on that 4-tuple (its ISNs, the last acknowledgments, whether it
 * had finished), for as long as the record would have stayed in the table
 * from its last packet.  A later packet that belongs to it is counted in
 * summary.untracked.evicted and keeps it that long again.  A SYN that would
 * have started a new connection on the record starts one now, and so does
 * any SYN on an evicted handshake, which may yet be answered (track.c).
 * (An evicted record is held packed instead, flow.h: its key comes here
 * only when it leaves early, more being held than the table's size, or
 * when it cannot be packed.)
 *
 * Bounded: buckets of four entries, twice as many entries as --max-flows
 * (72 bytes each), allocated at the first eviction and freed at the end of
 * the capture.  A key put into a full bucket replaces the one whose
 * connection was heard from least recently (its later packets then open a
 * record as before, counted in forgotten): a connection quiet for long is
 * the least likely to send again, and a flood's SYN-ACKs, which come
 * again for 31 s, keep theirs.  Twice: with as many entries as records,
 * tests/evict.sh's mix at --max-flows 8000 reported 422 connections
 * midstream, with twice as many 152.  (tests/flood.sh, whose spoofed SYNs
 * never send again, pays for them: 53 → 70 MiB at --max-flows 100000.)
 */
#ifndef CS_ANALYZER_EVICTED_H
#define CS_ANALYZER_EVICTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/tracking/conn.h"

/* What decides whether a bare SYN on a known 4-tuple opens a new
 * connection (track.c), read from a record or kept by an eviction.  By
 * endpoint: [0] is the originator. */
struct cs_syn_facts {
	uint32_t isn[2];
	uint32_t last_ack[2];		/* ack field of its latest segment */
	bool syn[2];			/* it sent a SYN */
	bool finished;			/* closed by both sides, or reset */
	uint8_t tw;			/* key indexes in TIME_WAIT (port reuse) */
};

struct cs_syn_facts cs_syn_facts_of(const struct cs_conn *c, bool finished);

/* One evicted connection. */
struct cs_evicted_key {
	struct cs_flow_key key;
	uint8_t orig;			/* key index of the originator */
	uint8_t list;			/* enum cs_flow_list it left */
	uint32_t hash;			/* of key (evicted.c: not the table's) */
	struct cs_syn_facts syn;
	uint64_t until_us;		/* forgotten after this; 0: a free entry */
};
_Static_assert(sizeof(struct cs_evicted_key) == 72, "an evicted key is 72 bytes");

#define CS_EVICTED_WAYS 4		/* entries a bucket */
#define CS_EVICTED_PER_FLOW 2		/* entries a record of --max-flows */
#define CS_EVICTED_LISTS 4		/* the flow table's lists (flow.h) */

struct cs_evicted {
	struct cs_evicted_key *keys;	/* NULL until the first eviction */
	uint32_t bucket_mask;		/* buckets - 1, a power of two minus one */
	/* How long a key is kept after its connection's last packet: its
	 * list's timeout, as long as its record would have stayed. */
	uint64_t timeout_us[CS_EVICTED_LISTS];
	bool refused;			/* their memory was refused: none kept */
	uint64_t forgotten;		/* replaced before their time */
	/* Allocates the keys (calloc); a test makes it fail. */
	void *(*alloc)(size_t n, size_t size);
};

/* Sized for a table of max_flows records whose lists time out after
 * timeout_us; allocates nothing yet. */
void cs_evicted_init(struct cs_evicted *e, uint32_t max_flows,
		     const uint64_t timeout_us[CS_EVICTED_LISTS]);
/* Forgets every key and frees their memory (the end of a capture). */
void cs_evicted_clear(struct cs_evicted *e);

/* Remembers k (its key, orig, list and syn facts) from its connection's
 * last packet at last_us, as of now_us; false when there is no memory. */
bool cs_evicted_put(struct cs_evicted *e, const struct cs_evicted_key *k,
		    uint64_t last_us, uint64_t now_us);

/* A packet of g's connection at now_us: g is kept its timeout from now. */
void cs_evicted_seen(struct cs_evicted *e, struct cs_evicted_key *g,
		     uint64_t now_us);

/* When g's connection was last heard from. */
uint64_t cs_evicted_last_heard(const struct cs_evicted *e,
			       const struct cs_evicted_key *g);

/* The evicted connection with key k still remembered at now_us, or NULL. */
struct cs_evicted_key *cs_evicted_find(struct cs_evicted *e,
				       const struct cs_flow_key *k, uint64_t now_us);

static inline void cs_evicted_forget(struct cs_evicted_key *k)
{
	k->until_us = 0;
}

#endif
