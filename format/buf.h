/*
 * buf.h: the one bounded buffer for bytes from outside the process.
 *
 * A struct buf is either a growable buffer with a hard size cap, or a
 * read-only view of memory owned by someone else. Readers consume from the
 * front; writers append at the end. Every getter checks the remaining length
 * first: it returns ERR_TRUNCATED (and clears its output) rather than read
 * past the end. No code outside buf.c does pointer arithmetic on input.
 *
 * All functions return 0 or a negative enum err code unless stated.
 */
#ifndef TEXP_BUF_H
#define TEXP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"

/*
 * The fields are buf.c's: elsewhere they are read only through buf_len
 * and buf_ptr below, which are inline because parsers call them for every
 * value they read.
 */
struct buf {
	uint8_t *d;		/* storage */
	size_t alloc;		/* bytes allocated at d */
	size_t off;		/* read offset */
	size_t end;		/* write offset */
	size_t max;		/* cap on end - off */
	int readonly;
	int secret;
};

/* New empty buffer that may grow to at most max bytes. NULL on ENOMEM. */
struct buf *buf_new(size_t max);
/* Same, for secrets: memory comes from sodium_malloc (guarded, not dumped),
 * and is wiped whenever it is released or moved. */
struct buf *buf_new_secret(size_t max);
/* Read-only view of p[0..len). The caller keeps p alive and unchanged for
 * the view's lifetime. NULL on ENOMEM. */
struct buf *buf_from(const void *p, size_t len);
/* Points an existing read-only view at p[0..len) (no allocation: for a
 * parser that looks at millions of small values). ERR_INVALID if b is not
 * a view. */
int buf_view_reset(struct buf *b, const void *p, size_t len);
/* Frees b (wiping it if secret). Accepts NULL. */
void buf_free(struct buf *b);

/* Discards all content (wiping it if secret); keeps the allocation. */
void buf_reset(struct buf *b);
/* Number of unread bytes. */
static inline size_t
buf_len(const struct buf *b)
{
	return b->end - b->off;
}
/* Pointer to the unread bytes; valid until the next call that changes b. */
static inline const uint8_t *
buf_ptr(const struct buf *b)
{
	static const uint8_t buf_empty[1];

	return b->d == NULL ? buf_empty : b->d + b->off;
}
/* Maximum size this buffer may grow to. */
size_t buf_max(const struct buf *b);

/* A malloc'd, NUL-terminated copy of the unread bytes in *out (which the
 * caller frees). ERR_NOMEM. */
int buf_dup_str(const struct buf *b, char **out);

/* Reading. */
int buf_consume_end(struct buf *b, size_t n);
int buf_peek(const struct buf *b, size_t off, void *out, size_t n);
/*
 * The calls parsers and encoders make for every value, inline. Each has
 * a fast path for the common case (enough bytes or room, nothing to
 * compact or grow) and leaves everything else, errors included, to
 * buf.c, so the two behave the same.
 */
int buf_get_slow(struct buf *b, void *out, size_t n);
int buf_put_slow(struct buf *b, const void *p, size_t n);

/* Consumes n bytes. */
static inline int
buf_consume(struct buf *b, size_t n)
{
	if (n > buf_len(b))
		return ERR_TRUNCATED;
	b->off += n;
	/* an emptied growable buffer starts again at its front */
	if (b->off == b->end && !b->readonly)
		b->off = b->end = 0;
	return 0;
}
/* Consumes n bytes and points *p at them (valid until b next changes). */
static inline int
buf_get_ptr(struct buf *b, size_t n, const uint8_t **p)
{
	*p = NULL;
	if (n > buf_len(b))
		return ERR_TRUNCATED;
	*p = buf_ptr(b);
	b->off += n;	/* no compaction: *p must stay valid */
	return 0;
}
/* Copies n bytes out and consumes them; on ERR_TRUNCATED out is zeroed. */
static inline int
buf_get(struct buf *b, void *out, size_t n)
{
	if (n > 0 && (n < buf_len(b) || (n == buf_len(b) && b->readonly))) {
		memcpy(out, b->d + b->off, n);
		b->off += n;
		return 0;
	}
	return buf_get_slow(b, out, n);
}
static inline int
buf_get_u16be(struct buf *b, uint16_t *v)
{
	uint8_t t[2];
	int r = buf_get(b, t, sizeof(t));

	*v = (uint16_t)((unsigned)t[0] << 8 | t[1]);
	return r;
}
static inline int
buf_get_u32be(struct buf *b, uint32_t *v)
{
	uint8_t t[4];
	int r = buf_get(b, t, sizeof(t));

	*v = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 |
	    (uint32_t)t[2] << 8 | t[3];
	return r;
}
int buf_get_u8(struct buf *b, uint8_t *v);
int buf_get_u64be(struct buf *b, uint64_t *v);
int buf_get_u16le(struct buf *b, uint16_t *v);
int buf_get_u32le(struct buf *b, uint32_t *v);
int buf_get_u64le(struct buf *b, uint64_t *v);
/* Consumes one line: *line points at its bytes, *len excludes the LF,
 * which is consumed too. ERR_TRUNCATED if no LF is left, ERR_LIMIT if the
 * line is longer than max bytes. */
int buf_get_line(struct buf *b, const uint8_t **line, size_t *len, size_t max);
/* ERR_TRAILING if any unread bytes remain. */
int buf_expect_end(const struct buf *b);

/* Writing (growable buffers only; ERR_INVALID on a view). ERR_LIMIT when
 * the write would pass the cap; the buffer is then unchanged. */
static inline int
buf_put(struct buf *b, const void *p, size_t n)
{
	if (n > 0 && b->alloc - b->end >= n && !b->readonly &&
	    n <= b->max && buf_len(b) <= b->max - n) {
		memcpy(b->d + b->end, p, n);
		b->end += n;
		return 0;
	}
	return buf_put_slow(b, p, n);
}
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u16be(struct buf *b, uint16_t v);
int buf_put_u32be(struct buf *b, uint32_t v);
int buf_put_u64be(struct buf *b, uint64_t v);
int buf_put_u32le(struct buf *b, uint32_t v);
int buf_put_u64le(struct buf *b, uint64_t v);
int buf_put_str(struct buf *b, const char *s);
int buf_putf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends n uninitialised bytes and points *dst at them. */
int buf_reserve(struct buf *b, size_t n, uint8_t **dst);
/* Drops n bytes from the end of the written data. */
int buf_unput(struct buf *b, size_t n);
/* Overwrites n bytes of the unread data, off bytes past its start (a
 * length written once what it counts is known): ERR_TRUNCATED unless all
 * of them are there, ERR_INVALID on a read-only view. */
int buf_patch(struct buf *b, size_t off, const void *p, size_t n);

#endif
