/*
 * seal.h: the archive on disk: one encrypted file or a set of parts, and
 * the minisign-compatible signature that binds them.
 *
 *   single file   NAME.texp + NAME.texp.minisig (signature over the file)
 *   split         NAME.texp.001, NAME.texp.002, ... + NAME.texp.index
 *                 (lists every part: name, size, BLAKE2b-512) +
 *                 NAME.texp.index.minisig (signature over the index)
 *
 * The concatenation of the parts is the age file. The signature's trusted
 * comment carries the claims below, so the signer vouches for the tenant,
 * the export id, the expiry and the manifest digest, not just for bytes.
 * Stock `minisign -V` verifies NAME.texp (or NAME.texp.index).
 */
#ifndef TEXP_SEAL_H
#define TEXP_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "evidence.h"
#include "manifest.h"
#include "minisig.h"
#include "rule.h"

struct minisig_seckey;
struct minisig_pubkey;

#define SEAL_MAX_PARTS		9999
#define SEAL_MAX_INDEX		(1u << 20)
#define SEAL_MAX_SIGFILE	4096
#define SEAL_COMMENT_MAX	512
#define SEAL_CLAIMS_VERSION	2
#define SEAL_MAX_PROBLEMS	16

struct seal_claims {
	uint8_t export_id[MANIFEST_ID_LEN];
	uint8_t tenant_hash[EVIDENCE_HASH_LEN];
	uint64_t created;
	uint64_t expires;
	uint8_t manifest_digest[EVIDENCE_HASH_LEN];
	uint64_t parts;		/* 0 for a single file, else 2 or more */
	uint64_t part_size;	/* N: every part but the last (0: single) */
};

/* Formats claims as the trusted comment:
 * "texp v2 export=HEX tenant=HEX created=N expires=N manifest=HEX parts=N
 * part_size=N" */
int seal_claims_format(const struct seal_claims *c, char *out, size_t len);
/* Parses exactly that form (parts 0 with part_size 0, or parts 2..
 * SEAL_MAX_PARTS with part_size > 0); ERR_SIG_COMMENT otherwise. */
int seal_claims_parse(const char *s, struct seal_claims *c);

/*
 * Writing, in a directory the caller opened (the outbox). Bytes go to
 * hidden temporary files (".NAME.tmp-XXXX", mode 0600, O_EXCL); nothing
 * carries the final name until seal_writer_publish, so an interrupted
 * export never leaves anything that looks complete.
 */
struct seal_writer;

/* part_max 0: one file; otherwise parts of at most part_max bytes. The
 * writer keeps dirfd (it does not close it). base is "NAME.texp", a plain
 * file name. */
int seal_writer_new(int dirfd, const char *base, uint64_t part_max,
    struct seal_writer **out);
int seal_writer_write(struct seal_writer *w, const uint8_t *p, size_t n);
/* Flushes and fsyncs every part; after it no more writes. */
int seal_writer_close(struct seal_writer *w);
/* Opens a new read-only descriptor onto part i (0-based) of the closed
 * writer, for the checker. *nparts tells how many exist. */
int seal_writer_open_part(struct seal_writer *w, size_t i, int *fd);
size_t seal_writer_nparts(const struct seal_writer *w);
/* Signs (claims->parts and part_size are filled in), writes the
 * signature and index,
 * fsyncs, then renames everything to its final name, signature last, and
 * fsyncs the directory. ERR_EXISTS if a final name is taken. */
int seal_writer_publish(struct seal_writer *w, const struct minisig_seckey *sk,
    struct seal_claims *claims);
/* Removes every temporary file not yet published, and frees. Accepts NULL. */
void seal_writer_free(struct seal_writer *w);

/*
 * Reading. seal_reader_open finds the archive from a path (NAME.texp or
 * NAME.texp.index; a missing NAME.texp with an index beside it works too),
 * reads the signature file, and for a split archive reads the index and
 * checks that no part is missing or extra on disk. seal_reader_read
 * streams the ciphertext across parts, hashing as it goes; each part's
 * size and hash are checked at its end. seal_reader_finish drains what is
 * left, verifies the signature with the pinned key and parses the claims.
 * Problems found while reading (a swapped part, a changed size) do not
 * stop the stream: they are remembered and returned by finish, so the
 * decryption can go on and report its own findings.
 */
struct seal_reader;

/* ERR_NOENT/ERR_IO when the archive or its signature cannot be opened
 * (operational), ERR_PART/ERR_SIG_FORMAT/ERR_FORMAT for a bad index. */
int seal_reader_open(const char *path, struct seal_reader **out,
    char *why, size_t whylen);
int seal_reader_read(void *reader, uint8_t *p, size_t cap, size_t *got);
/*
 * Before the first read: no hash of the ciphertext. finish then checks
 * the signature's trusted comment only (minisig_verify_comment_any), and
 * the parts of a split archive are not checked against the index (whose
 * own signature still is): the caller proves the content through the
 * signed claims instead (tenant-verify verify --content-only).
 */
void seal_reader_content_only(struct seal_reader *r);
/* Rewinds to the first byte, for a second pass (extraction). */
int seal_reader_rewind(struct seal_reader *r);
/* Total ciphertext bytes, parts count (0 single). */
uint64_t seal_reader_size(const struct seal_reader *r);
size_t seal_reader_nparts(const struct seal_reader *r);
/* Which pinned key a signature names. */
struct seal_signer {
	size_t which;		/* index into the pinned keys, or SIZE_MAX */
	int have_keyid;		/* the signature file parsed far enough */
	uint8_t keyid[MINISIG_KEYID_LEN];	/* the signature's key id */
};

/*
 * Drains the rest of the input, then verifies the signature with the
 * pinned key among pks[0..npks) whose key id it names, and fills claims
 * and signer. Returns minisig_verify_any's errors (a legacy signature is
 * ERR_SIG_FORMAT), ERR_SIG_COMMENT for claims that do not parse or whose
 * part count differs from the layout, ERR_PART for a signed part size
 * other than the parts'; *rule names the rule (RULE_NONE on success or
 * for operational errors) and why gets a sentence. npks 0 skips the
 * signature (the exporter's checker runs before anything is signed) and
 * returns 0.
 */
int seal_reader_finish(struct seal_reader *r,
    const struct minisig_pubkey *const *pks, size_t npks,
    struct seal_signer *signer, struct seal_claims *claims, enum rule *rule,
    char *why, size_t whylen);
/* Problems with the parts found while opening and reading (a part
 * missing, extra, swapped or altered, a layout not cut in equal parts):
 * problem i (from 0) as its rule's error code, *rule and a sentence in
 * why; 0 when there are no more. Valid after finish; at most
 * SEAL_MAX_PROBLEMS are kept. */
int seal_reader_problem(const struct seal_reader *r, size_t i, enum rule *rule,
    char *why, size_t whylen);
void seal_reader_free(struct seal_reader *r);

#endif
