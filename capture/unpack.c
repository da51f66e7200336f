/*
 * unpack.c — gzip, zstd and xz capture files through a stdio cookie.
 */
#include "capture/unpack.h"

#include <errno.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

const char *const cs_unpack_kind_names[CS_UNPACK_KIND_MAX] = {
	[CS_UNPACK_NONE] = "none",
	[CS_UNPACK_GZIP] = "gzip",
	[CS_UNPACK_ZSTD] = "zstd",
	[CS_UNPACK_XZ] = "xz",
};

/* Compressed bytes read from raw at a time. */
#define IN_SIZE (64u << 10)
/* The stdio buffer libpcap reads the decompressed bytes from. */
#define OUT_BUF_SIZE (256u << 10)
#define HEAD_LEN 12
#define ZSTD_WINDOW_LOG_MAX 27
_Static_assert((1u << ZSTD_WINDOW_LOG_MAX) == (unsigned)CS_UNPACK_WINDOW_MAX_MIB << 20,
	       "zstd's window limit is the one the header promises");

struct cs_unpack {
	enum cs_unpack_kind kind;
	FILE *raw;
	union {
		z_stream z;
		ZSTD_DStream *zs;
		lzma_stream x;
	} d;
	bool raw_eof;
	bool at_boundary;	/* the last stream or frame ended whole, and
				 * nothing of the next has been decoded */
	bool done;		/* the end, cleanly */
	char err[200];		/* the decompressor failed: why */
	size_t in_pos, in_len;
	unsigned char head[HEAD_LEN];
	size_t head_len;
	unsigned char in[IN_SIZE];
};

enum cs_unpack_kind cs_unpack_detect(const unsigned char *h, size_t len)
{
	static const unsigned char xz[6] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };

	if (len >= 2 && h[0] == 0x1f && h[1] == 0x8b)
		return CS_UNPACK_GZIP;			/* RFC 1952 */
	if (len >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd)
		return CS_UNPACK_ZSTD;			/* RFC 8878 frame magic */
	if (len >= 6 && memcmp(h, xz, sizeof xz) == 0)
		return CS_UNPACK_XZ;			/* .xz stream header */
	return CS_UNPACK_NONE;
}

const char *cs_unpack_error(const struct cs_unpack *u)
{
	return u && u->err[0] ? u->err : NULL;
}

size_t cs_unpack_head(const struct cs_unpack *u, unsigned char *buf, size_t len)
{
	size_t n = u->head_len < len ? u->head_len : len;

	memcpy(buf, u->head, n);
	return n;
}

/* ---- one step of each decompressor ---------------------------------------- */

enum step { STEP_MORE, STEP_END, STEP_FAILED };

static enum step failed(struct cs_unpack *u, const char *why)
{
	snprintf(u->err, sizeof u->err, "%s data damaged: %s",
		 cs_unpack_kind_names[u->kind], why);
	return STEP_FAILED;
}

/* gzip members may follow one another (gzip -c a b > c): each ends with
 * Z_STREAM_END and the next starts on a reset stream. */
static enum step step_gzip(struct cs_unpack *u, char *buf, size_t size, size_t *out)
{
	z_stream *z = &u->d.z;

	if (u->at_boundary && u->in_pos < u->in_len && inflateReset(z) != Z_OK)
		return failed(u, "cannot restart");
	z->next_in = u->in + u->in_pos;
	z->avail_in = (uInt)(u->in_len - u->in_pos);
	z->next_out = (Bytef *)buf;
	z->avail_out = (uInt)size;
	size_t before = u->in_pos;
	int rc = inflate(z, Z_NO_FLUSH);
	u->in_pos = u->in_len - z->avail_in;
	*out = size - z->avail_out;
	if (rc == Z_STREAM_END) {
		u->at_boundary = true;
		return STEP_MORE;
	}
	if (rc == Z_OK || rc == Z_BUF_ERROR) {	/* BUF_ERROR: wants input */
		if (*out || u->in_pos != before)
			u->at_boundary = false;	/* inside a member now */
		return STEP_MORE;
	}
	if (rc == Z_MEM_ERROR)
		return failed(u, "out of memory");
	return failed(u, z->msg ? z->msg : "inflate failed");
}

/* A zstd file may hold several frames; 0 from ZSTD_decompressStream is a
 * frame decoded and flushed whole. */
static enum step step_zstd(struct cs_unpack *u, char *buf, size_t size, size_t *out)
{
	ZSTD_inBuffer in = { u->in + u->in_pos, u->in_len - u->in_pos, 0 };
	ZSTD_outBuffer o = { buf, size, 0 };
	size_t rc = ZSTD_decompressStream(u->d.zs, &o, &in);

	u->in_pos += in.pos;
	*out = o.pos;
	if (ZSTD_isError(rc)) {
		if (ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge)
			snprintf(u->err, sizeof u->err, "zstd data asks for a window "
				 "over %u MiB (zstd --long?): refused, to bound memory",
				 CS_UNPACK_WINDOW_MAX_MIB);
		else
			failed(u, ZSTD_getErrorName(rc));
		return STEP_FAILED;
	}
	u->at_boundary = rc == 0;
	return STEP_MORE;
}

/* LZMA_CONCATENATED: several .xz streams in a row, as xz itself reads
 * them; the decoder learns the end only from LZMA_FINISH. */
static enum step step_xz(struct cs_unpack *u, char *buf, size_t size, size_t *out)
{
	lzma_stream *x = &u->d.x;
	bool last = u->raw_eof;

	x->next_in = u->in + u->in_pos;
	x->avail_in = u->in_len - u->in_pos;
	x->next_out = (uint8_t *)buf;
	x->avail_out = size;
	lzma_ret rc = lzma_code(x, last ? LZMA_FINISH : LZMA_RUN);
	u->in_pos = u->in_len - x->avail_in;
	*out = size - x->avail_out;
	switch (rc) {
	case LZMA_OK: return STEP_MORE;
	case LZMA_STREAM_END: return STEP_END;
	case LZMA_BUF_ERROR:	/* no progress possible: input ended early */
		if (*out)
			return STEP_MORE;
		snprintf(u->err, sizeof u->err, "the xz file ends early (truncated)");
		return STEP_FAILED;
	case LZMA_MEMLIMIT_ERROR:
		snprintf(u->err, sizeof u->err, "xz data needs more than %u MiB "
			 "to decompress: refused, to bound memory",
			 CS_UNPACK_WINDOW_MAX_MIB);
		return STEP_FAILED;
	case LZMA_MEM_ERROR: return failed(u, "out of memory");
	case LZMA_FORMAT_ERROR: return failed(u, "not an xz stream");
	case LZMA_OPTIONS_ERROR: return failed(u, "unsupported options");
	default: return failed(u, "corrupt data (checksum or structure)");
	}
}

static enum step step(struct cs_unpack *u, char *buf, size_t size, size_t *out)
{
	switch (u->kind) {
	case CS_UNPACK_GZIP: return step_gzip(u, buf, size, out);
	case CS_UNPACK_ZSTD: return step_zstd(u, buf, size, out);
	default: return step_xz(u, buf, size, out);
	}
}

/* ---- the cookie ---------------------------------------------------------------- */

/* More compressed bytes; -1 when reading raw failed (errno kept: a stop
 * of a stream is EINTR, and the caller tells it from damage). */
static int refill(struct cs_unpack *u)
{
	u->in_pos = 0;
	u->in_len = fread(u->in, 1, sizeof u->in, u->raw);
	if (u->in_len == 0 && ferror(u->raw))
		return -1;
	if (u->in_len == 0)
		u->raw_eof = true;
	return 0;
}

static void keep_head(struct cs_unpack *u, const char *buf, size_t n)
{
	size_t k = HEAD_LEN - u->head_len;

	if (k > n)
		k = n;
	memcpy(u->head + u->head_len, buf, k);
	u->head_len += k;
}

/* The compressed input is over: the end, if it came between streams. */
static ssize_t input_ended(struct cs_unpack *u)
{
	if (u->at_boundary) {
		u->done = true;
		return 0;
	}
	snprintf(u->err, sizeof u->err, "the %s file ends early (truncated)",
		 cs_unpack_kind_names[u->kind]);
	errno = EIO;
	return -1;
}

static ssize_t unpack_read(void *cookie, char *buf, size_t size)
{
	struct cs_unpack *u = cookie;

	if (u->err[0]) {
		errno = EIO;
		return -1;
	}
	while (!u->done) {
		size_t out = 0;
		if (u->in_pos == u->in_len && !u->raw_eof && refill(u) != 0)
			return -1;
		if (u->in_pos == u->in_len && u->raw_eof && u->kind != CS_UNPACK_XZ)
			return input_ended(u);
		enum step s = step(u, buf, size, &out);
		/* What came out before the failure goes first (gzip's CRC is
		 * checked after the member's last bytes): the next read fails. */
		if (s == STEP_FAILED && out == 0) {
			errno = EIO;
			return -1;
		}
		u->done = s == STEP_END;
		if (out) {
			keep_head(u, buf, out);
			return (ssize_t)out;
		}
	}
	return 0;
}

static void decoder_end(struct cs_unpack *u)
{
	switch (u->kind) {
	case CS_UNPACK_GZIP: inflateEnd(&u->d.z); break;
	case CS_UNPACK_ZSTD: ZSTD_freeDStream(u->d.zs); break;
	default: lzma_end(&u->d.x); break;
	}
}

static int unpack_close(void *cookie)
{
	struct cs_unpack *u = cookie;
	int rc = fclose(u->raw);

	decoder_end(u);
	free(u);
	return rc;
}

static int decoder_init(struct cs_unpack *u)
{
	static const lzma_stream x_init = LZMA_STREAM_INIT;

	switch (u->kind) {
	case CS_UNPACK_GZIP:
		/* 16 + 15: a gzip wrapper, the largest window (32 KiB) */
		return inflateInit2(&u->d.z, 16 + 15) == Z_OK ? 0 : -1;
	case CS_UNPACK_ZSTD:
		u->d.zs = ZSTD_createDStream();
		if (!u->d.zs || ZSTD_isError(ZSTD_DCtx_setParameter(u->d.zs,
		    ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX))) {
			ZSTD_freeDStream(u->d.zs);
			return -1;
		}
		return 0;
	case CS_UNPACK_XZ:
		u->d.x = x_init;
		return lzma_stream_decoder(&u->d.x, (uint64_t)CS_UNPACK_WINDOW_MAX_MIB << 20,
					   LZMA_CONCATENATED) == LZMA_OK ? 0 : -1;
	default:
		return -1;
	}
}

FILE *cs_unpack_open(FILE *raw, enum cs_unpack_kind kind, struct cs_unpack **state)
{
	static const cookie_io_functions_t io = {
		.read = unpack_read,
		.close = unpack_close,
	};
	struct cs_unpack *u = calloc(1, sizeof *u);

	if (!u)
		return NULL;
	u->kind = kind;
	u->raw = raw;
	if (decoder_init(u) != 0) {
		free(u);
		errno = ENOMEM;
		return NULL;
	}
	FILE *f = fopencookie(u, "rb", io);
	if (!f) {
		decoder_end(u);
		free(u);
		return NULL;
	}
	setvbuf(f, NULL, _IOFBF, OUT_BUF_SIZE);
	*state = u;
	return f;
}
