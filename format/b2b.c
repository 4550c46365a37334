#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define B2B_X4	1
#endif

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

/* The mixing function G (RFC 7693 §3.1). In the rounds below every
 * index is a constant, so the compiler keeps the whole state in
 * registers. */
#define G(a, b, c, d, x, y) do {					\
	a = a + b + (x); d = rotr64(d ^ a, 32);				\
	c = c + d; b = rotr64(b ^ c, 24);				\
	a = a + b + (y); d = rotr64(d ^ a, 16);				\
	c = c + d; b = rotr64(b ^ c, 63);				\
} while (0)

/* One round with mixing function GF (the scalar G or the four-lane
 * X4_G below) over state words v0..v15 and message words m[]. */
#define ROUND_OF(GF, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11,	\
    s12, s13, s14, s15) do {						\
	GF(v0, v4, v8, v12, m[s0], m[s1]);				\
	GF(v1, v5, v9, v13, m[s2], m[s3]);				\
	GF(v2, v6, v10, v14, m[s4], m[s5]);				\
	GF(v3, v7, v11, v15, m[s6], m[s7]);				\
	GF(v0, v5, v10, v15, m[s8], m[s9]);				\
	GF(v1, v6, v11, v12, m[s10], m[s11]);				\
	GF(v2, v7, v8, v13, m[s12], m[s13]);				\
	GF(v3, v4, v9, v14, m[s14], m[s15]);				\
} while (0)

/* The twelve rounds, in the order of the sigma rows (RFC 7693 §2.7). */
#define TWELVE_ROUNDS(GF) do {						\
	ROUND_OF(GF, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);\
	ROUND_OF(GF, 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);\
	ROUND_OF(GF, 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4);\
	ROUND_OF(GF, 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8);\
	ROUND_OF(GF, 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13);\
	ROUND_OF(GF, 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9);\
	ROUND_OF(GF, 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11);\
	ROUND_OF(GF, 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10);\
	ROUND_OF(GF, 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5);\
	ROUND_OF(GF, 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0);\
	ROUND_OF(GF, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);\
	ROUND_OF(GF, 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);\
} while (0)

/* One compression. Built twice where the compiler can (x86-64): with
 * BMI2's rorx (a rotate that keeps its source), picked at load time on a
 * CPU that has it, about 4% faster (bench/blake2b), and for any x86-64. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("bmi2", "default")))
#endif
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
	TWELVE_ROUNDS(G);
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

/* The digest's bytes from its state words (little-endian). */
static void
words_out(uint8_t *out, const uint64_t w[8], size_t outlen)
{
	uint8_t full[BLAKE2B_OUT_MAX];
	int i, k;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* the words' bytes are already in digest order */
	(void)full;
	(void)i;
	(void)k;
	memcpy(out, w, outlen);
#else
	for (i = 0; i < 8; i++)
		for (k = 0; k < 8; k++)
			full[8 * i + k] = (uint8_t)(w[i] >> (8 * k));
	memcpy(out, full, outlen);
#endif
}

void
b2b_final(struct b2b *s, uint8_t *out)
{
	count(s, s->n);
	memset(s->buf + s->n, 0, BLAKE2B_BLOCK - s->n);
	compress(s, s->buf, 1);
	words_out(out, s->h, s->outlen);
}

int b2b_x4_max = 2;

/* An unkeyed message of one block (the Merkle tree's 65-byte leaves and
 * nodes): one compression, no buffering. */
static void
hash_block(uint8_t *out, size_t outlen, const void *p, size_t n)
{
	struct b2b s;
	uint8_t blk[BLAKE2B_BLOCK];
	int i;

	for (i = 0; i < 8; i++)
		s.h[i] = iv[i];
	s.h[0] ^= 0x01010000ULL ^ outlen;
	s.t[0] = n;
	s.t[1] = 0;
	if (n > 0)
		memcpy(blk, p, n);
	memset(blk + n, 0, BLAKE2B_BLOCK - n);
	compress(&s, blk, 1);
	words_out(out, s.h, outlen);
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

/* ---- four messages of one block at once ---- */

#ifdef B2B_X4
/*
 * The same compression on four independent messages, one per 64-bit lane
 * of a 256-bit register: the four states advance together. Two builds of
 * it: AVX-512VL (32 registers, a rotate instruction) and AVX2 (16
 * registers, rotations by byte shuffles), picked at run time.
 */
#define X4_G(a, b, c, d, x, y) do {					\
	a = _mm256_add_epi64(_mm256_add_epi64(a, b), x);		\
	d = X4_ROT32(_mm256_xor_si256(d, a));				\
	c = _mm256_add_epi64(c, d);					\
	b = X4_ROT24(_mm256_xor_si256(b, c));				\
	a = _mm256_add_epi64(_mm256_add_epi64(a, b), y);		\
	d = X4_ROT16(_mm256_xor_si256(d, a));				\
	c = _mm256_add_epi64(c, d);					\
	b = X4_ROT63(_mm256_xor_si256(b, c));				\
} while (0)

/* a[k] holds words 4g..4g+3 of message k; out[i] word 4g+i of all four
 * (a 4x4 transpose of 64-bit words; it is its own inverse) */
#define X4_TRANSPOSE(a0, a1, a2, a3, o0, o1, o2, o3) do {		\
	__m256i t0_ = _mm256_unpacklo_epi64(a0, a1);			\
	__m256i t1_ = _mm256_unpackhi_epi64(a0, a1);			\
	__m256i t2_ = _mm256_unpacklo_epi64(a2, a3);			\
	__m256i t3_ = _mm256_unpackhi_epi64(a2, a3);			\
	o0 = _mm256_permute2x128_si256(t0_, t2_, 0x20);			\
	o1 = _mm256_permute2x128_si256(t1_, t3_, 0x20);			\
	o2 = _mm256_permute2x128_si256(t0_, t2_, 0x31);			\
	o3 = _mm256_permute2x128_si256(t1_, t3_, 0x31);			\
} while (0)

#define X4_LOAD(g) X4_TRANSPOSE(					\
	_mm256_loadu_si256((const __m256i *)(blk[0] + 32 * (g))),	\
	_mm256_loadu_si256((const __m256i *)(blk[1] + 32 * (g))),	\
	_mm256_loadu_si256((const __m256i *)(blk[2] + 32 * (g))),	\
	_mm256_loadu_si256((const __m256i *)(blk[3] + 32 * (g))),	\
	m[4 * (g)], m[4 * (g) + 1], m[4 * (g) + 2], m[4 * (g) + 3])

/* The function: NAME compiled for TARGET with the X4_ROT* in force: one
 * compression of four lanes, lane j from state hin[j] with block blk[j],
 * byte count t[j] (below 2^64: the high count word is 0) and final flag
 * f[j] (all ones for a last block, else 0). */
#define X4_FUNC(NAME, TARGET)						\
__attribute__((target(TARGET)))						\
static void								\
NAME(uint64_t words[4][8], const uint64_t hin[4][8],			\
    const uint64_t t[4], const uint64_t f[4],				\
    const uint8_t *const blk[4])					\
{									\
	X4_MASKS							\
	__m256i m[16], h0, h1, h2, h3, h4, h5, h6, h7, v0, v1, v2, v3,	\
	    v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15;	\
									\
	X4_LOAD(0); X4_LOAD(1); X4_LOAD(2); X4_LOAD(3);			\
	X4_TRANSPOSE(_mm256_loadu_si256((const __m256i *)&hin[0][0]),	\
	    _mm256_loadu_si256((const __m256i *)&hin[1][0]),		\
	    _mm256_loadu_si256((const __m256i *)&hin[2][0]),		\
	    _mm256_loadu_si256((const __m256i *)&hin[3][0]),		\
	    h0, h1, h2, h3);						\
	X4_TRANSPOSE(_mm256_loadu_si256((const __m256i *)&hin[0][4]),	\
	    _mm256_loadu_si256((const __m256i *)&hin[1][4]),		\
	    _mm256_loadu_si256((const __m256i *)&hin[2][4]),		\
	    _mm256_loadu_si256((const __m256i *)&hin[3][4]),		\
	    h4, h5, h6, h7);						\
	v0 = h0; v1 = h1; v2 = h2; v3 = h3;				\
	v4 = h4; v5 = h5; v6 = h6; v7 = h7;				\
	v8 = _mm256_set1_epi64x((long long)iv[0]);			\
	v9 = _mm256_set1_epi64x((long long)iv[1]);			\
	v10 = _mm256_set1_epi64x((long long)iv[2]);			\
	v11 = _mm256_set1_epi64x((long long)iv[3]);			\
	v12 = _mm256_xor_si256(_mm256_set1_epi64x((long long)iv[4]),	\
	    _mm256_loadu_si256((const __m256i *)t));			\
	v13 = _mm256_set1_epi64x((long long)iv[5]);			\
	v14 = _mm256_xor_si256(_mm256_set1_epi64x((long long)iv[6]),	\
	    _mm256_loadu_si256((const __m256i *)f));			\
	v15 = _mm256_set1_epi64x((long long)iv[7]);			\
	TWELVE_ROUNDS(X4_G);						\
	h0 = _mm256_xor_si256(h0, _mm256_xor_si256(v0, v8));		\
	h1 = _mm256_xor_si256(h1, _mm256_xor_si256(v1, v9));		\
	h2 = _mm256_xor_si256(h2, _mm256_xor_si256(v2, v10));		\
	h3 = _mm256_xor_si256(h3, _mm256_xor_si256(v3, v11));		\
	h4 = _mm256_xor_si256(h4, _mm256_xor_si256(v4, v12));		\
	h5 = _mm256_xor_si256(h5, _mm256_xor_si256(v5, v13));		\
	h6 = _mm256_xor_si256(h6, _mm256_xor_si256(v6, v14));		\
	h7 = _mm256_xor_si256(h7, _mm256_xor_si256(v7, v15));		\
	X4_TRANSPOSE(h0, h1, h2, h3, v0, v1, v2, v3);			\
	X4_TRANSPOSE(h4, h5, h6, h7, v4, v5, v6, v7);			\
	_mm256_storeu_si256((__m256i *)&words[0][0], v0);		\
	_mm256_storeu_si256((__m256i *)&words[1][0], v1);		\
	_mm256_storeu_si256((__m256i *)&words[2][0], v2);		\
	_mm256_storeu_si256((__m256i *)&words[3][0], v3);		\
	_mm256_storeu_si256((__m256i *)&words[0][4], v4);		\
	_mm256_storeu_si256((__m256i *)&words[1][4], v5);		\
	_mm256_storeu_si256((__m256i *)&words[2][4], v6);		\
	_mm256_storeu_si256((__m256i *)&words[3][4], v7);		\
}

#define X4_MASKS
#define X4_ROT32(x)	_mm256_ror_epi64((x), 32)
#define X4_ROT24(x)	_mm256_ror_epi64((x), 24)
#define X4_ROT16(x)	_mm256_ror_epi64((x), 16)
#define X4_ROT63(x)	_mm256_ror_epi64((x), 63)
X4_FUNC(hash4_avx512, "avx2,avx512f,avx512vl")
#undef X4_MASKS
#undef X4_ROT32
#undef X4_ROT24
#undef X4_ROT16
#undef X4_ROT63

#define X4_MASKS							\
	const __m256i r24 = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2,	\
	    11, 12, 13, 14, 15, 8, 9, 10, 3, 4, 5, 6, 7, 0, 1, 2,	\
	    11, 12, 13, 14, 15, 8, 9, 10);				\
	const __m256i r16 = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1,	\
	    10, 11, 12, 13, 14, 15, 8, 9, 2, 3, 4, 5, 6, 7, 0, 1,	\
	    10, 11, 12, 13, 14, 15, 8, 9);
#define X4_ROT32(x)	_mm256_shuffle_epi32((x), _MM_SHUFFLE(2, 3, 0, 1))
#define X4_ROT24(x)	_mm256_shuffle_epi8((x), r24)
#define X4_ROT16(x)	_mm256_shuffle_epi8((x), r16)
#define X4_ROT63(x)	_mm256_or_si256(_mm256_srli_epi64((x), 63),	\
			    _mm256_add_epi64((x), (x)))
X4_FUNC(hash4_avx2, "avx2")

/*
 * Eight lanes, one per 64-bit lane of a 512-bit register (AVX-512F).
 */
#define X8_G(a, b, c, d, x, y) do {					\
	a = _mm512_add_epi64(_mm512_add_epi64(a, b), x);		\
	d = _mm512_ror_epi64(_mm512_xor_si512(d, a), 32);		\
	c = _mm512_add_epi64(c, d);					\
	b = _mm512_ror_epi64(_mm512_xor_si512(b, c), 24);		\
	a = _mm512_add_epi64(_mm512_add_epi64(a, b), y);		\
	d = _mm512_ror_epi64(_mm512_xor_si512(d, a), 16);		\
	c = _mm512_add_epi64(c, d);					\
	b = _mm512_ror_epi64(_mm512_xor_si512(b, c), 63);		\
} while (0)

/* r[j] holds words 0..7 of row j; o[k] gets word k of every row (an 8x8
 * transpose of 64-bit words: pairs within 128-bit lanes, then lanes). */
__attribute__((target("avx512f")))
static inline void
x8_transpose(const __m512i r[8], __m512i o[8])
{
	__m512i t[8], u[8];
	int i;

	for (i = 0; i < 4; i++) {
		t[2 * i] = _mm512_unpacklo_epi64(r[2 * i], r[2 * i + 1]);
		t[2 * i + 1] = _mm512_unpackhi_epi64(r[2 * i], r[2 * i + 1]);
	}
	for (i = 0; i < 2; i++) {
		u[4 * i] = _mm512_shuffle_i64x2(t[4 * i], t[4 * i + 2], 0x88);
		u[4 * i + 1] = _mm512_shuffle_i64x2(t[4 * i], t[4 * i + 2],
		    0xdd);
		u[4 * i + 2] = _mm512_shuffle_i64x2(t[4 * i + 1], t[4 * i + 3],
		    0x88);
		u[4 * i + 3] = _mm512_shuffle_i64x2(t[4 * i + 1], t[4 * i + 3],
		    0xdd);
	}
	o[0] = _mm512_shuffle_i64x2(u[0], u[4], 0x88);
	o[4] = _mm512_shuffle_i64x2(u[0], u[4], 0xdd);
	o[2] = _mm512_shuffle_i64x2(u[1], u[5], 0x88);
	o[6] = _mm512_shuffle_i64x2(u[1], u[5], 0xdd);
	o[1] = _mm512_shuffle_i64x2(u[2], u[6], 0x88);
	o[5] = _mm512_shuffle_i64x2(u[2], u[6], 0xdd);
	o[3] = _mm512_shuffle_i64x2(u[3], u[7], 0x88);
	o[7] = _mm512_shuffle_i64x2(u[3], u[7], 0xdd);
}

/* The twelve rounds of eight lanes: h (word k of every lane in h[k])
 * from blocks m (word i of every lane in m[i]), byte counts t and final
 * flags f. */
__attribute__((target("avx512f"), always_inline))
static inline void
x8_rounds(__m512i h[8], const __m512i m[16], __m512i t, __m512i f)
{
	__m512i v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13,
	    v14, v15;

	v0 = h[0]; v1 = h[1]; v2 = h[2]; v3 = h[3];
	v4 = h[4]; v5 = h[5]; v6 = h[6]; v7 = h[7];
	v8 = _mm512_set1_epi64((long long)iv[0]);
	v9 = _mm512_set1_epi64((long long)iv[1]);
	v10 = _mm512_set1_epi64((long long)iv[2]);
	v11 = _mm512_set1_epi64((long long)iv[3]);
	v12 = _mm512_xor_si512(_mm512_set1_epi64((long long)iv[4]), t);
	v13 = _mm512_set1_epi64((long long)iv[5]);
	v14 = _mm512_xor_si512(_mm512_set1_epi64((long long)iv[6]), f);
	v15 = _mm512_set1_epi64((long long)iv[7]);
	TWELVE_ROUNDS(X8_G);
	h[0] = _mm512_xor_si512(h[0], _mm512_xor_si512(v0, v8));
	h[1] = _mm512_xor_si512(h[1], _mm512_xor_si512(v1, v9));
	h[2] = _mm512_xor_si512(h[2], _mm512_xor_si512(v2, v10));
	h[3] = _mm512_xor_si512(h[3], _mm512_xor_si512(v3, v11));
	h[4] = _mm512_xor_si512(h[4], _mm512_xor_si512(v4, v12));
	h[5] = _mm512_xor_si512(h[5], _mm512_xor_si512(v5, v13));
	h[6] = _mm512_xor_si512(h[6], _mm512_xor_si512(v6, v14));
	h[7] = _mm512_xor_si512(h[7], _mm512_xor_si512(v7, v15));
}

/* m[0..16): the words of blocks blk[0..8), transposed */
__attribute__((target("avx512f"), always_inline))
static inline void
x8_blocks(const uint8_t *const blk[8], __m512i m[16])
{
	__m512i r[8];
	int i, j;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < 8; j++)
			r[j] = _mm512_loadu_si512((const void *)(blk[j] +
			    64 * i));
		x8_transpose(r, m + 8 * i);
	}
}

/* words[j]: lane j of h */
__attribute__((target("avx512f"), always_inline))
static inline void
x8_store(uint64_t words[8][8], const __m512i h[8])
{
	__m512i r[8];
	int j;

	x8_transpose(h, r);
	for (j = 0; j < 8; j++)
		_mm512_storeu_si512((void *)words[j], r[j]);
}

/* One compression of eight lanes, as compress4 for four. */
__attribute__((target("avx512f")))
static void
hash8_avx512(uint64_t words[8][8], const uint64_t hin[8][8],
    const uint64_t t[8], const uint64_t f[8], const uint8_t *const blk[8])
{
	__m512i r[8], m[16], h[8];
	int j;

	x8_blocks(blk, m);
	for (j = 0; j < 8; j++)
		r[j] = _mm512_loadu_si512((const void *)hin[j]);
	x8_transpose(r, h);
	x8_rounds(h, m, _mm512_loadu_si512((const void *)t),
	    _mm512_loadu_si512((const void *)f));
	x8_store(words, h);
}

/* The bits a..e-1 of a 64-bit mask (0 <= a < e <= 64). */
static inline __mmask64
x8_bits(size_t a, size_t e)
{
	__mmask64 m = e - a == 64 ? ~(__mmask64)0 :
	    ((__mmask64)1 << (e - a)) - 1;

	return m << a;
}

/* Eight unkeyed messages of one block, p[j] of n bytes each (n <= 128):
 * every lane starts from the same parameter word p0, so the state is
 * broadcast rather than loaded, and the blocks are loaded in place with
 * the bytes past n masked off (read as zero, not read at all). */
__attribute__((target("avx512f,avx512bw")))
static void
hash8_block_avx512(uint64_t words[8][8], uint64_t p0, size_t n,
    const uint8_t *const p[8])
{
	__m512i r[8], m[16], h[8];
	uint64_t w8[8];
	__mmask64 mask;
	int i, j;

	mask = n == 0 ? 0 : x8_bits(0, n < 64 ? n : 64);
	for (j = 0; j < 8; j++)
		r[j] = _mm512_maskz_loadu_epi8(mask, p[j]);
	x8_transpose(r, m);
	for (i = 0; i < 8; i++)
		h[i] = _mm512_set1_epi64((long long)(i == 0 ? iv[0] ^ p0 :
		    iv[i]));
	if (n <= 72) {
		/* The Merkle tree's 65-byte leaves and nodes: past the first
		 * half-block only word 8 holds message bytes, and the rounds
		 * are built here with words 9-15 known to be zero (their
		 * additions drop out, and fewer registers are live). */
		for (j = 0; j < 8; j++) {
			w8[j] = 0;
			if (n > 64)
				memcpy(&w8[j], p[j] + 64, n - 64);
		}
		m[8] = _mm512_loadu_si512((const void *)w8);
		for (i = 9; i < 16; i++)
			m[i] = _mm512_setzero_si512();
		x8_rounds(h, m, _mm512_set1_epi64((long long)n),
		    _mm512_set1_epi64(-1));
		x8_store(words, h);
		return;
	}
	mask = x8_bits(0, n - 64 < 64 ? n - 64 : 64);
	for (j = 0; j < 8; j++)
		r[j] = _mm512_maskz_loadu_epi8(mask, p[j] + 64);
	x8_transpose(r, m + 8);
	x8_rounds(h, m, _mm512_set1_epi64((long long)n),
	    _mm512_set1_epi64(-1));
	x8_store(words, h);
}

/*
 * rest_block's copy with masked loads: the block at stream offset off of
 * buf[0..sn) followed by p, len bytes of it message, zero after. Only
 * the bytes of the message are read (a masked-off byte is not accessed),
 * so p is read where it is, not copied and padded first.
 */
__attribute__((target("avx512f,avx512bw")))
static void
rest_masked(const uint8_t *buf, size_t sn, const uint8_t *p, size_t off,
    size_t len, uint8_t blk[BLAKE2B_BLOCK])
{
	size_t h, lo, a, e, end = off + len;
	__m512i v;

	for (h = 0; h < 2; h++) {
		lo = off + 64 * h;	/* this half's stream offset */
		v = _mm512_setzero_si512();
		/* from the buffered bytes */
		e = sn < lo + 64 ? sn : lo + 64;
		if (e > end)
			e = end;
		if (lo < e)
			v = _mm512_maskz_loadu_epi8(x8_bits(0, e - lo),
			    buf + lo);
		/* from p: stream byte x is p[x - sn] */
		a = lo > sn ? lo : sn;
		e = lo + 64 < end ? lo + 64 : end;
		if (a < e)
			v = _mm512_mask_loadu_epi8(v, x8_bits(a - lo, e - lo),
			    (const void *)((uintptr_t)p + lo - sn));
		_mm512_storeu_si512((void *)(blk + 64 * h), v);
	}
}

/* 2: AVX-512VL, 1: AVX2, 0: neither (checked once). */
static int
x4_kind(void)
{
	static int kind = -1;

	if (kind < 0)
		kind = __builtin_cpu_supports("avx512vl") &&
		    __builtin_cpu_supports("avx512f") ? 2 :
		    __builtin_cpu_supports("avx2") ? 1 : 0;
	return kind;
}

/* hash8_block_avx512's masked loads: AVX-512BW too (checked once). */
static int
x8_masked(void)
{
	static int ok = -1;

	if (ok < 0)
		ok = x4_kind() == 2 && __builtin_cpu_supports("avx512bw");
	return ok;
}
#endif

/* One compression of four lanes: lane j from state h[j] with block
 * blk[j] (BLAKE2B_BLOCK bytes), byte count t[j] and final flag f[j];
 * words[j] its result. */
static void
compress4(uint64_t words[4][8], const uint64_t h[4][8], const uint64_t t[4],
    const uint64_t f[4], const uint8_t *const blk[4])
{
	struct b2b s;
	int j, k;

#ifdef B2B_X4
	k = x4_kind();
	if (k > b2b_x4_max)
		k = b2b_x4_max;
	if (k == 2) {
		hash4_avx512(words, h, t, f, blk);
		return;
	}
	if (k == 1) {
		hash4_avx2(words, h, t, f, blk);
		return;
	}
#endif
	for (j = 0; j < 4; j++) {
		memcpy(s.h, h[j], sizeof(s.h));
		s.t[0] = t[j];
		s.t[1] = 0;
		compress(&s, blk[j], f[j] != 0);
		for (k = 0; k < 8; k++)
			words[j][k] = s.h[k];
	}
}

/* The same for eight lanes: in one pass with AVX-512F, else as two of
 * four. */
static void
compress8(uint64_t words[8][8], const uint64_t h[8][8], const uint64_t t[8],
    const uint64_t f[8], const uint8_t *const blk[8])
{
#ifdef B2B_X4
	if (b2b_x4_max >= 2 && x4_kind() == 2) {
		hash8_avx512(words, h, t, f, blk);
		return;
	}
#endif
	compress4(words, h, t, f, blk);
	compress4(words + 4, h + 4, t + 4, f + 4, blk + 4);
}

/* lanes (4 or 8) unkeyed one-block messages p[] of n bytes each from the
 * IV with parameter word p0, through compress4 or compress8. */
static void
lanes_from_iv(int lanes, uint64_t words[8][8], uint64_t p0, size_t n,
    const uint8_t *const p[])
{
	uint8_t blk[8][BLAKE2B_BLOCK];
	const uint8_t *at[8];
	uint64_t h[8][8], t[8], f[8];
	int i, j;

	for (j = 0; j < lanes; j++) {
		for (i = 0; i < 8; i++)
			h[j][i] = iv[i];
		h[j][0] ^= p0;
		t[j] = n;
		f[j] = ~(uint64_t)0;
		if (n == BLAKE2B_BLOCK)
			at[j] = p[j];
		else {
			if (n > 0)
				memcpy(blk[j], p[j], n);
			memset(blk[j] + n, 0, BLAKE2B_BLOCK - n);
			at[j] = blk[j];
		}
	}
	if (lanes == 8)
		compress8(words, (const uint64_t (*)[8])h, t, f, at);
	else
		compress4(words, (const uint64_t (*)[8])h, t, f, at);
}

/* lanes (4 or 8) unkeyed one-block messages at once. */
static void
hash_lanes(int lanes, uint8_t *const out[], size_t outlen,
    const uint8_t *const p[], size_t n)
{
	uint64_t words[8][8], p0 = 0x01010000ULL ^ outlen;
	int j;

#ifdef B2B_X4
	if (lanes == 8 && b2b_x4_max >= 2 && x8_masked())
		hash8_block_avx512(words, p0, n, p);
	else
#endif
		lanes_from_iv(lanes, words, p0, n, p);
	for (j = 0; j < lanes; j++)
		words_out(out[j], words[j], outlen);
}

void
b2b_hash4_block(uint8_t *const out[4], size_t outlen,
    const uint8_t *const p[4], size_t n)
{
	hash_lanes(4, out, outlen, p, n);
}

void
b2b_hash8_block(uint8_t *const out[8], size_t outlen,
    const uint8_t *const p[8], size_t n)
{
	hash_lanes(8, out, outlen, p, n);
}

/* Block b of lane j's rest: the state's buffered bytes, then p (n bytes),
 * zero-padded; returns how many bytes of it are message. *at is where
 * the block is: in p itself when it lies there whole, else copied to
 * blk. */
static inline __attribute__((always_inline)) size_t
rest_block(const struct b2b *s, const uint8_t *p, size_t n, size_t b,
    uint8_t blk[BLAKE2B_BLOCK], const uint8_t **at)
{
	size_t off = b * BLAKE2B_BLOCK, total = s->n + n, len, k = 0, take;

	len = total - off < BLAKE2B_BLOCK ? total - off : BLAKE2B_BLOCK;
	if (off >= s->n && len == BLAKE2B_BLOCK) {
		*at = p + (off - s->n);
		return len;
	}
	*at = blk;
#ifdef B2B_X4
	if (b2b_x4_max >= 2 && x8_masked()) {
		rest_masked(s->buf, s->n, p, off, len, blk);
		return len;
	}
#endif
	if (off < s->n) {
		take = s->n - off < len ? s->n - off : len;
		memcpy(blk, s->buf + off, take);
		k = take;
	}
	if (k < len)
		memcpy(blk + k, p + (off + k - s->n), len - k);
	memset(blk + len, 0, BLAKE2B_BLOCK - len);
	return len;
}

/* How many lanes b2b_final_n keeps busy: 8 with AVX-512F, 4 with AVX2,
 * else 1 (one message after the other). */
static int
lanes_avail(void)
{
#ifdef B2B_X4
	int k = x4_kind();

	if (k > b2b_x4_max)
		k = b2b_x4_max;
	return k == 2 ? 8 : k == 1 ? 4 : 1;
#else
	return 1;
#endif
}

/* A message of b2b_final_n, alone: a copy of s, updated and finished. */
static void
final_one(const struct b2b *s, const uint8_t *p, size_t n, uint8_t *out)
{
	struct b2b st = *s;

	b2b_update(&st, p, n);
	b2b_final(&st, out);
}

/* b2b_final_n's lanes: lane j runs message ln[j].msg (NONE: idle), at
 * its block ln[j].b of ln[j].nblk, with byte count ln[j].done and state
 * h[j] (the states side by side, as compress4 and compress8 take them). */
#define NONE	SIZE_MAX
struct lanes {
	struct lane {
		size_t msg, b, nblk;
		uint64_t done;
	} ln[8];
	uint64_t h[8][8];
};

/* Lane j's message from its block b on, one compression at a time. */
static void
lane_finish(const struct b2b *s, struct lanes *l, int j,
    const uint8_t *const p[], const size_t n[], uint8_t *const out[])
{
	uint8_t blk[BLAKE2B_BLOCK];
	const uint8_t *at;
	struct b2b st = *s;
	struct lane *ln = &l->ln[j];
	size_t i = ln->msg;

	memcpy(st.h, l->h[j], sizeof(st.h));
	st.t[1] = 0;
	for (; ln->b < ln->nblk; ln->b++) {
		ln->done += rest_block(s, p[i], n[i], ln->b, blk, &at);
		st.t[0] = ln->done;
		compress(&st, at, ln->b + 1 == ln->nblk);
	}
	words_out(out[i], st.h, s->outlen);
	ln->msg = NONE;
}

void
b2b_final_n(const struct b2b *s, const uint8_t *const p[],
    const size_t n[], uint8_t *const out[], size_t count)
{
	static const uint8_t zero[BLAKE2B_BLOCK];
	uint8_t blk[8][BLAKE2B_BLOCK];
	const uint8_t *at[8];
	uint64_t t[8], f[8];
	struct lanes l;
	struct lane *ln;
	size_t next = 0, i;
	int lanes = lanes_avail(), width, active, j, k;

	if (lanes == 1 || s->t[1] != 0) {
		for (i = 0; i < count; i++)
			final_one(s, p[i], n[i], out[i]);
		return;
	}
	for (j = 0; j < 8; j++)
		l.ln[j].msg = NONE;
	for (;;) {
		/* an idle lane takes the next message */
		active = 0;
		for (j = 0; j < lanes; j++) {
			ln = &l.ln[j];
			while (ln->msg == NONE && next < count) {
				i = next++;
				if (n[i] > SIZE_MAX / 2 ||
				    s->t[0] + s->n + n[i] < s->t[0]) {
					/* the count would pass 2^64 */
					final_one(s, p[i], n[i], out[i]);
					continue;
				}
				ln->msg = i;
				ln->b = 0;
				ln->nblk = s->n + n[i] == 0 ? 1 :
				    (s->n + n[i] + BLAKE2B_BLOCK - 1) /
				    BLAKE2B_BLOCK;
				ln->done = s->t[0];
				memcpy(l.h[j], s->h, sizeof(l.h[j]));
			}
			active += ln->msg != NONE;
		}
		if (active == 0)
			return;
		width = lanes;
		if (next >= count) {
			/* the last ones: to the front lanes, then four lanes
			 * at once, or one at a time for two or fewer (a
			 * pass of four costs about one and a half single
			 * ones, a pass of eight about two) */
			for (j = 0, k = 0; j < lanes; j++) {
				if (l.ln[j].msg == NONE)
					continue;
				if (j != k) {
					l.ln[k] = l.ln[j];
					memcpy(l.h[k], l.h[j], sizeof(l.h[j]));
					l.ln[j].msg = NONE;
				}
				k++;
			}
			if (active <= 2) {
				for (j = 0; j < active; j++)
					lane_finish(s, &l, j, p, n, out);
				return;
			}
			if (active <= 4)
				width = 4;
		}
		for (j = 0; j < width; j++) {
			ln = &l.ln[j];
			if (ln->msg == NONE) {
				at[j] = zero;
				t[j] = f[j] = 0;
				continue;
			}
			i = ln->msg;
			ln->done += rest_block(s, p[i], n[i], ln->b, blk[j],
			    &at[j]);
			t[j] = ln->done;
			f[j] = ln->b + 1 == ln->nblk ? ~(uint64_t)0 : 0;
		}
		/* in place: every lane's state is read before any is
		 * written (an idle lane's is rewritten when it next starts) */
		if (width == 8)
			compress8(l.h, (const uint64_t (*)[8])l.h, t, f, at);
		else
			compress4(l.h, (const uint64_t (*)[8])l.h, t, f, at);
		for (j = 0; j < width; j++) {
			ln = &l.ln[j];
			if (ln->msg == NONE)
				continue;
			if (++ln->b == ln->nblk) {
				words_out(out[ln->msg], l.h[j], s->outlen);
				ln->msg = NONE;
			}
		}
	}
}
#undef NONE
