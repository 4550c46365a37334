/*
 * bench/aead: ChaCha20-Poly1305 on this machine, the age payload's cipher,
 * side by side in one run (alternating, best of BENCH_REPEAT rounds):
 * libsodium's crypto_aead_chacha20poly1305_ietf and format/aead.c
 * (OpenSSL's libcrypto), sealing and opening 64 KiB chunks, the payload's
 * chunk size. The outputs are compared, so a wrong implementation cannot
 * look fast.
 *
 *   make bench-aead      builds build/bench/aead and runs it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "clock.h"

#define CHUNK	65536
#define CHUNKS	4096		/* 256 MiB a round */

static void
nonce_of(uint8_t n[AEAD_NONCE_LEN], unsigned i)
{
	memset(n, 0, AEAD_NONCE_LEN);
	memcpy(n + 4, &i, sizeof(i));
}

int
main(void)
{
	static uint8_t key[32], msg[CHUNK], c1[CHUNK + 16], c2[CHUNK + 16],
	    p[CHUNK];
	uint8_t nonce[AEAD_NONCE_LEN];
	double best[4] = { 1e9, 1e9, 1e9, 1e9 }, t;
	const char *rep = getenv("BENCH_REPEAT");
	int rounds = rep != NULL && atoi(rep) > 0 ? atoi(rep) : 3, r;
	struct aead *a;
	unsigned i;

	if (sodium_init() < 0 || aead_new(key, &a) != 0)
		return 1;
	randombytes_buf(key, sizeof(key));
	aead_free(a);
	if (aead_new(key, &a) != 0)
		return 1;
	randombytes_buf(msg, sizeof(msg));
	for (r = 0; r < rounds; r++) {
		t = now();
		for (i = 0; i < CHUNKS; i++) {
			nonce_of(nonce, i);
			crypto_aead_chacha20poly1305_ietf_encrypt(c1, NULL,
			    msg, CHUNK, NULL, 0, NULL, nonce, key);
		}
		if ((t = now() - t) < best[0])
			best[0] = t;
		t = now();
		for (i = 0; i < CHUNKS; i++) {
			nonce_of(nonce, i);
			if (aead_seal(a, nonce, msg, CHUNK, c2) != 0)
				return 1;
		}
		if ((t = now() - t) < best[1])
			best[1] = t;
		if (memcmp(c1, c2, sizeof(c1)) != 0) {
			fprintf(stderr, "bench/aead: the outputs differ\n");
			return 1;
		}
		t = now();
		for (i = 0; i < CHUNKS; i++)
			if (crypto_aead_chacha20poly1305_ietf_decrypt(p, NULL,
			    NULL, c1, sizeof(c1), NULL, 0, nonce, key) != 0)
				return 1;
		if ((t = now() - t) < best[2])
			best[2] = t;
		t = now();
		for (i = 0; i < CHUNKS; i++)
			if (aead_open(a, nonce, c1, sizeof(c1), p) != 0)
				return 1;
		if ((t = now() - t) < best[3])
			best[3] = t;
	}
	aead_free(a);
	printf("ChaCha20-Poly1305, 64 KiB chunks (MB/s, best of %d rounds):\n"
	    "                seal      open\n"
	    "  libsodium  %8.1f  %8.1f\n"
	    "  texp       %8.1f  %8.1f   (format/aead.c, libcrypto)\n",
	    rounds, CHUNKS * (double)CHUNK / best[0] / 1e6,
	    CHUNKS * (double)CHUNK / best[2] / 1e6,
	    CHUNKS * (double)CHUNK / best[1] / 1e6,
	    CHUNKS * (double)CHUNK / best[3] / 1e6);
	return 0;
}
