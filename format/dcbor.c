#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <cbor.h>

#include "buf.h"
#include "dcbor.h"
#include "err.h"

#define HEAD_MAX	9	/* initial byte + 8-byte argument */

/* Encoding */

/*
 * The shortest head of major type major (0..6) with argument v, at h; its
 * length. Written here rather than through libcbor's cbor_encode_* because
 * it runs for every value of every row: inline, one call fewer per value
 * and no bounds bookkeeping a 9-byte array does not need. The deterministic
 * rule is this one choice of width; tests/check_dcbor.c holds the bytes to
 * libcbor's for every width boundary and random arguments.
 */
static inline size_t
head(unsigned major, uint64_t v, unsigned char h[HEAD_MAX])
{
	unsigned char m = (unsigned char)(major << 5);
	size_t n, i;

	if (v < 24) {
		h[0] = m | (unsigned char)v;
		return 1;
	}
	if (v <= 0xff) {
		h[0] = m | 24;
		n = 1;
	} else if (v <= 0xffff) {
		h[0] = m | 25;
		n = 2;
	} else if (v <= 0xffffffff) {
		h[0] = m | 26;
		n = 4;
	} else {
		h[0] = m | 27;
		n = 8;
	}
	for (i = 0; i < n; i++)
		h[1 + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	return 1 + n;
}

static inline int
put_head(struct buf *b, unsigned major, uint64_t v)
{
	unsigned char h[HEAD_MAX];

	return buf_put(b, h, head(major, v, h));
}

/* libcbor's encoder for the floats' heads and bits: every call writes one
 * whole item or nothing. */
static int
put_encoded(struct buf *b, const unsigned char *h, size_t n)
{
	if (n == 0 || n > HEAD_MAX)
		return ERR_INTERNAL;
	return buf_put(b, h, n);
}

int
dcbor_put_uint(struct buf *b, uint64_t v)
{
	return put_head(b, 0, v);
}

int
dcbor_put_int(struct buf *b, int64_t v)
{
	if (v >= 0)
		return put_head(b, 0, (uint64_t)v);
	/* -1 - v without overflow at INT64_MIN */
	return put_head(b, 1, (uint64_t)(-(v + 1)));
}

static int
put_string(struct buf *b, int text, const void *p, size_t len)
{
	unsigned char h[HEAD_MAX];
	size_t n;
	int r;

	n = head(text ? 3 : 2, len, h);
	if (len > buf_max(b) || n > buf_max(b) - len ||
	    buf_len(b) > buf_max(b) - len - n)
		return ERR_LIMIT;	/* keep b unchanged on failure */
	if ((r = buf_put(b, h, n)) != 0)
		return r;
	if ((r = buf_put(b, p, len)) != 0) {
		buf_unput(b, n);
		return r;
	}
	return 0;
}

int
dcbor_put_bytes(struct buf *b, const void *p, size_t len)
{
	return put_string(b, 0, p, len);
}

int
dcbor_put_text(struct buf *b, const char *p, size_t len)
{
	if (!dcbor_utf8_valid((const uint8_t *)p, len))
		return ERR_CBOR;
	return put_string(b, 1, p, len);
}

int
dcbor_put_array(struct buf *b, uint64_t n)
{
	return put_head(b, 4, n);
}

int
dcbor_put_map(struct buf *b, uint64_t n)
{
	return put_head(b, 5, n);
}

int
dcbor_put_tag(struct buf *b, uint64_t tag)
{
	return put_head(b, 6, tag);
}

int
dcbor_put_bool(struct buf *b, int v)
{
	const unsigned char h = v ? 0xf5 : 0xf4;

	return buf_put(b, &h, 1);
}

int
dcbor_put_null(struct buf *b)
{
	const unsigned char h = 0xf6;

	return buf_put(b, &h, 1);
}

static uint32_t
float_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

/*
 * Half-precision bits of a finite or infinite float when the half holds it
 * exactly. We do the conversion ourselves: exactness (including subnormal
 * halves) is the whole point, and we do not rely on how a library rounds.
 */
static int
half_from_float(float f, uint16_t *h)
{
	uint32_t u = float_bits(f), m, full;
	uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
	int e = (int)((u >> 23) & 0xff);

	m = u & 0x7fffff;
	*h = 0;
	if (e == 0xff) {
		if (m != 0)
			return 0;	/* NaN: handled by the caller */
		*h = sign | 0x7c00;
		return 1;
	}
	if (e == 0) {
		if (m != 0)
			return 0;	/* far below any half */
		*h = sign;
		return 1;
	}
	e -= 127;
	if (e > 15)
		return 0;
	if (e >= -14) {
		if ((m & 0x1fff) != 0)
			return 0;
		*h = sign | (uint16_t)((e + 15) << 10) | (uint16_t)(m >> 13);
		return 1;
	}
	if (e >= -24) {
		/* subnormal half: significand * 2^-24 */
		unsigned s = (unsigned)(-(e + 1));	/* 14..23 */

		full = 0x800000 | m;
		if ((full & ((1u << s) - 1)) != 0)
			return 0;
		*h = sign | (uint16_t)(full >> s);
		return 1;
	}
	return 0;
}

static double
double_from_half(uint16_t h)
{
	int e = (h >> 10) & 0x1f;
	unsigned m = h & 0x3ff;
	double d;

	if (e == 0)
		d = ldexp((double)m, -24);
	else if (e == 0x1f)
		d = m == 0 ? INFINITY : NAN;
	else
		d = ldexp((double)(m | 0x400), e - 25);
	return (h & 0x8000) ? -d : d;
}

/* 1 if d survives a round trip through float (so single is exact). */
static int
double_fits_float(double d)
{
	if (isnan(d))
		return 0;
	if (isinf(d))
		return 1;
	if (fabs(d) > FLT_MAX)
		return 0;	/* the cast would be undefined */
	return (double)(float)d == d;
}

int
dcbor_put_float(struct buf *b, double f)
{
	unsigned char h[HEAD_MAX];
	uint16_t half;

	if (isnan(f)) {
		h[0] = 0xf9;
		h[1] = 0x7e;
		h[2] = 0x00;
		return buf_put(b, h, 3);
	}
	if (double_fits_float(f)) {
		if (half_from_float((float)f, &half)) {
			h[0] = 0xf9;
			h[1] = (unsigned char)(half >> 8);
			h[2] = (unsigned char)(half & 0xff);
			return buf_put(b, h, 3);
		}
		return put_encoded(b, h, cbor_encode_single((float)f, h,
		    sizeof(h)));
	}
	return put_encoded(b, h, cbor_encode_double(f, h, sizeof(h)));
}

int
dcbor_utf8_valid(const uint8_t *p, size_t len)
{
	size_t i = 0, n, k;
	uint32_t c;

	while (i < len) {
		uint8_t c0 = p[i];
		uint64_t w;

		/* ASCII runs, 32 then eight bytes at a time: most text is
		 * ASCII. */
		if (c0 < 0x80) {
			while (len - i >= 32) {
				uint64_t w4[4];

				memcpy(w4, p + i, 32);
				if (((w4[0] | w4[1] | w4[2] | w4[3]) &
				    0x8080808080808080ULL) != 0)
					break;	/* the word loop finds it */
				i += 32;
			}
			while (len - i >= 8) {
				memcpy(&w, p + i, 8);
				w &= 0x8080808080808080ULL;
				if (w != 0) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
					/* straight to the first byte
					 * with its high bit set */
					i += (size_t)__builtin_ctzll(w) / 8;
#endif
					break;
				}
				i += 8;
			}
			/* fewer than eight left: the last eight, again
			 * in one word, when that many were read */
			if (len - i < 8 && len >= 8 && i < len) {
				memcpy(&w, p + len - 8, 8);
				if ((w & 0x8080808080808080ULL) == 0)
					return 1;
			}
			while (i < len && p[i] < 0x80)
				i++;
			continue;
		}
		if (c0 >= 0xc2 && c0 <= 0xdf) {
			n = 1;
			c = c0 & 0x1f;
		} else if (c0 >= 0xe0 && c0 <= 0xef) {
			n = 2;
			c = c0 & 0x0f;
		} else if (c0 >= 0xf0 && c0 <= 0xf4) {
			n = 3;
			c = c0 & 0x07;
		} else
			return 0;	/* stray, overlong or > U+10FFFF */
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && c < 0x800) || (n == 3 && c < 0x10000) ||
		    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Decoding */

/* The item of a head of major type 7 whose argument is arg: a simple
 * value or a float, checked. */
int
dcbor_head_major7(struct dcbor_item *it, unsigned ai, uint64_t arg)
{
	switch (ai) {
	case 20:
		it->type = DCBOR_FALSE;
		return 0;
	case 21:
		it->type = DCBOR_TRUE;
		return 0;
	case 22:
		it->type = DCBOR_NULL;
		return 0;
	case 25:
		/* any half is shortest; only the canonical NaN */
		if ((arg & 0x7c00) == 0x7c00 && (arg & 0x3ff) != 0 &&
		    arg != 0x7e00)
			return ERR_CBOR;
		it->type = DCBOR_FLOAT;
		it->u = 2;
		it->f = double_from_half((uint16_t)arg);
		return 0;
	case 26: {
		uint32_t u32 = (uint32_t)arg;
		uint16_t half;
		float f;

		memcpy(&f, &u32, sizeof(f));
		if (isnan(f) || half_from_float(f, &half))
			return ERR_CBOR;
		it->type = DCBOR_FLOAT;
		it->u = 4;
		it->f = f;
		return 0;
	}
	case 27: {
		double d;

		memcpy(&d, &arg, sizeof(d));
		if (isnan(d) || double_fits_float(d))
			return ERR_CBOR;
		it->type = DCBOR_FLOAT;
		it->u = 8;
		it->f = d;
		return 0;
	}
	default:
		/* undefined, unassigned and one-byte simple values */
		return ERR_CBOR;
	}
}

/* One head, checked (dcbor_head in dcbor.h), at b's next bytes. */
static inline int
head_peek(const struct buf *b, struct dcbor_item *it, size_t *hlen)
{
	return dcbor_head(buf_ptr(b), buf_len(b), it, hlen);
}

int
dcbor_get_item(struct buf *b, struct dcbor_item *it)
{
	const uint8_t *p;
	size_t hlen;
	int r;

	if ((r = head_peek(b, it, &hlen)) != 0)
		goto out;
	if (it->type == DCBOR_BYTES || it->type == DCBOR_TEXT) {
		if (it->u > buf_len(b) - hlen) {
			r = ERR_TRUNCATED;
			goto out;
		}
		/* head and bytes in one step; no compaction, p stays valid */
		if ((r = buf_get_ptr(b, hlen + (size_t)it->u, &p)) != 0)
			goto out;
		p += hlen;
		if (it->type == DCBOR_TEXT &&
		    !dcbor_utf8_valid(p, (size_t)it->u)) {
			r = ERR_CBOR;
			goto out;
		}
		it->p = p;
		it->len = (size_t)it->u;
	} else if ((r = buf_consume(b, hlen)) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0)
		memset(it, 0, sizeof(*it));
	return r;
}

/* Bytewise lexicographic comparison of two encodings. */
static int
enc_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
skip_one(struct buf *v, unsigned depth_left)
{
	struct dcbor_item it;
	const uint8_t *prev = NULL, *key;
	size_t prevlen = 0, keylen, before;
	uint64_t i;
	int r;

	if ((r = dcbor_get_item(v, &it)) != 0)
		return r;
	switch (it.type) {
	case DCBOR_ARRAY:
		if (depth_left == 0)
			return ERR_LIMIT;
		if (it.u > buf_len(v))
			return ERR_TRUNCATED;	/* items take >= 1 byte */
		for (i = 0; i < it.u; i++)
			if ((r = skip_one(v, depth_left - 1)) != 0)
				return r;
		return 0;
	case DCBOR_MAP:
		if (depth_left == 0)
			return ERR_LIMIT;
		if (it.u > buf_len(v) / 2)
			return ERR_TRUNCATED;
		for (i = 0; i < it.u; i++) {
			/* v is a read-only view: its memory does not move */
			key = buf_ptr(v);
			before = buf_len(v);
			if ((r = skip_one(v, depth_left - 1)) != 0)
				return r;
			keylen = before - buf_len(v);
			if (prev != NULL &&
			    enc_cmp(prev, prevlen, key, keylen) >= 0)
				return ERR_CBOR;	/* unsorted/duplicate */
			prev = key;
			prevlen = keylen;
			if ((r = skip_one(v, depth_left - 1)) != 0)
				return r;
		}
		return 0;
	case DCBOR_TAG:
		if (depth_left == 0)
			return ERR_LIMIT;
		return skip_one(v, depth_left - 1);
	default:
		return 0;
	}
}

int
dcbor_skip(struct buf *b, unsigned max_depth)
{
	struct buf *v = NULL;
	int r = ERR_INTERNAL;

	if (max_depth > DCBOR_MAX_DEPTH)
		return ERR_INVALID;
	/* Walk a private view so that b is untouched unless all is well. */
	if ((v = buf_from(buf_ptr(b), buf_len(b))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = skip_one(v, max_depth)) != 0)
		goto out;
	r = buf_consume(b, buf_len(b) - buf_len(v));
 out:
	buf_free(v);
	return r;
}

int
dcbor_validate(const void *p, size_t len, unsigned max_depth)
{
	struct buf *v;
	int r;

	if ((v = buf_from(p, len)) == NULL)
		return ERR_NOMEM;
	if ((r = dcbor_skip(v, max_depth)) == 0)
		r = buf_expect_end(v);
	buf_free(v);
	return r;
}

static int
get_typed(struct buf *b, enum dcbor_type want, struct dcbor_item *it)
{
	size_t hlen;
	int r;

	/* Peek first: a type mismatch consumes nothing. */
	if ((r = head_peek(b, it, &hlen)) != 0)
		return r;
	if (it->type != want) {
		memset(it, 0, sizeof(*it));
		return ERR_CBOR;
	}
	return dcbor_get_item(b, it);
}

int
dcbor_get_uint(struct buf *b, uint64_t *v)
{
	struct dcbor_item it;
	int r;

	*v = 0;
	if ((r = get_typed(b, DCBOR_UINT, &it)) != 0)
		return r;
	*v = it.u;
	return 0;
}

int
dcbor_get_int(struct buf *b, int64_t *v)
{
	struct dcbor_item it;
	size_t hlen;
	int r;

	*v = 0;
	if ((r = head_peek(b, &it, &hlen)) != 0)
		return r;
	if ((it.type != DCBOR_UINT && it.type != DCBOR_NEGINT) ||
	    it.u > INT64_MAX)
		return ERR_CBOR;
	if ((r = dcbor_get_item(b, &it)) != 0)
		return r;
	*v = it.type == DCBOR_UINT ? (int64_t)it.u : -1 - (int64_t)it.u;
	return 0;
}

int
dcbor_get_text(struct buf *b, const uint8_t **p, size_t *len)
{
	struct dcbor_item it;
	int r;

	*p = NULL;
	*len = 0;
	if ((r = get_typed(b, DCBOR_TEXT, &it)) != 0)
		return r;
	*p = it.p;
	*len = it.len;
	return 0;
}

int
dcbor_get_bytes(struct buf *b, const uint8_t **p, size_t *len)
{
	struct dcbor_item it;
	int r;

	*p = NULL;
	*len = 0;
	if ((r = get_typed(b, DCBOR_BYTES, &it)) != 0)
		return r;
	*p = it.p;
	*len = it.len;
	return 0;
}

int
dcbor_get_array(struct buf *b, uint64_t *n)
{
	struct dcbor_item it;
	int r;

	*n = 0;
	if ((r = get_typed(b, DCBOR_ARRAY, &it)) != 0)
		return r;
	*n = it.u;
	return 0;
}

int
dcbor_get_map(struct buf *b, uint64_t *n)
{
	struct dcbor_item it;
	int r;

	*n = 0;
	if ((r = get_typed(b, DCBOR_MAP, &it)) != 0)
		return r;
	*n = it.u;
	return 0;
}

int
dcbor_get_tag(struct buf *b, uint64_t *tag)
{
	struct dcbor_item it;
	int r;

	*tag = 0;
	if ((r = get_typed(b, DCBOR_TAG, &it)) != 0)
		return r;
	*tag = it.u;
	return 0;
}

int
dcbor_get_bool(struct buf *b, int *v)
{
	struct dcbor_item it;
	size_t hlen;
	int r;

	*v = 0;
	if ((r = head_peek(b, &it, &hlen)) != 0)
		return r;
	if (it.type != DCBOR_FALSE && it.type != DCBOR_TRUE)
		return ERR_CBOR;
	if ((r = buf_consume(b, hlen)) != 0)
		return r;
	*v = it.type == DCBOR_TRUE;
	return 0;
}

int
dcbor_get_null(struct buf *b)
{
	struct dcbor_item it;

	return get_typed(b, DCBOR_NULL, &it);
}

int
dcbor_get_float(struct buf *b, double *f)
{
	struct dcbor_item it;
	int r;

	*f = 0;
	if ((r = get_typed(b, DCBOR_FLOAT, &it)) != 0)
		return r;
	*f = it.f;
	return 0;
}

/* 0 if the next item is the text `expected`; *total is its encoded size. */
static int
key_match(const struct buf *b, const char *expected, size_t *total)
{
	struct dcbor_item it;
	uint8_t chunk[64];
	size_t hlen, klen = strlen(expected), off, n;
	int r;

	*total = 0;
	if ((r = head_peek(b, &it, &hlen)) != 0)
		return r;
	if (it.type != DCBOR_TEXT || it.u != klen)
		return ERR_CBOR;
	if (klen > buf_len(b) - hlen)
		return ERR_TRUNCATED;
	for (off = 0; off < klen; off += n) {
		n = klen - off < sizeof(chunk) ? klen - off : sizeof(chunk);
		if ((r = buf_peek(b, hlen + off, chunk, n)) != 0)
			return r;
		if (memcmp(chunk, expected + off, n) != 0)
			return ERR_CBOR;
	}
	*total = hlen + klen;
	return 0;
}

int
dcbor_get_key(struct buf *b, const char *expected)
{
	size_t total;
	int r;

	if ((r = key_match(b, expected, &total)) != 0)
		return r;
	/* keys are program constants, so they are valid UTF-8 */
	return buf_consume(b, total);
}

int
dcbor_peek_key(const struct buf *b, const char *expected)
{
	size_t total;

	return key_match(b, expected, &total) == 0;
}
