#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>

#include "bundle.h"
#include "dcbor.h"
#include "err.h"
#include "evidence.h"

#define PREAMBLE_NAME	"texp/preamble.cbor"
#define MANIFEST_NAME	"texp/manifest.cbor"
#define EVIDENCE_ITEM_MAX	(1 + 2 + EVIDENCE_HASH_LEN + 2 + EVIDENCE_HASH_LEN)
#define MAX_TABLE_INDEX	9999
#define MAX_PART_INDEX	999999

/*
 * Consumes one record from b (one array of exactly ncolumns well-formed
 * items), pointing rec and len at it and tval and tlen at the tenant column's
 * encoded value. On error b is left inside the record.
 */
static int
record_next(struct buf *b, size_t ncolumns, int64_t tcol,
    const uint8_t **rec, size_t *len, const uint8_t **tval, size_t *tlen)
{
	const uint8_t *start = buf_ptr(b), *item;
	size_t before = buf_len(b), ib;
	uint64_t n, i;
	int r;

	*tval = NULL;
	*tlen = 0;
	*rec = NULL;
	*len = 0;
	if ((r = dcbor_get_array(b, &n)) != 0)
		goto fail;
	r = ERR_CBOR;
	if (n != ncolumns)
		goto fail;
	for (i = 0; i < n; i++) {
		item = buf_ptr(b);
		ib = buf_len(b);
		if ((r = dcbor_skip(b, BUNDLE_MAX_DEPTH)) != 0)
			goto fail;
		if ((int64_t)i == tcol) {
			*tval = item;
			*tlen = ib - buf_len(b);
		}
	}
	*rec = start;
	*len = before - buf_len(b);
	return 0;
 fail:
	*tval = NULL;
	*tlen = 0;
	return r;
}

/* One whole record: record_next over rec[0..len), nothing after it. view
 * is a read-only buffer reused for every record. */
static int
record_scan(struct buf *view, const uint8_t *rec, size_t len,
    size_t ncolumns, int64_t tcol, const uint8_t **tval, size_t *tlen)
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = buf_view_reset(view, rec, len)) != 0)
		return r;
	if ((r = record_next(view, ncolumns, tcol, &p, &n, tval, tlen)) == 0 &&
	    (r = buf_expect_end(view)) != 0) {
		*tval = NULL;
		*tlen = 0;
	}
	return r;
}

static void
part_name(char *out, size_t len, const char *kind, size_t t, uint64_t p)
{
	snprintf(out, len, "texp/t/%04zu/%s-%06llu.cbor", t, kind,
	    (unsigned long long)p);
}

/* ------------------------------------------------------------------ */
/* Writer */

struct bundle_writer {
	struct archive *a;
	struct manifest *m;
	bundle_write_fn wr;
	void *ctx;
	int cb_err;
	size_t part_bytes;
	size_t cur;
	struct merkle mk;
	struct buf *rec;
	struct buf *ev;
	uint64_t part_records;
	int done;
	struct evidence_hasher eh;
	struct buf *view;	/* reused to scan each record */
};

static la_ssize_t
w_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	struct bundle_writer *w = ctx;
	int r;

	if ((r = w->wr(w->ctx, p, n)) != 0) {
		w->cb_err = r;
		archive_set_error(a, EIO, "output failed");
		return -1;
	}
	return (la_ssize_t)n;
}

static int
w_err(struct bundle_writer *w)
{
	return w->cb_err != 0 ? w->cb_err : ERR_TAR;
}

static int
w_entry(struct bundle_writer *w, const char *name, const uint8_t *p,
    size_t len)
{
	struct archive_entry *e;
	int r = ERR_NOMEM;

	if ((e = archive_entry_new()) == NULL)
		return ERR_NOMEM;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, (time_t)w->m->created, 0);
	if (archive_write_header(w->a, e) != ARCHIVE_OK) {
		r = w_err(w);
		goto out;
	}
	while (len > 0) {
		la_ssize_t n = archive_write_data(w->a, p, len);

		if (n <= 0) {
			r = w_err(w);
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	r = 0;
 out:
	archive_entry_free(e);
	return r;
}

static int
w_flush(struct bundle_writer *w)
{
	struct manifest_table *t = &w->m->tables[w->cur];
	char name[64];
	int r;

	if (w->part_records == 0)
		return 0;
	if (t->parts >= MAX_PART_INDEX)
		return ERR_LIMIT;
	t->parts++;
	part_name(name, sizeof(name), "records", w->cur, t->parts);
	if ((r = w_entry(w, name, buf_ptr(w->rec), buf_len(w->rec))) != 0)
		return r;
	part_name(name, sizeof(name), "evidence", w->cur, t->parts);
	if ((r = w_entry(w, name, buf_ptr(w->ev), buf_len(w->ev))) != 0)
		return r;
	buf_reset(w->rec);
	buf_reset(w->ev);
	w->part_records = 0;
	return 0;
}

/* Closes the current table and moves to table next (or past the end). */
static int
w_advance(struct bundle_writer *w, size_t next)
{
	int r;

	if ((r = w_flush(w)) != 0)
		return r;
	merkle_root(&w->mk, w->m->tables[w->cur].root);
	while (++w->cur < next && w->cur < w->m->ntables) {
		merkle_init(&w->mk);
		merkle_root(&w->mk, w->m->tables[w->cur].root);
	}
	merkle_init(&w->mk);
	return 0;
}

int
bundle_writer_new(struct manifest *m, int zstd, size_t part_bytes,
    bundle_write_fn wr, void *ctx, struct bundle_writer **out)
{
	struct bundle_writer *w = NULL;
	struct buf *pre = NULL;
	int r = ERR_NOMEM;

	*out = NULL;
	if (m->ntables == 0 || m->ntables > MAX_TABLE_INDEX)
		return ERR_INVALID;
	if (part_bytes == 0)
		part_bytes = BUNDLE_PART_BYTES;
	if (part_bytes > BUNDLE_MAX_PART_BYTES)
		return ERR_LIMIT;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto out;
	w->m = m;
	w->wr = wr;
	w->ctx = ctx;
	w->part_bytes = part_bytes;
	m->compression = zstd ? 1 : 0;
	merkle_init(&w->mk);
	if ((r = evidence_hasher_init(&w->eh, m->salt)) != 0)
		goto out;
	r = ERR_NOMEM;
	if ((w->rec = buf_new(BUNDLE_MAX_PART_BYTES)) == NULL ||
	    (w->view = buf_from(NULL, 0)) == NULL ||
	    (w->ev = buf_new(BUNDLE_MAX_PART_RECORDS * EVIDENCE_ITEM_MAX)) == NULL ||
	    (pre = buf_new(MANIFEST_MAX_BYTES)) == NULL ||
	    (w->a = archive_write_new()) == NULL)
		goto out;
	r = ERR_TAR;
	/* ustar: the pax interchange format without extended headers, which
	 * our short ASCII names and bounded sizes never need. The pax writer
	 * would convert every name to UTF-8 through iconv, loading modules
	 * from disk, which the builder's sandbox forbids. */
	if (archive_write_set_format_ustar(w->a) != ARCHIVE_OK)
		goto out;
	/* In-process zstd only: ARCHIVE_WARN would mean an external program. */
	if (zstd && archive_write_add_filter_zstd(w->a) != ARCHIVE_OK) {
		r = ERR_UNSUPPORTED;
		goto out;
	}
	if (archive_write_set_bytes_per_block(w->a, 10240) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(w->a, w, NULL, w_write, NULL, NULL) != ARCHIVE_OK) {
		r = w_err(w);
		goto out;
	}
	if ((r = manifest_encode_preamble(m, pre)) != 0 ||
	    (r = w_entry(w, PREAMBLE_NAME, buf_ptr(pre), buf_len(pre))) != 0)
		goto out;
	*out = w;
	w = NULL;
	r = 0;
 out:
	buf_free(pre);
	bundle_writer_free(w);
	return r;
}

int
bundle_writer_add(struct bundle_writer *w, size_t t, const uint8_t *rec,
    size_t len)
{
	struct manifest_table *mt;
	uint8_t th[EVIDENCE_HASH_LEN], ch[EVIDENCE_HASH_LEN];
	const uint8_t *tval;
	size_t tlen;
	int r;

	if (w->done || t >= w->m->ntables || t < w->cur)
		return ERR_INVALID;
	if (t > w->cur && (r = w_advance(w, t)) != 0)
		return r;
	mt = &w->m->tables[t];
	if ((r = record_scan(w->view, rec, len, mt->ncolumns,
	    mt->tenant_column, &tval, &tlen)) != 0)
		return r;
	if (len > BUNDLE_MAX_PART_BYTES)
		return ERR_LIMIT;
	if (w->part_records > 0 && (buf_len(w->rec) + len > w->part_bytes ||
	    w->part_records >= BUNDLE_MAX_PART_RECORDS) &&
	    (r = w_flush(w)) != 0)
		return r;
	if ((r = evidence_hasher_content(&w->eh, rec, len, ch)) != 0)
		return r;
	if (tval != NULL &&
	    (r = evidence_hasher_tenant(&w->eh, tval, tlen, th)) != 0)
		return r;
	if ((r = buf_put(w->rec, rec, len)) != 0 ||
	    (r = dcbor_put_array(w->ev, 2)) != 0 ||
	    (r = tval != NULL ? dcbor_put_bytes(w->ev, th, sizeof(th)) :
	    dcbor_put_null(w->ev)) != 0 ||
	    (r = dcbor_put_bytes(w->ev, ch, sizeof(ch))) != 0)
		return r;
	merkle_add(&w->mk, tval != NULL ? th : NULL, ch);
	w->part_records++;
	mt->records++;
	mt->bytes += len;
	return 0;
}

int
bundle_writer_finish(struct bundle_writer *w, struct buf *manifest_out)
{
	struct buf *pre = NULL, *man = NULL;
	int r = ERR_NOMEM;

	if (w->done)
		return ERR_INVALID;
	w->done = 1;
	if ((r = w_advance(w, w->m->ntables)) != 0)
		goto out;
	r = ERR_NOMEM;
	if ((pre = buf_new(MANIFEST_MAX_BYTES)) == NULL ||
	    (man = buf_new(MANIFEST_MAX_BYTES)) == NULL)
		goto out;
	if ((r = manifest_encode_preamble(w->m, pre)) != 0 ||
	    (r = manifest_encode(w->m, buf_ptr(pre), buf_len(pre), man)) != 0 ||
	    (r = w_entry(w, MANIFEST_NAME, buf_ptr(man), buf_len(man))) != 0)
		goto out;
	if (archive_write_close(w->a) != ARCHIVE_OK) {
		r = w_err(w);
		goto out;
	}
	if (manifest_out != NULL &&
	    (r = buf_put(manifest_out, buf_ptr(man), buf_len(man))) != 0)
		goto out;
	r = 0;
 out:
	buf_free(pre);
	buf_free(man);
	return r;
}

void
bundle_writer_free(struct bundle_writer *w)
{
	if (w == NULL)
		return;
	if (w->a != NULL)
		archive_write_free(w->a);
	buf_free(w->rec);
	buf_free(w->ev);
	buf_free(w->view);
	evidence_hasher_clear(&w->eh);
	free(w);
}

/* ------------------------------------------------------------------ */
/* Reader */

struct reader {
	bundle_read_fn rd;
	void *rctx;
	const struct bundle_visitor *v;
	int cb_err;
	int stopped;
	uint8_t block[65536];
	struct manifest *pre;
	struct buf *pre_bytes;
	struct buf *data;
	/* per-part computed hashes */
	uint8_t (*th)[EVIDENCE_HASH_LEN];
	uint8_t (*ch)[EVIDENCE_HASH_LEN];
	uint8_t *has_th;
	uint64_t nrec;
	/* per-table progress */
	size_t cur;
	uint64_t part;
	uint64_t *records;
	uint64_t *parts;
	uint64_t *bytes;
	struct merkle *mk;
	struct evidence_hasher eh;
};

static la_ssize_t
r_read(struct archive *a, void *ctx, const void **p)
{
	struct reader *rd = ctx;
	size_t got = 0;
	int r;

	*p = rd->block;
	if ((r = rd->rd(rd->rctx, rd->block, sizeof(rd->block), &got)) != 0) {
		rd->cb_err = r;
		archive_set_error(a, EIO, "input failed");
		return -1;
	}
	return (la_ssize_t)got;
}

/* Reports a failure; returns nonzero when the visitor asked to stop. */
static int
fail(struct reader *rd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct reader *rd, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rd->v->on_failure != NULL && rd->v->on_failure(rd->v->ctx, code, msg))
		rd->stopped = 1;
	return rd->stopped;
}

/* Parses "texp/t/TTTT/KIND-PPPPPP.cbor" strictly. */
static int
parse_part_name(const char *name, const char *kind, size_t *t, uint64_t *p)
{
	char expect[64];
	unsigned long long pp;
	unsigned tt;
	size_t i, n = strlen(name);

	if (n != strlen("texp/t/0000/-000000.cbor") + strlen(kind) ||
	    strncmp(name, "texp/t/", 7) != 0)
		return 0;
	for (i = 7; i < 11; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	for (i = n - 11; i < n - 5; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	if (sscanf(name + 7, "%4u", &tt) != 1 ||
	    sscanf(name + n - 11, "%6llu", &pp) != 1)
		return 0;
	part_name(expect, sizeof(expect), kind, tt, pp);
	if (strcmp(expect, name) != 0)
		return 0;
	*t = tt;
	*p = pp;
	return 1;
}

static int
read_entry(struct reader *rd, struct archive *a, struct archive_entry *e,
    size_t cap)
{
	la_int64_t size;
	uint8_t *dst;
	la_ssize_t n;
	int r;

	buf_reset(rd->data);
	if (archive_entry_filetype(e) != AE_IFREG ||
	    !archive_entry_size_is_set(e))
		return ERR_TAR;
	size = archive_entry_size(e);
	if (size < 0 || (uint64_t)size > cap)
		return ERR_LIMIT;
	if ((r = buf_reserve(rd->data, (size_t)size, &dst)) != 0)
		return r;
	while (size > 0) {
		n = archive_read_data(a, dst, (size_t)size);
		if (n <= 0)
			return rd->cb_err != 0 ? rd->cb_err :
			    n == 0 ? ERR_TRUNCATED : ERR_TAR;
		dst += n;
		size -= n;
	}
	return 0;
}

static int
do_preamble(struct reader *rd)
{
	struct buf *view;
	size_t n;
	int r;

	if ((r = buf_put(rd->pre_bytes, buf_ptr(rd->data),
	    buf_len(rd->data))) != 0)
		return r;
	if ((view = buf_from(buf_ptr(rd->pre_bytes),
	    buf_len(rd->pre_bytes))) == NULL)
		return ERR_NOMEM;
	r = manifest_decode_preamble(view, &rd->pre);
	buf_free(view);
	if (r != 0)
		return r == ERR_UNSUPPORTED ? r : ERR_MANIFEST;
	n = rd->pre->ntables;
	if (n == 0 || n > MAX_TABLE_INDEX)
		return ERR_MANIFEST;
	if ((r = evidence_hasher_init(&rd->eh, rd->pre->salt)) != 0)
		return r;
	rd->records = calloc(n, sizeof(*rd->records));
	rd->parts = calloc(n, sizeof(*rd->parts));
	rd->bytes = calloc(n, sizeof(*rd->bytes));
	rd->mk = calloc(n, sizeof(*rd->mk));
	if (rd->records == NULL || rd->parts == NULL || rd->bytes == NULL ||
	    rd->mk == NULL)
		return ERR_NOMEM;
	if (rd->v->on_preamble != NULL &&
	    rd->v->on_preamble(rd->v->ctx, rd->pre) != 0) {
		rd->stopped = 1;
		return ERR_INTERRUPTED;
	}
	return 0;
}

static int
do_records(struct reader *rd, size_t t)
{
	const struct manifest_table *mt = &rd->pre->tables[t];
	struct buf *b = rd->data;
	const uint8_t *rec, *tval;
	size_t len, tlen;
	int r;

	rd->nrec = 0;
	while (buf_len(b) > 0) {
		if (rd->nrec >= BUNDLE_MAX_PART_RECORDS)
			return ERR_LIMIT;
		if ((r = record_next(b, mt->ncolumns, mt->tenant_column, &rec,
		    &len, &tval, &tlen)) != 0)
			return r;
		if ((r = evidence_hasher_content(&rd->eh, rec, len,
		    rd->ch[rd->nrec])) != 0)
			return r;
		rd->has_th[rd->nrec] = tval != NULL;
		if (tval != NULL && (r = evidence_hasher_tenant(&rd->eh,
		    tval, tlen, rd->th[rd->nrec])) != 0)
			return r;
		merkle_add(&rd->mk[t], tval != NULL ? rd->th[rd->nrec] : NULL,
		    rd->ch[rd->nrec]);
		rd->bytes[t] += len;
		if (rd->v->on_record != NULL &&
		    rd->v->on_record(rd->v->ctx, rd->pre, t, rd->records[t],
		    rec, len, tval, tlen) != 0) {
			rd->stopped = 1;
			return ERR_INTERRUPTED;
		}
		rd->records[t]++;
		rd->nrec++;
	}
	return 0;
}

static int
do_evidence(struct reader *rd, size_t t)
{
	const struct manifest_table *mt = &rd->pre->tables[t];
	struct buf *b = rd->data;
	struct dcbor_item th, ch;
	uint64_t i, n, first = rd->records[t] - rd->nrec;
	int r;

	for (i = 0; buf_len(b) > 0; i++) {
		if ((r = dcbor_get_array(b, &n)) != 0)
			return r;
		if (n != 2)
			return ERR_CBOR;
		if ((r = dcbor_get_item(b, &th)) != 0 ||
		    (r = dcbor_get_item(b, &ch)) != 0)
			return r;
		if (ch.type != DCBOR_BYTES || ch.len != EVIDENCE_HASH_LEN ||
		    !((th.type == DCBOR_BYTES && th.len == EVIDENCE_HASH_LEN) ||
		    th.type == DCBOR_NULL))
			return ERR_CBOR;
		if (i >= rd->nrec)
			continue;	/* counted below */
		if ((th.type == DCBOR_NULL) != !rd->has_th[i] ||
		    (th.type == DCBOR_BYTES &&
		    sodium_memcmp(th.p, rd->th[i], EVIDENCE_HASH_LEN) != 0)) {
			if (fail(rd, ERR_HASH, "table \"%s\" record %llu: "
			    "tenant hash does not recompute", mt->name,
			    (unsigned long long)(first + i)))
				return ERR_INTERRUPTED;
		}
		if (sodium_memcmp(ch.p, rd->ch[i], EVIDENCE_HASH_LEN) != 0 &&
		    fail(rd, ERR_HASH, "table \"%s\" record %llu: "
		    "content hash does not recompute", mt->name,
		    (unsigned long long)(first + i)))
			return ERR_INTERRUPTED;
	}
	if (i != rd->nrec && fail(rd, ERR_COUNT, "table \"%s\" part %llu: "
	    "%llu evidence entries for %llu records", mt->name,
	    (unsigned long long)rd->part, (unsigned long long)i,
	    (unsigned long long)rd->nrec))
		return ERR_INTERRUPTED;
	return 0;
}

static int
do_manifest(struct reader *rd)
{
	struct manifest *m = NULL;
	const struct manifest_table *mt;
	const uint8_t *pre;
	uint8_t root[EVIDENCE_HASH_LEN];
	struct buf *view;
	size_t pre_len, i;
	int r;

	if ((view = buf_from(buf_ptr(rd->data), buf_len(rd->data))) == NULL)
		return ERR_NOMEM;
	r = manifest_decode(view, &m, &pre, &pre_len);
	if (r != 0) {
		r = r == ERR_UNSUPPORTED ? r : ERR_MANIFEST;
		goto out;
	}
	if (pre_len != buf_len(rd->pre_bytes) ||
	    memcmp(pre, buf_ptr(rd->pre_bytes), pre_len) != 0) {
		if (fail(rd, ERR_MANIFEST, "manifest does not embed the "
		    "archive's preamble"))
			r = ERR_INTERRUPTED;
		goto out;
	}
	for (i = 0; i < m->ntables; i++) {
		mt = &m->tables[i];
		if (mt->records != rd->records[i] &&
		    fail(rd, ERR_COUNT, "table \"%s\": manifest says %llu "
		    "records, archive holds %llu", mt->name,
		    (unsigned long long)mt->records,
		    (unsigned long long)rd->records[i]))
			goto stop;
		if ((mt->parts != rd->parts[i] || mt->bytes != rd->bytes[i]) &&
		    fail(rd, ERR_COUNT, "table \"%s\": manifest part or byte "
		    "count differs from the archive", mt->name))
			goto stop;
		merkle_root(&rd->mk[i], root);
		if (sodium_memcmp(root, mt->root, sizeof(root)) != 0 &&
		    fail(rd, ERR_MERKLE, "table \"%s\": Merkle root does not "
		    "match the records", mt->name))
			goto stop;
	}
	if (rd->v->on_manifest != NULL &&
	    rd->v->on_manifest(rd->v->ctx, m, buf_ptr(rd->data),
	    buf_len(rd->data)) != 0)
		goto stop;
	r = 0;
	goto out;
 stop:
	r = ERR_INTERRUPTED;
 out:
	buf_free(view);
	manifest_free(m);
	return r;
}

/* After the tar end: only zero padding may follow. */
static int
drain(struct reader *rd)
{
	size_t got, i;
	int r;

	for (;;) {
		if ((r = rd->rd(rd->rctx, rd->block, sizeof(rd->block), &got)) != 0)
			return r;
		if (got == 0)
			return 0;
		for (i = 0; i < got; i++)
			if (rd->block[i] != 0)
				return ERR_TRAILING;
	}
}

static const char *
stage_name(int stage)
{
	return stage == 0 ? "preamble" : stage == 3 ? "after the manifest" :
	    "table parts";
}

int
bundle_read(bundle_read_fn rdfn, void *rctx, const struct bundle_visitor *v)
{
	struct reader *rd = NULL;
	struct archive *a = NULL;
	struct archive_entry *e;
	const char *name;
	size_t t = 0;
	uint64_t p = 0;
	int r = ERR_NOMEM, ar, stage = 0, filter;
	/* stage: 0 preamble next, 1 parts or manifest, 2 evidence next, 3 end */

	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		goto report;
	rd->rd = rdfn;
	rd->rctx = rctx;
	rd->v = v;
	rd->th = malloc(BUNDLE_MAX_PART_RECORDS * sizeof(*rd->th));
	rd->ch = malloc(BUNDLE_MAX_PART_RECORDS * sizeof(*rd->ch));
	rd->has_th = malloc(BUNDLE_MAX_PART_RECORDS);
	if (rd->th == NULL || rd->ch == NULL || rd->has_th == NULL ||
	    (rd->pre_bytes = buf_new(MANIFEST_MAX_BYTES)) == NULL ||
	    (rd->data = buf_new(BUNDLE_MAX_PART_BYTES)) == NULL ||
	    (a = archive_read_new()) == NULL)
		goto report;
	r = ERR_TAR;
	if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
	    archive_read_open2(a, rd, NULL, r_read, NULL, NULL) != ARCHIVE_OK)
		goto report_ar;
	for (;;) {
		ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK)
			goto report_ar;
		name = archive_entry_pathname(e);
		if (name == NULL)
			goto report_ar;
		filter = archive_filter_code(a, 0);
		if (filter != ARCHIVE_FILTER_NONE && filter != ARCHIVE_FILTER_ZSTD) {
			r = ERR_UNSUPPORTED;
			goto report;
		}
		if (stage == 0) {
			if (strcmp(name, PREAMBLE_NAME) != 0)
				goto unexpected;
			if ((r = read_entry(rd, a, e, MANIFEST_MAX_BYTES)) != 0 ||
			    (r = do_preamble(rd)) != 0)
				goto report;
			if ((filter == ARCHIVE_FILTER_ZSTD) != rd->pre->compression) {
				r = ERR_MANIFEST;
				goto report;
			}
			stage = 1;
		} else if (stage == 2) {
			if (!parse_part_name(name, "evidence", &t, &p) ||
			    t != rd->cur || p != rd->part)
				goto unexpected;
			if ((r = read_entry(rd, a, e, BUNDLE_MAX_PART_RECORDS *
			    EVIDENCE_ITEM_MAX)) != 0 ||
			    (r = do_evidence(rd, t)) != 0)
				goto report;
			stage = 1;
		} else if (stage == 1 && strcmp(name, MANIFEST_NAME) == 0) {
			if ((r = read_entry(rd, a, e, MANIFEST_MAX_BYTES)) != 0 ||
			    (r = do_manifest(rd)) != 0)
				goto report;
			stage = 3;
		} else if (stage == 1) {
			if (!parse_part_name(name, "records", &t, &p) ||
			    t >= rd->pre->ntables || t < rd->cur ||
			    p != (t == rd->cur ? rd->part + 1 : 1) ||
			    (t > rd->cur && rd->parts[t] != 0))
				goto unexpected;
			rd->cur = t;
			rd->part = p;
			rd->parts[t] = p;
			if ((r = read_entry(rd, a, e, BUNDLE_MAX_PART_BYTES)) != 0 ||
			    (r = do_records(rd, t)) != 0)
				goto report;
			stage = 2;
		} else
			goto unexpected;
	}
	if (stage != 3) {
		r = ERR_TRUNCATED;
		fail(rd, r, "archive content ends before its manifest (%s)",
		    stage_name(stage));
		goto done;
	}
	if ((r = drain(rd)) != 0)
		goto report;
	r = 0;
	goto done;

 unexpected:
	r = ERR_TAR;
	fail(rd, r, "unexpected entry \"%.80s\" in the archive (expected %s)",
	    name, stage == 2 ? "evidence for the previous part" :
	    stage_name(stage));
	goto done;
 report_ar:
	if (rd->cb_err != 0)
		r = rd->cb_err;
	fail(rd, r, "archive content unreadable: %s",
	    rd->cb_err != 0 ? err_str(rd->cb_err) :
	    a != NULL && archive_error_string(a) ? archive_error_string(a) :
	    "tar error");
	goto done;
 report:
	if (r == ERR_INTERRUPTED || rd == NULL)
		goto done;
	if (rd->cb_err != 0)
		r = rd->cb_err;
	fail(rd, r, "archive content invalid at %s: %s",
	    stage == 0 ? "the preamble" : stage == 3 || rd->pre == NULL ?
	    "the manifest" : rd->pre->tables[rd->cur].name, err_str(r));
 done:
	if (a != NULL)
		archive_read_free(a);
	if (rd != NULL) {
		if (rd->stopped && r == 0)
			r = ERR_INTERRUPTED;
		manifest_free(rd->pre);
		buf_free(rd->pre_bytes);
		buf_free(rd->data);
		free(rd->th);
		free(rd->ch);
		free(rd->has_th);
		free(rd->records);
		free(rd->parts);
		free(rd->bytes);
		free(rd->mk);
		evidence_hasher_clear(&rd->eh);
		free(rd);
	}
	return r;
}
