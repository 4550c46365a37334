#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dcbor.h"
#include "err.h"
#include "pgcopy.h"
#include "pgtype.h"

static const uint8_t copy_signature[11] = {
	'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', '\0'
};

enum pgcopy_state { PGCOPY_HEADER, PGCOPY_ROWS, PGCOPY_DONE };

/* Internal: the input so far ends inside the header or a tuple. */
#define NEED_MORE	3

struct pgcopy {
	uint32_t *types;
	size_t ncols;
	size_t max_row_bytes;
	struct buf *in;		/* unparsed input, <= max_row_bytes */
	struct buf *row;	/* reused views: one row, one value, and */
	struct buf *val;
	struct buf *meas;	/* the input while measuring a row */
	enum pgcopy_state state;
	int64_t mark;		/* column whose item is located, or -1 */
	size_t mark_off, mark_len;
	int error;		/* sticky */
	uint64_t rows;
};

struct pgcopy *
pgcopy_new(const struct pgcopy_column *cols, size_t ncols,
    size_t max_row_bytes)
{
	struct pgcopy *pc = NULL;
	size_t i;

	if (cols == NULL || ncols == 0 || ncols > PGCOPY_MAX_COLUMNS ||
	    max_row_bytes < 64)
		return NULL;
	for (i = 0; i < ncols; i++)
		if (!pgtype_supported(cols[i].type_oid))
			return NULL;
	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		return NULL;
	if ((pc->types = calloc(ncols, sizeof(*pc->types))) == NULL ||
	    (pc->in = buf_new(max_row_bytes)) == NULL ||
	    (pc->row = buf_from(NULL, 0)) == NULL ||
	    (pc->val = buf_from(NULL, 0)) == NULL ||
	    (pc->meas = buf_from(NULL, 0)) == NULL) {
		pgcopy_free(pc);
		return NULL;
	}
	for (i = 0; i < ncols; i++)
		pc->types[i] = cols[i].type_oid;
	pc->ncols = ncols;
	pc->max_row_bytes = max_row_bytes;
	pc->state = PGCOPY_HEADER;
	pc->mark = -1;
	return pc;
}

void
pgcopy_free(struct pgcopy *pc)
{
	if (pc == NULL)
		return;
	buf_free(pc->in);
	buf_free(pc->row);
	buf_free(pc->val);
	buf_free(pc->meas);
	free(pc->types);
	free(pc);
}

uint64_t
pgcopy_rows(const struct pgcopy *pc)
{
	return pc->rows;
}

void
pgcopy_set_mark(struct pgcopy *pc, int64_t col)
{
	pc->mark = col >= 0 && (uint64_t)col < pc->ncols ? col : -1;
}

void
pgcopy_mark(const struct pgcopy *pc, size_t *off, size_t *len)
{
	*off = pc->mark_off;
	*len = pc->mark_len;
}

int
pgcopy_feed(struct pgcopy *pc, const uint8_t *p, size_t n)
{
	if (pc->error != 0)
		return pc->error;
	if (pc->state == PGCOPY_DONE && n > 0)
		return pc->error = ERR_TRAILING;
	/* Sticky too: a decoder that dropped input must not carry on. */
	return pc->error = buf_put(pc->in, p, n);
}

/*
 * Parses the header from pc->in. 0 when done, NEED_MORE when more input
 * is needed, negative on error. Consumes only a whole header.
 */
static int
parse_header(struct pgcopy *pc)
{
	struct buf *v = NULL;
	uint8_t sig[sizeof(copy_signature)];
	uint32_t flags, extlen;
	int r = ERR_INTERNAL;

	if ((v = buf_from(buf_ptr(pc->in), buf_len(pc->in))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = buf_get(v, sig, sizeof(sig))) != 0 ||
	    (r = buf_get_u32be(v, &flags)) != 0 ||
	    (r = buf_get_u32be(v, &extlen)) != 0)
		goto need;
	if (memcmp(sig, copy_signature, sizeof(sig)) != 0) {
		r = ERR_FORMAT;
		goto out;
	}
	/*
	 * Bit 16 means OIDs follow; bits 0-15 are critical. Bits 17-31 could
	 * be ignored per the protocol, but no server sets any: a non-zero
	 * word means this is not the stream we asked for.
	 */
	if (flags != 0) {
		r = ERR_FORMAT;
		goto out;
	}
	if (extlen > pc->max_row_bytes) {
		r = ERR_LIMIT;
		goto out;
	}
	if ((r = buf_consume(v, extlen)) != 0)
		goto need;
	r = buf_consume(pc->in, buf_len(pc->in) - buf_len(v));
	goto out;
 need:
	if (r == ERR_TRUNCATED)
		r = NEED_MORE;
 out:
	/* An early mismatch of the signature is reported as soon as seen. */
	if (r == NEED_MORE && buf_len(pc->in) > 0 &&
	    memcmp(buf_ptr(pc->in), copy_signature,
	    buf_len(pc->in) < sizeof(copy_signature) ?
	    buf_len(pc->in) : sizeof(copy_signature)) != 0)
		r = ERR_FORMAT;
	buf_free(v);
	return r;
}

/*
 * Measures the next tuple in pc->in without consuming it: *rowlen is its
 * full size. Returns 0 for a tuple, PGCOPY_END for the trailer, NEED_MORE
 * when more input is needed, negative on error.
 */
static int
measure_row(struct pgcopy *pc, size_t *rowlen)
{
	struct buf *v = pc->meas;
	uint16_t u16;
	uint32_t u32;
	int16_t nfields;
	int32_t flen;
	size_t i;
	int r = ERR_INTERNAL;

	*rowlen = 0;
	if ((r = buf_view_reset(v, buf_ptr(pc->in), buf_len(pc->in))) != 0)
		goto out;
	if ((r = buf_get_u16be(v, &u16)) != 0)
		goto need;
	nfields = (int16_t)u16;
	if (nfields == -1) {
		*rowlen = 2;
		r = PGCOPY_END;
		goto out;
	}
	if (nfields < 0 || (size_t)nfields != pc->ncols) {
		r = ERR_FORMAT;
		goto out;
	}
	for (i = 0; i < pc->ncols; i++) {
		if ((r = buf_get_u32be(v, &u32)) != 0)
			goto need;
		flen = (int32_t)u32;
		if (flen == -1)
			continue;
		if (flen < 0) {
			r = ERR_FORMAT;
			goto out;
		}
		if ((size_t)flen > pc->max_row_bytes) {
			r = ERR_LIMIT;
			goto out;
		}
		if ((r = buf_consume(v, (size_t)flen)) != 0)
			goto need;
	}
	*rowlen = buf_len(pc->in) - buf_len(v);
	r = 0;
	goto out;
 need:
	if (r == ERR_TRUNCATED)
		r = NEED_MORE;
 out:
	return r;
}

/* Converts the complete tuple of rowlen bytes at the front of pc->in. */
static int
convert_row(struct pgcopy *pc, size_t rowlen, struct buf *record)
{
	struct buf *v = pc->row;
	const uint8_t *p;
	uint16_t u16;
	uint32_t u32;
	int32_t flen;
	size_t i, base = buf_len(record), at;
	int r = ERR_INTERNAL;

	if ((r = buf_view_reset(v, buf_ptr(pc->in), rowlen)) != 0)
		goto out;
	if ((r = buf_get_u16be(v, &u16)) != 0 ||
	    (r = dcbor_put_array(record, pc->ncols)) != 0)
		goto out;
	for (i = 0; i < pc->ncols; i++) {
		if ((r = buf_get_u32be(v, &u32)) != 0)
			goto out;
		flen = (int32_t)u32;
		at = buf_len(record);
		if (flen == -1)
			r = dcbor_put_null(record);
		else if ((r = buf_get_ptr(v, (size_t)flen, &p)) == 0)
			r = pgtype_to_cbor_view(pc->val, pc->types[i], p,
			    (size_t)flen, record);
		if (r != 0)
			goto out;
		if ((int64_t)i == pc->mark) {
			pc->mark_off = at - base;
			pc->mark_len = buf_len(record) - at;
		}
	}
	r = buf_expect_end(v);
 out:
	return r;
}

int
pgcopy_next_row(struct pgcopy *pc, struct buf *record)
{
	size_t before = buf_len(record), rowlen;
	int r = ERR_INTERNAL;

	if (pc->error != 0)
		return pc->error;
	if (pc->state == PGCOPY_HEADER) {
		if ((r = parse_header(pc)) == NEED_MORE)
			goto need;
		if (r != 0)
			goto out;
		pc->state = PGCOPY_ROWS;
	}
	if (pc->state == PGCOPY_DONE) {
		r = buf_len(pc->in) == 0 ? PGCOPY_END : ERR_TRAILING;
		goto out;
	}
	if ((r = measure_row(pc, &rowlen)) == NEED_MORE)
		goto need;
	if (r == PGCOPY_END) {
		if ((r = buf_consume(pc->in, rowlen)) != 0)
			goto out;
		pc->state = PGCOPY_DONE;
		r = buf_len(pc->in) == 0 ? PGCOPY_END : ERR_TRAILING;
		goto out;
	}
	if (r != 0)
		goto out;
	if ((r = convert_row(pc, rowlen, record)) != 0 ||
	    (r = buf_consume(pc->in, rowlen)) != 0)
		goto out;
	pc->rows++;
	r = 1;
	goto out;
 need:
	/* Full yet incomplete: no amount of further input can help. */
	r = buf_len(pc->in) >= pc->max_row_bytes ? ERR_LIMIT : 0;
 out:
	if (r < 0) {
		pc->error = r;
		if (buf_len(record) > before)
			buf_unput(record, buf_len(record) - before);
	}
	return r;
}

int
pgcopy_finish(struct pgcopy *pc)
{
	if (pc->error != 0)
		return pc->error;
	if (pc->state != PGCOPY_DONE)
		return ERR_TRUNCATED;
	return buf_len(pc->in) == 0 ? 0 : ERR_TRAILING;
}
