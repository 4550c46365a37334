#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"

static struct buf *
buf_alloc(size_t max, int secret)
{
	struct buf *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->max = max;
	b->secret = secret;
	return b;
}

struct buf *
buf_new(size_t max)
{
	return buf_alloc(max, 0);
}

struct buf *
buf_new_secret(size_t max)
{
	if (sodium_init() < 0)
		return NULL;
	return buf_alloc(max, 1);
}

struct buf *
buf_from(const void *p, size_t len)
{
	struct buf *b = buf_alloc(len, 0);

	if (b == NULL)
		return NULL;
	/* The view never writes through d: readonly guards every writer. */
	b->d = (uint8_t *)(uintptr_t)p;
	b->alloc = b->end = len;
	b->readonly = 1;
	return b;
}

int
buf_view_reset(struct buf *b, const void *p, size_t len)
{
	if (!b->readonly)
		return ERR_INVALID;
	b->d = (uint8_t *)(uintptr_t)p;
	b->alloc = b->end = b->max = len;
	b->off = 0;
	return 0;
}

static void
storage_free(struct buf *b)
{
	if (b->readonly || b->d == NULL)
		return;
	if (b->secret)
		sodium_free(b->d);	/* wipes before unmapping */
	else
		free(b->d);
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	storage_free(b);
	free(b);
}

void
buf_reset(struct buf *b)
{
	if (b->readonly) {
		b->off = b->end;
		return;
	}
	if (b->secret && b->d != NULL)
		sodium_memzero(b->d, b->alloc);
	b->off = b->end = 0;
}

size_t
buf_max(const struct buf *b)
{
	return b->max;
}

int
buf_dup_str(const struct buf *b, char **out)
{
	char *s;

	*out = NULL;
	if ((s = malloc(buf_len(b) + 1)) == NULL)
		return ERR_NOMEM;
	if (buf_len(b) > 0)
		memcpy(s, buf_ptr(b), buf_len(b));
	s[buf_len(b)] = '\0';
	*out = s;
	return 0;
}

int
buf_consume_end(struct buf *b, size_t n)
{
	if (n > buf_len(b))
		return ERR_TRUNCATED;
	b->end -= n;
	return 0;
}

int
buf_peek(const struct buf *b, size_t off, void *out, size_t n)
{
	if (off > buf_len(b) || n > buf_len(b) - off) {
		if (n > 0)
			memset(out, 0, n);
		return ERR_TRUNCATED;
	}
	if (n > 0)
		memcpy(out, buf_ptr(b) + off, n);
	return 0;
}

int
buf_get_slow(struct buf *b, void *out, size_t n)
{
	/* buf_get's every case, the errors included (buf.h) */
	if (n > buf_len(b)) {
		if (n > 0)
			memset(out, 0, n);
		return ERR_TRUNCATED;
	}
	if (n > 0)
		memcpy(out, buf_ptr(b), n);
	b->off += n;
	if (b->off == b->end && !b->readonly)
		b->off = b->end = 0;
	return 0;
}

int
buf_get_u8(struct buf *b, uint8_t *v)
{
	return buf_get(b, v, 1);
}

#define GET_INT(name, type, n, be)					\
int									\
name(struct buf *b, type *v)						\
{									\
	uint8_t t[n];							\
	type x = 0;							\
	int i, r;							\
									\
	*v = 0;								\
	if ((r = buf_get(b, t, n)) != 0)				\
		return r;						\
	for (i = 0; i < n; i++)						\
		x |= (type)t[(be) ? i : n - 1 - i] << (8 * (n - 1 - i)); \
	*v = x;								\
	return 0;							\
}
GET_INT(buf_get_u64be, uint64_t, 8, 1)
GET_INT(buf_get_u16le, uint16_t, 2, 0)
GET_INT(buf_get_u32le, uint32_t, 4, 0)
GET_INT(buf_get_u64le, uint64_t, 8, 0)
#undef GET_INT

int
buf_get_line(struct buf *b, const uint8_t **line, size_t *len, size_t max)
{
	const uint8_t *p = buf_ptr(b), *nl;
	size_t avail = buf_len(b);
	size_t scan = avail < max + 1 ? avail : max + 1;

	*line = NULL;
	*len = 0;
	nl = scan > 0 ? memchr(p, '\n', scan) : NULL;
	if (nl == NULL)
		return avail > max ? ERR_LIMIT : ERR_TRUNCATED;
	*line = p;
	*len = (size_t)(nl - p);
	b->off += *len + 1;
	return 0;
}

int
buf_expect_end(const struct buf *b)
{
	return buf_len(b) == 0 ? 0 : ERR_TRAILING;
}

/* buf_grow when the room is not there yet (or the put is refused). */
static __attribute__((noinline)) int
buf_grow_slow(struct buf *b, size_t n)
{
	size_t need, nalloc;
	uint8_t *nd;

	if (b->readonly)
		return ERR_INVALID;
	if (n > b->max || buf_len(b) > b->max - n)
		return ERR_LIMIT;
	if (b->alloc - b->end >= n)
		return 0;
	/* Compact first: the read part is dead. */
	if (b->off > 0) {
		memmove(b->d, b->d + b->off, buf_len(b));
		if (b->secret)
			sodium_memzero(b->d + buf_len(b), b->off);
		b->end -= b->off;
		b->off = 0;
		if (b->alloc - b->end >= n)
			return 0;
	}
	need = b->end + n;
	nalloc = b->alloc < 256 ? 256 : b->alloc;
	while (nalloc < need)
		nalloc = nalloc > SIZE_MAX / 2 ? need : nalloc * 2;
	if (nalloc > b->max && need <= b->max)
		nalloc = b->max;
	if (b->secret) {
		if ((nd = sodium_malloc(nalloc)) == NULL)
			return ERR_NOMEM;
		if (b->end > 0)
			memcpy(nd, b->d, b->end);
		if (b->d != NULL)
			sodium_free(b->d);
	} else if ((nd = realloc(b->d, nalloc)) == NULL)
		return ERR_NOMEM;
	b->d = nd;
	b->alloc = nalloc;
	return 0;
}

/*
 * Makes room for n more bytes at the end, honouring the cap. Encoders put
 * a few bytes at a time: the common case, room already there, stays
 * inline.
 */
static inline int
buf_grow(struct buf *b, size_t n)
{
	if (b->alloc - b->end >= n && !b->readonly && n <= b->max &&
	    buf_len(b) <= b->max - n)
		return 0;
	return buf_grow_slow(b, n);
}

int
buf_reserve(struct buf *b, size_t n, uint8_t **dst)
{
	int r;

	*dst = NULL;
	if ((r = buf_grow(b, n)) != 0)
		return r;
	if (b->d == NULL) {
		/* n == 0 on a buffer that never held anything */
		static uint8_t empty[1];

		*dst = empty;
		return 0;
	}
	*dst = b->d + b->end;
	b->end += n;
	return 0;
}

int
buf_unput(struct buf *b, size_t n)
{
	if (b->readonly)
		return ERR_INVALID;
	return buf_consume_end(b, n);
}

int
buf_patch(struct buf *b, size_t off, const void *p, size_t n)
{
	if (b->readonly)
		return ERR_INVALID;
	if (off > buf_len(b) || n > buf_len(b) - off)
		return ERR_TRUNCATED;
	if (n > 0)
		memcpy(b->d + b->off + off, p, n);
	return 0;
}

int
buf_put_slow(struct buf *b, const void *p, size_t n)
{
	/* buf_put's every case, the errors included (buf.h) */
	uint8_t *dst;
	int r;

	if ((r = buf_reserve(b, n, &dst)) != 0)
		return r;
	if (n > 0)
		memcpy(dst, p, n);
	return 0;
}

int
buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

#define PUT_INT(name, type, n, be)					\
int									\
name(struct buf *b, type v)						\
{									\
	uint8_t t[n];							\
	int i;								\
									\
	for (i = 0; i < n; i++)						\
		t[(be) ? i : n - 1 - i] = (uint8_t)(v >> (8 * (n - 1 - i))); \
	return buf_put(b, t, n);					\
}
PUT_INT(buf_put_u16be, uint16_t, 2, 1)
PUT_INT(buf_put_u32be, uint32_t, 4, 1)
PUT_INT(buf_put_u64be, uint64_t, 8, 1)
PUT_INT(buf_put_u32le, uint32_t, 4, 0)
PUT_INT(buf_put_u64le, uint64_t, 8, 0)
#undef PUT_INT

int
buf_put_str(struct buf *b, const char *s)
{
	return buf_put(b, s, strlen(s));
}

int
buf_putf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256], *big = NULL;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return ERR_INVALID;
	if ((size_t)n < sizeof(small))
		return buf_put(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return ERR_NOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r = buf_put(b, big, (size_t)n);
	free(big);
	return r;
}
