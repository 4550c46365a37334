/*
 * bench/blake2b: BLAKE2b implementations on this machine, side by side in
 * one run (alternating, best of BENCH_REPEAT rounds): libsodium's
 * crypto_generichash, libb2's blake2b (Debian libb2-dev, when built with
 * it), OpenSSL's EVP BLAKE2b-512, and format/b2b.c. Two workloads:
 * bulk throughput over a 1 MiB buffer (the prehash, the age payload's
 * plaintext size class), and the per-record keyed content hash of a
 * 130-byte record with the keyed state prepared once (the evidence).
 * Then format/b2b.c's four- and eight-messages-per-pass paths
 * (b2b_final_n on 60-byte records, b2b_hash4/8_block on 65-byte Merkle
 * leaves) against one message at a time, and b2b_final_n on records of
 * mixed lengths (60 to 1000 bytes, 64 per call, as the writer and the
 * reader call it). Output digests are compared, so a wrong
 * implementation cannot look fast.
 *
 *   make bench-blake2b      builds build/bench/blake2b and runs it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>
#ifdef HAVE_LIBB2
#include <blake2.h>
#endif

#include "b2b.h"
#include "clock.h"

#define BULK	(1u << 20)
#define REC	130

static uint8_t *bulk;
static uint8_t rec[REC], salt[32];

/* ---- bulk: out is the 64-byte digest of bulk ---- */

static void
bulk_sodium(uint8_t out[64])
{
	crypto_generichash(out, 64, bulk, BULK, NULL, 0);
}

static void
bulk_ours(uint8_t out[64])
{
	b2b_hash(out, 64, bulk, BULK, NULL, 0);
}

static void
bulk_openssl(uint8_t out[64])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n = 64;

	EVP_DigestInit_ex(c, EVP_blake2b512(), NULL);
	EVP_DigestUpdate(c, bulk, BULK);
	EVP_DigestFinal_ex(c, out, &n);
	EVP_MD_CTX_free(c);
}

#ifdef HAVE_LIBB2
static void
bulk_libb2(uint8_t out[64])
{
	blake2b(out, bulk, NULL, 64, BULK, 0);
}
#endif

/* ---- records: out is the XOR of every record's keyed 32-byte hash ---- */

#define NREC	200000

static void
rec_sodium(uint8_t out[64])
{
	crypto_generichash_state base, st;
	uint8_t h[32];
	int i, k;

	memset(out, 0, 64);
	crypto_generichash_init(&base, salt, 32, 32);
	crypto_generichash_update(&base, (const uint8_t *)"texp record v1", 15);
	for (i = 0; i < NREC; i++) {
		rec[0] = (uint8_t)i;
		memcpy(&st, &base, sizeof(st));
		crypto_generichash_update(&st, rec, REC);
		crypto_generichash_final(&st, h, 32);
		for (k = 0; k < 32; k++)
			out[k] ^= h[k];
	}
}

/* NREC keyed record hashes of len bytes each, one message per pass. */
static void
ours_len(uint8_t out[64], size_t len)
{
	struct b2b base, st;
	uint8_t h[32];
	int i, k;

	memset(out, 0, 64);
	b2b_init(&base, 32, salt, 32);
	b2b_update(&base, "texp record v1", 15);
	for (i = 0; i < NREC; i++) {
		rec[0] = (uint8_t)i;
		st = base;
		b2b_update(&st, rec, len);
		b2b_final(&st, h);
		for (k = 0; k < 32; k++)
			out[k] ^= h[k];
	}
}

static void
rec_ours(uint8_t out[64])
{
	ours_len(out, REC);
}

#ifdef HAVE_LIBB2
static void
rec_libb2(uint8_t out[64])
{
	blake2b_state base, st;
	uint8_t h[32];
	int i, k;

	memset(out, 0, 64);
	blake2b_init_key(&base, 32, salt, 32);
	blake2b_update(&base, (const uint8_t *)"texp record v1", 15);
	for (i = 0; i < NREC; i++) {
		rec[0] = (uint8_t)i;
		st = base;
		blake2b_update(&st, rec, REC);
		blake2b_final(&st, h, 32);
		for (k = 0; k < 32; k++)
			out[k] ^= h[k];
	}
}
#endif

/* ---- small records (60 bytes) and Merkle leaves (65 bytes): one
 * message per pass, four or eight (b2b_final_n, b2b_hash4/8_block) ---- */

#define SMALL	60

static void
small_ours(uint8_t out[64])
{
	ours_len(out, SMALL);
}

/* NREC keyed record hashes, batch per b2b_final_n call: record j of a
 * batch is buf[j] (its first byte set to the record's number), n[j]
 * bytes long. */
static void
final_n_batches(uint8_t out[64], uint8_t *const buf[], const size_t n[],
    size_t batch)
{
	struct b2b base;
	uint8_t h[64][32], *o[64];
	size_t i, j, k;

	memset(out, 0, 64);
	b2b_init(&base, 32, salt, 32);
	b2b_update(&base, "texp record v1", 15);
	for (j = 0; j < batch; j++)
		o[j] = h[j];
	for (i = 0; i < NREC; i += batch) {
		for (j = 0; j < batch; j++)
			buf[j][0] = (uint8_t)(i + j);
		b2b_final_n(&base, (const uint8_t *const *)buf, n, o, batch);
		for (j = 0; j < batch; j++)
			for (k = 0; k < 32; k++)
				out[k] ^= h[j][k];
	}
}

/* lanes (4 or 8) records per pass: b2b_final_n on that many, with the
 * lanes it may use set to match */
static void
small_lanes(uint8_t out[64], int lanes)
{
	static uint8_t r8[8][SMALL];
	uint8_t *in[8];
	size_t n[8];
	int j, saved = b2b_x4_max;

	for (j = 0; j < 8; j++) {
		memcpy(r8[j], rec, SMALL);
		in[j] = r8[j];
		n[j] = SMALL;
	}
	b2b_x4_max = lanes == 8 ? 2 : 1;
	final_n_batches(out, in, n, (size_t)lanes);
	b2b_x4_max = saved;
}

/* records of mixed lengths: record i is MIXED[i % 8] bytes */
static const size_t mixed[8] = { 60, 300, 60, 1000, 130, 60, 500, 60 };
#define MIXBUF	1000

static void
mixed_ours(uint8_t out[64])
{
	static uint8_t m[MIXBUF];
	struct b2b base, st;
	uint8_t h[32];
	int i, k;

	memset(out, 0, 64);
	memcpy(m, bulk, sizeof(m));
	b2b_init(&base, 32, salt, 32);
	b2b_update(&base, "texp record v1", 15);
	for (i = 0; i < NREC; i++) {
		m[0] = (uint8_t)i;
		st = base;
		b2b_update(&st, m, mixed[i % 8]);
		b2b_final(&st, h);
		for (k = 0; k < 32; k++)
			out[k] ^= h[k];
	}
}

/* the same records, 64 per b2b_final_n call */
static void
mixed_n(uint8_t out[64])
{
	static uint8_t m[64][MIXBUF];
	uint8_t *in[64];
	size_t n[64];
	int j;

	for (j = 0; j < 64; j++) {
		memcpy(m[j], bulk, MIXBUF);
		in[j] = m[j];
		n[j] = mixed[j % 8];
	}
	final_n_batches(out, in, n, 64);
}

/* NAME: FN of LANES lanes, as struct impl calls it */
#define LANES_IMPL(NAME, FN, LANES)					\
static void								\
NAME(uint8_t out[64])							\
{									\
	FN(out, LANES);							\
}

LANES_IMPL(small_ours4, small_lanes, 4)
LANES_IMPL(small_ours8, small_lanes, 8)

static void
leaf_ours(uint8_t out[64])
{
	uint8_t h[32];
	int i, k;

	memset(out, 0, 64);
	for (i = 0; i < NREC; i++) {
		rec[0] = (uint8_t)i;
		b2b_hash(h, 32, rec, 65, NULL, 0);
		for (k = 0; k < 32; k++)
			out[k] ^= h[k];
	}
}

/* lanes (4 or 8) leaves per pass */
static void
leaf_lanes(uint8_t out[64], int lanes)
{
	static uint8_t m8[8][65];
	uint8_t h[8][32], *o[8];
	const uint8_t *in[8];
	int i, j, k;

	memset(out, 0, 64);
	for (j = 0; j < 8; j++) {
		memcpy(m8[j], rec, 65);
		o[j] = h[j];
		in[j] = m8[j];
	}
	for (i = 0; i < NREC; i += lanes) {
		for (j = 0; j < lanes; j++)
			m8[j][0] = (uint8_t)(i + j);
		if (lanes == 8)
			b2b_hash8_block(o, 32, in, 65);
		else
			b2b_hash4_block(o, 32, in, 65);
		for (j = 0; j < lanes; j++)
			for (k = 0; k < 32; k++)
				out[k] ^= h[j][k];
	}
}

LANES_IMPL(leaf_ours4, leaf_lanes, 4)
LANES_IMPL(leaf_ours8, leaf_lanes, 8)

struct impl {
	const char *name;
	void (*fn)(uint8_t out[64]);
	double best;
	uint8_t out[64];
};

static void
run(const char *what, struct impl *im, size_t n, double units,
    const char *unit, int repeat)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		im[i].best = 1e9;
	for (r = 0; r < repeat; r++)
		for (i = 0; i < n; i++) {
			double t0 = now();

			im[i].fn(im[i].out);
			t0 = now() - t0;
			if (t0 < im[i].best)
				im[i].best = t0;
		}
	printf("%s\n", what);
	for (i = 0; i < n; i++) {
		int same = memcmp(im[i].out, im[0].out, 64) == 0;

		printf("  %-10s %9.1f %s%s\n", im[i].name, units > 0 ?
		    units / im[i].best : im[i].best * 1e9 / NREC, unit,
		    same ? "" : "  DIGEST DIFFERS");
		if (!same)
			exit(1);
	}
}

int
main(void)
{
	struct impl b[] = {
		{ "libsodium", bulk_sodium, 0, {0} },
		{ "texp", bulk_ours, 0, {0} },
		{ "openssl", bulk_openssl, 0, {0} },
#ifdef HAVE_LIBB2
		{ "libb2", bulk_libb2, 0, {0} },
#endif
	};
	struct impl rc[] = {
		{ "libsodium", rec_sodium, 0, {0} },
		{ "texp", rec_ours, 0, {0} },
#ifdef HAVE_LIBB2
		{ "libb2", rec_libb2, 0, {0} },
#endif
	};
	struct impl sm[] = {
		{ "texp", small_ours, 0, {0} },
		{ "texp x4", small_ours4, 0, {0} },
		{ "texp x8", small_ours8, 0, {0} },
	};
	struct impl mx[] = {
		{ "texp", mixed_ours, 0, {0} },
		{ "texp x64", mixed_n, 0, {0} },
	};
	struct impl lf[] = {
		{ "texp", leaf_ours, 0, {0} },
		{ "texp x4", leaf_ours4, 0, {0} },
		{ "texp x8", leaf_ours8, 0, {0} },
	};
	int repeat = getenv("BENCH_REPEAT") ? atoi(getenv("BENCH_REPEAT")) : 15;

	if (sodium_init() < 0 || (bulk = malloc(BULK)) == NULL)
		return 1;
	randombytes_buf(bulk, BULK);
	randombytes_buf(rec, sizeof(rec));
	randombytes_buf(salt, sizeof(salt));
	run("bulk, 1 MiB unkeyed, 64-byte digest (MB/s, best of rounds):", b,
	    sizeof(b) / sizeof(b[0]), BULK / 1e6, "MB/s", repeat);
	run("keyed content hash of a 130-byte record, prefix state "
	    "prepared once (ns per record):", rc, sizeof(rc) / sizeof(rc[0]),
	    0, "ns", repeat);
	run("keyed content hash of a 60-byte record, one, four or eight per "
	    "pass (ns per record):", sm, 3, 0, "ns", repeat);
	run("keyed content hash of records of 60 to 1000 bytes (mean 278), "
	    "one at a time or 64 per call (ns per record):", mx, 2, 0, "ns",
	    repeat);
	run("Merkle leaf (65 bytes, unkeyed), one, four or eight per pass (ns "
	    "per leaf):", lf, 3, 0, "ns", repeat);
	return 0;
}
