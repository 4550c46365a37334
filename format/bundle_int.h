/*
 * bundle_int.h: what the bundle writer (bundle.c) and reader
 * (bundle_read.c) share. Not a public interface.
 */
#ifndef TEXP_BUNDLE_INT_H
#define TEXP_BUNDLE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "coltype.h"
#include "manifest.h"

struct buf;

#define PREAMBLE_NAME	"texp/preamble.cbor"
#define MANIFEST_NAME	"texp/manifest.cbor"
#define MAX_TABLE_INDEX	9999
#define MAX_PART_INDEX	999999
#define EVIDENCE_MAX	(BUNDLE_MAX_PART_RECORDS * BUNDLE_EVIDENCE_ITEM)
#define EVIDENCE_FILES_MAX (BUNDLE_MAX_PART_RECORDS * \
	BUNDLE_EVIDENCE_ITEM_FILE_MAX)

/* A record that breaks a rule but whose bytes are whole. */
struct record_fault {
	int code;		/* ERR_TAG or ERR_TYPE; 0: none */
	size_t column;		/* the first column at fault */
};

/*
 * Consumes one record from the view b (one array of exactly ncolumns
 * items, each of its column's form), pointing rec and len at it and tval
 * and tlen at the tenant column's encoded value (NULL when tcol < 0). A
 * value of the wrong form or tag is consumed and noted in *fault (the
 * first one); the return is then still 0. ERR_CBOR / ERR_TRUNCATED /
 * ERR_LIMIT for bytes that are not one whole record (b's position is then
 * lost), ERR_FORMAT for a well-formed item that is not an array of
 * ncolumns items.
 */
int bundle_record_next(struct buf *b, size_t ncolumns,
    const struct coltype *types, int64_t tcol, const uint8_t **rec,
    size_t *len, const uint8_t **tval, size_t *tlen,
    struct record_fault *fault);

/* The column types of table t into *types (grown as needed; *cap is its
 * size). 0 or ERR_NOMEM. */
int bundle_types_for(const struct manifest_table *t, struct coltype **types,
    size_t *cap);

/* "texp/f/TTTT/PPPPPP/RRRRR/CCCCCC" into out. */
void bundle_file_name(char *out, size_t len, size_t t, uint64_t p,
    uint64_t row, uint64_t chunk);

/*
 * The item of column col of the whole record rec[0..len) (a canonical
 * array, as bundle_record_next accepted it): *path and *plen point at a
 * text string's bytes, or *path is NULL for null. ERR_TYPE for any other
 * item, ERR_CBOR for bytes that are not such a record. view is scratch.
 */
int bundle_record_path(struct buf *view, const uint8_t *rec, size_t len,
    uint64_t col, const uint8_t **path, size_t *plen);

/* "texp/t/TTTT/KIND-PPPPPP.cbor" into out. */
void bundle_part_name(char *out, size_t len, const char *kind, size_t t,
    uint64_t p);

#endif
