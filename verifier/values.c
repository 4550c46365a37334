#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "bundle.h"
#include "dcbor.h"
#include "err.h"
#include "manifest.h"
#include "values.h"

#define UUID_LEN 16

/* Drops whatever was appended to out since it held start bytes, so that a
 * failed conversion leaves no half value behind. */
static void
rollback(struct buf *out, size_t start)
{
	size_t now = buf_len(out);

	if (now > start)
		(void)buf_unput(out, now - start);
}

static int
put_hex(struct buf *out, const uint8_t *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t *d;
	size_t i;
	int r;

	if ((r = buf_reserve(out, len * 2, &d)) != 0)
		return r;
	for (i = 0; i < len; i++) {
		d[2 * i] = (uint8_t)hex[p[i] >> 4];
		d[2 * i + 1] = (uint8_t)hex[p[i] & 0x0f];
	}
	return 0;
}

static int
put_uuid(struct buf *out, const uint8_t *p)
{
	static const size_t groups[] = { 4, 2, 2, 2, 6 };
	size_t g, off = 0;
	int r;

	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		if (g > 0 && (r = buf_put(out, "-", 1)) != 0)
			return r;
		if ((r = put_hex(out, p + off, groups[g])) != 0)
			return r;
		off += groups[g];
	}
	return 0;
}

static int
put_negint(struct buf *out, uint64_t n)
{
	/* The value is -1 - n; n + 1 overflows only for the one value
	 * -2^64, which CBOR can hold and uint64_t cannot. */
	if (n == UINT64_MAX)
		return buf_put_str(out, "-18446744073709551616");
	return buf_putf(out, "-%" PRIu64, n + 1);
}

/*
 * Shortest decimal that reads back as the same double: what PostgreSQL
 * prints with extra_float_digits = 1, and what a JSON reader turns back
 * into the exact value. json adds ".0" to integral values so a JSON reader
 * keeps them as reals.
 */
static int
put_double(struct buf *out, double f, int json)
{
	char s[64];
	int p;

	if (isnan(f))
		return buf_put_str(out, json ? "\"NaN\"" : "NaN");
	if (isinf(f)) {
		if (f > 0)
			return buf_put_str(out, json ? "\"Infinity\"" :
			    "Infinity");
		return buf_put_str(out, json ? "\"-Infinity\"" : "-Infinity");
	}
	for (p = 1; p <= 17; p++) {
		snprintf(s, sizeof(s), "%.*g", p, f);
		if (strtod(s, NULL) == f)
			break;
	}
	if (json && strpbrk(s, ".eE") == NULL)
		return buf_putf(out, "%s.0", s);
	return buf_put_str(out, s);
}

int
values_json_string(const uint8_t *p, size_t len, struct buf *out)
{
	size_t start = buf_len(out), n;
	uint8_t *dst;
	json_t *js;
	int r = ERR_FORMAT;

	/* jansson does the escaping; the text was validated as UTF-8 here
	 * (and by the CBOR decoder) so its own check would only repeat. */
	if (!dcbor_utf8_valid(p, len))
		return ERR_FORMAT;
	if ((js = json_stringn_nocheck((const char *)p, len)) == NULL)
		return ERR_NOMEM;
	n = json_dumpb(js, NULL, 0, JSON_ENCODE_ANY);
	if (n == 0)
		goto out;
	if ((r = buf_reserve(out, n, &dst)) != 0)
		goto out;
	r = json_dumpb(js, (char *)dst, n, JSON_ENCODE_ANY) == n ? 0 :
	    ERR_INTERNAL;
 out:
	json_decref(js);
	if (r != 0)
		rollback(out, start);
	return r;
}

int
values_csv_string(const uint8_t *p, size_t len, struct buf *out)
{
	size_t start = buf_len(out), i, run = 0;
	int quote = len == 0, r = ERR_INTERNAL;

	for (i = 0; i < len && !quote; i++)
		if (p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n')
			quote = 1;
	if (!quote)
		return buf_put(out, p, len);
	if ((r = buf_put(out, "\"", 1)) != 0)
		goto out;
	for (i = 0; i < len; i++) {
		if (p[i] != '"')
			continue;
		/* Emit up to and including the quote, then double it. */
		if ((r = buf_put(out, p + run, i + 1 - run)) != 0 ||
		    (r = buf_put(out, "\"", 1)) != 0)
			goto out;
		run = i + 1;
	}
	if (len > run && (r = buf_put(out, p + run, len - run)) != 0)
		goto out;
	r = buf_put(out, "\"", 1);
 out:
	if (r != 0)
		rollback(out, start);
	return r;
}

/*
 * The tagged items of the data model. raw: the bare text (CSV); otherwise a
 * JSON string.
 */
static int
put_tagged(struct buf *in, uint64_t tag, struct buf *out, int raw)
{
	struct dcbor_item it;
	int r;

	if (tag != DCBOR_TAG_UUID && tag != DCBOR_TAG_DATETIME &&
	    tag != DCBOR_TAG_DATE)
		return ERR_UNSUPPORTED;
	if ((r = dcbor_get_item(in, &it)) != 0)
		return r;
	if (tag == DCBOR_TAG_UUID) {
		if (it.type != DCBOR_BYTES || it.len != UUID_LEN)
			return ERR_FORMAT;
		if (!raw && (r = buf_put(out, "\"", 1)) != 0)
			return r;
		if ((r = put_uuid(out, it.p)) != 0)
			return r;
		return raw ? 0 : buf_put(out, "\"", 1);
	}
	if (it.type != DCBOR_TEXT)
		return ERR_FORMAT;
	return raw ? buf_put(out, it.p, it.len) :
	    values_json_string(it.p, it.len, out);
}

static int json_item(struct buf *, struct buf *, unsigned);

/* JSON for an item whose head it has already been read from in. */
static int
json_value(struct buf *in, const struct dcbor_item *it, struct buf *out,
    unsigned depth)
{
	uint64_t i;
	int r;

	switch (it->type) {
	case DCBOR_UINT:
		return buf_putf(out, "%" PRIu64, it->u);
	case DCBOR_NEGINT:
		return put_negint(out, it->u);
	case DCBOR_FLOAT:
		return put_double(out, it->f, 1);
	case DCBOR_TEXT:
		return values_json_string(it->p, it->len, out);
	case DCBOR_BYTES:
		if ((r = buf_put_str(out, "\"\\\\x")) != 0 ||
		    (r = put_hex(out, it->p, it->len)) != 0)
			return r;
		return buf_put(out, "\"", 1);
	case DCBOR_TAG:
		return put_tagged(in, it->u, out, 0);
	case DCBOR_NULL:
		return buf_put_str(out, "null");
	case DCBOR_FALSE:
		return buf_put_str(out, "false");
	case DCBOR_TRUE:
		return buf_put_str(out, "true");
	case DCBOR_ARRAY:
		if ((r = buf_put(out, "[", 1)) != 0)
			return r;
		for (i = 0; i < it->u; i++) {
			if (i > 0 && (r = buf_put(out, ",", 1)) != 0)
				return r;
			if ((r = json_item(in, out, depth + 1)) != 0)
				return r;
		}
		return buf_put(out, "]", 1);
	case DCBOR_MAP:
	default:
		return ERR_UNSUPPORTED;
	}
}

static int
json_item(struct buf *in, struct buf *out, unsigned depth)
{
	struct dcbor_item it;
	int r;

	if (depth > BUNDLE_MAX_DEPTH)
		return ERR_LIMIT;
	if ((r = dcbor_get_item(in, &it)) != 0)
		return r;
	return json_value(in, &it, out, depth);
}

int
values_json_item(struct buf *in, struct buf *out)
{
	size_t start = buf_len(out);
	int r;

	if ((r = json_item(in, out, 1)) != 0)
		rollback(out, start);
	return r;
}

/* The bare text of one value; *is_null set for NULL (no text). Arrays give
 * their JSON text. */
static int
csv_raw(struct buf *in, struct buf *out, int *is_null)
{
	struct dcbor_item it;
	int r;

	*is_null = 0;
	if ((r = dcbor_get_item(in, &it)) != 0)
		return r;
	switch (it.type) {
	case DCBOR_FLOAT:
		return put_double(out, it.f, 0);
	case DCBOR_TEXT:
		return buf_put(out, it.p, it.len);
	case DCBOR_BYTES:
		if ((r = buf_put_str(out, "\\x")) != 0)
			return r;
		return put_hex(out, it.p, it.len);
	case DCBOR_TAG:
		return put_tagged(in, it.u, out, 1);
	case DCBOR_NULL:
		*is_null = 1;
		return 0;
	default:
		/* integers, booleans and arrays print as in JSON */
		return json_value(in, &it, out, 1);
	}
}

/* One CSV field through a scratch buffer the caller reuses: quoting can
 * only be decided once the whole text is known. */
static int
csv_field(struct buf *in, struct buf *out, struct buf *scratch)
{
	int is_null = 0, r;

	buf_reset(scratch);
	if ((r = csv_raw(in, scratch, &is_null)) != 0)
		return r;
	if (is_null)
		return 0;
	return values_csv_string(buf_ptr(scratch), buf_len(scratch), out);
}

int
values_csv_item(struct buf *in, struct buf *out)
{
	struct buf *scratch = NULL;
	int r;

	if ((scratch = buf_new(buf_max(out))) == NULL)
		return ERR_NOMEM;
	r = csv_field(in, out, scratch);
	buf_free(scratch);
	return r;
}

/* Opens the record array and checks it has one item per column. */
static int
record_open(const struct manifest_table *t, struct buf *in)
{
	uint64_t n;
	int r;

	if ((r = dcbor_get_array(in, &n)) != 0)
		return r;
	if (n != t->ncolumns)
		return ERR_FORMAT;
	return 0;
}

int
values_record_jsonl(const struct manifest_table *t, const uint8_t *rec,
    size_t len, struct buf *out)
{
	struct buf *in = NULL;
	const char *name;
	size_t start = buf_len(out), i;
	int r = ERR_INTERNAL;

	if ((in = buf_from(rec, len)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = record_open(t, in)) != 0 ||
	    (r = buf_put(out, "{", 1)) != 0)
		goto out;
	for (i = 0; i < t->ncolumns; i++) {
		name = t->columns[i].name;
		if ((i > 0 && (r = buf_put(out, ",", 1)) != 0) ||
		    (r = values_json_string((const uint8_t *)name,
		    strlen(name), out)) != 0 ||
		    (r = buf_put(out, ":", 1)) != 0 ||
		    (r = json_item(in, out, 1)) != 0)
			goto out;
	}
	if ((r = buf_expect_end(in)) != 0 ||
	    (r = buf_put_str(out, "}\n")) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0)
		rollback(out, start);
	buf_free(in);
	return r;
}

int
values_record_csv(const struct manifest_table *t, const uint8_t *rec,
    size_t len, struct buf *out)
{
	struct buf *in = NULL, *scratch = NULL;
	size_t start = buf_len(out), i;
	int r = ERR_INTERNAL;

	if ((in = buf_from(rec, len)) == NULL ||
	    (scratch = buf_new(buf_max(out))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = record_open(t, in)) != 0)
		goto out;
	for (i = 0; i < t->ncolumns; i++) {
		if ((i > 0 && (r = buf_put(out, ",", 1)) != 0) ||
		    (r = csv_field(in, out, scratch)) != 0)
			goto out;
	}
	if ((r = buf_expect_end(in)) != 0 ||
	    (r = buf_put_str(out, "\r\n")) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0)
		rollback(out, start);
	buf_free(scratch);
	buf_free(in);
	return r;
}

int
values_csv_header(const struct manifest_table *t, struct buf *out)
{
	const char *name;
	size_t start = buf_len(out), i;
	int r = ERR_INTERNAL;

	for (i = 0; i < t->ncolumns; i++) {
		name = t->columns[i].name;
		if ((i > 0 && (r = buf_put(out, ",", 1)) != 0) ||
		    (r = values_csv_string((const uint8_t *)name, strlen(name),
		    out)) != 0)
			goto out;
	}
	r = buf_put_str(out, "\r\n");
 out:
	if (r != 0)
		rollback(out, start);
	return r;
}
