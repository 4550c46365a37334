/*
 * pgtype.h: one PostgreSQL binary value (COPY/send format) -> one
 * deterministic CBOR data item. This table is the archive's data model
 * (copy it into docs/FORMAT.md).
 *
 * | PostgreSQL type (OID)        | CBOR                                      |
 * |------------------------------|-------------------------------------------|
 * | NULL (any type)              | null (f6)                                 |
 * | bool (16)                    | false / true                              |
 * | int2 (21), int4 (23),        | integer (major type 0 or 1)               |
 * | int8 (20), oid (26)          |                                           |
 * | float4 (700), float8 (701)   | float, shortest exact width; every NaN    |
 * |                              | is f9 7e 00; +-Infinity are half floats   |
 * | numeric (1700)               | text: PostgreSQL's own text output,       |
 * |                              | e.g. "123.4500", "-0.001", "0", "NaN",    |
 * |                              | "Infinity", "-Infinity" (dscale kept)     |
 * | text (25), varchar (1043),   | text string (the value's bytes; the       |
 * | bpchar (1042, padding kept), | session must use client_encoding UTF8)    |
 * | name (19), json (114)        |                                           |
 * | jsonb (3802)                 | text string: PostgreSQL's jsonb text      |
 * |                              | (binary format version 1 only)            |
 * | bytea (17)                   | byte string                               |
 * | uuid (2950)                  | tag 37 + 16-byte byte string              |
 * | date (1082), years 1..9999   | tag 1004 + "YYYY-MM-DD"                   |
 * | date, otherwise              | text: "infinity", "-infinity",            |
 * |                              | "0044-03-15 BC", "10000-01-01"            |
 * | timestamptz (1184),          | tag 0 + "YYYY-MM-DDTHH:MM:SS[.f]Z"        |
 * |   years 1..9999              | (always UTC)                              |
 * | timestamptz, otherwise       | text as PostgreSQL prints it with         |
 * |                              | DateStyle ISO, TimeZone UTC:              |
 * |                              | "0044-03-15 12:00:00+00 BC", "infinity"   |
 * | timestamp (1114),            | text "YYYY-MM-DDTHH:MM:SS[.f]" (no tag:   |
 * |   years 1..9999              | it has no offset)                         |
 * | timestamp, otherwise         | text: "0044-03-15 12:00:00 BC",           |
 * |                              | "infinity", "-infinity"                   |
 * | array of any type above,     | nested arrays, one level per dimension    |
 * | any number of dimensions     | ({{1,2},{3,4}} -> [[1,2],[3,4]]); NULL    |
 * | (at most 6)                  | elements -> null; empty array -> []       |
 * | any other type               | not decoded here: the exporter selects    |
 * |                              | it as col::text (-> text string)          |
 *
 * Fractional seconds [.f] are written only when non-zero, with 1 to 6
 * digits and trailing zeros removed, exactly as PostgreSQL prints them
 * ("12:00:00.5", never "12:00:00.500000"). Years are at least 4 digits.
 * Dates and timestamps use the proleptic Gregorian calendar like
 * PostgreSQL.
 *
 * Arrays are rejected (ERR_FORMAT) when a lower bound is not 1, the
 * element type in the value differs from the column's declared element
 * type, a dimension is zero or negative, there are more than 6 dimensions,
 * the flags are not 0/1, or a NULL element appears with flags 0.
 * Numerics are normalised the way PostgreSQL's numeric_recv does (leading
 * and trailing zero digits dropped, zero is positive) before printing, so
 * one value has one text.
 */
#ifndef TEXP_PGTYPE_H
#define TEXP_PGTYPE_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Type OIDs from PostgreSQL's catalog (pg_type.dat), stable across
 * versions. */
#define PGTYPE_BOOL		16
#define PGTYPE_BYTEA		17
#define PGTYPE_NAME		19
#define PGTYPE_INT8		20
#define PGTYPE_INT2		21
#define PGTYPE_INT4		23
#define PGTYPE_TEXT		25
#define PGTYPE_OID		26
#define PGTYPE_JSON		114
#define PGTYPE_FLOAT4		700
#define PGTYPE_FLOAT8		701
#define PGTYPE_BPCHAR		1042
#define PGTYPE_VARCHAR		1043
#define PGTYPE_DATE		1082
#define PGTYPE_TIMESTAMP	1114
#define PGTYPE_TIMESTAMPTZ	1184
#define PGTYPE_NUMERIC		1700
#define PGTYPE_UUID		2950
#define PGTYPE_JSONB		3802
/* their array types */
#define PGTYPE_JSON_ARRAY	199
#define PGTYPE_BOOL_ARRAY	1000
#define PGTYPE_BYTEA_ARRAY	1001
#define PGTYPE_NAME_ARRAY	1003
#define PGTYPE_INT2_ARRAY	1005
#define PGTYPE_INT4_ARRAY	1007
#define PGTYPE_TEXT_ARRAY	1009
#define PGTYPE_BPCHAR_ARRAY	1014
#define PGTYPE_VARCHAR_ARRAY	1015
#define PGTYPE_INT8_ARRAY	1016
#define PGTYPE_FLOAT4_ARRAY	1021
#define PGTYPE_FLOAT8_ARRAY	1022
#define PGTYPE_OID_ARRAY	1028
#define PGTYPE_TIMESTAMP_ARRAY	1115
#define PGTYPE_DATE_ARRAY	1182
#define PGTYPE_TIMESTAMPTZ_ARRAY 1185
#define PGTYPE_NUMERIC_ARRAY	1231
#define PGTYPE_UUID_ARRAY	2951
#define PGTYPE_JSONB_ARRAY	3807

/* Most dimensions an array may have (PostgreSQL's MAXDIM). */
#define PGTYPE_MAX_DIMS		6

/* 1 if values of type oid (a scalar above or an array of one) can be
 * decoded from binary; 0 if the caller must select the column as ::text. */
int pgtype_supported(uint32_t oid);

/* The element type of a supported array type, or 0 if oid is not one. */
uint32_t pgtype_array_elem(uint32_t oid);

/*
 * Appends the CBOR item for the non-NULL binary value p[0..len) of type oid
 * to out (a NULL value is simply dcbor_put_null). The whole of p[0..len)
 * must be consumed by the value (ERR_TRAILING otherwise).
 * Returns 0; ERR_UNSUPPORTED for an unsupported oid; ERR_FORMAT for a
 * malformed or out-of-range value (including text that is not UTF-8);
 * ERR_TRUNCATED if the value is shorter than its type needs; ERR_LIMIT
 * when out is full. On error out is left as it was.
 */
/* The same with a caller-owned read-only view (buf_from) that it reuses,
 * so that converting a value allocates nothing. */
int pgtype_to_cbor_view(struct buf *view, uint32_t oid, const uint8_t *p,
    size_t len, struct buf *out);
int pgtype_to_cbor(uint32_t oid, const uint8_t *p, size_t len,
    struct buf *out);

#endif
