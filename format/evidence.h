/*
 * evidence.h: per-record tenant evidence and per-table Merkle roots.
 *
 * All hashes are BLAKE2b-256 (format/b2b.c). The tenant and content hashes are keyed with
 * the export's random 32-byte salt, so a receipt kept in an audit log does
 * not let anyone confirm guesses about row contents. Domain-separation
 * prefixes keep the three uses apart. See docs/FORMAT.md.
 */
#ifndef TEXP_EVIDENCE_H
#define TEXP_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "b2b.h"

#define EVIDENCE_HASH_LEN 32
#define EVIDENCE_SALT_LEN 32

/* tenant hash = BLAKE2b-256(key = salt, "texp tenant v1\0" || the tenant
 * key value's canonical CBOR encoding). Returns 0 or ERR_INTERNAL. */
int evidence_tenant_hash(const uint8_t salt[EVIDENCE_SALT_LEN],
    const uint8_t *value, size_t len, uint8_t out[EVIDENCE_HASH_LEN]);

/* content hash = BLAKE2b-256(key = salt, "texp record v1\0" || the
 * record's canonical CBOR encoding). */
int evidence_content_hash(const uint8_t salt[EVIDENCE_SALT_LEN],
    const uint8_t *record, size_t len, uint8_t out[EVIDENCE_HASH_LEN]);

/*
 * The same two hashes for many records of one export, faster: the keyed
 * BLAKE2b states after the key and the domain prefix are computed once
 * and copied per record, and the tenant hash of a value equal to the
 * previous one is reused (every record of a tenant carries the same key).
 * Results are identical to the functions above.
 */
struct evidence_hasher {
	struct b2b tenant0;
	struct b2b content0;
	uint8_t last[64];		/* last tenant value hashed */
	size_t last_len;		/* 0: none cached */
	uint8_t last_hash[EVIDENCE_HASH_LEN];
};

int evidence_hasher_init(struct evidence_hasher *h,
    const uint8_t salt[EVIDENCE_SALT_LEN]);
int evidence_hasher_tenant(struct evidence_hasher *h, const uint8_t *value,
    size_t len, uint8_t out[EVIDENCE_HASH_LEN]);
int evidence_hasher_content(const struct evidence_hasher *h,
    const uint8_t *record, size_t len, uint8_t out[EVIDENCE_HASH_LEN]);
/* n content hashes, sharing the hash lanes whatever their lengths
 * (b2b_final_n). */
void evidence_hasher_content_n(const struct evidence_hasher *h,
    const uint8_t *const record[], const size_t len[],
    uint8_t *const out[], size_t n);
/* Wipes the cached states. */
void evidence_hasher_clear(struct evidence_hasher *h);

/*
 * Streaming Merkle tree over a table's records, shaped as RFC 6962: leaf
 * hash = H(0x00 || tenant hash (or 32 zero bytes for a global table) ||
 * content hash), node = H(0x01 || left || right), the left subtree holding
 * the largest power of two of leaves smaller than n. The empty tree's root
 * is H(""). Memory is constant. The roots of complete subtrees of the
 * lowest MERKLE_QLEVELS levels wait in queues of MERKLE_QLEN and are
 * paired eight nodes at a time (b2b.c's eight lanes) however the leaves
 * arrive; above them, one root per bit of the leaf count.
 */
#define MERKLE_QLEVELS	6
#define MERKLE_QLEN	16
struct merkle {
	uint64_t n;		/* leaves */
	uint64_t nc;		/* subtrees of 2^MERKLE_QLEVELS leaves above */
	uint8_t qn[MERKLE_QLEVELS];
	uint8_t q[MERKLE_QLEVELS][MERKLE_QLEN][EVIDENCE_HASH_LEN];
	/* level[i], i >= MERKLE_QLEVELS: the root of a complete subtree of
	 * 2^i leaves while bit i - MERKLE_QLEVELS of nc is set */
	uint8_t level[64][EVIDENCE_HASH_LEN];
};

void merkle_init(struct merkle *m);
/* tenant_hash may be NULL (global tables). */
void merkle_add(struct merkle *m, const uint8_t *tenant_hash,
    const uint8_t content_hash[EVIDENCE_HASH_LEN]);
/* A leaf's hash (merkle_add's first step). */
void merkle_leaf_hash(const uint8_t *tenant_hash,
    const uint8_t content_hash[EVIDENCE_HASH_LEN],
    uint8_t out[EVIDENCE_HASH_LEN]);
/*
 * Adds n leaves, given as their hashes h[0..n) in order, to m: the same
 * tree as n merkle_adds.
 */
void merkle_push_leaves(struct merkle *m, uint8_t (*h)[EVIDENCE_HASH_LEN],
    size_t n);
/* A row's leaf before it is hashed: its tenant hash (has_tenant 0: a
 * global table's row) and its content hash. */
struct merkle_pending {
	int has_tenant;
	uint8_t th[EVIDENCE_HASH_LEN];
	uint8_t ch[EVIDENCE_HASH_LEN];
};
/*
 * The leaves of p[0..n), hashed eight at a time into scratch (room for n
 * hashes), added to m in order: the tree n merkle_adds build. For the
 * writer, the reader and the tree thread alike.
 */
void merkle_add_pending(struct merkle *m, const struct merkle_pending *p,
    size_t n, uint8_t (*scratch)[EVIDENCE_HASH_LEN]);
/*
 * The leaf of a row that carries a file (FORMAT.md §5): H(0x02 || tenant
 * hash || content hash || size as 8 bytes big-endian || file hash), the
 * file hash being unkeyed BLAKE2b-256 of the file's bytes.
 */
void merkle_add_file(struct merkle *m,
    const uint8_t tenant_hash[EVIDENCE_HASH_LEN],
    const uint8_t content_hash[EVIDENCE_HASH_LEN], uint64_t size,
    const uint8_t file_hash[EVIDENCE_HASH_LEN]);
void merkle_root(const struct merkle *m, uint8_t out[EVIDENCE_HASH_LEN]);

/* Lowercase hex of p[0..len) into out (2*len+1 bytes). Returns out. */
char *evidence_hex(const uint8_t *p, size_t len, char *out);

#endif
