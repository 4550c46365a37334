/*
 * coltype.h: which CBOR forms a column's values may take (FORMAT.md §4.1).
 *
 * A column's type is named in the preamble as PostgreSQL's format_type()
 * spells it ("bigint", "character varying(20)", "timestamp(3) with time
 * zone", "integer[]", ...). coltype_parse maps the spelling to one of the
 * kinds below; a spelling the table does not list is KIND_TEXT (the
 * exporter sends such columns as their text output), and so is an array
 * of such a type. Then every value of the column must be null or one of
 * its kind's forms:
 *
 *   bool      false, true
 *   int2/4/8  a CBOR integer within the type's range
 *   oid       an unsigned integer below 2^32
 *   float4    a half or single float
 *   float8    a float of any width
 *   bytes     a byte string
 *   uuid      tag 37 on a 16-byte byte string
 *   date      tag 1004 on "YYYY-MM-DD" (years 0001..9999), or a text
 *             string that is "infinity", "-infinity", ends in " BC" or
 *             starts with a year of five or more digits
 *   tstz      tag 0 on "YYYY-MM-DDTHH:MM:SS[.f]Z" (1..6 fraction digits,
 *             the last not 0), or a text string as for date
 *   text      a text string
 *   T[]       [] or a rectangular nest of 1..6 array levels, no level
 *             empty, whose innermost items are null or T's forms
 *
 * Tags other than 0, 37 and 1004 are never allowed, and a listed tag must
 * wrap its own form (ERR_TAG); a value of the wrong form is ERR_TYPE.
 */
#ifndef TEXP_COLTYPE_H
#define TEXP_COLTYPE_H

#include <stddef.h>
#include <stdint.h>

struct buf;

enum coltype_kind {
	COLTYPE_TEXT = 0, COLTYPE_BOOL, COLTYPE_INT2, COLTYPE_INT4,
	COLTYPE_INT8, COLTYPE_OID, COLTYPE_FLOAT4, COLTYPE_FLOAT8,
	COLTYPE_BYTES, COLTYPE_UUID, COLTYPE_DATE, COLTYPE_TSTZ,
};

#define COLTYPE_MAX_DIMS	6

struct coltype {
	uint8_t kind;		/* enum coltype_kind */
	uint8_t array;		/* 1: an array of kind */
};

/* Maps a format_type spelling to its kind (never fails). */
void coltype_parse(const char *spelling, struct coltype *out);

/*
 * Consumes one value from b, which must be a read-only view (buf_from).
 * Returns 0 when it is one of t's forms or null. ERR_TAG / ERR_TYPE when it
 * is well-formed deterministic CBOR but not allowed: the whole value is
 * consumed, so the caller may go on with the next one. ERR_CBOR,
 * ERR_TRUNCATED or ERR_LIMIT when it is not well-formed (b's position is
 * then unspecified).
 */
int coltype_check(const struct coltype *t, struct buf *b);
/* The common case of coltype_check, on bytes: 1 when the value at *pp
 * (before end) is of one of t's forms, with *pp moved past it; 0 when
 * coltype_check must look at it (any other case, failures included), *pp
 * unchanged. Never 1 where coltype_check would not consume the same bytes
 * and return 0. */
int coltype_fast(const struct coltype *t, const uint8_t **pp,
    const uint8_t *end);

/* The text forms a tag-0 or tag-1004 value must have: 1 if p[0..len) is
 * a valid "YYYY-MM-DDTHH:MM:SS[.f]Z" (tstz) or "YYYY-MM-DD" (date). */
int coltype_datetime_valid(const uint8_t *p, size_t len, int with_time);

#endif
