/*
 * dcbor.h: deterministic CBOR (RFC 8949 section 4.2.1, "core deterministic
 * encoding") for every record and for the manifest.
 *
 * Encoding appends to a growable struct buf:
 *  - every head (integer, length, count, tag) takes its shortest form;
 *  - lengths are always definite (no indefinite-length items exist here);
 *  - floats take the shortest of half/single/double that holds the value
 *    exactly; every NaN becomes the one canonical half NaN f9 7e 00, and
 *    infinities are half floats (f9 7c 00, f9 fc 00).
 *  - map keys: the CALLER emits them already sorted in bytewise
 *    lexicographic order of their encoded bytes (for text keys of different
 *    lengths that means shorter first, then bytewise), with no duplicates.
 *    dcbor_put_map only writes the head; dcbor_validate() checks a finished
 *    encoding, key order included, and is cheap enough for debug builds and
 *    tests.
 *
 * Decoding is a bounded pull parser over struct buf. It is written here
 * rather than on libcbor's cbor_stream_decode: strictness needs, for every
 * head, its exact width and raw bits (to reject non-shortest heads and
 * non-preferred floats, and to check NaN payloads), which the streaming
 * callbacks only report indirectly, and the parser must read through the
 * project's one bounded buffer type. Encoding writes the heads inline (they
 * run for every value of every row) and the single and double floats
 * through libcbor; tests/check_dcbor.c holds every head to libcbor's bytes.
 *
 * Decoding rejects with ERR_CBOR: indefinite lengths, non-shortest heads,
 * non-preferred floats (a float that fits a shorter width, or any NaN other
 * than f9 7e 00), invalid UTF-8 in text strings, simple values other than
 * false/true/null, reserved additional information (28..30), a lone break
 * byte; with ERR_TRUNCATED a head or string longer than the remaining input.
 * dcbor_skip and dcbor_validate also reject map keys out of order or
 * repeated (ERR_CBOR) and nesting deeper than max_depth (ERR_LIMIT).
 *
 * All functions return 0 or a negative enum err code unless stated.
 * Writers leave the buffer unchanged when they fail (ERR_LIMIT at the cap).
 * Readers: on error, the read position of b is unspecified (treat the item
 * as lost) except where stated.
 */
#ifndef TEXP_DCBOR_H
#define TEXP_DCBOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"

struct buf;

/* Deepest nesting dcbor_skip/dcbor_validate accept as max_depth. */
#define DCBOR_MAX_DEPTH	64

/* Well-known tags used by the archive. */
#define DCBOR_TAG_DATETIME	0	/* RFC 3339 text date/time */
#define DCBOR_TAG_UUID		37	/* 16-byte binary UUID */
#define DCBOR_TAG_DATE		1004	/* RFC 8943 full-date text */

/* Encoding. */
int dcbor_put_uint(struct buf *b, uint64_t v);
int dcbor_put_int(struct buf *b, int64_t v);
int dcbor_put_bytes(struct buf *b, const void *p, size_t len);
/* Text string; ERR_CBOR (and nothing written) if p[0..len) is not valid
 * UTF-8 (overlong forms, surrogates and code points above U+10FFFF are
 * invalid). */
int dcbor_put_text(struct buf *b, const char *p, size_t len);
/* Heads only: the caller then writes n items (n key/value pairs for a map,
 * keys in the order described above) or the one tagged item. */
int dcbor_put_array(struct buf *b, uint64_t n);
int dcbor_put_map(struct buf *b, uint64_t n);
int dcbor_put_tag(struct buf *b, uint64_t tag);
int dcbor_put_bool(struct buf *b, int v);
int dcbor_put_null(struct buf *b);
int dcbor_put_float(struct buf *b, double f);

/* 1 if p[0..len) is valid UTF-8, else 0. */
int dcbor_utf8_valid(const uint8_t *p, size_t len);

/* Decoding. */
enum dcbor_type {
	DCBOR_UINT, DCBOR_NEGINT, DCBOR_BYTES, DCBOR_TEXT, DCBOR_ARRAY,
	DCBOR_MAP, DCBOR_TAG, DCBOR_FALSE, DCBOR_TRUE, DCBOR_NULL, DCBOR_FLOAT
};

struct dcbor_item {
	enum dcbor_type type;
	/* uint value; negint n (the value is -1-n); array/map count; tag
	 * number; string length; a float's encoded width in bytes (2, 4
	 * or 8) */
	uint64_t u;
	/* string bytes: point into b's memory, valid until b next changes */
	const uint8_t *p;
	size_t len;
	double f;	/* DCBOR_FLOAT value */
};

/* dcbor_head's major type 7 (simple values and floats), out of line. */
int dcbor_head_major7(struct dcbor_item *it, unsigned ai, uint64_t arg);

/*
 * Reads and checks one head at p[0..avail) without consuming anything:
 * 0, ERR_TRUNCATED (from err.h) or ERR_CBOR (a reserved, indefinite or
 * not shortest head, an unassigned simple value, a float not in its
 * shortest form). For strings, it->u is the length (the bytes are neither
 * bounded nor checked here); *hlen is the head size. Inline: it runs for
 * every item of every record.
 */
static inline int
dcbor_head(const uint8_t *p, size_t avail, struct dcbor_item *it,
    size_t *hlen)
{
	size_t n = 0, i;
	uint64_t arg = 0;
	unsigned major, ai;

	memset(it, 0, sizeof(*it));
	*hlen = 0;
	if (avail < 1)
		return ERR_TRUNCATED;
	major = p[0] >> 5;
	ai = p[0] & 0x1f;
	if (ai < 24)
		arg = ai;
	else if (ai <= 27) {
		n = (size_t)1 << (ai - 24);
		if (avail - 1 < n)
			return ERR_TRUNCATED;
		for (i = 0; i < n; i++)
			arg = (arg << 8) | p[1 + i];
	} else
		return ERR_CBOR;	/* reserved, indefinite or break */
	*hlen = 1 + n;
	if (major == 7)
		return dcbor_head_major7(it, ai, arg);
	if ((ai == 24 && arg < 24) || (ai == 25 && arg <= 0xff) ||
	    (ai == 26 && arg <= 0xffff) || (ai == 27 && arg <= 0xffffffff))
		return ERR_CBOR;	/* not the shortest head */
	it->u = arg;
	it->type = (enum dcbor_type)major;
	return 0;
}

_Static_assert(DCBOR_UINT == 0 && DCBOR_NEGINT == 1 && DCBOR_BYTES == 2 &&
    DCBOR_TEXT == 3 && DCBOR_ARRAY == 4 && DCBOR_MAP == 5 && DCBOR_TAG == 6,
    "enum dcbor_type numbers the major types 0 to 6");

/* Consumes one head and, for strings, the string bytes. Array, map and tag
 * heads leave their content to be read next. Clears *it on error. */
int dcbor_get_item(struct buf *b, struct dcbor_item *it);
/* Consumes one whole data item including everything nested in it, checking
 * it as strictly as dcbor_get_item and map keys for order and uniqueness.
 * Arrays, maps and tags each count one level; more than max_depth levels
 * is ERR_LIMIT. ERR_INVALID if max_depth > DCBOR_MAX_DEPTH. On error
 * nothing is consumed. */
int dcbor_skip(struct buf *b, unsigned max_depth);
/* 0 if p[0..len) is exactly one valid deterministic data item (no trailing
 * bytes: ERR_TRAILING). */
int dcbor_validate(const void *p, size_t len, unsigned max_depth);

/* Typed getters: ERR_CBOR if the next item has another type (or, for
 * dcbor_get_int, a value outside int64_t); outputs cleared on error.
 * String pointers point into b's memory, valid until b next changes. */
int dcbor_get_uint(struct buf *b, uint64_t *v);
int dcbor_get_int(struct buf *b, int64_t *v);
int dcbor_get_text(struct buf *b, const uint8_t **p, size_t *len);
int dcbor_get_bytes(struct buf *b, const uint8_t **p, size_t *len);
int dcbor_get_array(struct buf *b, uint64_t *n);
int dcbor_get_map(struct buf *b, uint64_t *n);
int dcbor_get_tag(struct buf *b, uint64_t *tag);
int dcbor_get_bool(struct buf *b, int *v);
int dcbor_get_null(struct buf *b);
int dcbor_get_float(struct buf *b, double *f);
/* The next item must be the text string `expected` (a NUL-terminated key):
 * consumes it and returns 0; otherwise returns ERR_CBOR (or ERR_TRUNCATED)
 * and consumes nothing, so optional keys can be tested in order. */
int dcbor_get_key(struct buf *b, const char *expected);
/* 1 if the next item is the text key `expected`, 0 if not (including
 * malformed or truncated input). Consumes nothing. */
int dcbor_peek_key(const struct buf *b, const char *expected);

#endif
