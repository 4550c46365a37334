/*
 * pgcopy.h: streaming decoder of PostgreSQL's binary COPY format
 * (COPY ... TO STDOUT (FORMAT binary)) into one deterministic CBOR array per
 * row. It runs in the sandboxed builder on bytes chosen by whoever controls
 * row content, so it is bounded: at most max_row_bytes of input is held,
 * and every length is checked before use.
 *
 * Stream layout: the 11-byte signature "PGCOPY\n\377\r\n\0", a 32-bit flags
 * word (must be 0: no OIDs, no unknown critical bits), a 32-bit header
 * extension length and that many bytes (skipped), then tuples: a 16-bit
 * field count followed by, per field, a 32-bit length (-1 for NULL) and the
 * value's bytes in its type's binary send format; finally the trailer, a
 * field count of -1. All integers are big-endian.
 *
 * Each row becomes a CBOR array of ncols items, column i converted by
 * pgtype_to_cbor with cols[i].type_oid (NULL -> null). See pgtype.h for the
 * value mapping.
 *
 * Usage: feed what PQgetCopyData returns, then call pgcopy_next_row until
 * it returns 0 (more input needed), and feed again. Chunks may split or
 * join rows anywhere. After PQgetCopyData reports the end, call
 * pgcopy_next_row until PGCOPY_END, then pgcopy_finish.
 *
 * Errors are sticky: after a negative return every later call returns the
 * same error.
 */
#ifndef TEXP_PGCOPY_H
#define TEXP_PGCOPY_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct pgcopy;

struct pgcopy_column {
	uint32_t type_oid;	/* must satisfy pgtype_supported() */
};

/* pgcopy_next_row returned the trailer. */
#define PGCOPY_END	2

/* Most columns a COPY row may have (PostgreSQL's MaxTupleAttributeNumber
 * is 1664; the field count on the wire is 16-bit). */
#define PGCOPY_MAX_COLUMNS	1664

/*
 * New decoder for rows of ncols columns (1..PGCOPY_MAX_COLUMNS) of the
 * given types (copied). max_row_bytes caps the unparsed input held at any
 * time: it must exceed the largest row (2 + 4 per field + values) plus one
 * fed chunk's worth of the next row. NULL on a bad argument (unsupported
 * type, ncols out of range, max_row_bytes < 64) or ENOMEM. Free with
 * pgcopy_free.
 */
struct pgcopy *pgcopy_new(const struct pgcopy_column *cols, size_t ncols,
    size_t max_row_bytes);

/* Appends input (copied). ERR_LIMIT when the unparsed input would exceed
 * max_row_bytes; ERR_TRAILING for data fed after pgcopy_next_row returned
 * PGCOPY_END. Both are sticky like every other error. */
int pgcopy_feed(struct pgcopy *pc, const uint8_t *p, size_t n);

/*
 * Converts the next complete row into one CBOR array appended to record.
 * Returns 1 when a row was appended; 0 when more input is needed (record
 * unchanged); PGCOPY_END once the trailer has been read (and on every call
 * after it); or a negative error, with record unchanged:
 *   ERR_FORMAT    bad signature, flags, field count, field length, or a
 *                 malformed value (see pgtype_to_cbor),
 *   ERR_LIMIT     a row or header that cannot fit in max_row_bytes, or
 *                 record is full,
 *   ERR_TRAILING  bytes after the trailer,
 *   ERR_TRUNCATED a value shorter than its type needs.
 */
int pgcopy_next_row(struct pgcopy *pc, struct buf *record);

/*
 * Asks pgcopy_next_row to note where column col's CBOR item lies in each
 * row it appends (col -1, the default: none). pgcopy_mark then gives its
 * offset from the start of the row's array and its length, so that the
 * caller need not scan the row again to find it.
 */
void pgcopy_set_mark(struct pgcopy *pc, int64_t col);
void pgcopy_mark(const struct pgcopy *pc, size_t *off, size_t *len);

/* Number of rows produced so far. */
uint64_t pgcopy_rows(const struct pgcopy *pc);

/* Call at the end of input: 0 if the trailer was read and nothing
 * followed; ERR_TRUNCATED if the stream stopped early (a complete row still
 * buffered counts as early: drain pgcopy_next_row first); the sticky error
 * if there was one; ERR_TRAILING for data after the trailer. */
int pgcopy_finish(struct pgcopy *pc);

/* Frees pc. Accepts NULL. */
void pgcopy_free(struct pgcopy *pc);

#endif
