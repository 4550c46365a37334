#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "buf.h"
#include "dcbor.h"
#include "err.h"
#include "pgcopy.h"
#include "pgtype.h"
#include "testutil.h"

#define MAX_COLS	16
#define ROW_MAX		(1 << 20)

/* Helpers */

/*
 * Compares a CBOR item (consumed from cb) with PostgreSQL's own text output
 * t[0..n) of the same value of type oid. Returns 1 if they agree. Arrays are
 * compared element by element by parsing PostgreSQL's array literal.
 */
static int match_value(struct buf *cb, uint32_t oid, const char *t, size_t n);

static int
match_float(struct buf *cb, uint32_t oid, const char *t, size_t n)
{
	char s[64];
	double d, want;

	if (dcbor_get_float(cb, &d) != 0 || n >= sizeof(s))
		return 0;
	memcpy(s, t, n);
	s[n] = '\0';
	if (strcmp(s, "NaN") == 0)
		return isnan(d);
	if (strcmp(s, "Infinity") == 0)
		return d == INFINITY;
	if (strcmp(s, "-Infinity") == 0)
		return d == -INFINITY;
	want = oid == PGTYPE_FLOAT4 ? (double)strtof(s, NULL) : strtod(s, NULL);
	return memcmp(&d, &want, sizeof(d)) == 0;
}

/* Renders a non-float scalar the way PostgreSQL's text output does. */
static int
render_scalar(struct buf *cb, uint32_t oid, char **out, size_t *outlen)
{
	struct dcbor_item it;
	const uint8_t *p;
	char *s = NULL;
	size_t len, i;
	int64_t v;
	uint64_t u;
	int b;

	*out = NULL;
	switch (oid) {
	case PGTYPE_BOOL:
		if (dcbor_get_bool(cb, &b) != 0)
			return 0;
		s = strdup(b ? "t" : "f");
		break;
	case PGTYPE_INT2: case PGTYPE_INT4: case PGTYPE_INT8:
		if (dcbor_get_int(cb, &v) != 0)
			return 0;
		if (asprintf(&s, "%lld", (long long)v) < 0)
			return 0;
		break;
	case PGTYPE_OID:
		if (dcbor_get_uint(cb, &u) != 0 || u > UINT32_MAX)
			return 0;
		if (asprintf(&s, "%llu", (unsigned long long)u) < 0)
			return 0;
		break;
	case PGTYPE_BYTEA:
		if (dcbor_get_bytes(cb, &p, &len) != 0)
			return 0;
		s = malloc(2 * len + 3);
		strcpy(s, "\\x");
		for (i = 0; i < len; i++)
			sprintf(s + 2 + 2 * i, "%02x", p[i]);
		break;
	case PGTYPE_UUID:
		if (dcbor_get_tag(cb, &u) != 0 || u != DCBOR_TAG_UUID ||
		    dcbor_get_bytes(cb, &p, &len) != 0 || len != 16)
			return 0;
		s = malloc(37);
		for (i = 0, len = 0; i < 16; i++) {
			len += (size_t)sprintf(s + len, "%02x", p[i]);
			if (i == 3 || i == 5 || i == 7 || i == 9)
				s[len++] = '-';
		}
		s[len] = '\0';
		break;
	case PGTYPE_DATE: case PGTYPE_TIMESTAMP: case PGTYPE_TIMESTAMPTZ: {
		int tagged = 0;

		if (dcbor_get_item(cb, &it) != 0)
			return 0;
		if (it.type == DCBOR_TAG) {
			if (oid == PGTYPE_TIMESTAMP ||
			    it.u != (oid == PGTYPE_DATE ? DCBOR_TAG_DATE :
			    DCBOR_TAG_DATETIME))
				return 0;
			tagged = 1;
			if (dcbor_get_item(cb, &it) != 0)
				return 0;
		}
		if (it.type != DCBOR_TEXT)
			return 0;
		s = calloc(1, it.len + 4);
		memcpy(s, it.p, it.len);
		/* the RFC 3339 forms are used exactly for years 1..9999 */
		if (strchr(s, 'T') != NULL) {
			if (oid == PGTYPE_DATE || strchr(s, ' ') != NULL ||
			    (oid == PGTYPE_TIMESTAMPTZ && !tagged))
				goto bad;
			*strchr(s, 'T') = ' ';
			if (oid == PGTYPE_TIMESTAMPTZ) {
				if (s[it.len - 1] != 'Z')
					goto bad;
				strcpy(s + it.len - 1, "+00");
			}
		} else if (tagged != (oid == PGTYPE_DATE &&
		    it.len == 10 && strchr(s, ' ') == NULL &&
		    strcmp(s, "-infinity") != 0)) {
			goto bad;
		} else if (!tagged && it.len >= 10 && s[4] == '-' &&
		    strstr(s, " BC") == NULL && strstr(s, "inity") == NULL)
			goto bad;	/* plain text for a year 1..9999 */
		break;
	}
	default:	/* text-like and numeric */
		if (dcbor_get_text(cb, &p, &len) != 0)
			return 0;
		s = calloc(1, len + 1);
		memcpy(s, p, len);
		break;
	}
	*out = s;
	*outlen = strlen(s);
	return s != NULL;
 bad:
	free(s);
	return 0;
}

/* Parses one element of an array literal at t[*pos]; *el is malloc'd. */
static int
array_element(const char *t, size_t n, size_t *pos, char **el, size_t *len,
    int *isnull)
{
	size_t i = *pos, o = 0;
	char *s = malloc(n + 1);

	*isnull = 0;
	if (i < n && t[i] == '"') {
		for (i++; i < n && t[i] != '"'; i++) {
			if (t[i] == '\\' && i + 1 < n)
				i++;
			s[o++] = t[i];
		}
		if (i >= n) {
			free(s);
			return 0;
		}
		i++;
	} else {
		for (; i < n && t[i] != ',' && t[i] != '}'; i++)
			s[o++] = t[i];
		*isnull = o == 4 && strncmp(s, "NULL", 4) == 0;
	}
	s[o] = '\0';
	*pos = i;
	*el = s;
	*len = o;
	return 1;
}

static int
match_array(struct buf *cb, uint32_t elem, const char *t, size_t n,
    size_t *pos)
{
	uint64_t count, seen = 0;
	char *el;
	size_t len;
	int isnull, ok;

	if (dcbor_get_array(cb, &count) != 0 || *pos >= n || t[*pos] != '{')
		return 0;
	(*pos)++;
	if (*pos < n && t[*pos] == '}') {
		(*pos)++;
		return count == 0;
	}
	for (;;) {
		if (seen++ >= count)
			return 0;
		if (*pos < n && t[*pos] == '{') {
			if (!match_array(cb, elem, t, n, pos))
				return 0;
		} else {
			if (!array_element(t, n, pos, &el, &len, &isnull))
				return 0;
			ok = isnull ? dcbor_get_null(cb) == 0 :
			    match_value(cb, elem, el, len);
			free(el);
			if (!ok)
				return 0;
		}
		if (*pos < n && t[*pos] == ',') {
			(*pos)++;
			continue;
		}
		if (*pos < n && t[*pos] == '}') {
			(*pos)++;
			return seen == count;
		}
		return 0;
	}
}

static int
match_value(struct buf *cb, uint32_t oid, const char *t, size_t n)
{
	uint32_t elem = pgtype_array_elem(oid);
	char *s;
	size_t len, pos = 0;
	int ok;

	if (elem != 0)
		return match_array(cb, elem, t, n, &pos) && pos == n;
	if (oid == PGTYPE_FLOAT4 || oid == PGTYPE_FLOAT8)
		return match_float(cb, oid, t, n);
	if (!render_scalar(cb, oid, &s, &len))
		return 0;
	ok = len == n && memcmp(s, t, n) == 0;
	/* bool's output function says t/f, its cast to text true/false */
	if (oid == PGTYPE_BOOL && !ok)
		ok = (strcmp(s, "t") == 0 && n == 4 && memcmp(t, "true", 4) == 0) ||
		    (strcmp(s, "f") == 0 && n == 5 && memcmp(t, "false", 5) == 0);
	/* bpchar's cast to text drops the padding its output keeps */
	if (oid == PGTYPE_BPCHAR && !ok) {
		while (len > 0 && s[len - 1] == ' ')
			len--;
		ok = len == n && memcmp(s, t, n) == 0;
	}
	if (!ok)
		fprintf(stderr, "mismatch: ours \"%s\", server \"%.*s\"\n",
		    s, (int)n, t);
	free(s);
	return ok;
}

/* Undoes COPY text escaping in place; returns the new length. */
static size_t
copy_unescape(char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 == n) {
			s[o++] = s[i];
			continue;
		}
		switch (s[++i]) {
		case 'b': s[o++] = '\b'; break;
		case 'f': s[o++] = '\f'; break;
		case 'n': s[o++] = '\n'; break;
		case 'r': s[o++] = '\r'; break;
		case 't': s[o++] = '\t'; break;
		case 'v': s[o++] = '\v'; break;
		default: s[o++] = s[i]; break;
		}
	}
	return o;
}

/* Compares records (concatenated CBOR arrays) with COPY text output. */
static void
match_records(struct buf *rec, const uint32_t *oids, size_t ncols,
    char *txt, size_t rows, const char *name)
{
	char *line = txt, *nl, *f, *tab;
	size_t r, c, n;
	uint64_t cnt;

	for (r = 0; r < rows; r++) {
		ck_assert_int_eq(dcbor_validate(buf_ptr(rec), buf_len(rec),
		    8) == ERR_TRAILING || r == rows - 1, 1);
		nl = strchr(line, '\n');
		ck_assert_msg(nl != NULL, "%s: text has fewer rows", name);
		*nl = '\0';
		ck_assert_int_eq(dcbor_get_array(rec, &cnt), 0);
		ck_assert(cnt == ncols);
		f = line;
		for (c = 0; c < ncols; c++) {
			tab = strchr(f, '\t');
			ck_assert_msg((tab == NULL) == (c == ncols - 1),
			    "%s: row %zu field count", name, r);
			if (tab != NULL)
				*tab = '\0';
			if (strcmp(f, "\\N") == 0) {
				ck_assert_int_eq(dcbor_get_null(rec), 0);
			} else {
				n = copy_unescape(f, strlen(f));
				ck_assert_msg(match_value(rec, oids[c], f, n),
				    "%s: row %zu column %zu: \"%.*s\"", name,
				    r, c, (int)n, f);
			}
			f = tab + 1;
		}
		line = nl + 1;
	}
	ck_assert_str_eq(line, "");
	ck_assert_int_eq(buf_len(rec), 0);
}

/* Decodes a whole stream fed in chunks of `chunk` bytes (0: all at once)
 * into rec; returns the number of rows. */
static size_t
decode_stream(const uint32_t *oids, size_t ncols, const uint8_t *p,
    size_t len, size_t chunk, struct buf *rec)
{
	struct pgcopy_column cols[MAX_COLS];
	struct pgcopy *pc;
	size_t i, off, n, rows = 0;
	int r;

	for (i = 0; i < ncols; i++)
		cols[i].type_oid = oids[i];
	pc = pgcopy_new(cols, ncols, ROW_MAX);
	ck_assert_ptr_nonnull(pc);
	for (off = 0; off < len; off += n) {
		n = chunk == 0 ? len : (chunk > len - off ? len - off : chunk);
		ck_assert_int_eq(pgcopy_feed(pc, p + off, n), 0);
		while ((r = pgcopy_next_row(pc, rec)) == 1)
			rows++;
		ck_assert_msg(r == 0 || (r == PGCOPY_END && off + n == len),
		    "next_row: %d at %zu", r, off);
	}
	ck_assert_int_eq(pgcopy_next_row(pc, rec), PGCOPY_END);
	ck_assert_int_eq(pgcopy_finish(pc), 0);
	ck_assert(pgcopy_rows(pc) == rows);
	pgcopy_free(pc);
	return rows;
}

struct sample {
	char name[32];
	uint32_t oids[MAX_COLS];
	size_t ncols;
	char sql[4096];
};

static size_t
load_samples(struct sample *s, size_t max)
{
	size_t len, n = 0;
	char *txt = (char *)test_read_file(test_data_path("pgcopy/queries.txt"),
	    &len);
	char *line, *save = NULL, *a, *b, *o, *os;

	for (line = strtok_r(txt, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == '\0')
			continue;
		ck_assert(n < max);
		a = strchr(line, '|');
		ck_assert_ptr_nonnull(a);
		b = strchr(a + 1, '|');
		ck_assert_ptr_nonnull(b);
		*a = *b = '\0';
		snprintf(s[n].name, sizeof(s[n].name), "%s", line);
		snprintf(s[n].sql, sizeof(s[n].sql), "%s", b + 1);
		s[n].ncols = 0;
		for (o = strtok_r(a + 1, ",", &os); o != NULL;
		    o = strtok_r(NULL, ",", &os)) {
			ck_assert(s[n].ncols < MAX_COLS);
			s[n].oids[s[n].ncols++] = (uint32_t)strtoul(o, NULL, 10);
		}
		n++;
	}
	free(txt);
	return n;
}

/* Every captured sample: the same bytes however the input is chunked, and
 * every value equal to the server's own text output. */
START_TEST(test_samples)
{
	struct sample s[16];
	size_t ns = load_samples(s, 16), i, len, tlen, rows, k;
	static const size_t chunks[] = { 1, 2, 3, 7, 19, 64, 1000 };
	char path[128];

	ck_assert_uint_ge(ns, 7);
	for (i = 0; i < ns; i++) {
		struct buf *all = buf_new(ROW_MAX), *other = buf_new(ROW_MAX);
		uint8_t *bin;
		char *txt;

		ck_assert(snprintf(path, sizeof(path), "pgcopy/%s.bin",
		    s[i].name) < (int)sizeof(path));
		bin = test_read_file(test_data_path(path), &len);
		ck_assert(snprintf(path, sizeof(path), "pgcopy/%s.txt",
		    s[i].name) < (int)sizeof(path));
		txt = (char *)test_read_file(test_data_path(path), &tlen);
		rows = decode_stream(s[i].oids, s[i].ncols, bin, len, 0, all);
		ck_assert_uint_gt(rows, 0);
		for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
			buf_reset(other);
			ck_assert_uint_eq(decode_stream(s[i].oids, s[i].ncols,
			    bin, len, chunks[k], other), rows);
			ck_assert(buf_len(other) == buf_len(all) &&
			    memcmp(buf_ptr(other), buf_ptr(all),
			    buf_len(all)) == 0);
		}
		match_records(all, s[i].oids, s[i].ncols, txt, rows,
		    s[i].name);
		free(bin);
		free(txt);
		buf_free(all);
		buf_free(other);
	}
}
END_TEST

/* Exact CBOR for single values (binary send format -> CBOR bytes). */
START_TEST(test_exact_values)
{
	static const struct {
		uint32_t oid;
		const char *in, *out;
		int err;
	} t[] = {
		{ PGTYPE_BOOL, "01", "f5", 0 },
		{ PGTYPE_BOOL, "00", "f4", 0 },
		{ PGTYPE_BOOL, "02", NULL, ERR_FORMAT },
		{ PGTYPE_BOOL, "", NULL, ERR_TRUNCATED },
		{ PGTYPE_INT2, "ffe8", "37", 0 },
		{ PGTYPE_INT2, "ffe7", "3818", 0 },
		{ PGTYPE_INT2, "8000", "397fff", 0 },
		{ PGTYPE_INT4, "7fffffff", "1a7fffffff", 0 },
		{ PGTYPE_INT4, "000000", NULL, ERR_TRUNCATED },
		{ PGTYPE_INT4, "0000000000", NULL, ERR_TRAILING },
		{ PGTYPE_INT8, "8000000000000000", "3b7fffffffffffffff", 0 },
		{ PGTYPE_INT8, "7fffffffffffffff", "1b7fffffffffffffff", 0 },
		{ PGTYPE_OID, "ffffffff", "1affffffff", 0 },
		{ PGTYPE_FLOAT4, "3fc00000", "f93e00", 0 },
		{ PGTYPE_FLOAT4, "3dcccccd", "fa3dcccccd", 0 },
		{ PGTYPE_FLOAT4, "7fc00001", "f97e00", 0 },
		{ PGTYPE_FLOAT4, "ff800000", "f9fc00", 0 },
		{ PGTYPE_FLOAT8, "3fb999999999999a", "fb3fb999999999999a", 0 },
		{ PGTYPE_FLOAT8, "fff8000000000000", "f97e00", 0 },
		{ PGTYPE_FLOAT8, "8000000000000000", "f98000", 0 },
		{ PGTYPE_FLOAT8, "7ff0000000000000", "f97c00", 0 },
		/* numeric: ndigits weight sign dscale digits */
		{ PGTYPE_NUMERIC, "0002 0000 0000 0004 007b 1194",
		  "68" "3132332e34353030", 0 },			/* 123.4500 */
		{ PGTYPE_NUMERIC, "0001 ffff 4000 0003 000a",
		  "66" "2d302e303031", 0 },			/* -0.001 */
		{ PGTYPE_NUMERIC, "0000 0000 c000 0000", "634e614e", 0 },
		{ PGTYPE_NUMERIC, "0000 0000 d000 0020",
		  "68" "496e66696e697479", 0 },
		{ PGTYPE_NUMERIC, "0000 0000 f000 0020",
		  "69" "2d496e66696e697479", 0 },
		{ PGTYPE_NUMERIC, "0001 0000 4000 0000 0000", "6130", 0 },	/* -0 -> 0 */
		{ PGTYPE_NUMERIC, "0003 0001 0000 0000 0000 0001 0000",
		  "6131", 0 },		/* leading/trailing zero digits */
		{ PGTYPE_NUMERIC, "0001 0000 0000 0000 2710", NULL, ERR_FORMAT },
		{ PGTYPE_NUMERIC, "0000 0000 1234 0000", NULL, ERR_FORMAT },
		{ PGTYPE_NUMERIC, "0000 0000 0000 4000", NULL, ERR_FORMAT },
		{ PGTYPE_NUMERIC, "0001 0000 c000 0000 0001", NULL, ERR_FORMAT },
		{ PGTYPE_NUMERIC, "ffff 0000 0000 0000 0001", NULL, ERR_TRUNCATED },
		{ PGTYPE_NUMERIC, "0001 0000 0000 0000 0001 00", NULL, ERR_TRAILING },
		{ PGTYPE_TEXT, "c3bc", "62c3bc", 0 },
		{ PGTYPE_TEXT, "", "60", 0 },
		{ PGTYPE_TEXT, "c328", NULL, ERR_FORMAT },
		{ PGTYPE_VARCHAR, "eda080", NULL, ERR_FORMAT },
		{ PGTYPE_JSONB, "017b7d", "627b7d", 0 },
		{ PGTYPE_JSONB, "027b7d", NULL, ERR_FORMAT },
		{ PGTYPE_JSONB, "", NULL, ERR_TRUNCATED },
		{ PGTYPE_BYTEA, "00ff", "4200ff", 0 },
		{ PGTYPE_UUID, "a0eebc999c0b4ef8bb6d6bb9bd380a11",
		  "d82550a0eebc999c0b4ef8bb6d6bb9bd380a11", 0 },
		{ PGTYPE_UUID, "a0eebc999c0b4ef8bb6d6bb9bd380a", NULL, ERR_TRUNCATED },
		/* date: days since 2000-01-01 */
		{ PGTYPE_DATE, "00000000", "d903ec6a323030302d30312d3031", 0 },
		{ PGTYPE_DATE, "ffffffff", "d903ec6a313939392d31322d3331", 0 },
		{ PGTYPE_DATE, "7fffffff", "68696e66696e697479", 0 },
		{ PGTYPE_DATE, "80000000", "692d696e66696e697479", 0 },
		{ PGTYPE_DATE, "7ffffffe", NULL, ERR_FORMAT },
		{ PGTYPE_DATE, "ffda95c6", NULL, ERR_FORMAT },	/* -2451546 */
		/* timestamp(tz): microseconds since 2000-01-01 */
		{ PGTYPE_TIMESTAMPTZ, "0000000000000000",
		  "c074323030302d30312d30315430303a30303a30305a", 0 },
		{ PGTYPE_TIMESTAMPTZ, "00000000000186a0",
		  "c076323030302d30312d30315430303a30303a30302e315a", 0 },
		{ PGTYPE_TIMESTAMP, "ffffffffffffffff",
		  "781a313939392d31322d33315432333a35393a35392e393939393939", 0 },
		{ PGTYPE_TIMESTAMP, "7fffffffffffffff", "68696e66696e697479", 0 },
		{ PGTYPE_TIMESTAMP, "7ffffff000000000", NULL, ERR_FORMAT },
		{ PGTYPE_TIMESTAMPTZ, "8000000000000001", NULL, ERR_FORMAT },
		/* arrays: ndim flags elem (dim lbound)* (len value)* */
		{ PGTYPE_INT4_ARRAY, "00000000 00000000 00000017", "80", 0 },
		{ PGTYPE_INT4_ARRAY, "00000001 00000000 00000017 00000003 00000001"
		  " 00000004 00000001 00000004 00000002 00000004 00000003",
		  "83010203", 0 },
		{ PGTYPE_INT4_ARRAY, "00000002 00000001 00000017 00000002 00000001"
		  " 00000001 00000001 00000004 00000001 ffffffff",
		  "82810181f6", 0 },
		{ PGTYPE_INT4_ARRAY, "00000001 00000000 00000017 00000001 00000000"
		  " 00000004 00000001", NULL, ERR_FORMAT },	/* lower bound 0 */
		{ PGTYPE_INT4_ARRAY, "00000001 00000000 00000014 00000001 00000001"
		  " 00000008 0000000000000001", NULL, ERR_FORMAT },	/* int8 elems */
		{ PGTYPE_INT4_ARRAY, "00000001 00000000 00000017 00000001 00000001"
		  " ffffffff", NULL, ERR_FORMAT },	/* NULL without flag */
		{ PGTYPE_INT4_ARRAY, "00000001 00000002 00000017 00000001 00000001"
		  " 00000004 00000001", NULL, ERR_FORMAT },	/* bad flags */
		{ PGTYPE_INT4_ARRAY, "00000007 00000000 00000017", NULL, ERR_FORMAT },
		{ PGTYPE_INT4_ARRAY, "ffffffff 00000000 00000017", NULL, ERR_FORMAT },
		{ PGTYPE_INT4_ARRAY, "00000001 00000000 00000017 00000000 00000001",
		  NULL, ERR_FORMAT },	/* zero-length dimension */
		{ PGTYPE_INT4_ARRAY, "00000002 00000000 00000017 7fffffff 00000001"
		  " 7fffffff 00000001 00000004 00000001", NULL, ERR_TRUNCATED },
		{ PGTYPE_INT4_ARRAY, "00000001 00000000 00000017 00000001 00000001"
		  " 00000004 00000001 00", NULL, ERR_TRAILING },
		{ PGTYPE_INT4_ARRAY, "00000001 00000000 00000017 00000001 00000001"
		  " 00000003 000001", NULL, ERR_TRUNCATED },
		{ PGTYPE_INT4_ARRAY, "00000001 00000000 00000017 00000001 00000001"
		  " fffffffe", NULL, ERR_FORMAT },
		{ PGTYPE_TEXT_ARRAY, "00000001 00000000 00000019 00000001 00000001"
		  " 00000001 ff", NULL, ERR_FORMAT },
		{ 600 /* point */, "00", NULL, ERR_UNSUPPORTED },
	};
	size_t i, n, m;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf *out = buf_new(1024);
		uint8_t *in = test_unhex(t[i].in, &n), *want;
		int r;

		ck_assert_int_eq(buf_put_u8(out, 0xaa), 0);
		r = pgtype_to_cbor(t[i].oid, in, n, out);
		ck_assert_msg(r == t[i].err, "case %zu (%s): got %d", i,
		    t[i].in, r);
		ck_assert_int_eq(buf_consume(out, 1), 0);
		if (t[i].out != NULL) {
			want = test_unhex(t[i].out, &m);
			ck_assert_msg(buf_len(out) == m &&
			    memcmp(buf_ptr(out), want, m) == 0,
			    "case %zu (%s): wrong encoding", i, t[i].in);
			free(want);
		} else
			ck_assert_int_eq(buf_len(out), 0);	/* rolled back */
		free(in);
		buf_free(out);
	}
}
END_TEST

static int
some_supported(void)
{
	return pgtype_supported(PGTYPE_INT4) && pgtype_supported(PGTYPE_JSONB_ARRAY) &&
	    !pgtype_supported(600) && !pgtype_supported(1017) &&
	    pgtype_array_elem(PGTYPE_NUMERIC_ARRAY) == PGTYPE_NUMERIC &&
	    pgtype_array_elem(PGTYPE_NUMERIC) == 0;
}

START_TEST(test_supported)
{
	struct pgcopy_column bad[] = { { PGTYPE_INT4 }, { 600 } };

	ck_assert(some_supported());
	ck_assert_ptr_null(pgcopy_new(bad, 2, ROW_MAX));
	ck_assert_ptr_null(pgcopy_new(bad, 0, ROW_MAX));
	ck_assert_ptr_null(pgcopy_new(bad, 1, 10));
	pgcopy_free(NULL);
}
END_TEST

/* A small stream with columns (int4, text): header, rows, trailer. */
struct stream {
	uint8_t b[4096];
	size_t n;
};

static void
st_put(struct stream *s, const void *p, size_t n)
{
	ck_assert(s->n + n <= sizeof(s->b));
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void
st_u16(struct stream *s, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	st_put(s, b, 2);
}

static void
st_u32(struct stream *s, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	st_put(s, b, 4);
}

static void
st_header(struct stream *s)
{
	st_put(s, "PGCOPY\n\377\r\n\0", 11);
	st_u32(s, 0);
	st_u32(s, 0);
}

static void
st_row(struct stream *s, uint32_t i, const char *t)
{
	st_u16(s, 2);
	st_u32(s, 4);
	st_u32(s, i);
	if (t == NULL)
		st_u32(s, 0xffffffff);
	else {
		st_u32(s, (uint32_t)strlen(t));
		st_put(s, t, strlen(t));
	}
}

static const struct pgcopy_column two_cols[] = {
	{ PGTYPE_INT4 }, { PGTYPE_TEXT }
};

/* Feeds all of s at once and drains; returns the first non-row result. */
static int
run_stream(const struct stream *s, size_t max, struct buf *rec, int *finish)
{
	struct pgcopy *pc = pgcopy_new(two_cols, 2, max);
	int r;

	ck_assert_ptr_nonnull(pc);
	r = pgcopy_feed(pc, s->b, s->n);
	if (r == 0)
		while ((r = pgcopy_next_row(pc, rec)) == 1)
			;
	*finish = pgcopy_finish(pc);
	/* errors are sticky */
	if (r < 0)
		ck_assert_int_eq(pgcopy_next_row(pc, rec), r);
	pgcopy_free(pc);
	return r;
}

START_TEST(test_stream_ok)
{
	struct stream s = { .n = 0 };
	struct buf *rec = buf_new(1024);
	int fin;

	st_header(&s);
	st_row(&s, 7, "x");
	st_row(&s, 0xffffffff, NULL);
	st_u16(&s, 0xffff);
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), PGCOPY_END);
	ck_assert_int_eq(fin, 0);
	ck_assert_int_eq(buf_len(rec), 7);
	ck_assert(memcmp(buf_ptr(rec), "\x82\x07\x61\x78\x82\x20\xf6", 7) == 0);
	buf_free(rec);
}
END_TEST

/* Corruption table: a good stream damaged one way, each with its error. */
START_TEST(test_stream_corrupt)
{
	struct buf *rec = buf_new(1024);
	struct stream s;
	int fin, r;

#define FRESH() do { s.n = 0; buf_reset(rec); st_header(&s); } while (0)
	/* nothing at all */
	s.n = 0;
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), 0);
	ck_assert_int_eq(fin, ERR_TRUNCATED);

	/* bad signature: reported on the first bytes */
	s.n = 0;
	st_put(&s, "PGCOPZ", 6);
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), ERR_FORMAT);
	ck_assert_int_eq(fin, ERR_FORMAT);

	/* OIDs flag, any flag */
	s.n = 0;
	st_put(&s, "PGCOPY\n\377\r\n\0", 11);
	st_u32(&s, 1u << 16);
	st_u32(&s, 0);
	st_u16(&s, 0xffff);
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), ERR_FORMAT);
	s.b[11] = 0x80;
	s.b[13] = 0;
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), ERR_FORMAT);

	/* header extension: skipped when present, capped when huge */
	s.n = 0;
	st_put(&s, "PGCOPY\n\377\r\n\0", 11);
	st_u32(&s, 0);
	st_u32(&s, 3);
	st_put(&s, "abc", 3);
	st_row(&s, 1, "a");
	st_u16(&s, 0xffff);
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), PGCOPY_END);
	ck_assert_int_eq(fin, 0);
	s.b[17] = 0x7f;
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), ERR_LIMIT);

	/* wrong field counts */
	FRESH();
	st_u16(&s, 3);
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), ERR_FORMAT);
	FRESH();
	st_u16(&s, 0xfffe);
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), ERR_FORMAT);
	FRESH();
	st_u16(&s, 0);
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), ERR_FORMAT);

	/* bad field lengths */
	FRESH();
	st_u16(&s, 2);
	st_u32(&s, 0xfffffffe);
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), ERR_FORMAT);
	FRESH();
	st_u16(&s, 2);
	st_u32(&s, 0x7fffffff);
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), ERR_LIMIT);
	FRESH();	/* int4 with 3 bytes: the value, not the framing */
	st_u16(&s, 2);
	st_u32(&s, 3);
	st_put(&s, "abc", 3);
	st_u32(&s, 0xffffffff);
	st_u16(&s, 0xffff);
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), ERR_TRUNCATED);

	/* a bad value after a good row: good row kept, bad one not written */
	FRESH();
	st_row(&s, 1, "ok");
	st_row(&s, 2, "\xc3\x28");
	st_u16(&s, 0xffff);
	r = run_stream(&s, 1024, rec, &fin);
	ck_assert_int_eq(r, ERR_FORMAT);
	ck_assert_int_eq(fin, ERR_FORMAT);
	ck_assert_int_eq(buf_len(rec), 5);	/* 82 01 62 6f 6b */

	/* truncation: no trailer, cut mid-row */
	FRESH();
	st_row(&s, 1, "ok");
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), 0);
	ck_assert_int_eq(fin, ERR_TRUNCATED);
	s.n -= 1;
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), 0);
	ck_assert_int_eq(fin, ERR_TRUNCATED);

	/* data after the trailer, in the same or a later chunk */
	FRESH();
	st_row(&s, 1, "ok");
	st_u16(&s, 0xffff);
	st_u16(&s, 0);
	ck_assert_int_eq(run_stream(&s, 1024, rec, &fin), ERR_TRAILING);
	ck_assert_int_eq(fin, ERR_TRAILING);
	{
		struct pgcopy *pc = pgcopy_new(two_cols, 2, 1024);

		buf_reset(rec);
		ck_assert_int_eq(pgcopy_feed(pc, s.b, s.n - 2), 0);
		ck_assert_int_eq(pgcopy_next_row(pc, rec), 1);
		ck_assert_int_eq(pgcopy_next_row(pc, rec), PGCOPY_END);
		ck_assert_int_eq(pgcopy_next_row(pc, rec), PGCOPY_END);
		ck_assert_int_eq(pgcopy_finish(pc), 0);
		ck_assert_int_eq(pgcopy_feed(pc, s.b, 0), 0);
		ck_assert_int_eq(pgcopy_finish(pc), 0);
		ck_assert_int_eq(pgcopy_feed(pc, s.b, 1), ERR_TRAILING);
		ck_assert_int_eq(pgcopy_next_row(pc, rec), ERR_TRAILING);
		ck_assert_int_eq(pgcopy_finish(pc), ERR_TRAILING);
		pgcopy_free(pc);
	}

	/* a row bigger than max_row_bytes */
	FRESH();
	{
		char big[200];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		st_row(&s, 1, big);
	}
	st_u16(&s, 0xffff);
	ck_assert_int_eq(run_stream(&s, 128, rec, &fin), ERR_LIMIT);
	{
		/* fed in small chunks the limit shows up in next_row */
		struct pgcopy *pc = pgcopy_new(two_cols, 2, 128);
		size_t off;

		buf_reset(rec);
		for (off = 0, r = 0; off < s.n && r >= 0; off += 16) {
			ck_assert_int_eq(pgcopy_feed(pc, s.b + off, 16), 0);
			while ((r = pgcopy_next_row(pc, rec)) == 1)
				;
		}
		ck_assert_int_eq(r, ERR_LIMIT);
		ck_assert_int_eq(pgcopy_feed(pc, s.b, 1), ERR_LIMIT);
		pgcopy_free(pc);
	}

	/* the record buffer fills up: ERR_LIMIT, record unchanged */
	{
		struct buf *small = buf_new(6);
		struct pgcopy *pc = pgcopy_new(two_cols, 2, 1024);

		FRESH();
		st_row(&s, 1, "ab");
		st_row(&s, 2, "abc");
		ck_assert_int_eq(pgcopy_feed(pc, s.b, s.n), 0);
		ck_assert_int_eq(pgcopy_next_row(pc, small), 1);
		ck_assert_int_eq(buf_len(small), 5);
		ck_assert_int_eq(pgcopy_next_row(pc, small), ERR_LIMIT);
		ck_assert_int_eq(buf_len(small), 5);
		pgcopy_free(pc);
		buf_free(small);
	}
	buf_free(rec);
#undef FRESH
}
END_TEST

/* Every proper prefix of a real stream needs more input and is never an
 * error; finish then reports the truncation. */
START_TEST(test_prefixes)
{
	static const uint32_t oids[] = { 16, 21, 23, 20, 26 };
	struct pgcopy_column cols[5];
	size_t len, k, i;
	uint8_t *bin = test_read_file(test_data_path("pgcopy/ints.bin"), &len);
	struct buf *rec = buf_new(ROW_MAX);
	int r;

	for (i = 0; i < 5; i++)
		cols[i].type_oid = oids[i];
	for (k = 0; k < len; k++) {
		struct pgcopy *pc = pgcopy_new(cols, 5, ROW_MAX);

		ck_assert_int_eq(pgcopy_feed(pc, bin, k), 0);
		while ((r = pgcopy_next_row(pc, rec)) == 1)
			;
		ck_assert_int_eq(r, 0);
		ck_assert_int_eq(pgcopy_finish(pc), ERR_TRUNCATED);
		pgcopy_free(pc);
	}
	/* the declared types must match the stream's values */
	{
		struct pgcopy *pc;

		cols[1].type_oid = PGTYPE_INT4;	/* really int2 */
		pc = pgcopy_new(cols, 5, ROW_MAX);
		ck_assert_int_eq(pgcopy_feed(pc, bin, len), 0);
		ck_assert_int_eq(pgcopy_next_row(pc, rec), ERR_TRUNCATED);
		pgcopy_free(pc);
	}
	free(bin);
	buf_free(rec);
}
END_TEST

/* Live check against a PostgreSQL server */

static void
exec_ok(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);

	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	PQclear(res);
}

/* Runs sql as binary COPY through pgcopy, and as SELECT col::text, and
 * compares every value. Returns the row count. */
static size_t
live_compare(PGconn *c, const char *name, const uint32_t *oids,
    size_t ncols, const char *sql)
{
	struct pgcopy_column cols[MAX_COLS];
	struct pgcopy *pc;
	struct buf *rec = buf_new(64 << 20);
	PGresult *res;
	char *q, *data, *list = NULL, *tmp;
	size_t i, rows = 0, row;
	int n, r = 0;
	uint64_t cnt;

	for (i = 0; i < ncols; i++)
		cols[i].type_oid = oids[i];
	pc = pgcopy_new(cols, ncols, 8 << 20);
	ck_assert(asprintf(&q, "COPY (%s) TO STDOUT (FORMAT binary)", sql) > 0);
	res = PQexec(c, q);
	ck_assert_msg(PQresultStatus(res) == PGRES_COPY_OUT, "%s: %s", name,
	    PQerrorMessage(c));
	PQclear(res);
	free(q);
	while ((n = PQgetCopyData(c, &data, 0)) > 0) {
		ck_assert_int_eq(pgcopy_feed(pc, (uint8_t *)data, (size_t)n), 0);
		PQfreemem(data);
		while ((r = pgcopy_next_row(pc, rec)) == 1)
			rows++;
		ck_assert_msg(r >= 0, "%s: %s", name, err_str(r));
	}
	ck_assert_int_eq(n, -1);
	res = PQgetResult(c);
	ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	ck_assert_int_eq(r, PGCOPY_END);
	ck_assert_int_eq(pgcopy_finish(pc), 0);
	pgcopy_free(pc);

	/* column names, then the server's text of every value */
	ck_assert(asprintf(&q, "SELECT * FROM (%s) q LIMIT 0", sql) > 0);
	res = PQexec(c, q);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", name,
	    PQerrorMessage(c));
	ck_assert_int_eq(PQnfields(res), (int)ncols);
	for (i = 0; i < ncols; i++) {
		ck_assert_uint_eq(PQftype(res, (int)i), oids[i]);
		ck_assert(asprintf(&tmp, "%s%sq.\"%s\"::text", list ? list : "",
		    list ? ", " : "", PQfname(res, (int)i)) > 0);
		free(list);
		list = tmp;
	}
	PQclear(res);
	free(q);
	ck_assert(asprintf(&q, "SELECT %s FROM (%s) q", list, sql) > 0);
	free(list);
	res = PQexec(c, q);
	free(q);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", name,
	    PQerrorMessage(c));
	ck_assert_int_eq(PQntuples(res), (int)rows);
	for (row = 0; row < rows; row++) {
		ck_assert_int_eq(dcbor_get_array(rec, &cnt), 0);
		ck_assert(cnt == ncols);
		for (i = 0; i < ncols; i++) {
			if (PQgetisnull(res, (int)row, (int)i)) {
				ck_assert_int_eq(dcbor_get_null(rec), 0);
				continue;
			}
			ck_assert_msg(match_value(rec, oids[i],
			    PQgetvalue(res, (int)row, (int)i),
			    (size_t)PQgetlength(res, (int)row, (int)i)),
			    "%s: row %zu column %zu: server \"%s\"", name,
			    row, i, PQgetvalue(res, (int)row, (int)i));
		}
	}
	ck_assert_int_eq(buf_len(rec), 0);
	PQclear(res);
	buf_free(rec);
	return rows;
}

START_TEST(test_live)
{
	static const struct {
		const char *name, *oids, *sql;
	} gen[] = {
		{ "gen_numeric", "1700,1700,1700,1700",
		  "SELECT (i::numeric * 1234567.891 / 7)::numeric(30,10) a,"
		  " power(10::numeric, i % 120 - 60) * (i % 7 - 3) b,"
		  " round((i * 3.14159)::numeric, i % 20) c,"
		  " (i::numeric ^ 37)::numeric(200,3) d"
		  " FROM generate_series(1, 3000) i" },
		{ "gen_float", "701,700",
		  "SELECT sin(i) * 10 ^ (i % 600 - 300) a,"
		  " (cos(i) * 10 ^ (i % 70 - 35))::float4 b"
		  " FROM generate_series(1, 5000) i" },
		{ "gen_time", "1082,1114,1184",
		  "SELECT DATE '2000-01-01' + (i * 7919 % 3000000 - 1500000) a,"
		  " TIMESTAMP '2000-01-01' + (i * 104729 % 100000000 - 50000000)"
		  " * interval '1 hour 1.000001 second' b,"
		  " (TIMESTAMP '2000-01-01' + (i * 7877 % 40000000 - 20000000)"
		  " * interval '1 hour 0.01 second')::timestamptz c"
		  " FROM generate_series(1, 5000) i" },
		{ "gen_text", "25,1009,3802",
		  "SELECT string_agg(chr(32 + (i * j * 7919) % 3000), '') a,"
		  " array_agg(chr(1 + (i * j) % 200)) b,"
		  " jsonb_build_object('k', i, 'v', array_agg(j)) c"
		  " FROM generate_series(1, 300) i, generate_series(1, 40) j"
		  " GROUP BY i" },
		{ "gen_arrays", "1007,1231,1185",
		  "SELECT array_fill(i, ARRAY[i % 3 + 1, i % 2 + 1]) a,"
		  " ARRAY[[i::numeric / 3, NULL], [-i::numeric, 'NaN']] b,"
		  " ARRAY[TIMESTAMPTZ '2024-05-01 10:00:00.25+00'"
		  " + i * interval '1 day 1 us', NULL, '-infinity']::timestamptz[] c"
		  " FROM generate_series(1, 100) i" },
	};
	const char *host = getenv("PGHOST");
	struct sample s[16];
	uint32_t oids[MAX_COLS];
	size_t ns, i, ncols;
	char *o, *os, *copy;
	PGconn *c;

	if (host == NULL || *host == '\0') {
		printf("check_pgcopy: PGHOST unset, skipping the live "
		    "comparison with a PostgreSQL server\n");
		return;
	}
	c = PQconnectdb("");
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	exec_ok(c, "SET TimeZone = 'UTC'");
	exec_ok(c, "SET DateStyle = 'ISO, MDY'");
	exec_ok(c, "SET extra_float_digits = 1");
	exec_ok(c, "SET client_encoding = 'UTF8'");
	ns = load_samples(s, 16);
	for (i = 0; i < ns; i++)
		ck_assert_uint_gt(live_compare(c, s[i].name, s[i].oids,
		    s[i].ncols, s[i].sql), 0);
	for (i = 0; i < sizeof(gen) / sizeof(gen[0]); i++) {
		copy = strdup(gen[i].oids);
		for (ncols = 0, o = strtok_r(copy, ",", &os); o != NULL;
		    o = strtok_r(NULL, ",", &os))
			oids[ncols++] = (uint32_t)strtoul(o, NULL, 10);
		free(copy);
		ck_assert_uint_gt(live_compare(c, gen[i].name, oids, ncols,
		    gen[i].sql), 0);
	}
	PQfinish(c);
}
END_TEST

static Suite *
pgcopy_suite(void)
{
	Suite *s = suite_create("pgcopy");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_samples);
	tcase_add_test(tc, test_exact_values);
	tcase_add_test(tc, test_supported);
	tcase_add_test(tc, test_stream_ok);
	tcase_add_test(tc, test_stream_corrupt);
	tcase_add_test(tc, test_prefixes);
	tcase_add_test(tc, test_live);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(pgcopy_suite());
}
