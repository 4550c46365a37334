/*
 * fuzz_plaintext: the archive's plaintext reader (bundle_read), driven to
 * its rules. It starts from a valid plaintext written by the format
 * library's writer (three tables, several parts, every kind of value) and
 * mutates its structure: header fields, CBOR heads and tags, sizes, entry
 * order, pax records, empty parts, trailing bytes, zstd. Input starting
 * with 'P' is such a program (4 bytes per operation); any other input is
 * taken as a plaintext as it is (the corpus holds good ones).
 *
 * The property: whenever the reader accepts a plaintext (no failure), the
 * writer, given the preamble and the records the reader saw, writes that
 * same plaintext again, byte for byte (after decompression for a zstd
 * frame, whose compressed form is not canonical). So the reader accepts
 * one encoding of each content and nothing else. Any other outcome must
 * be a reported failure, never a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "buf.h"
#include "bundle.h"
#include "dcbor.h"
#include "err.h"
#include "fuzz_src.h"
#include "manifest.h"
#include "tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXENT	48
#define MAXOUT	(4u << 20)

/* ------------------------------------------------------------------ */
/* The base plaintext, as entries */

struct ent {
	uint8_t hdr[TAR_BLOCK];
	uint8_t *data;
	size_t len;
};

struct plain {
	struct ent e[MAXENT];
	size_t n;
	size_t end_blocks;
	uint8_t tail[256];
	size_t tail_len;
	size_t cut;
	int zstd;
};

static struct plain base;

static int
put_out(void *ctx, const uint8_t *p, size_t n)
{
	return buf_put(ctx, p, n);
}

static void
put_text(struct buf *b, const char *s)
{
	if (dcbor_put_text(b, s, strlen(s)) != 0)
		abort();
}

static struct buf *
record(int tenant_table, unsigned i)
{
	struct buf *b = buf_new(4096);
	static const uint8_t u[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
	    12, 13, 14, 15, 16 };
	int r = 0;

	if (b == NULL)
		abort();
	if (!tenant_table) {
		r |= dcbor_put_array(b, 2);
		put_text(b, i % 2 ? "EUR" : "JPY");
		r |= dcbor_put_float(b, i * 1.5);
		goto out;
	}
	r |= dcbor_put_array(b, 9);
	put_text(b, "client-b");
	r |= dcbor_put_int(b, (int64_t)i - 2);
	r |= dcbor_put_bool(b, i % 2);
	r |= dcbor_put_bytes(b, u, i % 5);
	r |= dcbor_put_tag(b, DCBOR_TAG_UUID);
	r |= dcbor_put_bytes(b, u, 16);
	r |= dcbor_put_tag(b, DCBOR_TAG_DATE);
	put_text(b, "2024-02-29");
	r |= dcbor_put_tag(b, DCBOR_TAG_DATETIME);
	put_text(b, "2024-05-06T07:08:09.25Z");
	r |= dcbor_put_array(b, 2);
	r |= dcbor_put_array(b, 1);
	r |= dcbor_put_int(b, 1);
	r |= dcbor_put_array(b, 1);
	r |= dcbor_put_null(b);
	if (i % 3 == 0)
		r |= dcbor_put_null(b);
	else
		put_text(b, "infinity");
 out:
	if (r != 0)
		abort();
	return b;
}

static struct manifest *
base_manifest(void)
{
	static const char *cols[][2] = { { "tenant_id", "text" },
	    { "n", "bigint" }, { "ok", "boolean" }, { "blob", "bytea" },
	    { "uid", "uuid" }, { "day", "date" },
	    { "at", "timestamp with time zone" }, { "grid", "integer[]" },
	    { "born", "date" } };
	struct manifest *m = manifest_new();
	struct buf *tv = buf_new(64);
	size_t t, j;

	if (m == NULL || tv == NULL)
		abort();
	memset(m->salt, 7, sizeof(m->salt));
	memset(m->export_id, 9, sizeof(m->export_id));
	m->created = 1767225600;
	m->expires = 1767225600 + 3600;
	m->include_global = 1;
	if (manifest_set_str(&m->tenant_type, "text") != 0 ||
	    manifest_add_table(m, "app.t", 0, &t) != 0)
		abort();
	for (j = 0; j < sizeof(cols) / sizeof(cols[0]); j++)
		if (manifest_add_column(m, t, cols[j][0], cols[j][1]) != 0)
			abort();
	if (manifest_add_table(m, "app.g", -1, &t) != 0 ||
	    manifest_add_column(m, t, "code", "text") != 0 ||
	    manifest_add_column(m, t, "rate", "double precision") != 0)
		abort();
	put_text(tv, "client-b");
	evidence_tenant_hash(m->salt, buf_ptr(tv), buf_len(tv), m->tenant_hash);
	buf_free(tv);
	return m;
}

/* Splits a plain tar stream into entries (the base only: it is valid). */
static void
split(const uint8_t *p, size_t n, struct plain *pl)
{
	char name[TAR_NAME_MAX + 1];
	uint64_t size, mtime;
	const char *why;
	size_t off = 0;

	memset(pl, 0, sizeof(*pl));
	pl->end_blocks = 2;
	while (off + TAR_BLOCK <= n && !tar_is_zero(p + off, TAR_BLOCK)) {
		if (pl->n == MAXENT || tar_header_get(p + off, name, &size,
		    &mtime, &why) != 0)
			abort();
		memcpy(pl->e[pl->n].hdr, p + off, TAR_BLOCK);
		off += TAR_BLOCK;
		if ((pl->e[pl->n].data = malloc(size + 1)) == NULL)
			abort();
		memcpy(pl->e[pl->n].data, p + off, size);
		pl->e[pl->n++].len = size;
		off += size + tar_padding(size);
	}
}

static void
base_make(void)
{
	struct manifest *m = base_manifest();
	struct bundle_writer *w;
	struct buf *out = buf_new(MAXOUT), *rec;
	unsigned i;

	if (out == NULL || bundle_writer_new(m, 0, 200, put_out, out, &w) != 0)
		abort();
	for (i = 0; i < 7; i++) {
		rec = record(1, i);
		if (bundle_writer_add(w, 0, buf_ptr(rec), buf_len(rec)) != 0)
			abort();
		buf_free(rec);
	}
	for (i = 0; i < 3; i++) {
		rec = record(0, i);
		if (bundle_writer_add(w, 1, buf_ptr(rec), buf_len(rec)) != 0)
			abort();
		buf_free(rec);
	}
	if (bundle_writer_finish(w, NULL) != 0)
		abort();
	split(buf_ptr(out), buf_len(out), &base);
	bundle_writer_free(w);
	manifest_free(m);
	buf_free(out);
}

/* ------------------------------------------------------------------ */
/* Mutations */

/* The size field saying len, the checksum right. */
static void
set_size(struct ent *e, size_t len)
{
	char f[16];

	snprintf(f, sizeof(f), "%011llo", (unsigned long long)len);
	memcpy(e->hdr + 124, f, 11);
	tar_header_chksum(e->hdr);
}

static void
insert_bytes(struct ent *e, size_t at, const uint8_t *p, size_t n)
{
	uint8_t *d = realloc(e->data, e->len + n + 1);

	if (d == NULL)
		abort();
	at = e->len ? at % (e->len + 1) : 0;
	memmove(d + at + n, d + at, e->len - at);
	memcpy(d + at, p, n);
	e->data = d;
	e->len += n;
	set_size(e, e->len);
}

static void
op_entries(struct plain *pl, uint8_t op, uint8_t a, uint8_t b, uint8_t c)
{
	struct ent tmp;
	size_t i = pl->n ? a % pl->n : 0, j = pl->n ? b % pl->n : 0;

	switch (op) {
	case 2:		/* swap two entries */
		tmp = pl->e[i];
		pl->e[i] = pl->e[j];
		pl->e[j] = tmp;
		break;
	case 3:		/* duplicate entry i before j */
		if (pl->n == MAXENT)
			break;
		tmp = pl->e[i];
		if ((tmp.data = malloc(tmp.len + 1)) == NULL)
			abort();
		memcpy(tmp.data, pl->e[i].data, tmp.len);
		memmove(&pl->e[j + 1], &pl->e[j], (pl->n - j) * sizeof(tmp));
		pl->e[j] = tmp;
		pl->n++;
		break;
	case 4:		/* delete entry i */
		free(pl->e[i].data);
		memmove(&pl->e[i], &pl->e[i + 1], (pl->n - i - 1) *
		    sizeof(tmp));
		pl->n--;
		break;
	case 10:	/* a pax header before entry i */
		if (pl->n == MAXENT)
			break;
		memset(&tmp, 0, sizeof(tmp));
		tar_header_put(tmp.hdr, "texp/PaxHeaders/x", 10, 1767225600);
		tmp.hdr[156] = c & 1 ? 'x' : 'g';
		tar_header_chksum(tmp.hdr);
		if ((tmp.data = malloc(11)) == NULL)
			abort();
		memcpy(tmp.data, "10 a=bcde\n", 10);
		tmp.len = 10;
		memmove(&pl->e[i + 1], &pl->e[i], (pl->n - i) * sizeof(tmp));
		pl->e[i] = tmp;
		pl->n++;
		break;
	}
}

static void
op_one(struct plain *pl, uint8_t op, uint8_t a, uint8_t b, uint8_t c)
{
	static const uint8_t tags[][3] = { { 0xc0 }, { 0xc1 }, { 0xd8, 0x25 },
	    { 0xd9, 0x03, 0xec }, { 0xd9, 0xd9, 0xf7 }, { 0xf6 }, { 0x80 },
	    { 0xa0 } };
	struct ent *e;
	size_t k;

	if (op % 16 == 2 || op % 16 == 3 || op % 16 == 4 || op % 16 == 10) {
		if (pl->n > 0)
			op_entries(pl, op % 16, a, b, c);
		return;
	}
	if (op % 16 == 7) {	/* bytes after the end marker */
		for (k = 0; k < (size_t)(b % 32) && pl->tail_len <
		    sizeof(pl->tail); k++)
			pl->tail[pl->tail_len++] = c;
		return;
	}
	if (op % 16 == 8) {
		pl->cut = (size_t)b << 4 | (c & 15);
		return;
	}
	if (op % 16 == 12) {
		pl->zstd = !pl->zstd;
		return;
	}
	if (op % 16 == 15) {
		pl->end_blocks = b % 4;
		return;
	}
	if (pl->n == 0)
		return;
	e = &pl->e[a % pl->n];
	k = e->len ? ((size_t)b << 8 | c) % e->len : 0;
	switch (op % 16) {
	case 0:		/* a header byte, the checksum kept right or not */
		e->hdr[(size_t)b * 2 % TAR_BLOCK] ^= (uint8_t)(c | 1);
		if (c & 0x80)
			tar_header_chksum(e->hdr);
		break;
	case 1:		/* a data byte */
		if (e->len)
			e->data[k] ^= (uint8_t)(b | 1);
		break;
	case 5:		/* a tag or other head inserted */
		insert_bytes(e, k, tags[b % 8], tags[b % 8][1] == 0 ? 1 :
		    tags[b % 8][2] == 0 ? 2 : 3);
		break;
	case 6:		/* the size field off by a little */
		set_size(e, e->len + (size_t)(c % 16) - 8 + (c % 16 < 8 ?
		    0 : 1));
		break;
	case 9:		/* a byte set (a CBOR head replaced) */
		if (e->len)
			e->data[k] = b;
		break;
	case 11:	/* an empty entry */
		e->len = 0;
		set_size(e, 0);
		break;
	case 13:	/* the data cut */
		e->len = k;
		set_size(e, k);
		break;
	case 14:	/* data cut, the header left saying more */
		e->len = k;
		break;
	}
}

static struct buf *
serialize(const struct plain *pl)
{
	static const uint8_t zero[TAR_BLOCK];
	struct buf *out = buf_new(MAXOUT);
	size_t i;
	int r = 0;

	if (out == NULL)
		abort();
	for (i = 0; i < pl->n && r == 0; i++)
		r = buf_put(out, pl->e[i].hdr, TAR_BLOCK) |
		    buf_put(out, pl->e[i].data, pl->e[i].len) |
		    buf_put(out, zero, tar_padding(pl->e[i].len));
	for (i = 0; i < pl->end_blocks && r == 0; i++)
		r = buf_put(out, zero, TAR_BLOCK);
	if (r == 0)
		r = buf_put(out, pl->tail, pl->tail_len);
	if (r == 0 && pl->cut > 0 && pl->cut < buf_len(out))
		r = buf_unput(out, pl->cut);
	if (r != 0) {
		buf_free(out);
		return NULL;
	}
	return out;
}

static struct buf *
zcompress(const uint8_t *p, size_t n)
{
	size_t cap = ZSTD_compressBound(n), z;
	struct buf *out = buf_new(cap + 1);
	uint8_t *dst;

	if (out == NULL || buf_reserve(out, cap, &dst) != 0)
		abort();
	z = ZSTD_compress(dst, cap, p, n, BUNDLE_ZSTD_LEVEL);
	if (ZSTD_isError(z))
		abort();
	buf_unput(out, cap - z);
	return out;
}

/* The program's plaintext. */
static struct buf *
program(const uint8_t *p, size_t n)
{
	struct plain pl = base;
	struct buf *out, *z;
	size_t i;

	for (i = 0; i < pl.n; i++) {
		if ((pl.e[i].data = malloc(base.e[i].len + 1)) == NULL)
			abort();
		memcpy(pl.e[i].data, base.e[i].data, base.e[i].len);
	}
	for (i = 0; i + 4 <= n && i < 4 * 64; i += 4)
		op_one(&pl, p[i], p[i + 1], p[i + 2], p[i + 3]);
	out = serialize(&pl);
	for (i = 0; i < pl.n; i++)
		free(pl.e[i].data);
	if (out != NULL && pl.zstd) {
		z = zcompress(buf_ptr(out), buf_len(out));
		buf_free(out);
		out = z;
	}
	return out;
}

/* ------------------------------------------------------------------ */
/* Read, then write again */

struct seen {
	struct buf *pre;	/* the preamble, re-encoded */
	size_t n;
	size_t cap;
	size_t *table;
	struct buf **rec;
	int failed;
};


static int
on_preamble(void *ctx, const struct manifest *pre)
{
	struct seen *s = ctx;

	return manifest_encode_preamble(pre, s->pre) != 0;
}

static int
on_record(void *ctx, const struct manifest *pre, size_t table,
    uint64_t index, const uint8_t *rec, size_t len, const uint8_t *tval,
    size_t tlen)
{
	struct seen *s = ctx;

	(void)pre;
	(void)index;
	(void)tval;
	(void)tlen;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->table = realloc(s->table, s->cap * sizeof(*s->table));
		s->rec = realloc(s->rec, s->cap * sizeof(*s->rec));
		if (s->table == NULL || s->rec == NULL)
			abort();
	}
	if ((s->rec[s->n] = buf_new(len + 1)) == NULL ||
	    buf_put(s->rec[s->n], rec, len) != 0)
		abort();
	s->table[s->n++] = table;
	return 0;
}

static int
on_failure(void *ctx, enum rule rule, int code, const char *msg)
{
	struct seen *s = ctx;

	(void)rule;
	(void)code;
	(void)msg;
	s->failed = 1;
	return 0;
}

/* The writer's plaintext for what the reader saw (plain tar). */
static struct buf *
rewrite(const struct seen *s)
{
	struct buf *in = buf_from(buf_ptr(s->pre), buf_len(s->pre));
	struct buf *out = buf_new(MAXOUT);
	struct bundle_writer *w = NULL;
	struct manifest *m = NULL;
	size_t i;

	if (in == NULL || out == NULL || manifest_decode_preamble(in, &m) != 0)
		abort();
	if (m->has_files) {
		/* files (FORMAT.md §3.4) are not replayed here: the round
		 * trip covers archives without files (tests/check_files.c
		 * covers the files path) */
		manifest_free(m);
		buf_free(in);
		buf_free(out);
		return NULL;
	}
	if (bundle_writer_new(m, 0, m->part_bytes, put_out, out, &w) != 0)
		abort();	/* the reader accepted what the writer refuses */
	for (i = 0; i < s->n; i++)
		if (bundle_writer_add(w, s->table[i], buf_ptr(s->rec[i]),
		    buf_len(s->rec[i])) != 0)
			abort();
	if (bundle_writer_finish(w, NULL) != 0)
		abort();
	bundle_writer_free(w);
	manifest_free(m);
	buf_free(in);
	return out;
}

/* The plaintext tar of p: p itself, or its one zstd frame decoded. */
static struct buf *
tar_of(const uint8_t *p, size_t n)
{
	ZSTD_DCtx *zd;
	ZSTD_inBuffer in = { p, n, 0 };
	ZSTD_outBuffer o;
	uint8_t tmp[65536];
	struct buf *out = buf_new(MAXOUT);
	size_t z;

	if (out == NULL)
		abort();
	if (n < 4 || memcmp(p, "\x28\xb5\x2f\xfd", 4) != 0) {
		if (buf_put(out, p, n) != 0)
			abort();
		return out;
	}
	if ((zd = ZSTD_createDCtx()) == NULL)
		abort();
	do {
		o.dst = tmp;
		o.size = sizeof(tmp);
		o.pos = 0;
		z = ZSTD_decompressStream(zd, &o, &in);
		if (ZSTD_isError(z) || buf_put(out, tmp, o.pos) != 0)
			abort();	/* accepted, yet not a good frame */
	} while (z != 0);
	if (in.pos != in.size)
		abort();	/* accepted, yet more than one frame */
	ZSTD_freeDCtx(zd);
	return out;
}

static void
check(const uint8_t *p, size_t n)
{
	struct seen s = { 0 };
	struct bundle_visitor v = {
		.ctx = &s, .on_preamble = on_preamble, .on_record = on_record,
		.on_failure = on_failure,
	};
	struct fuzz_src src = { p, n };
	struct buf *again, *orig;
	size_t i;

	if ((s.pre = buf_new(MANIFEST_MAX_BYTES)) == NULL)
		abort();
	if (bundle_read(fuzz_src_read, &src, &v) == 0 && !s.failed) {
		if ((again = rewrite(&s)) != NULL) {
			orig = tar_of(p, n);
			if (buf_len(again) != buf_len(orig) ||
			    memcmp(buf_ptr(again), buf_ptr(orig),
			    buf_len(orig)) != 0)
				abort();	/* accepted a second encoding */
			buf_free(again);
			buf_free(orig);
		}
	}
	for (i = 0; i < s.n; i++)
		buf_free(s.rec[i]);
	free(s.rec);
	free(s.table);
	buf_free(s.pre);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf *pt;

	if (base.n == 0)
		base_make();
	if (size > 0 && data[0] == 'P') {
		if ((pt = program(data + 1, size - 1)) == NULL)
			return 0;
		check(buf_ptr(pt), buf_len(pt));
		buf_free(pt);
	} else
		check(data, size);
	return 0;
}
