#include <string.h>

#include <sodium.h>

#include "err.h"
#include "hkdf.h"

int
hkdf_sha256_extract(uint8_t prk[HKDF_SHA256_LEN],
    const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len)
{
	static const uint8_t zero_salt[HKDF_SHA256_LEN];
	crypto_auth_hmacsha256_state st;

	if (prk == NULL || (ikm == NULL && ikm_len != 0) ||
	    (salt == NULL && salt_len != 0))
		return ERR_INVALID;
	/* HMAC zero-pads short keys, so an empty salt and HashLen zeros are
	 * the same key; passing the zeros avoids a NULL key pointer. */
	if (salt_len == 0) {
		salt = zero_salt;
		salt_len = sizeof(zero_salt);
	}
	crypto_auth_hmacsha256_init(&st, salt, salt_len);
	crypto_auth_hmacsha256_update(&st, ikm == NULL ? zero_salt : ikm,
	    ikm_len);
	crypto_auth_hmacsha256_final(&st, prk);
	sodium_memzero(&st, sizeof(st));
	return 0;
}

int
hkdf_sha256_expand(uint8_t *out, size_t out_len,
    const uint8_t prk[HKDF_SHA256_LEN], const uint8_t *info, size_t info_len)
{
	crypto_auth_hmacsha256_state st;
	uint8_t t[HKDF_SHA256_LEN];
	size_t done = 0, n;
	uint8_t ctr = 0;

	if (out == NULL || prk == NULL || (info == NULL && info_len != 0) ||
	    out_len > 255 * HKDF_SHA256_LEN)
		return ERR_INVALID;
	while (done < out_len) {
		ctr++;
		crypto_auth_hmacsha256_init(&st, prk, HKDF_SHA256_LEN);
		if (ctr > 1)
			crypto_auth_hmacsha256_update(&st, t, sizeof(t));
		if (info_len > 0)
			crypto_auth_hmacsha256_update(&st, info, info_len);
		crypto_auth_hmacsha256_update(&st, &ctr, 1);
		crypto_auth_hmacsha256_final(&st, t);
		n = out_len - done < sizeof(t) ? out_len - done : sizeof(t);
		memcpy(out + done, t, n);
		done += n;
	}
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(t, sizeof(t));
	return 0;
}

int
hkdf_sha256(uint8_t *out, size_t out_len,
    const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
    const uint8_t *info, size_t info_len)
{
	uint8_t prk[HKDF_SHA256_LEN];
	int r = ERR_INTERNAL;

	if ((r = hkdf_sha256_extract(prk, salt, salt_len, ikm, ikm_len)) != 0)
		goto out;
	if ((r = hkdf_sha256_expand(out, out_len, prk, info, info_len)) != 0)
		goto out;
	r = 0;
 out:
	sodium_memzero(prk, sizeof(prk));
	if (r != 0 && out != NULL && out_len <= 255 * HKDF_SHA256_LEN)
		sodium_memzero(out, out_len);
	return r;
}
