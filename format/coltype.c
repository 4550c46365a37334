#include <string.h>

#include "buf.h"
#include "coltype.h"
#include "dcbor.h"
#include "err.h"

/* Spellings as format_type() prints the built-in types the exporter
 * decodes. A "(N)" in a pattern stands for one or more digits (a typmod),
 * "(N,N)" for two. */
static const struct {
	const char *pattern;
	uint8_t kind;
} spellings[] = {
	{ "boolean", COLTYPE_BOOL },
	{ "smallint", COLTYPE_INT2 },
	{ "integer", COLTYPE_INT4 },
	{ "bigint", COLTYPE_INT8 },
	{ "oid", COLTYPE_OID },
	{ "real", COLTYPE_FLOAT4 },
	{ "double precision", COLTYPE_FLOAT8 },
	{ "bytea", COLTYPE_BYTES },
	{ "uuid", COLTYPE_UUID },
	{ "date", COLTYPE_DATE },
	{ "timestamp with time zone", COLTYPE_TSTZ },
	{ "timestamp(N) with time zone", COLTYPE_TSTZ },
	{ "timestamp without time zone", COLTYPE_TEXT },
	{ "timestamp(N) without time zone", COLTYPE_TEXT },
	{ "text", COLTYPE_TEXT },
	{ "character varying", COLTYPE_TEXT },
	{ "character varying(N)", COLTYPE_TEXT },
	{ "character(N)", COLTYPE_TEXT },
	{ "bpchar", COLTYPE_TEXT },
	{ "name", COLTYPE_TEXT },
	{ "json", COLTYPE_TEXT },
	{ "jsonb", COLTYPE_TEXT },
	{ "numeric", COLTYPE_TEXT },
	{ "numeric(N)", COLTYPE_TEXT },
	{ "numeric(N,N)", COLTYPE_TEXT },
};

/* s[0..n) matches pattern, where "N" matches 1..4 digits. */
static int
matches(const char *s, size_t n, const char *pattern)
{
	size_t i = 0, k;

	for (; *pattern != '\0'; pattern++) {
		if (*pattern != 'N') {
			if (i >= n || s[i] != *pattern)
				return 0;
			i++;
			continue;
		}
		for (k = 0; i < n && k < 4 && s[i] >= '0' && s[i] <= '9'; k++)
			i++;
		if (k == 0)
			return 0;
	}
	return i == n;
}

static int
lookup(const char *s, size_t n, uint8_t *kind)
{
	size_t i;

	for (i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++)
		if (matches(s, n, spellings[i].pattern)) {
			*kind = spellings[i].kind;
			return 1;
		}
	return 0;
}

void
coltype_parse(const char *spelling, struct coltype *out)
{
	size_t n = strlen(spelling);

	out->kind = COLTYPE_TEXT;
	out->array = 0;
	if (lookup(spelling, n, &out->kind))
		return;
	/* format_type prints one "[]" whatever the dimensions */
	if (n > 2 && strcmp(spelling + n - 2, "[]") == 0 &&
	    lookup(spelling, n - 2, &out->kind)) {
		out->array = 1;
		return;
	}
	out->kind = COLTYPE_TEXT;
}

static int
two(const uint8_t *p, unsigned *v)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return 0;
	*v = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
	return 1;
}

static int
date_ok(const uint8_t *p)
{
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31,
	    30, 31, 30, 31 };
	unsigned yh, yl, m, d, y;

	if (!two(p, &yh) || !two(p + 2, &yl) || p[4] != '-' ||
	    !two(p + 5, &m) || p[7] != '-' || !two(p + 8, &d))
		return 0;
	y = yh * 100 + yl;
	if (y == 0 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	return !(m == 2 && d == 29 && !(y % 4 == 0 &&
	    (y % 100 != 0 || y % 400 == 0)));
}

int
coltype_datetime_valid(const uint8_t *p, size_t len, int with_time)
{
	unsigned h, mi, s;
	size_t i, f;

	if (!with_time)
		return len == 10 && date_ok(p);
	if (len < 20 || !date_ok(p) || p[10] != 'T' || !two(p + 11, &h) ||
	    p[13] != ':' || !two(p + 14, &mi) || p[16] != ':' ||
	    !two(p + 17, &s) || h > 23 || mi > 59 || s > 59 ||
	    p[len - 1] != 'Z')
		return 0;
	if (len == 20)
		return 1;
	/* ".f": 1..6 digits, no trailing zero */
	f = len - 21;
	if (p[19] != '.' || f < 1 || f > 6 || p[len - 2] == '0')
		return 0;
	for (i = 20; i < len - 1; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* An untagged text in a date or timestamptz column: only the values the
 * tag cannot carry. */
static int
untagged_ok(const uint8_t *p, size_t len)
{
	size_t i;

	if ((len == 8 && memcmp(p, "infinity", 8) == 0) ||
	    (len == 9 && memcmp(p, "-infinity", 9) == 0) ||
	    (len >= 3 && memcmp(p + len - 3, " BC", 3) == 0))
		return 1;
	for (i = 0; i < len && i < 5; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return i == 5;
}

static int
int_ok(uint8_t kind, int neg, uint64_t n)
{
	switch (kind) {
	case COLTYPE_INT2: return n <= INT16_MAX;
	case COLTYPE_INT4: return n <= INT32_MAX;
	case COLTYPE_INT8: return n <= INT64_MAX;
	case COLTYPE_OID: return !neg && n <= UINT32_MAX;
	}
	return 0;
}

/* The item after a tag head: the tag's own form first (ERR_TAG), then
 * whether the column takes it (ERR_TYPE). */
static int
tagged(uint8_t kind, struct buf *b, uint64_t tag)
{
	struct dcbor_item c;
	int r;

	if (tag != DCBOR_TAG_DATETIME && tag != DCBOR_TAG_UUID &&
	    tag != DCBOR_TAG_DATE)
		return ERR_TAG;
	if ((r = dcbor_get_item(b, &c)) != 0)
		return r;
	switch (tag) {
	case DCBOR_TAG_UUID:
		if (c.type != DCBOR_BYTES || c.len != 16)
			return ERR_TAG;
		return kind == COLTYPE_UUID ? 0 : ERR_TYPE;
	case DCBOR_TAG_DATETIME:
		if (c.type != DCBOR_TEXT ||
		    !coltype_datetime_valid(c.p, c.len, 1))
			return ERR_TAG;
		return kind == COLTYPE_TSTZ ? 0 : ERR_TYPE;
	default:
		if (c.type != DCBOR_TEXT ||
		    !coltype_datetime_valid(c.p, c.len, 0))
			return ERR_TAG;
		return kind == COLTYPE_DATE ? 0 : ERR_TYPE;
	}
}

/* One scalar value whose head it has been read from b. */
static int
scalar(uint8_t kind, struct buf *b, const struct dcbor_item *it)
{
	switch (it->type) {
	case DCBOR_NULL:
		return 0;
	case DCBOR_TAG:
		return tagged(kind, b, it->u);
	case DCBOR_FALSE:
	case DCBOR_TRUE:
		return kind == COLTYPE_BOOL ? 0 : ERR_TYPE;
	case DCBOR_UINT:
	case DCBOR_NEGINT:
		return int_ok(kind, it->type == DCBOR_NEGINT, it->u) ? 0 :
		    ERR_TYPE;
	case DCBOR_FLOAT:
		return kind == COLTYPE_FLOAT8 ||
		    (kind == COLTYPE_FLOAT4 && it->u <= 4) ? 0 : ERR_TYPE;
	case DCBOR_BYTES:
		return kind == COLTYPE_BYTES ? 0 : ERR_TYPE;
	case DCBOR_TEXT:
		if (kind == COLTYPE_TEXT)
			return 0;
		return (kind == COLTYPE_DATE || kind == COLTYPE_TSTZ) &&
		    untagged_ok(it->p, it->len) ? 0 : ERR_TYPE;
	default:
		return ERR_TYPE;	/* arrays and maps */
	}
}

/*
 * One item at depth (>= 1) inside an array value: a nested array or an
 * element. dims[d] is the length every array at depth d must have (0:
 * not seen yet); *ndim is the depth of the elements once known.
 */
static int
level(uint8_t kind, struct buf *b, unsigned depth,
    uint64_t dims[COLTYPE_MAX_DIMS], unsigned *ndim)
{
	struct dcbor_item it;
	uint64_t i;
	int r;

	if ((r = dcbor_get_item(b, &it)) != 0)
		return r;
	if (it.type != DCBOR_ARRAY) {
		if (*ndim == 0)
			*ndim = depth;
		if (*ndim != depth)
			return ERR_TYPE;	/* not rectangular */
		return scalar(kind, b, &it);
	}
	if (depth >= COLTYPE_MAX_DIMS || (*ndim != 0 && depth >= *ndim) ||
	    it.u == 0 || (dims[depth] != 0 && dims[depth] != it.u))
		return ERR_TYPE;
	dims[depth] = it.u;
	if (it.u > buf_len(b))
		return ERR_TRUNCATED;	/* every item takes a byte */
	for (i = 0; i < it.u; i++)
		if ((r = level(kind, b, depth + 1, dims, ndim)) != 0)
			return r;
	return 0;
}

static int
array_value(uint8_t kind, struct buf *b)
{
	uint64_t dims[COLTYPE_MAX_DIMS] = { 0 }, i;
	struct dcbor_item it;
	unsigned ndim = 0;
	int r;

	if ((r = dcbor_get_item(b, &it)) != 0)
		return r;
	if (it.type == DCBOR_NULL)
		return 0;
	if (it.type == DCBOR_TAG) {
		r = tagged(kind, b, it.u);
		return r == 0 ? ERR_TYPE : r;	/* a tag is not an array */
	}
	if (it.type != DCBOR_ARRAY)
		return ERR_TYPE;
	dims[0] = it.u;
	if (it.u > buf_len(b))
		return ERR_TRUNCATED;
	for (i = 0; i < it.u; i++)
		if ((r = level(kind, b, 1, dims, &ndim)) != 0)
			return r;
	return 0;
}

/* A tag head's item (at p, avail bytes) of the tag's own form and of
 * kind: its size, or 0. */
static size_t
fast_tagged(uint8_t kind, uint64_t tag, const uint8_t *p, size_t avail)
{
	struct dcbor_item c;
	size_t hl;

	if (dcbor_head(p, avail, &c, &hl) != 0 || c.u > avail - hl)
		return 0;
	switch (tag) {
	case DCBOR_TAG_UUID:
		return kind == COLTYPE_UUID && c.type == DCBOR_BYTES &&
		    c.u == 16 ? hl + 16 : 0;
	/* the forms are ASCII, so valid UTF-8 (dcbor_get_item's check) */
	case DCBOR_TAG_DATETIME:
		return kind == COLTYPE_TSTZ && c.type == DCBOR_TEXT &&
		    coltype_datetime_valid(p + hl, (size_t)c.u, 1) ?
		    hl + (size_t)c.u : 0;
	case DCBOR_TAG_DATE:
		return kind == COLTYPE_DATE && c.type == DCBOR_TEXT &&
		    coltype_datetime_valid(p + hl, (size_t)c.u, 0) ?
		    hl + (size_t)c.u : 0;
	}
	return 0;
}

int
coltype_fast(const struct coltype *t, const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	size_t avail = (size_t)(end - p), hl, n;
	struct dcbor_item it;

	if (t->array || dcbor_head(p, avail, &it, &hl) != 0)
		return 0;
	switch (it.type) {
	case DCBOR_BYTES:
	case DCBOR_TEXT:
		if (it.u > avail - hl || (it.type == DCBOR_TEXT &&
		    !dcbor_utf8_valid(p + hl, (size_t)it.u)))
			return 0;
		it.p = p + hl;
		it.len = (size_t)it.u;
		n = hl + it.len;
		break;
	case DCBOR_TAG:
		if ((n = fast_tagged(t->kind, it.u, p + hl, avail - hl)) == 0)
			return 0;
		*pp = p + hl + n;
		return 1;
	case DCBOR_ARRAY:
	case DCBOR_MAP:
		return 0;
	default:
		n = hl;
	}
	/* no tag: scalar does not read b */
	if (scalar(t->kind, NULL, &it) != 0)
		return 0;
	*pp = p + n;
	return 1;
}

int
coltype_check(const struct coltype *t, struct buf *b)
{
	const uint8_t *p0 = buf_ptr(b);
	size_t l0 = buf_len(b);
	struct dcbor_item it;
	int r, r2;

	if (t->array)
		r = array_value(t->kind, b);
	else if ((r = dcbor_get_item(b, &it)) == 0)
		r = scalar(t->kind, b, &it);
	if (r != ERR_TAG && r != ERR_TYPE)
		return r;
	/* A value of the wrong form: consume all of it, if it is
	 * well-formed, so that the caller can report and go on. */
	if ((r2 = buf_view_reset(b, p0, l0)) != 0 ||
	    (r2 = dcbor_skip(b, DCBOR_MAX_DEPTH)) != 0)
		return r2;
	return r;
}
