/*
 * flow.h — the connection table: find, create, expire, evict.
 *
 * Records are preallocated for --max-flows connections and handed out from
 * a never-used tail or a free list, so nothing is allocated per packet and
 * untouched records cost no memory (the array's pages are only touched as
 * connections are opened).  The index is an open-addressing hash of the
 * canonical 4-tuple that grows with the number of open connections: it
 * doubles a few entries per insert, never all at once (flow.c).
 *
 * Each record sits on one of four lists in order of last activity, one
 * per kind of timeout, so the head of a list is always the next to expire:
 * embryonic (a handshake not completed: a SYN nobody answered, or a
 * SYN-ACK never acknowledged), active, closed (both sides done:
 * TIME_WAIT's 2*MSL) and reset (a RST ended it: nothing is left of it but
 * segments already in flight, so it lingers only a few seconds, and what
 * comes later is a new record — often a RST for a connection its peer no
 * longer has).  When the table fills, timeouts shrink
 * (pf's adaptive timeouts) and, when it is full, the oldest attempt left
 * unanswered is evicted first, then the oldest reset or closed, then a
 * handshake under way, and only then the least recently active one — a
 * SYN flood cannot push out the connections being diagnosed.  An evicted
 * record is held (below); every record that leaves is handed to the done
 * callback first, so evicted connections are still reported, and the key
 * of one that leaves before its time is kept (evicted.h) so that its later
 * packets open no new record.  Time is packet time.
 *
 * Held records.  An evicted record is not reported at once: it is set
 * aside and put on the held list of the list it left (an attempt its
 * server answered on one of its own), out of the count --max-flows
 * bounds, still in the index.  A client retries its SYN after
 * 1, 3, 7 s, a server repeats its SYN-ACK, a RST or an ICMP error answers
 * an attempt, a late FIN or ACK follows a close, an idle connection
 * speaks again: any such packet finds the record there and it rejoins the
 * table whole (evicting another if the table is full), one connection
 * with every packet, instead of a second row begun by the retry or
 * packets counted apart.  One never heard from again leaves at its list's
 * timeout (unshrunk), or early when more than held_max are held (of the
 * kind whose later packets matter least, oldest first: held_victim in
 * flow.c), and is reported then, with `evicted` set; leaving early, its
 * key is kept like any evicted one's.  Each costs
 * its entry and packed bytes (40 to 90 bytes), beside the 72 bytes its
 * key took before.
 *
 * A record quiet for CS_FLOW_ASIDE_AFTER_US on the embryonic, closed or
 * reset list goes aside (aside.h): a 24-byte entry stands for it in the
 * index and on its list, the record is packed, and it is unpacked whole
 * when anything needs it again, so it counts, expires and is evicted as
 * before.
 *
 * The index is kept at most three quarters full, so every probe meets an
 * empty slot soon.  Growing it is the one allocation after setup; when
 * that fails, a new connection that would fill the index past that is
 * refused: it is not tracked, and counted in untracked[] (cs_flow_create
 * returns NULL).
 */
#ifndef CS_ANALYZER_FLOW_H
#define CS_ANALYZER_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "analyzer/tracking/aside.h"
#include "analyzer/tracking/conn.h"
#include "analyzer/tracking/evicted.h"
#include "analyzer/tracking/packer.h"

enum cs_flow_list {
	CS_LIST_EMBRYONIC,
	CS_LIST_ACTIVE,
	CS_LIST_CLOSED,
	CS_LIST_RESET,
	/* Not states: records evicted from each of the four above, held
	 * packed until heard from again or their time is over (see "Held
	 * records"), in the same order. */
	CS_LIST_HELD_EMBRYONIC,
	CS_LIST_HELD_ACTIVE,
	CS_LIST_HELD_CLOSED,
	CS_LIST_HELD_RESET,
	/* Evicted embryonic records whose server answered (a SYN-ACK, no ACK
	 * yet): what a flood of spoofed SYNs leaves.  Apart from the others,
	 * to leave before the attempts whose clients retry. */
	CS_LIST_HELD_HALF_OPEN,
	CS_LIST_MAX
};
/* The lists of states: the first four. */
#define CS_LIST_STATES CS_LIST_HELD_EMBRYONIC
_Static_assert(CS_LIST_STATES == CS_EVICTED_LISTS, "evicted.h keeps a timeout a list");
_Static_assert(CS_LIST_MAX <= 16, "an aside entry's list is 4 bits (aside.h)");

static inline bool cs_flow_list_is_held(unsigned l)
{
	return l >= CS_LIST_STATES;
}

struct cs_flow_opts {
	uint32_t max_flows;
	uint64_t idle_timeout_us;	/* established and closing connections */
	uint64_t attempt_timeout_us;	/* unanswered SYNs (retries stay one) */
	uint64_t closed_timeout_us;	/* after both FINs: 2*MSL */
	uint64_t reset_linger_us;	/* after a RST */
	bool vlan_key;			/* VLAN id is part of the key */
	bool set_aside;			/* quiet records go aside (aside.h) */
	/* ... packed on a thread of their own (packer.h), with set_aside. */
	bool pack_thread;
	/* Evicted records are held (see "Held records" above); only with
	 * set_aside, which holding them needs. */
	bool hold_evicted;
};

#define CS_FLOW_MAX_DEFAULT 1000000u
/* Past this share of --max-flows, timeouts shrink (flow.c). */
#define CS_FLOW_ADAPTIVE_START_PERCENT 60
#define CS_IDLE_TIMEOUT_SEC_DEFAULT 300
#define CS_MSL_SEC_DEFAULT 30
/* Linux retries a SYN after 1, 3, 7, 15, 31 and 63 s: a gap of up to 32 s
 * between retries of one attempt must not split it. */
#define CS_ATTEMPT_TIMEOUT_SEC 60
/* A reset connection is gone at once; segments in flight arrive within a
 * few round trips (and Zeek waits tcp_reset_delay, 5 s, too). */
#define CS_RESET_LINGER_SEC 5
/* A record quiet this long on the embryonic, closed or reset list goes
 * aside (aside.h).  Long enough for what follows at once -- the SYN-ACK
 * after a SYN, the last ACK after a FIN -- so that few come back. */
#define CS_FLOW_ASIDE_AFTER_US 100000u
/* ... or sooner, oldest first, while more whole records than this wait
 * on those lists: a flood of 100,000 SYNs a second would otherwise hold
 * 10,000 of them (7 MiB) at any time.  (At 2,048, LARGE packed a quarter
 * more records, taken back by the flood's SYN-ACKs; at 8,192, SMALL's
 * peak grew by 3 MiB.) */
#define CS_FLOW_WHOLE_WAITING_MAX 4096u

/*
 * A handshake silent this long (a SYN nobody answered, a SYN-ACK nobody
 * acknowledged) goes first when the table is full: its sender has
 * retransmitted by then (RFC 6298's initial RTO is 1 s).  A younger one is
 * a handshake under way, likely completed within milliseconds, and goes
 * after the reset and closed connections.  Evicting the oldest SYN
 * whatever its age, LARGE at --max-flows 100,000 lost 247,945 of its
 * 535,465 completed connections, evicted as SYNs a few milliseconds old
 * while the rest of the table was mostly in TIME_WAIT; now it loses none.
 */
#define CS_FLOW_UNANSWERED_AFTER_US 1000000u

/* Why a new connection was not tracked (summary.untracked). */
enum cs_untracked {
	CS_UNTRACKED_NONE,
	CS_UNTRACKED_NO_MEMORY,	/* the index could not grow */
	CS_UNTRACKED_EVICTED,	/* a later packet of an evicted connection */
	CS_UNTRACKED_MAX
};

extern const char *const cs_untracked_names[CS_UNTRACKED_MAX];

/* The most index entries one new connection moves into a grown index:
 * a growth must not stall one packet for a million moves (flow.c). */
#define CS_FLOW_REHASH_MOVES_MAX 32

/*
 * The most entries an index of `slots` holds before it grows.  Three
 * quarters, not a half: at the peak of LARGE (713,404 records) that is an
 * index of 8 MiB rather than 16, for an unsuccessful lookup (a new
 * connection) of about five probes instead of two or three -- mostly in
 * one cache line, as a slot is 8 bytes.
 */
static inline uint32_t cs_flow_index_fill_max(uint32_t slots)
{
	return slots / 4 * 3;
}

/* The bit of an index or list ref that names an aside.h entry rather
 * than a record: --max-flows is at most 2^30. */
#define CS_FLOW_REF_SET_ASIDE 0x80000000u

typedef void (*cs_conn_done_fn)(void *ctx, struct cs_conn *c, uint64_t now_us);

/* What working out a packet's key and hash reads (cs_flow_where): set by
 * cs_flow_init and never changed after. */
struct cs_flow_keying {
	uint64_t seed;		/* per run (cs_flow_init) */
	bool vlan_key;		/* opt.vlan_key */
};

struct cs_flow_table {
	struct cs_flow_opts opt;
	struct cs_conn *conns;		/* [1..max_flows]; [0] is "none" */
	uint32_t never_used;		/* next record never handed out */
	cs_conn_ref free_head;
	uint32_t count;			/* records in use */
	uint64_t *slots;		/* hash tag << 32 | record, 0 empty */
	uint32_t slot_mask;		/* slots - 1, a power of two minus one */
	uint32_t slot_max;		/* the index never grows past this */
	/* While the index grows, the one before it is emptied into it a few
	 * entries per insert (flow.c); lookups look in both. */
	uint64_t *old_slots;		/* NULL when not growing */
	uint32_t old_mask;
	uint32_t old_next;		/* its next slot to move */
	uint32_t old_left;		/* entries still in it */
	struct { cs_conn_ref head, tail; uint32_t count; } lists[CS_LIST_MAX];
	uint64_t base_timeout[CS_LIST_MAX];	/* each list's, from opt */
	uint64_t adaptive_start;	/* records in use before timeouts shrink */
	uint64_t adaptive_end;		/* ... and where they would reach 0 */
	/* base_timeout / (adaptive_end - adaptive_start), and its remainder:
	 * what timeout_at (flow.c) would divide for every call. */
	uint64_t timeout_q[CS_LIST_MAX], timeout_r[CS_LIST_MAX];
	uint64_t next_due_us;		/* no list head expires before this */
	uint64_t next_due_count;	/* ... while count stays at most this */
	/* The same with the timeouts of the count when they were worked out
	 * (flow.c, next_due_find): later, but it holds only until one
	 * record more. */
	uint64_t exact_due_us, exact_due_count;
	uint64_t due_scans;		/* calls that looked at the heads */
	uint64_t next_id;
	struct cs_flow_keying keying;
	uint64_t evicted[CS_EVICT_MAX];
	uint64_t untracked[CS_UNTRACKED_MAX];	/* creations refused, by reason */
	uint64_t expired;
	uint64_t expired_early;		/* by timeouts shrunk as the table filled */
	uint32_t peak;			/* most records in use or held at once */
	/* Records on the held lists: their counts summed, as every packet
	 * reads it (cs_flow_whole_waiting). */
	uint32_t held_count;
	uint32_t held_max;		/* ... at most */
	uint64_t rejoined;		/* held records heard from again */
	uint64_t held_early;		/* ... that left early: held_max were */
	uint32_t rehash_moved_most;	/* most entries one insert moved */
	/* Allocates a larger index (calloc); a test makes it fail. */
	void *(*index_alloc)(size_t n, size_t size);
	/* Records set aside (aside.h): in the index and on their list as
	 * refs with CS_FLOW_REF_SET_ASIDE set, counted in count like any
	 * other.  On each list that goes aside, aside_from is the first
	 * record not looked at yet: all before it went aside (flow.c). */
	struct cs_aside aside;
	bool aside_on;
	struct cs_packer *packer;	/* NULL: this thread packs */
	cs_conn_ref aside_from[CS_LIST_MAX];
	uint64_t aside_due_us;		/* none is quiet long enough before */
	struct cs_evicted evicted_keys;	/* what eviction kept (evicted.h) */
	cs_conn_done_fn done;
	cs_conn_done_fn zeek_row;	/* a conn.log row ends inside a record */
	void *done_ctx;
};

int cs_flow_init(struct cs_flow_table *t, const struct cs_flow_opts *o,
		 cs_conn_done_fn done, void *ctx, char *err, size_t errlen);
void cs_flow_fini(struct cs_flow_table *t);

/* Fills the canonical key of a packet; *side is the key index of its
 * sender (0 if the sender is the lower endpoint). */
void cs_flow_key(const struct cs_pkt *p, bool vlan_key, struct cs_flow_key *k,
		 int *side);

/* The record of key k, taken back if set aside; NULL for none, and for
 * a held record (evicted: only a packet of it brings it back). */
struct cs_conn *cs_flow_lookup(struct cs_flow_table *t,
			       const struct cs_flow_key *k);

/*
 * Where a packet goes in the table, worked out ahead of time: it reads
 * nothing of the table but its keying, which never changes, so another
 * thread may compute it (readahead.h) while this one looks up the packets
 * before.  That thread works from a copy of the keying (cs_flow_where_by):
 * read from the table, it shared a cache line with fields written for
 * every new connection.  The prefetches start the memory loads of a
 * lookup a few packets early: the index and the records are too big for
 * the caches, and waiting for them is most of a lookup's time.
 */
struct cs_flow_where {
	struct cs_flow_key key;
	uint32_t hash;
	int side;			/* key index of the sender */
};
void cs_flow_where(const struct cs_flow_table *t, const struct cs_pkt *p,
		   struct cs_flow_where *w);
void cs_flow_where_by(const struct cs_flow_keying *k, const struct cs_pkt *p,
		      struct cs_flow_where *w);
/* The record of w's key, taken back if set aside; a held record rejoins
 * the table (see "Held records" above): it is a packet's at now_us. */
struct cs_conn *cs_flow_find(struct cs_flow_table *t,
			     const struct cs_flow_where *w, uint64_t now_us);
void cs_flow_prefetch_slot(const struct cs_flow_table *t, uint32_t hash);
void cs_flow_prefetch_record(const struct cs_flow_table *t, uint32_t hash);

/* A new, zeroed record for k (evicting if the table is full), or NULL
 * when it is refused (counted in untracked[]). */
struct cs_conn *cs_flow_create(struct cs_flow_table *t,
			       const struct cs_flow_key *k, uint64_t now_us);
/* The same for w's key, whose hash is known. */
struct cs_conn *cs_flow_create_at(struct cs_flow_table *t,
				  const struct cs_flow_where *w, uint64_t now_us);

/* The evicted connection the packet at w (of time now_us) would belong
 * to, while its key is kept (evicted.h), or NULL. */
struct cs_evicted_key *cs_flow_evicted(struct cs_flow_table *t,
				       const struct cs_flow_where *w,
				       uint64_t now_us);
/* A packet of g, which opens no record: counted in
 * untracked[CS_UNTRACKED_EVICTED], and g is kept for its record's timeout
 * from now. */
void cs_flow_evicted_packet(struct cs_flow_table *t, struct cs_evicted_key *g,
			    uint64_t now_us);

/* Re-files c by its state and makes it the most recently active. */
void cs_flow_touch(struct cs_flow_table *t, struct cs_conn *c, uint64_t now_us);
/* cs_flow_touch for a segment that changed nothing its list depends on
 * (track.c's fast path): c stays on its list, most recently active. */
void cs_flow_touch_on_list(struct cs_flow_table *t, struct cs_conn *c,
			   uint64_t now_us);

/* Hands c to the done callback and frees it. */
void cs_flow_remove(struct cs_flow_table *t, struct cs_conn *c, uint64_t now_us);

/* cs_flow_expire once something may be due. */
unsigned cs_flow_expire_due(struct cs_flow_table *t, uint64_t now_us,
			    unsigned max_work);

/* Sets aside the records quiet long enough (aside.h), a few at a time. */
void cs_flow_set_aside_quiet(struct cs_flow_table *t, uint64_t now_us);
/* Sets aside those the packer has packed (packer.h), if still as they
 * were. */
void cs_flow_take_packed(struct cs_flow_table *t);

/* Whole records on the lists that go aside: those not quiet long enough
 * yet (and the few a detector holds).  The held lists hold entries
 * only (flow.c). */
static inline uint32_t cs_flow_whole_waiting(const struct cs_flow_table *t)
{
	return t->lists[CS_LIST_EMBRYONIC].count + t->lists[CS_LIST_CLOSED].count +
	       t->lists[CS_LIST_RESET].count -
	       (t->aside.count - t->held_count);
}

/* Expires at most max_work records whose time has come; returns how many.
 * Inline: it runs for every packet, and on nearly all of them nothing is
 * due (next_due_us, see flow.c), which two comparisons tell; the same
 * for records to set aside (aside_due_us).  Called before each packet is
 * looked up, when nobody holds a record: quiet records go aside then
 * too, and those the packer has packed (packer.h). */
static inline unsigned cs_flow_expire(struct cs_flow_table *t, uint64_t now_us,
				      unsigned max_work)
{
	if (t->packer && cs_packer_has_packed(t->packer))
		cs_flow_take_packed(t);
	if (t->aside_on && (now_us >= t->aside_due_us ||
			    cs_flow_whole_waiting(t) > CS_FLOW_WHOLE_WAITING_MAX))
		cs_flow_set_aside_quiet(t, now_us);
	if (now_us < t->next_due_us && t->count <= t->next_due_count)
		return 0;
	if (now_us < t->exact_due_us && t->count <= t->exact_due_count)
		return 0;
	return cs_flow_expire_due(t, now_us, max_work);
}

/* Removes every record, oldest first (end of the capture). */
void cs_flow_flush(struct cs_flow_table *t, uint64_t now_us);

/* The list a record belongs on, from its state. */
enum cs_flow_list cs_flow_classify(const struct cs_conn *c);

/* The timeout of a list now, shrunk as the table fills. */
uint64_t cs_flow_timeout(const struct cs_flow_table *t, enum cs_flow_list l);

/*
 * For those who remember records without holding them (the web view's
 * gauges, analyzer/views/tally.c), whether set aside or not.  A ref on a
 * list may name an entry set aside: these read either kind.
 */
/* The hash the index files key k under. */
uint32_t cs_flow_hash(const struct cs_flow_table *t, const struct cs_flow_key *k);

/* The record in use with this id, filed under hash, or 0 once it has
 * left the table.  The ref holds for the calls below until anything
 * changes the table (a packet, an expiry): finding a record by id reads
 * the id of each record set aside that the probe meets, which must be
 * unpacked, so it is done once.  Takes nothing back. */
cs_conn_ref cs_flow_ref_of_id(const struct cs_flow_table *t, uint32_t hash,
			      uint64_t id);
/* Is the record with this id, filed under hash, still in use? */
bool cs_flow_has_id(const struct cs_flow_table *t, uint32_t hash, uint64_t id);
/* Copies len bytes at offset of record ref into out.  Of one set aside,
 * only the words holding them are unpacked: for a field packing stores as
 * it is (pack.h, cs_conn_unpack_bytes).  Takes nothing back. */
void cs_flow_read(const struct cs_flow_table *t, cs_conn_ref ref,
		  size_t offset, size_t len, void *out);
/* Record ref, filed under hash, whole: taken back if it was set aside
 * (then *was_aside).  Call when nobody holds a record, as for a lookup. */
struct cs_conn *cs_flow_take(struct cs_flow_table *t, uint32_t hash,
			     cs_conn_ref ref, bool *was_aside);
/* Sets c aside again, where it was: one cs_flow_take took back.  A held
 * record that cannot be leaves (at now_us). */
void cs_flow_put_back(struct cs_flow_table *t, struct cs_conn *c,
		      uint64_t now_us);

/* The ref before (older) and after (newer) ref on its list, 0 at an end;
 * its last packet's time. */
cs_conn_ref cs_flow_older(const struct cs_flow_table *t, cs_conn_ref ref);
cs_conn_ref cs_flow_newer(const struct cs_flow_table *t, cs_conn_ref ref);
uint64_t cs_flow_last_ts(const struct cs_flow_table *t, cs_conn_ref ref);
/* The record of ref as it stands, to read: the record itself, or, for
 * one set aside, unpacked into *copy.  Takes nothing back. */
const struct cs_conn *cs_flow_view(const struct cs_flow_table *t, cs_conn_ref ref,
				   struct cs_conn *copy);

#endif /* CS_ANALYZER_FLOW_H */
