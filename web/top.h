/*
 * top.h — /api/top: where to look first.
 *
 * The servers (address and port) and the clients (address) with the most
 * failed connections (refused, timeout, unreachable, aborted,
 * reset_nonexistent, half_open) in the connection set, each with its main
 * failing outcome.  A capture may hold ten million distinct clients (a
 * spoofed flood), so the candidates are found in fixed memory by
 * Misra-Gries counting (every key failing more than 1/(TOP_KEEP + 1) of
 * the times is kept), and a second scan counts the candidates exactly:
 * the figures shown are exact.
 */
#ifndef CS_WEB_TOP_H
#define CS_WEB_TOP_H

#include "analyzer/views/snapshot.h"
#include "web/render.h"

#define CS_TOP_SHOWN 10

void cs_render_top(const struct cs_snapshot *s, struct cs_reply *r);

#endif /* CS_WEB_TOP_H */
