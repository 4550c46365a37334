/*
 * fuzz_note: the signed-note parsers. The first input byte picks one:
 *   0  a signed note, verified against a fixed key
 *      ("fuzz.example", seed 0x42...; see the seed corpus)
 *   1  a verifier key
 *   2  a signer key
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct note_verifier *fixed_v;

static void
setup(void)
{
	static const char name[] = "fuzz.example";
	crypto_hash_sha256_state st;
	uint8_t seed[32], pk[32], sk[64], h[32], bin[33];
	char b64[sodium_base64_ENCODED_LEN(33, sodium_base64_VARIANT_ORIGINAL)];
	char skey[256], *vkey = NULL;
	struct note_signer *s = NULL;

	if (sodium_init() < 0)
		abort();
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
	crypto_hash_sha256_update(&st, (const uint8_t *)"\n\x01", 2);
	crypto_hash_sha256_update(&st, pk, sizeof(pk));
	crypto_hash_sha256_final(&st, h);
	bin[0] = 0x01;
	memcpy(bin + 1, seed, 32);
	sodium_bin2base64(b64, sizeof(b64), bin, sizeof(bin),
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(skey, sizeof(skey), "PRIVATE+KEY+%s+%02x%02x%02x%02x+%s",
	    name, h[0], h[1], h[2], h[3], b64);
	if (note_signer_parse(skey, strlen(skey), &s) != 0 ||
	    note_signer_vkey(s, &vkey) != 0 ||
	    note_verifier_parse(vkey, strlen(vkey), &fixed_v) != 0)
		abort();
	free(vkey);
	note_signer_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct note_verifier *v = NULL;
	struct note_signer *s = NULL;
	const char *p = (const char *)data + 1;
	uint8_t *text = NULL;
	size_t n, tlen = 0;
	int r;

	if (fixed_v == NULL)
		setup();
	if (size < 1)
		return 0;
	n = size - 1;
	switch (data[0] % 3) {
	case 0:
		r = note_verify(data + 1, n, fixed_v, &text, &tlen);
		/* the text is a prefix of the note, ending in a newline */
		if (r == 0 && (text == NULL || tlen == 0 || tlen >= n ||
		    memcmp(text, data + 1, tlen) != 0 || text[tlen - 1] != '\n'))
			abort();
		if (r != 0 && text != NULL)
			abort();
		free(text);
		break;
	case 1:
		r = note_verifier_parse(p, n, &v);
		if ((r == 0) != (v != NULL))
			abort();
		note_verifier_free(v);
		break;
	case 2:
		r = note_signer_parse(p, n, &s);
		if ((r == 0) != (s != NULL))
			abort();
		note_signer_free(s);
		break;
	}
	return 0;
}
