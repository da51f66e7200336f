/*
 * recsize.c — the bytes each connection costs connscope, as the compiler
 * lays out its record types, for tests/bench/run.sh's "bytes per entry"
 * table.
 *
 *   recsize               one line per type: NAME<TAB>BYTES<TAB>WHAT
 *
 * connscope has no debug output to print these from, and production code
 * should not grow one for a benchmark: this tool includes the analyzer's
 * headers and prints sizeof, so it follows every change to the layout
 * without linking anything.  A new kind of entry (a compact TIME_WAIT or
 * attempt entry) is one more line in entries[].
 *
 * Built by tests/bench/run.sh with `cc -I.` from the repository's root.
 */
#include <stdint.h>
#include <stdio.h>

#include "analyzer/tracking/conn.h"
#include "analyzer/tracking/flow.h"

struct entry {
	const char *name;
	size_t bytes;
	const char *what;
};

/* The flow table's index slot, by the type the table declares it with. */
#define INDEX_SLOT_BYTES sizeof(*((struct cs_flow_table *)0)->slots)

static const struct entry entries[] = {
	{ "struct cs_conn", sizeof(struct cs_conn),
	  "the record of one tracked connection while it is in memory: open, or quiet for less than 100 ms" },
	{ "struct cs_aside_entry", sizeof(struct cs_aside_entry),
	  "the entry of a record set aside (TIME_WAIT, unanswered SYN, reset); its record waits packed beside it (pack.h; the packed size depends on the traffic: PROFILE.md)" },
	{ "index slot", INDEX_SLOT_BYTES,
	  "the flow table's index entry (hash tag and record number), one or more per record" },
	{ "struct cs_endpoint", sizeof(struct cs_endpoint),
	  "one side of a record (two in each cs_conn), Zeek's endpoint included" },
	{ "struct cs_zeek_ep", sizeof(struct cs_zeek_ep),
	  "Zeek's model of one side (inside cs_endpoint)" },
	{ "struct cs_flow_key", sizeof(struct cs_flow_key),
	  "the canonical 4-tuple (inside cs_conn)" },
};

int main(void)
{
	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
		printf("%s\t%zu\t%s\n", entries[i].name, entries[i].bytes, entries[i].what);
	return 0;
}
