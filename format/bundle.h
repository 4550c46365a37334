/*
 * bundle.h: the plaintext inside the encryption, a tar stream of CBOR.
 *
 * Entries, in this order and no other (docs/FORMAT.md §3):
 *   texp/preamble.cbor                      manifest fields known up front
 *   texp/t/TTTT/records-PPPPPP.cbor         CBOR sequence of records
 *   texp/t/TTTT/evidence-PPPPPP.cbor        [tenant hash|null, content hash]
 *   ...                                     per table, parts from 1
 *   texp/manifest.cbor                      preamble + counts + Merkle roots
 * With files (§3.4), a part of the files table is its records entry, then
 *   texp/f/TTTT/PPPPPP/RRRRR/CCCCCC        chunk C of the file of row R
 * for each of its rows with a path, then its evidence entry, whose items
 * carry each file's size and BLAKE2b-256.
 * A record is one CBOR array with one item per column, each item of a form
 * its column's type allows (coltype.h). Every entry is bounded, so memory
 * stays constant whatever the archive size.
 *
 * The tar headers are the one form of tar.h; the whole stream is either
 * plain or exactly one zstd frame (libzstd, in process). Reader and
 * writer agree byte for byte: the reader accepts a plaintext only if the
 * writer, given the preamble and records read from it, writes that
 * plaintext again (fuzz/fuzz_plaintext.c checks this).
 */
#ifndef TEXP_BUNDLE_H
#define TEXP_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "manifest.h"
#include "rule.h"

#define BUNDLE_PART_BYTES	(4u << 20)	/* default records part size */
#define BUNDLE_MAX_PART_BYTES	MANIFEST_MAX_PART_BYTES /* reader's cap */
#define BUNDLE_MAX_PART_RECORDS	65536
#define BUNDLE_MAX_DEPTH	16		/* nesting inside a record */
#define BUNDLE_ZSTD_LEVEL	3
#define BUNDLE_ZSTD_WINDOW_LOG_MAX 24		/* 16 MiB: reader's cap */
/* An evidence item: [bstr 32, bstr 32] or [null, bstr 32]. */
#define BUNDLE_EVIDENCE_ITEM	69
#define BUNDLE_EVIDENCE_ITEM_GLOBAL 36
/* Files: bytes per file entry (a larger file is cut into chunks of exactly
 * this size and a last one), chunks per file, and the largest evidence
 * item of the files table: [bstr 32, bstr 32, [uint64, bstr 32]]. */
#define BUNDLE_FILE_CHUNK	(16u << 20)
#define BUNDLE_MAX_FILE_CHUNKS	999999
#define BUNDLE_EVIDENCE_ITEM_FILE_MAX 113

/* Output and input callbacks: 0 or a negative err. *got == 0 means EOF. */
typedef int (*bundle_write_fn)(void *ctx, const uint8_t *p, size_t n);
typedef int (*bundle_read_fn)(void *ctx, uint8_t *p, size_t cap, size_t *got);

struct bundle_writer;

/*
 * Starts a bundle described by m (preamble fields and tables set; results
 * are filled in by bundle_writer_finish). m must outlive the writer.
 * part_bytes 0 means BUNDLE_PART_BYTES. Sets m->compression and
 * m->part_bytes, then writes the preamble entry. ERR_MANIFEST (with
 * nothing written) if m breaks a rule of manifest_check.
 */
int bundle_writer_new(struct manifest *m, int zstd, size_t part_bytes,
    bundle_write_fn wr, void *ctx, struct bundle_writer **out);
/*
 * Where the files of the files table's rows come from (the builder: files
 * opened beneath the tenant's directory). The writer calls open for each
 * row whose path column is a text string, when the row's part is written,
 * then read until it has size bytes, then close.
 */
struct bundle_file_source {
	void *ctx;
	/* row: the row's number in its table (from 0), for messages; path:
	 * the path column's bytes (not NUL-terminated). Sets *size. 0 or a
	 * negative err (the export fails). */
	int (*open)(void *ctx, uint64_t row, const uint8_t *path,
	    size_t len, uint64_t *size);
	/* Up to cap bytes of the open file; *got 0 at its end. */
	int (*read)(void *ctx, uint8_t *p, size_t cap, size_t *got);
	/* Closes the file; ok says whether exactly size bytes were read.
	 * 0 if the file was read whole and unchanged, else a negative err. */
	int (*close)(void *ctx, int ok);
};

/*
 * Gives the writer its file source; needed before the first record of the
 * files table when m->has_files (else that record fails with
 * ERR_INVALID). src must outlive the writer.
 */
void bundle_writer_set_files(struct bundle_writer *w,
    const struct bundle_file_source *src);

/*
 * Adds one record (a canonical CBOR array with one item per column, each
 * of a form its column's type allows) to table t. Tables are filled in
 * order: t may not go back. Computes the record's tenant and content
 * hashes from its bytes. ERR_CBOR, ERR_TAG or ERR_TYPE for a record the
 * reader would refuse (nothing is written then).
 */
int bundle_writer_add(struct bundle_writer *w, size_t t,
    const uint8_t *rec, size_t len);
/*
 * The same for a record from an encoder that writes only records the
 * reader accepts (the builder's COPY decoder): no second scan. The caller
 * says where the tenant column's value is, rec[toff..toff+tlen), ignored
 * for a global table. A record that breaks the rules anyway is not caught
 * here but by the reader (the exporter's checker proves every archive
 * before it is published).
 */
int bundle_writer_add_encoded(struct bundle_writer *w, size_t t,
    const uint8_t *rec, size_t len, size_t toff, size_t tlen);
/*
 * Closes table t (its last part written: for the files table, its files
 * read) when it is the current one; later records go to later tables.
 * Lets the caller tell a failure of t's files from one of the next
 * table's rows. 0 or the error of writing the part.
 */
int bundle_writer_end_table(struct bundle_writer *w, size_t t);
/* Flushes the last parts, fills m's results, writes the manifest entry and
 * ends the tar stream. A copy of the manifest bytes is appended to
 * manifest_out when it is not NULL. */
int bundle_writer_finish(struct bundle_writer *w, struct buf *manifest_out);
void bundle_writer_free(struct bundle_writer *w);

/*
 * Reading. bundle_read walks a bundle, enforces the layout and recomputes
 * every per-record hash, count and Merkle root. Each problem goes to
 * on_failure (return nonzero from it to stop early); structural damage
 * that makes further reading meaningless stops the walk. Callbacks may be
 * NULL. The manifest pointers passed are valid only during the call.
 */
struct bundle_visitor {
	void *ctx;
	/* after the preamble decoded */
	int (*on_preamble)(void *ctx, const struct manifest *pre);
	/* each record; tval/tlen: the tenant column's encoded value (NULL for
	 * global tables) */
	int (*on_record)(void *ctx, const struct manifest *pre, size_t table,
	    uint64_t index, const uint8_t *rec, size_t len,
	    const uint8_t *tval, size_t tlen);
	/* files (§3.4): a file of the files table's row `index` (its path:
	 * the path column's text) begins; its data follow in order; it
	 * ends. The data are not yet proven when they arrive: the evidence
	 * after them says whether the file is the one bound to the row. */
	int (*on_file_begin)(void *ctx, size_t table, uint64_t index,
	    const uint8_t *path, size_t len);
	int (*on_file_data)(void *ctx, const uint8_t *p, size_t n);
	int (*on_file_end)(void *ctx);
	/* after the manifest decoded and matched the preamble */
	int (*on_manifest)(void *ctx, const struct manifest *m,
	    const uint8_t *bytes, size_t len);
	/* a verification failure: the rule broken (rule.h), the enum err
	 * code, a sentence (no "§N: " prefix); return 0 to go on, nonzero
	 * to stop */
	int (*on_failure)(void *ctx, enum rule rule, int code, const char *msg);
	/* nonzero: the walk may build the Merkle trees in a second thread
	 * (merkleq.h); callbacks still run on the caller's thread only */
	int threads;
};

/*
 * Returns 0 when the walk reached the end (failures, if any, were
 * reported), or a negative err when it had to stop: the error is also
 * reported through on_failure first. ERR_INTERRUPTED when a callback asked
 * to stop.
 */
int bundle_read(bundle_read_fn rd, void *rctx, const struct bundle_visitor *v);

#endif
