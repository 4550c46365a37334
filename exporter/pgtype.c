#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dcbor.h"
#include "err.h"
#include "pgtype.h"

/* PostgreSQL's on-the-wire constants (utils/datetime.h, numeric.c). */
#define PG_EPOCH_DAYS_FROM_1970	10957		/* 2000-01-01 */
#define PG_EPOCH_JDATE		2451545
#define DATE_END_JULIAN		2147483494	/* 5874898-01-01 */
#define USECS_PER_DAY		INT64_C(86400000000)
/* 4714-11-24 BC and 294277-01-01 */
#define MIN_TIMESTAMP		INT64_C(-211813488000000000)
#define END_TIMESTAMP		INT64_C(9223371331200000000)
#define NUMERIC_POS		0x0000
#define NUMERIC_NEG		0x4000
#define NUMERIC_NAN		0xC000
#define NUMERIC_PINF		0xD000
#define NUMERIC_NINF		0xF000
#define NUMERIC_DSCALE_MASK	0x3FFF
#define NUMERIC_NBASE		10000
#define JSONB_VERSION		1

static const struct {
	uint32_t array;
	uint32_t elem;
} array_types[] = {
	{ PGTYPE_JSON_ARRAY, PGTYPE_JSON },
	{ PGTYPE_BOOL_ARRAY, PGTYPE_BOOL },
	{ PGTYPE_BYTEA_ARRAY, PGTYPE_BYTEA },
	{ PGTYPE_NAME_ARRAY, PGTYPE_NAME },
	{ PGTYPE_INT2_ARRAY, PGTYPE_INT2 },
	{ PGTYPE_INT4_ARRAY, PGTYPE_INT4 },
	{ PGTYPE_TEXT_ARRAY, PGTYPE_TEXT },
	{ PGTYPE_BPCHAR_ARRAY, PGTYPE_BPCHAR },
	{ PGTYPE_VARCHAR_ARRAY, PGTYPE_VARCHAR },
	{ PGTYPE_INT8_ARRAY, PGTYPE_INT8 },
	{ PGTYPE_FLOAT4_ARRAY, PGTYPE_FLOAT4 },
	{ PGTYPE_FLOAT8_ARRAY, PGTYPE_FLOAT8 },
	{ PGTYPE_OID_ARRAY, PGTYPE_OID },
	{ PGTYPE_TIMESTAMP_ARRAY, PGTYPE_TIMESTAMP },
	{ PGTYPE_DATE_ARRAY, PGTYPE_DATE },
	{ PGTYPE_TIMESTAMPTZ_ARRAY, PGTYPE_TIMESTAMPTZ },
	{ PGTYPE_NUMERIC_ARRAY, PGTYPE_NUMERIC },
	{ PGTYPE_UUID_ARRAY, PGTYPE_UUID },
	{ PGTYPE_JSONB_ARRAY, PGTYPE_JSONB },
};

static int
scalar_supported(uint32_t oid)
{
	switch (oid) {
	case PGTYPE_BOOL: case PGTYPE_BYTEA: case PGTYPE_NAME:
	case PGTYPE_INT8: case PGTYPE_INT2: case PGTYPE_INT4:
	case PGTYPE_TEXT: case PGTYPE_OID: case PGTYPE_JSON:
	case PGTYPE_FLOAT4: case PGTYPE_FLOAT8: case PGTYPE_BPCHAR:
	case PGTYPE_VARCHAR: case PGTYPE_DATE: case PGTYPE_TIMESTAMP:
	case PGTYPE_TIMESTAMPTZ: case PGTYPE_NUMERIC: case PGTYPE_UUID:
	case PGTYPE_JSONB:
		return 1;
	}
	return 0;
}

uint32_t
pgtype_array_elem(uint32_t oid)
{
	size_t i;

	for (i = 0; i < sizeof(array_types) / sizeof(array_types[0]); i++)
		if (array_types[i].array == oid)
			return array_types[i].elem;
	return 0;
}

int
pgtype_supported(uint32_t oid)
{
	return scalar_supported(oid) || pgtype_array_elem(oid) != 0;
}

/* Text from the database: must be UTF-8 (a malformed value, not bad CBOR). */
static int
put_db_text(struct buf *out, const uint8_t *p, size_t len)
{
	int r = dcbor_put_text(out, (const char *)p, len);

	/* dcbor_put_text checks the UTF-8 once (ERR_CBOR and nothing
	 * written): here that is the value's fault */
	return r == ERR_CBOR ? ERR_FORMAT : r;
}

static int
put_cstr(struct buf *out, const char *s)
{
	return dcbor_put_text(out, s, strlen(s));
}

/*
 * Proleptic Gregorian civil date of a day count relative to 1970-01-01
 * (the well-known era/day-of-era method: exact for any int64 day count in
 * range here, no floating point, no table).
 */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;		/* shift the epoch to 0000-03-01 */
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

/* v in decimal, zero-padded to at least width digits (width <= 20), at
 * s; returns the length. By hand, two digits per division: this runs
 * for every field of every date and time. */
static size_t
put_dec(char *s, uint64_t v, size_t width)
{
	static const char pairs[] =
	    "00010203040506070809101112131415161718192021222324252627282930"
	    "31323334353637383940414243444546474849505152535455565758596061"
	    "62636465666768697071727374757677787980818283848586878889909192"
	    "93949596979899";
	char t[20];
	size_t n = sizeof(t), len;
	unsigned k;

	if (v < 100 && width == 2) {
		/* the month, day, hour, minute and second of every date */
		memcpy(s, pairs + 2 * v, 2);
		return 2;
	}
	if (v < 10000 && width == 4) {
		/* a year, a numeric's group of four digits */
		memcpy(s, pairs + 2 * (v / 100), 2);
		memcpy(s + 2, pairs + 2 * (v % 100), 2);
		return 4;
	}
	while (v >= 100) {
		k = (unsigned)(v % 100);
		v /= 100;
		t[--n] = pairs[2 * k + 1];
		t[--n] = pairs[2 * k];
	}
	if (v >= 10) {
		t[--n] = pairs[2 * v + 1];
		t[--n] = pairs[2 * v];
	} else
		t[--n] = (char)('0' + v);
	len = sizeof(t) - n;
	while (len < width) {
		t[--n] = '0';
		len++;
	}
	memcpy(s, t + n, len);
	return len;
}

/* "YYYY-MM-DD" with PostgreSQL's year rules into s (at least 32 bytes,
 * NUL-terminated); *bc set for years <= 0. Returns the length. */
static size_t
format_date(char *s, int64_t days2000, int *bc, int *plain)
{
	int64_t y;
	unsigned m, d;
	size_t n;

	civil_from_days(days2000 + PG_EPOCH_DAYS_FROM_1970, &y, &m, &d);
	*bc = y <= 0;
	*plain = y < 1 || y > 9999;
	if (y <= 0)
		y = 1 - y;
	n = put_dec(s, (uint64_t)y, 4);
	s[n++] = '-';
	n += put_dec(s + n, m, 2);
	s[n++] = '-';
	n += put_dec(s + n, d, 2);
	s[n] = '\0';
	return n;
}

static int
date_to_cbor(struct buf *in, struct buf *out)
{
	char s[64];
	uint32_t u;
	int32_t v;
	size_t n;
	int r, bc, plain;

	if ((r = buf_get_u32be(in, &u)) != 0)
		return r;
	v = (int32_t)u;
	if (v == INT32_MIN)
		return put_cstr(out, "-infinity");
	if (v == INT32_MAX)
		return put_cstr(out, "infinity");
	if (v < -PG_EPOCH_JDATE || v >= DATE_END_JULIAN - PG_EPOCH_JDATE)
		return ERR_FORMAT;
	n = format_date(s, v, &bc, &plain);
	if (!plain) {
		if ((r = dcbor_put_tag(out, DCBOR_TAG_DATE)) != 0)
			return r;
		return dcbor_put_text(out, s, n);
	}
	if (bc) {
		memcpy(s + n, " BC", 3);
		n += 3;
	}
	return dcbor_put_text(out, s, n);
}

static int
timestamp_to_cbor(struct buf *in, struct buf *out, int tz)
{
	char s[128];
	uint64_t u;
	int64_t t, days, us;
	unsigned sec, fs;
	size_t n, k;
	int r, bc, plain;

	if ((r = buf_get_u64be(in, &u)) != 0)
		return r;
	t = (int64_t)u;
	if (t == INT64_MIN)
		return put_cstr(out, "-infinity");
	if (t == INT64_MAX)
		return put_cstr(out, "infinity");
	if (t < MIN_TIMESTAMP || t >= END_TIMESTAMP)
		return ERR_FORMAT;
	days = t / USECS_PER_DAY;
	us = t % USECS_PER_DAY;
	if (us < 0) {
		us += USECS_PER_DAY;
		days--;
	}
	n = format_date(s, days, &bc, &plain);
	sec = (unsigned)(us / 1000000);
	fs = (unsigned)(us % 1000000);
	s[n++] = plain ? ' ' : 'T';
	n += put_dec(s + n, sec / 3600, 2);
	s[n++] = ':';
	n += put_dec(s + n, sec / 60 % 60, 2);
	s[n++] = ':';
	n += put_dec(s + n, sec % 60, 2);
	if (fs != 0) {
		/* ".ffffff" without its trailing zeros */
		s[n++] = '.';
		k = put_dec(s + n, fs, 6);
		while (s[n + k - 1] == '0')
			k--;
		n += k;
	}
	if (!plain) {
		if (tz) {
			s[n++] = 'Z';
			if ((r = dcbor_put_tag(out, DCBOR_TAG_DATETIME)) != 0)
				return r;
		}
		return dcbor_put_text(out, s, n);
	}
	if (tz) {
		memcpy(s + n, "+00", 3);
		n += 3;
	}
	if (bc) {
		memcpy(s + n, " BC", 3);
		n += 3;
	}
	return dcbor_put_text(out, s, n);
}

static int
numeric_to_cbor(struct buf *in, struct buf *out)
{
	uint16_t ndigits, uweight, sign, dscale, u;
	uint16_t *digits = NULL, digits_stack[32];
	char *s = NULL, s_stack[256];
	size_t cap, n = 0, first = 0, nd, i;
	int weight, d, j;
	int r = ERR_INTERNAL;

	if ((r = buf_get_u16be(in, &ndigits)) != 0 ||
	    (r = buf_get_u16be(in, &uweight)) != 0 ||
	    (r = buf_get_u16be(in, &sign)) != 0 ||
	    (r = buf_get_u16be(in, &dscale)) != 0)
		goto out;
	weight = (int16_t)uweight;
	if ((dscale & NUMERIC_DSCALE_MASK) != dscale) {
		r = ERR_FORMAT;
		goto out;
	}
	if (sign == NUMERIC_NAN || sign == NUMERIC_PINF ||
	    sign == NUMERIC_NINF) {
		/* specials carry no digits (PostgreSQL sends none) */
		if (ndigits != 0) {
			r = ERR_FORMAT;
			goto out;
		}
		r = put_cstr(out, sign == NUMERIC_NAN ? "NaN" :
		    sign == NUMERIC_PINF ? "Infinity" : "-Infinity");
		goto out;
	}
	if (sign != NUMERIC_POS && sign != NUMERIC_NEG) {
		r = ERR_FORMAT;
		goto out;
	}
	/* cap before allocating: every digit takes two input bytes */
	if (ndigits > buf_len(in) / 2) {
		r = ERR_TRUNCATED;
		goto out;
	}
	/* the common sizes on the stack: no allocation per value */
	if ((size_t)ndigits + 1 <= sizeof(digits_stack) / sizeof(digits_stack[0]))
		digits = digits_stack;
	else if ((digits = calloc(ndigits + 1, sizeof(*digits))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < ndigits; i++) {
		if ((r = buf_get_u16be(in, &u)) != 0)
			goto out;
		if (u >= NUMERIC_NBASE) {
			r = ERR_FORMAT;
			goto out;
		}
		digits[i] = u;
	}
	/* Normalise like numeric_recv/make_result: one value, one text. */
	nd = ndigits;
	while (first < nd && digits[first] == 0) {
		first++;
		weight--;
	}
	while (nd > first && digits[nd - 1] == 0)
		nd--;
	if (nd == first) {
		sign = NUMERIC_POS;
		weight = 0;
	}
	if (weight < INT16_MIN) {
		r = ERR_FORMAT;
		goto out;
	}

	/* sign + integer digits + point + fraction (+ a 4-digit overrun) */
	cap = 1 + (weight >= 0 ? ((size_t)weight + 1) * 4 : 1) + 1 +
	    dscale + 4 + 1;
	if (cap <= sizeof(s_stack))
		s = s_stack;
	else if ((s = malloc(cap)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (sign == NUMERIC_NEG)
		s[n++] = '-';
	/* d indexes digits relative to the first significant one */
	if (weight < 0) {
		d = weight + 1;
		s[n++] = '0';
	} else {
		for (d = 0; d <= weight; d++) {
			u = (size_t)d < nd - first ? digits[first + d] : 0;
			n += put_dec(s + n, u, d == 0 ? 1 : 4);
		}
	}
	if (dscale > 0) {
		size_t end;

		s[n++] = '.';
		end = n + dscale;
		for (j = 0; j < dscale; j += 4, d++) {
			u = d >= 0 && (size_t)d < nd - first ?
			    digits[first + d] : 0;
			n += put_dec(s + n, u, 4);
		}
		n = end;	/* PostgreSQL truncates to dscale digits */
	}
	r = dcbor_put_text(out, s, n);
 out:
	if (digits != digits_stack)
		free(digits);
	if (s != s_stack)
		free(s);
	return r;
}

static int value_to_cbor(uint32_t oid, const uint8_t *p, size_t len,
    struct buf *in, struct buf *out);

static int
array_level(uint32_t elem, struct buf *in, const int32_t *dims, int level,
    int ndim, int hasnull, struct buf *out)
{
	const uint8_t *p;
	uint32_t u;
	int32_t len, i;
	int r;

	if ((r = dcbor_put_array(out, (uint64_t)dims[level])) != 0)
		return r;
	for (i = 0; i < dims[level]; i++) {
		if (level + 1 < ndim) {
			if ((r = array_level(elem, in, dims, level + 1, ndim,
			    hasnull, out)) != 0)
				return r;
			continue;
		}
		if ((r = buf_get_u32be(in, &u)) != 0)
			return r;
		len = (int32_t)u;
		if (len == -1) {
			if (!hasnull)
				return ERR_FORMAT;
			if ((r = dcbor_put_null(out)) != 0)
				return r;
			continue;
		}
		if (len < 0)
			return ERR_FORMAT;
		if ((r = buf_get_ptr(in, (size_t)len, &p)) != 0 ||
		    (r = value_to_cbor(elem, p, (size_t)len, NULL, out)) != 0)
			return r;
	}
	return 0;
}

static int
array_to_cbor(uint32_t elem, struct buf *in, struct buf *out)
{
	int32_t dims[PGTYPE_MAX_DIMS];
	uint32_t u, flags, eoid, lb;
	size_t total = 1, limit;
	int32_t ndim;
	int i, r;

	if ((r = buf_get_u32be(in, &u)) != 0 ||
	    (r = buf_get_u32be(in, &flags)) != 0 ||
	    (r = buf_get_u32be(in, &eoid)) != 0)
		return r;
	ndim = (int32_t)u;
	if (ndim < 0 || ndim > PGTYPE_MAX_DIMS || flags > 1 || eoid != elem)
		return ERR_FORMAT;
	if (ndim == 0)
		return dcbor_put_array(out, 0);
	for (i = 0; i < ndim; i++) {
		if ((r = buf_get_u32be(in, &u)) != 0 ||
		    (r = buf_get_u32be(in, &lb)) != 0)
			return r;
		dims[i] = (int32_t)u;
		if (dims[i] <= 0 || lb != 1)
			return ERR_FORMAT;
	}
	/* every element has a 4-byte length: bound the count by the input */
	limit = buf_len(in) / 4;
	for (i = 0; i < ndim; i++) {
		if ((size_t)dims[i] > limit / total)
			return ERR_TRUNCATED;
		total *= (size_t)dims[i];
	}
	return array_level(elem, in, dims, 0, ndim, flags == 1, out);
}

static int
scalar_to_cbor(uint32_t oid, struct buf *in, struct buf *out)
{
	const uint8_t *p;
	uint8_t b8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	float f;
	double d;
	int r;

	switch (oid) {
	case PGTYPE_BOOL:
		if ((r = buf_get_u8(in, &b8)) != 0)
			return r;
		if (b8 > 1)
			return ERR_FORMAT;
		return dcbor_put_bool(out, b8);
	case PGTYPE_INT2:
		if ((r = buf_get_u16be(in, &u16)) != 0)
			return r;
		return dcbor_put_int(out, (int16_t)u16);
	case PGTYPE_INT4:
		if ((r = buf_get_u32be(in, &u32)) != 0)
			return r;
		return dcbor_put_int(out, (int32_t)u32);
	case PGTYPE_OID:
		if ((r = buf_get_u32be(in, &u32)) != 0)
			return r;
		return dcbor_put_uint(out, u32);
	case PGTYPE_INT8:
		if ((r = buf_get_u64be(in, &u64)) != 0)
			return r;
		return dcbor_put_int(out, (int64_t)u64);
	case PGTYPE_FLOAT4:
		if ((r = buf_get_u32be(in, &u32)) != 0)
			return r;
		memcpy(&f, &u32, sizeof(f));
		return dcbor_put_float(out, (double)f);
	case PGTYPE_FLOAT8:
		if ((r = buf_get_u64be(in, &u64)) != 0)
			return r;
		memcpy(&d, &u64, sizeof(d));
		return dcbor_put_float(out, d);
	case PGTYPE_NUMERIC:
		return numeric_to_cbor(in, out);
	case PGTYPE_UUID:
		if ((r = buf_get_ptr(in, 16, &p)) != 0)
			return r;
		if ((r = dcbor_put_tag(out, DCBOR_TAG_UUID)) != 0)
			return r;
		return dcbor_put_bytes(out, p, 16);
	case PGTYPE_DATE:
		return date_to_cbor(in, out);
	case PGTYPE_TIMESTAMP:
		return timestamp_to_cbor(in, out, 0);
	case PGTYPE_TIMESTAMPTZ:
		return timestamp_to_cbor(in, out, 1);
	}
	return ERR_UNSUPPORTED;
}

/* in: a read-only view to reuse (pointed at the value here), or NULL for
 * one of its own (array elements: the caller's view is in use). */
static int
value_to_cbor(uint32_t oid, const uint8_t *p, size_t len, struct buf *in,
    struct buf *out)
{
	struct buf *own = NULL;
	uint32_t elem = 0;
	int r = ERR_INTERNAL;

	/* the array table is searched only for what no scalar case takes */
	if (!scalar_supported(oid) && (elem = pgtype_array_elem(oid)) == 0) {
		r = ERR_UNSUPPORTED;
		goto out;
	}
	/* Variable-length types take the whole value as is. */
	switch (oid) {
	case PGTYPE_TEXT: case PGTYPE_VARCHAR: case PGTYPE_BPCHAR:
	case PGTYPE_NAME: case PGTYPE_JSON:
		r = put_db_text(out, p, len);
		goto out;
	case PGTYPE_BYTEA:
		r = dcbor_put_bytes(out, p, len);
		goto out;
	}
	if (in == NULL && (in = own = buf_from(NULL, 0)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = buf_view_reset(in, p, len)) != 0)
		goto out;
	if (oid == PGTYPE_JSONB) {
		const uint8_t *t;
		uint8_t ver;

		if ((r = buf_get_u8(in, &ver)) != 0)
			goto out;
		if (ver != JSONB_VERSION) {
			r = ERR_FORMAT;
			goto out;
		}
		if ((r = buf_get_ptr(in, len - 1, &t)) != 0 ||
		    (r = put_db_text(out, t, len - 1)) != 0)
			goto out;
	} else if (elem != 0) {
		if ((r = array_to_cbor(elem, in, out)) != 0)
			goto out;
	} else if ((r = scalar_to_cbor(oid, in, out)) != 0)
		goto out;
	r = buf_expect_end(in);
 out:
	buf_free(own);
	return r;
}

int
pgtype_to_cbor_view(struct buf *view, uint32_t oid, const uint8_t *p,
    size_t len, struct buf *out)
{
	size_t before = buf_len(out);
	int r;

	if ((r = value_to_cbor(oid, p, len, view, out)) != 0 &&
	    buf_len(out) > before)
		buf_unput(out, buf_len(out) - before);
	return r;
}

int
pgtype_to_cbor(uint32_t oid, const uint8_t *p, size_t len, struct buf *out)
{
	struct buf *view = buf_from(NULL, 0);
	int r;

	if (view == NULL)
		return ERR_NOMEM;
	r = pgtype_to_cbor_view(view, oid, p, len, out);
	buf_free(view);
	return r;
}
