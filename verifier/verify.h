/*
 * verify.h: the proof that an archive holds exactly one tenant's data,
 * unaltered and complete. tenant-verify runs it for recipients and
 * auditors; tenant-export's checker runs the same code before anything is
 * signed.
 *
 * The proof, in one pass over the ciphertext:
 *   - the age header parses and one identity (or the known file key)
 *     unwraps it; every payload chunk authenticates, to the final one;
 *   - the bundle has exactly the expected entries in order; every
 *     record's tenant hash and content hash recompute; counts and Merkle
 *     roots match the manifest, which embeds the preamble byte for byte;
 *   - the archive's tenant hash is that of the expected tenant, and every
 *     record of a tenant-owned table carries exactly that tenant key;
 *   - the minisign signature verifies with the pinned signer key whose
 *     key id it names (one of several, across a key rotation), and its
 *     signed claims (export id, tenant hash, created, expires, manifest
 *     digest, part count) agree with the content;
 *   - for a split archive, every part listed in the signed index is
 *     present, in order, with its size and hash, and no other part exists.
 * It keeps going after a failure and reports every one, unless asked to
 * stop at the first.
 */
#ifndef TEXP_VERIFY_H
#define TEXP_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "age.h"
#include "foreign.h"
#include "manifest.h"
#include "rule.h"
#include "seal.h"

struct minisig_pubkey;
struct tokscan;

/* Receives the records of a proven-so-far archive (extraction). */
struct verify_sink {
	void *ctx;
	int (*begin)(void *ctx, const struct manifest *pre);
	int (*record)(void *ctx, const struct manifest *pre, size_t table,
	    const uint8_t *rec, size_t len);
	int (*end)(void *ctx, const uint8_t *manifest, size_t len);
	/* files (FORMAT.md §3.4), optional: a file of the files table's
	 * row begins (path: the row's path column), its data, its end */
	int (*file_begin)(void *ctx, const uint8_t *path, size_t len);
	int (*file_data)(void *ctx, const uint8_t *p, size_t n);
	int (*file_end)(void *ctx);
};

struct verify_opts {
	struct age_identity *const *ids;	/* identities to try */
	size_t nids;
	const uint8_t *file_key;	/* or a known file key (the checker) */
	/* the pinned signer keys, told apart by key id; none: no signature
	 * check (the exporter's checker) */
	const struct minisig_pubkey *const *signers;
	size_t nsigners;
	const char *tenant;		/* expected tenant key, as text */
	const struct foreign_list *foreign; /* auditor: ids to hunt for */
	enum foreign_mode foreign_mode;
	int strict_expiry;		/* expired: failure, not warning */
	int content_only;		/* the signed comment and the content,
					 * not the ciphertext's hash
					 * (seal_reader_content_only) */
	int exit_on_error;		/* stop at the first failure */
	uint64_t now;			/* unix time for the expiry check */
	const struct verify_sink *sink;	/* optional */
	/* The leak test: identifiers to look for in every value (tokscan.h)
	 * and count, per table, column and identifier. Counted, never a
	 * failure: the caller judges. Integer values are not scanned. */
	const struct tokscan *watch;
};

#define VERIFY_MAX_STORED 1000	/* findings kept; the rest are counted */
#define VERIFY_MAX_HITS	4096	/* distinct (table, column, id) kept */

/* Where a watched identifier occurred: records of one table whose value
 * in one column holds it. */
struct verify_hit {
	size_t table;		/* index into the manifest's tables */
	size_t column;
	size_t which;		/* the identifier's index (tokscan_new) */
	uint64_t records;	/* records with it there */
	uint64_t first;		/* the first such record's index */
	uint64_t last;		/* (the last one, to count each once) */
};

struct verify_finding {
	enum rule rule;		/* the rule broken (rule.h) */
	int code;		/* enum err */
	int warning;		/* 1: warning, 0: failure */
	char msg[512];		/* "§N: sentence" for a format rule */
};

struct verify_result {
	size_t nfailures;
	size_t nwarnings;
	size_t nstored;
	struct verify_finding *findings;
	int signature_ok;	/* signature verified with the pinned key
				 * (its trusted comment only, content_only) */
	int content_only;	/* verified with verify_opts.content_only */
	int content_ok;		/* decrypted and walked to the end cleanly */
	int have_manifest;
	struct seal_claims claims;	/* valid when signature_ok */
	struct seal_signer signer;	/* which pinned key it names */
	uint8_t manifest_digest[EVIDENCE_HASH_LEN];
	struct manifest *manifest;	/* decoded manifest, or NULL */
	uint8_t *receipt;		/* manifest bytes (the receipt) */
	size_t receipt_len;
	uint64_t records;		/* total records read */
	uint64_t files;			/* files read (FORMAT.md §3.4) */
	uint64_t file_bytes;
	uint64_t foreign_hits;
	uint64_t tenant_mismatches;	/* records of another tenant */
	struct verify_hit *hits;	/* watch mode: nhits of them */
	size_t nhits;
	uint64_t hits_dropped;		/* occurrences past VERIFY_MAX_HITS */
	uint64_t size;			/* ciphertext bytes */
	size_t parts;			/* 0 single file */
	/* Without an expected tenant (inspect): the tenant key of the first
	 * record of a tenant table, as JSON text (a uuid or text as a
	 * string, an integer as a number), or NULL; and whether it is the
	 * tenant the preamble's tenant hash names. Not a proof: verify
	 * --tenant with it is. */
	char *tenant_seen;
	int tenant_seen_ok;
};

/*
 * Verifies the archive at path (NAME.texp or NAME.texp.index). Returns 0
 * when the verification ran to its end: *out then says whether it proved
 * (nfailures == 0). Returns a negative err, with a sentence in why, when it
 * could not run (archive missing or unreadable): an operational error.
 * The caller frees *out with verify_result_free.
 */
int verify_archive(const char *path, const struct verify_opts *o,
    struct verify_result **out, char *why, size_t whylen);

/*
 * The same proof over an unsigned ciphertext stream (the exporter's
 * checker): no signature, o->nsigners must be 0.
 */
int verify_stream(int (*rd)(void *, uint8_t *, size_t, size_t *), void *ctx,
    const struct verify_opts *o, struct verify_result **out);

/* Encodes tenant (text) as the canonical CBOR value of a tenant key of the
 * given tenant type (FORMAT.md §5): uuid, 8-4-4-4-12 hex digits of either
 * case, as tag 37 on the 16 bytes; int2, int4, int8, an optional '-' and
 * decimal digits without leading zeros, within the type's range, as a
 * CBOR integer; text and varchar, the bytes as given (valid UTF-8, at most
 * 256 bytes), as a text string. ERR_INVALID if it does not parse as that
 * type, ERR_UNSUPPORTED for a type that cannot be a tenant key. */
int verify_tenant_value(const char *type, const char *tenant,
    struct buf *out);

void verify_result_free(struct verify_result *r);

#endif
