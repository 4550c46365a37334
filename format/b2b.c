#include <string.h>

#include "b2b.h"

static const uint64_t iv[8] = {
	0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL,
	0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
	0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
	0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

static inline uint64_t
load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint64_t
rotr64(uint64_t x, unsigned n)
{
	return (x >> n) | (x << (64 - n));
}

/* The mixing function G (RFC 7693 §3.1) and one full round over the
 * message words in the order of sigma row r; every index is a constant,
 * so the compiler keeps the whole state in registers. */
#define G(a, b, c, d, x, y) do {					\
	a = a + b + (x); d = rotr64(d ^ a, 32);				\
	c = c + d; b = rotr64(b ^ c, 24);				\
	a = a + b + (y); d = rotr64(d ^ a, 16);				\
	c = c + d; b = rotr64(b ^ c, 63);				\
} while (0)

#define ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12,	\
    s13, s14, s15) do {							\
	G(v0, v4, v8, v12, m[s0], m[s1]);				\
	G(v1, v5, v9, v13, m[s2], m[s3]);				\
	G(v2, v6, v10, v14, m[s4], m[s5]);				\
	G(v3, v7, v11, v15, m[s6], m[s7]);				\
	G(v0, v5, v10, v15, m[s8], m[s9]);				\
	G(v1, v6, v11, v12, m[s10], m[s11]);				\
	G(v2, v7, v8, v13, m[s12], m[s13]);				\
	G(v3, v4, v9, v14, m[s14], m[s15]);				\
} while (0)

static void
compress(struct b2b *s, const uint8_t *blk, int last)
{
	uint64_t m[16], v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11,
	    v12, v13, v14, v15;
	int i;

	for (i = 0; i < 16; i++)
		m[i] = load64(blk + 8 * i);
	v0 = s->h[0]; v1 = s->h[1]; v2 = s->h[2]; v3 = s->h[3];
	v4 = s->h[4]; v5 = s->h[5]; v6 = s->h[6]; v7 = s->h[7];
	v8 = iv[0]; v9 = iv[1]; v10 = iv[2]; v11 = iv[3];
	v12 = iv[4] ^ s->t[0];
	v13 = iv[5] ^ s->t[1];
	v14 = last ? ~iv[6] : iv[6];
	v15 = iv[7];
	ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);
	ROUND(11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4);
	ROUND(7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8);
	ROUND(9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13);
	ROUND(2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9);
	ROUND(12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11);
	ROUND(13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10);
	ROUND(6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5);
	ROUND(10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0);
	ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);
	s->h[0] ^= v0 ^ v8; s->h[1] ^= v1 ^ v9;
	s->h[2] ^= v2 ^ v10; s->h[3] ^= v3 ^ v11;
	s->h[4] ^= v4 ^ v12; s->h[5] ^= v5 ^ v13;
	s->h[6] ^= v6 ^ v14; s->h[7] ^= v7 ^ v15;
}

static inline void
count(struct b2b *s, size_t n)
{
	s->t[0] += n;
	if (s->t[0] < n)
		s->t[1]++;
}

int
b2b_init(struct b2b *s, size_t outlen, const uint8_t *key,
    size_t keylen)
{
	int i;

	if (outlen == 0 || outlen > BLAKE2B_OUT_MAX ||
	    keylen > BLAKE2B_KEY_MAX || (keylen > 0 && key == NULL))
		return -1;
	memset(s, 0, sizeof(*s));
	for (i = 0; i < 8; i++)
		s->h[i] = iv[i];
	/* parameter block: digest length, key length, fanout 1, depth 1 */
	s->h[0] ^= 0x01010000ULL ^ ((uint64_t)keylen << 8) ^ outlen;
	s->outlen = outlen;
	if (keylen > 0) {
		memcpy(s->buf, key, keylen);
		s->n = BLAKE2B_BLOCK;
	}
	return 0;
}

void
b2b_update(struct b2b *s, const void *in, size_t n)
{
	const uint8_t *p = in;
	size_t take;

	if (n == 0)
		return;
	/* The last block is compressed by final (with its flag): a full
	 * buffer is compressed only once more input is known to follow. */
	if (s->n > 0) {
		take = BLAKE2B_BLOCK - s->n;
		if (take > n)
			take = n;
		memcpy(s->buf + s->n, p, take);
		s->n += take;
		p += take;
		n -= take;
		if (n == 0)
			return;
		count(s, BLAKE2B_BLOCK);
		compress(s, s->buf, 0);
		s->n = 0;
	}
	while (n > BLAKE2B_BLOCK) {
		count(s, BLAKE2B_BLOCK);
		compress(s, p, 0);
		p += BLAKE2B_BLOCK;
		n -= BLAKE2B_BLOCK;
	}
	memcpy(s->buf, p, n);
	s->n = n;
}

void
b2b_final(struct b2b *s, uint8_t *out)
{
	uint8_t full[BLAKE2B_OUT_MAX];
	int i;

	count(s, s->n);
	memset(s->buf + s->n, 0, BLAKE2B_BLOCK - s->n);
	compress(s, s->buf, 1);
	for (i = 0; i < 8; i++) {
		uint64_t h = s->h[i];
		int k;

		for (k = 0; k < 8; k++)
			full[8 * i + k] = (uint8_t)(h >> (8 * k));
	}
	memcpy(out, full, s->outlen);
}

/* An unkeyed message of one block (the Merkle tree's 65-byte leaves and
 * nodes): one compression, no buffering. */
static void
hash_block(uint8_t *out, size_t outlen, const void *p, size_t n)
{
	struct b2b s;
	uint8_t blk[BLAKE2B_BLOCK], full[BLAKE2B_OUT_MAX];
	int i, k;

	for (i = 0; i < 8; i++)
		s.h[i] = iv[i];
	s.h[0] ^= 0x01010000ULL ^ outlen;
	s.t[0] = n;
	s.t[1] = 0;
	if (n > 0)
		memcpy(blk, p, n);
	memset(blk + n, 0, BLAKE2B_BLOCK - n);
	compress(&s, blk, 1);
	for (i = 0; i < 8; i++)
		for (k = 0; k < 8; k++)
			full[8 * i + k] = (uint8_t)(s.h[i] >> (8 * k));
	memcpy(out, full, outlen);
}

int
b2b_hash(uint8_t *out, size_t outlen, const void *p, size_t n,
    const uint8_t *key, size_t keylen)
{
	struct b2b s;

	if (keylen == 0 && n <= BLAKE2B_BLOCK && outlen > 0 &&
	    outlen <= BLAKE2B_OUT_MAX) {
		hash_block(out, outlen, p, n);
		return 0;
	}
	if (b2b_init(&s, outlen, key, keylen) != 0)
		return -1;
	b2b_update(&s, p, n);
	b2b_final(&s, out);
	return 0;
}
