/*
 * host.h — the kernel's side of a live capture, joined to the packets.
 *
 * Fed once a second with what capture/hostread.c read from the kernel of
 * connscope's own network namespace, it keeps the counters' first and
 * latest values (the report gives their difference: what moved during the
 * capture), every listener seen with its backlog and the fullest its
 * accept queue was, and socket counts per state.  From them it raises the
 * accept_queue_overflow alert: a listener whose queue is full while the
 * kernel counts ListenOverflows.  Counters are the namespace's, not a
 * listener's: the overflows of one sample are given to the listeners full
 * at that sample (exact when one is), and none when no queue was seen full.
 *
 * The analysing thread is its only writer; it reads no packet, only the
 * SYNs' destinations (so that a listener on a wildcard address is named by
 * the address its clients reached), and never touches a record.
 */
#ifndef CS_ANALYZER_HOST_H
#define CS_ANALYZER_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "analyzer/detectors/alert.h"
#include "capture/hostread.h"

struct cs_host_listen {
	struct cs_addr addr;		/* as the kernel has it (maybe :: or 0.0.0.0) */
	struct cs_addr reached;		/* a wildcard's address, from the SYNs */
	bool have_reached;
	uint16_t port;
	uint32_t backlog;
	uint32_t queue, queue_peak;	/* now, and the most seen */
	uint32_t syn_recv, syn_recv_peak;
	uint64_t overflows;		/* ListenOverflows while it was full */
	bool full;			/* at the latest sample */
	uint64_t full_since_us;		/* the first sample of this stretch */
	int32_t alert;			/* its open episode's alert, or -1 */
};

/* What the SYN-queue counters did between two samples, kept for the last
 * CS_HOST_STEPS samples so that a syn_flood alert, judged only once its
 * seconds close, finds what the kernel counted during it. */
#define CS_HOST_STEPS 600
struct cs_host_step {
	uint64_t from_us, ts_us;	/* the samples it lies between */
	uint32_t cookies_sent;		/* SyncookiesSent */
	uint32_t syn_drops;		/* TCPReqQFullDrop */
};

struct cs_host {
	bool on;			/* live capture with the host view */
	uint64_t samples;
	uint64_t sockets_incomplete;	/* samples whose socket dump failed */
	struct cs_host_sample first, last;
	uint32_t listen_cnt;
	struct cs_host_listen listen[CS_HOST_LISTENERS];
	uint64_t listen_unkept;
	uint64_t sockets_peak[CS_KSTATE_MAX];
	/* The packets' own figures at the samples, set beside the kernel's:
	 * endpoints in TIME_WAIT and CLOSE_WAIT (detect.h's gauges). */
	uint64_t wire_time_wait_peak, wire_close_wait_peak;
	struct cs_host_step steps[CS_HOST_STEPS];	/* a ring */
	uint32_t step_next, step_cnt;
};

void cs_host_init(struct cs_host *h, bool on);

/* One sample; alerts are raised in a.  time_wait and close_wait: the
 * endpoints the packets put in those states at that moment. */
void cs_host_sample_in(struct cs_host *h, struct cs_alerts *a,
		       const struct cs_host_sample *s, uint64_t time_wait,
		       uint64_t close_wait);

/* A SYN to dst:port was seen: names a wildcard listener on that port. */
void cs_host_note_syn(struct cs_host *h, const struct cs_addr *dst,
		      uint16_t port);

/* A counter's change over the capture; false when not read twice. */
bool cs_host_delta(const struct cs_host *h, enum cs_hostctr i, uint64_t *d);

/* The address a listener is named by: where its clients went, if the
 * kernel's is a wildcard. */
const struct cs_addr *cs_host_listen_addr(const struct cs_host_listen *l);

/* Did any counter move, a listener's queue fill, or sockets wait in
 * TIME_WAIT or CLOSE_WAIT: the text report gives its section only then. */
bool cs_host_moved(const struct cs_host *h);

/* Writes into each syn_flood alert what the kernel counted while it
 * lasted (figures cookies_sent, syn_drops and a clause of the sentence);
 * call after the detectors have written their alerts.  Nothing when the
 * host view is off. */
void cs_host_confirm_floods(const struct cs_host *h, struct cs_alerts *a);

/* When exactly one of the kernel's abort counters (TCPAbortOn*) moved
 * during the capture: what it means, and which and by how much; NULL
 * otherwise (none moved, or several: the kernel does not say which reset
 * was which). */
const char *cs_host_abort_reason(const struct cs_host *h, enum cs_hostctr *which,
				 uint64_t *n);

/* The accept_queue_overflow alert whose listener takes SYNs to a:port,
 * or NULL: failed connects to it are explained by it. */
const struct cs_alert *cs_host_overflow_alert(const struct cs_alerts *alerts,
					      const struct cs_addr *a,
					      uint16_t port);

#endif /* CS_ANALYZER_HOST_H */
