/*
 * fuzz_minisig: the minisign parsers. The first input byte picks the
 * parser, the rest is the file:
 *   0  public key (whole file or bare line), round-tripped when accepted
 *   1  secret key, without a passphrase (an encrypted key stops before
 *      the KDF, which would only burn time)
 *   2  signature file, verified against a fixed key and prehash
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "minisig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixed key: seed 0x42..., key id 01 02 .. 08 (see the seed corpus). */
static struct minisig_pubkey *fixed_pk;
static uint8_t fixed_prehash[MINISIG_PREHASH_LEN];

static void
setup(void)
{
	uint8_t seed[32], pk[32], sk[64], bin[42];
	char b64[sodium_base64_ENCODED_LEN(42, sodium_base64_VARIANT_ORIGINAL)];
	int i;

	if (sodium_init() < 0)
		abort();
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	memcpy(bin, "Ed", 2);
	for (i = 0; i < 8; i++)
		bin[2 + i] = (uint8_t)(i + 1);
	memcpy(bin + 10, pk, 32);
	sodium_bin2base64(b64, sizeof(b64), bin, sizeof(bin),
	    sodium_base64_VARIANT_ORIGINAL);
	if (minisig_pubkey_parse(b64, strlen(b64), &fixed_pk) != 0)
		abort();
	crypto_generichash(fixed_prehash, sizeof(fixed_prehash),
	    (const uint8_t *)"fuzz\n", 5, NULL, 0);
}

static void
pubkey_roundtrip(const char *p, size_t n)
{
	struct minisig_pubkey *pk = NULL, *pk2 = NULL;
	uint8_t a[8], b[8];
	char *txt = NULL;

	if (minisig_pubkey_parse(p, n, &pk) != 0)
		return;
	if (minisig_pubkey_encode(pk, &txt) != 0 ||
	    minisig_pubkey_parse(txt, strlen(txt), &pk2) != 0)
		abort();
	minisig_pubkey_keyid(pk, a);
	minisig_pubkey_keyid(pk2, b);
	if (memcmp(a, b, sizeof(a)) != 0)
		abort();
	free(txt);
	minisig_pubkey_free(pk);
	minisig_pubkey_free(pk2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct minisig_seckey *sk = NULL;
	const char *p = (const char *)data + 1;
	char *tc = NULL;
	size_t n;
	int r;

	if (fixed_pk == NULL)
		setup();
	if (size < 1)
		return 0;
	n = size - 1;
	switch (data[0] % 3) {
	case 0:
		pubkey_roundtrip(p, n);
		break;
	case 1:
		r = minisig_seckey_parse(p, n, NULL, 0, &sk);
		if ((r == 0) != (sk != NULL))
			abort();
		minisig_seckey_free(sk);
		break;
	case 2:
		r = minisig_verify(fixed_pk, fixed_prehash, data + 1, n, &tc);
		if ((r == 0) != (tc != NULL) || (tc != NULL && strlen(tc) >
		    MINISIG_TRUSTED_MAX))
			abort();
		free(tc);
		break;
	}
	return 0;
}
