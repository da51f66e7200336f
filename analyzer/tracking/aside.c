/*
 * aside.c — quiet connections set aside: entries in memory, records in a
 * temporary file.
 */
#include "analyzer/tracking/aside.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORD_BYTES ((off_t)sizeof(struct cs_conn))

int cs_aside_init(struct cs_aside *s, uint32_t cap)
{
	memset(s, 0, sizeof *s);
	/* Pages of this array are touched only as entries are first used. */
	s->entries = calloc((size_t)cap + 1, sizeof *s->entries);
	s->last = malloc(sizeof *s->last);
	/* Unlinked at once (tmpfile): nothing is left behind, however the
	 * run ends. */
	s->file = tmpfile();
	if (!s->entries || !s->last || !s->file) {
		cs_aside_fini(s);
		return -1;
	}
	s->cap = cap;
	s->never_used = 1;
	return 0;
}

void cs_aside_fini(struct cs_aside *s)
{
	free(s->entries);
	free(s->last);
	if (s->file)
		fclose(s->file);
	memset(s, 0, sizeof *s);
}

static uint32_t take_entry(struct cs_aside *s)
{
	if (s->free_head) {
		uint32_t i = s->free_head;
		s->free_head = s->entries[i].lru_next;
		return i;
	}
	if (s->never_used > s->cap)
		return 0;	/* cannot happen: the table holds at most cap */
	return s->never_used++;
}

static void give_back(struct cs_aside *s, uint32_t i)
{
	s->entries[i].lru_next = s->free_head;
	s->free_head = i;
	if (s->last_i == i)
		s->last_i = 0;
}

/* All n bytes at offset at, through interruptions and short transfers. */
static bool write_all(int fd, const void *buf, size_t n, off_t at)
{
	const char *p = buf;

	while (n) {
		ssize_t k = pwrite(fd, p, n, at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
		at += k;
	}
	return true;
}

static bool read_all(int fd, void *buf, size_t n, off_t at)
{
	char *p = buf;

	while (n) {
		ssize_t k = pread(fd, p, n, at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0)
			errno = EIO;	/* the file is shorter than written */
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
		at += k;
	}
	return true;
}

uint32_t cs_aside_put(struct cs_aside *s, const struct cs_conn *c, uint32_t hash)
{
	uint32_t i = take_entry(s);

	if (!i)
		return 0;
	/* A full disk keeps the record in memory: it costs room, not answers. */
	if (!write_all(fileno(s->file), c, sizeof *c, (off_t)i * RECORD_BYTES)) {
		give_back(s, i);
		return 0;
	}
	s->entries[i] = (struct cs_aside_entry){
		.last_ts_us = c->last_ts_us, .id = c->id, .hash = hash,
	};
	s->count++;
	s->put_cnt++;
	return i;
}

/* Entry i's record in s->last. */
static void read_record(struct cs_aside *s, uint32_t i)
{
	if (s->last_i == i)
		return;
	s->last_i = 0;
	if (!read_all(fileno(s->file), s->last, sizeof *s->last,
		      (off_t)i * RECORD_BYTES)) {
		fprintf(stderr, "connscope: cannot read a connection back from "
			"its temporary file: %s\n", strerror(errno));
		abort();
	}
	s->last_i = i;
	s->read_cnt++;
}

bool cs_aside_key_is(struct cs_aside *s, uint32_t i, const struct cs_flow_key *k)
{
	read_record(s, i);
	return memcmp(&s->last->key, k, sizeof *k) == 0;
}

void cs_aside_take(struct cs_aside *s, uint32_t i, struct cs_conn *out)
{
	read_record(s, i);
	*out = *s->last;
	give_back(s, i);
	s->count--;
}
