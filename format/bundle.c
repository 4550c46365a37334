#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>

#include "bundle.h"
#include "bundle_int.h"
#include "coltype.h"
#include "dcbor.h"
#include "err.h"
#include "evidence.h"
#include "tar.h"

/* ------------------------------------------------------------------ */
/* Records: shared by the writer and the reader (bundle_int.h) */

int
bundle_record_next(struct buf *b, size_t ncolumns,
    const struct coltype *types, int64_t tcol, const uint8_t **rec,
    size_t *len, const uint8_t **tval, size_t *tlen,
    struct record_fault *fault)
{
	const uint8_t *start = buf_ptr(b), *item, *p, *end;
	size_t before = buf_len(b);
	struct dcbor_item it;
	uint64_t i;
	int r;

	*tval = *rec = NULL;
	*tlen = *len = 0;
	fault->code = 0;
	fault->column = 0;
	if ((r = dcbor_get_item(b, &it)) != 0)
		return r;
	if (it.type != DCBOR_ARRAY || it.u != ncolumns)
		return ERR_FORMAT;
	/* b is a read-only view: its bytes stay where they are, and p
	 * follows its position */
	p = buf_ptr(b);
	end = p + buf_len(b);
	for (i = 0; i < it.u; i++) {
		item = p;
		/* the common forms on the bytes; anything else (failures
		 * included) through coltype_check, from the same place */
		if (p == end || !coltype_fast(&types[i], &p, end)) {
			if ((r = buf_consume(b, (size_t)(p - buf_ptr(b)))) != 0)
				return r;
			r = coltype_check(&types[i], b);
			if (r == ERR_TAG || r == ERR_TYPE) {
				if (fault->code == 0) {
					fault->code = r;
					fault->column = (size_t)i;
				}
			} else if (r != 0)
				return r;
			p = buf_ptr(b);
			end = p + buf_len(b);
		}
		if ((int64_t)i == tcol) {
			*tval = item;
			*tlen = (size_t)(p - item);
		}
	}
	if ((r = buf_consume(b, (size_t)(p - buf_ptr(b)))) != 0)
		return r;
	*rec = start;
	*len = before - buf_len(b);
	return 0;
}

int
bundle_types_for(const struct manifest_table *t, struct coltype **types,
    size_t *cap)
{
	struct coltype *n;
	size_t i;

	if (t->ncolumns > *cap) {
		if ((n = reallocarray(*types, t->ncolumns, sizeof(*n))) == NULL)
			return ERR_NOMEM;
		*types = n;
		*cap = t->ncolumns;
	}
	for (i = 0; i < t->ncolumns; i++)
		coltype_parse(t->columns[i].type, &(*types)[i]);
	return 0;
}

void
bundle_file_name(char *out, size_t len, size_t t, uint64_t p, uint64_t row,
    uint64_t chunk)
{
	snprintf(out, len, "texp/f/%04zu/%06llu/%05llu/%06llu", t,
	    (unsigned long long)p, (unsigned long long)row,
	    (unsigned long long)chunk);
}

int
bundle_record_path(struct buf *view, const uint8_t *rec, size_t len,
    uint64_t col, const uint8_t **path, size_t *plen)
{
	struct dcbor_item it;
	uint64_t n, i;
	int r;

	*path = NULL;
	*plen = 0;
	if ((r = buf_view_reset(view, rec, len)) != 0)
		return r;
	if ((r = dcbor_get_array(view, &n)) != 0)
		return ERR_CBOR;
	if (col >= n)
		return ERR_CBOR;
	for (i = 0; i < col; i++)
		if ((r = dcbor_skip(view, DCBOR_MAX_DEPTH)) != 0)
			return ERR_CBOR;
	if ((r = dcbor_get_item(view, &it)) != 0)
		return ERR_CBOR;
	if (it.type == DCBOR_NULL)
		return 0;
	if (it.type != DCBOR_TEXT)
		return ERR_TYPE;
	*path = it.p;
	*plen = it.len;
	return 0;
}

void
bundle_part_name(char *out, size_t len, const char *kind, size_t t,
    uint64_t p)
{
	snprintf(out, len, "texp/t/%04zu/%s-%06llu.cbor", t, kind,
	    (unsigned long long)p);
}

/* ------------------------------------------------------------------ */
/* Writer */

#define WB	64

struct bundle_writer {
	struct manifest *m;
	bundle_write_fn wr;
	void *ctx;
	ZSTD_CCtx *zc;		/* NULL: plain */
	uint8_t *zout;
	size_t zout_cap;
	size_t part_bytes;
	size_t cur;
	struct merkle mk;
	struct buf *rec;
	struct buf *ev;
	uint64_t part_records;
	int done;
	struct evidence_hasher eh;
	struct buf *view;	/* reused to scan each record */
	struct coltype *types;	/* of table cur */
	size_t types_cap;
	/* files (§3.4) */
	const struct bundle_file_source *files;
	uint8_t (*pth)[EVIDENCE_HASH_LEN];	/* the files table's part: */
	uint8_t (*pch)[EVIDENCE_HASH_LEN];	/* hashes until its flush */
	size_t pcap;
	struct buf *view2;
	uint8_t *io;		/* FILE_IO bytes of file data */
	/* records in w->rec whose evidence and leaves are not made yet:
	 * hashed WB at a time, four messages per pass (w_pending): where
	 * each is, and its leaf (content hash filled in by w_pending) */
	struct {
		size_t off, len;
	} pw[WB];
	struct merkle_pending wp[WB];
	size_t npw;
	uint8_t wleaf[WB][EVIDENCE_HASH_LEN];
};

#define FILE_IO		65536

/* Compressed output so far, to the sink. */
static int
w_zflush(struct bundle_writer *w, ZSTD_outBuffer *out)
{
	int r;

	if (out->pos > 0 && (r = w->wr(w->ctx, w->zout, out->pos)) != 0)
		return r;
	out->pos = 0;
	return 0;
}

static int
w_out(struct bundle_writer *w, const uint8_t *p, size_t n)
{
	ZSTD_inBuffer in = { p, n, 0 };
	ZSTD_outBuffer out = { w->zout, w->zout_cap, 0 };
	size_t z;
	int r;

	if (w->zc == NULL)
		return n == 0 ? 0 : w->wr(w->ctx, p, n);
	while (in.pos < in.size) {
		z = ZSTD_compressStream2(w->zc, &out, &in, ZSTD_e_continue);
		if (ZSTD_isError(z))
			return ERR_INTERNAL;
		if ((r = w_zflush(w, &out)) != 0)
			return r;
	}
	return 0;
}

/* Ends the zstd frame. */
static int
w_zend(struct bundle_writer *w)
{
	ZSTD_inBuffer in = { NULL, 0, 0 };
	ZSTD_outBuffer out = { w->zout, w->zout_cap, 0 };
	size_t z;
	int r;

	do {
		z = ZSTD_compressStream2(w->zc, &out, &in, ZSTD_e_end);
		if (ZSTD_isError(z))
			return ERR_INTERNAL;
		if ((r = w_zflush(w, &out)) != 0)
			return r;
	} while (z != 0);
	return 0;
}

static int
w_entry(struct bundle_writer *w, const char *name, const uint8_t *p,
    size_t len)
{
	static const uint8_t zero[TAR_BLOCK];
	uint8_t hdr[TAR_BLOCK];
	int r;

	if ((r = tar_header_put(hdr, name, len, w->m->created)) != 0 ||
	    (r = w_out(w, hdr, sizeof(hdr))) != 0 ||
	    (r = w_out(w, p, len)) != 0 ||
	    (r = w_out(w, zero, tar_padding(len))) != 0)
		return r;
	return 0;
}

/* The file of row i of the part: its chunk entries; its size and hash. */
static int
w_file(struct bundle_writer *w, uint64_t part, uint64_t i, uint64_t row,
    const uint8_t *path, size_t plen, uint64_t *size,
    uint8_t fh[EVIDENCE_HASH_LEN])
{
	static const uint8_t zero[TAR_BLOCK];
	const struct bundle_file_source *src = w->files;
	crypto_generichash_state st;
	uint8_t hdr[TAR_BLOCK];
	char name[64];
	uint64_t nchunks, c, off = 0, clen, left;
	size_t got;
	int r, rc, ok = 0;

	if ((r = src->open(src->ctx, row, path, plen, size)) != 0)
		return r;
	nchunks = *size == 0 ? 1 : (*size - 1) / BUNDLE_FILE_CHUNK + 1;
	if (nchunks > BUNDLE_MAX_FILE_CHUNKS) {
		r = ERR_LIMIT;
		goto out;
	}
	crypto_generichash_init(&st, NULL, 0, EVIDENCE_HASH_LEN);
	for (c = 1; c <= nchunks; c++) {
		clen = *size - off < BUNDLE_FILE_CHUNK ? *size - off :
		    BUNDLE_FILE_CHUNK;
		bundle_file_name(name, sizeof(name), w->cur, part, i, c);
		if ((r = tar_header_put(hdr, name, clen, w->m->created)) != 0 ||
		    (r = w_out(w, hdr, sizeof(hdr))) != 0)
			goto out;
		for (left = clen; left > 0; left -= got) {
			if ((r = src->read(src->ctx, w->io, left < FILE_IO ?
			    (size_t)left : FILE_IO, &got)) != 0)
				goto out;
			if (got == 0 || got > left) {
				r = ERR_IO;	/* shorter than its size */
				goto out;
			}
			crypto_generichash_update(&st, w->io, got);
			if ((r = w_out(w, w->io, got)) != 0)
				goto out;
		}
		if ((r = w_out(w, zero, tar_padding(clen))) != 0)
			goto out;
		off += clen;
	}
	crypto_generichash_final(&st, fh, EVIDENCE_HASH_LEN);
	ok = 1;
 out:
	rc = src->close(src->ctx, ok);
	return r != 0 ? r : rc;
}

/* The files table's part, after its records entry: each row's file, its
 * evidence item and Merkle leaf. */
static int
w_files_part(struct bundle_writer *w, uint64_t part)
{
	const struct manifest_table *mt = &w->m->tables[w->cur];
	uint64_t first = mt->records - w->part_records, i, size;
	uint8_t fh[EVIDENCE_HASH_LEN];
	const uint8_t *start, *path;
	size_t before, plen;
	int r;

	if ((r = buf_view_reset(w->view, buf_ptr(w->rec),
	    buf_len(w->rec))) != 0)
		return r;
	for (i = 0; i < w->part_records; i++) {
		start = buf_ptr(w->view);
		before = buf_len(w->view);
		if ((r = dcbor_skip(w->view, DCBOR_MAX_DEPTH)) != 0 ||
		    (r = bundle_record_path(w->view2, start,
		    before - buf_len(w->view), w->m->files_path, &path,
		    &plen)) != 0)
			return r;
		if ((r = dcbor_put_array(w->ev, 3)) != 0 ||
		    (r = dcbor_put_bytes(w->ev, w->pth[i], EVIDENCE_HASH_LEN)) ||
		    (r = dcbor_put_bytes(w->ev, w->pch[i], EVIDENCE_HASH_LEN)))
			return r;
		if (path == NULL) {
			if ((r = dcbor_put_null(w->ev)) != 0)
				return r;
			merkle_add(&w->mk, w->pth[i], w->pch[i]);
			continue;
		}
		if ((r = w_file(w, part, i, first + i, path, plen, &size,
		    fh)) != 0)
			return r;
		if ((r = dcbor_put_array(w->ev, 2)) != 0 ||
		    (r = dcbor_put_uint(w->ev, size)) != 0 ||
		    (r = dcbor_put_bytes(w->ev, fh, sizeof(fh))) != 0)
			return r;
		merkle_add_file(&w->mk, w->pth[i], w->pch[i], size, fh);
	}
	return 0;
}

/* The pending records' content hashes, evidence items and Merkle leaves,
 * in their order. */
static int
w_pending(struct bundle_writer *w)
{
	const uint8_t *rec[WB];
	uint8_t *out[WB];
	size_t len[WB], i, n = w->npw;
	int r;

	w->npw = 0;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		rec[i] = buf_ptr(w->rec) + w->pw[i].off;
		len[i] = w->pw[i].len;
		out[i] = w->wp[i].ch;
	}
	evidence_hasher_content_n(&w->eh, rec, len, out, n);
	for (i = 0; i < n; i++)
		if ((r = dcbor_put_array(w->ev, 2)) != 0 ||
		    (r = w->wp[i].has_tenant ? dcbor_put_bytes(w->ev,
		    w->wp[i].th, EVIDENCE_HASH_LEN) :
		    dcbor_put_null(w->ev)) != 0 ||
		    (r = dcbor_put_bytes(w->ev, w->wp[i].ch,
		    EVIDENCE_HASH_LEN)) != 0)
			return r;
	merkle_add_pending(&w->mk, w->wp, n, w->wleaf);
	return 0;
}

static int
w_flush(struct bundle_writer *w)
{
	struct manifest_table *t = &w->m->tables[w->cur];
	char name[64];
	int r;

	if ((r = w_pending(w)) != 0)
		return r;
	if (w->part_records == 0)
		return 0;
	if (t->parts >= MAX_PART_INDEX)
		return ERR_LIMIT;
	t->parts++;
	bundle_part_name(name, sizeof(name), "records", w->cur, t->parts);
	if ((r = w_entry(w, name, buf_ptr(w->rec), buf_len(w->rec))) != 0)
		return r;
	if (manifest_is_files_table(w->m, w->cur) &&
	    (r = w_files_part(w, t->parts)) != 0)
		return r;
	bundle_part_name(name, sizeof(name), "evidence", w->cur, t->parts);
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

	/* every table already closed (bundle_writer_end_table of the last
	 * one, then finish): nothing is open, and there is no table
	 * w->cur to write a root into */
	if (w->cur >= w->m->ntables)
		return 0;
	if ((r = w_flush(w)) != 0)
		return r;
	merkle_root(&w->mk, w->m->tables[w->cur].root);
	while (++w->cur < next && w->cur < w->m->ntables) {
		merkle_init(&w->mk);
		merkle_root(&w->mk, w->m->tables[w->cur].root);
	}
	merkle_init(&w->mk);
	if (w->cur < w->m->ntables)
		return bundle_types_for(&w->m->tables[w->cur], &w->types,
		    &w->types_cap);
	return 0;
}

static int
w_start(struct bundle_writer *w, int zstd)
{
	if (!zstd)
		return 0;
	w->zout_cap = ZSTD_CStreamOutSize();
	if ((w->zc = ZSTD_createCCtx()) == NULL ||
	    (w->zout = malloc(w->zout_cap)) == NULL)
		return ERR_NOMEM;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(w->zc,
	    ZSTD_c_compressionLevel, BUNDLE_ZSTD_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_windowLog,
	    BUNDLE_ZSTD_WINDOW_LOG_MAX - 3)))
		return ERR_INTERNAL;
	return 0;
}

int
bundle_writer_new(struct manifest *m, int zstd, size_t part_bytes,
    bundle_write_fn wr, void *ctx, struct bundle_writer **out)
{
	struct bundle_writer *w = NULL;
	struct buf *pre = NULL;
	enum rule rule;
	char why[8];
	int r = ERR_NOMEM;

	*out = NULL;
	if (m->ntables == 0 || m->ntables > MAX_TABLE_INDEX)
		return ERR_INVALID;
	if (part_bytes == 0)
		part_bytes = BUNDLE_PART_BYTES;
	if (part_bytes > BUNDLE_MAX_PART_BYTES)
		return ERR_LIMIT;
	m->compression = zstd ? 1 : 0;
	m->part_bytes = part_bytes;
	if ((r = manifest_check(m, &rule, why, sizeof(why))) != 0)
		return r;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return ERR_NOMEM;
	w->m = m;
	w->wr = wr;
	w->ctx = ctx;
	w->part_bytes = part_bytes;
	merkle_init(&w->mk);
	if ((r = evidence_hasher_init(&w->eh, m->salt)) != 0 ||
	    (r = bundle_types_for(&m->tables[0], &w->types, &w->types_cap)) != 0 ||
	    (r = w_start(w, zstd)) != 0)
		goto out;
	r = ERR_NOMEM;
	if (m->has_files && (w->io = malloc(FILE_IO)) == NULL)
		goto out;
	if ((w->rec = buf_new(BUNDLE_MAX_PART_BYTES)) == NULL ||
	    (w->view = buf_from(NULL, 0)) == NULL ||
	    (w->view2 = buf_from(NULL, 0)) == NULL ||
	    (w->ev = buf_new(m->has_files ? EVIDENCE_FILES_MAX :
	    EVIDENCE_MAX)) == NULL ||
	    (pre = buf_new(MANIFEST_MAX_BYTES)) == NULL)
		goto out;
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

/* The record rec[0..len) as the reader will check it. */
static int
w_scan(struct bundle_writer *w, const struct manifest_table *mt,
    const uint8_t *rec, size_t len, const uint8_t **tval, size_t *tlen)
{
	struct record_fault fault;
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = buf_view_reset(w->view, rec, len)) != 0)
		return r;
	r = bundle_record_next(w->view, mt->ncolumns, w->types, mt->tenant_column,
	    &p, &n, tval, tlen, &fault);
	if (r == 0 && fault.code != 0)
		r = fault.code;
	if (r == 0)
		r = buf_expect_end(w->view);
	if (r == ERR_FORMAT || r == ERR_TRAILING)
		r = ERR_CBOR;
	return r;
}

/* Room for the hashes of one more row of the files table's part. */
static int
w_files_room(struct bundle_writer *w)
{
	size_t cap;
	void *a;

	if (w->part_records < w->pcap)
		return 0;
	cap = w->pcap ? 2 * w->pcap : 256;
	if (cap > BUNDLE_MAX_PART_RECORDS)
		cap = BUNDLE_MAX_PART_RECORDS;
	if ((a = reallocarray(w->pth, cap, sizeof(*w->pth))) == NULL)
		return ERR_NOMEM;
	w->pth = a;
	if ((a = reallocarray(w->pch, cap, sizeof(*w->pch))) == NULL)
		return ERR_NOMEM;
	w->pch = a;
	w->pcap = cap;
	return 0;
}

/* A row of the files table: its evidence waits for its file (w_flush). */
static int
w_add_files_row(struct bundle_writer *w, struct manifest_table *mt,
    const uint8_t *rec, size_t len, const uint8_t th[EVIDENCE_HASH_LEN],
    const uint8_t ch[EVIDENCE_HASH_LEN])
{
	const uint8_t *path;
	size_t plen;
	int r;

	if (w->files == NULL)
		return ERR_INVALID;
	if ((r = bundle_record_path(w->view2, rec, len, w->m->files_path,
	    &path, &plen)) != 0)
		return r;
	if ((r = w_files_room(w)) != 0 || (r = buf_put(w->rec, rec, len)) != 0)
		return r;
	memcpy(w->pth[w->part_records], th, EVIDENCE_HASH_LEN);
	memcpy(w->pch[w->part_records], ch, EVIDENCE_HASH_LEN);
	w->part_records++;
	mt->records++;
	mt->bytes += len;
	return 0;
}

void
bundle_writer_set_files(struct bundle_writer *w,
    const struct bundle_file_source *src)
{
	w->files = src;
}

/* Appends a record whose tenant value (or NULL) is known; its evidence
 * and leaf follow with the next WB (w_pending). */
static int
w_add(struct bundle_writer *w, struct manifest_table *mt, const uint8_t *rec,
    size_t len, const uint8_t *tval, size_t tlen)
{
	uint8_t th[EVIDENCE_HASH_LEN], ch[EVIDENCE_HASH_LEN];
	size_t off;
	int r;

	if (len > BUNDLE_MAX_PART_BYTES)
		return ERR_LIMIT;
	if (w->part_records > 0 && (buf_len(w->rec) + len > w->part_bytes ||
	    w->part_records >= BUNDLE_MAX_PART_RECORDS) &&
	    (r = w_flush(w)) != 0)
		return r;
	if (tval != NULL &&
	    (r = evidence_hasher_tenant(&w->eh, tval, tlen, th)) != 0)
		return r;
	if (manifest_is_files_table(w->m, (size_t)(mt - w->m->tables))) {
		if ((r = w_pending(w)) != 0 ||
		    (r = evidence_hasher_content(&w->eh, rec, len, ch)) != 0)
			return r;
		return w_add_files_row(w, mt, rec, len, th, ch);
	}
	off = buf_len(w->rec);
	if ((r = buf_put(w->rec, rec, len)) != 0)
		return r;
	w->pw[w->npw].off = off;
	w->pw[w->npw].len = len;
	w->wp[w->npw].has_tenant = tval != NULL;
	if (tval != NULL)
		memcpy(w->wp[w->npw].th, th, EVIDENCE_HASH_LEN);
	w->part_records++;
	mt->records++;
	mt->bytes += len;
	if (++w->npw == WB)
		return w_pending(w);
	return 0;
}

/* Moves to table t; 0 or an error. */
static int
w_table(struct bundle_writer *w, size_t t)
{
	if (w->done || t >= w->m->ntables || t < w->cur)
		return ERR_INVALID;
	if (t > w->cur)
		return w_advance(w, t);
	return 0;
}

int
bundle_writer_add(struct bundle_writer *w, size_t t, const uint8_t *rec,
    size_t len)
{
	struct manifest_table *mt;
	const uint8_t *tval;
	size_t tlen;
	int r;

	if ((r = w_table(w, t)) != 0)
		return r;
	mt = &w->m->tables[t];
	if ((r = w_scan(w, mt, rec, len, &tval, &tlen)) != 0)
		return r;
	return w_add(w, mt, rec, len, tval, tlen);
}

int
bundle_writer_add_encoded(struct bundle_writer *w, size_t t,
    const uint8_t *rec, size_t len, size_t toff, size_t tlen)
{
	struct manifest_table *mt;
	int r;

	if ((r = w_table(w, t)) != 0)
		return r;
	mt = &w->m->tables[t];
	if (mt->tenant_column < 0)
		return w_add(w, mt, rec, len, NULL, 0);
	if (toff > len || tlen == 0 || tlen > len - toff)
		return ERR_INVALID;
	return w_add(w, mt, rec, len, rec + toff, tlen);
}

int
bundle_writer_end_table(struct bundle_writer *w, size_t t)
{
	if (w->done || t >= w->m->ntables || t < w->cur)
		return ERR_INVALID;
	if (t > w->cur)
		return 0;	/* not begun: nothing to close yet */
	return w_advance(w, t + 1);
}

int
bundle_writer_finish(struct bundle_writer *w, struct buf *manifest_out)
{
	static const uint8_t end[2 * TAR_BLOCK];
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
	    (r = w_entry(w, MANIFEST_NAME, buf_ptr(man), buf_len(man))) != 0 ||
	    (r = w_out(w, end, sizeof(end))) != 0 ||
	    (w->zc != NULL && (r = w_zend(w)) != 0))
		goto out;
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
	ZSTD_freeCCtx(w->zc);
	free(w->zout);
	buf_free(w->rec);
	buf_free(w->ev);
	buf_free(w->view);
	buf_free(w->view2);
	free(w->pth);
	free(w->pch);
	free(w->io);
	free(w->types);
	evidence_hasher_clear(&w->eh);
	free(w);
}

