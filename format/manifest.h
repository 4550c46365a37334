/*
 * manifest.h: what an archive claims to contain.
 *
 * The same struct describes the preamble (written first, before any row:
 * everything known up front) and the manifest (written last: the preamble
 * embedded byte for byte, plus each table's record count, part count,
 * record bytes and Merkle root). Encodings are canonical CBOR, so the
 * manifest digest (BLAKE2b-256 of its bytes) is reproducible. The manifest
 * holds no row data: it is the receipt kept in audit logs.
 *
 * Decoders read untrusted bytes: they enforce the limits below, require
 * map keys in canonical order, and reject unknown keys and trailing data.
 */
#ifndef TEXP_MANIFEST_H
#define TEXP_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "evidence.h"
#include "rule.h"

#define MANIFEST_VERSION	2
#define MANIFEST_ID_LEN		16
#define MANIFEST_MAX_TABLES	4096
#define MANIFEST_MAX_COLUMNS	1600	/* PostgreSQL's own limit */
#define MANIFEST_MAX_NAME	256	/* table, column and type names */
#define MANIFEST_MAX_TEXT	1024	/* snapshot, scope times */
#define MANIFEST_MAX_BYTES	(16u << 20)
#define MANIFEST_MAX_PART_BYTES	(16u << 20)	/* records part size cap */

struct manifest_column {
	char *name;
	char *type;		/* PostgreSQL type name, e.g. "int8", "_text" */
};

struct manifest_table {
	char *name;		/* "schema.table" */
	int64_t tenant_column;	/* column index, or -1 for a global table */
	size_t ncolumns;
	struct manifest_column *columns;
	/* results: zero in a preamble */
	uint64_t records;
	uint64_t parts;
	uint64_t bytes;		/* sum of the records' CBOR sizes */
	uint8_t root[EVIDENCE_HASH_LEN];
};

struct manifest {
	uint8_t export_id[MANIFEST_ID_LEN];
	uint8_t salt[EVIDENCE_SALT_LEN];
	uint8_t tenant_hash[EVIDENCE_HASH_LEN];
	char *tenant_type;	/* "text", "int8", "int4", "uuid" */
	uint64_t created;	/* unix seconds, UTC */
	uint64_t expires;
	char *snapshot;		/* where the rows were read, e.g. system id, LSN */
	char *since;		/* scope: date window, or NULL */
	char *until;
	int include_global;
	int compression;	/* 0 none, 1 zstd */
	uint64_t part_bytes;	/* records part size the writer used */
	/* Files (FORMAT.md §4.5): the preamble's optional "files" key. When
	 * has_files, files_table is a tenant table whose column files_path
	 * (text or character varying) holds each row's file path. */
	int has_files;
	uint64_t files_table;
	uint64_t files_path;
	size_t ntables;
	struct manifest_table *tables;
};

/* Returns a new zeroed manifest, or NULL. */
struct manifest *manifest_new(void);
/* Frees m and every string it owns. Accepts NULL. */
void manifest_free(struct manifest *m);
/* Appends a table (copies name); columns are added with
 * manifest_add_column. Returns its index in *idx. */
int manifest_add_table(struct manifest *m, const char *name,
    int64_t tenant_column, size_t *idx);
int manifest_add_column(struct manifest *m, size_t table, const char *name,
    const char *type);
/* Replaces *dst with a copy of s (NULL allowed). */
int manifest_set_str(char **dst, const char *s);

/* Appends the canonical CBOR preamble of m to out. */
int manifest_encode_preamble(const struct manifest *m, struct buf *out);
/* Appends the canonical CBOR manifest: the preamble bytes given (which
 * must be what manifest_encode_preamble produced) and m's results. */
int manifest_encode(const struct manifest *m, const uint8_t *preamble,
    size_t preamble_len, struct buf *out);

/* Decodes a preamble; *out is a new manifest without results. Consumes all
 * of in; ERR_MANIFEST/ERR_CBOR/ERR_LIMIT/ERR_TRAILING on bad input. */
int manifest_decode_preamble(struct buf *in, struct manifest **out);
/* Decodes a full manifest. The embedded preamble's bytes are returned
 * through pre and pre_len (pointing into in's storage). */
int manifest_decode(struct buf *in, struct manifest **out,
    const uint8_t **pre, size_t *pre_len);

/*
 * The preamble's rules beyond its encoding (FORMAT.md §4.2): table names
 * unique, column names unique per table, no empty name, a known tenant
 * type that every tenant column's declared type agrees with, no global
 * table unless global tables were requested, part_bytes within
 * 1..MANIFEST_MAX_PART_BYTES, created representable as a tar mtime.
 * Returns 0, or ERR_MANIFEST with *rule (RULE_PREAMBLE or
 * RULE_GLOBAL_FLAG) and a sentence in why naming what is wrong.
 */
int manifest_check(const struct manifest *m, enum rule *rule, char *why,
    size_t whylen);

/* 1 if table t is the files table of m. */
int manifest_is_files_table(const struct manifest *m, size_t t);

/* BLAKE2b-256 of p[0..len). */
void manifest_digest(const uint8_t *p, size_t len,
    uint8_t out[EVIDENCE_HASH_LEN]);

#endif
