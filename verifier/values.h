/*
 * values.h: one record's CBOR values -> JSON text or CSV fields, for
 * `tenant-verify extract`.
 *
 * The input is the archive's data model (exporter/pgtype.h). Each value
 * becomes:
 *
 * | CBOR item                     | JSON                  | CSV field          |
 * |-------------------------------|-----------------------|--------------------|
 * | integer                       | integer               | decimal            |
 * | float                         | real, shortest text   | shortest text      |
 * |                               | that reads back the   | (no forced ".0")   |
 * |                               | same double, always   |                    |
 * |                               | with "." or exponent  |                    |
 * | NaN, +Infinity, -Infinity     | "NaN", "Infinity",    | NaN, Infinity,     |
 * |                               | "-Infinity" (strings) | -Infinity          |
 * | text (numeric, json, times..) | string                | the text           |
 * | bytes                         | "\\x" + lowercase hex | \x + lowercase hex |
 * |                               | (PostgreSQL's bytea)  |                    |
 * | tag 37 + 16 bytes (uuid)      | "8-4-4-4-12" lowercase| same               |
 * | tag 0 / tag 1004 + text       | the string            | the text           |
 * | null                          | null                  | empty, unquoted    |
 * | false / true                  | false / true          | false / true       |
 * | array                         | array (nested)        | its JSON text      |
 *
 * CSV follows RFC 4180: a field is quoted when it holds a comma, a double
 * quote, CR or LF, and quotes inside are doubled; the empty string is
 * written as "" so that it differs from NULL (an empty unquoted field).
 * Rows end with CRLF.
 *
 * Anything else (maps, other tags, a uuid tag on something other than 16
 * bytes, nesting deeper than BUNDLE_MAX_DEPTH) is refused: ERR_UNSUPPORTED
 * for a well-formed item outside the data model, ERR_FORMAT for a known tag
 * on the wrong content, ERR_LIMIT for depth, or the decoder's own error
 * (ERR_CBOR, ERR_TRUNCATED).
 *
 * All functions return 0 or a negative enum err code. On error the output
 * buffer is left as it was; the input buffer's position is unspecified.
 */
#ifndef TEXP_VALUES_H
#define TEXP_VALUES_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct manifest_table;

/* Reads one CBOR item from in and appends its JSON text to out. */
int values_json_item(struct buf *in, struct buf *out);
/* Reads one CBOR item from in and appends it as one CSV field to out
 * (quoted when needed, no separator). */
int values_csv_item(struct buf *in, struct buf *out);

/* Appends p[0..len) (valid UTF-8, else ERR_FORMAT) as a quoted, escaped
 * JSON string. */
int values_json_string(const uint8_t *p, size_t len, struct buf *out);
/* Appends p[0..len) as one CSV field, quoted when it needs to be; an empty
 * string becomes "". */
int values_csv_string(const uint8_t *p, size_t len, struct buf *out);

/* Appends the record rec[0..len) (a CBOR array with exactly one item per
 * column of t, nothing after it) as one JSON object, keys = column names
 * in column order, and a LF. ERR_FORMAT if the column count differs,
 * ERR_TRAILING for bytes after the array. */
int values_record_jsonl(const struct manifest_table *t, const uint8_t *rec,
    size_t len, struct buf *out);
/* The same as one CSV row ending in CRLF. */
int values_record_csv(const struct manifest_table *t, const uint8_t *rec,
    size_t len, struct buf *out);
/* Appends the CSV header row (column names) ending in CRLF. */
int values_csv_header(const struct manifest_table *t, struct buf *out);

#endif
