/*
 * b2b.h: BLAKE2b (RFC 7693), keyed or not, any digest length 1..64.
 *
 * The archive's hashes (record evidence, Merkle nodes, the signature's
 * prehash) are BLAKE2b. On the short messages that are most of them
 * (records, leaves, nodes) this implementation is faster than libsodium's
 * on every machine measured (bench/blake2b.c: a keyed 130-byte record in
 * 283 against 385 ns on an AMD EPYC, 231 against 646 ns on an Intel Xeon;
 * and eight or four at once below); on long streams the two are within a
 * few percent either way, so the prehash picks at run time (minisig.c).
 * The bytes are the same: tests/check_b2b.c holds it to RFC 7693's vectors
 * and to libsodium on random inputs of every length, keyed and unkeyed.
 *
 * A state may be copied by value: hash a common prefix (key, domain string)
 * once, then copy the state per message. Nothing here allocates or fails
 * once the lengths are valid.
 */
#ifndef TEXP_B2B_H
#define TEXP_B2B_H

#include <stddef.h>
#include <stdint.h>

#define BLAKE2B_BLOCK		128
#define BLAKE2B_OUT_MAX		64
#define BLAKE2B_KEY_MAX		64

struct b2b {
	uint64_t h[8];
	uint64_t t[2];
	uint8_t buf[BLAKE2B_BLOCK];
	size_t n;		/* bytes in buf */
	size_t outlen;
};

/* Starts a hash of outlen bytes (1..64), keyed with key[0..keylen)
 * (keylen 0..64; key may be NULL when keylen is 0). 0, or -1 on a bad
 * length. */
int b2b_init(struct b2b *s, size_t outlen, const uint8_t *key,
    size_t keylen);
void b2b_update(struct b2b *s, const void *p, size_t n);
/* Writes s->outlen bytes to out. s is not wiped: everything hashed with
 * it is public (records, hashes, ciphertext); a caller hashing a secret
 * wipes the state itself. */
void b2b_final(struct b2b *s, uint8_t *out);
/* One call: the same as init, update, final. 0 or -1. */
int b2b_hash(uint8_t *out, size_t outlen, const void *p, size_t n,
    const uint8_t *key, size_t keylen);

/*
 * Four unkeyed messages p[0..3], each of the same length n (0..128: one
 * block), hashed to out[0..3] (outlen 1..64 bytes each) at once: with
 * AVX2 (checked at run time) the four share one pass of the rounds, else
 * one after the other. The bytes are b2b_hash's.
 */
void b2b_hash4_block(uint8_t *const out[4], size_t outlen,
    const uint8_t *const p[4], size_t n);
/* The same for eight messages: one pass with AVX-512F, else two of
 * four. */
void b2b_hash8_block(uint8_t *const out[8], size_t outlen,
    const uint8_t *const p[8], size_t n);
/*
 * count messages that continue the state s (not changed), of any lengths:
 * out[i] gets what copying s, b2b_update(p[i], n[i]) and b2b_final give.
 * The messages share the lanes (eight with AVX-512F, four with AVX2): a
 * lane whose message ends takes the next one, so lengths that differ cost
 * no idle lanes but at the very end, where the last few are finished four
 * or one at a time. Without either, one message after the other.
 */
void b2b_final_n(const struct b2b *s, const uint8_t *const p[],
    const size_t n[], uint8_t *const out[], size_t count);
/* The widest path the functions above may take (for tests): 2 AVX-512
 * (default; eight lanes in one pass for the eight-message ones), 1 AVX2,
 * 0 one message at a time. */
extern int b2b_x4_max;

#endif
